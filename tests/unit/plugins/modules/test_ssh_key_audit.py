# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Module tests for ephi.safeguards.ssh_key_audit.

sshd and systemctl are mocked (AnsibleModule.run_command, exact argv
asserted); the accounts are fake passwd entries whose homes, like the key
store, live under tmp_path. The keys are the real ssh-keygen fixtures.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import os

import pytest

from ansible.module_utils import basic

from ansible_collections.ephi.safeguards.plugins.modules import ssh_key_audit
from ansible_collections.ephi.safeguards.tests.unit.plugins.modules.utils import ExitJson, patch_exit_fail, patch_module_args


FIXTURES = os.path.join(os.path.dirname(__file__), '..', 'module_utils', 'fixtures', 'ssh_keys')
Pw = collections.namedtuple('Pw', 'pw_name pw_passwd pw_uid pw_gid pw_gecos pw_dir pw_shell')
Gr = collections.namedtuple('Gr', 'gr_name gr_passwd gr_gid gr_mem')


def key(name):
    with open(os.path.join(FIXTURES, name + '.pub')) as handle:
        return handle.read().strip()


def fingerprint(name):
    with open(os.path.join(FIXTURES, 'fingerprints.txt')) as handle:
        for line in handle:
            if line.split()[2] == 'fixture-' + name:
                return line.split()[1]
    raise KeyError(name)


@pytest.fixture
def host(tmp_path, monkeypatch):
    """Two users (admin, dave), a store, host keys and a mocked sshd."""
    store = tmp_path / 'store'
    store.mkdir()
    homes = {}
    for uid, name in enumerate(['admin', 'dave'], 1000):
        home = tmp_path / 'home' / name
        (home / '.ssh').mkdir(parents=True)
        homes[name] = Pw(name, 'x', uid, uid, '', str(home), '/bin/bash')
    # Store: admin has an ed25519 key, a 2048-bit RSA key planted by hand and an expired key.
    (store / 'admin').write_text('# managed\n%s\n%s\nexpiry-time="20200101" %s\nnot a key\n'
                                 % (key('ed25519'), key('rsa2048'), key('ecdsa')))
    (store / 'ghost').write_text(key('rsa3072') + '\n')
    # Home files: admin's copy of the declared key, dave's own undeclared key.
    (tmp_path / 'home' / 'admin' / '.ssh' / 'authorized_keys').write_text(key('ed25519') + '\n')
    (tmp_path / 'home' / 'dave' / '.ssh' / 'authorized_keys').write_text(key('ecdsa384') + '\n')
    hostkeys = tmp_path / 'hostkeys'
    hostkeys.mkdir()
    (hostkeys / 'ssh_host_ed25519_key.pub').write_text(key('ed25519') + '\n')
    (hostkeys / 'ssh_host_rsa_key.pub').write_text(key('rsa2048') + '\n')
    sshd_t = ('authorizedkeysfile %s/%%u\npasswordauthentication no\nloglevel VERBOSE\n'
              'hostkey %s/ssh_host_ed25519_key\nhostkey %s/ssh_host_rsa_key\n' % (store, hostkeys, hostkeys))
    calls = []

    def run_command(self, args, **kwargs):
        calls.append(list(args))
        if args[1:] == ['-t']:
            return 0, '', ''
        if args[1] == '-T':
            return 0, sshd_t, ''
        if args[0] == '/bin/systemctl':
            return (0, 'active\n', '') if args[2].endswith('.service') else (3, 'inactive\n', '')
        raise AssertionError(args)

    patch_exit_fail(monkeypatch)
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                        lambda self, name, required=False, opt_dirs=None: '/bin/systemctl' if name == 'systemctl' else '/usr/sbin/sshd')
    monkeypatch.setattr(ssh_key_audit.pwd, 'getpwall', lambda: list(homes.values()))
    monkeypatch.setattr(ssh_key_audit.grp, 'getgrgid', lambda gid: Gr('g%d' % gid, 'x', gid, []))
    monkeypatch.setattr(ssh_key_audit.grp, 'getgrall', lambda: [Gr('sshusers', 'x', 50, ['admin'])])
    return {'store': str(store), 'calls': calls, 'tmp': tmp_path}


def run(args):
    with patch_module_args(args):
        with pytest.raises(ExitJson) as exc:
            ssh_key_audit.main()
    return exc.value.args[0]


def test_classifies_active_weak_ignored_and_invalid(host):
    result = run({'store_dir': host['store'], 'login_user': 'admin', '_ansible_check_mode': True,
                  'declared': {'admin': [fingerprint('ed25519')]}})
    assert result['changed'] is False
    assert [(k['user'], k['fingerprint']) for k in result['active_keys']] == [('admin', fingerprint('ed25519'))]
    weak = dict((k['fingerprint'], k['problems']) for k in result['weak_keys'])
    assert 'RSA key has 2048 bits, fewer than 3072' in weak[fingerprint('rsa2048')]
    assert 'expired on 20200101' in weak[fingerprint('ecdsa')]
    ignored = dict((k['path'], k) for k in result['ignored_keys'])
    admin_home = str(host['tmp'] / 'home' / 'admin' / '.ssh' / 'authorized_keys')
    dave_home = str(host['tmp'] / 'home' / 'dave' / '.ssh' / 'authorized_keys')
    assert ignored[admin_home]['declared'] is True
    assert ignored[dave_home]['declared'] is False and ignored[dave_home]['fingerprint'] == fingerprint('ecdsa384')
    assert result['invalid_lines'] == [{'path': host['store'] + '/admin', 'line': 5, 'error': 'unknown key type a'}]
    assert result['store_users'] == ['admin', 'ghost']


def test_login_user_report_for_the_lockout_check(host):
    result = run({'store_dir': host['store'], 'login_user': 'admin'})
    login = result['login_user']
    assert login['exists'] is True
    assert login['groups'] == ['g1000', 'sshusers']
    assert login['authorized_fingerprints'] == [fingerprint('ed25519')]
    assert result['sshd_service'] == {'name': 'ssh', 'active': True, 'socket_active': False}


def test_host_keys_and_drift(host):
    result = run({'store_dir': host['store'], 'sshd_settings': {'PasswordAuthentication': False, 'LogLevel': 'INFO'}})
    assert result['sshd_drift'] == [{'setting': 'LogLevel', 'wanted': 'INFO', 'found': 'VERBOSE'}]
    weak = dict((os.path.basename(h['path']), h['weak']) for h in result['host_keys'])
    assert weak == {'ssh_host_ed25519_key': False, 'ssh_host_rsa_key': True}


def test_runs_sshd_with_a_list_argv_and_a_connection_spec(host):
    run({'store_dir': host['store'], 'login_user': 'admin'})
    assert ['/usr/sbin/sshd', '-t'] in host['calls']
    assert ['/usr/sbin/sshd', '-T', '-C', 'user=admin,host=localhost,addr=127.0.0.1'] in host['calls']
    assert ['/bin/systemctl', 'is-active', 'ssh.service'] in host['calls']


def test_home_files_are_read_when_sshd_uses_them(host, monkeypatch):
    # Before the policy, sshd reads ~/.ssh/authorized_keys: dave's key can log in.
    def run_command(self, args, **kwargs):
        if args[1] == '-T':
            return 0, 'authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2\n', ''
        return 0, '', ''

    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    result = run({'store_dir': host['store'], 'login_user': 'dave'})
    assert fingerprint('ecdsa384') in [k['fingerprint'] for k in result['active_keys']]
    assert result['login_user']['authorized_fingerprints'] == [fingerprint('ecdsa384')]
