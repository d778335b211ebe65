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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ephi.safeguards.plugins.module_utils.tmux_settings_run import (
    SETTINGS_SPEC,
    TmuxSettingsError,
    apply,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(SETTINGS_SPEC),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    try:
        result, diffs = apply(module, module.params, module.check_mode, file_attrs=True)
    except TmuxSettingsError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    if module._diff:
        result['diff'] = diffs
    module.exit_json(**result)


if __name__ == '__main__':
    main()
