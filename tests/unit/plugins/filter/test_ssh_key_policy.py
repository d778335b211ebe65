# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The filters the role calls: ssh_key_policy_validate and ssh_key_policy_lockout."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.ephi.safeguards.plugins.filter.ssh_key_policy import FilterModule

FIXTURES = os.path.join(os.path.dirname(__file__), '..', 'module_utils', 'fixtures', 'ssh_keys')
FILTERS = FilterModule().filters()


def key(name):
    with open(os.path.join(FIXTURES, name + '.pub')) as handle:
        return handle.read().strip()


def test_filters_are_exported():
    assert sorted(FILTERS) == ['ssh_key_policy_lockout', 'ssh_key_policy_validate']


def test_validate_uses_the_current_time_and_policy():
    users = [{'name': 'alice', 'keys': [{'key': key('rsa3072'), 'owner': 'Alice', 'expires': '20200101'}]}]
    result = FILTERS['ssh_key_policy_validate'](users)
    assert any('expired on 20200101' in e for e in result['errors'])
    users[0]['keys'][0]['expires'] = '20991231'
    assert FILTERS['ssh_key_policy_validate'](users)['errors'] == []
    assert FILTERS['ssh_key_policy_validate'](users, rsa_min_bits=4096)['errors']
    assert FILTERS['ssh_key_policy_validate'](users, allowed_types=['ssh-ed25519'])['errors']


def test_validate_of_nothing_is_empty():
    assert FILTERS['ssh_key_policy_validate'](None) == {'errors': [], 'users': {}}


def test_bad_policy_raises_a_filter_error():
    with pytest.raises(AnsibleFilterError):
        FILTERS['ssh_key_policy_validate']([], rsa_min_bits='lots')


def test_lockout_filter():
    users = [{'name': 'admin', 'keys': [{'key': key('ed25519'), 'owner': 'Ops'}]}]
    validated = FILTERS['ssh_key_policy_validate'](users)
    fp = validated['users']['admin']['keys'][0]['fingerprint']
    info = {'exists': True, 'groups': ['admin'], 'authorized_fingerprints': [fp]}
    assert FILTERS['ssh_key_policy_lockout'](validated, 'admin', info) == []
    assert FILTERS['ssh_key_policy_lockout'](validated, 'admin', info, allow_users=['carol'])
    assert FILTERS['ssh_key_policy_lockout'](validated, 'admin', info, deny_groups=['admin'])
