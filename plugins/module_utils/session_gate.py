# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The session gate audit: what decides whether every SSH login of a
non-exempt account is forced through the root-owned session gate and the
recorder (pure functions; the module session_gate_audit gathers the input,
tmux_controls turns the verdicts into evidence).

Why each check exists (the lab facts in the design note):

- sshd runs ``ForceCommand X`` as ``<login shell> -c X``. bash then sources
  /etc/bash.bashrc and ~/.bashrc before X (SSH_SOURCE_BASHRC), zsh sources
  /etc/zsh/zshenv and ~/.zshenv: without a root-owned hook as the first code
  of the system file that execs the gate, the user's own rc file could start a
  shell outside the gate. dash/sh read nothing for ``-c``. Any other shell is
  unsupported: a gated account with one is a finding, and so is one that
  ``chsh`` could switch to (listed in /etc/shells).
- The gate program and every directory above it must be root's and not
  writable by group or others, else a user could replace it.
- The recorder only records into the mounted encrypted directory.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re
import stat

# Login shell (basename) -> what it reads for `-c` from sshd: the hook it needs.
SHELL_KINDS = {'bash': 'bash', 'rbash': 'bash', 'sh': 'sh', 'dash': 'sh', 'zsh': 'zsh'}
# The variable that holds sshd's command in each hook (equals the gate path).
HOOK_VARIABLES = {'bash': 'BASH_EXECUTION_STRING', 'zsh': 'ZSH_EXECUTION_STRING'}
# A hook spans at most this many code lines from its first to its exec.
HOOK_MAX_LINES = 6
HOOK_KEYWORDS = ('if', 'then', '{', 'do')


def shell_kind(shell):
    """'bash', 'zsh', 'sh' or 'unsupported' for a login shell path ('' is /bin/sh, passwd(5))."""
    return SHELL_KINDS.get(posixpath.basename(shell or '') or 'sh', 'unsupported')


def login_capable(shell, no_login_shells):
    """False when the login shell is one that cannot log in (nologin, false, ...)."""
    return posixpath.basename(shell or '') not in set(no_login_shells or [])


def parse_sshd_t(output):
    """``sshd -T`` output -> keyword (lower case) -> value of its first line."""
    found = {}
    for line in (output or '').splitlines():
        parts = line.strip().split(None, 1)
        if parts and parts[0].lower() not in found:
            found[parts[0].lower()] = parts[1] if len(parts) > 1 else ''
    return found


def account_problems(account, gate):
    """What keeps one gated account's SSH logins from going through the gate ([] when none).

    ``account`` is one item of the audit's ``accounts`` (not exempt).
    """
    problems = []
    forcecommand = account.get('forcecommand')
    if forcecommand != gate:
        problems.append('forcecommand %s' % (forcecommand if forcecommand else 'none'))
    if (account.get('permituserrc') or '').lower() != 'no':
        problems.append('permituserrc %s' % (account.get('permituserrc') or 'unknown'))
    if account.get('kind') == 'unsupported':
        problems.append('unsupported shell %s' % account.get('shell'))
    return problems


# What the gate's sshd drop-in promises for a gated account (sshd -T values);
# an exempt account must not get the gate at all.
GATED_SSHD = (('permituserrc', 'no'), ('disableforwarding', 'yes'))


def sshd_problems(values, gate, exempt):
    """What in one account's effective sshd configuration breaks the gate's promise ([] when none).

    ``values`` is ``parse_sshd_t`` of ``sshd -T -C user=<name>,...``. A gated
    account must get ForceCommand ``gate``, PermitUserRC no and
    DisableForwarding yes (no ~/.ssh/rc before the gate, no tunnel past the
    recorder); an exempt one must not get the gate (the exemption took effect).
    """
    values = values if isinstance(values, dict) else {}
    forcecommand = values.get('forcecommand')
    if forcecommand in (None, '', 'none'):
        forcecommand = None
    if exempt:
        return ['forcecommand %s although exempt' % gate] if forcecommand == gate else []
    problems = []
    if forcecommand != gate:
        problems.append('forcecommand %s' % (forcecommand or 'none'))
    for keyword, wanted in GATED_SSHD:
        found = (values.get(keyword) or '').lower()
        if found != wanted:
            problems.append('%s %s' % (keyword, found or 'unknown'))
    return problems


def sshd_check_verdict(checked):
    """('pass' or 'fail', offending names, one-line message) for the sshd check of the given accounts.

    ``checked`` lists ``{"name", "problems", "error"}``; an account sshd could
    not answer for (``error``) offends too, and so does an empty list (nothing
    was checked, so nothing is proved).
    """
    items = [item for item in (checked if isinstance(checked, list) else []) if isinstance(item, dict)]
    if not items:
        return 'fail', [], 'sshd check: no account was checked'
    offending, reasons = [], []
    for item in items:
        why = [item['error']] if item.get('error') else list(item.get('problems') or [])
        if why:
            offending.append(item.get('name'))
            reasons.append('%s (%s)' % (item.get('name'), ', '.join(why)))
    if offending:
        return 'fail', offending, 'sshd check FAILED: %s' % '; '.join(reasons)
    return 'pass', [], 'sshd check passed: %s' % ', '.join(item.get('name') or '' for item in items)


def sshd_answer(rc, out, err):
    """(parsed values, None) of one ``sshd -T`` run, or (None, why it gave no answer)."""
    values = parse_sshd_t(out)
    if rc != 0 or 'forcecommand' not in values:
        return None, 'sshd -T failed (rc %s): %s' % (rc, (err or out or '').strip()[-300:] or 'no output')
    return values, None


def sshd_check(users, exempt_users, gate, answer_of, config=None):
    """The sshd check of USERS (session_gate_audit's RV sshd_check): each account's sshd_problems,
    and the verdict. ANSWER_OF(name) is (parsed ``sshd -T`` values, None) or (None, why not)."""
    exempt = set(exempt_users)
    checked = []
    for name in users:
        if any(item['name'] == name for item in checked):
            continue
        values, error = answer_of(name)
        item = {'name': name, 'exempt': name in exempt, 'forcecommand': None, 'permituserrc': None,
                'disableforwarding': None, 'problems': [], 'error': error}
        if values is not None:
            forcecommand = values.get('forcecommand')
            item['forcecommand'] = None if forcecommand in (None, '', 'none') else forcecommand
            item['permituserrc'] = values.get('permituserrc')
            item['disableforwarding'] = values.get('disableforwarding')
            item['problems'] = sshd_problems(values, gate, item['exempt'])
        checked.append(item)
    verdict, offending, message = sshd_check_verdict(checked)
    return {'verdict': verdict, 'offending': offending, 'config': config, 'accounts': checked, 'message': message}


def sshd_check_argvs(sshd, users):
    """The ``sshd -T`` argument lists of USERS that a -C specification can name, for a host probe."""
    argvs = []
    for name in users:
        try:
            argv = sshd_t_argv(sshd, name)
        except ValueError:
            continue
        if argv not in argvs:
            argvs.append(argv)
    return argvs


def sshd_check_of_probe(commands, sshd, users, exempt_users, gate):
    """sshd_check from a host probe's answers to sshd_check_argvs(SSHD, USERS) (host_probe's RV
    commands: argv, rc (None when the program is missing), stdout, stderr). An account whose
    question the probe was not asked, or could not ask, fails the check."""
    answers = dict((tuple(item.get('argv') or ()), item) for item in (commands or []) if isinstance(item, dict))

    def answer_of(name):
        try:
            argv = tuple(sshd_t_argv(sshd, name))
        except ValueError as exc:
            return None, str(exc)
        item = answers.get(argv)
        if item is None:
            return None, 'sshd -T was not asked for %s' % name
        if item.get('rc') is None:
            return None, 'sshd not found'
        return sshd_answer(item['rc'], item.get('stdout'), item.get('stderr'))
    return sshd_check(users, exempt_users, gate, answer_of)


def sshd_t_argv(sshd, user, config=None):
    """argv of ``sshd -T`` for ``user`` connecting from localhost (``config``: a main file, -f).

    A name with white space, ``,`` or ``=`` would change the -C specification: ValueError.
    """
    if not user or re.search(r'[\s,=]', user):
        raise ValueError('%r cannot be named in a -C connection specification' % (user,))
    argv = [sshd, '-T']
    if config:
        argv += ['-f', config]
    return argv + ['-C', 'user=%s,host=localhost,addr=127.0.0.1' % user]


def _code(line):
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith('#')


def hook_problem(content, gate, shell):
    """Why ``content`` (a system rc file) does not start with the gate hook for ``shell``, or None.

    The hook is the first code of the file (comments and blank lines may come
    first): every code line before its exec of the gate tests the shell's
    execution-string variable or SSH_CONNECTION (or is a bare ``if``/``then``),
    it names both, and it spans at most HOOK_MAX_LINES code lines.
    """
    variable = HOOK_VARIABLES[shell]
    exec_gate = re.compile(r'(^|[\s;&|{(])exec\s+(["\']?)%s\2(\s|;|\)|$)' % re.escape(gate))
    lines = (content or '').splitlines()
    start = next((i for i, line in enumerate(lines) if _code(line)), None)
    if start is None:
        return 'no hook: the file has no code'
    at = next((i for i, line in enumerate(lines) if _code(line) and exec_gate.search(line)), None)
    if at is None:
        return 'no line execs %s' % gate
    # Every code line up to the exec is part of the hook: it tests the
    # variables or is a bare keyword of the test around the exec.
    for number in range(start, at):
        line = lines[number]
        if _code(line) and not (variable in line or 'SSH_CONNECTION' in line
                                or line.strip() in HOOK_KEYWORDS):
            return 'the hook is not the first code: line %d comes before it' % (number + 1)
    if len([line for line in lines[start:at + 1] if _code(line)]) > HOOK_MAX_LINES:
        return 'the hook is not the first code: it spans more than %d lines' % HOOK_MAX_LINES
    hook = '\n'.join(line for line in lines[start:at + 1] if _code(line))
    missing = [name for name in (variable, 'SSH_CONNECTION') if name not in hook]
    if missing:
        return 'the hook does not test %s' % ' and '.join(missing)
    return None


def unsafe_path(chain):
    """Problems of a program and the directories above it ([] when none).

    ``chain`` lists ``{"path", "uid", "mode"}`` (mode an int, ``stat.st_mode``)
    from the program up to /, or ``{"path", "error"}`` for one that could not
    be read. Each must be root's and not writable by group or others.
    """
    problems = []
    for item in chain:
        if item.get('error'):
            problems.append('%s: %s' % (item.get('path'), item['error']))
            continue
        mode = item.get('mode')
        if item.get('uid') != 0:
            problems.append('%s owned by uid %s' % (item.get('path'), item.get('uid')))
        if not isinstance(mode, int) or mode & (stat.S_IWGRP | stat.S_IWOTH):
            problems.append('%s mode %s writable by group or others' % (
                item.get('path'), ('%04o' % stat.S_IMODE(mode)) if isinstance(mode, int) else mode))
    return problems


def unescape_mountinfo(field):
    """A mountinfo path field with its octal escapes (``\\040`` space, ...) decoded."""
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), field)


def mount_at(mountinfo, path):
    """(fstype, source, major:minor) of the last mount on ``path`` in /proc/self/mountinfo, or None."""
    match = None
    wanted = posixpath.normpath(path)
    for line in (mountinfo or '').splitlines():
        fields = line.split()
        if '-' not in fields or len(fields) < 5:
            continue
        sep = fields.index('-')
        if len(fields) < sep + 3:
            continue
        if unescape_mountinfo(fields[4]) == wanted:
            match = (fields[sep + 1], unescape_mountinfo(fields[sep + 2]), fields[2])
    return match


def unit_problem(state, sub_states, listen=None):
    """Why a unit (``systemctl show`` properties) is not active in one of ``sub_states``, or None."""
    if not isinstance(state, dict) or not state:
        return 'no state'
    if state.get('LoadState') and state['LoadState'] != 'loaded':
        return state['LoadState']
    if state.get('ActiveState') != 'active' or state.get('SubState') not in sub_states:
        return '%s (%s)' % (state.get('ActiveState') or 'unknown', state.get('SubState') or 'unknown')
    if listen and listen not in (state.get('Listen') or ''):
        return 'active but not listening on %s (Listen=%s)' % (listen, state.get('Listen') or '')
    return None


def parse_show(output):
    """``systemctl show -p ...`` output -> property -> value."""
    found = {}
    for line in (output or '').splitlines():
        key, sep, value = line.partition('=')
        if sep and key.strip() and key.strip() not in found:
            found[key.strip()] = value.strip()
    return found


def _dict(value):
    return value if isinstance(value, dict) else {}


def _items(value):
    return [item for item in (value if isinstance(value, list) else []) if isinstance(item, dict)]


def gate_verdict(audit):
    """(problems, unexamined): why the gate is not in force for every gated account.

    ``audit`` is the session_gate_audit result. Both lists are of short texts;
    both empty means the gate is in force.
    """
    problems, unexamined = [], []
    if not isinstance(audit, dict) or not audit:
        return problems, ['no session_gate_audit result']
    gate = _dict(audit.get('gate'))
    gate_path = gate.get('path')
    if not gate_path:
        return problems, ['the audit names no gate program']
    chain = _items(gate.get('chain'))
    if gate.get('error'):
        # A missing program: the missing directories above it say nothing more.
        problems.append('gate program %s %s' % (gate_path, gate['error']))
        chain = [item for item in chain if not item.get('error')]
    problems += ['gate program: %s' % p for p in unsafe_path(chain)]
    accounts = _items(audit.get('accounts'))
    if audit.get('accounts_error'):
        unexamined.append('accounts: %s' % audit['accounts_error'])
    elif not accounts:
        unexamined.append('no login-capable account found')
    gated = [a for a in accounts if not a.get('exempt')]
    for account in gated:
        if account.get('error'):
            unexamined.append('%s: %s' % (account.get('name'), account['error']))
            continue
        found = account_problems(account, gate_path)
        if found:
            problems.append('%s (%s)' % (account.get('name'), ', '.join(found)))
    for hook in _items(audit.get('hooks')):
        if not hook.get('required'):
            continue
        if hook.get('error'):
            unexamined.append('%s hook in %s: %s' % (hook.get('shell'), hook.get('path'), hook['error']))
        elif hook.get('problem'):
            problems.append('%s hook in %s: %s' % (hook.get('shell'), hook.get('path'), hook['problem']))
    if audit.get('shells_error'):
        unexamined.append('login shells list: %s' % audit['shells_error'])
    elif audit.get('unsupported_listed_shells'):
        problems.append('chsh can switch to unsupported shells listed in /etc/shells: %s'
                        % ', '.join(audit['unsupported_listed_shells']))
    return problems, unexamined


def recorder_verdict(audit):
    """(problems, unexamined): why the recorder would not record a gated session now."""
    problems, unexamined = [], []
    if not isinstance(audit, dict) or not audit:
        return problems, ['no session_gate_audit result']
    recorder = _dict(audit.get('recorder'))
    config = _dict(audit.get('config'))
    if config.get('error'):
        unexamined.append('configuration %s: %s' % (config.get('path'), config['error']))
    else:
        problems += ['configuration: %s' % p for p in unsafe_path([config])]
    for name, sub_states, listen in (('socket', ('listening', 'running'), config.get('socket')),
                                     ('service', ('running',), None)):
        unit = recorder.get(name + '_unit')
        if recorder.get(name + '_error'):
            unexamined.append('%s: %s' % (unit, recorder[name + '_error']))
            continue
        problem = unit_problem(recorder.get(name), sub_states, listen)
        if problem:
            problems.append('%s %s' % (unit, problem))
    store = _dict(audit.get('store'))
    if store.get('error') and not config.get('error'):
        unexamined.append('directory %s: %s' % (store.get('dir'), store['error']))
    elif not config.get('error'):
        if not store.get('encrypted'):
            problems.append('directory %s is NOT the mounted encrypted file system (%s)' % (
                store.get('dir'), store.get('fstype') or 'not a mount point'))
    return problems, unexamined
