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

from ansible_collections.ephi.safeguards.plugins.modules import encrypted_logs_secret, encrypted_logs_verify


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
