# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""main() of ephi.safeguards.session_gate_audit on a fake host in a temporary
directory: passwd, sshd -T and systemctl mocked, the files real."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import json
import os

import pytest

from ansible.module_utils import basic

from ansible_collections.ephi.safeguards.plugins.module_utils.session_gate import gate_verdict
from ansible_collections.ephi.safeguards.plugins.module_utils import probe_run
from ansible_collections.ephi.safeguards.plugins.modules import session_gate_audit as mod
from ansible_collections.ephi.safeguards.tests.unit.plugins.module_utils.test_audit_chain import make
from ansible_collections.ephi.safeguards.tests.unit.plugins.modules.test_audit_chain_verify import event
from ansible_collections.ephi.safeguards.tests.unit.plugins.modules.utils import patch_exit_fail, run_main

Pw = collections.namedtuple('Pw', 'pw_name pw_passwd pw_uid pw_gid pw_gecos pw_dir pw_shell')
SSHD = '/usr/sbin/sshd'
SYSTEMCTL = '/usr/bin/systemctl'
JOURNALCTL = '/usr/bin/journalctl'
SOCKET_SHOW = 'LoadState=loaded\nActiveState=active\nSubState=listening\nListen=/run/ephi-session.sock (Stream)\n'
SERVICE_SHOW = 'LoadState=loaded\nActiveState=active\nSubState=running\nListen=\n'


class Host(object):
    """A fake host: its files under tmp_path, its accounts, sshd's answers per user."""

    def __init__(self, tmp_path, monkeypatch):
        self.root = tmp_path
        self.calls = []
        self.gate = self.path('usr/local/lib/ephi-safeguards/ephi-session-gate')
        self.bin = self.path('usr/bin')
        os.makedirs(self.bin)
        os.makedirs(os.path.dirname(self.gate))
        self.write(self.gate, '#!/usr/bin/python3\n', 0o755)
        self.gate_module = self.path('usr/local/lib/ephi-safeguards/ephi_session_gate.py')
        self.write(self.gate_module, 'def main():\n    return 0\n')
        for shell in ('bash', 'sh', 'dash'):
            self.write(os.path.join(self.bin, shell), '', 0o755)
        self.bash_rc = self.path('etc/bash.bashrc')
        self.zsh_env = self.path('etc/zsh/zshenv')
        self.shells = self.path('etc/shells')
        self.config = self.path('etc/ephi-session.json')
        self.mountinfo = self.path('proc/self/mountinfo')
        self.write(self.bash_rc, '# BEGIN gate\n[ -n "$SSH_CONNECTION" ] && [ "$BASH_EXECUTION_STRING" = %s ] && exec %s\n'
                   '# END gate\n[ -z "$PS1" ] && return\n' % (self.gate, self.gate))
        self.write(self.shells, '# /etc/shells\n%s/sh\n%s/bash\n%s/dash\n' % (self.bin, self.bin, self.bin))
        self.write(self.config, json.dumps({'dir': '/var/log/ephi', 'socket': '/run/ephi-session.sock',
                                            'fstypes': ['fuse.gocryptfs'], 'allow_fscrypt': False,
                                            'idle_logoff': 1800, 'unrecordable': 'refuse'}))
        self.write(self.mountinfo, '22 1 8:1 / / rw - ext4 /dev/sda1 rw\n'
                   '40 22 0:35 / /var/log/ephi rw - fuse.gocryptfs /var/lib/ephi/cipher rw\n')
        self.accounts = [Pw('root', 'x', 0, 0, '', '/root', '/bin/bash'),
                         Pw('daemon', 'x', 1, 1, '', '/', '/usr/sbin/nologin'),
                         Pw('erin', 'x', 1001, 1001, '', '/home/erin', '/bin/sh'),
                         Pw('glass', 'x', 1002, 1002, '', '/home/glass', '/bin/bash'),
                         Pw('erin', 'x', 1001, 1001, '', '/home/erin', '/bin/sh')]
        self.sshd = {}
        self.show = {'ephi-session.socket': (0, SOCKET_SHOW, ''),
                     'ephi-session-recorder.service': (0, SERVICE_SHOW, '')}
        self.owner = {}
        self.bins = {'sshd': SSHD, 'systemctl': SYSTEMCTL, 'journalctl': JOURNALCTL}
        self.journal = []   # journalctl's JSON lines (the chain check)
        monkeypatch.setattr(mod.pwd, 'getpwall', lambda: list(self.accounts))
        monkeypatch.setattr(mod, 'SHELL_DIRS', (self.bin,))
        monkeypatch.setattr(mod, 'MOUNTINFO', self.mountinfo)
        monkeypatch.setattr(mod, 'DM_UUID', self.path('sys/dev/block/%s/dm/uuid'))
        real_stat = os.stat

        def fake_stat(path, *args, **kwargs):
            # The temporary files are the test user's: they are root's here
            # unless the test gave them another owner.
            st = list(real_stat(path, *args, **kwargs))
            st[4] = self.owner.get(str(path), 0)
            return os.stat_result(st)

        monkeypatch.setattr(mod.os, 'stat', fake_stat)
        monkeypatch.setattr(basic.AnsibleModule, 'run_command', lambda module, args, **kw: self.run_command(args))
        monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                            lambda module, name, *a, **kw: self.bins.get(name))

    def path(self, rel):
        return str(self.root / rel)

    def write(self, path, content, mode=0o644):
        if not os.path.isdir(os.path.dirname(path)):
            os.makedirs(os.path.dirname(path))
        with open(path, 'w') as fh:
            fh.write(content)
        os.chmod(path, mode)

    def run_command(self, args):
        self.calls.append(list(args))
        if args[0] == SSHD:
            user = args[args.index('-C') + 1].split(',')[0].split('=', 1)[1]
            if user in self.sshd:
                return self.sshd[user]
            gated = user != 'glass'
            return 0, 'port 22\npermituserrc %s\ndisableforwarding %s\nforcecommand %s\n' % (
                'no' if gated else 'yes', 'yes' if gated else 'no', self.gate if gated else 'none'), ''
        if args[0] == SYSTEMCTL:
            return self.show[args[-1]]
        if args[0] == JOURNALCTL:
            return 0, ''.join(line + '\n' for line in self.journal), ''
        raise AssertionError('unexpected command %r' % (args,))

    def args(self, **extra):
        args = dict(gate=self.gate, gate_module=self.gate_module, config=self.config, exempt_users=['glass', 'ghost'],
                    bash_rc=self.bash_rc, zsh_env=self.zsh_env, shells_file=self.shells)
        args.update(extra)
        return args


@pytest.fixture
def host(tmp_path, monkeypatch):
    patch_exit_fail(monkeypatch)
    return Host(tmp_path, monkeypatch)


@pytest.mark.parametrize('check', [False, True])
def test_a_gated_host(host, check):
    result = run_main(mod.main, host.args(), check)
    assert not result.get('failed') and result['changed'] is False
    assert [a['name'] for a in result['accounts']] == ['erin', 'glass', 'root']
    erin, glass, root = result['accounts']
    assert erin == {'name': 'erin', 'uid': 1001, 'shell': '/bin/sh', 'kind': 'sh', 'exempt': False,
                    'forcecommand': host.gate, 'permituserrc': 'no', 'error': None}
    assert glass['exempt'] and glass['forcecommand'] is None and glass['permituserrc'] == 'yes'
    assert root['kind'] == 'bash' and root['forcecommand'] == host.gate
    assert result['accounts_error'] is None
    assert result['exempt_not_local'] == ['ghost']
    assert result['hooks'] == [
        {'shell': 'bash', 'path': host.bash_rc, 'required': True, 'problem': None, 'error': None},
        {'shell': 'zsh', 'path': host.zsh_env, 'required': False, 'problem': None, 'error': None}]
    assert result['unsupported_listed_shells'] == [] and result['shells_error'] is None
    assert result['gate']['error'] is None and result['gate']['chain'][0] == {
        'path': host.gate, 'uid': 0, 'mode': os.lstat(host.gate).st_mode}
    assert [item['path'] for item in result['gate']['chain']][-2:] == ['/', host.gate_module]
    assert result['recorder']['socket']['SubState'] == 'listening'
    assert result['recorder']['service_error'] is None
    assert result['config']['idle_logoff'] == 1800 and result['config']['error'] is None
    assert result['store'] == {'dir': '/var/log/ephi', 'fstype': 'fuse.gocryptfs', 'encrypted': True, 'error': None}
    assert [SSHD, '-T', '-C', 'user=root,host=localhost,addr=127.0.0.1'] in host.calls
    assert [SYSTEMCTL, 'show', '-p', 'LoadState,ActiveState,SubState,Listen', 'ephi-session.socket'] in host.calls
    # Nobody with a no-login shell is asked about, and every account once.
    assert len([c for c in host.calls if c[0] == SSHD]) == 3


def test_sshd_cannot_say(host):
    host.sshd['erin'] = (255, '', '/etc/ssh/sshd_config line 3: Bad configuration option: Foo\n')
    host.sshd['root'] = (0, '', '')
    accounts = dict((a['name'], a) for a in run_main(mod.main, host.args())['accounts'])
    assert accounts['erin']['error'] == ('sshd -T failed (rc 255): /etc/ssh/sshd_config line 3: '
                                         'Bad configuration option: Foo')
    assert accounts['root']['error'] == 'sshd -T failed (rc 0): no output'
    assert accounts['glass']['error'] is None


def test_no_sshd(host):
    host.bins['sshd'] = None
    result = run_main(mod.main, host.args())
    assert set(a['error'] for a in result['accounts']) == {'sshd not found'}


def test_passwd_unreadable(host, monkeypatch):
    def fail():
        raise KeyError('nss')
    monkeypatch.setattr(mod.pwd, 'getpwall', fail)
    result = run_main(mod.main, host.args())
    assert result['accounts'] == [] and result['accounts_error'].startswith('cannot read the passwd database')


def test_hooks(host):
    # zsh installed: its hook is required; the bash hook after Debian's return is too late.
    host.write(os.path.join(host.bin, 'zsh'), '', 0o755)
    host.write(host.bash_rc, '[ -z "$PS1" ] && return\n[ -n "$SSH_CONNECTION" ] && '
               '[ "$BASH_EXECUTION_STRING" = %s ] && exec %s\n' % (host.gate, host.gate))
    hooks = run_main(mod.main, host.args())['hooks']
    assert hooks[0]['problem'] == 'the hook is not the first code: line 1 comes before it'
    assert hooks[1] == {'shell': 'zsh', 'path': host.zsh_env, 'required': True,
                        'problem': 'missing (No such file or directory)', 'error': None}


def test_a_hook_file_a_user_could_change_is_not_read(host):
    host.owner[host.bash_rc] = 1001
    hooks = run_main(mod.main, host.args())['hooks']
    assert hooks[0]['problem'] == 'owned by uid 1001, mode 0644: not root-owned and protected'
    os.chmod(host.bash_rc, 0o666)
    host.owner.pop(host.bash_rc)
    hooks = run_main(mod.main, host.args())['hooks']
    assert hooks[0]['problem'] == 'owned by uid 0, mode 0666: not root-owned and protected'


def test_a_gated_zsh_user_needs_the_zsh_hook_even_without_zsh_in_the_dirs(host):
    host.accounts.append(Pw('zed', 'x', 1003, 1003, '', '/home/zed', '/usr/bin/zsh'))
    result = run_main(mod.main, host.args())
    assert result['hooks'][1]['required'] and result['hooks'][1]['problem'].startswith('missing')


def test_unsupported_shells(host):
    for shell in ('fish', 'screen'):
        host.write(os.path.join(host.bin, shell), '', 0o755)
    with open(host.shells, 'a') as fh:
        fh.write('%s/fish\n%s/screen\n/usr/bin/not-installed\n%s/fish\n/usr/sbin/nologin\n' % (
            host.bin, host.bin, host.bin))
    host.accounts.append(Pw('fred', 'x', 1004, 1004, '', '/home/fred', '/usr/bin/fish'))
    result = run_main(mod.main, host.args())
    assert result['unsupported_listed_shells'] == [host.bin + '/fish', host.bin + '/screen']
    assert [a['kind'] for a in result['accounts'] if a['name'] == 'fred'] == ['unsupported']
    os.remove(host.shells)
    result = run_main(mod.main, host.args())
    assert result['shells_error'].startswith('cannot read %s' % host.shells)


def test_gate_program(host):
    os.chmod(os.path.dirname(host.gate), 0o777)
    host.owner[host.gate] = 1001
    gate = run_main(mod.main, host.args())['gate']
    assert gate['chain'][0]['uid'] == 1001
    assert gate['chain'][1]['mode'] & 0o777 == 0o777
    os.remove(host.gate)
    gate = run_main(mod.main, host.args())['gate']
    assert gate['error'] == 'missing or not a regular file'
    assert gate['chain'][0] == {'path': host.gate, 'error': 'No such file or directory'}
    host.write(host.gate, '', 0o644)
    assert run_main(mod.main, host.args())['gate']['error'] == 'not executable'


def test_gate_module_and_its_bytecode(host):
    # The program imports the gate's code and its .pyc: each is in the chain,
    # the directories already listed once.
    cache = os.path.join(os.path.dirname(host.gate_module), '__pycache__')
    pyc = os.path.join(cache, 'ephi_session_gate.cpython-311.pyc')
    host.write(pyc, 'bytecode')
    host.write(os.path.join(cache, 'other.cpython-311.pyc'), 'not the gate')
    host.owner[pyc] = 1001
    gate = run_main(mod.main, host.args())['gate']
    paths = [item['path'] for item in gate['chain']]
    assert gate['error'] is None
    assert paths[-3:] == [host.gate_module, cache, pyc] and len(paths) == len(set(paths))
    assert gate['chain'][-1]['uid'] == 1001
    os.remove(host.gate_module)
    gate = run_main(mod.main, host.args())['gate']
    assert gate['error'] == 'imports %s, which is missing or not a regular file' % host.gate_module
    # Without gate_module the program alone is checked.
    assert run_main(mod.main, host.args(gate_module=''))['gate']['error'] is None


def test_gate_bytecode_that_cannot_be_listed_is_a_problem(host, monkeypatch):
    # Bytecode the audit could not look at is not passed over in silence.
    cache = os.path.join(os.path.dirname(host.gate_module), '__pycache__')
    host.write(os.path.join(cache, 'ephi_session_gate.cpython-311.pyc'), 'bytecode')
    real_listdir = os.listdir

    def listdir(path):
        if path == cache:
            raise PermissionError(13, 'Permission denied')
        return real_listdir(path)

    monkeypatch.setattr(mod.os, 'listdir', listdir)
    result = run_main(mod.main, host.args())
    assert {'path': cache, 'error': 'cannot list: Permission denied'} in result['gate']['chain']
    assert any('cannot list' in p for p in gate_verdict(result)[0])


def test_recorder_units(host):
    host.show['ephi-session.socket'] = (0, 'LoadState=not-found\nActiveState=inactive\nSubState=dead\nListen=\n', '')
    host.show['ephi-session-recorder.service'] = (1, '', 'Failed to connect to bus')
    recorder = run_main(mod.main, host.args())['recorder']
    assert recorder['socket']['LoadState'] == 'not-found' and recorder['socket_error'] is None
    assert recorder['service_error'] == 'systemctl show failed (rc 1): Failed to connect to bus'
    host.bins['systemctl'] = None
    recorder = run_main(mod.main, host.args())['recorder']
    assert recorder['socket_error'] == recorder['service_error'] == 'systemctl not found'


def test_store_not_mounted_and_dm_crypt(host):
    host.write(host.mountinfo, '22 1 8:1 / / rw - ext4 /dev/sda1 rw\n')
    assert run_main(mod.main, host.args())['store'] == {
        'dir': '/var/log/ephi', 'fstype': None, 'encrypted': False, 'error': None}
    host.write(host.mountinfo, '40 22 253:1 / /var/log/ephi rw - ext4 /dev/mapper/logs rw\n')
    assert run_main(mod.main, host.args())['store']['encrypted'] is False
    host.write(host.path('sys/dev/block/253:1/dm/uuid'), 'CRYPT-LUKS2-abc-logs\n')
    assert run_main(mod.main, host.args())['store'] == {
        'dir': '/var/log/ephi', 'fstype': 'ext4', 'encrypted': True, 'error': None}
    os.remove(host.mountinfo)
    assert run_main(mod.main, host.args())['store']['error'].startswith('cannot read %s' % host.mountinfo)


def test_config_unreadable(host):
    os.remove(host.config)
    result = run_main(mod.main, host.args())
    assert result['config']['error'].startswith('cannot read')
    assert result['store']['error'] == 'configuration not read'
    host.write(host.config, '[1, 2]')
    assert run_main(mod.main, host.args())['config']['error'] == 'not a JSON object'
    host.write(host.config, '{"socket": "/run/x"}')
    assert run_main(mod.main, host.args())['config']['error'] == 'names no dir'
    host.write(host.config, '{not json')
    assert run_main(mod.main, host.args())['config']['error'].startswith('cannot read')


def test_a_fifo_is_not_read(host):
    os.remove(host.config)
    os.mkfifo(host.config)
    assert 'not a regular file' in run_main(mod.main, host.args())['config']['error']


def test_no_sshd_check_by_default(host):
    result = run_main(mod.main, host.args())
    assert result['sshd_check'] == {'verdict': 'not checked', 'offending': [], 'config': None, 'accounts': [],
                                    'message': 'sshd check: no sshd_check_users given'}
    assert 'msg' not in result


def test_sshd_check_only(host):
    """audit=false: only sshd -T for the given names (which need not exist), nothing else is read."""
    result = run_main(mod.main, host.args(audit=False, sshd_check_users=['glass', 'root', 'no-such', 'root']))
    assert sorted(result) == ['changed', 'sshd_check']
    assert host.calls == [[SSHD, '-T', '-C', 'user=%s,host=localhost,addr=127.0.0.1' % name]
                          for name in ('glass', 'root', 'no-such')]
    check = result['sshd_check']
    assert check['verdict'] == 'pass' and check['offending'] == [] and check['config'] is None
    assert check['message'] == 'sshd check passed: glass, root, no-such'
    assert check['accounts'][0] == {'name': 'glass', 'exempt': True, 'forcecommand': None, 'permituserrc': 'yes',
                                    'disableforwarding': 'no', 'problems': [], 'error': None}
    assert check['accounts'][2] == {'name': 'no-such', 'exempt': False, 'forcecommand': host.gate,
                                    'permituserrc': 'no', 'disableforwarding': 'yes', 'problems': [], 'error': None}


def test_sshd_check_of_a_candidate_names_the_offenders(host):
    """Another drop-in read first wins for one name, and sshd rejects the candidate for another."""
    host.sshd['root'] = (0, 'forcecommand /usr/bin/other\npermituserrc yes\ndisableforwarding no\n', '')
    host.sshd['erin'] = (255, '', 'candidate.conf line 2: Bad configuration option: Foo\n')
    host.sshd['glass'] = (0, 'forcecommand %s\npermituserrc no\ndisableforwarding yes\n' % host.gate, '')
    result = run_main(mod.main, host.args(audit=False, sshd_config='/run/x/candidate.conf',
                                          sshd_check_users=['root', 'erin', 'glass', 'a,user=x']))
    assert not result.get('failed') and result['changed'] is False
    assert host.calls[0] == [SSHD, '-T', '-f', '/run/x/candidate.conf', '-C', 'user=root,host=localhost,addr=127.0.0.1']
    assert len(host.calls) == 3
    check = result['sshd_check']
    assert check['verdict'] == 'fail' and check['config'] == '/run/x/candidate.conf'
    assert check['offending'] == ['root', 'erin', 'glass', 'a,user=x']
    assert check['message'] == (
        'sshd check FAILED: root (forcecommand /usr/bin/other, permituserrc yes, disableforwarding no); '
        'erin (sshd -T failed (rc 255): candidate.conf line 2: Bad configuration option: Foo); '
        'glass (forcecommand %s although exempt); '
        "a,user=x ('a,user=x' cannot be named in a -C connection specification)" % host.gate)


def test_sshd_check_with_the_audit_uses_the_same_config(host):
    result = run_main(mod.main, host.args(sshd_config='/etc/ssh/other.conf', sshd_check_users=['nobody-here']), True)
    assert result['sshd_check']['verdict'] == 'pass'
    assert [c for c in host.calls if c[0] == SSHD] and all(
        c[1:4] == ['-T', '-f', '/etc/ssh/other.conf'] for c in host.calls if c[0] == SSHD)
    assert [a['name'] for a in result['accounts']] == ['erin', 'glass', 'root']


def test_the_probe_is_answered_in_the_same_run(host, monkeypatch):
    # The tmux role's verify asks its host_probe questions this way when the gate is on.
    monkeypatch.setattr(probe_run, 'MOUNTINFO', host.mountinfo)
    result = run_main(mod.main, host.args(probe={'mounts': ['/var/log/ephi', '/var/log'], 'paths': [host.gate],
                                                 'passwd': True}), True)
    assert not result.get('failed') and result['store']['encrypted'] is True
    probe = result['probe']
    assert probe['changed'] is False and not probe.get('failed')
    assert probe['mounts'] == {'/var/log/ephi': 'fuse.gocryptfs', '/var/log': ''}
    assert probe['paths'][host.gate]['exists'] is True
    assert sorted(probe['passwd']) == ['daemon', 'erin', 'glass', 'root']
    # Without the option, no probe and nothing asked for it.
    assert 'probe' not in run_main(mod.main, host.args(), True)
    # The gate switched off (the role's audit: false): the probe alone, no account is asked about.
    del host.calls[:]
    result = run_main(mod.main, host.args(audit=False, probe={'paths': [host.gate]}), True)
    assert result['probe']['paths'][host.gate]['exists'] is True and 'accounts' not in result
    assert not [c for c in host.calls if c[0] == SSHD]


def test_the_chain_check_runs_in_the_same_run(host, tmp_path):
    # The tmux role's verify checks the recordings' hash chains this way (the gate on).
    store = tmp_path / 'store'
    (store / 'bob').mkdir(parents=True)
    for name in ('h-pty-0.cast', 'h-pty-1.cast'):
        lines, heads = make(8, name=name)
        (store / 'bob' / name).write_bytes(b''.join(lines))
        host.journal += [json.dumps({'MESSAGE': event(h, '%s/bob/%s' % (store, name)), '_UID': '0',
                                     '_SYSTEMD_UNIT': 'ephi-session-recorder.service'}) for h in heads]
    cache = store / '.ephi-chain-verified.json'
    args = host.args(chain={'path': str(store), 'cache': True})
    # In check mode the chains are checked and no cache is written; the gate's audit is there too.
    result = run_main(mod.main, args, True)
    chain = result['chain']
    assert chain['changed'] is False and not chain.get('failed') and chain['source'] == 'journal'
    assert chain['summary']['ok'] == 2 and chain['summary']['bad'] == 0 and not cache.exists()
    assert not result.get('failed') and [a['name'] for a in result['accounts']] == ['erin', 'glass', 'root']
    # Outside check mode its cache is written, as audit_chain_verify's own; a changed recording is named.
    assert run_main(mod.main, args)['chain']['cache']['written'] and cache.exists()
    path = store / 'bob' / 'h-pty-1.cast'
    path.write_bytes(path.read_bytes().replace(b'line 5', b'line X'))
    chain = run_main(mod.main, args, True)['chain']
    assert chain['summary']['modified'] == 1 and [f['path'] for f in chain['files']] == [str(path)]
    # A check that cannot run (no store; invalid options) is a failed chain; the audit is done anyway.
    result = run_main(mod.main, host.args(chain={'path': str(tmp_path / 'none')}), True)
    assert result['chain']['failed'] and result['chain']['msg'].startswith('audit_chain_verify: the store ')
    assert not result.get('failed') and result['accounts']
    result = run_main(mod.main, host.args(chain={'paht': str(store)}), True)
    assert result['chain']['failed'] and 'path' in result['chain']['msg'] and result['accounts']
    # Without the option, no chain check and no journal read.
    del host.calls[:]
    assert 'chain' not in run_main(mod.main, host.args(), True)
    assert not [c for c in host.calls if c[0] == JOURNALCTL]
