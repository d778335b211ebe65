# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure logic for the ``ephi.safeguards.encrypted_logs_verify`` and
``ephi.safeguards.encrypted_logs_secret`` modules.

Nothing in here performs I/O or imports AnsibleModule: the modules gather
observations on the host (the mount table, sysfs, an ioctl, two directory
walks, stat results) and these functions decide.

A control that could not examine its object fails: every observation may
carry an ``error`` (the probe itself failed), and an error is never a pass.

What proves encryption of *that very mount*, per backend:

* gocryptfs: the mount at the path is ``fuse.gocryptfs`` and its source (the
  FUSE ``fsname``, which gocryptfs sets to the cipher directory) is the
  configured backing directory, which holds a regular ``gocryptfs.conf``; no
  plain-text name of the tree appears in the backing store.
* luks: the mount's device (major:minor from the mount table) is a
  device-mapper device whose dm uuid starts with ``CRYPT-`` (a dm-crypt
  mapping), stacked on a loop device whose backing file is the configured
  container.
* fscrypt: the kernel reports an fscrypt policy on the directory
  (FS_IOC_GET_ENCRYPTION_POLICY_EX / FS_IOC_GET_ENCRYPTION_POLICY).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re

from ansible_collections.ephi.safeguards.plugins.module_utils.evidence import record
from ansible_collections.ephi.safeguards.plugins.module_utils.mountinfo import mount_at, mount_containing

HIPAA_ENCRYPTION = '164.312(a)(2)(iv)'
HIPAA_ACCESS = '164.312(a)(1)'
HIPAA_AUDIT = '164.312(b)'
STIG_ENCRYPTION = 'RHEL-08-010030'

MEMORY_FSTYPES = ('tmpfs', 'ramfs')

# Names gocryptfs itself keeps in every cipher directory: never plain text.
GOCRYPTFS_RESERVED = ('gocryptfs.conf', 'gocryptfs.diriv')
GOCRYPTFS_LONGNAME_PREFIX = 'gocryptfs.longname.'


def leaked_names(plain_names, cipher_names):
    """Plain-text names that also appear in the backing store, sorted.

    O(n) in the number of names (set intersection). gocryptfs's own files
    (gocryptfs.conf, gocryptfs.diriv, gocryptfs.longname.*) are in every
    cipher directory and never count.
    """
    cipher = set(name for name in cipher_names
                 if name not in GOCRYPTFS_RESERVED and not name.startswith(GOCRYPTFS_LONGNAME_PREFIX))
    return sorted(set(plain_names) & cipher)


def _examine_error(obs, *keys):
    """The first probe error among obs[key]['error'] (or obs['error']), else None."""
    for key in keys:
        value = obs.get(key)
        if isinstance(value, dict) and value.get('error'):
            return '%s: %s' % (key, value['error'])
    return None


def decide_mount(backend, params, obs):
    """(status, observed) of encrypted-logs-mounted: the path is a mount of this backend's kind,
    from the configured encrypted source."""
    if backend == 'fscrypt':
        return 'not_applicable', 'fscrypt directories are not mounts; see encrypted-logs-backing-encrypted'
    if obs.get('mountinfo', {}).get('error'):
        return 'fail', 'could not examine the mount table: %s' % obs['mountinfo']['error']
    mount = obs.get('mount')
    if not mount:
        return 'fail', 'not mounted'
    what = 'mounted as %s from %s' % (mount['fstype'], mount['source'])
    if backend == 'gocryptfs':
        if mount['fstype'] != 'fuse.gocryptfs':
            return 'fail', what + ', not fuse.gocryptfs'
        if mount['source'] != params['backing_path']:
            return 'fail', what + ', not from %s' % params['backing_path']
        return 'pass', what
    # luks
    ok, detail = _luks_proof(params, obs)
    return ('pass' if ok else 'fail'), what + '; ' + detail


def _luks_proof(params, obs):
    """(proven, text): the mount's device is a dm-crypt mapping of the configured container."""
    dm = obs.get('dm') or {}
    if dm.get('error'):
        return False, 'could not examine the device: %s' % dm['error']
    if not dm.get('is_dm'):
        return False, 'device %s is not a device-mapper device (no dm-crypt mapping)' % dm.get('device', '?')
    uuid = dm.get('uuid') or ''
    if not uuid.startswith('CRYPT-'):
        return False, 'dm device %s has uuid %r, not a dm-crypt (CRYPT-) mapping' % (dm.get('name', '?'), uuid)
    backing = dm.get('backing_files') or []
    if params['backing_path'] not in backing:
        return False, 'dm-crypt mapping %s sits on %s, not on %s' % (
            dm.get('name', '?'), ', '.join(backing) or 'no loop-backed file', params['backing_path'])
    kind = uuid.split('-')[1]  # CRYPT-LUKS2-<uuid>-<name>
    return True, 'dm-crypt mapping %s (%s) of %s' % (dm.get('name', '?'), kind, params['backing_path'])


def decide_encryption(backend, params, obs):
    """(status, observed) of encrypted-logs-backing-encrypted: encryption of that very
    directory is proven."""
    if backend == 'fscrypt':
        policy = obs.get('policy') or {}
        state = policy.get('state')
        path = params['mount_path']
        if state == 'encrypted':
            return 'pass', 'fscrypt policy v%s on %s' % (policy.get('version', '?'), path)
        if state == 'not_encrypted':
            return 'fail', 'no fscrypt policy on %s (plain directory)' % path
        if state == 'unsupported':
            return 'fail', 'the filesystem of %s does not support fscrypt (%s)' % (path, policy.get('detail', ''))
        if state == 'missing':
            return 'fail', 'directory %s MISSING' % path
        return 'fail', 'could not examine the fscrypt policy of %s: %s' % (path, policy.get('error') or 'no result')
    if obs.get('mountinfo', {}).get('error'):
        return 'fail', 'could not examine the mount table: %s' % obs['mountinfo']['error']
    mount = obs.get('mount')
    if backend == 'luks':
        container = obs.get('container') or {}
        if container.get('error'):
            return 'fail', 'could not examine the container: %s' % container['error']
        have = 'container %s' % ('present' if container.get('regular') else 'MISSING')
        if not mount:
            return 'fail', have + ', not mounted: nothing proves the directory is encrypted'
        ok, detail = _luks_proof(params, obs)
        return ('pass' if ok and container.get('regular') else 'fail'), have + '; ' + detail
    # gocryptfs
    conf = obs.get('conf') or {}
    if conf.get('error'):
        return 'fail', 'could not examine gocryptfs.conf: %s' % conf['error']
    have = 'gocryptfs.conf %s' % ('present' if conf.get('regular') else 'MISSING')
    if not mount:
        return 'fail', have + '; not mounted: the plain-text names cannot be compared with the backing store'
    if mount['fstype'] != 'fuse.gocryptfs' or mount['source'] != params['backing_path']:
        return 'fail', have + '; %s is mounted as %s from %s, not gocryptfs from %s' % (
            params['mount_path'], mount['fstype'], mount['source'], params['backing_path'])
    leak = obs.get('leak') or {}
    if leak.get('error') or 'plain_count' not in leak:
        return 'fail', have + '; could not compare names: %s' % (leak.get('error') or 'no result')
    examples = leak.get('examples') or []
    text = '%s; %d plain-text name(s) in the tree, %d of them found in the backing store' % (
        have, leak['plain_count'], leak['leaked_count'])
    if examples:
        text += ': ' + ', '.join(examples)
    return ('pass' if conf.get('regular') and leak['leaked_count'] == 0 else 'fail'), text


def decide_key(params, obs):
    """(status, observed) of encrypted-logs-key-protected."""
    key = obs.get('key') or {}
    keydir_fs = obs.get('key_dir_fstype') or 'unknown'
    if key.get('error'):
        return 'fail', 'could not examine the key file: %s' % key['error']
    if not key.get('exists'):
        observed = 'no key file (directory sealed until the next unlock run)'
        ok = False
    else:
        observed = 'key %s %s%s' % (key.get('owner', '?'), key.get('mode', '?'), '' if key.get('regular') else ' (NOT a regular file)')
        ok = key.get('regular') and key.get('uid') == 0 and key.get('mode') == '0400'
    mem_ok = params['key_source'] == 'host' or keydir_fs in MEMORY_FSTYPES
    return ('pass' if ok and mem_ok else 'fail'), observed + '; key directory on ' + keydir_fs


def decide_unit(obs):
    state = (obs.get('unit') or {}).get('state') or ''
    return ('pass' if state == 'enabled' else 'fail'), 'unit ' + (state or 'missing')


def decide_access(obs):
    tree = obs.get('tree') or {}
    if tree.get('error'):
        return 'fail', 'could not examine the directory: %s' % tree['error']
    if not tree.get('exists'):
        return 'fail', 'directory missing'
    observed = 'owner %s:%s mode %s' % (tree.get('owner', '?'), tree.get('group', '?'), tree.get('mode', '????'))
    ok = tree.get('isdir') and tree.get('uid') == 0 and tree.get('mode', '')[-1:] == '0'
    return ('pass' if ok else 'fail'), observed + ('' if tree.get('isdir') else ' (NOT a directory)')


# The store's own filesystem (issue 12, "nobody can stop it for others"). On
# the filesystem of / anything (one user's recorded output, a full /var/tmp,
# the journal) that fills it stops recording for every user and can break the
# host; on a filesystem of its own only the recordings fill the store, and
# the recorder's ENOSPC handling bounds and logs the loss.

# Directories a dedicated filesystem must never be mounted on (it would hide
# the system's own files): the store directory must be the role's own.
STORE_SYSTEM_DIRS = frozenset([
    '/', '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib64', '/media', '/mnt', '/opt', '/proc',
    '/root', '/run', '/sbin', '/srv', '/sys', '/tmp', '/usr', '/usr/lib', '/usr/local', '/usr/share',
    '/var', '/var/backups', '/var/cache', '/var/lib', '/var/local', '/var/log', '/var/mail', '/var/opt',
    '/var/spool', '/var/tmp',
])
# What= of the mount unit: a device or image path, a UUID=/LABEL=/PARTUUID=/PARTLABEL= tag, or tmpfs.
_STORE_DEVICE_RE = re.compile(r'^(?:(?:/[A-Za-z0-9_.@+:=-]+)+|(?:UUID|PARTUUID|LABEL|PARTLABEL)=[A-Za-z0-9_.:+-]+|tmpfs)$')
_STORE_FSTYPE_RE = re.compile(r'^[a-z0-9]+(?:[._][a-z0-9]+)*$')
_STORE_OPTION_RE = re.compile(r'^[A-Za-z0-9_.:/+=-]+$')
_DOTS_RE = re.compile(r'(^|/)[.]{1,2}(/|$)')
# Options that make the mount something else than a filesystem of its own.
STORE_FORBIDDEN_OPTIONS = ('bind', 'rbind', 'move', 'remount')
MIB = 1024 * 1024
_UNIT_SAFE_RE = re.compile(r'^[A-Za-z0-9:_.]$')


def store_paths(backend, backing_path, mount_path):
    """(data, store_dir): the path that holds the encrypted data (the gocryptfs cipher
    directory or LUKS2 container; for fscrypt the encrypted directory itself) and the
    directory a dedicated filesystem for it is mounted on (its parent)."""
    data = mount_path if backend == 'fscrypt' else backing_path
    return data, posixpath.dirname(data)


def systemd_escape_path(path):
    """The name systemd gives the mount unit of PATH, without the suffix
    (systemd-escape --path): '/' between components becomes '-', every byte
    outside [A-Za-z0-9:_.] (and a leading '.') becomes \\xNN."""
    trimmed = '/'.join(part for part in path.split('/') if part)
    if not trimmed:
        return '-'
    out = []
    for index, char in enumerate(trimmed):
        if char == '/':
            out.append('-')
        elif _UNIT_SAFE_RE.match(char) and not (index == 0 and char == '.'):
            out.append(char)
        else:
            out.extend('\\x%02x' % byte for byte in char.encode('utf-8'))
    return ''.join(out)


def mount_unit_name(path):
    """The systemd mount unit for mount point PATH, e.g. var-lib-ephi\\x2dencrypted\\x2dlogs.mount."""
    return systemd_escape_path(path) + '.mount'


def store_config_problems(backend, backing_path, mount_path, device, fstype, options, min_free_mb):
    """[(variable, message)] wrong with the store filesystem settings (empty: fine).

    Pure; check_vars.yml fails on the first run with these before anything changes.
    """
    problems = []
    data, store_dir = store_paths(backend, backing_path, mount_path)
    try:
        min_free = None if isinstance(min_free_mb, (bool, float)) else int(min_free_mb)
    except (TypeError, ValueError):
        min_free = None
    if min_free is None or min_free < 0:
        problems.append(('encrypted_logs_store_min_free_mb',
                         'must be a whole number of MiB (0: only reported), got %r' % (min_free_mb,)))
    device = device or ''
    fstype = fstype or ''
    if not device:
        if fstype:
            problems.append(('encrypted_logs_store_fstype', 'is only used with encrypted_logs_store_device; leave it empty'))
        return problems
    if backend == 'fscrypt':
        problems.append(('encrypted_logs_store_device',
                         'cannot be used with the fscrypt backend, which encrypts encrypted_logs_mount_path in place: '
                         'mount a filesystem with encryption support there yourself (see docs/encrypted_logs.md)'))
        return problems
    if not _STORE_DEVICE_RE.match(device) or _DOTS_RE.search(device):
        problems.append(('encrypted_logs_store_device',
                         'must be a device or image path (/dev/...), UUID=, LABEL=, PARTUUID=, PARTLABEL= or tmpfs, '
                         'got %r' % device[:60]))
    elif device.startswith('/') and any((device + '/').startswith(p.rstrip('/') + '/')
                                        for p in (store_dir, mount_path)):
        problems.append(('encrypted_logs_store_device',
                         'must lie outside the store directory %s and %s (it would be hidden by its own mount)'
                         % (store_dir, mount_path)))
    if store_dir in STORE_SYSTEM_DIRS:
        problems.append(('encrypted_logs_store_device',
                         'would be mounted on %s (the parent of encrypted_logs_backing_path %s), a system directory: '
                         'give encrypted_logs_backing_path a parent of its own, such as /var/lib/ephi-encrypted-logs/ciphertext'
                         % (store_dir, data)))
    if not fstype:
        problems.append(('encrypted_logs_store_fstype', 'is required with encrypted_logs_store_device (ext4, xfs, ...)'))
    elif not _STORE_FSTYPE_RE.match(fstype) or fstype in ('auto', 'none'):
        problems.append(('encrypted_logs_store_fstype',
                         'must be a filesystem type such as ext4, xfs or tmpfs (not auto or none), got %r' % fstype[:40]))
    elif fstype == 'ramfs':
        problems.append(('encrypted_logs_store_fstype', 'ramfs has no size limit: nothing bounds the store; use tmpfs with size='))
    opts = (options or '').split(',')
    if not options or not all(_STORE_OPTION_RE.match(opt) for opt in opts):
        problems.append(('encrypted_logs_store_options',
                         'must be a comma-separated list of mount options without spaces, got %r' % (options or '')[:60]))
    elif [opt for opt in opts if opt in STORE_FORBIDDEN_OPTIONS]:
        problems.append(('encrypted_logs_store_options',
                         'must not contain %s: a bind or moved mount is not a filesystem of its own'
                         % ', '.join(opt for opt in opts if opt in STORE_FORBIDDEN_OPTIONS)))
    elif fstype == 'tmpfs' and not [opt for opt in opts if opt.startswith('size=')]:
        problems.append(('encrypted_logs_store_options',
                         'a tmpfs store needs size=... (an unbounded tmpfs can take half the memory)'))
    return problems


def store_mount_facts(mounts, data, store_dir):
    """What the mount table says about the store (pure): the mount that holds DATA
    (as findmnt --target: by path prefix, so DATA need not exist yet), whether that
    is the store's own filesystem, and the mount at STORE_DIR itself."""
    holder = mount_containing(mounts, data)
    root = mount_at(mounts, '/') or mount_containing(mounts, '/')
    here = mount_at(mounts, store_dir)
    if holder is None or root is None:
        return {'error': 'no mount holds %s' % data}
    device = '%d:%d' % (holder['major'], holder['minor'])
    root_device = '%d:%d' % (root['major'], root['minor'])
    own = holder['mount_point'] in (data, store_dir) and device != root_device
    return {'mount_point': holder['mount_point'], 'fstype': holder['fstype'], 'source': holder['source'],
            'device': device, 'root_device': root_device, 'own': own,
            'mounted_here': ({'fstype': here['fstype'], 'source': here['source']} if here else None)}


def store_refusal(params, store, data_present):
    """Why the role must not go on with this store (a message), or '' (pure).

    params: backend, backing_path, mount_path, store_device, store_require_own_fs.
    A filesystem already mounted on the store directory is accepted as it is
    (the mount table shows FUSE filesystems under their own names: fuse2fs
    mounts appear as fuse.ext4), and verify reports what it is. STORE: store_mount_facts(). DATA_PRESENT: the
    encrypted data (gocryptfs.conf, the LUKS container) exists at its path now.
    """
    data, store_dir = store_paths(params['backend'], params['backing_path'], params['mount_path'])
    if store.get('error'):
        return 'could not examine the filesystem of the log store %s: %s' % (data, store['error'])
    device = params.get('store_device') or ''
    here = store.get('mounted_here')
    if device:
        if here is None and data_present:
            return ('encrypted_logs_store_device: %s already holds encrypted session logs on the filesystem mounted at %s; '
                    'mounting %s on %s would hide them from the recorder and from readers. Move them onto the new '
                    'filesystem by hand (docs/encrypted_logs.md, "Moving the store to a filesystem of its own"), then run again.'
                    % (data, store['mount_point'], device, store_dir))
        return ''
    if params.get('store_require_own_fs') and not store.get('own'):
        return ('encrypted_logs_store_require_own_fs: the log store %s is on %s %s mounted at %s, not on a filesystem of '
                'its own; mount a dedicated filesystem on %s first (or set encrypted_logs_store_device), then run again.'
                % (data, store['fstype'], store['source'], store['mount_point'], store_dir))
    return ''


def decide_store(params, obs):
    """(status, observed) of encrypted-logs-store-filesystem: the store is on a
    filesystem of its own (required when configured) with the free space asked for.

    Not required and shared: not_applicable, the facts in the observation (a
    store moves to a new filesystem only with a disk and a copy, which the role
    cannot do for an existing host by itself).
    """
    if obs.get('mountinfo', {}).get('error'):
        return 'fail', 'could not examine the mount table: %s' % obs['mountinfo']['error']
    data, store_dir = store_paths(params['backend'], params['backing_path'], params['mount_path'])
    store = obs.get('store') or {'error': 'no result'}
    if store.get('error'):
        return 'fail', 'could not examine the filesystem of %s: %s' % (data, store['error'])
    space = obs.get('store_space') or {'error': 'no result'}
    if space.get('error'):
        return 'fail', 'could not examine the free space of %s: %s' % (data, space['error'])
    device = params.get('store_device') or ''
    required = bool(params.get('store_require_own_fs')) or bool(device)
    min_free = params.get('store_min_free_mb') or 0
    own = store.get('own')
    if own:
        where = 'a filesystem of its own'
    elif store['device'] == store['root_device']:
        where = 'the root filesystem, shared with everything on /'
    else:
        where = 'shared with everything else below %s' % store['mount_point']
    free_mb = space['free_bytes'] // MIB
    total_mb = space['total_bytes'] // MIB
    text = '%s is on %s %s mounted at %s (%s); %d MiB free of %d MiB, %s inodes free' % (
        data, store['fstype'], store['source'], store['mount_point'], where, free_mb, total_mb,
        space.get('free_inodes', '?'))
    problems = []
    if required and not own:
        problems.append('a filesystem of its own is required (%s)' % (
            'encrypted_logs_store_device %s' % device if device else 'encrypted_logs_store_require_own_fs'))
    if min_free and free_mb < min_free:
        problems.append('less than the %d MiB free required (encrypted_logs_store_min_free_mb)' % min_free)
    if problems:
        return 'fail', text + '; ' + '; '.join(problems)
    if own:
        return 'pass', text
    return 'not_applicable', text + ('; not required (encrypted_logs_store_require_own_fs is false): whatever fills %s '
                                     'stops recording for every user' % store['mount_point'])


def _record(cid, safeguard, hipaa, stig, check, decision):
    status, observed = decision
    return record(cid, safeguard, hipaa, stig, check, observed, status)


def build_controls(params, obs):
    """The evidence records of the encrypted_logs role, from the host's observations.

    params: backend, mount_path, backing_path, key_file, key_source, service_name, group,
    store_device, store_fstype, store_require_own_fs, store_min_free_mb.
    """
    backend = params['backend']
    key_check = 'Key %s is root-only (0400)%s' % (
        params['key_file'], ', on disk outside the encrypted tree' if params['key_source'] == 'host'
        else ', in memory only (tmpfs)')
    return [
        _record('encrypted-logs-mounted', 'encryption_at_rest', HIPAA_ENCRYPTION, STIG_ENCRYPTION,
                'Session log directory %s is unlocked and mounted from the %s backend' % (params['mount_path'], backend),
                decide_mount(backend, params, obs)),
        _record('encrypted-logs-backing-encrypted', 'encryption_at_rest', HIPAA_ENCRYPTION, STIG_ENCRYPTION,
                'The directory %s is proven encrypted by %s (%s) and the backing store holds only ciphertext' % (
                    params['mount_path'], backend, params['backing_path'] if backend != 'fscrypt' else 'policy on the directory'),
                decide_encryption(backend, params, obs)),
        _record('encrypted-logs-key-protected', 'encryption_at_rest', HIPAA_ENCRYPTION, 'none', key_check,
                decide_key(params, obs)),
        _record('encrypted-logs-boot-unit', 'encryption_at_rest', HIPAA_ENCRYPTION, 'none',
                'systemd unit %s.service unlocks the directory at boot, before the collector' % params['service_name'],
                decide_unit(obs)),
        _record('encrypted-logs-no-other-access', 'access_control', HIPAA_ACCESS, 'none',
                'Nobody outside root and group %s can read %s' % (params['group'], params['mount_path']),
                decide_access(obs)),
        store_control(params, obs),
    ]


def store_control(params, obs):
    """The evidence record encrypted-logs-store-filesystem."""
    data = store_paths(params['backend'], params['backing_path'], params['mount_path'])[0]
    check = 'The log store %s is on a filesystem of its own, so that nothing else can fill it and it cannot fill /' % data
    if params.get('store_min_free_mb'):
        check += ', with at least %d MiB free' % params['store_min_free_mb']
    return _record('encrypted-logs-store-filesystem', 'audit_controls', HIPAA_AUDIT, 'none', check,
                   decide_store(params, obs))


# fscrypt ioctls (linux/fscrypt.h): _IOWR('f', 22, __u8[9]) and _IOW('f', 21, struct fscrypt_policy_v1).
FS_IOC_GET_ENCRYPTION_POLICY_EX = 0xC0096616
FS_IOC_GET_ENCRYPTION_POLICY = 0x400C6615


# The version byte the kernel returns: FSCRYPT_POLICY_V1 is 0, FSCRYPT_POLICY_V2 is 2.
FSCRYPT_POLICY_VERSIONS = {0: 1, 2: 2}


def fscrypt_policy_state(errno_name, kernel_version=None):
    """Map the result of the policy ioctl to an observation (pure; errno by name).

    Success with a known version byte: encrypted. ENODATA: the directory has
    no policy (plain). ENOTTY/EOPNOTSUPP: the filesystem has no encryption
    support. ENOENT: missing. Anything else: could not examine.
    """
    if errno_name is None:
        if kernel_version in FSCRYPT_POLICY_VERSIONS:
            return {'state': 'encrypted', 'version': FSCRYPT_POLICY_VERSIONS[kernel_version]}
        return {'state': 'error', 'error': 'unknown policy version byte %r' % (kernel_version,)}
    if errno_name == 'ENODATA':
        return {'state': 'not_encrypted'}
    if errno_name in ('ENOTTY', 'EOPNOTSUPP', 'ENOTSUP'):
        return {'state': 'unsupported', 'detail': errno_name}
    if errno_name == 'ENOENT':
        return {'state': 'missing'}
    return {'state': 'error', 'error': errno_name}


# Passphrase change bookkeeping (encrypted_logs_secret): the change is recorded
# as "done for this previous passphrase and this resulting config", so a later
# run with the variable still set does not apply it again.

def passwd_stdin(previous, new):
    """What gocryptfs -passwd reads on a non-terminal stdin: the old line, then the new line.

    Both gocryptfs 2.3 and 2.5 read each password as one line from stdin
    when no -passfile/-extpass is given. Newlines inside a passphrase would
    split it, so they are refused.
    """
    for value in (previous, new):
        if not value or '\n' in value or '\r' in value:
            raise ValueError('a passphrase must be one non-empty line')
    return previous + '\n' + new + '\n'


def passwd_record(salt_hex, digest_hex, config_sha256):
    return 'v1 %s %s %s\n' % (salt_hex, digest_hex, config_sha256)


def parse_passwd_record(text):
    """(salt_hex, digest_hex, config_sha256) or None for a missing/unknown record."""
    parts = (text or '').split()
    if len(parts) != 4 or parts[0] != 'v1':
        return None
    if not all(re.match(r'^[0-9a-f]+$', p) for p in parts[1:]):
        return None
    return parts[1], parts[2], parts[3]


def passwd_already_done(record_text, config_sha256, digest_of):
    """True when the record says this previous passphrase was already retired and the
    store's config is still the one that change produced.

    digest_of(salt_hex) computes the (slow, salted) digest of the previous
    passphrase the caller holds; it is only called when the config matches.
    """
    record = parse_passwd_record(record_text)
    if record is None or record[2] != config_sha256:
        return False
    return digest_of(record[0]) == record[1]
