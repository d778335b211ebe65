#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ssh_key_audit
short_description: Report which SSH public keys can log in, and which are weak or ignored
version_added: 1.0.0
author: ephi.safeguards maintainers (@ephi-safeguards)
description:
  - Read-only. Asks sshd for its effective configuration (C(sshd -T)), expands C(AuthorizedKeysFile)
    for every account, and reads the central key store and each user's own C(~/.ssh/authorized_keys)
    and C(authorized_keys2).
  - Every key is parsed from its wire format (type, size, SHA256 fingerprint) and checked against the
    key policy (allowed types, RSA size, C(expiry-time)).
  - Reports the keys that can log in, the weak ones (wrong type, short RSA, DSA, expired, unparseable)
    that sshd reads, the keys lying in files sshd does not read, the host keys sshd loads, and the
    difference between the effective sshd settings and O(sshd_settings), as structured data for evidence.
  - Also reports what the account Ansible connects as (O(login_user)) needs for the lockout check.
options:
  store_dir:
    description: The central, root-owned key store (C(AuthorizedKeysFile /etc/ssh/authorized_keys/%u)).
    type: path
    default: /etc/ssh/authorized_keys
  login_user:
    description: Account whose group membership and currently authorized keys are reported in RV(login_user).
    type: str
  allowed_types:
    description: Public key algorithms the policy allows.
    type: list
    elements: str
    default: [ssh-ed25519, sk-ssh-ed25519@openssh.com, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384,
              ecdsa-sha2-nistp521, sk-ecdsa-sha2-nistp256@openssh.com, ssh-rsa]
  rsa_min_bits:
    description: Smallest RSA modulus the policy allows.
    type: int
    default: 3072
  declared:
    description: User name to the list of declared key fingerprints; marks ignored keys that are also declared.
    type: dict
    default: {}
  sshd_settings:
    description:
      - The policy's sshd settings (keyword to value, or list of values for repeated keywords).
        Differences from C(sshd -T) are returned in RV(sshd_drift).
    type: dict
    default: {}
  match_user:
    description: User for the C(sshd -T -C) connection specification (Match blocks); defaults to O(login_user) or C(root).
    type: str
  service:
    description: The systemd unit of sshd, reported in RV(sshd_service) (Debian C(ssh), Red Hat C(sshd)).
    type: str
    default: ssh
  sshd_bin:
    description: Path of sshd. Defaults to C(sshd) found in E(PATH) or C(/usr/sbin).
    type: path
  kex_supported_only:
    description:
      - Compare C(KexAlgorithms) of O(sshd_settings) without the names the installed OpenSSH does not know
        (C(ssh -Q kex); openssh-server depends on the client of its own version), in the order given - the
        ssh_key_policy role renders its list that way, so a policy that names algorithms newer than the host's
        OpenSSH is compared with what the role wrote. When C(ssh -Q kex) cannot answer, the list is compared as
        given, as the role then renders it. The list compared is returned in RV(kex_compared).
    type: bool
    default: false
  ssh_bin:
    description: Path of the OpenSSH client, for O(kex_supported_only). Defaults to C(ssh) found in E(PATH).
    type: path
  sshd_config:
    description:
      - The options of M(ephi.safeguards.ssh_policy_sshd_config) that read (all but C(validate) and C(backup)),
        as a dictionary, and C(per_spec). sshd_config is planned against the policy in this module's run, after
        the probe and before its own work, never written, and the result is returned as RV(sshd_config), one
        module run instead of two. With O(kex_supported_only), its C(KexAlgorithms) are compared the same way
        (one C(ssh -Q kex) for both).
      - C(per_spec) (a dictionary) holds C(keywords) (the sshd keywords to print), C(connection) (the text of
        Ansible's E(SSH_CONNECTION), or empty) and C(extra_addresses). Then C(sshd -T -C) runs for every
        login-capable account of the probe's C(passwd) (O(probe) must ask for it) from 127.0.0.1, from the
        client address of C(connection) and from each of C(extra_addresses), with the local address and port of
        C(connection) when given.
      - Invalid options, or a read that cannot run (sshd_config unreadable, no sshd), make RV(sshd_config) a
        failed result (C(failed) and C(msg)); this module's own work is done either way.
    type: dict
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ephi.safeguards.probe
attributes:
  check_mode:
    support: full
    details: The module never changes anything.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Needs root (become) to run C(sshd -T). Each user's files (in the home directory and the store) are
    read the way sshd reads them, with that user's effective uid, gid and groups, walking the path
    without following symbolic links (except root's own in root-only directories), without blocking,
    and only if the file is a regular file of that user or root of at most 1 MiB. Anything else is
    reported in RV(invalid_lines) with C(line) 0, never followed, and no content of it is returned.
  - Keys in files that sshd does not read cannot log in, but they show where keys were planted or
    left behind; ignored keys that are also declared in the store are flagged C(declared=true).
  - C(expiry-time) is compared in UTC.
seealso:
  - name: sshd(8) AUTHORIZED_KEYS FILE FORMAT
    description: Options such as expiry-time and from.
    link: https://man.openbsd.org/sshd#AUTHORIZED_KEYS_FILE_FORMAT
'''

EXAMPLES = r'''
- name: Collect SSH key evidence
  ephi.safeguards.ssh_key_audit:
    rsa_min_bits: 3072
  become: true
  register: ssh_keys

- name: Show keys lying around that sshd ignores
  ansible.builtin.debug:
    var: ssh_keys.ignored_keys
'''

RETURN = r'''
active_keys:
  description: Keys in files sshd reads that satisfy the policy (they can log in, subject to AllowUsers/AllowGroups).
  returned: always
  type: list
  elements: dict
  sample: [{"user": "alice", "path": "/etc/ssh/authorized_keys/alice", "type": "ssh-ed25519", "bits": 256,
            "fingerprint": "SHA256:mHlIwR7AfrWHb35kMaBfFlbZh8324m/OMgFov4RFLSE", "comment": "alice@laptop",
            "expiry_time": "20271231", "from": null, "problems": []}]
weak_keys:
  description: Keys in files sshd reads that break the policy (type, size, expired); C(problems) says why.
  returned: always
  type: list
  elements: dict
ignored_keys:
  description: Keys in authorized_keys files sshd does not read; C(declared) is true when the same key is declared for that user.
  returned: always
  type: list
  elements: dict
invalid_lines:
  description:
    - Lines of authorized_keys files that cannot be parsed (C(user), C(path), C(line), C(error), and
      C(problems), a list holding the same reason). The reason never quotes the line.
    - C(line) 0 is a whole file that was refused or could not be read as its user; C(error) says why
      (a symbolic link, a FIFO or other non-regular file, owned by another user, larger than 1 MiB,
      permission denied, too slow).
  returned: always
  type: list
  elements: dict
  sample: [{"user": "dave", "path": "/home/dave/.ssh/authorized_keys", "line": 0, "problems": ["..."],
            "error": "/home/dave/.ssh/authorized_keys is a symbolic link in a directory that is not root-only; it is not followed"}]
store_users:
  description: Names of the files in the key store.
  returned: always
  type: list
  elements: str
host_keys:
  description: Host keys sshd loads (C(path), C(type), C(bits), C(fingerprint), C(weak)).
  returned: always
  type: list
  elements: dict
authorized_keys_files:
  description: The effective C(AuthorizedKeysFile) patterns.
  returned: always
  type: list
  elements: str
  sample: ["/etc/ssh/authorized_keys/%u"]
sshd_test:
  description: Result of C(sshd -t) (C(rc), C(stderr)) on the configuration as it is on disk.
  returned: always
  type: dict
sshd_effective:
  description: Effective sshd settings (C(sshd -T -C)), keyword to list of values.
  returned: always
  type: dict
sshd_drift:
  description: Settings of O(sshd_settings) whose effective value differs (C(setting), C(wanted), C(found)).
  returned: always
  type: list
  elements: dict
kex_compared:
  description:
    - With O(kex_supported_only), the C(KexAlgorithms) value compared (the names C(ssh -Q kex) lists), else null.
  returned: always
  type: str
  sample: sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256
sshd_config:
  description:
    - With O(sshd_config), what M(ephi.safeguards.ssh_policy_sshd_config) would have returned in check mode for
      those options (C(changes), C(disabled), C(match_conflicts), C(found), C(block), C(sshd_effective) or
      C(sshd_error); no C(diff)) with C(changed) false, and with C(per_spec) its C(specs) (the C(sshd -T -C)
      specifications) and C(stdout) (for each, a line C(### <spec>), then its lines of the keywords, or its output
      behind C(!!! ) when sshd refused it), or C(failed) and C(msg) when the probe listed no accounts; or
      C(failed) and C(msg) when it could not run. Also returned when this module fails.
  returned: when O(sshd_config) is set
  type: dict
  sample: {"changed": false, "changes": [], "per_spec": {"specs": ["user=root,host=127.0.0.1,addr=127.0.0.1"],
           "stdout": "### user=root,host=127.0.0.1,addr=127.0.0.1\npermitrootlogin no\n"}}
probe:
  description:
    - With O(probe), what M(ephi.safeguards.host_probe) would have returned for those options (its answers and
      C(changed)), or C(failed) and C(msg) when it could not answer. Also returned when this module fails.
  returned: when O(probe) is set
  type: dict
  sample: {"changed": false, "passwd": {"root": {"uid": 0, "gid": 0, "home": "/root", "shell": "/bin/bash"}}}
sshd_service:
  description: C(name), C(active) (the service runs a listening sshd) and C(socket_active) (C(<name>.socket) is active).
  returned: always
  type: dict
  sample: {"name": "ssh", "active": true, "socket_active": false}
login_user:
  description: For O(login_user) - C(name), C(exists), C(groups) and C(authorized_fingerprints) (keys sshd accepts now).
  returned: always
  type: dict
'''

import datetime
import grp
import os
import pwd

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.ephi.safeguards.plugins.module_utils.probe_run import attach as attach_probe, regular_file_names
from ansible_collections.ephi.safeguards.plugins.module_utils.safe_open import UnsafeFile, read_user_file
from ansible_collections.ephi.safeguards.plugins.module_utils.sshd_config_read import (
    ENVIRON,
    attach as attach_sshd_config,
    query_kex,
    supported_kex,
)
from ansible_collections.ephi.safeguards.plugins.module_utils.ssh_keys import (
    STRONG_KEY_TYPES,
    SSHKeyError,
    describe,
    effective_drift,
    expand_authorized_keys_file,
    key_problems,
    parse_line,
    parse_sshd_t,
)

MAX_FILE = 1024 * 1024
HOME_FILES = ('.ssh/authorized_keys', '.ssh/authorized_keys2')


def parse_keys(data, path, policy, now):
    """Parsed key records and invalid lines of a file's content.

    An invalid line is reported by number with a reason that quotes nothing
    of it: the file may be a user's link to a secret (it is read with the
    user's privileges and without following links, but this is the second
    line of defence).
    """
    keys, invalid = [], []
    for number, raw in enumerate(data.decode('utf-8', 'replace').splitlines(), 1):
        try:
            parsed = parse_line(raw)
        except SSHKeyError as exc:
            invalid.append({'path': path, 'line': number, 'error': exc.reason, 'problems': [exc.reason]})
            continue
        if parsed is None:
            continue
        record = describe(parsed)
        record['path'] = path
        record['problems'] = key_problems(parsed, policy, now)
        keys.append(record)
    return keys, invalid


def read_keys(path, policy, now, owner=None):
    """Parsed key records and invalid lines of one file (None, [] if absent).

    ``owner``: the passwd entry of the user whose file it may be; it is read
    with that user's uid, gid and groups, without following links, without
    blocking, and only if it is a regular file of that user or root of at
    most MAX_FILE bytes. A refused file is one invalid "line" 0 whose error
    says why (never what it contains).
    """
    uid, gid, groups = 0, 0, [0]
    if owner is not None and owner.pw_uid != 0 and os.geteuid() == 0:
        uid, gid = owner.pw_uid, owner.pw_gid
        try:
            groups = os.getgrouplist(owner.pw_name, gid)
        except (KeyError, OSError):
            groups = [gid]
    elif owner is not None:
        uid = owner.pw_uid
    try:
        data = read_user_file(path, uid, gid, groups, max_size=MAX_FILE)
    except UnsafeFile as exc:
        reason = to_native(exc)
        return [], [{'path': path, 'line': 0, 'error': reason, 'problems': [reason]}]
    if data is None:
        return None, []
    return parse_keys(data, path, policy, now)


def user_groups(entry):
    names = set()
    try:
        names.add(grp.getgrgid(entry.pw_gid).gr_name)
    except KeyError:
        pass
    for group in grp.getgrall():
        if entry.pw_name in group.gr_mem:
            names.add(group.gr_name)
    return sorted(names)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            store_dir=dict(type='path', default='/etc/ssh/authorized_keys'),
            login_user=dict(type='str'),
            allowed_types=dict(type='list', elements='str', default=list(STRONG_KEY_TYPES)),
            rsa_min_bits=dict(type='int', default=3072),
            declared=dict(type='dict', default={}),
            sshd_settings=dict(type='dict', default={}),
            match_user=dict(type='str'),
            service=dict(type='str', default='ssh'),
            sshd_bin=dict(type='path'),
            kex_supported_only=dict(type='bool', default=False),
            ssh_bin=dict(type='path'),
            probe=dict(type='dict'),
            sshd_config=dict(type='dict'),
        ),
        supports_check_mode=True,
    )
    probe = attach_probe(module)
    params = module.params
    # ssh -Q kex once (the probe's answer when it asked), for this audit's comparison and sshd_config's read alike.
    kex = query_kex(module, params['ssh_bin'], probe) if params['kex_supported_only'] else None
    attach_sshd_config(module, probe, kex)
    policy = {'allowed_types': params['allowed_types'], 'rsa_min_bits': params['rsa_min_bits']}
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    environ = ENVIRON
    sshd = params['sshd_bin'] or module.get_bin_path('sshd', required=True, opt_dirs=['/usr/sbin', '/sbin'])

    rc, dummy, err = module.run_command([sshd, '-t'], environ_update=environ)
    sshd_test = {'rc': rc, 'stderr': err.strip()}
    match_user = params['match_user'] or params['login_user'] or 'root'
    rc, out, err = module.run_command([sshd, '-T', '-C', 'user=%s,host=localhost,addr=127.0.0.1' % match_user],
                                      environ_update=environ)
    if rc != 0:
        sshd_test.setdefault('effective_error', err.strip())
        effective = {}
    else:
        effective = parse_sshd_t(out)
    patterns = ' '.join(effective.get('authorizedkeysfile', ['.ssh/authorized_keys .ssh/authorized_keys2'])).split()
    patterns = [p for p in patterns if p.lower() != 'none']
    declared = dict((user, set(fps or [])) for user, fps in (params['declared'] or {}).items())

    active, weak, ignored, invalid = [], [], [], []
    login = {'name': params['login_user'], 'exists': False, 'groups': [], 'authorized_fingerprints': []}
    seen_paths = set()
    for entry in pwd.getpwall():
        user, home = entry.pw_name, entry.pw_dir or '/'
        read_by_sshd = [expand_authorized_keys_file(p, user, home, entry.pw_uid) for p in patterns]
        candidates = list(read_by_sshd)
        candidates.extend(os.path.join(home, f) for f in HOME_FILES)
        candidates.append(os.path.join(params['store_dir'], user))
        is_login = user == params['login_user']
        if is_login:
            login['exists'] = True
            login['groups'] = user_groups(entry)
        for path in candidates:
            if (user, path) in seen_paths:
                continue
            seen_paths.add((user, path))
            keys, bad = read_keys(path, policy, now, owner=entry)
            for record in bad:
                record['user'] = user
            invalid.extend(bad)
            if keys is None:
                continue
            for record in keys:
                record['user'] = user
                if path in read_by_sshd:
                    (weak if record['problems'] else active).append(record)
                    if is_login and not record['problems']:
                        login['authorized_fingerprints'].append(record['fingerprint'])
                else:
                    record['declared'] = record['fingerprint'] in declared.get(user, set())
                    ignored.append(record)

    # The same names as host_probe's listings of the store (the role's stale store files).
    store_users = regular_file_names(params['store_dir']) or []

    host_keys = []
    for path in effective.get('hostkey', []):
        keys, refused = read_keys(path + '.pub', policy, now)
        if not keys:
            host_keys.append({'path': path, 'type': None, 'bits': None, 'fingerprint': None, 'weak': True,
                              'problems': ['no readable public key next to the host key']
                              + [r['error'] for r in refused if r['line'] == 0]})
            continue
        record = keys[0]
        problems = list(record['problems'])
        if record['type'].startswith('ecdsa') or record['type'].startswith('sk-'):
            problems.append('ECDSA host keys use NIST curves, which this policy does not offer')
        host_keys.append({'path': path, 'type': record['type'], 'bits': record['bits'],
                          'fingerprint': record['fingerprint'], 'weak': bool(problems), 'problems': problems})

    service = {'name': params['service'], 'active': False, 'socket_active': False}
    systemctl = module.get_bin_path('systemctl')
    if systemctl:
        for unit, key in ((params['service'] + '.service', 'active'), (params['service'] + '.socket', 'socket_active')):
            rc, out, dummy = module.run_command([systemctl, 'is-active', unit], environ_update=environ)
            service[key] = out.strip() == 'active'

    wanted, kex_compared = supported_kex(params['sshd_settings'], kex)
    drift = effective_drift(effective, wanted)
    if not effective and params['sshd_settings']:
        drift = [{'setting': 'sshd -T', 'wanted': 'effective configuration',
                  'found': sshd_test.get('effective_error') or sshd_test['stderr']}]
    module.exit_json(
        changed=False,
        active_keys=active,
        weak_keys=weak,
        ignored_keys=ignored,
        invalid_lines=invalid,
        store_users=store_users,
        host_keys=host_keys,
        authorized_keys_files=patterns,
        sshd_test=sshd_test,
        sshd_effective=effective,
        sshd_drift=drift,
        kex_compared=kex_compared,
        login_user=login,
        sshd_service=service,
    )


if __name__ == '__main__':
    main()
