#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: oath_usersfile
short_description: Keep the TOTP secrets of pam_oath's root-only users file, without ever showing one
version_added: 1.0.0
author: ephi.safeguards maintainers (@ephi-safeguards)
description:
  - Ensures pam_oath's users file (C(HOTP/T30 user - hexsecret)) holds exactly one line for each of
    O(users), with the secret of O(secrets), or the secret the line already has, or (with
    O(generate)) a new random 160-bit secret; lines of other users are removed.
  - pam_oath rewrites the file after each login (the last one-time password and its time, which is
    what refuses a replayed code); a line whose secret is unchanged is kept as it is, state and all.
  - The file is written root-only (C(0600)) in a root-only directory, atomically (temporary file and
    rename in the same directory).
  - A generated secret is handed to an administrator through a root-only file
    C(<handoff_dir>/<user>.otpauth) (C(0600)) holding the C(otpauth://) URI for an authenticator app.
  - No secret is ever returned, logged or shown in a diff; the diff lists user names only.
options:
  path:
    description: The users file pam_oath reads (C(usersfile=) in the PAM stack).
    type: path
    required: true
  users:
    description: The accounts that must have a TOTP secret.
    type: list
    elements: str
    default: []
  secrets:
    description:
      - User to hex secret (at least 20 bytes), e.g. from Ansible Vault. Never logged.
      - A user with a secret here gets exactly this secret (a different one on the host is replaced).
    type: dict
    default: {}
  generate:
    description: Generate a secret on the host for a user with neither a secret in O(secrets) nor a line in the file.
    type: bool
    default: false
  handoff_dir:
    description: Root-only directory for the C(otpauth://) URIs of generated secrets.
    type: path
    default: /root/ephi-mfa-enrolment
  issuer:
    description: Issuer shown by authenticator apps.
    type: str
    default: ephi.safeguards
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: User names only, never a secret.
  platform:
    platforms: posix
notes:
  - Fails, changing nothing, when a user of O(users) would be left without a secret.
'''

EXAMPLES = r'''
- name: TOTP secrets of the people who log in with key + code
  ephi.safeguards.oath_usersfile:
    path: /etc/ephi-safeguards/users.oath
    users: [alice, bob]
    secrets: "{{ vault_totp_secrets }}"
    generate: true
'''

RETURN = r'''
added:
  description: Users who got a line.
  returned: always
  type: list
  elements: str
updated:
  description: Users whose secret was replaced (their pam_oath state starts afresh).
  returned: always
  type: list
  elements: str
removed:
  description: Users whose line was removed (not in O(users)).
  returned: always
  type: list
  elements: str
generated:
  description: Users whose secret was generated on the host (its URI is in RV(handoff_files)).
  returned: always
  type: list
  elements: str
handoff_files:
  description: The root-only files holding the C(otpauth://) URIs of generated secrets.
  returned: always
  type: list
  elements: str
'''

import binascii
import os
import socket

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native

from ansible_collections.ephi.safeguards.plugins.module_utils.ssh_mfa import (
    MIN_SECRET_BYTES,
    otpauth_uri,
    secret_problem,
    usersfile_plan,
)


def write_private(path, data):
    """Write DATA to PATH as root-only 0600, atomically (temporary file + rename in the same directory)."""
    directory = os.path.dirname(path) or '.'
    tmp = os.path.join(directory, '.%s.ephi-%d' % (os.path.basename(path), os.getpid()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_NOFOLLOW', 0), 0o600)
    try:
        if os.geteuid() == 0:
            os.fchown(fd, 0, 0)
        os.fchmod(fd, 0o600)
        os.write(fd, to_bytes(data))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, path)


def ensure_private_dir(path):
    if not os.path.isdir(path):
        os.makedirs(path, 0o700)
    os.chmod(path, 0o700)
    if os.geteuid() == 0:
        os.chown(path, 0, 0)


def read_text(path):
    try:
        with open(path, 'rb') as handle:
            return to_native(handle.read(), errors='surrogate_or_strict')
    except (IOError, OSError):
        return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            users=dict(type='list', elements='str', default=[]),
            secrets=dict(type='dict', default={}, no_log=True),
            generate=dict(type='bool', default=False),
            handoff_dir=dict(type='path', default='/root/ephi-mfa-enrolment'),
            issuer=dict(type='str', default='ephi.safeguards'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    secrets = dict((to_native(k), to_native(v)) for k, v in (params['secrets'] or {}).items())
    bad = sorted(u for u, s in secrets.items() if secret_problem(s))
    if bad:
        module.fail_json(msg='the TOTP secret of %s is not usable (hex, at least %d bytes)' % (', '.join(bad), MIN_SECRET_BYTES))
    path = params['path']
    current = read_text(path)
    exists = current is not None
    plan = usersfile_plan(current or '', params['users'], secrets)
    generated = {}
    if plan['missing'] and params['generate']:
        generated = dict((u, binascii.hexlify(os.urandom(MIN_SECRET_BYTES)).decode('ascii')) for u in plan['missing'])
        plan = usersfile_plan(current or '', params['users'], secrets, generated)
    if plan['missing']:
        module.fail_json(msg='no TOTP secret for %s: give one in the secrets or allow generating it; nothing was changed'
                         % ', '.join(plan['missing']))
    mode_wrong = False
    if exists:
        st = os.stat(path)
        mode_wrong = (st.st_mode & 0o7777) != 0o600 or st.st_uid != 0 and os.geteuid() == 0
    changed = plan['changed'] or not exists or mode_wrong
    handoff = [os.path.join(params['handoff_dir'], '%s.otpauth' % u) for u in sorted(generated)]
    result = dict(changed=changed, added=plan['added'], updated=plan['updated'], removed=plan['removed'],
                  generated=sorted(generated), handoff_files=handoff)
    if module._diff:
        before = ''.join('%s\n' % e for e in sorted(set(plan['kept'] + plan['updated'] + plan['removed']))) if exists else ''
        after = ''.join('%s%s\n' % (u, ' (new secret)' if u in plan['updated'] or u in generated else '')
                        for u in sorted(plan['kept'] + plan['added'] + plan['updated']))
        result['diff'] = {'before': before, 'after': after,
                          'before_header': '%s (users)' % path, 'after_header': '%s (users)' % path}
    if changed and not module.check_mode:
        try:
            ensure_private_dir(os.path.dirname(path))
            if generated:
                ensure_private_dir(params['handoff_dir'])
                host = socket.getfqdn()
                for user in sorted(generated):
                    write_private(os.path.join(params['handoff_dir'], '%s.otpauth' % user),
                                  '# TOTP enrolment of %s on %s: import the URI into an authenticator app, then delete '
                                  'this file.\n%s\n' % (user, host, otpauth_uri(user, host, generated[user], params['issuer'])))
            write_private(path, plan['text'])
        except (IOError, OSError) as exc:
            module.fail_json(msg='could not write %s: %s' % (path, to_native(exc)), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
