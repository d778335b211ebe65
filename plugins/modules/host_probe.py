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

import errno
import grp
import os
import pwd
import re
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.ephi.safeguards.plugins.module_utils.mountinfo import mount_at, parse_mountinfo
from ansible_collections.ephi.safeguards.plugins.module_utils.names import group_name, user_name
from ansible_collections.ephi.safeguards.plugins.module_utils.regular_files import MAX_READ, file_digest, read_bytes
from ansible_collections.ephi.safeguards.plugins.module_utils.host_probe import (
    block_in_place, line_in_place,
    installed_packages, line_matches, missing_packages, parse_units, path_conforms, path_facts, path_want_problem,
    plain_package_names, unit_running, unit_stale, unit_stopped, UNIT_PROPERTIES)

MOUNTINFO = '/proc/self/mountinfo'


def _lstat(path):
    try:
        return os.lstat(to_bytes(path, errors='surrogate_or_strict'))
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise


def read_small(path):
    """The text of PATH, or None when it is missing or not a regular file (a link is not followed);
    larger than MAX_READ bytes is an error (a setting file that large is not what the role expects)."""
    data = read_bytes(path)
    if data is not None and len(data) > MAX_READ:
        raise ValueError('%s is larger than %d bytes' % (path, MAX_READ))
    return None if data is None else to_text(data, errors='surrogate_or_replace')


def read_or_none(path):
    """The bytes of PATH, or None when it is missing, not a regular file or larger than MAX_READ bytes
    (blocks and lines with a line: an answer of null lets the real task decide)."""
    data = read_bytes(path)
    return None if data is not None and len(data) > MAX_READ else data


def mtime_or_none(path):
    """When PATH (not followed if a link) was last modified, or None when there is no such file."""
    lst = _lstat(path)
    return lst.st_mtime if lst else None


def probe(module, params):
    result = {'paths': {}, 'contents': {}, 'mounts': {}, 'packages_missing': [], 'units': {},
              'units_running': [], 'units_stopped': [], 'units_stale': [], 'groups': {}, 'passwd': {}, 'group_db': {}, 'lines': [],
              'blocks': [], 'commands': []}
    for want in params['paths']:
        lst = _lstat(want['path'])
        facts = path_facts(lst, user_name(lst.st_uid), group_name(lst.st_gid)) if lst else path_facts(None, '', '')
        if want.get('checksum') and facts.get('type') == 'file':
            facts['checksum'] = file_digest(want['path'], want['checksum'])
        facts['conforms'] = path_conforms(facts, want)
        result['paths'][want['path']] = facts
    for path in params['read']:
        result['contents'][path] = read_small(path)
    for entry in params['blocks']:
        data = read_or_none(entry['path'])
        result['blocks'].append({'path': entry['path'], 'in_place': block_in_place(data, entry['marker'], entry['block'])})
    for entry in params['lines']:
        answer = {'path': entry['path'], 'regexp': entry['regexp']}
        if entry.get('line') is None:
            answer['matched'] = line_matches(read_small(entry['path']), entry['regexp'])
        else:
            data = read_or_none(entry['path'])
            text = None if data is None else to_text(data, errors='surrogate_or_replace')
            answer.update(matched=line_matches(text, entry['regexp']),
                          in_place=line_in_place(data, entry['regexp'], entry['line']))
        result['lines'].append(answer)
    for argv in params['commands']:
        program = argv[0] if argv[0].startswith('/') else module.get_bin_path(argv[0])
        answer = {'argv': argv, 'rc': None, 'stdout': '', 'stderr': ''}
        if program and os.access(program, os.X_OK):
            answer['rc'], answer['stdout'], answer['stderr'] = module.run_command([program] + argv[1:])
        result['commands'].append(answer)
    if params['mounts']:
        with open(MOUNTINFO) as handle:
            mounts = parse_mountinfo(handle.read())
        for path in params['mounts']:
            entry = mount_at(mounts, path)
            result['mounts'][path] = entry['fstype'] if entry else ''
    if params['packages']:
        installed = set()
        dpkg_query = module.get_bin_path('dpkg-query')
        names = plain_package_names(params['packages'])
        if dpkg_query and names:
            # rc 1 when one of the names is unknown; the known ones are still listed.
            rc, out, err = module.run_command([dpkg_query, '-W', '-f', '${Package}\\t${db:Status-Abbrev}\\n'] + names)
            if rc not in (0, 1):
                module.fail_json(msg='dpkg-query failed (rc %d): %s' % (rc, err.strip()))
            installed = installed_packages(out)
        result['packages_missing'] = missing_packages(params['packages'], installed)
    units = params['units'] + [name for name in params['unit_files'] if name not in params['units']]
    if units:
        systemctl = module.get_bin_path('systemctl')
        out = ''
        if systemctl:
            rc, out, err = module.run_command([systemctl, 'show', '--property=' + UNIT_PROPERTIES, '--'] + units)
            if rc != 0:
                out = ''
        now, now_monotonic = time.time(), time.monotonic()
        result['units'] = parse_units(out, units)
        result['units_running'] = [name for name in params['units'] if unit_running(result['units'][name])]
        result['units_stopped'] = [name for name in params['units'] if unit_stopped(result['units'][name])]
        result['units_stale'] = [name for name, files in params['unit_files'].items()
                                 if unit_stale(result['units'][name], [mtime_or_none(path) for path in files],
                                               now, now_monotonic)]
    if params['passwd']:
        for entry in pwd.getpwall():
            result['passwd'].setdefault(entry.pw_name, [entry.pw_passwd, str(entry.pw_uid), str(entry.pw_gid),
                                                        entry.pw_gecos, entry.pw_dir, entry.pw_shell])
    if params['group_db']:
        for entry in grp.getgrall():
            result['group_db'].setdefault(entry.gr_name, [entry.gr_passwd, str(entry.gr_gid), ','.join(entry.gr_mem)])
    for name in params['groups']:
        try:
            result['groups'][name] = grp.getgrnam(name).gr_gid
        except KeyError:
            result['groups'][name] = None
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type='list', elements='raw', default=[]),
            read=dict(type='list', elements='path', default=[]),
            mounts=dict(type='list', elements='path', default=[]),
            packages=dict(type='list', elements='str', default=[]),
            units=dict(type='list', elements='str', default=[]),
            unit_files=dict(type='dict', default={}),
            groups=dict(type='list', elements='str', default=[]),
            passwd=dict(type='bool', default=False),
            lines=dict(type='list', elements='dict', default=[], options=dict(
                path=dict(type='path', required=True),
                regexp=dict(type='str', required=True),
                line=dict(type='str'),
            )),
            commands=dict(type='list', elements='raw', default=[]),
            group_db=dict(type='bool', default=False),
            blocks=dict(type='list', elements='dict', default=[], options=dict(
                path=dict(type='path', required=True),
                marker=dict(type='str', required=True),
                block=dict(type='str', required=True),
            )),
        ),
        supports_check_mode=True,
    )
    wants = []
    for want in module.params['paths']:
        want = {'path': want} if isinstance(want, str) else want
        problem = path_want_problem(want)
        if problem:
            module.fail_json(msg='paths: %s' % problem)
        wants.append(want)
    module.params['paths'] = wants
    for entry in module.params['lines']:
        try:
            re.compile(entry['regexp'])
        except re.error as exc:
            module.fail_json(msg='lines: the regexp for %s is not a regular expression: %s' % (entry['path'], exc))
    for unit, files in module.params['unit_files'].items():
        if not isinstance(files, list) or not all(isinstance(path, str) and path.startswith('/') for path in files):
            module.fail_json(msg='unit_files: %s must name a list of absolute paths, got %r' % (unit, files))
    for argv in module.params['commands']:
        if not isinstance(argv, list) or not argv or not all(isinstance(arg, str) for arg in argv) or not argv[0]:
            module.fail_json(msg='commands: each entry must be a non-empty list of strings, got %r' % (argv,))
    try:
        result = probe(module, module.params)
    except (OSError, ValueError) as exc:
        module.fail_json(msg='host_probe: %s' % to_text(exc))
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
