# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The hosts' local buffer of recordings: closed recordings, the log host's hashes, the prune event."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

from ansible_collections.ephi.safeguards.plugins.module_utils import audit_chain as ac
from ansible_collections.ephi.safeguards.plugins.module_utils import recording_buffer as rb

NAME = 'lab-1-pty-20261105T180000.000000Z-0011223344556677.cast'
BODY = [b'{"version":2,"ephi":{"chain":"ephi-chain-v1"}}\n', b'[0.5, "o", "x\\r\\n"]\n',
        b'[1.0, "m", "ephi-end reason=exit bytes=3"]\n']


def test_closed_wants_the_recorders_end_line():
    assert rb.closed(b''.join(BODY))
    assert rb.closed(BODY[-1])
    assert not rb.closed(b''.join(BODY[:2]))
    assert not rb.closed(b''.join(BODY)[:-1])  # the end line not finished
    assert not rb.closed(b''.join(BODY) + b'[1.2, "o", "more"]\n')
    assert not rb.closed(b'[1.0, "o", "ephi-end reason=exit bytes=3"]\n')


def test_rel_name_and_the_log_hosts_lines():
    assert rb.rel_name('bob', NAME) == 'bob/' + NAME
    for user, name in (('bob', 'x.log'), ('Bob', NAME), ('bob', '.hidden.cast'), ('..', NAME), ('bob', 'a b.cast')):
        assert rb.rel_name(user, name) is None, (user, name)
    good = 'ab' * 32
    lines = ['%s bob/%s' % (good, NAME), 'zz bob/x.cast', '%s ../etc/x.cast' % good, '', '%s bob/%s extra' % (good, NAME)]
    assert rb.parse_confirmed(lines) == {'bob/' + NAME: good}
    assert rb.parse_confirmed(None) == {}


def test_digest_is_the_files_hash_and_its_final_chain_head():
    sha, lines, size, head = rb.digest(NAME, iter(BODY))
    assert sha == hashlib.sha256(b''.join(BODY)).hexdigest()
    assert (lines, size, head) == ac.file_chain(NAME, iter(BODY))
    message = rb.prune_message('/var/log/ephi/bob/' + NAME, lines, size, head, sha)
    pruned = ac.pruned_of(message)
    assert (pruned['name'], pruned['n'], pruned['bytes'], pruned['head']) == (NAME, 3, size, head)
