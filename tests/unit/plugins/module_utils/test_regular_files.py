# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one way the collection reads root's regular files on the host: the AIDE database's sha512
that aide_baseline records is computed exactly as host_probe computes it for the tamper check."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os

import pytest

from ansible_collections.ephi.safeguards.plugins.module_utils.regular_files import MAX_READ, file_digest, read_bytes
from ansible_collections.ephi.safeguards.plugins.modules import aide_baseline


def test_the_recorded_and_the_probed_sha512_are_one_computation(tmp_path):
    db = tmp_path / 'aide.db'
    db.write_bytes(b'\x1f\x8b' + b'db' * 700000)
    assert aide_baseline.sha512_file(str(db)) == file_digest(str(db), 'sha512') == hashlib.sha512(db.read_bytes()).hexdigest()


def test_a_link_or_a_directory_is_never_followed_or_read(tmp_path):
    (tmp_path / 'real').write_bytes(b'x')
    os.symlink(str(tmp_path / 'real'), str(tmp_path / 'link'))
    for name in ('link', 'absent', '.'):
        assert file_digest(str(tmp_path / name), 'sha512') is None
        assert read_bytes(str(tmp_path / name)) is None
    with pytest.raises(OSError, match='not a regular file'):
        aide_baseline.sha512_file(str(tmp_path / 'link'))


def test_read_bytes_stops_one_byte_past_the_limit(tmp_path):
    big = tmp_path / 'big'
    big.write_bytes(b'y' * (MAX_READ * 3))
    assert len(read_bytes(str(big))) == MAX_READ + 1
