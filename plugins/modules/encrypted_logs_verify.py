#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: encrypted_logs_verify
short_description: Read-only evidence that the session log directory is encrypted, in one call
version_added: 1.1.0
author: ephi.safeguards maintainers (@ephi-safeguards)
description:
  - The C(verify) entry point of the C(ephi.safeguards.encrypted_logs) role. Observes the host once
    (mount table, sysfs, the fscrypt policy ioctl, the key file, the boot unit, the plain-text and the
    backing tree) and returns one evidence record per control in RV(controls).
  - Each backend's control proves encryption of that very directory. For gocryptfs, the mount is
    C(fuse.gocryptfs) and its source is O(backing_path), which holds C(gocryptfs.conf). For luks, the
    mount's device is a dm-crypt mapping (dm uuid C(CRYPT-)) on a loop device backed by
    O(backing_path). For fscrypt, the kernel reports an encryption policy on O(mount_path).
  - The gocryptfs leak check is linear in the number of files. Every name in the plain-text tree is put in a
    set, the backing tree's names are looked up in it. Only counts and a few example names are returned.
  - A probe that fails (unreadable mount table, sysfs, an ioctl error, a directory that cannot be
    listed) makes its control fail with "could not examine".
  - The store control (C(encrypted-logs-store-filesystem)) reports the filesystem that holds the store (the
    backing path; for fscrypt the directory itself), whether it is a filesystem of its own (mounted on the store
    or its parent directory, another device than C(/)) and its free space and inodes (statvfs). It fails when
    O(store_require_own_fs) or O(store_device) asks for a filesystem of its own and there is none, or when less than
    O(store_min_free_mb) is free; a store that shares a filesystem and is not required to be alone is
    C(not_applicable), with the facts in the observation.
  - O(scope=store) observes only the store (no leak check, no key or unit probe) and returns RV(store_refusal), what
    the role's preflight refuses; it is cheap enough to run before every converge.
options:
  backend:
    description: The role's backend.
    type: str
    required: true
    choices: [gocryptfs, fscrypt, luks]
  mount_path:
    description: The plain-text directory.
    type: path
    required: true
  backing_path:
    description: The gocryptfs cipher directory or the LUKS2 container file.
    type: path
    required: true
  key_file:
    description: The passphrase file the unlock unit reads.
    type: path
    required: true
  key_source:
    description: V(host) (key on disk) or V(controller) (key must be on tmpfs/ramfs).
    type: str
    required: true
    choices: [host, controller]
  service_name:
    description: The unlock unit, without C(.service).
    type: str
    required: true
  group:
    description: Group allowed to read the tree (for the wording of the access control).
    type: str
    default: root
  examples:
    description: How many leaked names to show at most.
    type: int
    default: 3
  store_device:
    description: The filesystem the role mounts on the store's parent directory (C(encrypted_logs_store_device)); empty for none.
    type: str
    default: ''
  store_require_own_fs:
    description: The store must be on a filesystem of its own.
    type: bool
    default: false
  store_min_free_mb:
    description: Fail the store control when less than this many MiB are free (0 reports only).
    type: int
    default: 0
  scope:
    description: V(all) controls, or V(store) only (the role's preflight).
    type: str
    default: all
    choices: [all, store]
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Read-only; runs in check mode too.
  diff_mode:
    support: none
  platform:
    platforms: posix
'''

EXAMPLES = r'''
- name: Evidence for the encrypted log directory
  ephi.safeguards.encrypted_logs_verify:
    backend: gocryptfs
    mount_path: /var/log/ephi
    backing_path: /var/lib/ephi-encrypted-logs/ciphertext
    key_file: /etc/ephi-encrypted-logs/passphrase
    key_source: host
    service_name: ephi-encrypted-logs
  become: true
'''

RETURN = r'''
controls:
  description: Evidence records (id, safeguard, hipaa, stig, check, observed, status).
  returned: always
  type: list
  elements: dict
observations:
  description: What was observed on the host (no file content, no key material).
  returned: always
  type: dict
store_refusal:
  description: Why the role must not go on with this store (existing logs a new mount would hide, a required own
    filesystem missing), or empty.
  returned: always
  type: str
'''

import errno
import fcntl
import os
import stat
import struct

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.ephi.safeguards.plugins.module_utils.names import group_name, user_name
from ansible_collections.ephi.safeguards.plugins.module_utils.encrypted_logs import (
    FS_IOC_GET_ENCRYPTION_POLICY,
    FS_IOC_GET_ENCRYPTION_POLICY_EX,
    build_controls,
    fscrypt_policy_state,
    leaked_names,
    store_control,
    store_mount_facts,
    store_paths,
    store_refusal,
)
from ansible_collections.ephi.safeguards.plugins.module_utils.mountinfo import mount_at, mount_containing, parse_mountinfo


def err_text(exc):
    code = errno.errorcode.get(getattr(exc, 'errno', None) or 0, '')
    return ('%s %s' % (code, getattr(exc, 'strerror', '') or exc)).strip()


def stat_info(path):
    try:
        st = os.lstat(path)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return {'exists': False}
        return {'error': err_text(exc)}
    return {'exists': True, 'regular': stat.S_ISREG(st.st_mode), 'isdir': stat.S_ISDIR(st.st_mode),
            'uid': st.st_uid, 'owner': user_name(st.st_uid), 'group': group_name(st.st_gid),
            'mode': '%04o' % stat.S_IMODE(st.st_mode)}


def read_sys(path):
    with open(path) as fh:
        return fh.read().strip()


def dm_info(major, minor):
    """The device-mapper identity of block device major:minor, from sysfs."""
    base = '/sys/dev/block/%d:%d' % (major, minor)
    device = '%d:%d' % (major, minor)
    if not os.path.exists(base):
        return {'is_dm': False, 'device': device + ' (no block device)'}
    if not os.path.isdir(os.path.join(base, 'dm')):
        return {'is_dm': False, 'device': device}
    try:
        info = {'is_dm': True, 'device': device, 'uuid': read_sys(os.path.join(base, 'dm', 'uuid')),
                'name': read_sys(os.path.join(base, 'dm', 'name')), 'backing_files': []}
        for slave in sorted(os.listdir(os.path.join(base, 'slaves'))):
            backing = '/sys/block/%s/loop/backing_file' % slave
            if os.path.exists(backing):
                info['backing_files'].append(read_sys(backing))
    except (IOError, OSError) as exc:
        return {'error': 'sysfs of %s: %s' % (device, err_text(exc))}
    return info


def fscrypt_policy(path):
    """The fscrypt policy state of directory path, from the kernel."""
    flags = os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0) | os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        return fscrypt_policy_state(errno.errorcode.get(exc.errno, str(exc.errno)))
    try:
        # struct fscrypt_get_policy_ex_arg { __u64 policy_size; union { __u8 version; ... } }
        buf = bytearray(struct.pack('=Q', 24) + b'\0' * 24)
        try:
            fcntl.ioctl(fd, FS_IOC_GET_ENCRYPTION_POLICY_EX, buf, True)
            return fscrypt_policy_state(None, buf[8])
        except (IOError, OSError) as exc:
            if exc.errno not in (errno.ENOTTY, errno.EINVAL):
                return fscrypt_policy_state(errno.errorcode.get(exc.errno, str(exc.errno)))
        # Kernels before 5.4: the v1-only ioctl.
        buf = bytearray(12)
        try:
            fcntl.ioctl(fd, FS_IOC_GET_ENCRYPTION_POLICY, buf, True)
            return fscrypt_policy_state(None, buf[0])
        except (IOError, OSError) as exc:
            return fscrypt_policy_state(errno.errorcode.get(exc.errno, str(exc.errno)))
    finally:
        os.close(fd)


def walk_names(top):
    """(set of entry names, number of entries) below top, not following links or leaving its filesystem."""
    names = set()
    count = 0
    dev = os.lstat(top).st_dev
    stack = [top]
    while stack:
        directory = stack.pop()
        for entry in os.scandir(directory):
            count += 1
            names.add(entry.name)
            if entry.is_dir(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_dev == dev:
                stack.append(entry.path)
    return names, count


def leak_check(mount_path, backing_path, examples):
    try:
        plain, plain_count = walk_names(mount_path)
        cipher, dummy = walk_names(backing_path)
    except OSError as exc:
        return {'error': '%s: %s' % (getattr(exc, 'filename', '') or '', err_text(exc))}
    leaked = leaked_names(plain, cipher)
    return {'plain_count': plain_count, 'leaked_count': len(leaked), 'examples': leaked[:examples]}


def store_space(data, store_dir):
    """Free space and inodes of the filesystem that holds DATA (or, before it exists, its parent)."""
    for path in (data, store_dir):
        try:
            st = os.statvfs(path)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                continue
            return {'error': '%s: %s' % (path, err_text(exc))}
        return {'free_bytes': st.f_bavail * st.f_frsize, 'total_bytes': st.f_blocks * st.f_frsize,
                'free_inodes': st.f_favail}
    return {'error': '%s: missing' % store_dir}


def data_present(p):
    """The encrypted data exists at its configured path now (gocryptfs.conf, the LUKS container, the directory)."""
    if p['backend'] == 'gocryptfs':
        return os.path.lexists(os.path.join(p['backing_path'], 'gocryptfs.conf'))
    return os.path.lexists(p['backing_path'] if p['backend'] == 'luks' else p['mount_path'])


def read_mounts(obs):
    try:
        with open('/proc/self/mountinfo') as fh:
            mounts = parse_mountinfo(fh.read())
        obs['mountinfo'] = {}
    except (IOError, OSError, ValueError) as exc:
        mounts = []
        obs['mountinfo'] = {'error': to_native(exc)}
    return mounts


def observe_store(p, mounts, obs):
    data, store_dir = store_paths(p['backend'], p['backing_path'], p['mount_path'])
    obs['store'] = store_mount_facts(mounts, data, store_dir) if not obs['mountinfo'].get('error') else {
        'error': obs['mountinfo']['error']}
    obs['store_space'] = store_space(data, store_dir)


def observe(module):
    p = module.params
    obs = {}
    mounts = read_mounts(obs)
    observe_store(p, mounts, obs)
    mount = mount_at(mounts, p['mount_path'])
    obs['mount'] = dict((k, mount[k]) for k in ('fstype', 'source', 'major', 'minor')) if mount else None
    holder = mount_containing(mounts, os.path.dirname(p['key_file']))
    obs['key_dir_fstype'] = holder['fstype'] if holder else None
    obs['key'] = stat_info(p['key_file'])
    obs['tree'] = stat_info(p['mount_path'])
    rc, out, dummy = module.run_command(['systemctl', 'is-enabled', p['service_name'] + '.service'])
    obs['unit'] = {'state': out.strip().splitlines()[0] if out.strip() else ''}
    if p['backend'] == 'gocryptfs':
        obs['conf'] = stat_info(os.path.join(p['backing_path'], 'gocryptfs.conf'))
        if mount and mount['fstype'] == 'fuse.gocryptfs' and mount['source'] == p['backing_path']:
            obs['leak'] = leak_check(p['mount_path'], p['backing_path'], p['examples'])
    elif p['backend'] == 'luks':
        obs['container'] = stat_info(p['backing_path'])
        if mount:
            obs['dm'] = dm_info(mount['major'], mount['minor'])
    else:
        obs['policy'] = fscrypt_policy(p['mount_path'])
    return obs


def main():
    module = AnsibleModule(
        argument_spec=dict(
            backend=dict(type='str', required=True, choices=['gocryptfs', 'fscrypt', 'luks']),
            mount_path=dict(type='path', required=True),
            backing_path=dict(type='path', required=True),
            key_file=dict(type='path', required=True),
            key_source=dict(type='str', required=True, choices=['host', 'controller']),
            service_name=dict(type='str', required=True),
            group=dict(type='str', default='root'),
            examples=dict(type='int', default=3),
            store_device=dict(type='str', default=''),
            store_require_own_fs=dict(type='bool', default=False),
            store_min_free_mb=dict(type='int', default=0),
            scope=dict(type='str', default='all', choices=['all', 'store']),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p['scope'] == 'store':
        obs = {}
        observe_store(p, read_mounts(obs), obs)
        controls = [store_control(p, obs)]
    else:
        obs = observe(module)
        controls = build_controls(p, obs)
    module.exit_json(changed=False, controls=controls, observations=obs,
                     store_refusal=store_refusal(p, obs['store'], data_present(p)))


if __name__ == '__main__':
    main()
