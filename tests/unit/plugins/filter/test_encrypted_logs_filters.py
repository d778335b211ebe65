# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The encrypted_logs filters: glue over module_utils/encrypted_logs.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.ephi.safeguards.plugins.filter.encrypted_logs import (
    FilterModule,
    encrypted_logs_mount_unit,
    encrypted_logs_store_problems,
)

SETTINGS = {'backend': 'gocryptfs', 'backing_path': '/var/lib/ephi-encrypted-logs/ciphertext',
            'mount_path': '/var/log/ephi', 'device': '', 'fstype': '', 'options': 'nodev,nosuid,noexec',
            'min_free_mb': 0}


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {'encrypted_logs_mount_unit', 'encrypted_logs_store_problems'}


def test_store_problems_name_the_variable():
    assert encrypted_logs_store_problems(SETTINGS) == []
    problems = encrypted_logs_store_problems(dict(SETTINGS, device='tmpfs', fstype='tmpfs'))
    assert problems == ['encrypted_logs_store_options: a tmpfs store needs size=... '
                        '(an unbounded tmpfs can take half the memory)']


def test_store_problems_bad_input():
    with pytest.raises(AnsibleFilterError):
        encrypted_logs_store_problems(['not', 'a', 'dict'])
    with pytest.raises(AnsibleFilterError, match='backing_path'):
        encrypted_logs_store_problems({'backend': 'gocryptfs'})


def test_mount_unit():
    assert encrypted_logs_mount_unit('/var/lib/ephi-encrypted-logs') == 'var-lib-ephi\\x2dencrypted\\x2dlogs.mount'
    with pytest.raises(AnsibleFilterError):
        encrypted_logs_mount_unit('relative/path')
