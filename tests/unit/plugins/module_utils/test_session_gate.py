# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The session gate audit's judgments (module_utils/session_gate.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ephi.safeguards.plugins.module_utils import session_gate as sg

GATE = '/usr/local/lib/ephi-safeguards/ephi-session-gate'
DEBIAN_BASHRC_HEAD = '''# System-wide .bashrc file for interactive bash(1) shells.

# If not running interactively, don't do anything
[ -z "$PS1" ] && return
'''
BASH_HOOK = '''# BEGIN ephi.safeguards:tmux session gate (managed by Ansible, keep first)
if [ -n "${SSH_CONNECTION:-}" ] && [ "${BASH_EXECUTION_STRING:-}" = "%s" ]; then
    exec "%s"
fi
# END ephi.safeguards:tmux session gate (managed by Ansible, keep first)
''' % (GATE, GATE)
ONE_LINE_HOOK = ('[ -n "$SSH_CONNECTION" ] && [ "$ZSH_EXECUTION_STRING" = %s ] && exec %s\n' % (GATE, GATE))


@pytest.mark.parametrize('shell, kind', [
    ('/bin/bash', 'bash'), ('/usr/bin/rbash', 'bash'), ('/bin/sh', 'sh'), ('', 'sh'), ('/usr/bin/dash', 'sh'),
    ('/usr/bin/zsh', 'zsh'), ('/usr/bin/fish', 'unsupported'), ('/bin/tcsh', 'unsupported'),
    ('/usr/bin/screen', 'unsupported'), ('/usr/bin/tmux', 'unsupported')])
def test_shell_kind(shell, kind):
    assert sg.shell_kind(shell) == kind


def test_login_capable():
    no_login = ['nologin', 'false']
    assert not sg.login_capable('/usr/sbin/nologin', no_login)
    assert not sg.login_capable('/bin/false', no_login)
    assert sg.login_capable('/bin/bash', no_login)
    assert sg.login_capable('', no_login)


def test_parse_sshd_t_first_value_wins():
    out = 'port 22\nforcecommand %s\npermituserrc no\nforcecommand other\nbanner none\nempty\n' % GATE
    values = sg.parse_sshd_t(out)
    assert values['forcecommand'] == GATE
    assert values['permituserrc'] == 'no'
    assert values['empty'] == ''
    assert sg.parse_sshd_t(None) == {}


@pytest.mark.parametrize('account, problems', [
    ({'forcecommand': GATE, 'permituserrc': 'no', 'kind': 'bash'}, []),
    ({'forcecommand': GATE, 'permituserrc': 'no', 'kind': 'sh'}, []),
    ({'forcecommand': None, 'permituserrc': 'yes', 'kind': 'bash'}, ['forcecommand none', 'permituserrc yes']),
    ({'forcecommand': GATE + ' -x', 'permituserrc': 'no', 'kind': 'bash'}, ['forcecommand %s -x' % GATE]),
    ({'forcecommand': GATE, 'permituserrc': None, 'kind': 'unsupported', 'shell': '/usr/bin/fish'},
     ['permituserrc unknown', 'unsupported shell /usr/bin/fish']),
])
def test_account_problems(account, problems):
    assert sg.account_problems(account, GATE) == problems


@pytest.mark.parametrize('content, shell, problem', [
    (BASH_HOOK + DEBIAN_BASHRC_HEAD, 'bash', None),
    ('\n' + ONE_LINE_HOOK + DEBIAN_BASHRC_HEAD, 'zsh', None),
    (ONE_LINE_HOOK.replace('exec %s' % GATE, "exec '%s'" % GATE), 'zsh', None),
    (DEBIAN_BASHRC_HEAD, 'bash', 'no line execs %s' % GATE),
    (DEBIAN_BASHRC_HEAD + BASH_HOOK, 'bash', 'the hook is not the first code: line 4 comes before it'),
    ('# only a comment\n', 'bash', 'no hook: the file has no code'),
    ('', 'zsh', 'no hook: the file has no code'),
    ('# exec %s\n[ -z "$PS1" ] && return\n' % GATE, 'bash', 'no line execs %s' % GATE),
    (ONE_LINE_HOOK, 'bash', 'the hook does not test BASH_EXECUTION_STRING'),
    ('[ "$BASH_EXECUTION_STRING" = %s ] && exec %s\n' % (GATE, GATE), 'bash', 'the hook does not test SSH_CONNECTION'),
    ('exec %s.old\n' % GATE, 'bash', 'no line execs %s' % GATE),
    ('if [ -n "$SSH_CONNECTION" ]\nthen\n  [ "$BASH_EXECUTION_STRING" = %s ] && exec %s\nfi\n' % (GATE, GATE),
     'bash', None),
    ('echo hi\n[ -n "$SSH_CONNECTION" ] && [ "$BASH_EXECUTION_STRING" = %s ] && exec %s\n' % (GATE, GATE),
     'bash', 'the hook is not the first code: line 1 comes before it'),
    ('if [ -n "$SSH_CONNECTION" ]; then\n' + 'if [ -n "$SSH_CONNECTION" ]; then\n' * 6
     + '[ "$BASH_EXECUTION_STRING" = %s ] && exec %s\n' % (GATE, GATE),
     'bash', 'the hook is not the first code: it spans more than 6 lines'),
])
def test_hook_problem(content, shell, problem):
    assert sg.hook_problem(content, GATE, shell) == problem


def test_unsafe_path():
    chain = [{'path': GATE, 'uid': 0, 'mode': 0o100755}, {'path': '/usr/local/lib', 'uid': 0, 'mode': 0o40755}]
    assert sg.unsafe_path(chain) == []
    assert sg.unsafe_path([{'path': GATE, 'uid': 1000, 'mode': 0o100775}]) == [
        '%s owned by uid 1000' % GATE, '%s mode 0775 writable by group or others' % GATE]
    assert sg.unsafe_path([{'path': '/tmp', 'uid': 0, 'mode': 0o41777}]) == [
        '/tmp mode 1777 writable by group or others']
    assert sg.unsafe_path([{'path': '/x', 'error': 'No such file or directory'}]) == ['/x: No such file or directory']
    assert sg.unsafe_path([{'path': '/x', 'uid': 0}]) == ['/x mode None writable by group or others']


MOUNTINFO = '''22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:35 / /var/log/ephi rw,nosuid,nodev,relatime shared:20 - fuse.gocryptfs /var/lib/ephi/cipher rw,user_id=0
41 22 0:36 / /srv/with\\040space rw - tmpfs tmpfs rw
42 22 253:1 / /data rw - ext4 /dev/mapper/data rw
'''


def test_mount_at():
    assert sg.mount_at(MOUNTINFO, '/var/log/ephi') == ('fuse.gocryptfs', '/var/lib/ephi/cipher', '0:35')
    assert sg.mount_at(MOUNTINFO, '/var/log/ephi/') == ('fuse.gocryptfs', '/var/lib/ephi/cipher', '0:35')
    assert sg.mount_at(MOUNTINFO, '/srv/with space') == ('tmpfs', 'tmpfs', '0:36')
    assert sg.mount_at(MOUNTINFO, '/var/log') is None
    # The last mount on a path is the one in effect.
    over = MOUNTINFO + '50 40 0:40 / /var/log/ephi rw - tmpfs tmpfs rw\n'
    assert sg.mount_at(over, '/var/log/ephi') == ('tmpfs', 'tmpfs', '0:40')
    assert sg.mount_at('garbage\n\n1 2 3\n', '/') is None


def test_parse_show_and_unit_problem():
    state = sg.parse_show('LoadState=loaded\nActiveState=active\nSubState=listening\n'
                          'Listen=/run/ephi-session.sock (Stream)\n')
    assert sg.unit_problem(state, ('listening',), '/run/ephi-session.sock') is None
    assert sg.unit_problem(state, ('listening',), '/run/other.sock') == (
        'active but not listening on /run/other.sock (Listen=/run/ephi-session.sock (Stream))')
    assert sg.unit_problem(dict(state, ActiveState='failed', SubState='failed'), ('listening',)) == 'failed (failed)'
    assert sg.unit_problem(dict(state, LoadState='not-found'), ('listening',)) == 'not-found'
    assert sg.unit_problem({}, ('running',)) == 'no state'
    assert sg.unit_problem(None, ('running',)) == 'no state'


def audit():
    return {
        'gate': {'path': GATE, 'error': None, 'chain': [{'path': GATE, 'uid': 0, 'mode': 0o100755}]},
        'accounts': [
            {'name': 'erin', 'uid': 1001, 'shell': '/bin/bash', 'kind': 'bash', 'exempt': False,
             'forcecommand': GATE, 'permituserrc': 'no', 'error': None},
            {'name': 'glass', 'uid': 1002, 'shell': '/usr/bin/fish', 'kind': 'unsupported', 'exempt': True,
             'forcecommand': None, 'permituserrc': 'yes', 'error': None}],
        'hooks': [{'shell': 'bash', 'path': '/etc/bash.bashrc', 'required': True, 'problem': None, 'error': None},
                  {'shell': 'zsh', 'path': '/etc/zsh/zshenv', 'required': False, 'problem': 'missing', 'error': None}],
        'unsupported_listed_shells': [],
        'recorder': {'socket_unit': 's.socket', 'service_unit': 'r.service',
                     'socket': {'LoadState': 'loaded', 'ActiveState': 'active', 'SubState': 'listening',
                                'Listen': '/run/ephi-session.sock (Stream)'},
                     'service': {'LoadState': 'loaded', 'ActiveState': 'active', 'SubState': 'running'}},
        'config': {'path': '/etc/ephi-session.json', 'error': None, 'uid': 0, 'mode': 0o100644,
                   'socket': '/run/ephi-session.sock', 'dir': '/var/log/ephi', 'idle_logoff': 1800},
        'store': {'dir': '/var/log/ephi', 'fstype': 'fuse.gocryptfs', 'encrypted': True, 'error': None},
    }


def test_gate_verdict():
    # The exempt account's shell and forcecommand do not matter; an unrequired hook neither.
    assert sg.gate_verdict(audit()) == ([], [])
    a = audit()
    a['gate']['error'] = 'missing or not a regular file'
    a['gate']['chain'] = [{'path': GATE, 'error': 'No such file or directory'},
                          {'path': '/usr/local/lib', 'uid': 0, 'mode': 0o40777}]
    assert sg.gate_verdict(a) == (['gate program %s missing or not a regular file' % GATE,
                                   'gate program: /usr/local/lib mode 0777 writable by group or others'], [])
    assert sg.gate_verdict({}) == ([], ['no session_gate_audit result'])
    assert sg.gate_verdict({'gate': {}}) == ([], ['the audit names no gate program'])
    a = audit()
    a['accounts'][0]['error'] = 'sshd not found'
    assert sg.gate_verdict(a) == ([], ['erin: sshd not found'])


def test_recorder_verdict():
    assert sg.recorder_verdict(audit()) == ([], [])
    a = audit()
    a['store'].update(encrypted=False, fstype=None)
    a['recorder']['service'] = {'LoadState': 'loaded', 'ActiveState': 'inactive', 'SubState': 'dead'}
    assert sg.recorder_verdict(a) == (['r.service inactive (dead)',
                                       'directory /var/log/ephi is NOT the mounted encrypted file system '
                                       '(not a mount point)'], [])
    a = audit()
    a['config'] = {'path': '/etc/ephi-session.json', 'error': 'cannot read: gone'}
    a['store'] = {'dir': None, 'error': 'configuration not read'}
    problems, unexamined = sg.recorder_verdict(a)
    assert unexamined == ['configuration /etc/ephi-session.json: cannot read: gone']
    # Without the configuration the socket path is unknown: only the unit state is judged.
    assert problems == []
    assert sg.recorder_verdict(None) == ([], ['no session_gate_audit result'])


GATED = {'forcecommand': GATE, 'permituserrc': 'no', 'disableforwarding': 'yes'}


@pytest.mark.parametrize('values, exempt, problems', [
    (GATED, False, []),
    (dict(GATED, permituserrc='No', disableforwarding='YES'), False, []),
    (dict(GATED, forcecommand='none'), False, ['forcecommand none']),
    (dict(GATED, forcecommand=''), False, ['forcecommand none']),
    (dict(GATED, forcecommand='/usr/bin/other'), False, ['forcecommand /usr/bin/other']),
    (dict(GATED, forcecommand=GATE + ' -x'), False, ['forcecommand %s -x' % GATE]),
    (dict(GATED, permituserrc='yes'), False, ['permituserrc yes']),
    (dict(GATED, disableforwarding='no'), False, ['disableforwarding no']),
    ({'forcecommand': GATE}, False, ['permituserrc unknown', 'disableforwarding unknown']),
    ({}, False, ['forcecommand none', 'permituserrc unknown', 'disableforwarding unknown']),
    (None, False, ['forcecommand none', 'permituserrc unknown', 'disableforwarding unknown']),
    # An exempt account must not get the gate; the rest of its configuration is the site's.
    ({'forcecommand': 'none', 'permituserrc': 'yes', 'disableforwarding': 'no'}, True, []),
    ({'forcecommand': 'none', 'permituserrc': 'no', 'disableforwarding': 'yes'}, True, []),
    ({'forcecommand': '/usr/bin/other'}, True, []),
    (GATED, True, ['forcecommand %s although exempt' % GATE]),
])
def test_sshd_problems(values, exempt, problems):
    assert sg.sshd_problems(values, GATE, exempt) == problems


@pytest.mark.parametrize('checked, verdict, offending, message', [
    ([{'name': 'ansible', 'problems': [], 'error': None},
      {'name': 'ephi-gate-probe-no-such-user', 'problems': [], 'error': None}],
     'pass', [], 'sshd check passed: ansible, ephi-gate-probe-no-such-user'),
    ([{'name': 'glass', 'problems': ['forcecommand %s although exempt' % GATE], 'error': None},
      {'name': 'ansible', 'problems': [], 'error': None},
      {'name': 'probe', 'problems': ['forcecommand none', 'permituserrc yes'], 'error': None}],
     'fail', ['glass', 'probe'],
     'sshd check FAILED: glass (forcecommand %s although exempt); probe (forcecommand none, permituserrc yes)'
     % GATE),
    # sshd could not answer: nothing is proved for that name.
    ([{'name': 'ansible', 'problems': [], 'error': 'sshd -T failed (rc 255): bad option'}],
     'fail', ['ansible'], 'sshd check FAILED: ansible (sshd -T failed (rc 255): bad option)'),
    ([], 'fail', [], 'sshd check: no account was checked'),
    (None, 'fail', [], 'sshd check: no account was checked'),
    (['junk'], 'fail', [], 'sshd check: no account was checked'),
])
def test_sshd_check_verdict(checked, verdict, offending, message):
    assert sg.sshd_check_verdict(checked) == (verdict, offending, message)


@pytest.mark.parametrize('user, config, argv', [
    ('erin', None, ['/usr/sbin/sshd', '-T', '-C', 'user=erin,host=localhost,addr=127.0.0.1']),
    ('erin', '/run/x/candidate.conf',
     ['/usr/sbin/sshd', '-T', '-f', '/run/x/candidate.conf', '-C', 'user=erin,host=localhost,addr=127.0.0.1']),
])
def test_sshd_t_argv(user, config, argv):
    assert sg.sshd_t_argv('/usr/sbin/sshd', user, config) == argv


@pytest.mark.parametrize('user', ['', 'a,user=root', 'a b', 'a=b', 'a\tb'])
def test_sshd_t_argv_refuses_a_name_that_would_change_the_specification(user):
    with pytest.raises(ValueError):
        sg.sshd_t_argv('/usr/sbin/sshd', user)


def sshd_t_output(values):
    return ''.join('%s %s\n' % item for item in sorted(values.items()))


def answer(user, values=None, rc=0, stderr=''):
    """host_probe's answer to sshd_t_argv('/usr/sbin/sshd', USER) (rc None: no such program)."""
    return {'argv': sg.sshd_t_argv('/usr/sbin/sshd', user), 'rc': rc,
            'stdout': sshd_t_output(values) if values else '', 'stderr': stderr}


def test_sshd_check_argvs_asks_each_nameable_account_once():
    assert sg.sshd_check_argvs('/usr/sbin/sshd', ['glass', 'ansible', 'glass', 'a b']) == [
        sg.sshd_t_argv('/usr/sbin/sshd', 'glass'), sg.sshd_t_argv('/usr/sbin/sshd', 'ansible')]


def test_sshd_check_of_probe_is_the_module_check_of_the_same_answers():
    commands = [answer('glass', {'forcecommand': 'none', 'permituserrc': 'yes', 'disableforwarding': 'no'}),
                answer('ansible', GATED), answer('probe', GATED)]
    check = sg.sshd_check_of_probe(commands, '/usr/sbin/sshd', ['glass', 'ansible', 'probe'], ['glass'], GATE)
    assert (check['verdict'], check['offending'], check['config']) == ('pass', [], None)
    assert [(item['name'], item['exempt'], item['forcecommand']) for item in check['accounts']] == [
        ('glass', True, None), ('ansible', False, GATE), ('probe', False, GATE)]


@pytest.mark.parametrize('commands, message', [
    # Another drop-in read first gives the probe account another ForceCommand.
    ([answer('ansible', GATED), answer('probe', dict(GATED, forcecommand='/bin/true'))],
     'sshd check FAILED: probe (forcecommand /bin/true)'),
    # The probe was not asked about one account, sshd was missing, or failed.
    ([answer('ansible', GATED)], 'sshd check FAILED: probe (sshd -T was not asked for probe)'),
    ([answer('ansible', GATED), answer('probe', rc=None)], 'sshd check FAILED: probe (sshd not found)'),
    ([answer('ansible', GATED), answer('probe', rc=255, stderr='Bad configuration option: X\n')],
     'sshd check FAILED: probe (sshd -T failed (rc 255): Bad configuration option: X)'),
    # An answer without ForceCommand is no answer (sshd -T always prints it).
    ([answer('ansible', GATED), answer('probe', {'permituserrc': 'no'})],
     'sshd check FAILED: probe (sshd -T failed (rc 0): permituserrc no)'),
])
def test_sshd_check_of_probe_fails_what_it_cannot_prove(commands, message):
    check = sg.sshd_check_of_probe(commands, '/usr/sbin/sshd', ['ansible', 'probe'], [], GATE)
    assert (check['verdict'], check['offending'], check['message']) == ('fail', ['probe'], message)


def test_sshd_check_of_probe_fails_a_name_sshd_cannot_be_asked_about():
    check = sg.sshd_check_of_probe([], '/usr/sbin/sshd', ['a,user=root'], [], GATE)
    assert check['verdict'] == 'fail' and 'cannot be named in a -C connection specification' in check['message']
