# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Issue 13 in the ssh_key_policy role: side channels, banner, connection limits and
post-quantum key exchange (pure functions of ssh_policy.py and their controls)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

import pytest

from ansible_collections.ephi.safeguards.plugins.module_utils import ssh_key_policy_controls as controls
from ansible_collections.ephi.safeguards.plugins.module_utils import ssh_policy as sp

# sshd -T as measured on Debian 13 (OpenSSH 10.0) with the policy applied.
NONE = {'disableforwarding': ['no'], 'allowtcpforwarding': ['no'], 'allowstreamlocalforwarding': ['no'],
        'allowagentforwarding': ['no'], 'x11forwarding': ['no'], 'permittunnel': ['no'], 'gatewayports': ['no']}
OPTED = dict(NONE, allowtcpforwarding=['local'], allowagentforwarding=['yes'], x11forwarding=['yes'])
GATED = dict(OPTED, disableforwarding=['yes'])


# ---------------------------------------------------------------- key exchange

Q92 = ('diffie-hellman-group14-sha256\ncurve25519-sha256\ncurve25519-sha256@libssh.org\nsntrup761x25519-sha512\n'
       'sntrup761x25519-sha512@openssh.com\n')
Q100 = Q92 + 'mlkem768x25519-sha256\n'
PQ = ['mlkem768x25519-sha256', 'sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com']


@pytest.mark.parametrize('configured,classical,supported,expected', [
    (PQ, [], Q100, PQ),
    (PQ, [], Q92, PQ[1:]),                                  # OpenSSH 9.2 has no ML-KEM
    (PQ, [], '', PQ),                                       # not read: kept, sshd -t decides
    (PQ[1:], ['curve25519-sha256'], Q92, PQ[1:] + ['curve25519-sha256']),
    (PQ[1:], [PQ[1]], Q92, PQ[1:]),                         # no duplicates
    (['mlkem768x25519-sha256'], [], Q92, []),
])
def test_kex_algorithms(configured, classical, supported, expected):
    assert sp.kex_algorithms(configured, classical, supported) == expected


def test_kex_problems_when_no_post_quantum_algorithm_is_left():
    assert sp.kex_problems(PQ[1:], []) == []
    assert sp.kex_problems([], []) and sp.kex_problems(['curve25519-sha256'], [])


def test_allow_lists_split_post_quantum_and_classical():
    assert sp.algorithm_problems(PQ, sp.PQ_KEX) == []
    assert 'curve25519-sha256 is not in the allow-list' in sp.algorithm_problems(['curve25519-sha256'], sp.PQ_KEX)[0]
    assert sp.algorithm_problems(list(sp.CLASSICAL_KEX), sp.CLASSICAL_KEX) == []
    assert sp.algorithm_problems(['ecdh-sha2-nistp256'], sp.CLASSICAL_KEX)


# ---------------------------------------------------------------- forwarding opt-ins

GOOD_GROUP = {'group': 'dba', 'forward': ['tcp-local'], 'reason': 'database tunnels'}


@pytest.mark.parametrize('groups,text', [
    ('dba', 'must be a list'),
    (['dba'], 'must be a mapping'),
    ([dict(GOOD_GROUP, group='db*')], 'not a plain group name'),
    ([dict(GOOD_GROUP, group='dba\nPermitRootLogin yes')], 'not a plain group name'),
    ([dict(GOOD_GROUP, group='a b')], 'not a plain group name'),
    ([GOOD_GROUP, GOOD_GROUP], 'listed twice'),
    ([dict(GOOD_GROUP, forward=[])], 'non-empty list'),
    ([dict(GOOD_GROUP, forward='tcp-local')], 'non-empty list'),
    ([dict(GOOD_GROUP, forward=['tunnel'])], "'tunnel' is not one of"),
    ([dict(GOOD_GROUP, reason='')], 'reason'),
    ([dict(GOOD_GROUP, reason='a\nMatch all')], 'reason'),
    ([{'group': 'dba', 'forward': ['x11']}], 'reason'),
    ([dict(GOOD_GROUP, extra=1)], 'unknown key'),
])
def test_bad_forwarding_groups(groups, text):
    problems = sp.forwarding_groups_problems(groups)
    assert problems and any(text in p for p in problems), problems


def test_good_forwarding_groups_and_their_blocks():
    groups = [GOOD_GROUP, {'group': 'ops', 'forward': ['tcp-local', 'tcp-remote', 'streamlocal-remote', 'agent', 'x11'],
                           'reason': '  jump   hosts '}]
    assert sp.forwarding_groups_problems(groups) == []
    assert sp.forwarding_blocks(groups) == [
        {'group': 'dba', 'reason': 'database tunnels', 'settings': [['AllowTcpForwarding', 'local']]},
        {'group': 'ops', 'reason': 'jump hosts', 'settings': [['AllowTcpForwarding', 'yes'], ['AllowStreamLocalForwarding', 'remote'],
                                                              ['AllowAgentForwarding', 'yes'], ['X11Forwarding', 'yes']]}]
    # Bad input never breaks the rendering (check_vars reports it first).
    assert sp.forwarding_blocks('dba') == [] and sp.forwarding_blocks(['x', {'group': 'g', 'forward': 'x11'}])[0]['settings'] == []


@pytest.mark.parametrize('effective,caps', [
    (NONE, []),
    (OPTED, ['tcp-local', 'agent', 'x11']),
    (GATED, []),                                             # DisableForwarding overrides (the session gate)
    (dict(NONE, allowtcpforwarding=['yes']), ['tcp-local', 'tcp-remote']),
    (dict(NONE, allowstreamlocalforwarding=['remote']), ['streamlocal-remote']),
    (dict(GATED, permittunnel=['point-to-point']), ['tunnel']),
    (dict(NONE, gatewayports=['clientspecified']), ['gatewayports']),
    (dict((k, v) for k, v in NONE.items() if k != 'x11forwarding'), None),
])
def test_forwarding_of(effective, caps):
    assert sp.forwarding_of(effective) == caps


def test_account_groups_from_getent():
    passwd = {'olga': ['x', '1001', '1001', '', '/home/olga', '/bin/bash'], 'carol': ['x', '1002', '1002', '', '/h', '/bin/sh']}
    group = {'olga': ['x', '1001', ''], 'carol': ['x', '1002', ''], 'fwd': ['x', '1003', 'olga,bob'], 'sudo': ['x', '27', 'carol']}
    assert sp.account_groups(passwd, group) == {'olga': ['fwd', 'olga'], 'carol': ['carol', 'sudo']}


def test_per_spec_reports_forwarding_per_account_over_every_address():
    def block(spec, effective):
        return '### %s\n' % spec + ''.join('%s %s\n' % (k, v[0]) for k, v in effective.items())
    text = (block('user=olga,host=127.0.0.1,addr=127.0.0.1', NONE) + block('user=olga,host=192.0.2.1,addr=192.0.2.1', OPTED)
            + block('user=carol,host=127.0.0.1,addr=127.0.0.1', NONE) + '### user=dave,host=127.0.0.1,addr=127.0.0.1\n!!! bad\n')
    assert sp.per_spec_drift(text, {})['forwarding'] == {'olga': ['agent', 'tcp-local', 'x11'], 'carol': [], 'dave': None}


# ---------------------------------------------------------------- banner and limits

@pytest.mark.parametrize('lines,text', [
    ('Authorized use only', 'list of lines'),
    ([], 'must not be empty'),
    (['', '  '], 'must not be empty'),
    (['Authorized use only \\l'], 'backslash'),
    (['a\nb'], 'not printable'),
    (['\x1b[2J'], 'not printable'),
    ([1], 'string'),
    (['x' * 5000], 'longer than'),
])
def test_bad_banner(lines, text):
    problems = sp.banner_problems(lines)
    assert problems and any(text in p for p in problems), problems


def test_banner_file_text():
    assert sp.banner_problems(['WARNING: AUTHORIZED USE ONLY.', '', 'Überwacht.']) == []
    assert sp.banner_file_text(['', 'A  ', '', 'B', '']) == 'A\n\nB\n'


@pytest.mark.parametrize('value,ok,normal', [
    ('10:30:60', True, '10:30:60'),
    ('5:50:20', True, '5:50:20'),
    (10, True, '10:100:10'),
    ('11:30:60', False, None),
    ('10:30:100', False, None),
    ('10:0:60', False, None),
    ('10:30', False, None),
    ('10:30:60\nPermitRootLogin yes', False, None),
    (True, False, None),
])
def test_max_startups(value, ok, normal):
    assert (sp.max_startups_problems(value) == []) is ok
    if ok:
        assert sp.max_startups_value(value) == normal


# ---------------------------------------------------------------- controls

def audit(**effective):
    base = {'allowtcpforwarding': ['no'], 'allowagentforwarding': ['no'], 'allowstreamlocalforwarding': ['no'],
            'x11forwarding': ['no'], 'permittunnel': ['no'], 'gatewayports': ['no'], 'permituserrc': ['no'],
            'permituserenvironment': ['no'], 'ignorerhosts': ['yes'], 'ignoreuserknownhosts': ['yes'],
            'hostbasedauthentication': ['no'], 'maxstartups': ['10:30:60'], 'maxsessions': ['10'], 'logingracetime': ['30'],
            'banner': ['/etc/issue.net'], 'kexalgorithms': ['mlkem768x25519-sha256,sntrup761x25519-sha512']}
    base.update(effective)
    return {'changed': False, 'sshd_effective': base, 'sshd_drift': []}


BANNER = ['Authorized use only.']
SUM = hashlib.sha256(b'Authorized use only.\n').hexdigest()
BANNER_FILES = {'rc': 0, 'stdout': '%s  /etc/issue\n%s  /etc/issue.net' % (SUM, SUM), 'stderr': ''}
POLICY = {'forwarding_groups': [{'group': 'fwd', 'forward': ['tcp-local', 'agent', 'x11'], 'reason': 'tests'}],
          'banner_text': BANNER, 'kex_classical_algorithms': [], 'max_sessions': 10, 'max_startups': '10:30:60',
          'login_grace_time': 30}


def probes(forwarding=None, **extra):
    out = {'ssh_key_audit': audit(), 'banner_files': BANNER_FILES,
           'sshd_per_spec': {'drift': [], 'errors': [], 'specs': 6,
                             'forwarding': {'olga': ['agent', 'tcp-local', 'x11'], 'carol': [], 'gated': []}
                             if forwarding is None else forwarding},
           'account_groups': {'olga': ['fwd', 'olga'], 'carol': ['carol'], 'gated': ['fwd']}}
    out.update(extra)
    return out


def test_side_channels_pass_and_list_who_can_forward():
    rec = controls.ssh_key_policy_side_channels(probes(), POLICY)
    assert rec['status'] == 'pass', rec
    assert 'olga: agent, tcp-local, x11 (opted in through fwd)' in rec['observed']
    assert 'gated: nothing although opted in through fwd' in rec['observed']
    assert 'fwd may forward tcp-local, agent, x11 (tests)' in rec['check']


@pytest.mark.parametrize('changes,text', [
    ({'forwarding': {'carol': ['tcp-local']}}, 'carol can forward tcp-local'),
    ({'forwarding': {'olga': ['tcp-local', 'tcp-remote']}}, 'olga can forward tcp-remote'),
    ({'forwarding': {'olga': None}}, 'NOT examined: the forwarding of olga'),
    ({'forwarding': {}}, 'NOT examined'),
    ({'account_groups': None}, "NOT examined: the accounts' groups"),
    ({'sshd_per_spec': None}, 'NOT examined'),
    ({'ssh_key_audit': {'failed': True, 'msg': 'sshd -T failed'}}, 'sshd -T failed'),
    ({'ssh_key_audit': dict(audit(), sshd_drift=[{'setting': 'X11Forwarding', 'wanted': 'no', 'found': 'yes'}])},
     'X11Forwarding is yes'),
])
def test_side_channels_fail(changes, text):
    forwarding = changes.pop('forwarding', None)
    rec = controls.ssh_key_policy_side_channels(probes(forwarding, **changes), POLICY)
    assert rec['status'] == 'fail' and text in rec['observed'], rec


def test_connection_limits():
    assert controls.ssh_key_policy_connection_limits(probes(), POLICY)['status'] == 'pass'
    drifted = probes(ssh_key_audit=dict(audit(), sshd_drift=[{'setting': 'MaxSessions', 'wanted': '10', 'found': '64'}]))
    assert controls.ssh_key_policy_connection_limits(drifted, POLICY)['status'] == 'fail'
    assert controls.ssh_key_policy_connection_limits({}, POLICY)['status'] == 'fail'


@pytest.mark.parametrize('changes,policy,text', [
    ({'banner_files': dict(BANNER_FILES, stdout=BANNER_FILES['stdout'].replace(SUM, '0' * 64, 1))}, POLICY,
     'not the configured text: /etc/issue'),
    ({'banner_files': {'rc': 1, 'stdout': '%s  /etc/issue' % SUM, 'stderr': 'sha256sum: /etc/issue.net: No such file'}}, POLICY,
     'could not read /etc/issue.net'),
    ({'banner_files': {'skipped': True}}, POLICY, 'were not read'),
    ({}, dict(POLICY, banner_text=[]), 'no banner text'),
    ({'ssh_key_audit': dict(audit(), sshd_drift=[{'setting': 'Banner', 'wanted': '/etc/issue.net', 'found': 'none'}])}, POLICY,
     'Banner is none'),
])
def test_banner_fails(changes, policy, text):
    rec = controls.ssh_key_policy_banner(probes(**changes), policy)
    assert rec['status'] == 'fail' and text in rec['observed'], rec


def test_banner_passes():
    rec = controls.ssh_key_policy_banner(probes(), POLICY)
    assert rec['status'] == 'pass' and 'hold the configured text' in rec['observed'], rec


def host_probe(issue=SUM, issue_net=SUM, **result):
    """verify.yml's host_probe result: each banner file with its sha256 (None: missing, a link)."""
    paths = {}
    for path, digest in (('/etc/issue', issue), ('/etc/issue.net', issue_net)):
        paths[path] = {'exists': True, 'type': 'file', 'checksum': digest} if digest else {'exists': True, 'type': 'link'}
    return dict({'changed': False, 'paths': paths}, **result)


@pytest.mark.parametrize('probe,status,text', [
    (host_probe(), 'pass', 'hold the configured text'),
    (host_probe(issue='0' * 64), 'fail', 'not the configured text: /etc/issue'),
    (host_probe(issue_net=None), 'fail', 'NOT examined: could not read /etc/issue.net (missing, or not a regular file)'),
    (host_probe(failed=True, msg='Permission denied'), 'fail', 'NOT examined: the banner files were not read'),
    ({'changed': False, 'paths': {}}, 'fail', 'could not read /etc/issue, /etc/issue.net'),
])
def test_banner_from_the_host_probe(probe, status, text):
    rec = controls.ssh_key_policy_banner(probes(banner_files=probe), POLICY)
    assert rec['status'] == status and text in rec['observed'], rec


@pytest.mark.parametrize('kex,classical,status,text', [
    ('mlkem768x25519-sha256,sntrup761x25519-sha512', [], 'pass', 'sshd -T kexalgorithms mlkem768x25519-sha256'),
    ('sntrup761x25519-sha512@openssh.com,curve25519-sha256', [], 'fail', 'not post-quantum and not declared'),
    ('sntrup761x25519-sha512@openssh.com,curve25519-sha256', ['curve25519-sha256'], 'pass', 'curve25519'),
    ('curve25519-sha256', ['curve25519-sha256'], 'fail', 'no post-quantum algorithm'),
])
def test_post_quantum_kex(kex, classical, status, text):
    rec = controls.ssh_key_policy_post_quantum_kex(probes(ssh_key_audit=audit(kexalgorithms=[kex])),
                                                   dict(POLICY, kex_classical_algorithms=classical))
    assert rec['status'] == status and text in rec['observed'] + rec['check'], rec


def test_post_quantum_kex_could_not_examine():
    assert controls.ssh_key_policy_post_quantum_kex({}, POLICY)['status'] == 'fail'
    assert controls.ssh_key_policy_post_quantum_kex(probes(ssh_key_audit=audit(kexalgorithms=[])), POLICY)['status'] == 'fail'
