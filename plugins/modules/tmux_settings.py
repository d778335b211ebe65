#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: tmux_settings
short_description: Verify and enforce tmux options and key bindings in tmux.conf and in live tmux servers
version_added: 1.0.0
author: ephi.safeguards maintainers (@ephi-safeguards)
description:
  - Manages global tmux options and prefix-table key bindings in a tmux configuration file
    (by default the system wide C(/etc/tmux.conf)) idempotently, preserving every unrelated
    line and comment byte for byte.
  - The scope of each option (server, session or window) is detected from the installed tmux,
    so the caller only gives option names and values.
  - Every value is validated in a private scratch tmux server before anything is written; the
    rendered file is then loaded into another scratch server to prove that it produces no tmux
    errors and that every wanted option has the wanted effective value (a later unmanaged line
    overriding a managed option is detected and reported as a failure, nothing is written).
  - Optionally audits or enforces the effective values in the tmux servers that are already
    running (global values plus per-session, per-window and per-pane local overrides).
options:
  path:
    description:
      - The tmux configuration file to manage.
    type: path
    default: /etc/tmux.conf
  options:
    description:
      - Wanted tmux options, option name to value.
      - Booleans are rendered as C(on)/C(off), integers as decimal strings.
      - The scope (C(-s), C(-g) or C(-gw)) is detected from the installed tmux. User options
        (C(@name)) are managed as global session options.
      - Array options (for example C(update-environment) or C(terminal-features)) are not
        supported and make the module fail.
      - An option unknown to the installed tmux, or a value tmux rejects, makes the module fail
        without writing anything.
    type: dict
    default: {}
  bindings:
    description:
      - Wanted key bindings in the C(prefix) key table, key to tmux command string, for example
        key C(X) with command C(lock-session), rendered as C(bind X lock-session).
      - The command must be one tmux command on one line; chain several commands with an escaped
        C(\;) as in tmux itself.
      - Live servers are not audited for bindings.
    type: dict
    default: {}
  live:
    description:
      - What to do with tmux servers that are already running.
      - V(none) ignores them.
      - V(audit) reports differences in RV(drift) without changing anything; C(changed) only
        reflects the file.
      - V(enforce) sets the wanted global value and unsets local (session, window, pane)
        overrides for every drifted option, then re-reads the values to confirm.
    type: str
    choices: [none, audit, enforce]
    default: none
  backup:
    description:
      - Create a backup file including the timestamp information so you can get the original
        file back if you somehow clobbered it incorrectly.
    type: bool
    default: false
  create:
    description:
      - Create the file if it does not exist. If V(false) and the file is missing the module fails.
    type: bool
    default: true
  tmux_bin:
    description:
      - Path of the tmux binary. Defaults to C(tmux) found in E(PATH).
    type: path
  hooks:
    description:
      - Global hooks (C(set-hook -g NAME COMMAND)) to manage, hook name to tmux command string,
        for example V(session-created) to V(pipe-pane 'exec logger').
      - Checked in the file like O(options) and, with O(live), in every running server through
        C(show-hooks -g) (a user who unsets a hook is reported as drift, and with
        O(live=enforce) the hook is set again).
    type: dict
    default: {}
    version_added: 1.1.0
  absent_hooks:
    description:
      - Global hooks that must not be set, for a feature that was switched off. Their
        C(set-hook -g) lines are removed from the file and, with O(live), a running server that
        still has one is reported as drift (and with O(live=enforce) the hook is unset, as the
        server's owner). A name that is also in O(hooks) is ignored here.
    type: list
    elements: str
    default: []
    version_added: 1.1.0
  require_pipe:
    description:
      - With O(live), report every pane of every running server whose output is not piped
        (C(#{pane_pipe}) is 0), for example because its user closed the capture pipe with
        C(pipe-pane) without a command.
      - With O(live=enforce) and O(pipe_command), a pipe is opened again for such panes;
        without O(pipe_command) they are only reported (and the module fails in enforce mode).
    type: bool
    default: false
    version_added: 1.1.0
  pipe_command:
    description:
      - Shell command that O(live=enforce) gives to C(pipe-pane) for panes without a pipe
        (see O(require_pipe)); tmux expands formats in it.
    type: str
    version_added: 1.1.0
  socket_dirs:
    description:
      - Directories (shell glob patterns allowed) searched for the sockets of live tmux servers.
        Every socket found directly inside is probed. A path naming a socket is probed itself.
      - tmux puts its sockets in C($TMUX_TMPDIR/tmux-UID/) or C(/tmp/tmux-UID/) (C(default) is the
        default socket name), so add C($TMUX_TMPDIR) based locations here if your users set it.
    type: list
    elements: path
    default: ['/tmp/tmux-*']
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    details:
      - Scratch tmux servers (private sockets, killed afterwards) are still started for
        validation; nothing is written and no option is set in live servers.
  diff_mode:
    support: full
    details:
      - The file diff, plus one entry with the per-server drift (a before/after entry with
        O(live=enforce), a C(prepared) text with O(live=audit)).
  platform:
    platforms: posix
notes:
  - Requires tmux on the managed host. Tested with tmux 3.3a and 3.5a.
  - Validation sources the candidate file into a scratch tmux server, so C(run-shell),
    C(if-shell) and similar commands in the file are executed during validation like tmux
    would execute them at start up.
  - tmux reads C(/etc/tmux.conf) only when a server starts; already running servers keep their
    values until O(live=enforce) is used or the server is restarted.
  - Per-user C(~/.tmux.conf) files can override system wide settings. tmux cannot lock an
    option; users can change options in their own servers at any time. Use O(live=audit)
    regularly to detect such drift.
  - Running as root is needed to audit or enforce the servers of other users. Root never runs
    a tmux client itself in a user's server, because a tmux server can make its client run
    commands and write files. Every client runs with the socket owner's uid, gid and groups, a clean
    environment, no terminal and a time limit, and only for a socket whose directory belongs
    to that same user and is writable by no one else. Other sockets are reported as
    V(unsafe) in RV(servers) and RV(unexamined) and never connected to.
  - A server that could not be examined never fails the module (one user must not be able
    to stop enforcement for everyone); it is listed in RV(unexamined) and warned about.
seealso:
  - name: tmux manual page
    description: Options, scopes and configuration syntax of tmux.
    link: https://man7.org/linux/man-pages/man1/tmux.1.html
  - module: ansible.builtin.lineinfile
  - module: ansible.builtin.template
'''

EXAMPLES = r'''
- name: Lock idle tmux sessions after 15 minutes and keep the config in /etc/tmux.conf
  ephi.safeguards.tmux_settings:
    options:
      lock-after-time: 900
      lock-command: vlock
      destroy-unattached: false
    bindings:
      X: lock-session
    owner: root
    group: root
    mode: "0644"
    backup: true

- name: Report running tmux servers that do not lock idle sessions
  ephi.safeguards.tmux_settings:
    options:
      lock-after-time: 900
    live: audit
  register: tmux_audit

- name: Show the drift
  ansible.builtin.debug:
    var: tmux_audit.drift

- name: Enforce the settings in the file and in every running tmux server
  ephi.safeguards.tmux_settings:
    options:
      lock-after-time: 900
      history-limit: 2000
    live: enforce
    socket_dirs:
      - /tmp/tmux-*
      - /run/user/*/tmux-*
'''

RETURN = r'''
path:
  description: The managed configuration file.
  returned: always
  type: str
  sample: /etc/tmux.conf
file_changed:
  description: Whether the configuration file was (or in check mode would be) changed.
  returned: always
  type: bool
  sample: true
changes:
  description: Planned line edits of the file (action is V(replace), V(remove) or V(append)).
  returned: always
  type: list
  elements: dict
  sample: [{"action": "append", "kind": "option", "name": "lock-after-time", "line": null,
            "old": null, "new": "set -g lock-after-time 900"}]
options:
  description:
    - Managed options with their detected scope and the canonical value (as tmux reports it
      after setting the wanted value; used for live comparisons).
  returned: always
  type: dict
  sample: {"lock-after-time": {"scope": "session", "value": "900"},
           "escape-time": {"scope": "server", "value": "0"}}
bindings:
  description: Managed prefix-table bindings, key to the C(list-keys) line tmux reports.
  returned: always
  type: dict
  sample: {"X": "bind-key -T prefix X lock-session"}
hooks:
  description: Managed global hooks, name to the command tmux reports (C(show-hooks -g)).
  returned: always
  type: dict
  sample: {"session-created": "pipe-pane \"exec /usr/bin/logger\""}
drift:
  description:
    - Differences found in live servers before any enforcement.
    - O(live=none) always returns an empty list.
    - Hooks have C(scope) V(hook); panes without a pipe (O(require_pipe)) have C(scope) V(pane)
      and C(option) V(pane_pipe).
    - C(scope) is V(server), V(session), V(window) or V(pane); C(target) is V(global) or the
      session name, C(session:window) or C(session:window.pane) of the local override;
      C(found) is null when the option is not set.
  returned: always
  type: list
  elements: dict
  sample: [{"socket": "/tmp/tmux-1000/default", "user": "alice", "uid": 1000,
            "scope": "session", "target": "global", "option": "lock-after-time",
            "found": "0", "wanted": "900"}]
fixed:
  description: Drift items that were fixed (or in check mode would be fixed) with O(live=enforce).
  returned: always
  type: list
  elements: dict
  sample: []
servers:
  description:
    - Probed sockets. C(status) is V(running), V(stale) (dead server), V(denied) (no
      permission to connect), V(unsafe) (socket or directory not owned by one user alone;
      never connected to), V(timeout) (the server did not answer in time) or V(error)
      (C(msg) holds tmux's message).
  returned: always
  type: list
  elements: dict
  sample: [{"socket": "/tmp/tmux-1000/default", "user": "alice", "uid": 1000,
            "status": "running"}]
unexamined:
  description:
    - The entries of RV(servers) that could not be examined (any status but V(running) and
      V(stale)). For an audit these are findings, not passes.
  returned: always
  type: list
  elements: dict
  sample: [{"socket": "/tmp/tmux-1001/default", "user": "bob", "uid": 1001,
            "status": "unsafe", "msg": "socket directory is writable by group or others (mode 0777)"}]
  version_added: 1.1.0
live_seconds:
  description:
    - Wall-clock seconds the live part took (finding the sockets, probing, reading and, with
      O(live=enforce), fixing every server), measured inside the module.
    - Servers are examined for up to 8 users at a time, each user's servers one after the
      other; every client still runs as the socket's owner.
  returned: when O(live) is V(audit) or V(enforce)
  type: float
  sample: 0.412
  version_added: 1.1.0
stale_sockets:
  description: Sockets without a live server behind them (connection refused).
  returned: always
  type: list
  elements: str
  sample: ["/tmp/tmux-1001/default"]
tmux_version:
  description: Output of C(tmux -V).
  returned: always
  type: str
  sample: tmux 3.3a
backup_file:
  description: Name of the backup file that was created.
  returned: when O(backup=true) and the file was changed
  type: str
  sample: /etc/tmux.conf.12345.2024-01-01@12:00:00~
'''

import os
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text

from ansible_collections.ephi.safeguards.plugins.module_utils.tmux_conf import (
    TmuxConfError,
    check_hook_name,
    plan,
    to_tmux_value,
)
from ansible_collections.ephi.safeguards.plugins.module_utils.tmux_live import (
    OwnerClient,
    examine_clients,
    find_sockets,
)
from ansible_collections.ephi.safeguards.plugins.module_utils.tmux_scratch import (
    ENV,
    ScratchError,
    ScratchServer,
    make_same_value,
    validate_hooks,
    validate_wanted,
    verify_content,
)


def read_file(module, path):
    if not os.path.exists(path):
        return None
    if os.path.isdir(path):
        module.fail_json(msg='%s is a directory' % path)
    try:
        with open(path, 'rb') as fh:
            data = fh.read()
    except (IOError, OSError) as exc:
        module.fail_json(msg='cannot read %s: %s' % (path, to_native(exc)))
    return to_text(data, errors='surrogate_or_strict')


def write_file(module, path, content):
    dest_dir = os.path.dirname(path) or '.'
    if not os.path.isdir(dest_dir):
        module.fail_json(msg='directory %s does not exist' % dest_dir)
    fd, tmp = tempfile.mkstemp(prefix='.tmux_settings.', dir=module.tmpdir)
    try:
        with os.fdopen(fd, 'wb') as fh:
            fh.write(to_bytes(content, errors='surrogate_or_strict'))
    except (IOError, OSError) as exc:
        module.fail_json(msg='cannot write temporary file: %s' % to_native(exc))
    module.atomic_move(tmp, path, unsafe_writes=module.params.get('unsafe_writes', False))


def wanted_options(module):
    """O(options) as option name to tmux value string."""
    wanted = {}
    for name, value in (module.params['options'] or {}).items():
        name = to_text(name)
        if not name or any(c.isspace() for c in name):
            module.fail_json(msg='invalid tmux option name %r' % name)
        if isinstance(value, (dict, list)):
            module.fail_json(msg='value of tmux option %s must be a string, number or '
                             'boolean' % name, option=name)
        wanted[name] = to_tmux_value(value)
    return wanted


def wanted_bindings(module):
    """O(bindings) as key to command string."""
    wanted = {}
    for key, command in (module.params['bindings'] or {}).items():
        if isinstance(command, (dict, list, bool)) or command is None:
            module.fail_json(msg='command of binding %s must be a string' % key, binding=key)
        wanted[to_text(key)] = to_text(command)
    return wanted


def wanted_hooks(module):
    """O(hooks) as hook name to command, and the checked names of O(absent_hooks)."""
    wanted = {}
    for name, command in (module.params['hooks'] or {}).items():
        if isinstance(command, (dict, list, bool)) or command is None or not to_text(command).strip():
            module.fail_json(msg='command of hook %s must be a non-empty string' % name, hook=name)
        try:
            wanted[check_hook_name(to_text(name))] = to_text(command)
        except TmuxConfError as exc:
            module.fail_json(msg=to_native(exc), hook=name)
    absent = []
    for name in module.params['absent_hooks']:
        try:
            absent.append(check_hook_name(to_text(name)))
        except TmuxConfError as exc:
            module.fail_json(msg=to_native(exc), hook=name)
    return wanted, absent


def plan_file(module, tmux_bin, runner, original, wanted, result):
    """Validate the wanted settings in a scratch server and plan the file.

    Returns ``(options, bindings, hooks, new_content, changes)``.
    """
    values, bindings, hooks, absent_hooks = wanted
    try:
        with ScratchServer(tmux_bin, runner) as scratch:
            options, canonical_bindings = validate_wanted(scratch, values, bindings)
            canonical_hooks = validate_hooks(scratch, hooks)
            try:
                new_lines, changes = plan(
                    (original or '').splitlines(True),
                    dict((n, {'scope': options[n]['scope'], 'value': values[n]}) for n in options),
                    bindings, make_same_value(scratch, options),
                    wanted_hooks=hooks, absent_hooks=absent_hooks)
            except TmuxConfError as exc:
                module.fail_json(msg=to_native(exc), **result)
    except ScratchError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    return options, canonical_bindings, canonical_hooks, ''.join(new_lines), changes


def live_diff(mode, live):
    """The diff entry for the live servers (None without drift)."""
    if not live['diff_before']:
        return None
    if mode == 'enforce':
        return {'before_header': 'live tmux servers (drift)',
                'after_header': 'live tmux servers (enforced)',
                'before': ''.join(live['diff_before']), 'after': ''.join(live['diff_after'])}
    return {'prepared': 'live tmux drift (audit only, nothing changed):\n'
                        + ''.join(live['diff_before'])}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', default='/etc/tmux.conf'),
            options=dict(type='dict', default={}),
            bindings=dict(type='dict', default={}),
            live=dict(type='str', default='none', choices=['none', 'audit', 'enforce']),
            backup=dict(type='bool', default=False),
            create=dict(type='bool', default=True),
            tmux_bin=dict(type='path'),
            socket_dirs=dict(type='list', elements='path', default=['/tmp/tmux-*']),
            hooks=dict(type='dict', default={}),
            absent_hooks=dict(type='list', elements='str', default=[]),
            require_pipe=dict(type='bool', default=False),
            pipe_command=dict(type='str'),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    params = module.params
    path = params['path']
    tmux_bin = params['tmux_bin'] or module.get_bin_path('tmux', required=True)
    if not os.access(tmux_bin, os.X_OK):
        module.fail_json(msg='tmux binary %s is not executable' % tmux_bin)

    values = wanted_options(module)
    bindings = wanted_bindings(module)
    hooks, absent_hooks = wanted_hooks(module)

    def runner(argv):
        return module.run_command(argv, environ_update=ENV)

    version = runner([tmux_bin, '-V'])[1]
    result = dict(changed=False, path=path, file_changed=False, changes=[], options={},
                  bindings={}, hooks={}, drift=[], fixed=[], servers=[], stale_sockets=[],
                  unexamined=[],
                  tmux_version=to_text(version).strip())

    original = read_file(module, path)
    if original is None and not params['create']:
        module.fail_json(msg='%s does not exist and create is false' % path, **result)

    options, canonical_bindings, canonical_hooks, new_content, changes = plan_file(
        module, tmux_bin, runner, original, (values, bindings, hooks, absent_hooks), result)
    result['options'] = options
    result['bindings'] = dict((k, ' '.join(v)) for k, v in canonical_bindings.items())
    result['hooks'] = canonical_hooks
    result['changes'] = changes
    file_changed = original is None or new_content != original

    try:
        problems, warnings = verify_content(tmux_bin, new_content, original, options,
                                            canonical_bindings, canonical_hooks, runner)
    except ScratchError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    for warning in warnings:
        module.warn(warning)
    if problems:
        result['msg'] = ('refusing to write %s, the result would not take effect: %s'
                         % (path, ' | '.join(problems)))
        module.fail_json(**result)

    diffs = [{'before_header': path if original is not None else '%s (absent)' % path,
              'after_header': path,
              'before': original or '',
              'after': new_content}]

    if file_changed and not module.check_mode:
        if params['backup'] and original is not None:
            result['backup_file'] = module.backup_local(path)
        write_file(module, path, new_content)
    result['file_changed'] = file_changed

    if os.path.exists(path):
        file_args = module.load_file_common_arguments(params, path=path)
        attrs_changed = module.set_fs_attributes_if_different(file_args, False)
        result['file_changed'] = result['file_changed'] or attrs_changed

    if params['live'] != 'none':
        started = time.monotonic()
        live = examine_clients([OwnerClient(tmux_bin, cand)
                                for cand in find_sockets(params['socket_dirs'])],
                               options, params['live'], hooks=canonical_hooks,
                               absent_hooks=absent_hooks,
                               require_pipe=params['require_pipe'],
                               pipe_command=params['pipe_command'],
                               check_mode=module.check_mode)
        result['live_seconds'] = round(time.monotonic() - started, 3)
        for key in ('servers', 'stale_sockets', 'drift', 'fixed', 'unexamined'):
            result[key] = live[key]
        for warning in live['warnings']:
            module.warn(warning)
        live_entry = live_diff(params['live'], live)
        if live_entry:
            diffs.append(live_entry)
        if live['errors']:
            result['changed'] = True
            module.fail_json(msg='could not enforce tmux settings in live servers: %s'
                             % ' | '.join(live['errors']), **result)

    result['changed'] = result['file_changed'] or bool(result['fixed'])
    if module._diff:
        result['diff'] = diffs
    module.exit_json(**result)


if __name__ == '__main__':
    main()
