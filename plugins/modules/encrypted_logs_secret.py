#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: encrypted_logs_secret
short_description: Deliver the encrypted log directory's passphrase, or change it, without argv, environment or temp files
version_added: 1.1.0
author: ephi.safeguards maintainers (@ephi-safeguards)
description:
  - Internal helper of the C(ephi.safeguards.encrypted_logs) role. Secrets arrive only as module
    parameters (C(no_log)); with SSH pipelining the module and its parameters travel on the standard
    input of the remote Python process and are never written to a file. The module refuses to run
    from an C(AnsiballZ_*) file on disk (pipelining off) when it was given a secret.
  - O(action=key) writes O(passphrase) to O(path), root 0400, creating it with
    C(O_CREAT|O_EXCL|O_NOFOLLOW) in the same root-only directory and renaming it into place;
    with O(memory_only=true) that directory must be on tmpfs or ramfs. An identical key is left alone.
  - O(action=gocryptfs_passwd) re-wraps the gocryptfs master key (C(gocryptfs -passwd)), the old
    passphrase and the new one (read from O(path)) are written to gocryptfs's standard input through
    a pipe. O(action=luks_passwd) does the same with C(cryptsetup luksChangeKey --key-file -).
  - A passphrase change is recorded in O(state_file) (a salted scrypt digest of the old passphrase and
    the SHA-256 of the resulting gocryptfs.conf or LUKS header dump), so a run with the same old
    passphrase and an unchanged store does not apply it again.
options:
  action:
    description: What to do.
    type: str
    required: true
    choices: [key, gocryptfs_passwd, luks_passwd]
  path:
    description:
      - The key file the unlock unit reads. Written by O(action=key); read as the new passphrase otherwise.
    type: path
    required: true
  passphrase:
    description: The passphrase to deliver (O(action=key)); one line.
    type: str
  memory_only:
    description: O(action=key) fails unless the directory of O(path) is on tmpfs or ramfs.
    type: bool
    default: false
  previous_passphrase:
    description: The passphrase that opens the store today (O(action=gocryptfs_passwd) and O(action=luks_passwd)).
    type: str
  store:
    description: The gocryptfs cipher directory or the LUKS2 container file.
    type: path
  state_file:
    description: Root-only file that records a completed change.
    type: path
  binary:
    description: Path of gocryptfs or cryptsetup.
    type: path
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
    details:
      - Never shows key material.
  platform:
    platforms: posix
notes:
  - Run as root with pipelining (the role sets C(ansible_pipelining) on these tasks).
'''

EXAMPLES = r'''
- name: Deliver the controller's passphrase to memory only
  ephi.safeguards.encrypted_logs_secret:
    action: key
    path: /run/ephi-encrypted-logs/passphrase
    passphrase: "{{ vault_passphrase }}"
    memory_only: true
  vars:
    ansible_pipelining: true
  no_log: true
'''

RETURN = r'''
msg:
  description: What was done, without key material.
  returned: always
  type: str
'''

import binascii
import errno
import hashlib
import hmac
import os
import stat
import sys

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native

from ansible_collections.ephi.safeguards.plugins.module_utils.encrypted_logs import (
    MEMORY_FSTYPES,
    passwd_already_done,
    passwd_record,
    passwd_stdin,
)
from ansible_collections.ephi.safeguards.plugins.module_utils.mountinfo import mount_containing, parse_mountinfo

# scrypt as gocryptfs uses it for its own config (N=65536, r=8, p=1): the record
# is no easier to attack than gocryptfs.conf, which any backup holds anyway.
SCRYPT_N = 1 << 16
SCRYPT_R = 8
SCRYPT_P = 1
GOCRYPTFS_WRONG_PASSWORD = 12
CRYPTSETUP_NO_KEY = 2


def from_disk_payload():
    """True when this module runs from an AnsiballZ file on disk (pipelining off).

    Pipelined, the interpreter reads the payload from stdin and its command line
    is the interpreter alone; otherwise it names the AnsiballZ_*.py file
    (sys.argv is rewritten by the module loader, /proc/self/cmdline is not).
    """
    try:
        with open('/proc/self/cmdline', 'rb') as fh:
            args = fh.read().split(b'\0')
    except (IOError, OSError):
        args = [to_bytes(a) for a in sys.argv]
    return any(os.path.basename(a).startswith(b'AnsiballZ_') for a in args)


def check_root_dir(module, directory, memory_only):
    try:
        st = os.lstat(directory)
    except OSError as exc:
        module.fail_json(msg='%s: %s' % (directory, exc.strerror))
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o022:
        module.fail_json(msg='%s must be a directory owned by root and writable by root only' % directory)
    if memory_only:
        try:
            with open('/proc/self/mountinfo') as fh:
                mounts = parse_mountinfo(fh.read())
        except (IOError, OSError, ValueError) as exc:
            module.fail_json(msg='cannot read the mount table: %s' % to_native(exc))
        mount = mount_containing(mounts, os.path.realpath(directory))
        fstype = mount['fstype'] if mount else 'unknown'
        if fstype not in MEMORY_FSTYPES:
            module.fail_json(msg='%s is on %s, not on memory (tmpfs/ramfs): the passphrase is not written there' % (directory, fstype))


def read_root_file(path):
    """Content of a root-owned regular file, opened without following links; None if absent."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0) | getattr(os, 'O_NONBLOCK', 0))
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != 0:
            raise OSError(errno.EPERM, '%s is not a regular file owned by root' % path)
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b''.join(chunks)
    finally:
        os.close(fd)


def write_root_file(path, data, mode=0o400):
    """Create path.new-<random> with O_EXCL, write, fsync, rename into place (same directory)."""
    tmp = '%s.new-%s' % (path, binascii.hexlify(os.urandom(6)).decode())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0), mode)
    try:
        try:
            os.fchown(fd, 0, 0)
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def action_key(module):
    path = module.params['path']
    passphrase = module.params['passphrase']
    if not passphrase or '\n' in passphrase:
        module.fail_json(msg='passphrase must be one non-empty line')
    if module.check_mode and not os.path.isdir(os.path.dirname(path)):
        module.exit_json(changed=True, msg='would create the directory and write the key')
    check_root_dir(module, os.path.dirname(path), module.params['memory_only'])
    wanted = to_bytes(passphrase, errors='surrogate_or_strict')
    try:
        current = read_root_file(path)
        st = os.lstat(path) if current is not None else None
    except OSError as exc:
        module.fail_json(msg='%s: %s' % (path, exc.strerror or exc))
    if current is not None and hmac.compare_digest(current, wanted):
        if stat.S_IMODE(st.st_mode) == 0o400 and st.st_gid == 0:
            module.exit_json(changed=False, msg='key in place')
        if not module.check_mode:
            os.lchown(path, 0, 0)
            os.chmod(path, 0o400)
        module.exit_json(changed=True, msg='key mode set to root 0400')
    if not module.check_mode:
        try:
            write_root_file(path, wanted)
        except OSError as exc:
            module.fail_json(msg='cannot write %s: %s' % (path, exc.strerror or exc))
    module.exit_json(changed=True, msg='key written' if current is None else 'key replaced')


def scrypt_hex(secret, salt_hex, config_sha256):
    return hashlib.scrypt(to_bytes(secret, errors='surrogate_or_strict'),
                          salt=bytes.fromhex(salt_hex) + bytes.fromhex(config_sha256),
                          n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=1 << 27, dklen=32).hex()


def store_fingerprint(module, action, store, binary):
    """SHA-256 of what a passphrase change rewrites: gocryptfs.conf, or the LUKS header dump."""
    if action == 'gocryptfs_passwd':
        try:
            data = read_root_file(os.path.join(store, 'gocryptfs.conf'))
        except OSError as exc:
            module.fail_json(msg='%s/gocryptfs.conf: %s' % (store, exc.strerror or exc))
        if data is None:
            module.fail_json(msg='%s/gocryptfs.conf does not exist: nothing to change' % store)
        return hashlib.sha256(data).hexdigest()
    rc, out, err = module.run_command([binary, 'luksDump', store], binary_data=True)
    if rc != 0:
        module.fail_json(msg='cryptsetup luksDump %s failed (rc %d): %s' % (store, rc, to_native(err).strip()))
    return hashlib.sha256(to_bytes(out)).hexdigest()


def action_passwd(module):
    p = module.params
    action, store, binary, state_file = p['action'], p['store'], p['binary'], p['state_file']
    previous = p['previous_passphrase']
    for name in ('store', 'binary', 'state_file', 'previous_passphrase'):
        if not p[name]:
            module.fail_json(msg='%s is required with action=%s' % (name, action))
    check_root_dir(module, os.path.dirname(state_file), False)
    try:
        new = read_root_file(p['path'])
        record = read_root_file(state_file)
    except OSError as exc:
        module.fail_json(msg=to_native(exc))
    if new is None:
        module.fail_json(msg='%s (the new key) does not exist' % p['path'])
    new = to_native(new, errors='surrogate_or_strict')
    before = store_fingerprint(module, action, store, binary)
    if passwd_already_done(to_native(record or b''), before, lambda salt: scrypt_hex(previous, salt, before)):
        module.exit_json(changed=False, msg='this previous passphrase was already retired; not applied again')
    if module.check_mode:
        module.exit_json(changed=True, msg='would change the passphrase')
    try:
        if action == 'gocryptfs_passwd':
            data = passwd_stdin(previous, new)
            cmd = [binary, '-q', '-passwd', store]
            wrong = GOCRYPTFS_WRONG_PASSWORD
        else:
            if not previous or '\n' in previous:
                raise ValueError('a passphrase must be one non-empty line')
            data = previous
            cmd = [binary, 'luksChangeKey', '--batch-mode', '--key-file', '-', store, p['path']]
            wrong = CRYPTSETUP_NO_KEY
    except ValueError as exc:
        module.fail_json(msg=to_native(exc))
    rc, dummy, err = module.run_command(cmd, data=data, binary_data=True, environ_update={'LC_ALL': 'C'})
    if rc not in (0, wrong):
        module.fail_json(msg='%s failed (exit %d): %s' % (' '.join(cmd[:3]), rc, to_native(err).strip()[-500:]))
    after = store_fingerprint(module, action, store, binary) if rc == 0 else before
    salt = os.urandom(16).hex()
    write_root_file(state_file, to_bytes(passwd_record(salt, scrypt_hex(previous, salt, after), after)), mode=0o600)
    if rc == 0:
        module.exit_json(changed=True, msg='passphrase changed')
    module.exit_json(changed=False, msg='the previous passphrase does not open the store (changed already); recorded')


def main():
    module = AnsibleModule(
        argument_spec=dict(
            action=dict(type='str', required=True, choices=['key', 'gocryptfs_passwd', 'luks_passwd']),
            path=dict(type='path', required=True),
            passphrase=dict(type='str', no_log=True),
            memory_only=dict(type='bool', default=False),
            previous_passphrase=dict(type='str', no_log=True),
            store=dict(type='path'),
            state_file=dict(type='path'),
            binary=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    if os.geteuid() != 0:
        module.fail_json(msg='must run as root (become: true)')
    if (module.params['passphrase'] or module.params['previous_passphrase']) and from_disk_payload():
        module.fail_json(msg='a secret was passed while the module ran from a file on disk (pipelining off); '
                             'enable pipelining (ansible_pipelining: true) so secrets stay in memory')
    if module.params['action'] == 'key':
        action_key(module)
    action_passwd(module)


if __name__ == '__main__':
    main()
