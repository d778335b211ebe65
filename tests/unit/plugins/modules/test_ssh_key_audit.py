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
import json
import os
import pathlib
import shutil
import tempfile

import pytest

from ansible.module_utils import basic

from ansible_collections.ephi.safeguards.plugins.module_utils.sshd_config_file import plan
from ansible_collections.ephi.safeguards.plugins.modules import ssh_key_audit
from ansible_collections.ephi.safeguards.tests.unit.plugins.modules.utils import ExitJson, patch_exit_fail, patch_module_args


ME = os.geteuid()
DAVE = 4242 if ME == 0 else ME
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
def base(tmp_path):
    """tmp_path; as root, a directory of its own that dave's uid can search (pytest's are 0700,
    and changing their modes would race with the other test workers)."""
    if ME != 0:
        yield tmp_path
        return
    path = tempfile.mkdtemp(prefix='ephi-key-audit-', dir='/tmp')
    os.chmod(path, 0o711)
    yield pathlib.Path(path)
    shutil.rmtree(path)


@pytest.fixture
def host(base, monkeypatch):
    """Two users (admin, dave), a store, host keys and a mocked sshd."""
    store = base / 'store'
    store.mkdir()
    homes = {}
    for name in ['admin', 'dave']:
        home = base / 'home' / name
        (home / '.ssh').mkdir(parents=True)
        # admin has the uid that runs the tests; dave, when they run as root, a
        # uid of his own, which the module switches to when it reads his files.
        uid = DAVE if name == 'dave' else ME
        homes[name] = Pw(name, 'x', uid, uid, '', str(home), '/bin/bash')
    # Store: admin has an ed25519 key, a 2048-bit RSA key planted by hand and an expired key.
    (store / 'admin').write_text('# managed\n%s\n%s\nexpiry-time="20200101" %s\nnot a key\n'
                                 % (key('ed25519'), key('rsa2048'), key('ecdsa')))
    (store / 'ghost').write_text(key('rsa3072') + '\n')
    # Home files: admin's copy of the declared key, dave's own undeclared key.
    (base / 'home' / 'admin' / '.ssh' / 'authorized_keys').write_text(key('ed25519') + '\n')
    (base / 'home' / 'dave' / '.ssh' / 'authorized_keys').write_text(key('ecdsa384') + '\n')
    if ME == 0:
        # dave's home is his, and the way to it open to him.
        for path in (base / 'home' / 'dave', base / 'home' / 'dave' / '.ssh'):
            os.chown(str(path), DAVE, DAVE)
    hostkeys = base / 'hostkeys'
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
    if ME != 0:
        # Not root: the host keys under tmp_path belong to the test user, not
        # to root as on a host, so root's reads (uid 0) accept that user too.
        read_user_file = ssh_key_audit.read_user_file
        monkeypatch.setattr(ssh_key_audit, 'read_user_file',
                            lambda path, uid, *args, **kwargs: read_user_file(path, uid or ME, *args, **kwargs))
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                        lambda self, name, required=False, opt_dirs=None: '/bin/systemctl' if name == 'systemctl' else '/usr/sbin/sshd')
    monkeypatch.setattr(ssh_key_audit.pwd, 'getpwall', lambda: list(homes.values()))
    monkeypatch.setattr(ssh_key_audit.grp, 'getgrgid', lambda gid: Gr('g%d' % gid, 'x', gid, []))
    monkeypatch.setattr(ssh_key_audit.grp, 'getgrall', lambda: [Gr('sshusers', 'x', 50, ['admin'])])
    return {'store': str(store), 'calls': calls, 'tmp': base, 'homes': homes}


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
    assert result['invalid_lines'] == [{'user': 'admin', 'path': host['store'] + '/admin', 'line': 5,
                                        'error': 'unknown key type', 'problems': ['unknown key type']}]
    assert result['store_users'] == ['admin', 'ghost']


def test_login_user_report_for_the_lockout_check(host):
    result = run({'store_dir': host['store'], 'login_user': 'admin'})
    login = result['login_user']
    assert login['exists'] is True
    assert login['groups'] == ['g%d' % ME, 'sshusers']
    assert login['authorized_fingerprints'] == [fingerprint('ed25519')]
    assert result['sshd_service'] == {'name': 'ssh', 'active': True, 'socket_active': False}


def test_host_keys_and_drift(host):
    result = run({'store_dir': host['store'], 'sshd_settings': {'PasswordAuthentication': False, 'LogLevel': 'INFO'}})
    assert result['sshd_drift'] == [{'setting': 'LogLevel', 'wanted': 'INFO', 'found': 'VERBOSE'}]
    weak = dict((os.path.basename(h['path']), h['weak']) for h in result['host_keys'])
    assert weak == {'ssh_host_ed25519_key': False, 'ssh_host_rsa_key': True}


def test_kex_compared_without_what_the_installed_openssh_lacks_and_the_probe_in_the_same_run(host, monkeypatch):
    # The ssh_key_policy role's verify: the policy's whole list (the probe that filters it comes in this same
    # run), compared as the role renders it on this host.
    fixture_run = basic.AnsibleModule.run_command
    ssh_q = {'rc': 0, 'out': 'curve25519-sha256\nsntrup761x25519-sha512@openssh.com\ndiffie-hellman-group16-sha512\n'}

    def run_command(self, args, **kwargs):
        if args[1:] == ['-Q', 'kex']:
            host['calls'].append(list(args))
            return ssh_q['rc'], ssh_q['out'], ''
        rc, out, err = fixture_run(self, args, **kwargs)
        if args[1] == '-T':
            out += 'kexalgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256\n'
        return rc, out, err
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    policy = 'mlkem768x25519-sha256,sntrup761x25519-sha512@openssh.com,curve25519-sha256'
    args = {'store_dir': host['store'], 'sshd_settings': {'KexAlgorithms': policy, 'LogLevel': 'VERBOSE'},
            'kex_supported_only': True, 'ssh_bin': '/usr/bin/ssh',
            'probe': {'commands': [['/usr/bin/ssh', '-Q', 'kex']]}}
    result = run(args)
    assert result['sshd_drift'] == [] and result['kex_compared'] == 'sntrup761x25519-sha512@openssh.com,curve25519-sha256'
    assert result['probe']['commands'][0]['stdout'] == ssh_q['out'] and not result['probe'].get('failed')
    # The probe was answered first, in the same run, and its ssh -Q kex is the one the comparison used.
    assert host['calls'][0] == ['/usr/bin/ssh', '-Q', 'kex'] and ['/usr/sbin/sshd', '-t'] in host['calls'][1:]
    assert [c for c in host['calls'] if c[1:] == ['-Q', 'kex']] == [['/usr/bin/ssh', '-Q', 'kex']]
    # A name the host knows and sshd does not offer is drift; so is the whole list without the option.
    ssh_q['out'] += 'mlkem768x25519-sha256\n'
    assert [d['setting'] for d in run(args)['sshd_drift']] == ['KexAlgorithms']
    ssh_q['out'] = ssh_q['out'].replace('mlkem768x25519-sha256\n', '')
    result = run(dict(args, kex_supported_only=False))
    assert [d['setting'] for d in result['sshd_drift']] == ['KexAlgorithms'] and result['kex_compared'] is None
    # ssh -Q kex cannot answer: the list is compared as given (as the role then renders it), not passed.
    ssh_q['rc'] = 255
    assert [d['setting'] for d in run(args)['sshd_drift']] == ['KexAlgorithms']


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


SECRET = 'root:$y$j9T$SECRETHASHSECRETHASH$abcdefghijklmnopqrstuvwxyz0123456789ABCDE:19000:0:99999:7:::'


def test_a_fifo_is_reported_not_waited_for(host):
    fifo = host['tmp'] / 'home' / 'dave' / '.ssh' / 'authorized_keys2'
    os.mkfifo(str(fifo))
    result = run({'store_dir': host['store'], 'login_user': 'admin'})
    assert {'user': 'dave', 'path': str(fifo), 'line': 0,
            'error': '%s is a FIFO (named pipe), not a regular file' % fifo,
            'problems': ['%s is a FIFO (named pipe), not a regular file' % fifo]} in result['invalid_lines']


def test_a_link_to_a_secret_is_reported_and_nothing_of_it_echoed(host):
    secret = host['tmp'] / 'shadow'
    secret.write_text(SECRET + '\n')
    link = host['tmp'] / 'home' / 'dave' / '.ssh' / 'authorized_keys'
    link.unlink()
    link.symlink_to(secret)
    result = run({'store_dir': host['store'], 'login_user': 'admin'})
    refused = [r for r in result['invalid_lines'] if r['path'] == str(link)]
    assert refused == [{'user': 'dave', 'path': str(link), 'line': 0,
                        'error': '%s is a symbolic link in a directory that is not root-only; it is not followed' % link,
                        'problems': ['%s is a symbolic link in a directory that is not root-only; it is not followed' % link]}]
    assert 'SECRET' not in json.dumps(result)


@pytest.mark.parametrize('line', [
    SECRET,
    'SECRET-option="x" ssh-ed25519 AAAA',
    'restrict,SECRET ssh-ed25519',
    'from="SECRET ssh-ed25519 AAAA',
    'SECRETTYPE AAAAC3NzaC1lZDI1NTE5AAAAIA==',
    'ssh-ed25519 SECRET==',
    'SECRET-cert-v01@openssh.com AAAA',
])
def test_lines_that_are_not_keys_are_reported_by_number_only(host, line):
    path = host['tmp'] / 'home' / 'dave' / '.ssh' / 'authorized_keys'
    path.write_text('%s\n%s\n' % (key('ecdsa384'), line))
    result = run({'store_dir': host['store'], 'login_user': 'admin'})
    bad = [r for r in result['invalid_lines'] if r['path'] == str(path)]
    assert [(r['line'], r['user']) for r in bad] == [(2, 'dave')] and bad[0]['error'], bad
    assert 'SECRET' not in json.dumps(result)


def test_a_huge_file_is_reported_without_reading_it(host):
    path = host['tmp'] / 'home' / 'dave' / '.ssh' / 'authorized_keys'
    with open(str(path), 'wb') as handle:
        handle.truncate(ssh_key_audit.MAX_FILE + 1)
    result = run({'store_dir': host['store'], 'login_user': 'admin'})
    assert [r['error'] for r in result['invalid_lines'] if r['path'] == str(path)] == [
        '%s is %d bytes, larger than the limit of %d' % (path, ssh_key_audit.MAX_FILE + 1, ssh_key_audit.MAX_FILE)]


def test_a_directory_is_reported(host):
    path = host['tmp'] / 'home' / 'dave' / '.ssh' / 'authorized_keys2'
    path.mkdir()
    result = run({'store_dir': host['store'], 'login_user': 'admin'})
    assert [r['error'] for r in result['invalid_lines'] if r['path'] == str(path)] == [
        '%s is a directory, not a regular file' % path]


def test_a_host_key_that_is_no_regular_file_is_weak_and_says_why(host):
    pub = host['tmp'] / 'hostkeys' / 'ssh_host_ed25519_key.pub'
    pub.unlink()
    os.mkfifo(str(pub))
    result = run({'store_dir': host['store']})
    record = [h for h in result['host_keys'] if h['path'].endswith('ssh_host_ed25519_key')][0]
    assert record['weak'] is True
    assert record['problems'] == ['no readable public key next to the host key',
                                  '%s is a FIFO (named pipe), not a regular file' % pub]


INCLUDE = 'Include /etc/ssh/sshd_config.d/*.conf'


def test_sshd_config_and_sshd_per_spec_in_the_same_run(host, monkeypatch):
    # The ssh_key_policy role's verify: sshd_config's read (ssh_policy_sshd_config's, never a write) and sshd -T -C
    # for every account the probe lists, from every address, in the key audit's run; KexAlgorithms compared as the
    # role renders them (less what ssh -Q kex lacks), with one ssh -Q kex for the audit and the read.
    fixture_run = basic.AnsibleModule.run_command
    refused = {}

    def run_command(self, args, **kwargs):
        if args[1:] == ['-Q', 'kex']:
            host['calls'].append(list(args))
            return 0, 'curve25519-sha256\nsntrup761x25519-sha512@openssh.com\n', ''
        if args[1:3] == ['-T', '-C'] and args[3].startswith('user=') and ',host=localhost,' not in args[3]:
            host['calls'].append(list(args))
            if args[3] in refused:
                return 255, '', refused[args[3]]
            forwarding = 'no' if args[3].startswith('user=admin,') else 'yes'
            return 0, 'port 22\nx11forwarding no\ndisableforwarding %s\npermitrootlogin no\n' % forwarding, ''
        return fixture_run(self, args, **kwargs)
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    settings = {'X11Forwarding': False, 'PermitRootLogin': 'no',
                'KexAlgorithms': 'mlkem768x25519-sha256,sntrup761x25519-sha512@openssh.com,curve25519-sha256'}
    conf = host['tmp'] / 'sshd_config'
    conf.write_text('%s\nUsePAM yes\nX11Forwarding yes\n' % INCLUDE)
    read = {'path': str(conf), 'include': INCLUDE, 'settings': settings, 'effective': True,
            'per_spec': {'keywords': ['X11Forwarding', 'PermitRootLogin', 'DisableForwarding'],
                         'connection': '192.0.2.7 50000 10.0.0.9 22', 'extra_addresses': ['198.51.100.1']}}
    args = {'store_dir': host['store'], 'login_user': 'admin', 'kex_supported_only': True, 'ssh_bin': '/usr/bin/ssh',
            'probe': {'passwd': True}, 'sshd_config': read}
    before = conf.read_text()
    result = run(args)
    answer = result['sshd_config']
    assert not result.get('failed') and not answer.get('failed') and answer['changed'] is False
    # The contradicting line and the missing block are the read's findings; nothing was written.
    assert answer['changes'] and [d['text'] for d in answer['disabled']] == ['X11Forwarding yes']
    assert conf.read_text() == before and answer['sshd_effective']['authorizedkeysfile']
    # sshd -T -C for each account of the probe (admin, dave) from loopback, Ansible's address and the extra one.
    specs = ['user=%s,host=%s,addr=%s,laddr=10.0.0.9,lport=22' % (user, addr, addr)
             for user in ('admin', 'dave') for addr in ('127.0.0.1', '192.0.2.7', '198.51.100.1')]
    assert answer['per_spec']['specs'] == specs and sorted(result['probe']['passwd']) == ['admin', 'dave']
    assert [c[3] for c in host['calls'] if c[1:3] == ['-T', '-C'] and ',laddr=' in c[3]] == specs
    text = answer['per_spec']['stdout']
    assert text.startswith('### %s\nx11forwarding no\ndisableforwarding no\npermitrootlogin no\n### ' % specs[0])
    assert 'port 22' not in text
    assert [c for c in host['calls'] if c[1:] == ['-Q', 'kex']] == [['/usr/bin/ssh', '-Q', 'kex']]
    # The file the role renders on this host (its KexAlgorithms without ML-KEM, which this OpenSSH lacks) conforms.
    rendered = plan(before, dict(settings, KexAlgorithms='sntrup761x25519-sha512@openssh.com,curve25519-sha256'),
                    {}, INCLUDE, '')['content']
    conf.write_text(rendered)
    answer = run(args)['sshd_config']
    assert answer['changes'] == [] and answer['disabled'] == []
    # Without kex_supported_only the whole list is compared: a change.
    assert run(dict(args, kex_supported_only=False))['sshd_config']['changes']
    # A specification sshd refuses is named with its error.
    refused[specs[1]] = 'bad match'
    assert '### %s\n!!! bad match\n' % specs[1] in run(args)['sshd_config']['per_spec']['stdout']
    # No accounts from the probe: per_spec cannot be answered, the read and the audit stand.
    answer = run(dict(args, probe={'paths': [str(conf)]}))['sshd_config']
    assert answer['per_spec']['failed'] and 'accounts' in answer['per_spec']['msg'] and 'changes' in answer
    # A read that cannot run is a failed answer; the audit's own work goes on.
    result = run(dict(args, sshd_config=dict(read, path=str(host['tmp'] / 'none'))))
    assert result['sshd_config']['failed'] and result['sshd_config']['msg'].startswith('ssh_policy_sshd_config: cannot read ')
    assert not result.get('failed') and result['active_keys']
    assert 'sshd_config' not in run(dict(args, sshd_config=None))
