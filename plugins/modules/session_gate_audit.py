#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: session_gate_audit
short_description: Read whether every SSH login goes through the session gate and the recorder
version_added: 1.1.0
author: ephi.safeguards maintainers (@ephi-safeguards)
description:
  - Reads, without changing anything, what decides whether the SSH logins of every login-capable
    local account are forced through the root-owned session gate (sshd C(ForceCommand)) and the
    root session recorder of the tmux role.
  - For every local account whose login shell is not in O(no_login_shells), runs
    C(sshd -T -C user=<name>,host=localhost,addr=127.0.0.1) and returns the effective
    C(ForceCommand) and C(PermitUserRC), and classifies the login shell (bash and rbash need the
    bash hook, zsh the zsh hook, sh and dash read nothing, any other shell is unsupported).
  - Checks that the hook which execs the gate is the first code of O(bash_rc) and O(zsh_env),
    where sshd's shell reads them before the user's own files; a hook is required when its shell
    is installed or is the login shell of a gated account.
  - Reads the owner and mode of the gate program and of every directory above it, the shells
    listed in C(/etc/shells), the state of the recorder's socket and service units
    (C(systemctl show)), the recorder's configuration and whether its directory is the mounted
    encrypted file system (C(/proc/self/mountinfo)).
  - With O(sshd_check_users), also checks for each of those names (an account need not exist) that
    sshd's effective configuration keeps the drop-in's promise - a gated account gets
    C(ForceCommand) O(gate), C(PermitUserRC no) and C(DisableForwarding yes), an account in
    O(exempt_users) does not get the gate. The verdict is RV(sshd_check); the tmux role asserts on
    it every run and on the candidate drop-in before sshd is reloaded. C(sshd -T) fails, as
    C(sshd -t) does, on an invalid configuration or when no host key can be loaded, so the check
    also proves that the configuration is valid. With O(audit=false) only this check runs.
  - Never changes anything (but the chain check's cache, with O(chain)) and never opens a file a user owns,
    so it also runs in check mode; C(changed) is always V(false). Whatever it could not read is returned as an C(error) text in
    the part concerned, not as a failure; the caller decides (the tmux role's evidence fails such
    a control as not examined). The judgments are in the collection's C(module_utils/session_gate.py).
options:
  gate:
    description:
      - Path of the session gate program, the C(ForceCommand) every gated account must get.
    type: path
    default: /usr/local/lib/ephi-safeguards/ephi-session-gate
  gate_module:
    description:
      - The gate's code, which the gate program imports. Its owner and mode, and those of its
        compiled bytecode (C(__pycache__) beside it), are checked like the program's; an empty
        value checks the program alone.
    type: path
    default: /usr/local/lib/ephi-safeguards/ephi_session_gate.py
  config:
    description:
      - The recorder's JSON configuration; its C(dir), C(socket), C(fstypes), C(allow_fscrypt) and
        C(idle_logoff) are read.
    type: path
    default: /etc/ephi-session.json
  exempt_users:
    description:
      - Accounts that are exempt from the gate. They are examined too (RV(accounts) has
        C(exempt=true)) but are not expected to be gated.
    type: list
    elements: str
    default: []
  no_login_shells:
    description:
      - Basenames of login shells with which an account cannot log in.
    type: list
    elements: str
    default: [nologin, 'false', sync, halt, shutdown]
  bash_rc:
    description:
      - The system file bash reads for a command from sshd.
    type: path
    default: /etc/bash.bashrc
  zsh_env:
    description:
      - The system file zsh always reads first.
    type: path
    default: /etc/zsh/zshenv
  shells_file:
    description:
      - The list of shells C(chsh) lets a user choose.
    type: path
    default: /etc/shells
  socket_unit:
    description:
      - The recorder's systemd socket unit.
    type: str
    default: ephi-session.socket
  service_unit:
    description:
      - The recorder's systemd service unit.
    type: str
    default: ephi-session-recorder.service
  sshd_bin:
    description:
      - Path of sshd. Defaults to C(sshd) found in E(PATH) or C(/usr/sbin).
    type: path
  sshd_config:
    description:
      - The main sshd configuration file every C(sshd -T) reads (C(sshd -T -f FILE)), for example a
        candidate that includes a new drop-in. Defaults to sshd's own.
    type: path
  sshd_check_users:
    description:
      - Names to check with C(sshd -T -C user=<name>,host=localhost,addr=127.0.0.1) against the gate's
        promise (see the description); names in O(exempt_users) must not get the gate, all others
        must. Use a name that cannot exist to prove that the gate is the default.
    type: list
    elements: str
    default: []
  audit:
    description:
      - Whether to read everything else (accounts, hooks, gate program, shells, recorder,
        configuration, directory). V(false) runs only the check of O(sshd_check_users).
    type: bool
    default: true
  chain:
    description:
      - The options of M(ephi.safeguards.audit_chain_verify), as a dictionary. The recordings' chain check runs in
        this module's run, before its own work, and its result is returned as RV(chain), one module run instead of
        two. Its cache (C(cache)) is written only outside check mode, as that module's.
      - Invalid options, or a check that cannot run (no store, the heads unreadable), make RV(chain) a failed
        result (C(failed) and C(msg)); this module's own work is done either way.
    type: dict
  settings:
    description:
      - The options of M(ephi.safeguards.tmux_settings) (all but C(backup), C(create), the file attributes and the
        capture options below), as a dictionary. The system tmux.conf and the live tmux servers are compared with
        them in this module's run, after the probe and before its own work, and the result is returned as
        RV(settings), one module run instead of two. Always a comparison, in check mode or not. The file is never
        written, and C(live) is V(none) or V(audit) (default), never V(enforce).
      - C(capture) (a dictionary, or null when capture is off) holds C(mount), C(fstypes), C(hooks) and
        C(pipe_command). The capture hooks are wanted, and every pane must pipe into C(pipe_command), only when
        the probe (O(probe), its C(mounts) must ask for C(mount)) saw C(mount) mounted with one of C(fstypes), as
        the tmux role never pipes panes into an unencrypted directory. RV(settings) says
        C(capture_active).
      - Invalid options, or a comparison that cannot run (no tmux, an unreadable file, settings tmux refuses),
        make RV(settings) a failed result (C(failed) and C(msg)); this module's own work is done either way.
    type: dict
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ephi.safeguards.probe
attributes:
  check_mode:
    support: full
    details:
      - The module is read-only and runs in check mode too. With O(chain) and its C(cache), the chain check's cache
        is the one file it writes, and only outside check mode. O(settings) never writes.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Run as root (C(become=true)), which C(sshd -T) needs to read the host keys.
  - Accounts come from the passwd database as the host resolves it (C(getpwall)).
seealso:
  - name: sshd_config(5) manual page
    description: ForceCommand, PermitUserRC and Match.
    link: https://manpages.debian.org/sshd_config.5
  - module: ephi.safeguards.tmux_settings
'''

EXAMPLES = r'''
- name: Read the session gate and recorder state
  ephi.safeguards.session_gate_audit:
    exempt_users: [ephi-breakglass]
  become: true
  check_mode: true
  register: gate_audit

- name: Check sshd's effective configuration for an exempt account and a name that cannot exist
  ephi.safeguards.session_gate_audit:
    audit: false
    exempt_users: [ephi-breakglass]
    sshd_check_users: [ephi-breakglass, ephi-gate-probe-no-such-user]
  become: true
  register: gate_sshd
  failed_when: gate_sshd.sshd_check.verdict != 'pass'

- name: List the accounts that are not gated
  ansible.builtin.debug:
    msg: "{{ gate_audit.accounts | rejectattr('exempt') | rejectattr('forcecommand', 'equalto', gate_audit.gate.path)
             | map(attribute='name') | list }}"
'''

RETURN = r'''
probe:
  description:
    - With O(probe), what M(ephi.safeguards.host_probe) would have returned for those options (its answers and
      C(changed)), or C(failed) and C(msg) when it could not answer. Also returned when this module fails.
  returned: when O(probe) is set
  type: dict
  sample: {"changed": false, "mounts": {"/var/log/ephi": "fuse.gocryptfs"}}
chain:
  description:
    - With O(chain), what M(ephi.safeguards.audit_chain_verify) would have returned for those options (C(summary),
      C(files), C(heads), C(ignored), C(source), C(heads_since), C(cache) and C(changed)), or C(failed) and C(msg)
      when it could not run. Also returned when this module fails.
  returned: when O(chain) is set
  type: dict
  sample: {"changed": false, "summary": {"examined": 12, "ok": 11, "open": 1, "bad": 0, "cached": 10}}
settings:
  description:
    - With O(settings), what M(ephi.safeguards.tmux_settings) would have returned in check mode for those options
      (C(file_changed), C(changes), C(options), C(bindings), C(hooks), C(drift), C(servers), C(unexamined),
      C(stale_sockets), C(tmux_version), C(live_seconds), ...; no C(diff)), C(changed) false, and
      C(capture_active), whether the capture hooks and pipe were wanted; or C(failed) and C(msg) when it could not
      run. Also returned when this module fails.
  returned: when O(settings) is set
  type: dict
  sample: {"changed": false, "file_changed": false, "capture_active": true, "drift": [], "tmux_version": "tmux 3.3a"}
gate:
  description:
    - The gate program, C(path); C(chain) its owner and mode and those of every directory above
      it (C(path), C(uid), C(mode) as an integer, or C(error)), then those of O(gate_module) and
      its bytecode; C(error) when the program is not an executable regular file or the module
      is missing.
  returned: when O(audit=true)
  type: dict
  sample: {"path": "/usr/local/lib/ephi-safeguards/ephi-session-gate", "error": null,
           "chain": [{"path": "/usr/local/lib/ephi-safeguards/ephi-session-gate", "uid": 0, "mode": 33261}]}
accounts:
  description:
    - Every login-capable account, sorted by name, with C(uid), C(shell), C(kind) (V(bash), V(zsh),
      V(sh) or V(unsupported)), C(exempt), and the effective C(forcecommand) (null when none) and
      C(permituserrc) from C(sshd -T), or C(error) when sshd could not say.
  returned: when O(audit=true)
  type: list
  elements: dict
  sample: [{"name": "erin", "uid": 1001, "shell": "/bin/bash", "kind": "bash", "exempt": false,
            "forcecommand": "/usr/local/lib/ephi-safeguards/ephi-session-gate", "permituserrc": "no",
            "error": null}]
accounts_error:
  description: Why the accounts could not be listed, or null.
  returned: when O(audit=true)
  type: str
exempt_not_local:
  description: Names in O(exempt_users) that are not login-capable local accounts.
  returned: when O(audit=true)
  type: list
  elements: str
hooks:
  description:
    - One item per hooked shell (V(bash), V(zsh)) with C(path), C(required) (the shell is
      installed or a gated account uses it), C(problem) (why the hook is not in place, or null)
      and C(error) (the file could not be read, or null).
  returned: when O(audit=true)
  type: list
  elements: dict
  sample: [{"shell": "bash", "path": "/etc/bash.bashrc", "required": true, "problem": null, "error": null}]
unsupported_listed_shells:
  description: Installed shells in O(shells_file) that are neither supported nor unable to log in.
  returned: when O(audit=true)
  type: list
  elements: str
shells_error:
  description: Why O(shells_file) could not be read, or null.
  returned: when O(audit=true)
  type: str
recorder:
  description:
    - The units, C(socket_unit) and C(service_unit), their C(systemctl show) properties as
      C(socket) and C(service) (C(LoadState), C(ActiveState), C(SubState), C(Listen)), and
      C(socket_error) or C(service_error) when systemctl failed.
  returned: when O(audit=true)
  type: dict
config:
  description:
    - The recorder configuration, C(path), its owner C(uid) and C(mode) (an integer), C(error) (or
      null) and the keys C(dir), C(socket), C(fstypes), C(allow_fscrypt), C(idle_logoff),
      C(command_idle_logoff) and C(unrecordable) as read (null when the file lacks one).
  returned: when O(audit=true)
  type: dict
sshd_check:
  description:
    - The check of O(sshd_check_users) - C(verdict) (V(pass); V(fail) when an account offends or
      sshd could not answer; V(not checked) when O(sshd_check_users) is empty), C(offending)
      (names), C(config) (O(sshd_config) or null) and C(accounts), one item per name with C(name), C(exempt), C(forcecommand) (null
      when none), C(permituserrc), C(disableforwarding), C(problems) (list) and C(error) (or null);
      C(message) says it in one line, with every offending name and why.
    - The module does not fail on a V(fail) verdict (nor return C(msg), which is the sign of a
      module failure); the caller asserts on it.
  returned: always
  type: dict
  sample: {"verdict": "fail", "offending": ["erin"], "config": null,
           "message": "sshd check FAILED: erin (forcecommand none, permituserrc yes, disableforwarding no)",
           "accounts": [{"name": "erin", "exempt": false, "forcecommand": null, "permituserrc": "yes",
                         "disableforwarding": "no", "error": null,
                         "problems": ["forcecommand none", "permituserrc yes", "disableforwarding no"]}]}
store:
  description:
    - The recording directory, C(dir), C(fstype) of the mount on it (null when it is not a mount
      point), C(encrypted) and C(error) (or null).
  returned: when O(audit=true)
  type: dict
'''

import errno
import json
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.ephi.safeguards.plugins.module_utils.chain_check import attach as attach_chain
from ansible_collections.ephi.safeguards.plugins.module_utils.probe_run import attach as attach_probe
from ansible_collections.ephi.safeguards.plugins.module_utils.tmux_settings_run import attach as attach_settings
from ansible_collections.ephi.safeguards.plugins.module_utils.session_gate import (
    HOOK_VARIABLES,
    hook_problem,
    login_capable,
    mount_at,
    parse_show,
    shell_kind,
    sshd_answer,
    sshd_check,
    sshd_t_argv,
)

ENV = {'LANG': 'C', 'LC_ALL': 'C', 'LANGUAGE': 'C'}
SHELL_DIRS = ('/bin', '/usr/bin')
MOUNTINFO = '/proc/self/mountinfo'
DM_UUID = '/sys/dev/block/%s/dm/uuid'
UNIT_PROPERTIES = 'LoadState,ActiveState,SubState,Listen'


def read_text(path):
    """A regular file's text; never blocks on a FIFO or opens a device."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, 'not a regular file')
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return b''.join(chunks).decode('utf-8', 'replace')
            chunks.append(chunk)
    finally:
        os.close(fd)


def path_chain(path):
    """Owner and mode of the resolved PATH and of each directory above it."""
    chain = []
    current = os.path.realpath(path)
    while True:
        try:
            st = os.stat(current)
            chain.append({'path': current, 'uid': st.st_uid, 'mode': st.st_mode})
        except OSError as exc:
            chain.append({'path': current, 'error': to_native(exc.strerror or exc)})
        parent = os.path.dirname(current)
        if parent == current:
            return chain
        current = parent


def gate_info(path, module_path=None):
    """The gate program's path chain; with module_path (the gate's code, which
    the program imports) also that file's chain and its compiled bytecode
    (the __pycache__ beside it and the gate's .pyc files in it): all of it
    runs in every gated session."""
    info = {'path': path, 'error': None, 'chain': path_chain(path)}
    if not os.path.isfile(path):
        info['error'] = 'missing or not a regular file'
    elif not os.access(path, os.X_OK):
        info['error'] = 'not executable'
    if module_path:
        seen = set(item['path'] for item in info['chain'])
        cache = os.path.join(os.path.dirname(module_path), '__pycache__')
        stem = os.path.splitext(os.path.basename(module_path))[0] + '.'
        extra = path_chain(module_path)
        if os.path.isdir(cache):
            extra += path_chain(cache)[:1]
            try:
                names = sorted(os.listdir(cache))
            except OSError as exc:
                # Unlisted bytecode is not examined: said, so the control fails.
                extra.append({'path': cache, 'error': 'cannot list: %s' % to_native(exc.strerror or exc)})
                names = []
            extra += [path_chain(os.path.join(cache, name))[0] for name in names if name.startswith(stem)]
        info['chain'] += [item for item in extra if item['path'] not in seen or item.get('error')]
        if not os.path.isfile(module_path) and not info['error']:
            info['error'] = 'imports %s, which is missing or not a regular file' % module_path
    return info


def run_sshd_t(module, sshd, user, config):
    """(parsed sshd -T values, None) for ``user``, or (None, why sshd could not say)."""
    if sshd is None:
        return None, 'sshd not found'
    try:
        argv = sshd_t_argv(sshd, user, config)
    except ValueError as exc:
        return None, to_native(exc)
    rc, out, err = module.run_command(argv, environ_update=ENV)
    return sshd_answer(rc, out, err)


def check_sshd(module, sshd, params):
    """The sshd check of params['sshd_check_users'] (RV sshd_check)."""
    return sshd_check(params['sshd_check_users'], params['exempt_users'], params['gate'],
                      lambda name: run_sshd_t(module, sshd, name, params['sshd_config']), params['sshd_config'])


def list_accounts(module, sshd, gate_params):
    """Login-capable accounts with their sshd -T values, and why listing failed (or None)."""
    try:
        entries = pwd.getpwall()
    except (KeyError, OSError) as exc:
        return [], 'cannot read the passwd database: %s' % to_native(exc)
    exempt = set(gate_params['exempt_users'])
    accounts, seen = [], set()
    for entry in entries:
        if entry.pw_name in seen or not login_capable(entry.pw_shell, gate_params['no_login_shells']):
            continue
        seen.add(entry.pw_name)
        account = {'name': entry.pw_name, 'uid': entry.pw_uid, 'shell': entry.pw_shell,
                   'kind': shell_kind(entry.pw_shell), 'exempt': entry.pw_name in exempt,
                   'forcecommand': None, 'permituserrc': None, 'error': None}
        values, account['error'] = run_sshd_t(module, sshd, entry.pw_name, gate_params['sshd_config'])
        if values is not None:
            forcecommand = values.get('forcecommand')
            account['forcecommand'] = None if forcecommand in (None, '', 'none') else forcecommand
            account['permituserrc'] = values.get('permituserrc')
        accounts.append(account)
    return sorted(accounts, key=lambda a: a['name']), None


def installed(shell):
    return any(os.path.isfile(os.path.join(d, shell)) for d in SHELL_DIRS)


def hook_info(shell, path, gate, accounts):
    gated_kinds = set(a['kind'] for a in accounts if not a['exempt'])
    info = {'shell': shell, 'path': path, 'required': installed(shell) or shell in gated_kinds,
            'problem': None, 'error': None}
    try:
        st = os.stat(path)
    except OSError as exc:
        if info['required']:
            info['problem'] = 'missing (%s)' % to_native(exc.strerror or exc)
        return info
    if st.st_uid != 0 or st.st_mode & 0o022:
        info['problem'] = 'owned by uid %d, mode %04o: not root-owned and protected' % (
            st.st_uid, st.st_mode & 0o7777)
        return info
    try:
        info['problem'] = hook_problem(read_text(path), gate, shell)
    except (IOError, OSError) as exc:
        info['error'] = 'cannot read: %s' % to_native(exc)
    return info


def listed_shells(path, no_login_shells):
    """Installed shells in /etc/shells that would escape the gate, and why reading failed."""
    try:
        content = read_text(path)
    except (IOError, OSError) as exc:
        return [], 'cannot read %s: %s' % (path, to_native(exc))
    found = []
    for line in content.splitlines():
        shell = line.strip()
        if (shell and not shell.startswith('#') and login_capable(shell, no_login_shells)
                and shell_kind(shell) == 'unsupported' and os.path.isfile(shell) and shell not in found):
            found.append(shell)
    return found, None


def unit_state(module, unit):
    systemctl = module.get_bin_path('systemctl')
    if systemctl is None:
        return {}, 'systemctl not found'
    rc, out, err = module.run_command([systemctl, 'show', '-p', UNIT_PROPERTIES, unit], environ_update=ENV)
    state = parse_show(out)
    if rc != 0 or 'ActiveState' not in state:
        return state, 'systemctl show failed (rc %d): %s' % (rc, (err or out).strip()[-300:] or 'no output')
    return state, None


def read_config(path):
    config = {'path': path, 'error': None}
    try:
        st = os.stat(path)
        config['uid'], config['mode'] = st.st_uid, st.st_mode
        data = json.loads(read_text(path))
    except (IOError, OSError, ValueError) as exc:
        config['error'] = 'cannot read: %s' % to_native(exc)
        return config
    if not isinstance(data, dict):
        config['error'] = 'not a JSON object'
        return config
    for key in ('dir', 'socket', 'fstypes', 'allow_fscrypt', 'idle_logoff', 'command_idle_logoff', 'unrecordable'):
        config[key] = data.get(key)
    if not data.get('dir'):
        config['error'] = 'names no dir'
    return config


def store_info(module, config):
    """Whether the configured directory is the mounted encrypted file system (the recorder's test)."""
    store = {'dir': config.get('dir'), 'fstype': None, 'encrypted': False, 'error': None}
    if config.get('error'):
        store['error'] = 'configuration not read'
        return store
    try:
        mount = mount_at(read_text(MOUNTINFO), config['dir'])
    except (IOError, OSError) as exc:
        store['error'] = 'cannot read %s: %s' % (MOUNTINFO, to_native(exc))
        return store
    fstypes = config.get('fstypes') or ['fuse.gocryptfs']
    if mount is None:
        if config.get('allow_fscrypt'):
            rc, out, dummy = module.run_command(['lsattr', '-d', config['dir']], environ_update=ENV)
            store['encrypted'] = rc == 0 and bool(out.split()) and 'E' in out.split()[0]
            store['fstype'] = 'fscrypt' if store['encrypted'] else None
        return store
    fstype, dummy, devno = mount
    store['fstype'] = fstype
    if fstype in fstypes:
        store['encrypted'] = True
        return store
    try:
        store['encrypted'] = read_text(DM_UUID % devno).startswith('CRYPT-')
    except (IOError, OSError):
        store['encrypted'] = False
    return store


def main():
    module = AnsibleModule(
        argument_spec=dict(
            gate=dict(type='path', default='/usr/local/lib/ephi-safeguards/ephi-session-gate'),
            gate_module=dict(type='path', default='/usr/local/lib/ephi-safeguards/ephi_session_gate.py'),
            config=dict(type='path', default='/etc/ephi-session.json'),
            exempt_users=dict(type='list', elements='str', default=[]),
            no_login_shells=dict(type='list', elements='str', default=['nologin', 'false', 'sync', 'halt', 'shutdown']),
            bash_rc=dict(type='path', default='/etc/bash.bashrc'),
            zsh_env=dict(type='path', default='/etc/zsh/zshenv'),
            shells_file=dict(type='path', default='/etc/shells'),
            socket_unit=dict(type='str', default='ephi-session.socket'),
            service_unit=dict(type='str', default='ephi-session-recorder.service'),
            sshd_bin=dict(type='path'),
            sshd_config=dict(type='path'),
            sshd_check_users=dict(type='list', elements='str', default=[]),
            audit=dict(type='bool', default=True),
            probe=dict(type='dict'),
            chain=dict(type='dict'),
            settings=dict(type='dict'),
        ),
        supports_check_mode=True,
    )
    attach_settings(module, attach_probe(module))
    attach_chain(module)
    params = module.params
    sshd = params['sshd_bin'] or module.get_bin_path('sshd', opt_dirs=['/usr/sbin'])
    if params['sshd_check_users']:
        sshd_check = check_sshd(module, sshd, params)
    else:
        sshd_check = {'verdict': 'not checked', 'offending': [], 'config': params['sshd_config'],
                      'accounts': [], 'message': 'sshd check: no sshd_check_users given'}
    if not params['audit']:
        module.exit_json(changed=False, sshd_check=sshd_check)
    accounts, accounts_error = list_accounts(module, sshd, params)
    names = set(a['name'] for a in accounts)
    hooks = [hook_info(shell, params['bash_rc' if shell == 'bash' else 'zsh_env'], params['gate'], accounts)
             for shell in sorted(HOOK_VARIABLES)]
    unsupported, shells_error = listed_shells(params['shells_file'], params['no_login_shells'])
    recorder = {'socket_unit': params['socket_unit'], 'service_unit': params['service_unit']}
    for name in ('socket', 'service'):
        recorder[name], recorder[name + '_error'] = unit_state(module, params[name + '_unit'])
    config = read_config(params['config'])
    module.exit_json(
        changed=False,
        gate=gate_info(params['gate'], params['gate_module']),
        accounts=accounts,
        accounts_error=accounts_error,
        exempt_not_local=sorted(set(params['exempt_users']) - names),
        hooks=hooks,
        unsupported_listed_shells=unsupported,
        shells_error=shells_error,
        recorder=recorder,
        config=config,
        store=store_info(module, config),
        sshd_check=sshd_check,
    )


if __name__ == '__main__':
    main()
