# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Decisions of the encrypted_logs evidence and passphrase bookkeeping.

Table-driven: for each backend, observations that prove encryption of that
very directory pass; plain mounts, wrong sources and missing proofs fail; a
probe that could not examine its object fails too. LUKS and fscrypt cannot be
opened in the lab (no device-mapper, overlayfs root), so their inputs are
recorded from hosts that have them: the mountinfo line of a LUKS2 file
container opened by the role's script (ext4 on /dev/mapper/ephi-logs, dm
uuid CRYPT-LUKS2-<uuid>-ephi-logs on loop0) and the kernel's answers to the
fscrypt policy ioctl (version byte 0 for v1, 2 for v2, ENODATA for a plain
directory, ENOTTY/EOPNOTSUPP without encryption support).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ephi.safeguards.plugins.module_utils.encrypted_logs import (
    build_controls,
    decide_encryption,
    decide_key,
    decide_mount,
    fscrypt_policy_state,
    leaked_names,
    passwd_already_done,
    passwd_record,
    passwd_stdin,
    store_config_problems,
    store_control,
    store_mount_facts,
    store_refusal,
    systemd_escape_path,
)
from ansible_collections.ephi.safeguards.plugins.module_utils.mountinfo import mount_at, mount_containing, parse_mountinfo

BACKING = '/var/lib/ephi-encrypted-logs/ciphertext'
CONTAINER = '/var/lib/ephi-encrypted-logs/logs.luks'
MOUNT = '/var/log/ephi'

# Recorded from the lab (Debian 12 container, gocryptfs 2.3) and from a LUKS host.
MOUNTINFO = '\n'.join([
    '1380 1029 0:97 / / rw,relatime master:553 - overlay overlay rw,lowerdir=/var/lib/containers/l',
    '1390 1380 0:103 / /run rw,nosuid,nodev,relatime - tmpfs tmpfs rw,size=65536k',
    '1401 1380 0:105 / /var/log/ephi rw,nosuid,nodev,relatime - fuse.gocryptfs ' + BACKING +
    ' rw,user_id=0,group_id=0,default_permissions,allow_other,max_read=131072',
    '1410 1380 0:106 / /var/log/with\\040space rw,relatime - tmpfs tmpfs rw',
])
LUKS_LINE = '45 30 254:0 / /var/log/ephi rw,nosuid,nodev,noexec,relatime shared:25 - ext4 /dev/mapper/ephi-logs rw'
LUKS_UUID = 'CRYPT-LUKS2-3f2a9c0e1b6d4e8f9a7b5c3d1e0f2a4b-ephi-logs'


def params(backend, **extra):
    base = {'backend': backend, 'mount_path': MOUNT, 'backing_path': CONTAINER if backend == 'luks' else BACKING,
            'key_file': '/etc/ephi-encrypted-logs/passphrase', 'key_source': 'host',
            'service_name': 'ephi-encrypted-logs', 'group': 'root'}
    base.update(extra)
    return base


def test_parse_mountinfo_real_lines():
    mounts = parse_mountinfo(MOUNTINFO)
    go = mount_at(mounts, MOUNT)
    assert go['fstype'] == 'fuse.gocryptfs' and go['source'] == BACKING
    assert mount_at(mounts, '/var/log/with space')['fstype'] == 'tmpfs'
    assert mount_at(mounts, '/var/log') is None
    assert mount_containing(mounts, '/run/ephi-encrypted-logs')['fstype'] == 'tmpfs'
    assert mount_containing(mounts, '/etc/ephi-encrypted-logs')['fstype'] == 'overlay'
    # /running is not below /run
    assert mount_containing(mounts, '/running')['fstype'] == 'overlay'
    luks = parse_mountinfo(LUKS_LINE)[0]
    assert (luks['major'], luks['minor'], luks['fstype']) == (254, 0, 'ext4')


def test_topmost_mount_wins():
    text = MOUNTINFO + '\n1500 1401 0:120 / /var/log/ephi rw - tmpfs tmpfs rw'
    assert mount_at(parse_mountinfo(text), MOUNT)['fstype'] == 'tmpfs'


def test_malformed_mountinfo_is_an_error():
    with pytest.raises(ValueError):
        parse_mountinfo('garbage line without separator')


GO_MOUNT = {'fstype': 'fuse.gocryptfs', 'source': BACKING, 'major': 0, 'minor': 105}
GO_OK = {'mountinfo': {}, 'mount': GO_MOUNT, 'conf': {'exists': True, 'regular': True},
         'leak': {'plain_count': 12, 'leaked_count': 0, 'examples': []}}
LUKS_MOUNT = {'fstype': 'ext4', 'source': '/dev/mapper/ephi-logs', 'major': 254, 'minor': 0}
LUKS_DM = {'is_dm': True, 'device': '254:0', 'uuid': LUKS_UUID, 'name': 'ephi-logs', 'backing_files': [CONTAINER]}
LUKS_OK = {'mountinfo': {}, 'mount': LUKS_MOUNT, 'dm': LUKS_DM, 'container': {'exists': True, 'regular': True}}


def changed(base, **kw):
    new = dict(base)
    new.update(kw)
    return new


# (id, backend, observations, mounted status, encrypted status, words in the encrypted observation)
CASES = [
    ('gocryptfs-pass', 'gocryptfs', GO_OK, 'pass', 'pass', '12 plain-text name(s) in the tree, 0 of them'),
    ('gocryptfs-not-mounted', 'gocryptfs', changed(GO_OK, mount=None, leak=None), 'fail', 'fail', 'not mounted'),
    ('gocryptfs-tmpfs-at-path', 'gocryptfs', changed(GO_OK, mount={'fstype': 'tmpfs', 'source': 'tmpfs'}, leak=None),
     'fail', 'fail', 'mounted as tmpfs from tmpfs'),
    ('gocryptfs-other-cipher-dir', 'gocryptfs', changed(GO_OK, mount=changed(GO_MOUNT, source='/srv/other'), leak=None),
     'fail', 'fail', 'not gocryptfs from ' + BACKING),
    ('gocryptfs-conf-missing', 'gocryptfs', changed(GO_OK, conf={'exists': False}), 'pass', 'fail', 'gocryptfs.conf MISSING'),
    ('gocryptfs-conf-unreadable', 'gocryptfs', changed(GO_OK, conf={'error': 'EACCES'}), 'pass', 'fail', 'could not examine'),
    ('gocryptfs-leak', 'gocryptfs', changed(GO_OK, leak={'plain_count': 3, 'leaked_count': 1, 'examples': ['erin']}),
     'pass', 'fail', '1 of them found in the backing store: erin'),
    ('gocryptfs-walk-error', 'gocryptfs', changed(GO_OK, leak={'error': '/var/log/ephi/x: EIO'}), 'pass', 'fail',
     'could not compare names'),
    ('gocryptfs-no-leak-result', 'gocryptfs', changed(GO_OK, leak=None), 'pass', 'fail', 'could not compare names'),
    ('gocryptfs-mountinfo-error', 'gocryptfs', changed(GO_OK, mountinfo={'error': 'EACCES'}), 'fail', 'fail',
     'could not examine the mount table'),
    ('luks-pass', 'luks', LUKS_OK, 'pass', 'pass', 'dm-crypt mapping ephi-logs (LUKS2) of ' + CONTAINER),
    ('luks-plain-ext4', 'luks',
     changed(LUKS_OK, mount=changed(LUKS_MOUNT, source='/dev/sdb1', major=8, minor=17), dm={'is_dm': False, 'device': '8:17'}),
     'fail', 'fail', 'not a device-mapper device'),
    ('luks-tmpfs', 'luks', changed(LUKS_OK, mount={'fstype': 'tmpfs', 'source': 'tmpfs', 'major': 0, 'minor': 99},
                                   dm={'is_dm': False, 'device': '0:99 (no block device)'}),
     'fail', 'fail', 'not a device-mapper device'),
    ('luks-dm-not-crypt', 'luks', changed(LUKS_OK, dm=changed(LUKS_DM, uuid='LVM-abcdef', name='vg-logs')),
     'fail', 'fail', "not a dm-crypt (CRYPT-) mapping"),
    ('luks-other-container', 'luks', changed(LUKS_OK, dm=changed(LUKS_DM, backing_files=['/srv/other.luks'])),
     'fail', 'fail', 'sits on /srv/other.luks, not on ' + CONTAINER),
    ('luks-sysfs-error', 'luks', changed(LUKS_OK, dm={'error': 'sysfs of 254:0: EACCES'}), 'fail', 'fail',
     'could not examine the device'),
    ('luks-container-missing', 'luks', changed(LUKS_OK, container={'exists': False}), 'pass', 'fail', 'container MISSING'),
    ('luks-not-mounted', 'luks', changed(LUKS_OK, mount=None, dm=None), 'fail', 'fail', 'not mounted'),
    ('luks-mountinfo-error', 'luks', changed(LUKS_OK, mountinfo={'error': 'EIO'}), 'fail', 'fail', 'could not examine'),
    ('fscrypt-v2', 'fscrypt', {'policy': fscrypt_policy_state(None, 2)}, 'not_applicable', 'pass', 'fscrypt policy v2'),
    ('fscrypt-v1', 'fscrypt', {'policy': fscrypt_policy_state(None, 0)}, 'not_applicable', 'pass', 'fscrypt policy v1'),
    ('fscrypt-plain-dir', 'fscrypt', {'policy': fscrypt_policy_state('ENODATA')}, 'not_applicable', 'fail',
     'no fscrypt policy'),
    ('fscrypt-unsupported-fs', 'fscrypt', {'policy': fscrypt_policy_state('ENOTTY')}, 'not_applicable', 'fail',
     'does not support fscrypt'),
    ('fscrypt-missing', 'fscrypt', {'policy': fscrypt_policy_state('ENOENT')}, 'not_applicable', 'fail', 'MISSING'),
    ('fscrypt-ioctl-error', 'fscrypt', {'policy': fscrypt_policy_state('EACCES')}, 'not_applicable', 'fail',
     'could not examine'),
    ('fscrypt-unknown-version', 'fscrypt', {'policy': fscrypt_policy_state(None, 7)}, 'not_applicable', 'fail',
     'could not examine'),
    ('fscrypt-no-result', 'fscrypt', {}, 'not_applicable', 'fail', 'could not examine'),
]


@pytest.mark.parametrize('backend, obs, mounted, encrypted, words', [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_encryption_of_that_very_directory(backend, obs, mounted, encrypted, words):
    p = params(backend)
    assert decide_mount(backend, p, obs)[0] == mounted, decide_mount(backend, p, obs)
    status, observed = decide_encryption(backend, p, obs)
    assert status == encrypted, observed
    assert words in observed


def test_not_mounted_observation_wording():
    # The site scenario's "unmounted" break relies on this exact text.
    assert decide_mount('gocryptfs', params('gocryptfs'), changed(GO_OK, mount=None)) == ('fail', 'not mounted')


KEY_OK = {'exists': True, 'regular': True, 'uid': 0, 'owner': 'root', 'mode': '0400'}


@pytest.mark.parametrize('source, key, fstype, status', [
    ('host', KEY_OK, 'overlay', 'pass'),
    ('controller', KEY_OK, 'tmpfs', 'pass'),
    ('controller', KEY_OK, 'ext4', 'fail'),
    ('controller', KEY_OK, None, 'fail'),
    ('host', changed(KEY_OK, mode='0440'), 'overlay', 'fail'),
    ('host', changed(KEY_OK, uid=1000, owner='erin'), 'overlay', 'fail'),
    ('host', changed(KEY_OK, regular=False), 'overlay', 'fail'),
    ('host', {'exists': False}, 'overlay', 'fail'),
    ('host', {'error': 'EACCES'}, 'overlay', 'fail'),
], ids=['host', 'controller-tmpfs', 'controller-on-disk', 'controller-unknown-fs', 'group-readable', 'user-owned',
        'not-regular', 'missing', 'unexaminable'])
def test_key_protection(source, key, fstype, status):
    assert decide_key(params('gocryptfs', key_source=source), {'key': key, 'key_dir_fstype': fstype})[0] == status


def test_build_controls_ids_and_statuses():
    obs = dict(GO_OK, key=KEY_OK, key_dir_fstype='overlay', unit={'state': 'enabled'},
               tree={'exists': True, 'isdir': True, 'uid': 0, 'owner': 'root', 'group': 'root', 'mode': '0750'})
    records = build_controls(params('gocryptfs'), obs)
    assert [r['id'] for r in records] == ['encrypted-logs-mounted', 'encrypted-logs-backing-encrypted',
                                          'encrypted-logs-key-protected', 'encrypted-logs-boot-unit',
                                          'encrypted-logs-no-other-access', 'encrypted-logs-store-filesystem']
    assert [r['status'] for r in records] == ['pass'] * 5 + ['fail']  # no store observation: not examined
    assert set(records[0]) == {'id', 'safeguard', 'hipaa', 'stig', 'check', 'observed', 'status'}
    bad = dict(obs, unit={'state': 'disabled'}, tree=dict(obs['tree'], mode='0755'))
    assert [r['status'] for r in build_controls(params('gocryptfs'), bad)][3:5] == ['fail', 'fail']
    assert build_controls(params('gocryptfs'), dict(obs, tree={'error': 'EIO'}))[4]['status'] == 'fail'


def test_leaked_names_is_a_set_intersection_without_gocryptfs_files():
    plain = ['erin', 'host-1.log', 'gocryptfs.diriv']
    cipher = ['gocryptfs.conf', 'gocryptfs.diriv', 'gocryptfs.longname.abc', 'Qx9-aa', 'erin']
    assert leaked_names(plain, cipher) == ['erin']
    assert leaked_names([], cipher) == []


def test_leaked_names_scales_linearly():
    # 200 000 names each side: a set intersection, not a pattern per name.
    plain = ['f%06d.log' % i for i in range(200000)]
    cipher = ['c%06d' % i for i in range(200000)] + ['f000042.log']
    assert leaked_names(plain, cipher) == ['f000042.log']


def test_passwd_stdin_lines():
    assert passwd_stdin('old-pass', 'new-pass') == 'old-pass\nnew-pass\n'
    for bad in [('', 'x'), ('x', ''), ('a\nb', 'x'), ('x', 'a\rb')]:
        with pytest.raises(ValueError):
            passwd_stdin(*bad)


def test_passwd_record_skips_only_the_same_passphrase_and_config():
    record = passwd_record('00ff', 'abcd', 'c0' * 32)
    digest = {'00ff': 'abcd'}.get
    assert passwd_already_done(record, 'c0' * 32, digest) is True
    # Another previous passphrase (a second rotation): applied.
    assert passwd_already_done(record, 'c0' * 32, lambda salt: 'ffff') is False
    # The config changed since (someone ran gocryptfs -passwd by hand): applied.
    assert passwd_already_done(record, 'c1' * 32, digest) is False
    assert passwd_already_done('', 'c0' * 32, digest) is False
    assert passwd_already_done('garbage', 'c0' * 32, digest) is False
    assert passwd_already_done('v1 xyz abcd ' + 'c0' * 32, 'c0' * 32, digest) is False


# The store's own filesystem. STORE_MOUNTINFO is the lab's (Debian 12 container):
# the 32 MiB ext4 image mounted with fuse2fs on the parent of the cipher directory
# (the mount table names it fuse.ext4), gocryptfs on top.
STORE_DIR = '/var/lib/ephi-encrypted-logs'
STORE_LINE = ('377 1380 0:171 / ' + STORE_DIR + ' rw,nosuid,nodev,noexec,relatime - fuse.ext4 '
              '/srv/ephi-lab-store.img rw,user_id=0,group_id=0')
STORE_MOUNTS = parse_mountinfo(MOUNTINFO + '\n' + STORE_LINE)
SHARED_MOUNTS = parse_mountinfo(MOUNTINFO)
SPACE = {'free_bytes': 30 * 1024 * 1024, 'total_bytes': 45 * 1024 * 1024, 'free_inodes': 8000}


@pytest.mark.parametrize('path,unit', [
    ('/var/lib/ephi-encrypted-logs', 'var-lib-ephi\\x2dencrypted\\x2dlogs'),
    ('/srv/.x/a@b+c', 'srv-.x-a\\x40b\\x2bc'),  # systemd-escape -p: '.' kept inside, @ and + escaped
    ('/.hidden', '\\x2ehidden'),  # a leading '.' is escaped
    ('/', '-'),
    ('//srv//logs/', 'srv-logs'),
])
def test_systemd_escape_path_matches_systemd_escape(path, unit):
    # Expected values printed by systemd-escape --path (systemd 252).
    assert systemd_escape_path(path) == unit


def store_problems(**kw):
    args = dict(backend='gocryptfs', backing_path=BACKING, mount_path=MOUNT, device='', fstype='',
                options='nodev,nosuid,noexec', min_free_mb=0)
    args.update(kw)
    return [var for var, dummy in store_config_problems(**args)]


@pytest.mark.parametrize('kw', [
    {},
    dict(device='LABEL=ephi-logs', fstype='ext4'),
    dict(device='UUID=3f2a9c0e-1b6d-4e8f-9a7b-5c3d1e0f2a4b', fstype='xfs'),
    dict(device='/dev/vg0/ephi-logs', fstype='ext4', options='nodev,nosuid,noexec,noatime'),
    dict(device='/srv/ephi-lab-store.img', fstype='fuse.fuse2fs'),
    dict(device='tmpfs', fstype='tmpfs', options='size=32m,mode=0700,nodev'),
    dict(backend='luks', backing_path=CONTAINER, device='LABEL=x', fstype='ext4'),
    dict(min_free_mb='100'),
], ids=['none', 'label', 'uuid', 'lv', 'image', 'tmpfs', 'luks', 'min-free-text'])
def test_store_settings_accepted(kw):
    assert store_problems(**kw) == []


@pytest.mark.parametrize('kw,var', [
    (dict(fstype='ext4'), 'encrypted_logs_store_fstype'),
    (dict(device='LABEL=x'), 'encrypted_logs_store_fstype'),
    (dict(device='LABEL=x', fstype='auto'), 'encrypted_logs_store_fstype'),
    (dict(device='LABEL=x', fstype='Ext 4'), 'encrypted_logs_store_fstype'),
    (dict(device='tmpfs', fstype='ramfs', options='nodev'), 'encrypted_logs_store_fstype'),
    (dict(device='tmpfs', fstype='tmpfs', options='nodev'), 'encrypted_logs_store_options'),
    (dict(device='LABEL=x', fstype='ext4', options='bind'), 'encrypted_logs_store_options'),
    (dict(device='LABEL=x', fstype='ext4', options='nodev, noexec'), 'encrypted_logs_store_options'),
    (dict(device='LABEL=x', fstype='ext4', options=''), 'encrypted_logs_store_options'),
    (dict(device='sda1', fstype='ext4'), 'encrypted_logs_store_device'),
    (dict(device='/dev/../etc/x', fstype='ext4'), 'encrypted_logs_store_device'),
    (dict(device='LABEL=x\nWhat=/dev/sda', fstype='ext4'), 'encrypted_logs_store_device'),
    (dict(device=STORE_DIR + '/store.img', fstype='fuse.fuse2fs'), 'encrypted_logs_store_device'),
    (dict(device='LABEL=x', fstype='ext4', backing_path='/var/lib/ciphertext'), 'encrypted_logs_store_device'),
    (dict(device='LABEL=x', fstype='ext4', backing_path='/srv/ciphertext'), 'encrypted_logs_store_device'),
    (dict(device='LABEL=x', fstype='ext4', backend='fscrypt'), 'encrypted_logs_store_device'),
    (dict(min_free_mb=-1), 'encrypted_logs_store_min_free_mb'),
    (dict(min_free_mb='ten'), 'encrypted_logs_store_min_free_mb'),
    (dict(min_free_mb=True), 'encrypted_logs_store_min_free_mb'),
], ids=['fstype-alone', 'no-fstype', 'auto', 'bad-fstype', 'ramfs', 'tmpfs-unbounded', 'bind', 'spaces', 'no-options',
        'relative-device', 'dots', 'newline', 'image-inside-store', 'store-on-var-lib', 'store-on-srv', 'fscrypt',
        'negative', 'text', 'bool'])
def test_store_settings_refused(kw, var):
    assert var in store_problems(**kw)


def store_params(**kw):
    base = params('gocryptfs', store_device='', store_require_own_fs=False, store_min_free_mb=0)
    base.update(kw)
    return base


def test_store_mount_facts_own_shared_and_missing():
    own = store_mount_facts(STORE_MOUNTS, BACKING, STORE_DIR)
    assert own['own'] and own['mount_point'] == STORE_DIR and own['fstype'] == 'fuse.ext4'
    assert own['mounted_here'] == {'fstype': 'fuse.ext4', 'source': '/srv/ephi-lab-store.img'}
    shared = store_mount_facts(SHARED_MOUNTS, BACKING, STORE_DIR)
    assert not shared['own'] and shared['mount_point'] == '/' and shared['mounted_here'] is None
    assert shared['device'] == shared['root_device'] == '0:97'
    # A bind mount of a directory of / on the store directory: a mount point, the same device.
    bind = parse_mountinfo(MOUNTINFO + '\n1500 1380 0:97 /srv/x ' + STORE_DIR + ' rw - overlay overlay rw')
    assert not store_mount_facts(bind, BACKING, STORE_DIR)['own']
    # A filesystem mounted higher up (all of /var/lib) is not the store's own.
    var_lib = parse_mountinfo(MOUNTINFO + '\n1500 1380 8:3 / /var/lib rw - ext4 /dev/sda3 rw')
    assert not store_mount_facts(var_lib, BACKING, STORE_DIR)['own']
    assert store_mount_facts([], BACKING, STORE_DIR).get('error')


def test_store_refusal():
    own = store_mount_facts(STORE_MOUNTS, BACKING, STORE_DIR)
    shared = store_mount_facts(SHARED_MOUNTS, BACKING, STORE_DIR)
    device = store_params(store_device='LABEL=x', store_fstype='ext4')
    # First run: nothing there yet, or the filesystem is already mounted.
    assert store_refusal(device, shared, data_present=False) == ''
    assert store_refusal(device, own, data_present=True) == ''
    # Logs on / would be hidden by the new mount.
    hidden = store_refusal(device, shared, data_present=True)
    assert hidden.startswith('encrypted_logs_store_device:') and 'hide' in hidden, hidden
    required = store_params(store_require_own_fs=True)
    assert store_refusal(required, own, data_present=True) == ''
    assert 'not on a filesystem of its own' in store_refusal(required, shared, data_present=True)
    assert store_refusal(store_params(), shared, data_present=True) == ''
    assert 'could not examine' in store_refusal(required, {'error': 'EIO'}, data_present=True)


def store_status(prm, mounts=None, space=None, mountinfo=None):
    mounts = STORE_MOUNTS if mounts is None else mounts
    obs = {'mountinfo': mountinfo or {}, 'store': store_mount_facts(mounts, BACKING, STORE_DIR),
           'store_space': SPACE if space is None else space}
    record = store_control(prm, obs)
    return record['status'], record['observed']


def test_store_control():
    status, observed = store_status(store_params(store_device='/srv/ephi-lab-store.img', store_fstype='fuse.fuse2fs'))
    assert status == 'pass', observed
    assert observed == ('%s is on fuse.ext4 /srv/ephi-lab-store.img mounted at %s (a filesystem of its own); '
                        '30 MiB free of 45 MiB, 8000 inodes free' % (BACKING, STORE_DIR))
    # Own filesystem, nothing required: pass. Shared, nothing required: reported, not applicable.
    assert store_status(store_params())[0] == 'pass'
    status, observed = store_status(store_params(), mounts=SHARED_MOUNTS)
    assert status == 'not_applicable' and 'the root filesystem, shared with everything on /' in observed, observed
    # Required (by the flag or by a configured device) and shared: fail.
    assert store_status(store_params(store_require_own_fs=True), mounts=SHARED_MOUNTS)[0] == 'fail'
    status, observed = store_status(store_params(store_device='LABEL=x', store_fstype='ext4'), mounts=SHARED_MOUNTS)
    assert status == 'fail' and 'encrypted_logs_store_device LABEL=x' in observed, observed
    # Less free than required: fail, also on its own filesystem; enough: pass.
    status, observed = store_status(store_params(store_min_free_mb=31))
    assert status == 'fail' and 'less than the 31 MiB free required' in observed, observed
    assert store_status(store_params(store_min_free_mb=30))[0] == 'pass'
    assert store_status(store_params(store_min_free_mb=31), mounts=SHARED_MOUNTS)[0] == 'fail'
    # Probes that could not examine: fail, whatever is required.
    assert store_status(store_params(), space={'error': 'EACCES'})[0] == 'fail'
    assert store_status(store_params(), mounts=[])[0] == 'fail'
    assert store_status(store_params(), mountinfo={'error': 'EIO'})[0] == 'fail'
    record = store_control(store_params(store_min_free_mb=5), {'mountinfo': {}})
    assert record['status'] == 'fail' and 'with at least 5 MiB free' in record['check']
    assert (record['safeguard'], record['hipaa']) == ('audit_controls', '164.312(b)')
