#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: host_probe
short_description: Read-only look at files, mounts, packages, units, accounts and program answers in one module run
version_added: 1.2.0
author: ephi.safeguards maintainers (@ephi-safeguards)
description:
  - What a role's later tasks would find already in place, observed in one module run, so that a task
    whose work is done can be skipped instead of running a module of its own (a stat, a C(findmnt),
    C(apt) with nothing to install, C(systemd_service) of a unit that runs already).
  - Nothing on the host is changed. Every answer errs towards "not in place". A path that is a symbolic link,
    a package name that is not a plain dpkg name, a unit C(systemctl) does not report, leave the real task
    to run and decide.
  - Files are read only when they are regular files of at most 64 KiB, without following a symbolic link in
    the last component. Never name a file holding a secret in O(read), its text is in the result.
options:
  paths:
    description:
      - Paths to look at (C(lstat)), each an absolute path or a dictionary with C(path) and optional C(state)
        (V(file) or V(directory); a symbolic link never conforms), C(owner) and C(group) (a name or a numeric id)
        and C(mode) (a quoted string of 3 or 4 octal digits). For each, RV(paths) has the facts and C(conforms),
        true when the path is already as those keys say (keys left out are not compared).
      - A dictionary's C(checksum) (V(sha256) or V(sha512)) adds the digest of a regular file's content to its
        facts (read without following a symbolic link; none for anything else). With C(digest), that digest in
        hexadecimal (for example C(content | hash('sha256'))), the path conforms only when its content has it.
    type: list
    elements: raw
    default: []
  read:
    description: Small, non-secret files whose text is returned in RV(contents).
    type: list
    elements: path
    default: []
  mounts:
    description: Mount points whose filesystem type (the topmost mount) is returned in RV(mounts).
    type: list
    elements: path
    default: []
  packages:
    description: Packages whose absence is reported in RV(packages_missing) (C(dpkg-query)).
    type: list
    elements: str
    default: []
  units:
    description: systemd units whose states are returned in RV(units).
    type: list
    elements: str
    default: []
  unit_files:
    description:
      - Per systemd unit, the files it runs (its unit file, program, libraries, configuration it reads at start).
        RV(units_stale) names the active ones of them that do not run what is on disk. The units are also looked
        at as if they were in O(units).
    type: dict
    default: {}
  groups:
    description: Groups whose ids are returned in RV(groups) (the system's name service).
    type: list
    elements: str
    default: []
  passwd:
    description: Return the accounts in RV(passwd) (the system's name service, as C(getent passwd)).
    type: bool
    default: false
  listings:
    description:
      - Directories whose regular files (a symbolic link to one counts) are named in RV(listings). Only names are
        returned, nothing is read.
    type: list
    elements: path
    default: []
  lines:
    description: Is there a line that matches C(regexp) (Python C(re.search), as M(ansible.builtin.lineinfile))?
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The file, read like O(read).
        type: path
        required: true
      regexp:
        description: The regular expression.
        type: str
        required: true
      line:
        description:
          - The line M(ansible.builtin.lineinfile) would be given with O(lines[].regexp). With it the entry's answer has
            C(in_place), and a file larger than 64 KiB is not an error, its answers are null.
        type: str
  commands:
    description:
      - Read-only questions to installed programs, each an argument list run without a shell (the program looked up
        in the PATH when it is not an absolute path), in check mode too, such as C(ssh -Q kex) or C(aide --version).
        Name only commands that change nothing and print no secret, their output is in the result.
    type: list
    elements: raw
    default: []
  group_db:
    description: Return the groups in RV(group_db) (the system's name service, as C(getent group)).
    type: bool
    default: false
  blocks:
    description:
      - Would M(ansible.builtin.blockinfile) (state present, the default C(BEGIN) and C(END) marks) leave the file as it
        is? The file is read like O(read), but one larger than 64 KiB is not an error here, its answer is null.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The file.
        type: path
        required: true
      marker:
        description: The marker line, with C({mark}), as given to M(ansible.builtin.blockinfile).
        type: str
        required: true
      block:
        description: The block, as given to M(ansible.builtin.blockinfile).
        type: str
        required: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; check mode runs it as it is.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Packages are looked up with C(dpkg-query); where it is missing (not Debian) every package is reported missing,
    so the package task runs as before.
  - The answers are as of the module run. A task that can change what was looked at makes them stale (installing
    Debian's tmux package adds it to C(/etc/shells)); a role looks again after such a task.
seealso:
  - module: ansible.builtin.stat
  - module: ansible.builtin.package_facts
  - module: ansible.builtin.service_facts
'''

EXAMPLES = r'''
- name: Look at what the role's tasks would find
  ephi.safeguards.host_probe:
    paths:
      - path: /etc/ephi
        state: directory
        owner: root
        mode: "0700"
    mounts: [/var/log/ephi]
    packages: [tmux, vlock]
    units: [ephi-capture.socket]
    groups: [ephi-audit]
  register: probe

- name: Install what is missing only
  ansible.builtin.apt:
    name: [tmux, vlock]
  when: probe.packages_missing | length > 0
'''

RETURN = r'''
paths:
  description:
    - Per path, C(exists); for one that exists C(type) (C(file), C(directory), C(link) or C(other)), C(uid),
      C(gid), C(owner), C(group), C(mode) (octal text), C(size), C(mtime) (seconds since the epoch) and
      C(executable) (a file with an execute bit); C(checksum) when asked for and the path is a regular file;
      and C(conforms).
  returned: always
  type: dict
  sample: {"/etc/ephi": {"exists": true, "type": "directory", "uid": 0, "gid": 0, "owner": "root", "group": "root",
           "mode": "0700", "size": 4096, "mtime": 1764979200.0, "executable": false, "conforms": true}}
contents:
  description: Per file of O(read), its text, or null when it is missing or not a regular file.
  returned: always
  type: dict
mounts:
  description: Per mount point, the filesystem type mounted on it, or an empty string.
  returned: always
  type: dict
  sample: {"/var/log/ephi": "fuse.gocryptfs"}
packages_missing:
  description: The packages of O(packages) that are not installed, in their order.
  returned: always
  type: list
  elements: str
units:
  description:
    - Per unit, C(load), C(active), C(sub) and C(enabled) (LoadState, ActiveState, SubState, UnitFileState),
      C(need_reload) (NeedDaemonReload) and C(active_since_us) (ActiveEnterTimestampMonotonic).
  returned: always
  type: dict
units_stale:
  description:
    - The units of O(unit_files) that are active but do not run what is on disk, so that a restart is due. Either
      systemd has not re-read the changed unit file (C(need_reload)), or one of the unit's files was changed after
      the unit last became active (a run that wrote them and stopped before the restart).
  returned: always
  type: list
  elements: str
units_running:
  description: The units of O(units) that are loaded, active and enabled.
  returned: always
  type: list
  elements: str
units_stopped:
  description: The units of O(units) that are loaded, inactive and disabled.
  returned: always
  type: list
  elements: str
groups:
  description: Per group, its id, or null when there is no such group.
  returned: always
  type: dict
passwd:
  description:
    - With O(passwd), each account's name and its other fields as C(getent passwd) lists them (password, uid, gid,
      gecos, home, shell), all text, like the C(getent_passwd) fact of M(ansible.builtin.getent).
  returned: always
  type: dict
  sample: {"root": ["x", "0", "0", "root", "/root", "/bin/bash"]}
listings:
  description: Per directory of O(listings), the names of its regular files, sorted, or null when it cannot be listed.
  returned: always
  type: dict
  sample: {"/etc/ssh/authorized_keys": ["ephi-admin", "ephi-dave"]}
lines:
  description:
    - Per entry of O(lines), in order, C(path), C(regexp) and C(matched) (null when the file is missing).
    - With O(lines[].line) also C(in_place), true when M(ansible.builtin.lineinfile) would leave the file as it is (null
      when the file is missing, not a regular file or larger than 64 KiB).
  returned: always
  type: list
  elements: dict
blocks:
  description:
    - Per entry of O(blocks), in order, C(path) and C(in_place) (true when the block is in the file exactly as
      M(ansible.builtin.blockinfile) would write it; null when the file is missing, not a regular file or larger
      than 64 KiB).
  returned: always
  type: list
  elements: dict
group_db:
  description:
    - With O(group_db), each group's name and its other fields as C(getent group) lists them (password, gid, members
      separated by commas), all text, like the C(getent_group) fact of M(ansible.builtin.getent).
  returned: always
  type: dict
  sample: {"adm": ["x", "4", "syslog,admin"]}
commands:
  description:
    - Per entry of O(commands), in order, C(argv), C(rc), C(stdout) and C(stderr); C(rc) is null (and the output
      empty) when the program is not installed.
  returned: always
  type: list
  elements: dict
  sample: [{"argv": ["ssh", "-Q", "kex"], "rc": 0, "stdout": "curve25519-sha256\nsntrup761x25519-sha512\n", "stderr": ""}]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ephi.safeguards.plugins.module_utils.probe_run import PROBE_SPEC, ProbeError, run_probe


def main():
    module = AnsibleModule(argument_spec=PROBE_SPEC, supports_check_mode=True)
    try:
        result = run_probe(module, module.params)
    except ProbeError as exc:
        module.fail_json(msg='host_probe: %s' % exc)
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
