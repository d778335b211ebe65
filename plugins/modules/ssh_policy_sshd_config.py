#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: ssh_policy_sshd_config
short_description: Put the SSH policy's global settings into sshd_config itself, where scanners read them
version_added: 1.0.0
author: ephi.safeguards maintainers (@ephi-safeguards)
description:
  - Makes C(/etc/ssh/sshd_config) say what is in force when the policy lives in a drop-in that sshd reads
    first (scanners such as OpenSCAP's ssg-debian content read only sshd_config).
  - The O(include) line stays or becomes the first active line; right after it a marked managed block holds
    the same global keyword lines as the drop-in (O(settings), then O(extra_settings) sorted by keyword).
  - Every other global line (before the file's first C(Match)) that sets a managed keyword to another value
    is disabled (commented out, with the reason on the same line). Keywords sshd adds up over every line
    (C(HostKey), C(AllowUsers), C(AllowGroups), C(DenyUsers), C(Port), ...) are not copied into the block;
    a global line of such a keyword of O(settings) is disabled (it would add an entry).
  - Lines inside the file's own C(Match) blocks are never changed; a managed keyword there with another
    value is returned in RV(match_conflicts).
  - The candidate is written to a root-only temporary file next to O(path), checked with C(sshd -t -f), and
    moved into place atomically; it is removed in check mode or when the check fails.
options:
  path:
    description: The sshd configuration file.
    type: path
    default: /etc/ssh/sshd_config
  include:
    description: The C(Include) line of the drop-ins, kept as the first active line.
    type: str
    required: true
  settings:
    description: The policy's global sshd settings, keyword to value (C(true)/C(false) become C(yes)/C(no),
      a list gives one line per item); C(null), empty strings and empty lists are not rendered.
    type: dict
    required: true
  extra_settings:
    description: Further settings rendered after O(settings), sorted by keyword (case-insensitive).
    type: dict
    default: {}
  dropin:
    description: The drop-in holding the same settings (named in the block's comment).
    type: str
    default: ''
  sshd_bin:
    description: Path of sshd for C(sshd -t -f). Defaults to C(sshd) in E(PATH) or C(/usr/sbin).
    type: path
  validate:
    description: Check the candidate with C(sshd -t -f) before it is written (also in check mode).
    type: bool
    default: true
  backup:
    description: Keep a timestamped copy of the file before changing it.
    type: bool
    default: false
  effective:
    description: Also return sshd's global effective configuration (C(sshd -T), no Match block applied) in
      RV(sshd_effective), for the evidence.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ephi.safeguards.probe
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - Needs root. The file's owner and mode are kept.
'''

EXAMPLES = r'''
- name: Show the policy in sshd_config too
  ephi.safeguards.ssh_policy_sshd_config:
    include: Include /etc/ssh/sshd_config.d/*.conf
    settings:
      PasswordAuthentication: false
      X11Forwarding: false
    dropin: /etc/ssh/sshd_config.d/00-ephi-ssh-key-policy.conf
  become: true
'''

RETURN = r'''
probe:
  description:
    - With O(probe), what M(ephi.safeguards.host_probe) would have returned for those options (its answers and
      C(changed)), or C(failed) and C(msg) when it could not answer. Also returned when this module fails.
  returned: when O(probe) is set
  type: dict
  sample: {"changed": false, "commands": [{"argv": ["/usr/sbin/sshd", "-T"], "rc": 0, "stdout": "port 22\n", "stderr": ""}]}
changes:
  description: What was (or in check mode would be) changed, one line each.
  returned: always
  type: list
  elements: str
disabled:
  description: Lines disabled now (C(line), C(text), C(keyword), C(why)); line numbers of the file before the change.
  returned: always
  type: list
  elements: dict
match_conflicts:
  description: Lines in the file's own Match blocks that set a managed keyword to another value (C(line), C(text),
    C(keyword), C(wanted), C(match)); never changed.
  returned: always
  type: list
  elements: dict
found:
  description: Active lines of managed keywords outside the managed block, as the file was (C(line), C(keyword),
    C(value), C(match)).
  returned: always
  type: list
  elements: dict
block:
  description: The keyword lines of the managed block ([keyword, value]).
  returned: always
  type: list
  elements: list
sshd_effective:
  description: With O(effective), C(sshd -T) as lower-case keyword to list of values; C(sshd_error) says why it is empty.
  returned: when O(effective=true)
  type: dict
backup_file:
  description: The backup made before the change.
  returned: when O(backup=true) and the file changed
  type: str
'''

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.ephi.safeguards.plugins.module_utils.probe_run import attach as attach_probe
from ansible_collections.ephi.safeguards.plugins.module_utils.sshd_config_read import (
    ENVIRON,
    READ_SPEC,
    SshdConfigReadError,
    read,
    sshd_path,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            READ_SPEC,
            validate=dict(type='bool', default=True),
            backup=dict(type='bool', default=False),
            probe=dict(type='dict'),
        ),
        supports_check_mode=True,
    )
    attach_probe(module)
    params = module.params
    path = params['path']
    try:
        out, original, content = read(module, params)
    except SshdConfigReadError as exc:
        module.fail_json(msg=str(exc))
    changed = out['changed']
    if module._diff:
        out['diff'] = {'before_header': path, 'after_header': path, 'before': original, 'after': content}
    if not changed:
        module.exit_json(**out)

    try:
        sshd = sshd_path(module, params)
    except SshdConfigReadError as exc:
        module.fail_json(msg=str(exc), **out)
    directory = os.path.dirname(path) or '.'
    fd, candidate = tempfile.mkstemp(prefix='.sshd_config.ephi-', dir=directory)   # 0600, root's
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(to_bytes(content, errors='surrogate_or_strict'))
        if params['validate']:
            rc, dummy, err = module.run_command([sshd, '-t', '-f', candidate], environ_update=ENVIRON)
            if rc != 0:
                module.fail_json(msg='sshd -t refuses the planned %s, nothing was written: %s' % (path, err.strip()), **out)
        if not module.check_mode:
            if params['backup']:
                out['backup_file'] = module.backup_local(path)
            module.atomic_move(candidate, path)
    finally:
        if os.path.exists(candidate):
            os.unlink(candidate)
    module.exit_json(**out)


if __name__ == '__main__':
    main()
