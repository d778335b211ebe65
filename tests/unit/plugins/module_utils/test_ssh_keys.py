# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Key parsing and policy decisions of module_utils/ssh_keys.py.

The fixtures in fixtures/ssh_keys/ are real public keys made with
``ssh-keygen`` (OpenSSH 9.2): ed25519, ecdsa 256/384, rsa 2048/3072/4096 and
dsa; fingerprints.txt holds ``ssh-keygen -l`` for each, the reference for
sizes and SHA256 fingerprints.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import os
import struct

import pytest

from ansible_collections.ephi.safeguards.plugins.module_utils.ssh_keys import (
    STRONG_KEY_TYPES,
    SSHKeyError,
    effective_drift,
    expand_authorized_keys_file,
    inspect_blob,
    key_problems,
    lockout_problems,
    parse_expiry,
    parse_line,
    parse_options,
    parse_sshd_t,
    render_line,
    validate_declared,
)

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures', 'ssh_keys')
NOW = datetime.datetime(2026, 6, 1, 12, 0, 0)
POLICY = {'allowed_types': list(STRONG_KEY_TYPES), 'rsa_min_bits': 3072}
NAMES = ['ed25519', 'ecdsa', 'ecdsa384', 'rsa2048', 'rsa3072', 'rsa4096', 'dsa']


def key(name):
    with open(os.path.join(FIXTURES, name + '.pub')) as handle:
        return handle.read().strip()


def reference():
    """name -> (bits, fingerprint, type label) from ssh-keygen -l."""
    out = {}
    with open(os.path.join(FIXTURES, 'fingerprints.txt')) as handle:
        for line in handle:
            bits, fp, comment, label = line.split()
            out[comment.replace('fixture-', '')] = (int(bits), fp, label)
    return out


REFERENCE = reference()


# ---------------------------------------------------------------- parsing

@pytest.mark.parametrize('name', NAMES)
def test_size_and_fingerprint_match_ssh_keygen(name):
    parsed = parse_line(key(name))
    bits, fp, dummy = REFERENCE[name]
    assert parsed['bits'] == bits
    assert parsed['fingerprint'] == fp
    assert parsed['comment'] == 'fixture-' + name


@pytest.mark.parametrize('name, key_type', [
    ('ed25519', 'ssh-ed25519'),
    ('ecdsa', 'ecdsa-sha2-nistp256'),
    ('ecdsa384', 'ecdsa-sha2-nistp384'),
    ('rsa2048', 'ssh-rsa'),
    ('dsa', 'ssh-dss'),
])
def test_type_comes_from_the_wire_format(name, key_type):
    parsed = parse_line(key(name))
    assert parsed['type'] == key_type
    assert inspect_blob(parsed['blob'])[0] == key_type


def test_blank_and_comment_lines_are_skipped():
    assert parse_line('') is None
    assert parse_line('   # a comment') is None


@pytest.mark.parametrize('line, message', [
    ('ssh-ed25519', 'expected'),
    ('ssh-ed25519 not*base64', 'base64'),
    ('ssh-ed25519 AAAA', 'truncated'),
    ('ssh-foo AAAAC3NzaC1lZDI1NTE5', 'expected'),
    ('ssh-foo AAAAC3NzaC1lZDI1NTE5 comment', 'unknown key type'),
    ('ssh-ed25519-cert-v01@openssh.com AAAA', 'certificates'),
])
def test_malformed_lines_are_rejected(line, message):
    with pytest.raises(SSHKeyError) as exc:
        parse_line(line)
    assert message in str(exc.value)


def test_type_field_must_match_the_key_data():
    ed = key('ed25519').split()
    with pytest.raises(SSHKeyError, match='does not match'):
        parse_line('ssh-rsa %s x' % ed[1])


def test_trailing_bytes_are_rejected():
    ed = key('ed25519').split()
    blob = base64.b64decode(ed[1]) + b'\x00'
    with pytest.raises(SSHKeyError, match='trailing'):
        inspect_blob(blob)


def test_short_ed25519_point_is_rejected():
    name = b'ssh-ed25519'
    blob = struct.pack('>I', len(name)) + name + struct.pack('>I', 31) + b'\x01' * 31
    with pytest.raises(SSHKeyError, match='32'):
        inspect_blob(blob)


def test_options_are_parsed_with_quotes_and_escapes():
    line = 'expiry-time="20271231",from="10.0.0.0/8,!10.1.*",command="echo \\"hi\\"",no-pty ' + key('ed25519')
    parsed = parse_line(line)
    assert parsed['options'] == [('expiry-time', '20271231'), ('from', '10.0.0.0/8,!10.1.*'),
                                 ('command', 'echo "hi"'), ('no-pty', None)]
    assert parsed['type'] == 'ssh-ed25519'


@pytest.mark.parametrize('text', ['from=10.0.0.1 ssh-ed25519 AAAA', 'from="10.0.0.1 ssh-ed25519 AAAA', 'a,,b c', 'a;b c'])
def test_bad_option_syntax(text):
    with pytest.raises(SSHKeyError):
        parse_options(text)


@pytest.mark.parametrize('value, expected', [
    ('20271231', datetime.datetime(2027, 12, 31)),
    ('202712311530', datetime.datetime(2027, 12, 31, 15, 30)),
    ('20271231153045', datetime.datetime(2027, 12, 31, 15, 30, 45)),
    ('20271231Z', datetime.datetime(2027, 12, 31)),
])
def test_expiry_formats(value, expected):
    assert parse_expiry(value) == expected


@pytest.mark.parametrize('value', ['2027-12-31', '2027123', '20271340', 'tomorrow', '2027123115'])
def test_bad_expiry(value):
    with pytest.raises(SSHKeyError):
        parse_expiry(value)


# ---------------------------------------------------------------- policy for one key

@pytest.mark.parametrize('name, problem', [
    ('ed25519', None),
    ('ecdsa', None),
    ('rsa3072', None),
    ('rsa4096', None),
    ('rsa2048', 'RSA key has 2048 bits, fewer than 3072'),
    ('dsa', 'not allowed'),
])
def test_key_problems_by_type_and_size(name, problem):
    problems = key_problems(parse_line(key(name)), POLICY, NOW)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


def test_rsa_minimum_is_configurable():
    policy = dict(POLICY, rsa_min_bits=4096)
    assert key_problems(parse_line(key('rsa3072')), policy, NOW)
    assert not key_problems(parse_line(key('rsa4096')), policy, NOW)


def test_type_not_in_allowed_list():
    policy = dict(POLICY, allowed_types=['ssh-ed25519'])
    assert 'not allowed' in key_problems(parse_line(key('ecdsa')), policy, NOW)[0]


@pytest.mark.parametrize('expiry, expired', [('20260531', True), ('202606011200', True), ('202606011201', False),
                                             ('20991231', False)])
def test_expiry_time_option(expiry, expired):
    parsed = parse_line('expiry-time="%s" %s' % (expiry, key('ed25519')))
    problems = key_problems(parsed, POLICY, NOW)
    assert bool(problems) == expired, problems


# ---------------------------------------------------------------- declared keys

def declared(name='alice', **fields):
    entry = {'key': key('ed25519'), 'owner': 'Alice Example'}
    entry.update(fields)
    return [{'name': name, 'keys': [entry]}]


def test_valid_declaration_renders_lines_with_options_and_owner():
    fields = {'expires': '20991231', 'from': ['10.0.0.0/8', '192.0.2.1'], 'options': ['no-port-forwarding']}
    result = validate_declared(declared(**fields), POLICY, NOW)
    assert result['errors'] == []
    line = result['users']['alice']['lines'][0]
    assert line.startswith('expiry-time="20991231",from="10.0.0.0/8,192.0.2.1",no-port-forwarding ssh-ed25519 AAAA')
    assert line.endswith('fixture-ed25519 (owner: Alice Example)')
    record = result['users']['alice']['keys'][0]
    assert record['fingerprint'] == REFERENCE['ed25519'][1]
    assert record['owner'] == 'Alice Example' and record['expiry_time'] == '20991231'


def test_rendered_line_parses_back_to_the_same_key():
    result = validate_declared(declared(expires='20991231', comment='laptop'), POLICY, NOW)
    back = parse_line(result['users']['alice']['lines'][0])
    assert back['fingerprint'] == REFERENCE['ed25519'][1]
    assert back['options'] == [('expiry-time', '20991231')]


@pytest.mark.parametrize('users, message', [
    (declared(key=key('rsa2048')), 'RSA key has 2048 bits'),
    (declared(key=key('dsa')), 'not allowed'),
    (declared(key='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== broken'), 'truncated'),
    (declared(expires='20200101'), 'expired on 20200101'),
    (declared(expires='31.12.2027'), 'YYYYMMDD'),
    (declared(owner=''), 'owner'),
    (declared(**{'from': ['10.0.0.1" ,command="sh']}), 'from'),
    (declared(options=['command="sh"']), 'options'),
    (declared(key='from="10.0.0.1" ' + key('ed25519')), 'not in the key string'),
    (declared(name='root'), 'root'),
    (declared(name='Bad User'), 'not a valid user name'),
    (declared(surprise=1), 'unknown field'),
    ([{'name': 'alice'}, {'name': 'alice'}], 'declared twice'),
    ('alice', 'must be a list'),
])
def test_bad_declarations_name_the_user_and_key(users, message):
    result = validate_declared(users, POLICY, NOW)
    assert result['errors'], result
    assert any(message in e for e in result['errors']), result['errors']


def test_error_names_user_comment_and_fingerprint():
    result = validate_declared(declared(key=key('rsa2048')), POLICY, NOW)
    error = result['errors'][0]
    assert 'user alice' in error and 'fixture-rsa2048' in error and REFERENCE['rsa2048'][1] in error


def test_duplicate_key_across_users_is_refused_unless_allowed():
    users = declared('alice') + declared('bob')
    result = validate_declared(users, POLICY, NOW)
    assert any('also declared for user alice' in e for e in result['errors'])
    assert validate_declared(users, dict(POLICY, allow_shared_keys=True), NOW)['errors'] == []


def test_duplicate_key_for_one_user_is_refused():
    users = [{'name': 'alice', 'keys': [{'key': key('ed25519'), 'owner': 'a'}, {'key': key('ed25519'), 'owner': 'a'}]}]
    assert any('declared twice for this user' in e for e in validate_declared(users, POLICY, NOW)['errors'])


def test_emergency_keys_must_expire():
    result = validate_declared(declared('breakglass'), POLICY, NOW, emergency_user='breakglass')
    assert any('must have an expiry' in e for e in result['errors'])
    ok = validate_declared(declared('breakglass', expires='20261231'), POLICY, NOW, emergency_user='breakglass')
    assert ok['errors'] == []


def test_integer_expiry_from_yaml_is_accepted():
    assert validate_declared(declared(expires=20991231), POLICY, NOW)['errors'] == []


# ---------------------------------------------------------------- lockout protection

def lockout(login='admin', allow_users=(), allow_groups=(), current=None, groups=('admin', 'wheel'), **kw):
    validated = validate_declared(declared('admin') + [{'name': 'carol', 'keys': [
        {'key': key('ecdsa'), 'owner': 'Carol'}]}], POLICY, NOW)
    info = {'exists': True, 'groups': list(groups),
            'authorized_fingerprints': [REFERENCE['ed25519'][1]] if current is None else current}
    return lockout_problems(login, validated, info, list(allow_users), list(allow_groups), **kw)


def test_declared_login_user_with_its_current_key_passes():
    assert lockout() == []


@pytest.mark.parametrize('kwargs, message', [
    ({'login': 'root'}, 'PermitRootLogin no'),
    ({'login': 'dave'}, 'no valid declared key'),
    ({'login': ''}, 'could not be determined'),
    ({'allow_users': ['carol', 'bob*']}, 'not in ssh_key_policy_allow_users'),
    ({'allow_groups': ['sshusers']}, 'in none of ssh_key_policy_allow_groups'),
    ({'current': [REFERENCE['ecdsa'][1]]}, 'none of the keys admin logs in with today'),
    ({'current': []}, 'cannot be proven'),
    ({'deny_users': ['adm*']}, 'DenyUsers'),
    ({'deny_groups': ['wheel']}, 'DenyGroups'),
])
def test_lockout_is_detected(kwargs, message):
    problems = lockout(**kwargs)
    assert any(message in p for p in problems), problems


@pytest.mark.parametrize('kwargs', [
    {'allow_users': ['admin']},
    {'allow_users': ['adm?n', 'carol']},
    {'allow_users': ['admin@10.0.0.*']},
    {'allow_groups': ['wh*']},
])
def test_allow_lists_that_include_the_login_user_pass(kwargs):
    assert lockout(**kwargs) == []


# ---------------------------------------------------------------- sshd -T

SSHD_T = """port 22
passwordauthentication no
permitrootlogin no
loglevel VERBOSE
hostkey /etc/ssh/ssh_host_ed25519_key
allowusers alice
allowusers bob@10.0.0.1
ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com
clientaliveinterval 300
"""


def test_parse_sshd_t_keeps_repeated_keywords():
    effective = parse_sshd_t(SSHD_T)
    assert effective['allowusers'] == ['alice', 'bob@10.0.0.1']
    assert effective['loglevel'] == ['VERBOSE']


def test_no_drift_when_effective_equals_policy():
    wanted = {'PasswordAuthentication': False, 'PermitRootLogin': False, 'LogLevel': 'VERBOSE',
              'HostKey': ['/etc/ssh/ssh_host_ed25519_key'], 'AllowUsers': 'alice bob@10.0.0.1',
              'Ciphers': 'chacha20-poly1305@openssh.com,aes256-gcm@openssh.com', 'ClientAliveInterval': '300',
              'AllowGroups': '', 'RequiredRSASize': None}
    assert effective_drift(parse_sshd_t(SSHD_T), wanted) == []


def test_drift_is_reported_per_setting():
    wanted = {'PasswordAuthentication': True, 'ClientAliveInterval': 60, 'HostKey': ['/etc/ssh/a', '/etc/ssh/b'],
              'MaxAuthTries': 3}
    drift = {d['setting']: d for d in effective_drift(parse_sshd_t(SSHD_T), wanted)}
    assert sorted(drift) == ['ClientAliveInterval', 'HostKey', 'MaxAuthTries', 'PasswordAuthentication']
    assert drift['PasswordAuthentication']['found'] == 'no'
    assert drift['MaxAuthTries']['found'] == []


def test_render_line_quotes_option_values():
    parsed = parse_line(key('ed25519'))
    assert render_line(parsed, sources=['a"b']).startswith('from="a\\"b" ssh-ed25519 ')


@pytest.mark.parametrize('pattern, expected', [
    ('/etc/ssh/authorized_keys/%u', '/etc/ssh/authorized_keys/alice'),
    ('.ssh/authorized_keys', '/home/alice/.ssh/authorized_keys'),
    ('%h/.ssh/keys_%U', '/home/alice/.ssh/keys_1001'),
    ('/etc/keys/%%u', '/etc/keys/%u'),
])
def test_expand_authorized_keys_file(pattern, expected):
    assert expand_authorized_keys_file(pattern, 'alice', '/home/alice', 1001) == expected
