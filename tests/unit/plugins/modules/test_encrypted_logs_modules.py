# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The host-side helpers of encrypted_logs_verify and encrypted_logs_secret on real files."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible.module_utils import basic

from ansible_collections.ephi.safeguards.plugins.module_utils.mountinfo import mount_containing, parse_mountinfo
from ansible_collections.ephi.safeguards.plugins.modules import encrypted_logs_secret, encrypted_logs_verify
from ansible_collections.ephi.safeguards.tests.unit.plugins.modules.utils import ExitJson, FailJson, patch_exit_fail, patch_module_args


def make_tree(top, names):
    for name in names:
        path = os.path.join(top, name)
        if not os.path.isdir(os.path.dirname(path)):
            os.makedirs(os.path.dirname(path))
        with open(path, 'w') as fh:
            fh.write('x')


def test_walk_names_counts_every_entry_and_does_not_follow_links(tmp_path):
    plain = str(tmp_path / 'plain')
    make_tree(plain, ['erin/a.log', 'erin/b.log', 'sam/c.log'])
    outside = tmp_path / 'outside'
    outside.mkdir()
    (outside / 'secret-name').write_text('x')
    os.symlink(str(outside), os.path.join(plain, 'link'))
    names, count = encrypted_logs_verify.walk_names(plain)
    assert names == {'erin', 'sam', 'a.log', 'b.log', 'c.log', 'link'}
    assert count == 6


def test_leak_check_counts_and_examples(tmp_path):
    plain, cipher = str(tmp_path / 'plain'), str(tmp_path / 'cipher')
    make_tree(plain, ['erin/%d.log' % i for i in range(10)])
    make_tree(cipher, ['gocryptfs.conf', 'gocryptfs.diriv', 'Qx/1.log', 'Qx/2.log', 'Qx/7.log', 'Qx/9.log'])
    result = encrypted_logs_verify.leak_check(plain, cipher, 3)
    assert result == {'plain_count': 11, 'leaked_count': 4, 'examples': ['1.log', '2.log', '7.log']}


def test_leak_check_that_cannot_list_is_an_error(tmp_path):
    result = encrypted_logs_verify.leak_check(str(tmp_path / 'missing'), str(tmp_path), 3)
    assert 'ENOENT' in result['error'] and 'plain_count' not in result


def test_stat_info(tmp_path):
    path = tmp_path / 'key'
    path.write_text('k')
    os.chmod(str(path), 0o400)
    info = encrypted_logs_verify.stat_info(str(path))
    assert info['exists'] and info['regular'] and info['mode'] == '0400' and info['uid'] == os.getuid()
    assert encrypted_logs_verify.stat_info(str(tmp_path / 'none')) == {'exists': False}


def test_fscrypt_policy_of_a_plain_directory_is_not_a_pass(tmp_path):
    # Whatever filesystem the tests run on, a fresh directory has no policy.
    state = encrypted_logs_verify.fscrypt_policy(str(tmp_path))['state']
    assert state in ('not_encrypted', 'unsupported')
    assert encrypted_logs_verify.fscrypt_policy(str(tmp_path / 'none'))['state'] == 'missing'


def test_dm_info_of_a_non_block_device():
    assert encrypted_logs_verify.dm_info(0, 4242)['is_dm'] is False


@pytest.mark.skipif(os.geteuid() != 0, reason='writes root-owned files')
def test_write_root_file_is_exclusive_and_read_back(tmp_path):
    path = str(tmp_path / 'passphrase')
    encrypted_logs_secret.write_root_file(path, b'one')
    st = os.lstat(path)
    assert stat.S_IMODE(st.st_mode) == 0o400 and st.st_uid == 0
    assert encrypted_logs_secret.read_root_file(path) == b'one'
    encrypted_logs_secret.write_root_file(path, b'two')
    assert encrypted_logs_secret.read_root_file(path) == b'two'
    # Nothing left behind but the key.
    assert os.listdir(str(tmp_path)) == ['passphrase']
    assert encrypted_logs_secret.read_root_file(str(tmp_path / 'none')) is None


def test_read_root_file_does_not_follow_links(tmp_path):
    target = tmp_path / 'target'
    target.write_text('x')
    os.symlink(str(target), str(tmp_path / 'link'))
    with pytest.raises(OSError):
        encrypted_logs_secret.read_root_file(str(tmp_path / 'link'))


def test_scrypt_digest_depends_on_passphrase_salt_and_config():
    config = 'ab' * 32
    one = encrypted_logs_secret.scrypt_hex('old-passphrase', '00' * 16, config)
    assert one == encrypted_logs_secret.scrypt_hex('old-passphrase', '00' * 16, config)
    assert one != encrypted_logs_secret.scrypt_hex('other-passphrase', '00' * 16, config)
    assert one != encrypted_logs_secret.scrypt_hex('old-passphrase', '01' * 16, config)
    assert one != encrypted_logs_secret.scrypt_hex('old-passphrase', '00' * 16, 'cd' * 32)
    assert 'old-passphrase' not in one


# main() of encrypted_logs_secret for a passphrase change, with the tool mocked:
# what it is fed on stdin, that nothing secret is in argv, and that the change
# is recorded and not applied again.

OLD = 'old-passphrase-0123456789'
NEW = 'new-passphrase-9876543210'


@pytest.fixture
def store(tmp_path, monkeypatch):
    if os.geteuid() != 0:
        pytest.skip('the module reads and writes root-owned files')
    patch_exit_fail(monkeypatch)
    keydir = tmp_path / 'keys'
    keydir.mkdir(mode=0o700)
    key = keydir / 'passphrase'
    key.write_text(NEW)
    os.chmod(str(key), 0o400)
    cipher = tmp_path / 'cipher'
    cipher.mkdir()
    (cipher / 'gocryptfs.conf').write_text('{"EncryptedKey": "wrapped-with-old"}')
    calls = []

    def run_command(self, args, data=None, **kwargs):
        calls.append((list(args), data))
        if args[1] == 'luksDump':
            return 0, 'LUKS header dump %d' % len([c for c in calls if c[0][1] == 'luksChangeKey']), ''
        if data.startswith(OLD):
            (cipher / 'gocryptfs.conf').write_text('{"EncryptedKey": "wrapped-with-new"}')
            return 0, '', ''
        return (12 if args[0].endswith('gocryptfs') else 2), '', 'Password incorrect.'

    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    return {'key': str(key), 'cipher': str(cipher), 'state': str(keydir / 'passwd-retired'), 'calls': calls}


def passwd(store, previous, action='gocryptfs_passwd', check=False):
    args = {'action': action, 'path': store['key'], 'previous_passphrase': previous,
            'store': store['cipher'] if action == 'gocryptfs_passwd' else '/var/lib/x/logs.luks',
            'state_file': store['state'], 'binary': '/usr/bin/gocryptfs' if action == 'gocryptfs_passwd' else '/usr/sbin/cryptsetup',
            '_ansible_check_mode': check}
    with patch_module_args(args):
        with pytest.raises((ExitJson, FailJson)) as caught:
            encrypted_logs_secret.main()
    return caught.value.args[0]


def test_gocryptfs_change_is_fed_on_stdin_recorded_and_not_applied_again(store):
    assert passwd(store, OLD, check=True)['changed'] is True
    assert store['calls'] == []  # check mode runs nothing
    result = passwd(store, OLD)
    assert result['changed'] is True, result
    (argv, data), = store['calls']
    assert argv == ['/usr/bin/gocryptfs', '-q', '-passwd', store['cipher']]
    assert data == OLD + '\n' + NEW + '\n'
    record = open(store['state']).read()
    assert OLD not in record and NEW not in record and record.startswith('v1 ')
    assert stat.S_IMODE(os.lstat(store['state']).st_mode) == 0o600
    # Same previous passphrase, unchanged config: gocryptfs is not run again.
    again = passwd(store, OLD)
    assert again['changed'] is False and 'already retired' in again['msg']
    assert len(store['calls']) == 1
    # Another previous passphrase (a second rotation) is tried.
    other = passwd(store, 'yet-another-passphrase-000')
    assert other['changed'] is False and 'does not open' in other['msg']
    assert len(store['calls']) == 2


def test_luks_change_key_gets_the_old_passphrase_on_stdin_only(store):
    result = passwd(store, OLD, action='luks_passwd')
    assert result['changed'] is True, result
    change = [c for c in store['calls'] if c[0][1] == 'luksChangeKey']
    assert change == [(['/usr/sbin/cryptsetup', 'luksChangeKey', '--batch-mode', '--key-file', '-',
                        '/var/lib/x/logs.luks', store['key']], OLD)]
    again = passwd(store, OLD, action='luks_passwd')
    assert again['changed'] is False and 'already retired' in again['msg']


def test_key_is_written_once_and_refused_outside_memory(store, tmp_path):
    path = os.path.join(os.path.dirname(store['key']), 'controller-key')
    args = {'action': 'key', 'path': path, 'passphrase': NEW}
    with patch_module_args(args):
        with pytest.raises(ExitJson) as first:
            encrypted_logs_secret.main()
    assert first.value.args[0]['changed'] is True
    assert encrypted_logs_secret.read_root_file(path) == NEW.encode()
    with patch_module_args(args):
        with pytest.raises(ExitJson) as second:
            encrypted_logs_secret.main()
    assert second.value.args[0]['changed'] is False
    # memory_only on a directory that is not tmpfs/ramfs (unless the test's tmp is one).
    with open('/proc/self/mountinfo') as fh:
        fstype = mount_containing(parse_mountinfo(fh.read()), os.path.realpath(str(tmp_path)))['fstype']
    if fstype not in ('tmpfs', 'ramfs'):
        with patch_module_args(dict(args, memory_only=True, passphrase='another-passphrase-000000')):
            with pytest.raises(FailJson) as refused:
                encrypted_logs_secret.main()
        assert 'not on memory' in refused.value.args[0]['msg']
        assert encrypted_logs_secret.read_root_file(path) == NEW.encode()


def test_store_space_of_the_data_or_its_parent(tmp_path):
    data = tmp_path / 'ciphertext'
    # Before the data exists, its parent's filesystem is measured.
    before = encrypted_logs_verify.store_space(str(data), str(tmp_path))
    assert before['total_bytes'] > 0 and 0 <= before['free_bytes'] <= before['total_bytes'] and before['free_inodes'] >= 0
    data.mkdir()
    assert set(encrypted_logs_verify.store_space(str(data), str(tmp_path))) == {'free_bytes', 'total_bytes', 'free_inodes'}
    assert 'missing' in encrypted_logs_verify.store_space(str(tmp_path / 'a' / 'b'), str(tmp_path / 'a'))['error']


def test_data_present_per_backend(tmp_path):
    cipher = tmp_path / 'ciphertext'
    p = {'backend': 'gocryptfs', 'backing_path': str(cipher), 'mount_path': str(tmp_path / 'plain')}
    cipher.mkdir()
    assert not encrypted_logs_verify.data_present(p)  # an empty directory hides nothing
    (cipher / 'gocryptfs.conf').write_text('{}')
    assert encrypted_logs_verify.data_present(p)
    assert not encrypted_logs_verify.data_present(dict(p, backend='luks', backing_path=str(tmp_path / 'logs.luks')))


def test_scope_store_observes_only_the_store(tmp_path, monkeypatch):
    # The role's preflight: one control, the refusal, and none of the other probes
    # (no systemctl: run_command would be called for the unit otherwise).
    patch_exit_fail(monkeypatch)
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', lambda *a, **k: pytest.fail('run_command called'))
    args = {'backend': 'gocryptfs', 'mount_path': str(tmp_path / 'plain'),
            'backing_path': str(tmp_path / 'store' / 'ciphertext'), 'key_file': '/nonexistent/key',
            'key_source': 'host', 'service_name': 'ephi-test', 'scope': 'store', 'store_require_own_fs': True}
    with patch_module_args(args):
        with pytest.raises(ExitJson) as info:
            encrypted_logs_verify.main()
    result = info.value.args[0]
    assert [c['id'] for c in result['controls']] == ['encrypted-logs-store-filesystem']
    assert set(result['observations']) == {'mountinfo', 'store', 'store_space'}
    assert not result['changed']
    # tmp_path/store is no mount point: required, so refused and failing.
    assert not result['observations']['store'].get('own'), result['observations']
    assert result['controls'][0]['status'] == 'fail'
    assert result['store_refusal'].startswith('encrypted_logs_store_require_own_fs:'), result['store_refusal']
