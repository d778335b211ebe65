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

import re

from ansible_collections.ephi.safeguards.plugins.module_utils.evidence import record

HIPAA_ENCRYPTION = '164.312(a)(2)(iv)'
HIPAA_ACCESS = '164.312(a)(1)'
STIG_ENCRYPTION = 'RHEL-08-010030'

MEMORY_FSTYPES = ('tmpfs', 'ramfs')

# Names gocryptfs itself keeps in every cipher directory: never plain text.
GOCRYPTFS_RESERVED = ('gocryptfs.conf', 'gocryptfs.diriv')
GOCRYPTFS_LONGNAME_PREFIX = 'gocryptfs.longname.'

_OCTAL_ESCAPE = re.compile(r'\\([0-7]{3})')


def unescape_mount_field(field):
    """Undo the kernel's octal escapes (space, tab, newline, backslash) of /proc/*/mountinfo."""
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text):
    """Entries of /proc/self/mountinfo, in order (later entries are mounted on top).

    Each entry: dict(mount_id, parent_id, major, minor, root, mount_point,
    fstype, source). Malformed lines raise ValueError: a mount table that
    cannot be read is not evidence.
    """
    mounts = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = line.split(' ')
        try:
            sep = fields.index('-', 6)
            major, minor = fields[2].split(':')
            mounts.append({
                'mount_id': int(fields[0]),
                'parent_id': int(fields[1]),
                'major': int(major),
                'minor': int(minor),
                'root': unescape_mount_field(fields[3]),
                'mount_point': unescape_mount_field(fields[4]),
                'fstype': fields[sep + 1],
                'source': unescape_mount_field(fields[sep + 2]),
            })
        except (ValueError, IndexError):
            raise ValueError('malformed mountinfo line: %r' % line[:200])
    return mounts


def mount_at(mounts, path):
    """The visible (topmost, last listed) mount whose mount point is exactly path, or None."""
    found = None
    for entry in mounts:
        if entry['mount_point'] == path:
            found = entry
    return found


def mount_containing(mounts, path):
    """The mount that holds path (longest mount point prefix, topmost), as findmnt --target."""
    best = None
    for entry in mounts:
        point = entry['mount_point']
        if path == point or point == '/' or path.startswith(point.rstrip('/') + '/'):
            if best is None or len(point) >= len(best['mount_point']):
                best = entry
    return best


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


def _record(cid, safeguard, hipaa, stig, check, decision):
    status, observed = decision
    return record(cid, safeguard, hipaa, stig, check, observed, status)


def build_controls(params, obs):
    """The evidence records of the encrypted_logs role, from the host's observations.

    params: backend, mount_path, backing_path, key_file, key_source, service_name, group.
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
    ]


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
