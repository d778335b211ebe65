# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Multi-factor authentication of the ssh_key_policy role (plugins/module_utils/ssh_mfa.py),
its lockout check, its controls and the oath_usersfile module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os

import pytest

from ansible_collections.ephi.safeguards.plugins.module_utils import ssh_key_policy_controls as controls
from ansible_collections.ephi.safeguards.plugins.module_utils import ssh_mfa as mfa
from ansible_collections.ephi.safeguards.plugins.module_utils import ssh_policy as sp

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures', 'pam')
SECRET = '3132333435363738393031323334353637383930'    # RFC 6238's test key, 20 bytes
OTHER = 'a' * 40
USERSFILE = '/etc/ephi-safeguards/users.oath'
EXEMPT = [{'user': 'admin', 'reason': 'automation'},
          {'user': 'carol', 'reason': 'tests', 'from': ['127.0.0.1', '10.0.0.0/8']}]


def debian(release):
    with open(os.path.join(FIXTURES, 'sshd-debian%d' % release)) as handle:
        return handle.read()


# ---------------------------------------------------------------- input checks

def settings(**kw):
    base = {'mfa': True, 'exempt': EXEMPT, 'secrets': {'carol': SECRET, 'mia': OTHER}, 'generate': False,
            'deny': 5, 'unlock_time': 900, 'usersfile': USERSFILE, 'handoff_dir': '/root/ephi-mfa-enrolment'}
    base.update(kw)
    return base


USERS = ['admin', 'carol', 'mia']


def test_valid_settings_have_no_problem():
    assert mfa.mfa_problems(settings(), USERS) == []


@pytest.mark.parametrize('change,text', [
    ({'secrets': {'carol': SECRET}}, 'no TOTP secret for mia'),
    ({'secrets': {'carol': SECRET, 'mia': 'abcd'}}, 'the secret of mia must be at least 20 bytes'),
    ({'secrets': {'carol': SECRET, 'mia': 'zz' * 20}}, 'the secret of mia must be an even number of hexadecimal'),
    ({'secrets': {'carol': SECRET, 'mia': OTHER, 'eve': OTHER}}, 'eve is not declared'),
    ({'exempt': [{'user': 'admin'}]}, 'user admin: reason must be a non-empty line'),
    ({'exempt': [{'user': 'admin', 'reason': 'x\nMatch all'}]}, 'reason must be a non-empty line'),
    ({'exempt': [{'user': 'adm*', 'reason': 'x'}]}, 'is not a plain account name'),
    ({'exempt': [{'user': 'bob', 'reason': 'x'}]}, 'user bob is not declared'),
    ({'exempt': [{'user': 'admin', 'reason': 'x'}, {'user': 'admin', 'reason': 'y'}]}, 'listed twice'),
    ({'exempt': [{'user': 'admin', 'reason': 'x', 'from': []}]}, 'from must be a non-empty list'),
    ({'exempt': [{'user': 'admin', 'reason': 'x', 'from': ['10.0.0.1/8']}]}, 'no host bits set'),
    ({'exempt': [{'user': 'admin', 'reason': 'x', 'from': ['10.0.0.*']}]}, 'is not an address'),
    ({'exempt': [{'user': 'admin', 'reason': 'x', 'port': 22}]}, 'unknown key(s) port'),
    ({'deny': 0}, 'ssh_key_policy_mfa_deny: must be a whole number from 1 to 20'),
    ({'unlock_time': True}, 'ssh_key_policy_mfa_unlock_time'),
    ({'usersfile': 'users.oath'}, 'ssh_key_policy_mfa_usersfile: must be an absolute path'),
])
def test_bad_settings_are_named_and_secrets_never_quoted(change, text):
    problems = mfa.mfa_problems(settings(**change), USERS)
    assert [p for p in problems if text in p], problems
    assert not [p for p in problems if SECRET in p or OTHER in p or 'zz' * 20 in p]


def test_missing_secret_is_fine_with_generation_or_without_mfa():
    assert mfa.mfa_problems(settings(secrets={}, generate=True), USERS) == []
    assert mfa.mfa_problems(settings(secrets={}, mfa=False), USERS) == []


def test_mfa_users_are_the_declared_accounts_not_exempt_from_everywhere():
    # carol is exempt from some addresses only: she needs a secret for the others.
    assert mfa.mfa_users(USERS, EXEMPT) == ['carol', 'mia']


# ---------------------------------------------------------------- methods, blocks, lockout

@pytest.mark.parametrize('user,addr,want', [
    ('admin', '192.0.2.1', 'publickey'),
    ('carol', '127.0.0.1', 'publickey'),
    ('carol', '10.1.2.3', 'publickey'),
    ('carol', '127.0.0.2', 'publickey,keyboard-interactive'),
    ('carol', 'not-an-address', 'publickey,keyboard-interactive'),
    ('mia', '127.0.0.1', 'publickey,keyboard-interactive'),
])
def test_methods_for(user, addr, want):
    assert mfa.methods_for(user, addr, True, EXEMPT) == want
    assert mfa.methods_for(user, addr, False, EXEMPT) == 'publickey'


def test_exempt_blocks():
    assert mfa.exempt_blocks(EXEMPT) == [
        {'user': 'admin', 'reason': 'automation', 'match': 'User admin'},
        {'user': 'carol', 'reason': 'tests', 'match': 'User carol Address 127.0.0.1,10.0.0.0/8'}]


def test_lockout_refuses_a_factor_for_the_account_ansible_uses():
    assert mfa.lockout_problems('admin', '192.0.2.1', True, EXEMPT) == []
    assert mfa.lockout_problems('mia', '192.0.2.1', False, EXEMPT) == []
    problems = mfa.lockout_problems('mia', '192.0.2.1', True, EXEMPT)
    assert len(problems) == 1 and 'ssh_key_policy_mfa_exempt' in problems[0] and 'mia' in problems[0]
    # Exempt, but not from the address Ansible connects from.
    problems = mfa.lockout_problems('carol', '192.0.2.1', True, EXEMPT)
    assert len(problems) == 1 and 'only from 127.0.0.1, 10.0.0.0/8' in problems[0]
    assert mfa.lockout_problems('carol', '10.9.9.9', True, EXEMPT) == []


def test_lockout_problems_of_the_policy_include_mfa():
    validated = {'users': {'mia': {'keys': [{'fingerprint': 'SHA256:x'}]}}, 'errors': []}
    info = {'exists': True, 'groups': [], 'authorized_fingerprints': ['SHA256:x']}
    in_use = {'fingerprint': 'SHA256:x', 'key_type': 'ED25519', 'addr': '192.0.2.1', 'port': 1}
    assert sp.lockout_problems('mia', validated, info, in_use=in_use) == []
    problems = sp.lockout_problems('mia', validated, info, in_use=in_use,
                                   mfa={'enabled': True, 'exempt': EXEMPT, 'client_addr': '192.0.2.1'})
    assert len(problems) == 1 and 'second factor' in problems[0]


# ---------------------------------------------------------------- users file

def test_usersfile_keeps_pam_oath_state_and_removes_undeclared_users():
    current = ('HOTP/T30\tcarol\t-\t%s\t0\t957099\t2026-12-05T15:33:09L\n'
               'HOTP/T30\teve\t-\t%s\n' % (SECRET, OTHER))
    plan = mfa.usersfile_plan(current, ['carol', 'mia'], {'carol': SECRET.upper(), 'mia': OTHER})
    assert plan['text'] == ('HOTP/T30\tcarol\t-\t%s\t0\t957099\t2026-12-05T15:33:09L\n'
                            'HOTP/T30\tmia\t-\t%s\n' % (SECRET, OTHER))
    assert (plan['kept'], plan['added'], plan['updated'], plan['removed']) == (['carol'], ['mia'], [], ['eve'])
    assert plan['changed']
    again = mfa.usersfile_plan(plan['text'], ['carol', 'mia'], {'carol': SECRET, 'mia': OTHER})
    assert not again['changed'] and again['kept'] == ['carol', 'mia']


def test_usersfile_new_secret_starts_a_fresh_line_and_a_kept_secret_needs_none():
    current = 'HOTP/T30\tcarol\t-\t%s\t0\t957099\t2026-12-05T15:33:09L\n' % SECRET
    plan = mfa.usersfile_plan(current, ['carol'], {'carol': OTHER})
    assert plan['text'] == 'HOTP/T30\tcarol\t-\t%s\n' % OTHER and plan['updated'] == ['carol']
    kept = mfa.usersfile_plan(current, ['carol'], {})
    assert not kept['changed'] and kept['missing'] == []


def test_usersfile_missing_and_generated():
    plan = mfa.usersfile_plan('', ['mia'], {})
    assert plan['missing'] == ['mia'] and plan['text'] == ''
    plan = mfa.usersfile_plan('', ['mia'], {}, {'mia': OTHER})
    assert plan['missing'] == [] and plan['added'] == ['mia']
    # A line with a PIN or another token type is not kept as the user's secret.
    plan = mfa.usersfile_plan('HOTP mia 1234 %s\n' % SECRET, ['mia'], {})
    assert plan['missing'] == ['mia']


def test_results_never_hold_a_secret():
    plan = mfa.usersfile_plan('HOTP/T30 eve - %s\n' % OTHER, ['mia'], {'mia': SECRET})
    for key in ('added', 'updated', 'removed', 'kept', 'missing'):
        assert SECRET not in repr(plan[key]) and OTHER not in repr(plan[key])


def test_otpauth_uri():
    uri = mfa.otpauth_uri('carol', 'host1', SECRET)
    assert uri == ('otpauth://totp/ephi.safeguards:carol@host1?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'
                   '&issuer=ephi.safeguards&algorithm=SHA1&digits=6&period=30')
    assert base64.b32decode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ') == bytes(bytearray.fromhex(SECRET))


# ---------------------------------------------------------------- PAM stack

@pytest.mark.parametrize('release', [12, 13])
def test_pam_stack_of_debian_gets_totp_and_never_the_password(release):
    original = debian(release)
    assert '@include common-auth' in original
    assert mfa.pam_stack_problems(original, USERSFILE, 5, 900)[0] == '@include common-auth (asks the Unix password)'
    new = mfa.pam_sshd(original, True, USERSFILE, 5, 900)
    assert '@include common-auth' not in new
    assert mfa.pam_stack_problems(new, USERSFILE, 5, 900) == []
    # The rest of Debian's file is kept, in order.
    kept = [line for line in original.splitlines() if line != '@include common-auth']
    assert [line for line in new.splitlines() if 'ephi.safeguards' not in line and 'pam_faillock' not in line
            and 'pam_oath' not in line and 'pam_deny' not in line] == kept
    auth = [line for line in new.splitlines() if line.startswith('auth')]
    assert ['pam_faillock.so' in auth[0] and 'preauth' in auth[0], 'pam_oath.so' in auth[1], 'authfail' in auth[2],
            'authsucc' in auth[3], 'pam_deny.so' in auth[4]] == [True] * 5
    assert 'nullok' not in new and 'pam_unix' not in new
    lines = new.splitlines()
    assert lines.index(mfa.PAM_ACCOUNT_MANAGED) < lines.index('@include common-account')
    # Idempotent, other values replace the block, and MFA off gives Debian's file back.
    assert mfa.pam_sshd(new, True, USERSFILE, 5, 900) == new
    other = mfa.pam_sshd(new, True, USERSFILE, 3, 60)
    assert 'deny=3 unlock_time=60' in other and other.count(mfa.PAM_BEGIN) == 1
    assert mfa.pam_stack_problems(other, USERSFILE, 5, 900) == [
        'pam_faillock preauth is not deny=5 unlock_time=900', 'pam_faillock authfail is not deny=5 unlock_time=900']
    assert mfa.pam_sshd(new, False, USERSFILE) == original
    assert mfa.pam_sshd(original, False, USERSFILE) == original


@pytest.mark.parametrize('edit,problem', [
    (lambda t: t.replace('pam_oath.so', 'pam_oath.so nullok'), 'nullok'),
    (lambda t: t.replace(mfa.PAM_BEGIN, mfa.PAM_BEGIN + '\nauth sufficient pam_unix.so'), 'pam_unix in auth'),
    (lambda t: t.replace(mfa.PAM_BEGIN, '@include common-auth\n' + mfa.PAM_BEGIN), '@include common-auth'),
    (lambda t: t.replace('usersfile=%s' % USERSFILE, 'usersfile=${HOME}/.oath'), 'pam_oath does not read'),
    (lambda t: '\n'.join(line for line in t.splitlines() if 'pam_oath' not in line), 'no pam_oath in auth'),
    (lambda t: t.replace(mfa.PAM_ACCOUNT_MANAGED, ''), 'no pam_faillock in account'),
])
def test_pam_stack_problems(edit, problem):
    stack = edit(mfa.pam_sshd(debian(12), True, USERSFILE, 5, 900))
    assert [p for p in mfa.pam_stack_problems(stack, USERSFILE, 5, 900) if problem in p]


# ---------------------------------------------------------------- controls

def _audit(kbd='yes'):
    return {'sshd_effective': {'kbdinteractiveauthentication': [kbd], 'usepam': ['yes'], 'passwordauthentication': ['no'],
                               'pubkeyauthentication': ['yes'], 'permitemptypasswords': ['no']},
            'sshd_drift': []}


def _probes(pam=None, methods=None, oath='600 root\ncarol\nmia\n'):
    pam = mfa.pam_sshd(debian(13), True, USERSFILE, 5, 900) if pam is None else pam
    if methods is None:
        methods = {'user=admin,host=192.0.2.1,addr=192.0.2.1': 'publickey',
                   'user=carol,host=127.0.0.1,addr=127.0.0.1': 'publickey',
                   'user=carol,host=192.0.2.1,addr=192.0.2.1': 'publickey,keyboard-interactive',
                   'user=mia,host=192.0.2.1,addr=192.0.2.1': 'publickey,keyboard-interactive'}
    return {'ssh_key_audit': _audit(),
            'sshd_per_spec': {'drift': [], 'errors': [], 'specs': len(methods), 'methods': methods},
            'pam_sshd': {'content': base64.b64encode(pam.encode()).decode()},
            'oath_users': {'rc': 0, 'stdout': oath, 'stderr': ''}}


POLICY = {'mfa': True, 'mfa_exempt': EXEMPT, 'mfa_usersfile': USERSFILE, 'mfa_deny': 5, 'mfa_unlock_time': 900,
          'validated': {'users': {'admin': {}, 'carol': {}, 'mia': {}}, 'errors': []}}


def test_mfa_controls_pass_on_the_effective_state_and_list_the_exemptions():
    for control in (controls.ssh_key_policy_mfa, controls.ssh_key_policy_mfa_lockout, controls.ssh_key_policy_keys_only):
        result = control(_probes(), POLICY)
        assert result['status'] == 'pass', result
    observed = controls.ssh_key_policy_mfa(_probes(), POLICY)['observed']
    assert 'admin (automation) from any address' in observed and 'carol (tests) from 127.0.0.1,10.0.0.0/8' in observed
    assert 'a TOTP secret for each of carol, mia' in observed


def test_mfa_off_is_said_honestly():
    for control in (controls.ssh_key_policy_mfa, controls.ssh_key_policy_mfa_lockout):
        result = control(_probes(), dict(POLICY, mfa=False))
        assert result['status'] == 'not_applicable' and 'no second factor' in result['observed']


@pytest.mark.parametrize('probes,text', [
    (_probes(methods={'user=mia,host=192.0.2.1,addr=192.0.2.1': 'publickey'}), 'mia from 192.0.2.1: publickey'),
    (_probes(methods={'user=carol,host=127.0.0.2,addr=127.0.0.2': 'publickey'}), 'carol from 127.0.0.2'),
    (_probes(methods={}), 'NOT examined: the methods'),
    (_probes(oath='600 root\ncarol\n'), 'no TOTP secret for mia'),
    (_probes(oath='644 root\ncarol\nmia\n'), 'is 644 root, not 600 root'),
    (_probes(pam=debian(12)), '@include common-auth'),
    (dict(_probes(), pam_sshd={'failed': True}), 'NOT examined: /etc/pam.d/sshd'),
    (dict(_probes(), oath_users={'rc': 1, 'stdout': '', 'stderr': 'No such file'}), 'users file could not be read'),
])
def test_mfa_control_fails_on_what_it_sees_or_cannot_see(probes, text):
    result = controls.ssh_key_policy_mfa(probes, POLICY)
    assert result['status'] == 'fail' and text in result['observed'], result['observed']


def test_the_pam_stack_from_the_host_probe():
    pam = mfa.pam_sshd(debian(13), True, USERSFILE, 5, 900)
    probe = {'changed': False, 'contents': {'/etc/pam.d/sshd': pam}}
    for control in (controls.ssh_key_policy_mfa, controls.ssh_key_policy_mfa_lockout, controls.ssh_key_policy_keys_only):
        assert control(dict(_probes(), pam_sshd=probe), POLICY)['status'] == 'pass'
    for broken in ({'changed': False, 'contents': {'/etc/pam.d/sshd': None}}, {'changed': False, 'contents': {}},
                   dict(probe, failed=True)):
        result = controls.ssh_key_policy_mfa_lockout(dict(_probes(), pam_sshd=broken), POLICY)
        assert result['status'] == 'fail' and 'NOT examined: /etc/pam.d/sshd could not be read' in result['observed']
    result = controls.ssh_key_policy_keys_only(dict(_probes(), pam_sshd={'changed': False, 'contents': {'/etc/pam.d/sshd': debian(12)}}),
                                               POLICY)
    assert result['status'] == 'fail' and 'asks the Unix password' in result['observed']


def test_keys_only_with_mfa_fails_on_a_password_stack_and_lockout_on_missing_faillock():
    result = controls.ssh_key_policy_keys_only(_probes(pam=debian(12)), POLICY)
    assert result['status'] == 'fail' and 'asks the Unix password' in result['observed']
    no_lock = '\n'.join(line for line in mfa.pam_sshd(debian(12), True, USERSFILE, 5, 900).splitlines()
                        if 'faillock' not in line)
    assert controls.ssh_key_policy_keys_only(_probes(pam=no_lock), POLICY)['status'] == 'pass'
    result = controls.ssh_key_policy_mfa_lockout(_probes(pam=no_lock), POLICY)
    assert result['status'] == 'fail' and 'no pam_faillock preauth' in result['observed']
    result = controls.ssh_key_policy_mfa_lockout(_probes(pam=mfa.pam_sshd(debian(12), True, USERSFILE, 9, 900)), POLICY)
    assert result['status'] == 'fail' and 'is not deny=5 unlock_time=900' in result['observed']


def test_per_spec_reports_the_methods():
    text = '### user=mia,host=1.2.3.4,addr=1.2.3.4\nauthenticationmethods publickey,keyboard-interactive\n'
    assert sp.per_spec_drift(text, {})['methods'] == {'user=mia,host=1.2.3.4,addr=1.2.3.4': 'publickey,keyboard-interactive'}
