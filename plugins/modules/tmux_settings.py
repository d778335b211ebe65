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
        key C(X) with command C(lock-session), rendered as C(bind-key X lock-session).
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
            "old": null, "new": "set-option -g lock-after-time 900"}]
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
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text

from ansible_collections.ephi.safeguards.plugins.module_utils.tmux_conf import (
    SCOPE_SHOW_FLAGS,
    TmuxConfError,
    check_hook_name,
    compute_drift,
    compute_hook_drift,
    compute_pipe_drift,
    option_catalog,
    parse_list_keys_line,
    parse_show_hooks,
    plan,
    quote,
    render_binding,
    render_drift,
    render_hook,
    render_option,
    resolve_scopes,
    to_tmux_value,
)
from ansible_collections.ephi.safeguards.plugins.module_utils.tmux_live import (
    EXAMINED,
    LiveError,
    live_candidates,
)

ENV = {'LANG': 'C', 'LC_ALL': 'C'}


class ScratchServer(object):
    """A private tmux server on a socket in a fresh temporary directory.

    Started with ``-f /dev/null`` (no config at all) and always killed and
    removed by :meth:`stop` (also used as a context manager).
    """

    def __init__(self, module, tmux_bin):
        self.module = module
        self.tmux_bin = tmux_bin
        self.tmpdir = None
        self.socket = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def run(self, args, check=False):
        rc, out, err = self.module.run_command(
            [self.tmux_bin, '-S', self.socket] + list(args),
            environ_update=ENV)
        if check and rc != 0:
            self.stop()
            self.module.fail_json(msg='tmux %s failed in scratch server: %s' % (
                ' '.join(args), (err or out).strip()), rc=rc)
        return rc, out, err

    def start(self):
        # Short path in the system temp dir: unix socket paths are limited
        # to ~100 bytes, module.tmpdir may be longer.
        self.tmpdir = tempfile.mkdtemp(prefix='ephi-tmux-')
        self.socket = os.path.join(self.tmpdir, 's')
        rc, out, err = self.module.run_command(
            [self.tmux_bin, '-S', self.socket, '-f', '/dev/null', 'new-session', '-d',
             '-s', 'ephi-scratch', '-x', '80', '-y', '24', 'cat'],
            environ_update=ENV)
        if rc != 0:
            self.stop()
            self.module.fail_json(msg='could not start a scratch tmux server: %s' % (
                (err or out).strip()), rc=rc)

    def stop(self):
        if self.socket and os.path.exists(self.socket):
            self.module.run_command([self.tmux_bin, '-S', self.socket, 'kill-server'],
                                    environ_update=ENV)
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        self.socket = None
        self.tmpdir = None

    def source_text(self, text):
        """Source ``text`` as a config file; return ``(ok, messages)``.

        tmux 3.3a: ``source-file`` exits 1 when the file has errors.  Parse
        (syntax) errors are printed on *stdout* as ``FILE:LINE: syntax error``
        and nothing of the file is executed; command errors (invalid option,
        invalid value) are printed on *stderr* without file/line and the other
        commands of the file are still executed.
        """
        path = os.path.join(self.tmpdir, 'snippet.conf')
        with open(path, 'wb') as fh:
            fh.write(to_bytes(text, errors='surrogate_or_strict'))
        rc, out, err = self.run(['source-file', path])
        messages = [line.replace(path, '<config>') for line in (out + err).splitlines()
                    if line.strip()]
        return rc == 0 and not messages, messages

    def show_value(self, name, scope):
        flags = SCOPE_SHOW_FLAGS[scope]
        rc, out, err = self.run(['show-options', flags + 'v', name])
        if rc != 0:
            return None
        return to_text(out)[:-1] if out.endswith('\n') else to_text(out)

    def hook_value(self, name):
        rc, out, err = self.run(['show-hooks', '-g', name])
        if rc != 0:
            return None
        return parse_show_hooks(to_text(out)).get(name)

    def binding_words(self, key):
        rc, out, err = self.run(['list-keys', '-T', 'prefix', key])
        if rc != 0:
            return []
        return parse_list_keys_line(out)


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


def validate_wanted(module, scratch, wanted_values, wanted_bindings):
    """Detect scopes, check and canonicalise every wanted value/binding."""
    shows = {}
    for scope, flags in SCOPE_SHOW_FLAGS.items():
        rc, out, err = scratch.run(['show-options', flags], check=True)
        shows[scope] = to_text(out)
    catalog = option_catalog(shows)
    scopes, unknown, arrays = resolve_scopes(list(wanted_values), catalog)
    if unknown:
        module.fail_json(msg='unknown tmux option(s) for this tmux version: %s' % (
            ', '.join(unknown)), unknown_options=unknown)
    if arrays:
        module.fail_json(msg='array tmux option(s) are not supported: %s' % ', '.join(arrays))

    options = {}
    for name in sorted(wanted_values):
        scope = scopes[name]
        line = render_option(name, scope, wanted_values[name])
        ok, messages = scratch.source_text(line + '\n')
        if not ok:
            module.fail_json(msg='tmux rejected option %s value %s: %s' % (
                name, quote(wanted_values[name]), '; '.join(messages)),
                option=name, tmux_error=messages)
        canonical = scratch.show_value(name, scope)
        if canonical is None:
            module.fail_json(msg='cannot read back option %s from tmux' % name, option=name)
        options[name] = {'scope': scope, 'value': canonical}

    bindings = {}
    for key in sorted(wanted_bindings):
        try:
            line = render_binding(key, wanted_bindings[key])
        except TmuxConfError as exc:
            module.fail_json(msg=to_native(exc), binding=key)
        ok, messages = scratch.source_text(line + '\n')
        words = scratch.binding_words(key) if ok else []
        if not ok or not words:
            module.fail_json(msg='tmux rejected binding %s (%s): %s' % (
                key, wanted_bindings[key], '; '.join(messages) or 'binding not created'),
                binding=key, tmux_error=messages)
        bindings[key] = words
    return options, bindings


def validate_hooks(module, scratch, wanted_hooks):
    """Check every wanted hook in the scratch server; return name -> canonical command."""
    hooks = {}
    for name in sorted(wanted_hooks):
        try:
            line = render_hook(name, wanted_hooks[name])
        except TmuxConfError as exc:
            module.fail_json(msg=to_native(exc), hook=name)
        ok, messages = scratch.source_text(line + '\n')
        canonical = scratch.hook_value(name) if ok else None
        if not ok or canonical is None:
            module.fail_json(msg='tmux rejected hook %s (%s): %s' % (
                name, wanted_hooks[name], '; '.join(messages) or 'hook not set'),
                hook=name, tmux_error=messages)
        hooks[name] = canonical
    return hooks


def make_same_value(scratch, options):
    """Compare a value found in the file with the wanted one through tmux."""
    cache = {}

    def same_value(name, file_value, wanted_value):
        if file_value is None:
            return False
        if file_value == wanted_value:
            return True
        key = (name, file_value)
        if key not in cache:
            scope = options[name]['scope']
            ok, dummy = scratch.source_text(render_option(name, scope, file_value) + '\n')
            cache[key] = ok and scratch.show_value(name, scope) == options[name]['value']
        return cache[key]
    return same_value


def verify_content(module, tmux_bin, content, original, options, bindings, hooks=None):
    """Load ``content`` in a fresh scratch server and check the effect.

    Returns a list of problems (empty when the content is fine).
    """
    problems = []
    old_messages = []
    if original:
        with ScratchServer(module, tmux_bin) as old:
            dummy, old_messages = old.source_text(original)
    with ScratchServer(module, tmux_bin) as scratch:
        ok, messages = scratch.source_text(content)
        new_errors = [m for m in messages if m not in old_messages]
        if new_errors:
            problems.append('tmux reports errors for the rendered configuration: %s'
                            % '; '.join(new_errors))
        elif messages:
            module.warn('the configuration file already had tmux errors (kept): %s'
                        % '; '.join(messages))
        for name in sorted(options):
            effective = scratch.show_value(name, options[name]['scope'])
            if effective != options[name]['value']:
                problems.append(
                    'option %s would be %s instead of %s: another line in the file '
                    '(e.g. set -a/-u/-o, a block, %%if or a later command) overrides it'
                    % (name, quote(effective) if effective is not None else 'unset',
                       quote(options[name]['value'])))
        for key in sorted(bindings):
            words = scratch.binding_words(key)
            if words != bindings[key]:
                problems.append('binding %s would be %r instead of %r' % (
                    key, ' '.join(words) or 'unbound', ' '.join(bindings[key])))
        for name in sorted(hooks or {}):
            effective = scratch.hook_value(name)
            if effective != hooks[name]:
                problems.append('hook %s would be %r instead of %r' % (
                    name, effective or 'unset', hooks[name]))
    return problems


def server_drift(server, scopes, options, hooks, require_pipe, absent_hooks=()):
    """Options, hooks and (optionally) unpiped panes of one live server."""
    drift = compute_drift(server.read(scopes), options)
    if hooks or absent_hooks:
        drift.extend(compute_hook_drift(server.read_hooks(), hooks, absent_hooks))
    if require_pipe:
        drift.extend(compute_pipe_drift(server.read_pipes()))
    return drift


def live_servers(module, tmux_bin, options, mode, result, hooks=None):
    """Audit/enforce running servers; fills result['drift'/'fixed'/...].

    Every client runs as the socket's owner (module_utils.tmux_live); a
    server that could not be examined is listed in ``result['unexamined']``
    (a finding for the evidence), never a reason to fail the run: one user
    must not be able to stop enforcement for everyone else.
    """
    scopes = sorted(set(spec['scope'] for spec in options.values()))
    hooks = hooks or {}
    require_pipe = module.params.get('require_pipe')
    pipe_command = module.params.get('pipe_command')
    absent_hooks = [h for h in module.params.get('absent_hooks') or [] if h not in hooks]
    fixes = dict((name, (lambda item: ['set-hook', '-g', item['option'], hooks[item['option']]]))
                 for name in hooks)
    fixes.update((name, (lambda item: ['set-hook', '-gu', item['option']])) for name in absent_hooks)
    if pipe_command:
        fixes['pane_pipe'] = lambda item: ['pipe-pane', '-t', item['tid'], pipe_command]
    diff_before = []
    diff_after = []
    errors = []
    for server in live_candidates(module.params['socket_dirs'], tmux_bin):
        socket_path, uid = server.socket, server.uid
        if server.status == 'stale':
            result['stale_sockets'].append(socket_path)
        if server.status != 'running':
            result['servers'].append(server.info())
            continue
        server.hook_fixes = fixes
        try:
            drift = server_drift(server, scopes, options, hooks, require_pipe, absent_hooks)
        except LiveError as exc:
            server.status = 'error'
            server.msg = to_native(exc)
            result['servers'].append(server.info())
            continue
        result['servers'].append(server.info())
        items = []
        for item in drift:
            entry = {'socket': socket_path, 'user': server.user, 'uid': uid}
            entry.update(item)
            items.append(entry)
        public = [dict((k, v) for k, v in i.items() if k != 'tid') for i in items]
        result['drift'].extend(public)
        if not items:
            continue
        diff_before.append(render_drift(socket_path, items))
        if mode != 'enforce':
            continue
        diff_after.append(''.join(
            '%s [%s] %s: %s\n' % (socket_path, 'global %s' % i['scope']
                                  if i['target'] == 'global'
                                  else '%s %s' % (i['scope'], i['target']),
                                  i['option'], quote(i['wanted']) if i['target'] == 'global'
                                  else 'unset (inherits global)')
            for i in items))
        result['fixed'].extend(public)
        if module.check_mode:
            continue
        try:
            for item in items:
                server.fix(item)
            unfixable = [i for i in items if i['option'] == 'pane_pipe' and not pipe_command]
            if unfixable:
                raise LiveError('%s: %d pane(s) without a pipe and no pipe_command to reopen it' % (
                    socket_path, len(unfixable)))
            remaining = server_drift(server, scopes, options, hooks, require_pipe, absent_hooks)
        except LiveError as exc:
            errors.append(to_native(exc))
            continue
        if remaining:
            errors.append('%s: drift remains after enforcing: %s' % (
                socket_path, ', '.join('%s (%s %s)' % (r['option'], r['scope'], r['target'])
                                       for r in remaining)))
    result['unexamined'] = [s for s in result['servers'] if s['status'] not in EXAMINED]
    if result['unexamined']:
        module.warn('%d tmux server(s) could not be examined: %s' % (
            len(result['unexamined']), '; '.join('%s (%s): %s %s' % (
                s['socket'], s['user'], s['status'], s.get('msg', ''))
                for s in result['unexamined'])))
    return diff_before, diff_after, errors


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

    wanted_values = {}
    for name, value in (params['options'] or {}).items():
        name = to_text(name)
        if not name or any(c.isspace() for c in name):
            module.fail_json(msg='invalid tmux option name %r' % name)
        if isinstance(value, (dict, list)):
            module.fail_json(msg='value of tmux option %s must be a string, number or '
                             'boolean' % name, option=name)
        wanted_values[name] = to_tmux_value(value)
    wanted_bindings = {}
    for key, command in (params['bindings'] or {}).items():
        if isinstance(command, (dict, list, bool)) or command is None:
            module.fail_json(msg='command of binding %s must be a string' % key, binding=key)
        wanted_bindings[to_text(key)] = to_text(command)

    wanted_hooks = {}
    for name, command in (params['hooks'] or {}).items():
        if isinstance(command, (dict, list, bool)) or command is None or not to_text(command).strip():
            module.fail_json(msg='command of hook %s must be a non-empty string' % name, hook=name)
        try:
            wanted_hooks[check_hook_name(to_text(name))] = to_text(command)
        except TmuxConfError as exc:
            module.fail_json(msg=to_native(exc), hook=name)

    absent_hooks = []
    for name in params['absent_hooks']:
        try:
            absent_hooks.append(check_hook_name(to_text(name)))
        except TmuxConfError as exc:
            module.fail_json(msg=to_native(exc), hook=name)

    rc, version, err = module.run_command([tmux_bin, '-V'], environ_update=ENV)
    result = dict(changed=False, path=path, file_changed=False, changes=[], options={},
                  bindings={}, hooks={}, drift=[], fixed=[], servers=[], stale_sockets=[],
                  unexamined=[],
                  tmux_version=to_text(version).strip())

    original = read_file(module, path)
    if original is None and not params['create']:
        module.fail_json(msg='%s does not exist and create is false' % path, **result)

    with ScratchServer(module, tmux_bin) as scratch:
        options, bindings = validate_wanted(module, scratch, wanted_values, wanted_bindings)
        hooks = validate_hooks(module, scratch, wanted_hooks)
        lines = (original or '').splitlines(True)
        try:
            new_lines, changes = plan(lines, dict((n, {'scope': options[n]['scope'],
                                                       'value': wanted_values[n]})
                                                  for n in options),
                                      wanted_bindings, make_same_value(scratch, options),
                                      wanted_hooks=wanted_hooks,
                                      absent_hooks=absent_hooks)
        except TmuxConfError as exc:
            module.fail_json(msg=to_native(exc), **result)
    new_content = ''.join(new_lines)
    result['options'] = options
    result['bindings'] = dict((k, ' '.join(v)) for k, v in bindings.items())
    result['hooks'] = hooks
    result['changes'] = changes
    file_changed = original is None or new_content != original

    problems = verify_content(module, tmux_bin, new_content, original, options, bindings, hooks)
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
        before, after, errors = live_servers(module, tmux_bin, options, params['live'],
                                             result, hooks)
        if params['live'] == 'enforce' and before:
            diffs.append({'before_header': 'live tmux servers (drift)',
                          'after_header': 'live tmux servers (enforced)',
                          'before': ''.join(before), 'after': ''.join(after)})
        elif before:
            diffs.append({'prepared': 'live tmux drift (audit only, nothing changed):\n'
                                      + ''.join(before)})
        if errors:
            result['changed'] = True
            module.fail_json(msg='could not enforce tmux settings in live servers: %s'
                             % ' | '.join(errors), **result)

    result['changed'] = result['file_changed'] or bool(result['fixed'])
    if module._diff:
        result['diff'] = diffs
    module.exit_json(**result)


if __name__ == '__main__':
    main()
