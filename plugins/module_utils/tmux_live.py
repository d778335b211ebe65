# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Talking to users' running tmux servers without lending them root.

A tmux client obeys its server: the server can make it run a shell command
(``MSG_SHELL``) or open and write any file (``MSG_WRITE_OPEN``: ``save-buffer``,
``display-message`` into a file, hooks...). A client run by root is therefore
a root shell for whoever controls the server. So:

* a server is only ever reached by a client running with the credentials of
  the socket's owner (real and effective uid and gid, that user's
  supplementary groups), a clean environment, no terminal, ``/`` never as
  working directory, bounded time and bounded output;
* only sockets whose directory and socket belong to that same uid and whose
  directory no one else can write are reached at all (another user could
  otherwise swap the socket for their own server between the check and the
  connect). The directory is opened once (no symlink followed), checked on
  the open descriptor, and the client connects relative to it, so the path
  cannot be changed under it;
* anything else is reported with the reason and never connected to.

The checks are pure functions over ``os.stat_result``-like values
(:func:`socket_verdict`), unit-tested without any server.

:func:`examine_servers` audits (and with ``enforce`` fixes) every
:class:`LiveServer` it is given and returns the module's live result keys;
:func:`examine_clients` is the live part of ``tmux_settings``: the same for
every socket, one thread per user at a time (``LIVE_WORKERS`` users at once),
results in the order of the sockets.

A server is read in two client runs, not one per command: tmux runs several
commands given in one argv, separated by a ``;`` argument. Each command is
followed by ``display-message -p MARKER-N``, where MARKER is drawn from
``os.urandom`` for every client run; the output is split at those lines only
if there are exactly as many markers as commands, each a whole line, in order,
and nothing follows the last (:func:`split_batch`). Values and names a user
chose cannot contain a marker they never saw, and any output that does is an
error (the server is reported as not examined), never parsed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import errno
import glob
import os
import pwd
import re
import select
import signal
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.ephi.safeguards.plugins.module_utils.tmux_conf import (
    SCOPE_SHOW_FLAGS,
    compute_drift,
    compute_hook_drift,
    compute_pipe_drift,
    parse_show_hooks,
    parse_show_options,
    quote,
    render_drift,
)

CLIENT_ENV = {'LANG': 'C', 'LC_ALL': 'C', 'PATH': '/usr/sbin:/usr/bin:/sbin:/bin'}
CLIENT_TIMEOUT = 5.0
CLIENT_OUTPUT_LIMIT = 4 * 1024 * 1024
# After this many time-outs from one user's servers, that user's remaining
# servers are reported unexamined without waiting for each of them.
TIMEOUTS_PER_UID = 2

STALE_MARKERS = ('no server running on', 'Connection refused', 'server exited unexpectedly')
DENIED_MARKERS = ('access not allowed', 'Permission denied')

# Statuses of a server; only 'running' and 'stale' mean it was examined.
EXAMINED = ('running', 'stale')

# Users whose servers are examined at the same time (examine_clients).
LIVE_WORKERS = 8
# Per-target show-options commands given to one client run (a server with
# very many panes is read in several runs, each within the time and output
# limits of one client).
TARGETS_PER_CLIENT = 64
MARKER_PREFIX = 'ephi-safeguards-'
# What list-sessions/-windows/-panes print as ids (never user text).
TARGET_ID = {'session': re.compile(r'^\$[0-9]+$'), 'window': re.compile(r'^@[0-9]+$'),
             'pane': re.compile(r'^%[0-9]+$')}
LISTINGS = (
    ('session', [], ['list-sessions', '-F', '#{session_id} #{session_name}']),
    ('window', ['-w'], ['list-windows', '-a', '-F',
                        '#{window_id} #{session_name}:#{window_index}']),
    ('pane', ['-p'], ['list-panes', '-a', '-F',
                      '#{pane_id} #{session_name}:#{window_index}.#{pane_index}']))
PIPE_LISTING = ['list-panes', '-a', '-F',
                '#{pane_id} #{pane_pipe} #{session_name}:#{window_index}.#{pane_index}']
# Popen(user=, group=, extra_groups=) change credentials in C between fork and
# exec (Python 3.9+): safe in a process with threads, unlike a preexec_fn.
POPEN_CREDENTIALS = sys.version_info >= (3, 9)


class LiveError(Exception):
    """A tmux command on a live server failed."""


def socket_verdict(dir_st, sock_st):
    """Return ``None`` if a socket may be reached as its owner, else why not.

    ``dir_st`` is the ``lstat`` of the directory holding the socket and
    ``sock_st`` the ``lstat`` of the socket itself (or ``None``).
    """
    if dir_st is None:
        return 'socket directory vanished'
    if stat.S_ISLNK(dir_st.st_mode):
        return 'socket directory is a symbolic link'
    if not stat.S_ISDIR(dir_st.st_mode):
        return 'socket directory is not a directory'
    if sock_st is None:
        return 'socket vanished'
    if not stat.S_ISSOCK(sock_st.st_mode):
        return 'not a socket'
    if dir_st.st_uid != sock_st.st_uid:
        return 'socket owned by uid %d in a directory owned by uid %d' % (
            sock_st.st_uid, dir_st.st_uid)
    if dir_st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return 'socket directory is writable by group or others (mode %04o)' % (
            stat.S_IMODE(dir_st.st_mode))
    return None


def _lstat(path):
    try:
        return os.lstat(path)
    except OSError:
        return None


def find_sockets(patterns):
    """Return the candidate sockets under ``patterns`` (globs).

    A pattern may name directories (each unix socket directly inside is a
    candidate) or sockets. Each entry is a dict with ``path``, ``dir``,
    ``name``, ``uid`` and ``unsafe`` (``None`` or the reason it must not be
    reached).
    """
    found = []
    seen = set()
    for pattern in patterns:
        for entry in sorted(glob.glob(pattern)):
            st = _lstat(entry)
            if st is None:
                continue
            if stat.S_ISSOCK(st.st_mode):
                paths = [entry]
            elif stat.S_ISDIR(st.st_mode):
                try:
                    paths = [os.path.join(entry, n) for n in sorted(os.listdir(entry))]
                except OSError:
                    continue
            else:
                continue
            for path in paths:
                sock_st = _lstat(path)
                if sock_st is None or not stat.S_ISSOCK(sock_st.st_mode) or path in seen:
                    continue
                seen.add(path)
                directory = os.path.dirname(path)
                found.append({'path': path, 'dir': directory, 'name': os.path.basename(path),
                              'uid': sock_st.st_uid,
                              'unsafe': socket_verdict(_lstat(directory), sock_st)})
    return found


class Credentials(object):
    """Who a client runs as: uid, gid, supplementary groups, user name."""

    def __init__(self, uid, gid, groups, user):
        self.uid = uid
        self.gid = gid
        self.groups = list(groups)
        self.user = user

    @classmethod
    def for_uid(cls, uid, fallback_gid):
        """The passwd identity of ``uid``; without one, ``fallback_gid`` only."""
        try:
            entry = pwd.getpwuid(uid)
        except KeyError:
            return cls(uid, fallback_gid, [fallback_gid], str(uid))
        try:
            groups = os.getgrouplist(entry.pw_name, entry.pw_gid)
        except OSError:
            groups = [entry.pw_gid]
        return cls(uid, entry.pw_gid, groups, entry.pw_name)


def _read_bounded(proc, timeout, limit):
    """Collect stdout/stderr of ``proc`` until EOF, ``timeout`` or ``limit`` bytes.

    Returns ``(out, err, why)``; ``why`` is ``None`` or 'timeout'/'output limit'.
    """
    chunks = {proc.stdout.fileno(): [], proc.stderr.fileno(): []}
    open_fds = set(chunks)
    total = 0
    deadline = time.time() + timeout
    why = None
    while open_fds:
        left = deadline - time.time()
        if left <= 0:
            why = 'timeout'
            break
        try:
            ready = select.select(list(open_fds), [], [], left)[0]
        except (OSError, select.error) as exc:  # pragma: no cover - EINTR
            if getattr(exc, 'errno', None) == errno.EINTR or exc.args[0] == errno.EINTR:
                continue
            raise
        for fd in ready:
            data = os.read(fd, 65536)
            if not data:
                open_fds.discard(fd)
                continue
            chunks[fd].append(data)
            total += len(data)
        if total > limit:
            why = 'output limit'
            break
    return (b''.join(chunks[proc.stdout.fileno()]), b''.join(chunks[proc.stderr.fileno()]), why)


def run_as(argv, creds, dir_fd=None, timeout=CLIENT_TIMEOUT, limit=CLIENT_OUTPUT_LIMIT):
    """Run ``argv`` with ``creds``: clean environment, no terminal, bounded.

    The child changes its working directory to ``dir_fd`` (an open directory)
    when given, else to ``/``. Credentials are changed only when this process
    is root; a non-root caller can only run as itself. Returns
    ``(rc, out_bytes, err_bytes)``; rc is None when the child was killed
    (time-out or output limit) or could not be started, with the reason in
    ``err_bytes``.

    Safe to call from several threads at once: the child's credentials and
    working directory are set by ``subprocess`` in C between fork and exec
    (no Python code runs there). The working directory is the open
    descriptor's own directory, reached through ``/proc/self/fd`` in the child
    (no path that could be swapped is looked up again).
    """
    euid = os.geteuid()
    if euid != 0 and euid != creds.uid:
        return None, b'', b'cannot act as uid %d without root' % creds.uid

    kwargs = {}
    if POPEN_CREDENTIALS:
        if euid == 0:
            kwargs.update(user=creds.uid, group=creds.gid, extra_groups=list(creds.groups))
        kwargs['cwd'] = '/' if dir_fd is None else '/proc/self/fd/%d' % dir_fd
    else:  # pragma: no cover - Python < 3.9 (examine_clients uses no threads there)
        def become_owner():
            if euid == 0:
                os.setgroups(creds.groups)
                os.setresgid(creds.gid, creds.gid, creds.gid)
                os.setresuid(creds.uid, creds.uid, creds.uid)
            if dir_fd is not None:
                os.fchdir(dir_fd)
            else:
                os.chdir('/')
        kwargs['preexec_fn'] = become_owner

    # Not AnsibleModule.run_command: the client runs as the server's owner
    # with bounded reads and a timeout.
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,  # pylint: disable=ansible-bad-function
                                stderr=subprocess.PIPE, env=dict(CLIENT_ENV), close_fds=True,
                                pass_fds=() if dir_fd is None else (dir_fd,),
                                start_new_session=True, **kwargs)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, b'', ('cannot start the client: %s' % exc).encode('utf-8', 'replace')
    try:
        out, err, why = _read_bounded(proc, timeout, limit)
        if why:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
        rc = proc.wait()
    finally:
        proc.stdout.close()
        proc.stderr.close()
    if why:
        return None, out[:limit], ('client stopped: %s after %.0f s' % (why, timeout)).encode()
    return rc, out, err


class OwnerClient(object):
    """Runs tmux client commands against one socket as the socket's owner."""

    def __init__(self, tmux_bin, candidate, runner=run_as):
        self.tmux_bin = tmux_bin
        self.candidate = candidate
        self.runner = runner
        self.creds = None

    def run(self, args):
        """Return ``(rc, out, err)`` as text; rc None when nothing ran."""
        cand = self.candidate
        try:
            dir_fd = os.open(cand['dir'], os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError as exc:
            return None, u'', u'cannot open socket directory: %s' % os.strerror(exc.errno)
        try:
            # The checks again, on what is really open now.
            sock_st = None
            try:
                sock_st = os.stat(cand['name'], dir_fd=dir_fd, follow_symlinks=False)
            except OSError:
                pass
            why = socket_verdict(os.fstat(dir_fd), sock_st)
            if why is None and sock_st.st_uid != cand['uid']:
                why = 'socket changed owner'
            if why:
                return None, u'', u'unsafe: %s' % why
            if self.creds is None:
                self.creds = Credentials.for_uid(cand['uid'], sock_st.st_gid)
            rc, out, err = self.runner([self.tmux_bin, '-S', './' + cand['name']] + list(args),
                                       self.creds, dir_fd=dir_fd)
        finally:
            os.close(dir_fd)
        return rc, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace')


class LiveServer(object):
    """A user's tmux server, reached only through :class:`OwnerClient`."""

    def __init__(self, client):
        self.client = client
        cand = client.candidate
        self.socket = cand['path']
        self.uid = cand['uid']
        try:
            self.user = pwd.getpwuid(self.uid).pw_name
        except KeyError:
            self.user = str(self.uid)
        self.hook_fixes = {}
        self.status = None
        self.msg = None
        if cand.get('unsafe'):
            self.status = 'unsafe'
            self.msg = cand['unsafe']

    def info(self):
        data = {'socket': self.socket, 'user': self.user, 'uid': self.uid,
                'status': self.status}
        if self.msg:
            data['msg'] = self.msg
        return data

    def run(self, args):
        rc, out, err = self.client.run(args)
        if rc is None:
            raise LiveError('tmux %s on %s: %s' % (' '.join(args), self.socket, err.strip()))
        return rc, out, err

    def probe(self):
        """Set and return ``status``: running, stale, denied, unsafe, timeout or error."""
        if self.status == 'unsafe':
            return self.status
        rc, out, err = self.client.run(['list-sessions', '-F', '#{session_id}'])
        if rc == 0:
            self.status = 'running'
        elif rc is None:
            self.status = 'unsafe' if err.startswith('unsafe: ') else (
                'timeout' if 'timeout' in err else 'error')
            self.msg = err.strip()
        elif any(m in err for m in STALE_MARKERS):
            self.status = 'stale'
        elif any(m in err for m in DENIED_MARKERS):
            self.status = 'denied'
            self.msg = err.strip()
        else:
            self.status = 'error'
            self.msg = (err or out).strip()[:500]
        return self.status

    def lines(self, args, fields):
        """Output lines of ``args`` split into ``fields`` parts at spaces."""
        return _fields(self.output(args), fields)

    def output(self, args):
        rc, out, err = self.run(args)
        if rc != 0:
            raise LiveError('tmux %s on %s failed: %s' % (' '.join(args), self.socket,
                                                          err.strip()[:500]))
        return out

    def batch(self, commands):
        """The outputs of ``commands`` (argv lists), all run by one client.

        Raises :class:`LiveError` when the client failed or its output cannot
        be split safely (:func:`split_batch`).
        """
        if not commands:
            return []
        token = new_marker()
        what = ' ; '.join(' '.join(c[:2]) for c in commands)
        if len(what) > 200:
            what = what[:200] + '...'
        rc, out, err = self.client.run(batch_argv(commands, token))
        if rc is None:
            raise LiveError('tmux %s on %s: %s' % (what, self.socket, err.strip()))
        if rc != 0:
            raise LiveError('tmux %s on %s failed: %s' % (what, self.socket, err.strip()[:500]))
        try:
            return split_batch(out, token, len(commands))
        except ValueError as exc:
            raise LiveError('tmux %s on %s: %s' % (what, self.socket, exc))

    def snapshot(self, scopes, hooks=False, pipes=False):
        """What ``read``, ``read_hooks`` and ``read_pipes`` return, in two client runs.

        The first run reads the global hooks (first: no command of the batch
        runs before it), the global options of ``scopes`` and the lists of
        sessions, windows and panes; the second the local options of every
        listed target (in runs of ``TARGETS_PER_CLIENT``). Returns a dict with
        ``options`` (for ``compute_drift``), ``hooks`` (or None) and ``pipes``
        (or None).
        """
        commands = []
        if hooks:
            commands.append(['show-hooks', '-g'])
        commands.extend(['show-options', SCOPE_SHOW_FLAGS[scope]] for scope in scopes)
        listings = [(scope, flag, args) for scope, flag, args in LISTINGS
                    if (scope == 'session' and 'session' in scopes)
                    or (scope != 'session' and 'window' in scopes)]
        commands.extend(args for _scope, _flag, args in listings)
        if pipes:
            commands.append(PIPE_LISTING)
        sections = iter(self.batch(commands))
        result = {'options': {'global': {}, 'local': []}, 'hooks': None, 'pipes': None}
        if hooks:
            result['hooks'] = parse_show_hooks(next(sections))
        for scope in scopes:
            result['options']['global'][scope] = parse_show_options(next(sections))
        targets = []
        seen = set()
        for scope, flag, _args in listings:
            for tid, name in _fields(next(sections), 2):
                _check_id(scope, tid, self.socket)
                if tid in seen:
                    continue
                seen.add(tid)
                targets.append(({'scope': scope, 'target': name, 'tid': tid},
                                ['show-options'] + flag + ['-t', tid]))
        if pipes:
            result['pipes'] = [tuple(p) for p in _fields(next(sections), 3)]
            for pane in result['pipes']:
                _check_id('pane', pane[0], self.socket)
        for start in range(0, len(targets), TARGETS_PER_CLIENT):
            chunk = targets[start:start + TARGETS_PER_CLIENT]
            for (entry, _args), text in zip(chunk, self.batch([args for _e, args in chunk])):
                entry['values'] = parse_show_options(text)
                result['options']['local'].append(entry)
        return result

    def read(self, scopes):
        """Effective options, global and per target, for ``compute_drift``."""
        return self.snapshot(scopes)['options']

    def read_hooks(self):
        return self.snapshot([], hooks=True)['hooks']

    def read_pipes(self):
        return self.snapshot([], pipes=True)['pipes']

    def fix(self, item):
        """Put one drifted setting back (run as the server's owner)."""
        name = item['option']
        if item['scope'] in ('hook', 'pane') and name in self.hook_fixes:
            self.output(self.hook_fixes[name](item))
        elif item['target'] == 'global':
            self.output(['set-option', SCOPE_SHOW_FLAGS[item['scope']], name,
                         escape_argv_value(item['wanted'])])
        else:
            flag = {'session': [], 'window': ['-w'], 'pane': ['-p']}[item['scope']]
            self.output(['set-option', '-u'] + flag + ['-t', item['tid'], name])


def escape_argv_value(value):
    """tmux treats an argv argument ending in ';' as a command separator."""
    if value.endswith(';') and not value.endswith('\\;'):
        return value[:-1] + '\\;'
    return value


def _fields(text, fields):
    """Lines of ``text`` split into ``fields`` parts at spaces (shorter lines dropped)."""
    result = []
    for line in text.splitlines():
        parts = line.split(' ', fields - 1)
        if len(parts) == fields:
            result.append(parts)
    return result


def _check_id(scope, tid, socket_path):
    if not TARGET_ID[scope].match(tid):
        raise LiveError('tmux on %s listed a %s id %r: not a tmux id' % (socket_path, scope, tid))


def new_marker():
    """A marker no one can guess (128 random bits), new for every client run."""
    return MARKER_PREFIX + binascii.hexlify(os.urandom(16)).decode('ascii')


def batch_argv(commands, token):
    """tmux arguments running ``commands``, each followed by the line ``TOKEN-N``.

    In argv form a ``;`` argument separates commands (and so does an
    argument ending in ``;``, which none of ours may do).
    """
    argv = []
    for index, command in enumerate(commands):
        if any(arg.endswith(';') for arg in command):
            raise ValueError('a tmux argument ends in ";": %r' % (command,))
        if argv:
            argv.append(';')
        argv.extend(command)
        argv.extend([';', 'display-message', '-p', '%s-%d' % (token, index)])
    return argv


def split_batch(out, token, count):
    """Split the output of :func:`batch_argv` into the ``count`` commands' outputs.

    Each command's output (empty or whole lines) is followed by its marker
    line ``TOKEN-N``. Raises ValueError unless ``token`` occurs exactly
    ``count`` times in ``out``, each time as the whole marker line expected
    next, and nothing follows the last one. Lines end at ``\\n`` only, as
    tmux writes them; the parts are the exact texts separate clients would
    have printed.
    """
    if out.count(token) != count:
        raise ValueError('output holds the batch marker %d times, not %d: not parsed'
                         % (out.count(token), count))
    sections = []
    pos = 0
    for index in range(count):
        marker = '%s-%d\n' % (token, index)
        found = out.find(marker, pos)
        if found < 0 or (found > pos and out[found - 1] != '\n'):
            raise ValueError('output of command %d does not end with its marker line: '
                             'not parsed' % index)
        sections.append(out[pos:found])
        pos = found + len(marker)
    if pos != len(out):
        raise ValueError('output after the last marker line: not parsed')
    return sections


def _probe_within_budget(server, timeouts):
    """Probe ``server`` unless its user's time-out budget is spent (``timeouts``: uid to count)."""
    if server.status is None:
        if timeouts.get(server.uid, 0) >= TIMEOUTS_PER_UID:
            server.status = 'timeout'
            server.msg = 'not examined: earlier servers of this user timed out'
        elif server.probe() == 'timeout':
            timeouts[server.uid] = timeouts.get(server.uid, 0) + 1
    return server


def live_candidates(patterns, tmux_bin, runner=run_as):
    """Yield a :class:`LiveServer` per socket, probed, with a time-out budget per uid.

    A user whose servers keep timing out could otherwise make the audit wait
    ``CLIENT_TIMEOUT`` per socket: after ``TIMEOUTS_PER_UID`` time-outs, that
    user's further servers are reported as not examined without a connect.
    """
    timeouts = {}
    for cand in find_sockets(patterns):
        yield _probe_within_budget(LiveServer(OwnerClient(tmux_bin, cand, runner=runner)),
                                   timeouts)


def server_drift(server, scopes, options, hooks, require_pipe, absent_hooks=()):
    """Options, hooks and (optionally) unpiped panes of one live server."""
    found = server.snapshot(scopes, hooks=bool(hooks or absent_hooks), pipes=require_pipe)
    drift = compute_drift(found['options'], options)
    if hooks or absent_hooks:
        drift.extend(compute_hook_drift(found['hooks'], hooks, absent_hooks))
    if require_pipe:
        drift.extend(compute_pipe_drift(found['pipes']))
    return drift


def _fixes(hooks, absent_hooks, pipe_command):
    """The commands that put a drifted hook or an unpiped pane back, by item name."""
    fixes = dict((name, (lambda item: ['set-hook', '-g', item['option'], hooks[item['option']]]))
                 for name in hooks)
    fixes.update((name, (lambda item: ['set-hook', '-gu', item['option']])) for name in absent_hooks)
    if pipe_command:
        fixes['pane_pipe'] = lambda item: ['pipe-pane', '-t', item['tid'], pipe_command]
    return fixes


def _enforced_text(socket_path, items):
    """The diff "after" text of a server whose drift ``items`` were enforced."""
    return ''.join(
        '%s [%s] %s: %s\n' % (socket_path, 'global %s' % i['scope']
                              if i['target'] == 'global'
                              else '%s %s' % (i['scope'], i['target']),
                              i['option'], quote(i['wanted']) if i['target'] == 'global'
                              else 'unset (inherits global)')
        for i in items)


def _enforce(server, items, scopes, options, hooks, require_pipe, absent_hooks, pipe_command):
    """Fix ``items`` on ``server`` and re-read it; return an error message or None."""
    try:
        for item in items:
            server.fix(item)
        unfixable = [i for i in items if i['option'] == 'pane_pipe' and not pipe_command]
        if unfixable:
            raise LiveError('%s: %d pane(s) without a pipe and no pipe_command to reopen it' % (
                server.socket, len(unfixable)))
        remaining = server_drift(server, scopes, options, hooks, require_pipe, absent_hooks)
    except LiveError as exc:
        return str(exc)
    if remaining:
        return '%s: drift remains after enforcing: %s' % (
            server.socket, ', '.join('%s (%s %s)' % (r['option'], r['scope'], r['target'])
                                     for r in remaining))
    return None


class _Examination(object):
    """The wanted state and mode that every server of one run is examined against."""

    def __init__(self, options, mode, hooks=None, absent_hooks=(), require_pipe=False,
                 pipe_command=None, check_mode=False):
        self.options = options
        self.mode = mode
        self.scopes = sorted(set(spec['scope'] for spec in options.values()))
        self.hooks = hooks or {}
        self.absent_hooks = [h for h in absent_hooks or [] if h not in self.hooks]
        self.require_pipe = require_pipe
        self.pipe_command = pipe_command
        self.check_mode = check_mode
        self.fixes = _fixes(self.hooks, self.absent_hooks, pipe_command)

    def server(self, server):
        """Examine one probed server; return its part of the result (see :func:`_merge`)."""
        part = dict(info=None, stale=server.status == 'stale', drift=[], fixed=[],
                    diff_before=[], diff_after=[], errors=[])
        if server.status != 'running':
            part['info'] = server.info()
            return part
        server.hook_fixes = self.fixes
        try:
            drift = server_drift(server, self.scopes, self.options, self.hooks,
                                 self.require_pipe, self.absent_hooks)
        except LiveError as exc:
            server.status = 'error'
            server.msg = str(exc)
            part['info'] = server.info()
            return part
        part['info'] = server.info()
        items = []
        for item in drift:
            entry = {'socket': server.socket, 'user': server.user, 'uid': server.uid}
            entry.update(item)
            items.append(entry)
        public = [dict((k, v) for k, v in i.items() if k != 'tid') for i in items]
        part['drift'] = public
        if not items:
            return part
        part['diff_before'].append(render_drift(server.socket, items))
        if self.mode != 'enforce':
            return part
        part['diff_after'].append(_enforced_text(server.socket, items))
        part['fixed'] = public
        if self.check_mode:
            return part
        error = _enforce(server, items, self.scopes, self.options, self.hooks,
                         self.require_pipe, self.absent_hooks, self.pipe_command)
        if error:
            part['errors'].append(error)
        return part


def _merge(parts):
    """The live result keys from the servers' parts, in the order given."""
    result = dict(servers=[], stale_sockets=[], drift=[], fixed=[], unexamined=[],
                  diff_before=[], diff_after=[], errors=[], warnings=[])
    for part in parts:
        if part['stale']:
            result['stale_sockets'].append(part['info']['socket'])
        result['servers'].append(part['info'])
        for key in ('drift', 'fixed', 'diff_before', 'diff_after', 'errors'):
            result[key].extend(part[key])
    result['unexamined'] = [s for s in result['servers'] if s['status'] not in EXAMINED]
    if result['unexamined']:
        result['warnings'].append('%d tmux server(s) could not be examined: %s' % (
            len(result['unexamined']), '; '.join('%s (%s): %s %s' % (
                s['socket'], s['user'], s['status'], s.get('msg', ''))
                for s in result['unexamined'])))
    return result


def examine_servers(servers, options, mode, hooks=None, absent_hooks=(), require_pipe=False,
                    pipe_command=None, check_mode=False):
    """Audit (``mode`` audit) or enforce (``mode`` enforce) running tmux servers.

    ``servers`` are probed :class:`LiveServer` objects (:func:`live_candidates`),
    examined one after the other;
    ``options`` maps option name to ``{'scope', 'value'}``, ``hooks`` hook name
    to command. A name of ``absent_hooks`` that is also in ``hooks`` is ignored.
    Returns a dict with the module's ``servers``, ``stale_sockets``, ``drift``,
    ``fixed`` and ``unexamined`` plus ``diff_before``/``diff_after`` (texts per
    server with drift), ``errors`` (enforcement that failed) and ``warnings``.

    A server that could not be examined is listed in ``unexamined`` (a finding
    for the evidence), never a reason to fail the run: one user must not be
    able to stop enforcement for everyone else.
    """
    examination = _Examination(options, mode, hooks, absent_hooks, require_pipe, pipe_command,
                               check_mode)
    return _merge([examination.server(server) for server in servers])


def examine_clients(clients, options, mode, workers=LIVE_WORKERS, **kwargs):
    """:func:`examine_servers` for the servers behind ``clients``, several users at once.

    ``clients`` are :class:`OwnerClient` objects (one per socket, in the order
    of :func:`find_sockets`), each running its commands as its socket's
    owner. Each user's servers are probed (with that user's time-out budget,
    as :func:`live_candidates` does) and examined one after the other in one
    thread; up to ``workers`` users at a time. The result is the one
    :func:`examine_servers` gives for the same servers in the order of
    ``clients``, whatever order the threads finish in. ``kwargs`` are those of
    :func:`examine_servers`.
    """
    examination = _Examination(options, mode, **kwargs)
    by_uid = {}
    for index, client in enumerate(clients):
        by_uid.setdefault(client.candidate['uid'], []).append((index, client))

    def examine_user(indexed):
        timeouts = {}
        return [(index, examination.server(_probe_within_budget(LiveServer(client), timeouts)))
                for index, client in indexed]

    groups = [by_uid[uid] for uid in sorted(by_uid)]
    workers = min(workers, len(groups)) if POPEN_CREDENTIALS else 1
    if workers <= 1:
        done = [examine_user(group) for group in groups]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            done = list(pool.map(examine_user, groups))
    return _merge(part for _index, part in sorted(
        (item for group in done for item in group), key=lambda item: item[0]))
