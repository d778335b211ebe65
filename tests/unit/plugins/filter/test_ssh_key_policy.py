# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The filters the role calls (the decisions are unit tested in tests/unit/plugins/module_utils)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
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
    assert sorted(FILTERS) == ['ssh_key_policy_connection_specs', 'ssh_key_policy_controls', 'ssh_key_policy_input_problems',
                               'ssh_key_policy_kex', 'ssh_key_policy_key_in_use',
                               'ssh_key_policy_lockout', 'ssh_key_policy_mfa_methods', 'ssh_key_policy_mfa_problems',
                               'ssh_key_policy_mfa_users', 'ssh_key_policy_pam_sshd', 'ssh_key_policy_per_spec',
                               'ssh_key_policy_planned', 'ssh_key_policy_rendered', 'ssh_key_policy_sshd_config_stale',
                               'ssh_key_policy_store_files',
                               'ssh_key_policy_validate']


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


def test_lockout_filter_refuses_dropping_the_key_in_use():
    users = [{'name': 'admin', 'keys': [{'key': key('ed25519'), 'owner': 'Ops'}, {'key': key('ecdsa'), 'owner': 'Ops'}]}]
    validated = FILTERS['ssh_key_policy_validate'](users)
    fps = [k['fingerprint'] for k in validated['users']['admin']['keys']]
    info = {'exists': True, 'groups': ['admin'], 'authorized_fingerprints': fps}
    assert FILTERS['ssh_key_policy_lockout'](validated, 'admin', info, key_in_use={'fingerprint': fps[0]}) == []
    dropped = FILTERS['ssh_key_policy_validate'](users[:1] and [{'name': 'admin', 'keys': users[0]['keys'][1:]}])
    problems = FILTERS['ssh_key_policy_lockout'](dropped, 'admin', info, key_in_use={'fingerprint': fps[0]})
    assert problems and fps[0] in problems[0]
    # No SSH connection ({} from the role): the overlap with today's keys decides.
    assert FILTERS['ssh_key_policy_lockout'](dropped, 'admin', info, key_in_use={}) == []


def test_key_in_use_filter():
    line = json.dumps({'MESSAGE': 'Accepted publickey for admin from 10.0.0.1 port 4242 ssh2: ED25519 SHA256:abc',
                       '_UID': '0', '_COMM': 'sshd'})
    assert FILTERS['ssh_key_policy_key_in_use'](line, 'admin', '10.0.0.1 4242 10.0.0.9 22')['fingerprint'] == 'SHA256:abc'
    assert 'error' in FILTERS['ssh_key_policy_key_in_use'](line, 'admin', '')


def test_input_problems_filter():
    assert FILTERS['ssh_key_policy_input_problems']({'ciphers': ['aes256-ctr'], 'macs': ['hmac-sha2-256-etm@openssh.com'],
                                                     'kex_algorithms': ['sntrup761x25519-sha512@openssh.com'],
                                                     'kex_classical_algorithms': ['curve25519-sha256'], 'extra_settings': {},
                                                     'forwarding_groups': [], 'banner': ['Authorized use only.'],
                                                     'max_startups': '10:30:60'}) == []
    problems = FILTERS['ssh_key_policy_input_problems']({'ciphers': ['3des-cbc'], 'extra_settings': {'Banner': 'a\nb'}})
    assert [p.split(':')[0] for p in problems] == ['ssh_key_policy_ciphers', 'ssh_key_policy_extra_settings']
    # Classical key exchange only through its own variable (ssh-audit warns: not post-quantum).
    problems = FILTERS['ssh_key_policy_input_problems']({'kex_algorithms': ['curve25519-sha256'],
                                                         'kex_classical_algorithms': ['ecdh-sha2-nistp256'],
                                                         'forwarding_groups': [{'group': 'a b', 'forward': ['tcp']}],
                                                         'banner': [], 'max_startups': '100:30:600'})
    assert sorted(set(p.split(':')[0] for p in problems)) == [
        'ssh_key_policy_banner', 'ssh_key_policy_forwarding_groups', 'ssh_key_policy_kex_algorithms',
        'ssh_key_policy_kex_classical_algorithms', 'ssh_key_policy_max_startups'], problems
    assert FILTERS['ssh_key_policy_input_problems']({'extra_settings': {'Ciphers': 'x'}}, ['Ciphers'])


def test_specs_and_per_spec_filters():
    passwd = {'admin': ['x', '1000', '1000', '', '/home/admin', '/bin/bash']}
    specs = FILTERS['ssh_key_policy_connection_specs'](passwd, '10.0.0.1 4242 10.0.0.9 22', ['192.0.2.1'])
    assert specs == ['user=admin,host=127.0.0.1,addr=127.0.0.1,laddr=10.0.0.9,lport=22',
                     'user=admin,host=10.0.0.1,addr=10.0.0.1,laddr=10.0.0.9,lport=22',
                     'user=admin,host=192.0.2.1,addr=192.0.2.1,laddr=10.0.0.9,lport=22']
    text = ''.join('### %s\npasswordauthentication no\n' % s for s in specs)
    assert FILTERS['ssh_key_policy_per_spec'](text, {'PasswordAuthentication': False}, specs=specs) == \
        {'drift': [], 'errors': [], 'specs': 3, 'forwarding': {'admin': None}, 'methods': {}}
    assert FILTERS['ssh_key_policy_per_spec']('', {}, specs=[], error='no accounts')['errors'][0] == \
        'sshd -T -C per account was not run: no accounts'


def test_kex_and_rendered_filters():
    assert FILTERS['ssh_key_policy_kex'](['mlkem768x25519-sha256', 'sntrup761x25519-sha512@openssh.com'], [],
                                         'curve25519-sha256\nsntrup761x25519-sha512@openssh.com\n') == \
        ['sntrup761x25519-sha512@openssh.com']
    rendered = FILTERS['ssh_key_policy_rendered']({'banner': ['Authorized use only. '], 'max_startups': '10',
                                                   'forwarding_groups': [{'group': 'dba', 'forward': ['tcp-local'], 'reason': 'x'}],
                                                   'kex_algorithms': ['curve25519-sha256']})
    assert rendered['banner'] == 'Authorized use only.\n'
    assert rendered['max_startups'] == '10:100:10'
    assert rendered['forwarding_blocks'] == [{'group': 'dba', 'reason': 'x', 'settings': [['AllowTcpForwarding', 'local']]}]
    assert rendered['kex_problems']


def test_lockout_filter_reads_deny_lists_from_extra_settings_in_any_case():
    users = [{'name': 'admin', 'keys': [{'key': key('ed25519'), 'owner': 'Ops'}]}]
    validated = FILTERS['ssh_key_policy_validate'](users)
    fp = validated['users']['admin']['keys'][0]['fingerprint']
    info = {'exists': True, 'groups': ['admin', 'sudo'], 'authorized_fingerprints': [fp]}
    assert FILTERS['ssh_key_policy_lockout'](validated, 'admin', info, extra_settings={'Banner': 'x'}) == []
    assert FILTERS['ssh_key_policy_lockout'](validated, 'admin', info, extra_settings={'denyusers': 'carol admin'})
    assert FILTERS['ssh_key_policy_lockout'](validated, 'admin', info, extra_settings={'DenyGroups': ['wheel', 'sudo']})


def test_controls_filter_is_glue_over_module_utils():
    with open(os.path.join(FIXTURES, '..', 'evidence', 'ssh_key_policy', 'lab-1-fresh.json')) as handle:
        fixture = json.load(handle)
    inputs = fixture['inputs']
    probes = {'ssh_key_audit': inputs['__ssh_key_policy_verify'], 'sshd_per_spec': inputs['__ssh_key_policy_per_spec']}
    policy = dict((name[len('ssh_key_policy_'):], value) for name, value in inputs.items() if name.startswith('ssh_key_policy_'))
    policy['validated'] = inputs['__ssh_key_policy_validated']
    records = FILTERS['ssh_key_policy_controls'](probes, policy)
    assert [r for r in records if r['id'] in set(e['id'] for e in fixture['expected'])] == fixture['expected']
    # getent's passwd and group facts become the accounts' groups.
    accounts = {'passwd': {'olga': ['x', '1001', '1001', '', '/home/olga', '/bin/bash']},
                'group': {'olga': ['x', '1001', ''], 'fwd': ['x', '1002', 'olga']}}
    probes = dict(probes, accounts=accounts, sshd_per_spec=dict(probes['sshd_per_spec'], forwarding={'olga': ['tcp-local']}))
    policy['forwarding_groups'] = [{'group': 'fwd', 'forward': ['tcp-local'], 'reason': 'tunnels'}]
    side = [r for r in FILTERS['ssh_key_policy_controls'](probes, policy) if r['id'] == 'ssh-key-policy-side-channels'][0]
    assert 'olga: tcp-local (opted in through fwd)' in side['observed'], side


def test_store_files_one_template_item_per_declared_user_in_order():
    users = {'zoe': {'lines': []}, 'alice': {'lines': []}}
    assert FILTERS['ssh_key_policy_store_files'](users, '/etc/ssh/authorized_keys') == [
        {'dest': '/etc/ssh/authorized_keys/zoe', 'template': 'authorized_keys.j2'},
        {'dest': '/etc/ssh/authorized_keys/alice', 'template': 'authorized_keys.j2'},
    ]
    assert FILTERS['ssh_key_policy_store_files']({}, '/s') == []


@pytest.mark.parametrize('changed, expected', [
    ([], {'dropin': False, 'pam': False, 'store': []}),
    # The store directory alone (check mode on a fresh host) is no store file.
    (['/s'], {'dropin': False, 'pam': False, 'store': []}),
    (['/d.conf', '/s/bob'], {'dropin': True, 'pam': False, 'store': [{'dest': '/s/bob', 'template': 't'}]}),
    (['/pam', '/s/alice', '/s/bob'], {'dropin': False, 'pam': True,
                                      'store': [{'dest': '/s/alice', 'template': 't'}, {'dest': '/s/bob', 'template': 't'}]}),
])
def test_planned_reads_the_plans_changed_paths(changed, expected):
    store = [{'dest': '/s/alice', 'template': 't'}, {'dest': '/s/bob', 'template': 't'}]
    assert FILTERS['ssh_key_policy_planned'](changed, '/d.conf', '/pam', store) == expected


INCLUDE = 'Include /etc/ssh/sshd_config.d/*.conf'
SETTINGS = {'PasswordAuthentication': False, 'MaxAuthTries': 3, 'Ciphers': 'aes256-gcm@openssh.com'}


def test_sshd_config_stale_is_false_only_for_what_the_module_would_leave():
    from ansible_collections.ephi.safeguards.plugins.module_utils.sshd_config_file import plan
    stale = FILTERS['ssh_key_policy_sshd_config_stale']
    original = '# Debian\nPasswordAuthentication yes\nUsePAM yes\nMatch User x\n    MaxAuthTries 9\n'
    assert stale(original, SETTINGS, {}, INCLUDE, '/d.conf') is True
    done = plan(original, SETTINGS, {}, INCLUDE, '/d.conf')['content']
    assert stale(done, SETTINGS, {}, INCLUDE, '/d.conf') is False
    # Another value, an extra setting or another drop-in name is a change.
    assert stale(done, dict(SETTINGS, MaxAuthTries=4), {}, INCLUDE, '/d.conf') is True
    assert stale(done, SETTINGS, {'LoginGraceTime': 30}, INCLUDE, '/d.conf') is True
    assert stale(done, SETTINGS, {}, INCLUDE, '/other.conf') is True


@pytest.mark.parametrize('text, settings, include', [
    (None, SETTINGS, INCLUDE),                                   # no file, or not read
    ('Port 22\n\ufffd\n', SETTINGS, INCLUDE),                   # not UTF-8 on the host
    ('', {'Banner': '/etc/x\nPermitRootLogin yes'}, INCLUDE),    # the module refuses it
    ('', SETTINGS, INCLUDE + '\n'),
    ('# BEGIN ephi.safeguards:ssh_key_policy\nPort 22\n', SETTINGS, INCLUDE),   # unplannable: BEGIN without END
])
def test_sshd_config_stale_errs_towards_running_the_module(text, settings, include):
    assert FILTERS['ssh_key_policy_sshd_config_stale'](text, settings, {}, include, '') is True
