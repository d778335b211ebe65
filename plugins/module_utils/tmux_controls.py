# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The tmux role's evidence: one pure function per control.

Each control takes ``probes`` (what roles/tmux/tasks/verify.yml registered on
the host, by name) and ``policy`` (the role's variables) and returns one
evidence record (module_utils/evidence.py). A control that could not examine
its object fails.

Probes:

``settings``
    The ``tmux_settings`` result in check mode with ``live=audit``. The task
    runs with ``failed_when: false``, so a module failure shows as a ``msg``
    (a successful run returns none), not as ``failed``.
``host``
    One ``host_probe`` result (``failed_when: false``): in ``paths`` the lock
    program (the first word of ``lock_command``) and the vlock event plugin
    (``lock_plugin_path``), each a regular executable file; in ``lines`` the
    line of ``shells_path`` (/etc/shells) that would list tmux; in ``units``
    ``ephi-capture.socket``; in ``passwd`` the accounts (name -> the fields of
    ``getent passwd``). What it lacks was not examined.
``autostart_file``
    The autostart script: host_probe's facts of its path (``conforms``: root's,
    the mode, and the sha256 of the rendered template as its digest; None when
    the probe failed), or the script's ``file_set`` task in check mode.
``capture_mounted``
    Whether the encrypted capture directory is mounted with an allowed file
    system (the role's ``__tmux_capture_active``, also what the enforcement used).
``session_gate``
    The ``session_gate_audit`` result (skipped when ``session_gate`` is off).
``enforcer``
    One read-only command (host_probe's answer or a command task with
    ``failed_when: false``; skipped unless ``live_mode`` is ``enforce``) printing ``key=value`` lines: ``service`` (``systemctl
    is-active ephi-tmux-enforcer.service``), ``policy_file`` (``present`` or
    ``missing``), ``check_config`` (the exit status of ``ephi-tmux-enforcer
    --check-config``, a space, its output on one line) and ``interval`` (the
    policy file's, empty when not found).
``audit_chain``
    The ``audit_chain_verify`` result for the recorder's directory, heads from
    the journal (the session gate audit's ``chain``, the same checks in its
    run; not read when ``session_gate`` is off).
``console_idle``
    One read-only command (host_probe's answer, or a command task with
    ``failed_when: false``) printing ``logind=`` (``systemctl is-active
    systemd-logind.service``), ``stop_idle_usec=`` (logind's StopIdleSessionUSec, read only when it
    runs) and ``pam=<file> <line>`` lines of /etc/pam.d/login, su and common-session (see
    ``console_idle_probe``).

Policy: ``config_path``, ``lock_after_time``, ``lock_command``,
``history_limit``, ``autostart``, ``autostart_path``, ``autostart_exempt_users``,
``autostart_covered_shells``, ``no_login_shells``, ``remove_from_shells``,
``capture``, ``capture_dir``; optional (the defaults are the role's):
``session_gate`` (true), ``session_gate_path``, ``session_gate_exempt_users``
(list of ``{name, reason}``), ``session_idle_logoff`` (1800),
``session_unrecordable`` (refuse), ``live_mode`` (enforce),
``enforcer_interval`` (5), ``lock_plugin_path`` (the event plugin's path), ``shells_path``
(/etc/shells).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.ephi.safeguards.plugins.module_utils.audit_chain import chain_verdict
from ansible_collections.ephi.safeguards.plugins.module_utils.evidence import probe_failed, record, text, truncate
from ansible_collections.ephi.safeguards.plugins.module_utils.session_gate import gate_verdict, recorder_verdict

# UIDs of people: 0 and the Debian UID_MIN range; 65534 is nobody.
UID_MIN = 1000
NOBODY = 65534

LOGOFF = 'automatic_logoff'
LOGOFF_HIPAA = '164.312(a)(2)(iii)'


def autostart_uncovered(passwd, exempt_users=None, covered_shells=None, no_login_shells=None):
    """Accounts whose login shell never runs the profile.d autostart.

    ``passwd`` is ``getent passwd`` as the getent module returns it (name ->
    [password, uid, gid, gecos, home, shell]). Returns sorted ``"name (shell)"``
    strings for root and every UID >= 1000 (not nobody, not exempt) whose shell
    is neither one that reads /etc/profile nor one that cannot log in.
    Raises ``TypeError`` or ``ValueError`` on input that is not such a mapping.
    """
    if not isinstance(passwd, dict):
        raise TypeError('expected the getent passwd mapping, got %s' % type(passwd).__name__)
    exempt = set(exempt_users or [])
    covered = set(covered_shells or [])
    no_login = set(no_login_shells or [])
    found = []
    for name, entry in passwd.items():
        try:
            uid = int(entry[1])
            shell = entry[5] or ''
        except (TypeError, ValueError, IndexError):
            raise ValueError('malformed passwd entry for %r' % (name,))
        if name in exempt or uid == NOBODY or not (uid == 0 or uid >= UID_MIN):
            continue
        # An empty shell field means /bin/sh (passwd(5)), which reads /etc/profile.
        base = posixpath.basename(shell) or 'sh'
        if base in covered or base in no_login:
            continue
        found.append('%s (%s)' % (name, shell))
    return sorted(found)


def _result(mapping, name):
    """``mapping[name]`` as a dict ({} when either is missing or not a dict)."""
    value = mapping.get(name) if isinstance(mapping, dict) else None
    return value if isinstance(value, dict) else {}


def _host(probes):
    """The verify probe (host_probe), or {} when it is missing, did not run or failed."""
    probe = probes.get('host')
    return {} if probe_failed(probe) else probe


def _executable(probes, path):
    """True when the verify probe saw a regular file with an execute bit at PATH (never a link)."""
    facts = _result(_result(_host(probes), 'paths'), path)
    return facts.get('type') == 'file' and bool(facts.get('executable'))


def settings_error(probes):
    """Why the tmux_settings probe could not examine the host, or None.

    The task runs with ``failed_when: false`` (the module's failure must not
    stop the verification), which sets ``failed`` to false: the module's own
    ``msg``, which it only returns when it fails, is the sign.
    """
    result = probes.get('settings')
    if not isinstance(result, dict):
        return 'no tmux_settings result'
    if result.get('msg'):
        return text(result['msg'])
    if probe_failed(result):
        return 'tmux_settings did not run'
    return None


def _list(result, key):
    return result.get(key) or []


def _words(items, *keys):
    """'; '-joined "k1 k2 k3" of each item, as the old template's map/zip/join."""
    return '; '.join(' '.join(text(item.get(k, '')) for k in keys) for item in items)


def _unexamined_text(settings):
    unexamined = _list(settings, 'unexamined')
    if not unexamined:
        return ''
    return '; %d server(s) NOT examined: %s' % (len(unexamined), _words(unexamined, 'user', 'socket', 'status'))


# Lock programs that run code the user controls before locking: on Debian
# /usr/bin/vlock is a shell script that sources ~/.vlockrc (a user's
# "exit 0" there ends every lock at once); the real locker is vlock-main.
UNSAFE_LOCK_PROGRAMS = {
    'vlock': 'is a shell script that sources the user\'s ~/.vlockrc before it locks: a user\'s file '
             'there (e.g. "exit 0") ends every lock at once without a password; use /usr/sbin/vlock-main',
}


def lock_command_problem(command):
    """Why ``command`` (a tmux lock-command) is not a safe lock, or '' when it is.

    Only the program (first word) is judged: a bare name is looked up in the
    PATH of the user's tmux client, which the user controls; a known unsafe
    program (``UNSAFE_LOCK_PROGRAMS``, by file name) runs the user's code.
    """
    words = text(command).split()
    if not words:
        return 'the lock-command is empty: tmux would unlock at once'
    program = words[0]
    if not program.startswith('/'):
        return '%s is looked up in the PATH of the user\'s tmux client, which the user controls' % program
    reason = UNSAFE_LOCK_PROGRAMS.get(posixpath.basename(program))
    return '%s %s' % (program, reason) if reason else ''


def lock_command_effective(command, plugin):
    """The lock-command tmux runs: ``command`` plus the vlock event plugin ``plugin``
    (a name in vlock-main's script directory) when the program is vlock-main and
    the plugin is not named yet; any other lock program unchanged."""
    command = text(command).strip()
    words = command.split()
    if not plugin or not words or posixpath.basename(words[0]) != 'vlock-main' or plugin in words[1:]:
        return command
    return '%s %s' % (command, plugin)


def tmux_lock_policy(probes, policy):
    """The system tmux.conf enforces the lock settings and the lock program exists."""
    settings = _result(probes, 'settings')
    error = settings_error(probes)
    lock_command = text(policy['lock_command'])
    program = (lock_command.split() or [''])[0]
    lock_ok = _executable(probes, program)
    if error:
        observed = error
    elif settings.get('file_changed'):
        observed = 'file differs from the policy'
    else:
        observed = 'file matches the policy'
    observed += '; lock program %s%s' % (
        program, ' present' if lock_ok else ' MISSING or not executable: tmux would unlock at once')
    unsafe = lock_command_problem(lock_command)
    if unsafe:
        observed += '; UNSAFE lock: %s' % unsafe
    plugin_path = text(policy.get('lock_plugin_path') or '')
    plugin_ok = True
    if plugin_path and posixpath.basename(plugin_path) in lock_command.split()[1:]:
        plugin_ok = _executable(probes, plugin_path)
        observed += '; event plugin %s%s' % (
            plugin_path, ' present' if plugin_ok else ' MISSING or not executable: vlock-main would exit and tmux unlock at once')
    failed = bool(error) or bool(settings.get('file_changed')) or not lock_ok or bool(unsafe) or not plugin_ok
    return record(
        'tmux-lock-policy', LOGOFF, LOGOFF_HIPAA, 'RHEL-08-020040, RHEL-08-020070',
        'System tmux configuration %s enforces lock-after-time %s, lock-command %s, history-limit %s; the '
        'lock-command is not the STIG\'s literal "vlock" on purpose: on Debian that is /usr/bin/vlock, a shell '
        'script that sources the user\'s ~/.vlockrc first (a user\'s "exit 0" there ends every lock at once); '
        'vlock-main is the locker it runs, without user code' % (
            text(policy['config_path']), text(policy['lock_after_time']), lock_command,
            text(policy['history_limit'])),
        observed, 'fail' if failed else 'pass')


def tmux_live_servers(probes, policy):
    """No running tmux server runs with weaker settings; every one was examined."""
    settings = _result(probes, 'settings')
    error = settings_error(probes)
    check = 'No running tmux server of any user runs with weaker settings than the policy'
    if error:
        return record('tmux-live-servers', LOGOFF, LOGOFF_HIPAA, 'RHEL-08-020070', check,
                      'live servers NOT examined: %s' % error, 'fail')
    drift = _list(settings, 'drift')
    unexamined = _list(settings, 'unexamined')
    observed = '%d live server(s) audited; %d drifted setting(s)' % (len(_list(settings, 'servers')), len(drift))
    if drift:
        observed += ': ' + _words(drift, 'user', 'option', 'found')
    observed += _unexamined_text(settings)
    return record('tmux-live-servers', LOGOFF, LOGOFF_HIPAA, 'RHEL-08-020070', check,
                  observed, 'fail' if (drift or unexamined) else 'pass')


def tmux_autostart(probes, policy):
    """Interactive logins start tmux: the script is in place and no login shell escapes it."""
    check = 'Interactive logins start tmux (%s)' % text(policy['autostart_path'])
    if not boolean(policy['autostart'], strict=False):
        return record('tmux-autostart', LOGOFF, LOGOFF_HIPAA, 'RHEL-08-020041', check,
                      'autostart disabled by tmux_autostart', 'not_applicable')
    script = probes.get('autostart_file')
    if probe_failed(script):
        observed, failed = 'autostart script NOT examined', True
    elif script.get('changed') or ('conforms' in script and script['conforms'] is not True):
        observed, failed = 'autostart script missing or altered', True
    else:
        observed, failed = 'autostart script in place', False
    accounts = _result(_host(probes), 'passwd')
    if not accounts:
        observed += '; accounts and their login shells NOT examined'
        failed = True
    else:
        escaping = autostart_uncovered(accounts, policy.get('autostart_exempt_users'),
                                       policy.get('autostart_covered_shells'),
                                       policy.get('no_login_shells'))
        if escaping:
            observed += '; login shell does not read /etc/profile, no autostart for: ' + ', '.join(escaping)
            failed = True
    escape = _gate_escape_note(probes, policy)
    if escape:
        observed += '; ' + escape
        failed = True
    return record('tmux-autostart', LOGOFF, LOGOFF_HIPAA, 'RHEL-08-020041', check,
                  observed, 'fail' if failed else 'pass')


def tmux_not_a_shell(probes, policy):
    """tmux is not a login shell (not listed in /etc/shells)."""
    check = 'tmux is not listed in /etc/shells'
    if not boolean(policy.get('remove_from_shells', True), strict=False):
        return record('tmux-not-a-shell', LOGOFF, LOGOFF_HIPAA, 'RHEL-08-020042', check,
                      'not checked: tmux_remove_from_shells is false', 'not_applicable')
    path = text(policy.get('shells_path') or '/etc/shells')
    lines = [line for line in _list(_host(probes), 'lines') if isinstance(line, dict) and line.get('path') == path]
    if not lines:
        observed, status = '%s NOT examined' % path, 'fail'
    elif lines[0].get('matched'):
        observed, status = 'tmux listed in %s' % path, 'fail'
    else:
        observed, status = 'tmux not listed' + ('' if lines[0].get('matched') is False else ' (no %s)' % path), 'pass'
    return record('tmux-not-a-shell', LOGOFF, LOGOFF_HIPAA, 'RHEL-08-020042', check, observed, status)


def tmux_session_capture(probes, policy):
    """With capture on: every pane is piped to the collector in the mounted
    encrypted directory. With capture off: nothing of it is left."""
    settings = _result(probes, 'settings')
    error = settings_error(probes)
    cap_drift = [d for d in _list(settings, 'drift') if d.get('scope') in ('hook', 'pane')]
    unexamined = _list(settings, 'unexamined')
    sock = text(_result(_result(_host(probes), 'units'), 'ephi-capture.socket').get('active') or '')
    check = ('Every pane of every tmux session is piped to the root-owned collector writing into '
             'the encrypted directory %s' % text(policy['capture_dir']))
    hooks_not_examined = 'capture hooks and pane pipes NOT examined: %s' % error
    if not boolean(policy['capture'], strict=False):
        # Switched off means removed: no collector listening, no capture hook
        # in the file or a live server.
        leftovers = []
        if sock == 'active':
            leftovers.append('collector socket active')
        if [c for c in _list(settings, 'changes') if c.get('kind') == 'hook']:
            leftovers.append('capture hooks in %s' % text(policy['config_path']))
        if cap_drift:
            leftovers.append('%d capture hook(s) still set in live servers' % len(cap_drift))
        observed = 'capture disabled by tmux_capture'
        if leftovers:
            observed += ' but still in place: ' + '; '.join(leftovers)
        # systemd always names a state: none is no answer.
        if not sock:
            observed += '; collector socket NOT examined'
        if error:
            observed += '; ' + hooks_not_examined
        observed += _unexamined_text(settings)
        failed = leftovers or not sock or error or unexamined
        if not failed:
            observed += '; collector, units and hooks removed'
        return record('tmux-session-capture', 'audit_controls', '164.312(b)', 'none', check,
                      observed, 'fail' if failed else 'not_applicable')
    mounted = boolean(probes.get('capture_mounted', False), strict=False)
    observed = 'encrypted directory %s; collector socket %s; ' % (
        'mounted' if mounted else 'NOT mounted: capture is off', sock or 'missing')
    if error:
        observed += hooks_not_examined
    else:
        observed += '%d capture drift item(s) (hooks unset or panes without a pipe)' % len(cap_drift)
        if cap_drift:
            observed += ': ' + _words(cap_drift, 'user', 'option', 'target')
        observed += _unexamined_text(settings)
    escape = _gate_escape_note(probes, policy)
    if escape:
        observed += '; ' + escape
    passed = mounted and sock == 'active' and not cap_drift and not unexamined and not error and not escape
    return record('tmux-session-capture', 'audit_controls', '164.312(b)', 'none', check,
                  observed, 'pass' if passed else 'fail')


AUDIT = 'audit_controls'
AUDIT_HIPAA = '164.312(b)'
# The chain protects the audit records' integrity: both.
AUDIT_INTEGRITY = '164.312(b), 164.312(c)(1)'
GATE_PATH = '/usr/local/lib/ephi-safeguards/ephi-session-gate'
GATE_OFF = 'session gate disabled by tmux_session_gate'


def _gate_wanted(policy):
    return boolean(policy.get('session_gate', True), strict=False)


def session_gate_error(probes):
    """Why the session_gate_audit probe cannot be used, or None (a module failure shows as ``msg``)."""
    result = probes.get('session_gate')
    if not isinstance(result, dict):
        return 'no session_gate_audit result'
    if result.get('msg'):
        return text(result['msg'])
    if probe_failed(result):
        return 'session_gate_audit did not run'
    return None


def _verdict(probes, judge):
    """(problems, unexamined) of the audit by ``judge``; a missing audit is unexamined."""
    error = session_gate_error(probes)
    if error:
        return [], [error]
    return judge(probes['session_gate'])


def _gate_not_in_force(probes):
    """'' when the gate is in force, else 'NOT in force' or 'NOT examined'."""
    problems, unexamined = _verdict(probes, gate_verdict)
    if problems:
        return 'NOT in force'
    return 'NOT examined' if unexamined else ''


def _findings(problems, unexamined, label):
    parts = []
    if problems:
        parts.append('%s: %s' % (label, '; '.join(text(p) for p in problems)))
    if unexamined:
        parts.append('NOT examined: %s' % '; '.join(text(u) for u in unexamined))
    return '; '.join(parts)


def _gate_escape_note(probes, policy):
    """The text that fails tmux-autostart and tmux-session-capture while the wanted gate is not in force."""
    state = _gate_not_in_force(probes) if _gate_wanted(policy) else ''
    if not state:
        return None
    return 'session gate %s (tmux-session-gate): an SSH login %s get a shell outside tmux' % (
        state, 'can' if state == 'NOT in force' else 'may')


def _exempt_names(policy):
    return [text(e.get('name')) if isinstance(e, dict) else text(e)
            for e in (policy.get('session_gate_exempt_users') or [])]


def tmux_session_gate(probes, policy):
    """Every SSH login of a login-capable, non-exempt account is forced through the gate."""
    gate = text(policy.get('session_gate_path') or GATE_PATH)
    check = ('Every SSH login of a login-capable, non-exempt account runs the root-owned session gate %s '
             '(sshd -T -C per account: ForceCommand, PermitUserRC no; a supported login shell with its '
             'system hook first; the gate and its directories root-owned, not writable by group or others)' % gate)
    if not _gate_wanted(policy):
        return record('tmux-session-gate', AUDIT, AUDIT_HIPAA, 'RHEL-08-020041', check,
                      GATE_OFF + ': SSH logins are not forced into the recorded, locking session', 'fail')
    problems, unexamined = _verdict(probes, gate_verdict)
    if problems or unexamined:
        return record('tmux-session-gate', AUDIT, AUDIT_HIPAA, 'RHEL-08-020041', check,
                      _findings(problems, unexamined, 'gate NOT in force'), 'fail')
    audit = probes['session_gate']
    gated = [text(a.get('name')) for a in audit.get('accounts') or [] if not a.get('exempt')]
    hooks = ['%s %s' % (text(h.get('shell')), text(h.get('path'))) for h in audit.get('hooks') or []
             if h.get('required')]
    observed = 'gate in force for %d account(s): %s; hooks first in %s; gate program root-owned' % (
        len(gated), ', '.join(gated), ', '.join(hooks) or 'no hooked shell installed')
    return record('tmux-session-gate', AUDIT, AUDIT_HIPAA, 'RHEL-08-020041', check, observed, 'pass')


def tmux_session_recorder(probes, policy):
    """The root recorder is listening and running and records into the mounted encrypted directory."""
    check = ('The root session recorder (ephi-session.socket listening, ephi-session-recorder.service running) '
             'records every gated session into the mounted encrypted directory; when it cannot, new logins are %s'
             % ('refused' if text(policy.get('session_unrecordable', 'refuse')) == 'refuse'
                else 'let in unrecorded (tmux_session_unrecordable allow)'))
    if not _gate_wanted(policy):
        return record('tmux-session-recorder', AUDIT, AUDIT_HIPAA, 'none', check,
                      GATE_OFF + ': no session goes through the recorder', 'fail')
    problems, unexamined = _verdict(probes, recorder_verdict)
    if problems or unexamined:
        return record('tmux-session-recorder', AUDIT, AUDIT_HIPAA, 'none', check,
                      _findings(problems, unexamined, 'recorder NOT recording'), 'fail')
    audit = probes['session_gate']
    recorder = audit.get('recorder') or {}
    store = audit.get('store') or {}
    observed = '%s listening on %s; %s running; %s is the mounted encrypted file system (%s)' % (
        text(recorder.get('socket_unit')), text((audit.get('config') or {}).get('socket')),
        text(recorder.get('service_unit')), text(store.get('dir')), text(store.get('fstype')))
    return record('tmux-session-recorder', AUDIT, AUDIT_HIPAA, 'none', check, observed, 'pass')


# Console, `login` and `su -` sessions (no SSH gate) are logged off by systemd-logind's
# StopIdleSessionSec: the idle time of a tty session is the access time of its tty, which only input
# updates (measured on Debian 12/13, /work/notes/s6-H4-measured.md). The role sets it this many seconds
# above tmux_session_idle_logoff (roles/tmux/templates/ephi-logind-idle-logoff.conf.j2 adds the same):
# where logind also times a gated SSH session (Debian 12 puts its pty in the session), the recorder's
# own logoff, with its idle-logoff event, comes first; the kernel updates a tty's access time at most
# every 8 s, so logind may count from up to 7 s before the last key.
LOGIND_MARGIN = 10
LOGIND_UNIT = 'systemd-logind.service'
USEC_INFINITY = 18446744073709551615
CONSOLE_PAM_SERVICES = ('login', 'su')


def console_idle_probe(probes):
    """(fields, None) from the ``console_idle`` probe's lines, or (None, why it cannot be used).

    The probe prints ``logind=<systemctl is-active>``, ``stop_idle_usec=<StopIdleSessionUSec or
    empty>`` and, for each PAM file it read, ``pam=<file> <line>`` for the lines naming pam_systemd or
    an include, or ``pam=<file> MISSING``. ``fields`` has ``logind``, ``stop_idle_usec`` and ``pam``
    (file -> list of lines).
    """
    result = probes.get('console_idle')
    if not isinstance(result, dict):
        return None, 'no console idle logoff probe result'
    if result.get('skipped'):
        return None, 'the console idle logoff probe was skipped'
    if result.get('unreachable'):
        return None, 'host unreachable'
    rc = result.get('rc')
    if 'argv' in result and rc is None:  # host_probe's answer: no such program
        return None, 'the console idle logoff probe could not run (no %s)' % text(result['argv'][0])
    if result.get('failed') or rc != 0:
        why = text(result.get('stderr') or result.get('msg') or 'no output').strip()
        return None, 'the console idle logoff probe failed (rc %s): %s' % (text(rc), truncate(why))
    fields = {'pam': {}}
    for line in text(result.get('stdout') or '').splitlines():
        key, sep, value = line.partition('=')
        key = key.strip()
        if not sep:
            continue
        if key == 'pam':
            name, _sep, rest = value.strip().partition(' ')
            if name:
                fields['pam'].setdefault(name, []).append(rest.strip())
        elif key in ('logind', 'stop_idle_usec'):
            fields[key] = value.strip()
    lacking = [k for k in ('logind', 'stop_idle_usec') if k not in fields]
    if lacking:
        return None, 'the console idle logoff probe printed no %s' % ', '.join(lacking)
    return fields, None


def pam_runs_systemd(pam, service, depth=0):
    """Whether the PAM session stack of SERVICE runs pam_systemd.so.

    ``pam`` maps a file of /etc/pam.d to its relevant lines (``@include X``, ``session include X``,
    ``session substack X`` and lines naming pam_systemd). An include of a file not in ``pam`` counts
    as not running it. Raises ``TypeError`` when ``pam`` is not such a mapping.
    """
    if not isinstance(pam, dict):
        raise TypeError('expected a mapping of PAM files to lines, got %s' % type(pam).__name__)
    if depth > 8:
        return False
    for line in pam.get(service) or []:
        words = text(line).split()
        if not words or words[0].startswith('#') or words == ['MISSING']:
            continue
        if words[0] == '@include' and len(words) > 1:
            if pam_runs_systemd(pam, words[1], depth + 1):
                return True
            continue
        if words[0].lstrip('-') != 'session':
            continue
        if len(words) > 2 and words[1] in ('include', 'substack'):
            if pam_runs_systemd(pam, words[2], depth + 1):
                return True
        elif any(posixpath.basename(w) == 'pam_systemd.so' for w in words[1:]):
            return True
    return False


def console_idle_findings(probes, wanted):
    """(problems, observed) of the logind idle logoff of console, login and su sessions.

    ``wanted`` is tmux_session_idle_logoff. ``problems`` is empty when logind runs, stops idle
    sessions after ``wanted`` + LOGIND_MARGIN seconds and pam_systemd is in the session stacks of
    login and su; ``observed`` says what was found either way.
    """
    seconds = _seconds(wanted)
    if seconds is None:
        return (['console and su logins: no idle logoff (tmux_session_idle_logoff %s)' % text(wanted)],
                'console and su logins: no idle logoff')
    fields, error = console_idle_probe(probes)
    if error:
        return (['console and su logins: idle logoff NOT examined: %s' % error], '')
    problems = []
    state = fields['logind'] or 'no state'
    if state != 'active':
        problems.append('%s is %s: console and su logins are NOT logged off when idle' % (LOGIND_UNIT, state))
    else:
        want_usec = (seconds + LOGIND_MARGIN) * 1000000
        found = fields['stop_idle_usec']
        try:
            usec = int(found)
        except ValueError:
            usec = None
        if usec is None:
            problems.append('logind StopIdleSessionSec NOT examined (%s)' % (found or 'no value'))
        elif usec != want_usec:
            problems.append('logind StopIdleSessionSec is %s, the policy says %d s (tmux_session_idle_logoff + %d s)'
                            % ('infinity (off)' if usec == USEC_INFINITY else '%g s' % (usec / 1000000.0),
                               seconds + LOGIND_MARGIN, LOGIND_MARGIN))
    for service in CONSOLE_PAM_SERVICES:
        lines = fields['pam'].get(service)
        if not lines or lines == ['MISSING']:
            problems.append('/etc/pam.d/%s NOT found: %s logins NOT examined' % (service, service))
        elif not pam_runs_systemd(fields['pam'], service):
            problems.append('pam_systemd is not in the session stack of /etc/pam.d/%s: %s logins get no logind '
                            'session and no idle logoff' % (service, service))
    if problems:
        return ['console and su logins: ' + '; '.join(problems)], ''
    return [], ('console and su logins: systemd-logind stops a tty session after %d s without input '
                '(StopIdleSessionSec; pam_systemd in login and su)' % (seconds + LOGIND_MARGIN))


def command_idle_findings(config, policy):
    """Problems with the recorder's idle logoff of command sessions (no pty: ssh -T host bash -i)
    against tmux_session_command_idle_logoff (0 = never; not judged when the policy does not say)."""
    if 'session_command_idle_logoff' not in policy:
        return []
    raw = policy.get('session_command_idle_logoff')
    try:
        wanted = None if isinstance(raw, bool) else int(text(raw).strip())
    except (TypeError, ValueError):
        wanted = None
    found = config.get('command_idle_logoff')
    if found is None:
        # The recorder's default is 0 (never) when its file lacks the key.
        found = 0
    if isinstance(found, bool) or not isinstance(found, int):
        return ['command_idle_logoff %s in %s is not a number' % (text(found), text(config.get('path')))]
    if wanted is None or wanted < 0:
        return ['tmux_session_command_idle_logoff %s is not a whole number of seconds'
                % text(policy.get('session_command_idle_logoff'))]
    if found != wanted:
        return ['recorder logs command sessions off after %s, the policy says %s'
                % ('%d s' % found if found > 0 else 'never (0)', '%d s' % wanted if wanted > 0 else 'never (0)')]
    return []


def command_idle_observed(config, policy):
    """How command sessions are logged off, for the observed text (empty when the policy does not say)."""
    if 'session_command_idle_logoff' not in policy:
        return ''
    found = config.get('command_idle_logoff') or 0
    if found > 0:
        return ', command sessions (no pty) after %d s without input or output' % found
    return ', command sessions (no pty) never (tmux_session_command_idle_logoff 0)'


def tmux_idle_logoff(probes, policy):
    """Gated SSH sessions are logged off by the recorder, console and su sessions by logind, whatever runs in tmux."""
    wanted = policy.get('session_idle_logoff', 1800)
    seconds = _seconds(wanted)
    check = ('Gated SSH sessions with a terminal are logged off after %s s without input by the root recorder '
             '(independent of tmux and of sshd ClientAlive); console, login and su sessions by systemd-logind '
             '(StopIdleSessionSec, %s s); exempt SSH accounts are not'
             % (text(wanted), text(seconds + LOGIND_MARGIN) if seconds else 'none'))
    console_problems, console_observed = console_idle_findings(probes, wanted)
    if not _gate_wanted(policy):
        return record('tmux-idle-logoff', LOGOFF, LOGOFF_HIPAA, 'none', check,
                      '; '.join([GATE_OFF + ': no idle logoff outside tmux'] + console_problems), 'fail')
    error = session_gate_error(probes)
    if error:
        return record('tmux-idle-logoff', LOGOFF, LOGOFF_HIPAA, 'none', check,
                      '; '.join(['NOT examined: ' + error] + console_problems), 'fail')
    config = probes['session_gate'].get('config') or {}
    reasons = []
    if config.get('error'):
        reasons.append('idle time NOT examined: %s %s' % (text(config.get('path')), text(config['error'])))
    else:
        found = config.get('idle_logoff')
        try:
            seconds = int(found)
        except (TypeError, ValueError):
            seconds = None
        if seconds is None or isinstance(found, bool):
            reasons.append('idle_logoff %s in %s is not a number' % (text(found), text(config.get('path'))))
        elif seconds <= 0:
            reasons.append('idle logoff switched off (idle_logoff %d)' % seconds)
        elif text(seconds) != text(wanted).strip():
            reasons.append('recorder configured for %d s, the policy says %s' % (seconds, text(wanted)))
        reasons.extend(command_idle_findings(config, policy))
    state = _gate_not_in_force(probes)
    if state:
        reasons.append('session gate %s (tmux-session-gate)' % state)
    problems, unexamined = _verdict(probes, recorder_verdict)
    if problems or unexamined:
        reasons.append('recorder %s (tmux-session-recorder)' % ('NOT recording' if problems else 'NOT examined'))
    reasons.extend(console_problems)
    if reasons:
        return record('tmux-idle-logoff', LOGOFF, LOGOFF_HIPAA, 'none', check, '; '.join(reasons), 'fail')
    exempt = _exempt_names(policy)
    observed = 'the recorder logs gated sessions off after %s s without input%s; gate and recorder in force' % (
        text(config.get('idle_logoff')), command_idle_observed(config, policy))
    if exempt:
        observed += '; not for the exempt account(s) %s' % ', '.join(exempt)
    observed += '; ' + console_observed
    return record('tmux-idle-logoff', LOGOFF, LOGOFF_HIPAA, 'none', check, observed, 'pass')


def tmux_session_exemptions(probes, policy):
    """The accounts exempt from the gate, each with its reason, and that sshd really exempts them."""
    check = 'Accounts exempt from the session gate (not recorded, no idle logoff) are declared with a reason'
    if not _gate_wanted(policy):
        return record('tmux-session-exemptions', AUDIT, AUDIT_HIPAA, 'none', check,
                      GATE_OFF + ': no account is gated, none is exempt', 'not_applicable')
    declared = policy.get('session_gate_exempt_users') or []
    listed, bad = [], []
    for entry in declared if isinstance(declared, list) else [declared]:
        name = text(entry.get('name') or '') if isinstance(entry, dict) else ''
        reason = text(entry.get('reason') or '').strip() if isinstance(entry, dict) else ''
        if not name or not reason:
            bad.append(text(entry))
        else:
            listed.append('%s (%s)' % (name, reason))
    observed = ('%d exempt account(s): %s' % (len(listed), '; '.join(listed))) if listed else 'no exempt account'
    failed = bool(bad)
    if bad:
        observed += '; WITHOUT a name or reason: ' + '; '.join(bad)
    error = session_gate_error(probes)
    if error:
        return record('tmux-session-exemptions', AUDIT, AUDIT_HIPAA, 'none', check,
                      observed + '; sshd NOT examined: ' + error, 'fail')
    audit = probes['session_gate']
    by_name = dict((a.get('name'), a) for a in audit.get('accounts') or [] if isinstance(a, dict))
    gated_anyway, unexamined = [], []
    for name in _exempt_names(policy):
        account = by_name.get(name)
        if account is None:
            continue
        if account.get('error'):
            unexamined.append('%s: %s' % (name, text(account['error'])))
        elif account.get('forcecommand'):
            gated_anyway.append(name)
    not_local = audit.get('exempt_not_local') or []
    if not_local:
        observed += '; not a login-capable local account (no effect): ' + ', '.join(text(n) for n in not_local)
    if gated_anyway:
        observed += '; declared exempt but sshd still forces a command for: ' + ', '.join(gated_anyway)
    if unexamined:
        observed += '; NOT examined: ' + '; '.join(unexamined)
    failed = failed or bool(gated_anyway) or bool(unexamined)
    return record('tmux-session-exemptions', AUDIT, AUDIT_HIPAA, 'none', check,
                  observed, 'fail' if failed else 'pass')


ENFORCER = 'ephi-tmux-enforcer'
ENFORCER_UNIT = 'ephi-tmux-enforcer.service'
ENFORCER_POLICY = '/etc/ephi-tmux-policy.json'
ENFORCER_PROBE_KEYS = ('service', 'policy_file', 'check_config', 'interval')


def enforcer_probe(probes):
    """(fields, None) of the enforcer probe's ``key=value`` lines, or (None, why it cannot be used)."""
    result = probes.get('enforcer')
    if not isinstance(result, dict):
        return None, 'no enforcer probe result'
    if result.get('skipped'):
        return None, 'the enforcer probe was skipped'
    if result.get('unreachable'):
        return None, 'host unreachable'
    rc = result.get('rc')
    if 'argv' in result and rc is None:  # host_probe's answer: no such program
        return None, 'the enforcer is not installed (no %s)' % text(result['argv'][0])
    if result.get('failed') or rc != 0:
        why = text(result.get('stderr') or result.get('msg') or 'no output').strip()
        return None, 'the enforcer probe failed (rc %s): %s' % (text(rc), why)
    fields = {}
    for line in text(result.get('stdout') or '').splitlines():
        key, sep, value = line.partition('=')
        if sep and key.strip() in ENFORCER_PROBE_KEYS:
            fields[key.strip()] = value.strip()
    lacking = [k for k in ENFORCER_PROBE_KEYS if k not in fields]
    if lacking:
        return None, 'the enforcer probe printed no %s' % ', '.join(lacking)
    return fields, None


def _seconds(value):
    """A positive whole number of seconds, or None."""
    if isinstance(value, bool):
        return None
    try:
        number = int(text(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def tmux_policy_enforcer(probes, policy):
    """The root enforcer runs and reads its policy: a user's runtime weakening is put back within seconds."""
    wanted = policy.get('enforcer_interval', 5)
    check = ('The root daemon %s (%s, policy %s) puts the tmux policy back in every user\'s running tmux server '
             'every %s s (tmux_enforcer_interval, at most 9)'
             % (ENFORCER, ENFORCER_UNIT, ENFORCER_POLICY, text(wanted)))
    mode = text(policy.get('live_mode', 'enforce'))
    if mode != 'enforce':
        return record('tmux-policy-enforcer', LOGOFF, LOGOFF_HIPAA, 'RHEL-08-020070', check,
                      'tmux_live_mode is %s, not enforce: no enforcer runs, so a user\'s runtime weakening '
                      '(set -g lock-after-time 0, set-hook -gu, unbind) is NOT reverted and the policy does not '
                      'win until the next run' % mode, 'fail')
    fields, error = enforcer_probe(probes)
    if error:
        return record('tmux-policy-enforcer', LOGOFF, LOGOFF_HIPAA, 'RHEL-08-020070', check,
                      'NOT examined: ' + error, 'fail')
    reasons = []
    service = fields['service'] or 'no state'
    if service != 'active':
        reasons.append('%s %s, not running' % (ENFORCER_UNIT, service))
    if fields['policy_file'] != 'present':
        reasons.append('policy %s MISSING' % ENFORCER_POLICY)
    status, _sep, output = fields['check_config'].partition(' ')
    if status != '0':
        reasons.append('%s --check-config failed (exit %s): %s'
                       % (ENFORCER, status or 'unknown', truncate(output.strip() or 'no output')))
    seconds = _seconds(wanted)
    if seconds is None or seconds > 9:
        reasons.append('tmux_enforcer_interval %s is not 1 to 9 s' % text(wanted))
    elif fields['interval'] != text(seconds):
        reasons.append('the policy file says every %s s, tmux_enforcer_interval %s' % (
            fields['interval'] or 'NOT found', text(seconds)))
    if reasons:
        return record('tmux-policy-enforcer', LOGOFF, LOGOFF_HIPAA, 'RHEL-08-020070', check,
                      '%s NOT enforcing: %s; a user\'s runtime weakening of the policy is NOT reverted' % (
                          ENFORCER, '; '.join(reasons)), 'fail')
    observed = '%s running: users\' runtime changes are put back every %s s; %s read by --check-config (%s)' % (
        ENFORCER, text(seconds), ENFORCER_POLICY, output.strip())
    return record('tmux-policy-enforcer', LOGOFF, LOGOFF_HIPAA, 'RHEL-08-020070', check, observed, 'pass')


# How many bad recordings the observation names (the rest are counted).
def tmux_audit_chain(probes, policy):
    """Every recording in the store matches the hash chain heads its root recorder logged."""
    directory = text(policy['capture_dir'])
    check = ('Every session recording in %s matches the SHA-256 chain heads the root recorder logged '
             '(only events journald attributes to root): none modified, truncated or deleted, '
             'no chain event missing, none without a head' % directory)
    if not _gate_wanted(policy):
        return record('tmux-audit-chain', AUDIT, AUDIT_INTEGRITY, 'none', check,
                      GATE_OFF + ': nothing is recorded, no recording chain to verify', 'not_applicable')
    error = session_gate_error(probes)
    if error:
        return record('tmux-audit-chain', AUDIT, AUDIT_INTEGRITY, 'none', check,
                      'recordings NOT examined: the store is unknown (%s)' % error, 'fail')
    store = probes['session_gate'].get('store') or {}
    if not store.get('encrypted'):
        return record('tmux-audit-chain', AUDIT, AUDIT_INTEGRITY, 'none', check,
                      'recordings NOT examined: %s is NOT the mounted encrypted file system' % directory, 'fail')
    verdict, observed = chain_verdict(probes.get('audit_chain'), 'the journal',
                                      'older than the journal (their heads are no longer on this host: '
                                      'verify them against the log host)')
    return record('tmux-audit-chain', AUDIT, AUDIT_INTEGRITY, 'none', check, observed, verdict)


CONTROLS = (tmux_lock_policy, tmux_live_servers, tmux_autostart, tmux_not_a_shell, tmux_session_capture,
            tmux_session_gate, tmux_session_recorder, tmux_idle_logoff, tmux_session_exemptions,
            tmux_policy_enforcer, tmux_audit_chain)


def build_controls(probes, policy):
    """The tmux role's evidence records, in report order."""
    return [control(probes, policy) for control in CONTROLS]
