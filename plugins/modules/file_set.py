#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: file_set
short_description: Apply a set of files and directories in one module run
version_added: 1.1.0
author: ephi.safeguards maintainers (@ephi-safeguards)
description:
  - Ensures each item of O(files), in order, is a regular file with the given content, owner, group and mode,
    or a directory with the given owner, group and mode, in ONE module run on the host (a loop of
    M(ansible.builtin.copy) or M(ansible.builtin.template) costs two module runs per unchanged item).
  - A file's content comes from exactly one of O(files[].src) (a static file, found like the C(src) of
    M(ansible.builtin.copy), in a role's C(files/) first), O(files[].template) (rendered on the controller with
    the task's variables by the P(ansible.builtin.template#lookup) lookup, found like the C(src) of
    M(ansible.builtin.template), in a role's C(templates/) first) or O(files[].content) (literal text).
    The action plugin reads and renders them on the controller and sends every file's bytes to the
    module base64-encoded; static files are sent byte for byte, templates and O(files[].content) as UTF-8.
  - Every item is checked first (on the controller and again on the host), then the whole set is planned on
    the host, and only then is anything changed, so a bad item changes nothing. Problems of all items are
    reported together.
  - A file whose content differs is written to a temporary file in its directory (named C(.<name>.*.tmp)), given
    its owner, group and mode, flushed to disk, checked with O(files[].validate), and renamed over the
    destination (atomic), after which the directory is flushed; the temporary file is removed on any failure.
    A file whose owner, group or mode only differ is fixed in place, on a descriptor opened without following
    symbolic links.
  - An existing destination that is not a regular file (a symbolic link, a directory, a device, a FIFO) is an
    error; it is never followed or replaced. A missing parent directory is an error too, unless a directory item
    earlier in O(files) creates it; parents are not created otherwise.
  - A parent directory owned by another user than the module's (for root, by any user) or writable by others is an
    error too. The temporary file, the rename and a new directory are made there, and whoever may change the
    directory could race them, so root never writes inside a directory a user controls.
  - The task is changed when any item changed (so C(notify) works as usual); RV(changed_paths) names them.
options:
  files:
    description:
      - The files and directories, applied in this order. Each path may appear once.
    type: list
    elements: dict
    required: true
    suboptions:
      dest:
        description:
          - The absolute path of a file (O(files[].state=file)). A normalized path, no trailing C(/).
        type: path
      path:
        description:
          - The absolute path of a directory (O(files[].state=directory)).
        type: path
      state:
        description:
          - V(file) is a file (with O(files[].dest)), V(directory) a directory (with O(files[].path)).
        type: str
        choices: [file, directory]
        default: file
      src:
        description:
          - The name of a static file, looked up like the C(src) of M(ansible.builtin.copy) (a role's
            C(files/), the playbook's C(files/), then relative to them), sent byte for byte. A vault-encrypted
            file is decrypted. Not a directory.
        type: str
      template:
        description:
          - The name of a Jinja2 template, looked up like the C(src) of M(ansible.builtin.template) (a role's
            C(templates/) first), rendered on the controller with the task's variables exactly like
            C(lookup('ansible.builtin.template', ...)) (trailing newlines kept, never turned into a list or
            dictionary), and written as UTF-8.
          - The variables C(template_path) (the name given here), C(template_fullpath), C(template_destpath)
            (O(files[].dest)), C(template_host), C(template_uid), C(template_mtime), C(template_run_date) and
            C(ansible_managed) are set as M(ansible.builtin.template) sets them.
        type: str
      content:
        description:
          - The content itself, a string written as UTF-8, exactly as given (nothing is stripped or added). A
            list or dictionary is refused (use e.g. C({{ data | to_nice_json }})).
        type: str
      owner:
        description:
          - The owning user (a name, or a numeric id); overrides O(owner). Unset keeps an existing file's owner
            and gives a new one the module's user.
        type: raw
      group:
        description:
          - The owning group (a name, or a numeric id); overrides O(group). Unset keeps an existing file's group.
        type: raw
      mode:
        description:
          - The permissions, a quoted string of 3 or 4 octal digits such as V("0644") or V("2750"); overrides
            O(mode). A number is refused (YAML reads an unquoted C(0644) as 420). Symbolic modes are not
            supported. Unset keeps an existing file's mode and gives a new file C(0666) and a new directory
            C(0777) less the umask.
        type: raw
      validate:
        description:
          - A command run on the temporary file before it replaces O(files[].dest), only when the content
            differs; each C(%s) is replaced by the temporary file's path. It is split like a shell would split
            it but no shell runs it (no pipes, redirections or variables). A non-zero exit fails the task and
            leaves O(files[].dest) untouched.
        type: str
      backup:
        description:
          - Keep the file that O(files[].dest) replaces, when its content changes, as
            C(DEST.PID.YYYY-MM-DD@HH:MM:SS~) (the name M(ansible.builtin.template) gives its backups), returned
            in RV(results) as C(backup_file). The backup is a second name of the replaced file (a hard link), so
            it keeps that file's owner, mode and times. Nothing is kept when only the owner, group or mode change.
        type: bool
        default: false
  owner:
    description:
      - The owning user of every item that sets none (a name, or a numeric id).
    type: raw
  group:
    description:
      - The owning group of every item that sets none (a name, or a numeric id).
    type: raw
  mode:
    description:
      - The mode of every item that sets none, a quoted string of 3 or 4 octal digits such as V("0644").
    type: raw
  probed:
    description:
      - The registered result of an M(ephi.safeguards.host_probe) run on this host, asked with the paths that the
        P(ephi.safeguards.file_set_probe_paths#filter) filter adds for these items. When it shows every item as the
        module would leave it (a file's sha256 equal to that of the bytes rendered now, owner, group and mode where
        the item sets them, the type, never a symbolic link) and every parent directory as one the module writes in
        as root (root's, not writable by others), the task returns unchanged without a module run (RV(in_place)).
        Anything else - a path it was not asked about, a failed probe, any difference - runs the module as usual.
      - Read by the action plugin on the controller; the module ignores it. The answer must be from this run and no
        older than the last task that may change these paths, or a change made in between goes unseen.
    type: dict
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Plans only and reports what would change; nothing is written and O(files[].validate) does not run.
  diff_mode:
    support: full
    details:
      - A list with one entry per item that changes. Content as text when both sides are UTF-8 and at most
        64 KiB, else a one-line placeholder with sizes (and SHA-256 when known); owner, group and mode changes
        as before/after values. Use C(no_log) for files that hold secrets.
  platform:
    platforms: posix
notes:
  - Not supported, unlike M(ansible.builtin.copy) and M(ansible.builtin.file) - SELinux contexts,
    C(remote_src), C(follow), C(force), recursive copies or directories as O(files[].src), symbolic
    modes, attributes (C(chattr)) and access control lists. A rewritten file is a new inode - hard links to
    the old one keep the old content, and its ACLs and extended attributes are not carried over.
  - A user or group that does not exist yet (one an earlier task creates) is an error in check mode.
seealso:
  - module: ansible.builtin.copy
  - module: ansible.builtin.template
'''

EXAMPLES = r'''
- name: Install the gate's programs and units
  ephi.safeguards.file_set:
    owner: root
    group: root
    mode: "0644"
    files:
      - path: /usr/local/lib/ephi-safeguards
        state: directory
        mode: "0755"
      - dest: /usr/local/lib/ephi-safeguards/ephi-session-gate
        src: ephi-session-gate
        mode: "0755"
      - dest: /etc/systemd/system/ephi-x.service
        template: ephi-x.service.j2
      - dest: /etc/ephi.json
        content: "{{ some_var | to_nice_json }}\n"
        validate: /usr/bin/python3 -m json.tool %s
  register: gate_files
  notify: Reload systemd

- name: Look at the same files first (with the role's other questions), in one read-only module run
  ephi.safeguards.host_probe:
    paths: "{{ [] | ephi.safeguards.file_set_probe_paths(my_files) }}"
  register: my_probe

- name: Apply them; no module run when the probe shows every one in place
  ephi.safeguards.file_set:
    owner: root
    group: root
    files: "{{ my_files }}"
    probed: "{{ my_probe }}"

- name: Restart the service only when its unit changed
  ansible.builtin.systemd_service:
    name: ephi-x
    state: restarted
    daemon_reload: true
  when: "'/etc/systemd/system/ephi-x.service' in gate_files.changed_paths"
'''

RETURN = r'''
results:
  description:
    - One entry per item of O(files), in order - C(dest) (a file) or C(path) (a directory), C(state), C(changed),
      C(created), C(content) (the content changed, or would), C(attributes) (the names among C(owner), C(group),
      C(mode) that changed on an existing item), and C(backup_file) when O(files[].backup) kept one.
  returned: success
  type: list
  elements: dict
  sample:
    - dest: /etc/ephi.json
      state: file
      changed: true
      created: false
      content: false
      attributes: [mode]
changed_paths:
  description: The paths of the items that changed (in check mode, would change), in order.
  returned: success
  type: list
  elements: str
  sample: [/etc/ephi.json]
in_place:
  description: True when O(probed) showed every item in place and the module did not run.
  returned: when O(probed) showed every item in place
  type: bool
  sample: true
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ephi.safeguards.plugins.module_utils.file_set import (
    HOST_SOURCES, FileSetError, apply, diffs, parse_items, plan, redacted, results)


class FileSetModule(AnsibleModule):
    """AnsibleModule whose logged invocation (syslog, journal) leaves out the files' contents."""

    def _log_invocation(self):
        params = self.params
        self.params = redacted(params)
        try:
            super(FileSetModule, self)._log_invocation()
        finally:
            self.params = params


def main():
    module = FileSetModule(
        argument_spec=dict(
            files=dict(type='list', elements='dict', required=True),
            owner=dict(type='raw'),
            group=dict(type='raw'),
            mode=dict(type='raw'),
            probed=dict(type='dict'),
        ),
        supports_check_mode=True,
    )
    invocation = {'module_args': redacted(module.params)}
    defaults = dict((key, module.params[key]) for key in ('owner', 'group', 'mode'))
    items, problems = parse_items(module.params['files'], defaults, sources=HOST_SOURCES)
    if not problems:
        entries, problems = plan(items, want_diff=module._diff)
    if problems:
        module.fail_json(msg='; '.join(problems), problems=problems, changed=False, invocation=invocation)
    done, changed_paths = results(entries)
    result = dict(changed=bool(changed_paths), results=done, changed_paths=changed_paths, invocation=invocation)
    if module._diff:
        result['diff'] = diffs(entries)
    if module.check_mode or not changed_paths:
        module.exit_json(**result)

    def run(argv):
        return module.run_command(argv, expand_user_and_vars=False, handle_exceptions=False)

    try:
        apply(entries, run)
    except (FileSetError, OSError) as exc:
        done, changed_paths = results(entries, applied_only=True)
        module.fail_json(msg=str(exc), changed=bool(changed_paths), results=done, changed_paths=changed_paths,
                         invocation=invocation)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
