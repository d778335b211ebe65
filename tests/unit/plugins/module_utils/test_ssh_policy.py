# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure decisions of plugins/module_utils/ssh_policy.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.ephi.safeguards.plugins.module_utils import ssh_policy as sp

FP_A = 'SHA256:bo5mVr29e013zOmNw0KEr3fTokHdjUBZDDUrjrE0saI'
FP_B = 'SHA256:mHlIwR7AfrWHb35kMaBfFlbZh8324m/OMgFov4RFLSE'
CONN = {'addr': '10.88.0.1', 'port': 53590, 'laddr': '10.88.0.5', 'lport': 22}


def journal(*records):
    return '\n'.join(json.dumps(r) for r in records)


def accepted(user='admin', addr='10.88.0.1', port=53590, fp=FP_A, method='publickey', uid='0', comm='sshd'):
    tail = ' ssh2: ED25519 %s' % fp if method == 'publickey' else ' ssh2'
    return {'MESSAGE': 'Accepted %s for %s from %s port %d%s' % (method, user, addr, port, tail), '_UID': uid, '_COMM': comm}


# ---------------------------------------------------------------- algorithms

def test_default_algorithm_lists_are_allowed():
    assert sp.algorithm_problems(list(sp.STRONG_CIPHERS), sp.STRONG_CIPHERS) == []
    assert sp.algorithm_problems(list(sp.STRONG_MACS), sp.STRONG_MACS) == []
    assert sp.algorithm_problems(['mlkem768x25519-sha256', 'curve25519-sha256'], sp.STRONG_KEX) == []


@pytest.mark.parametrize('values,allowed,text', [
    (['aes256-ctr', '3des-cbc'], sp.STRONG_CIPHERS, '3des-cbc is not in the allow-list'),
    (['aes128-cbc'], sp.STRONG_CIPHERS, 'aes128-cbc'),
    (['hmac-sha1'], sp.STRONG_MACS, 'hmac-sha1'),
    (['hmac-sha2-256'], sp.STRONG_MACS, 'hmac-sha2-256 is not'),
    (['diffie-hellman-group14-sha1'], sp.STRONG_KEX, 'group14-sha1'),
    (['ecdh-sha2-nistp256'], sp.STRONG_KEX, 'nistp256'),
    ([], sp.STRONG_KEX, 'empty'),
    ('aes256-ctr', sp.STRONG_CIPHERS, 'list'),
    (['aes256-ctr', 'aes256-ctr'], sp.STRONG_CIPHERS, 'twice'),
    (['aes256-ctr\nPermitRootLogin yes'], sp.STRONG_CIPHERS, 'not an algorithm name'),
    (['+aes128-cbc'], sp.STRONG_CIPHERS, 'not an algorithm name'),
])
def test_weak_or_malformed_algorithms_are_refused(values, allowed, text):
    problems = sp.algorithm_problems(values, allowed)
    assert problems and any(text in p for p in problems), problems


# ---------------------------------------------------------------- extra settings

def test_extra_settings_accepts_plain_values():
    assert sp.extra_settings_problems({'Banner': '/etc/issue.net', 'MaxSessions': 4, 'X11Forwarding': False,
                                       'AcceptEnv': ['LANG', 'LC_*']}, ['PasswordAuthentication']) == []


@pytest.mark.parametrize('settings,text', [
    ({'Banner': '/etc/issue\nPasswordAuthentication yes'}, 'line break'),
    ({'Banner': '/etc/issue\rPermitRootLogin yes'}, 'line break'),
    ({'AcceptEnv': ['LANG', 'X\nMatch all']}, 'line break'),
    ({'Banner': 'a\x00b'}, 'NUL'),
    ({'passwordauthentication': 'yes'}, 'set by the policy'),
    ({'TrustedUserCAKeys': '/etc/ssh/ca.pub'}, 'cannot be overridden'),
    ({'AuthorizedPrincipalsCommand': '/bin/x'}, 'cannot be overridden'),
    ({'Match': 'all'}, 'cannot be overridden'),
    ({'Bad Key': 'x'}, 'not an sshd keyword'),
    ({'Banner': {'a': 1}}, 'must be a string'),
])
def test_extra_settings_problems(settings, text):
    problems = sp.extra_settings_problems(settings, ['PasswordAuthentication'])
    assert any(text in p for p in problems), problems


def test_extra_settings_must_be_a_mapping():
    assert sp.extra_settings_problems(['x'], []) == ['must be a mapping of sshd keywords to values']


# ---------------------------------------------------------------- sshd matching

@pytest.mark.parametrize('string,pattern,expected', [
    ('admin', 'admin', True),
    ('admin', 'adm*', True),
    ('admin', 'a?min', True),
    ('Admin', 'admin', False),          # case sensitive, like getpwnam
    ('admi', 'adm[in]', False),         # no character classes in sshd
    ('adm[in]', 'adm[in]', True),
    ('admin', '!admin', False),         # "!" is literal in AllowUsers entries
])
def test_match_pattern_is_sshds(string, pattern, expected):
    assert sp.match_pattern(string, pattern) is expected


def test_match_pattern_list_negation_wins():
    assert sp.match_pattern_list('wheel', 'wh*,!wheel') == -1
    assert sp.match_pattern_list('wheel', 'adm,wh*') == 1
    assert sp.match_pattern_list('users', 'adm,wh*') == 0


def test_user_at_host_splits_at_the_last_at():
    assert sp.user_pattern_matches('admin', 'admin@10.0.0.1') is None
    assert sp.user_pattern_matches('a@b', 'a@b@host') is None
    assert sp.user_pattern_matches('carol', 'admin@10.0.0.1') is False


def test_access_problems_follow_sshd():
    assert sp.access_problems('admin', ['admin'], allow_users=['adm*']) == []
    assert sp.access_problems('admin', ['admin'], allow_users=['Admin'])
    assert sp.access_problems('admin', ['admin'], deny_users=['admin@10.*'])
    assert sp.access_problems('admin', ['admin', 'sudo'], allow_groups=['sudo']) == []
    assert sp.access_problems('admin', ['admin', 'sudo'], allow_groups=['sud[o]'])
    assert sp.access_problems('admin', ['admin', 'sudo'], allow_groups=['*,!admin'])
    assert sp.access_problems('admin', ['sudo'], deny_groups=['su*'])


# ---------------------------------------------------------------- key in use

def test_parse_ssh_connection():
    assert sp.parse_ssh_connection('10.88.0.1 53590 10.88.0.5 22') == CONN
    assert sp.parse_ssh_connection('') is None
    assert sp.parse_ssh_connection('garbage') is None


def test_key_in_use_from_the_journal():
    found = sp.key_in_use(journal(accepted(port=1), accepted()), 'admin', CONN)
    assert found == {'method': 'publickey', 'key_type': 'ED25519', 'fingerprint': FP_A, 'addr': '10.88.0.1', 'port': 53590}
    assert sp.key_in_use(journal(accepted(comm='sshd-session')), 'admin', CONN)['fingerprint'] == FP_A


def test_key_in_use_ignores_forged_and_foreign_lines():
    # logger -t sshd from a user: _UID is not 0; a process renamed sshd by a user: same.
    forged = [accepted(fp=FP_B, uid='1000'), accepted(fp=FP_B, comm='logger'), accepted(fp=FP_B, user='carol'),
              accepted(fp=FP_B, port=4444), accepted(fp=FP_B, addr='10.88.0.2')]
    result = sp.key_in_use(journal(*forged), 'admin', CONN)
    assert 'error' in result and 'no "Accepted' in result['error']
    assert sp.key_in_use(journal(*(forged + [accepted()])), 'admin', CONN)['fingerprint'] == FP_A


def test_key_in_use_errors():
    assert 'SSH_CONNECTION' in sp.key_in_use(journal(accepted()), 'admin', None)['error']
    assert 'password' in sp.key_in_use(journal(accepted(method='password')), 'admin', CONN)['error']
    assert 'error' in sp.key_in_use('not json\n[1]\n', 'admin', CONN)


# ---------------------------------------------------------------- lockout

def validated(*fps):
    return {'errors': [], 'users': {'admin': {'keys': [{'fingerprint': fp} for fp in fps]}}}


INFO = {'exists': True, 'groups': ['admin'], 'authorized_fingerprints': [FP_A]}


def test_lockout_key_in_use_must_stay_declared():
    in_use = {'fingerprint': FP_A, 'key_type': 'ED25519'}
    assert sp.lockout_problems('admin', validated(FP_A, FP_B), INFO, in_use=in_use) == []
    # The run keeps another declared key of the account but drops the one Ansible uses.
    problems = sp.lockout_problems('admin', validated(FP_B), dict(INFO, authorized_fingerprints=[FP_A, FP_B]), in_use=in_use)
    assert len(problems) == 1 and FP_A in problems[0] and 'does not declare' in problems[0]


def test_lockout_unknown_key_in_use_refuses():
    problems = sp.lockout_problems('admin', validated(FP_A), INFO, in_use={'error': 'no log line'})
    assert problems and 'no log line' in problems[0]


def test_lockout_without_ssh_falls_back_to_overlap():
    assert sp.lockout_problems('admin', validated(FP_A), INFO) == []
    assert sp.lockout_problems('admin', validated(FP_B), INFO)
    assert sp.lockout_problems('admin', validated(FP_A), dict(INFO, authorized_fingerprints=[]))


def test_lockout_account_checks():
    assert 'could not be determined' in sp.lockout_problems('', validated(FP_A), INFO)[0]
    assert 'root' in sp.lockout_problems('root', validated(FP_A), INFO)[0]
    assert 'no valid declared key' in sp.lockout_problems('carol', validated(FP_A), INFO)[0]
    assert any('does not exist' in p for p in sp.lockout_problems('admin', validated(FP_A), dict(INFO, exists=False)))
    assert sp.lockout_problems('admin', validated(FP_A), INFO, allow_users=['carol'])
    assert sp.lockout_problems('admin', validated(FP_A), INFO, deny_groups=['adm*'])


# ---------------------------------------------------------------- per connection

PASSWD = {
    'root': ['x', '0', '0', 'root', '/root', '/bin/bash'],
    'daemon': ['x', '1', '1', 'daemon', '/usr/sbin', '/usr/sbin/nologin'],
    'nobody': ['x', '65534', '65534', '', '/', '/bin/false'],
    'admin': ['x', '1000', '1000', '', '/home/admin', '/bin/bash'],
    'sync': ['x', '4', '65534', 'sync', '/bin', '/bin/sync'],
}


def test_login_capable_users():
    assert sp.login_capable_users(PASSWD) == ['admin', 'root', 'sync']
    assert sp.login_capable_users({'a,b': ['x', '1', '1', '', '/', '/bin/sh']}) == []


def test_connection_specs():
    specs = sp.connection_specs(PASSWD, CONN, ['192.0.2.1', '10.88.0.1'])
    assert len(specs) == 3 * 3
    assert 'user=admin,host=10.88.0.1,addr=10.88.0.1,laddr=10.88.0.5,lport=22' in specs
    assert sp.connection_specs({'admin': PASSWD['admin']}, None, []) == ['user=admin,host=127.0.0.1,addr=127.0.0.1']


WANTED = {'PasswordAuthentication': False, 'AuthorizedKeysCommand': 'none', 'AuthorizedKeysFile': '/etc/ssh/authorized_keys/%u',
          'Ciphers': 'aes256-ctr'}
GOOD = 'passwordauthentication no\nauthorizedkeyscommand none\nauthorizedkeysfile /etc/ssh/authorized_keys/%u\n'
S1 = 'user=admin,host=127.0.0.1,addr=127.0.0.1'
S2 = 'user=admin,host=192.0.2.1,addr=192.0.2.1'
S3 = 'user=carol,host=192.0.2.1,addr=192.0.2.1'


def test_per_spec_all_good():
    text = '### %s\n%s### %s\n%s' % (S1, GOOD, S2, GOOD)
    result = sp.per_spec_drift(text, WANTED, specs=[S1, S2])
    assert (result['drift'], result['errors'], result['specs']) == ([], [], 2)


def test_per_spec_match_block_is_caught():
    bad = GOOD.replace('passwordauthentication no', 'passwordauthentication yes').replace(
        'authorizedkeyscommand none', 'authorizedkeyscommand /usr/bin/sss_ssh_authorizedkeys')
    text = '### %s\n%s### %s\n%s' % (S1, GOOD, S3, bad)
    result = sp.per_spec_drift(text, WANTED, specs=[S1, S3])
    assert result['errors'] == []
    assert sorted(d['setting'] for d in result['drift']) == ['AuthorizedKeysCommand', 'PasswordAuthentication']
    assert all(d['spec'] == S3 and S3 in d['found'] for d in result['drift'])


def test_per_spec_unexamined_is_an_error():
    # sshd -T failed for one spec, one spec is missing, and nothing non-loopback was evaluated.
    text = '### %s\n%s### %s\n!!! bad match user\n' % (S1, GOOD, S2)
    result = sp.per_spec_drift(text, WANTED, specs=[S1, S2, S3])
    assert any('failed: bad match user' in e for e in result['errors'])
    assert any(S3 in e for e in result['errors'])
    assert any('non-loopback' in e for e in result['errors'])
    empty = sp.per_spec_drift('', WANTED, specs=[])
    assert empty['errors'] == ['no connection from a non-loopback address was evaluated']
    blank = sp.per_spec_drift('### %s\n' % S2, WANTED, specs=[S2])
    assert any('printed none' in e for e in blank['errors'])
    # The reader could not run at all: its reason comes first, the evaluation still fails.
    why = 'the accounts are not known: the probe (passwd) did not list them'
    unread = sp.per_spec_drift('', WANTED, specs=[], error=why)
    assert unread['errors'] == ['sshd -T -C per account was not run: ' + why,
                                'no connection from a non-loopback address was evaluated']


def test_extra_access_lists_read_keywords_as_sshd_does():
    lists = sp.extra_access_lists({'denyusers': 'admin carol', 'DenyGroups': ['wheel', 'adm staff'], 'Banner': 'x'})
    assert lists == {'denyusers': ['admin', 'carol'], 'denygroups': ['wheel', 'adm', 'staff'], 'allowusers': [], 'allowgroups': []}
    assert sp.words(None) == [] and sp.words(['a b', 'c']) == ['a', 'b', 'c']
