# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reaching users' tmux servers: socket checks, the owner-only client, and the
attack the live audit used to fall for (a hook that makes a root client write
a file)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
import time

import pytest

from ansible_collections.ephi.safeguards.plugins.module_utils import tmux_live
from ansible_collections.ephi.safeguards.plugins.module_utils.tmux_live import (
    Credentials,
    find_sockets,
    live_candidates,
    run_as,
    socket_verdict,
)

TMUX = shutil.which('tmux')


class St(object):
    def __init__(self, kind, mode, uid):
        self.st_mode = kind | mode
        self.st_uid = uid
        self.st_gid = uid


DIR, SOCK, LNK, REG = stat.S_IFDIR, stat.S_IFSOCK, stat.S_IFLNK, stat.S_IFREG


@pytest.mark.parametrize('dir_st, sock_st, reason', [
    (St(DIR, 0o700, 1000), St(SOCK, 0o660, 1000), None),
    (St(DIR, 0o750, 1000), St(SOCK, 0o660, 1000), None),
    (St(DIR, 0o700, 0), St(SOCK, 0o660, 0), None),
    (None, St(SOCK, 0o660, 1000), 'vanished'),
    (St(LNK, 0o777, 1000), St(SOCK, 0o660, 1000), 'symbolic link'),
    (St(REG, 0o600, 1000), St(SOCK, 0o660, 1000), 'not a directory'),
    (St(DIR, 0o700, 1000), None, 'socket vanished'),
    (St(DIR, 0o700, 1000), St(REG, 0o600, 1000), 'not a socket'),
    # Another user's socket in my directory, or mine in theirs.
    (St(DIR, 0o700, 1000), St(SOCK, 0o660, 1001), 'owned by uid 1001'),
    (St(DIR, 0o700, 0), St(SOCK, 0o660, 1000), 'owned by uid 1000'),
    # /tmp itself, or a directory others may write: a socket can be swapped.
    (St(DIR, 0o1777, 0), St(SOCK, 0o660, 0), 'writable by group or others'),
    (St(DIR, 0o770, 1000), St(SOCK, 0o660, 1000), 'writable by group or others'),
])
def test_socket_verdict(dir_st, sock_st, reason):
    verdict = socket_verdict(dir_st, sock_st)
    if reason is None:
        assert verdict is None
    else:
        assert reason in verdict


def _bind(path):
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.close()


def test_find_sockets_marks_unsafe_directories(tmp_path):
    good = tmp_path / 'tmux-good'
    good.mkdir(mode=0o700)
    _bind(str(good / 'default'))
    (good / 'not-a-socket').write_text(u'x')
    shared = tmp_path / 'tmux-shared'
    shared.mkdir()
    os.chmod(str(shared), 0o777)
    _bind(str(shared / 'default'))
    (tmp_path / 'tmux-link').symlink_to(good)
    found = dict((c['path'], c) for c in find_sockets([str(tmp_path / 'tmux-*')]))
    assert sorted(found) == [str(good / 'default'), str(shared / 'default')]
    assert found[str(good / 'default')]['unsafe'] is None
    assert found[str(good / 'default')]['uid'] == os.getuid()
    assert 'writable by group or others' in found[str(shared / 'default')]['unsafe']


def _me():
    return Credentials.for_uid(os.getuid(), os.getgid())


def test_run_as_clean_environment_and_no_terminal(monkeypatch):
    monkeypatch.setenv('EPHI_SECRET_MARKER', 'leak')
    rc, out, err = run_as(['sh', '-c', 'env; tty; pwd'], _me())
    assert rc is not None
    text = out.decode()
    assert 'EPHI_SECRET_MARKER' not in text
    assert 'not a tty' in text
    assert text.splitlines()[-1] == '/'


def test_run_as_time_limit():
    start = time.time()
    rc, out, err = run_as(['sleep', '30'], _me(), timeout=0.5)
    assert rc is None
    assert b'timeout' in err
    assert time.time() - start < 5


def test_run_as_output_limit():
    rc, out, err = run_as(['yes'], _me(), timeout=10, limit=100000)
    assert rc is None
    assert b'output limit' in err
    assert len(out) <= 100000


def test_run_as_refuses_other_uid_without_root():
    if os.geteuid() == 0:
        pytest.skip('root may change uid')
    rc, out, err = run_as(['true'], Credentials(os.getuid() + 1, os.getgid(), [], 'x'))
    assert rc is None
    assert b'without root' in err


def test_run_as_drops_to_the_owner():
    if os.geteuid() != 0:
        pytest.skip('needs root')
    nobody = pwd.getpwnam('nobody')
    rc, out, err = run_as(['id'], Credentials.for_uid(nobody.pw_uid, nobody.pw_gid))
    assert rc == 0
    assert out.decode().startswith('uid=%d(nobody) gid=%d' % (nobody.pw_uid, nobody.pw_gid))
    assert 'groups=0(' not in out.decode()


@pytest.fixture
def nobody_server():
    """A tmux server owned by 'nobody' whose hook tries to make its client write files."""
    if os.geteuid() != 0 or TMUX is None:
        pytest.skip('needs root and tmux')
    nobody = pwd.getpwnam('nobody')
    base = tempfile.mkdtemp(prefix='ephi-live-')
    os.chmod(base, 0o755)
    sockdir = os.path.join(base, 'tmux-%d' % nobody.pw_uid)
    os.mkdir(sockdir, 0o700)
    os.chown(sockdir, nobody.pw_uid, nobody.pw_gid)
    creds = Credentials.for_uid(nobody.pw_uid, nobody.pw_gid)
    root_target = os.path.join(base, 'written-by-client')   # only root may write in base
    own_target = os.path.join(sockdir, 'written-by-client')

    def tmux(*args):
        rc, out, err = run_as([TMUX, '-S', os.path.join(sockdir, 'default')] + list(args), creds)
        assert rc == 0, err
        return out.decode()

    conf = os.path.join(base, 'tmux.conf')   # nobody's login shell is nologin
    with open(conf, 'w') as fh:
        fh.write('set -g default-shell /bin/sh\n')
    tmux('-f', conf, 'new-session', '-d', '-s', 'attack', 'cat')
    try:
        yield base, sockdir, root_target, own_target, nobody, tmux
    finally:
        subprocess.call([TMUX, '-S', os.path.join(sockdir, 'default'), 'kill-server'],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        shutil.rmtree(base, ignore_errors=True)


def test_hook_cannot_make_root_write(nobody_server):
    base, sockdir, root_target, own_target, nobody, tmux = nobody_server
    tmux('set-hook', '-g', 'after-list-sessions', 'set-buffer pwned ; save-buffer %s' % root_target)
    servers = list(live_candidates([os.path.join(base, 'tmux-*')], TMUX))
    # The client ran as nobody: the write where only root may write failed,
    # and the server whose hook broke the probe is not counted as examined.
    assert not os.path.exists(root_target)
    assert [s.status for s in servers] == ['denied']
    assert servers[0].status not in tmux_live.EXAMINED


def test_hook_writes_only_as_the_owner(nobody_server):
    base, sockdir, root_target, own_target, nobody, tmux = nobody_server
    tmux('set-hook', '-g', 'after-list-sessions', 'set-buffer pwned ; save-buffer %s' % own_target)
    servers = list(live_candidates([os.path.join(base, 'tmux-*')], TMUX))
    assert [(s.status, s.user) for s in servers] == [('running', 'nobody')]
    servers[0].read(['session'])
    assert os.stat(own_target).st_uid == nobody.pw_uid


def test_unsafe_socket_is_reported_not_reached(nobody_server):
    base, sockdir, root_target, own_target, nobody, tmux = nobody_server
    tmux('set-hook', '-g', 'after-list-sessions', 'set-buffer pwned ; save-buffer %s' % own_target)
    os.chmod(sockdir, 0o777)
    servers = list(live_candidates([os.path.join(base, 'tmux-*')], TMUX))
    assert [(s.status, s.user) for s in servers] == [('unsafe', 'nobody')]
    assert 'writable by group or others' in servers[0].msg
    assert not os.path.exists(own_target)


def test_slow_servers_use_up_a_budget_per_user(monkeypatch, tmp_path):
    sockdir = tmp_path / 'tmux-me'
    sockdir.mkdir(mode=0o700)
    for i in range(5):
        _bind(str(sockdir / ('s%d' % i)))
    calls = []

    def hanging(argv, creds, dir_fd=None, timeout=None, limit=None):
        calls.append(argv)
        return None, b'', b'client stopped: timeout after 5 s'

    servers = list(live_candidates([str(sockdir)], 'tmux', runner=hanging))
    assert [s.status for s in servers] == ['timeout'] * 5
    assert len(calls) == tmux_live.TIMEOUTS_PER_UID


# ------------------------------------------------- examine_servers (fake tmux)

def tmux_commands(args):
    """The commands of one client's argv: tmux separates them with a ';' argument."""
    commands = [[]]
    for arg in args:
        if arg == ';':
            commands.append([])
        else:
            commands[-1].append(arg)
    return commands


class FakeTmux(object):
    """A tmux server in a dict, answering the client commands LiveServer sends.

    One session ``$0`` (``main s``) with window ``@0`` and pane ``%0``; writes
    change the state, so an enforced server re-reads clean. Several commands
    in one client run are answered as tmux does: one after the other, output
    concatenated, stopping at the first that fails.
    """

    def __init__(self, path='/tmp/tmux-1000/default', uid=None, fail_on=None):
        self.candidate = {'path': path, 'dir': os.path.dirname(path),
                          'name': os.path.basename(path),
                          'uid': os.getuid() if uid is None else uid, 'unsafe': None}
        self.glob = {'-s': {'escape-time': '500'}, '-g': {'lock-after-time': '0'},
                     '-gw': {'mode-keys': 'emacs'}}
        self.local = {'$0': {'lock-after-time': '5'}, '@0': {}, '%0': {'mode-keys': 'emacs'}}
        self.hooks = {'session-closed': 'run-shell true'}
        self.pipe = '0'
        self.writes = []
        self.runs = []
        self.fail_on = fail_on

    def run(self, args):
        self.runs.append(list(args))
        out = u''
        for command in tmux_commands(args):
            rc, text, err = self.run_one(command)
            out += text
            if rc != 0:
                return rc, out, err
        return 0, out, u''

    def run_one(self, args):
        if args[0] == 'display-message' and args[1] == '-p':
            return 0, args[2] + u'\n', u''
        if self.fail_on and args[0] == self.fail_on:
            return 1, u'', u'%s: no such thing\n' % args[0]
        if args[0] in ('set-option', 'set-hook', 'pipe-pane'):
            self.writes.append(args)
            getattr(self, args[0].replace('-', '_'))(args[1:])
            return 0, u'', u''
        return 0, self.read(args), u''

    def read(self, args):
        if args[0] == 'list-sessions':
            return u'$0\n' if args[2] == '#{session_id}' else u'$0 main s\n'
        if args[0] == 'list-windows':
            return u'@0 main s:0\n'
        if args[0] == 'list-panes':
            return u'%0 ' + (self.pipe + u' ' if 'pane_pipe' in args[3] else u'') + u'main s:0.0\n'
        if args[0] == 'show-hooks':
            return u''.join(u'%s[0] %s\n' % h for h in sorted(self.hooks.items()))
        values = self.local[args[-1]] if '-t' in args else self.glob[args[1]]
        return u''.join(u'%s %s\n' % v for v in sorted(values.items()))

    def set_option(self, args):
        if args[0] == '-u':
            self.local[args[args.index('-t') + 1]].pop(args[-1], None)
        else:
            self.glob[args[0]][args[1]] = args[2]

    def set_hook(self, args):
        if args[0] == '-gu':
            self.hooks.pop(args[1], None)
        else:
            self.hooks[args[1]] = args[2]

    def pipe_pane(self, args):
        self.pipe = '1'


OPTIONS = {'lock-after-time': {'scope': 'session', 'value': '900'},
           'mode-keys': {'scope': 'window', 'value': 'vi'},
           'escape-time': {'scope': 'server', 'value': '0'}}
HOOKS = {'session-created': 'pipe-pane "exec logger"'}


def _user_name():
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def _servers(*clients):
    servers = []
    for client in clients:
        server = tmux_live.LiveServer(client)
        if server.status is None:
            server.probe()
        servers.append(server)
    return servers


def _drift(result):
    return sorted((d['scope'], d['target'], d['option'], d['found'], d['wanted'])
                  for d in result['drift'])


ALL_DRIFT = [('hook', 'global', 'session-closed', 'run-shell true', ''),
             ('hook', 'global', 'session-created', None, 'pipe-pane "exec logger"'),
             ('pane', 'main s:0.0', 'mode-keys', 'emacs', 'vi'),
             ('pane', 'main s:0.0', 'pane_pipe', '0', '1'),
             ('server', 'global', 'escape-time', '500', '0'),
             ('session', 'global', 'lock-after-time', '0', '900'),
             ('session', 'main s', 'lock-after-time', '5', '900'),
             ('window', 'global', 'mode-keys', 'emacs', 'vi')]


def test_examine_audit_reports_and_changes_nothing():
    fake = FakeTmux()
    result = tmux_live.examine_servers(_servers(fake), OPTIONS, 'audit', hooks=HOOKS,
                                       absent_hooks=['session-closed', 'session-created'],
                                       require_pipe=True)
    assert _drift(result) == ALL_DRIFT
    assert fake.writes == []
    assert result['fixed'] == [] and result['errors'] == [] and result['diff_after'] == []
    assert result['servers'] == [{'socket': '/tmp/tmux-1000/default', 'user': _user_name(),
                                  'uid': os.getuid(), 'status': 'running'}]
    assert all('tid' not in d and d['socket'] == '/tmp/tmux-1000/default' for d in result['drift'])
    assert ('/tmp/tmux-1000/default [session main s] lock-after-time: 5 -> 900\n'
            in result['diff_before'][0])
    assert result['unexamined'] == [] and result['warnings'] == []


def test_examine_enforce_fixes_and_rereads():
    fake = FakeTmux()
    result = tmux_live.examine_servers(_servers(fake), OPTIONS, 'enforce', hooks=HOOKS,
                                       absent_hooks=['session-closed'], require_pipe=True,
                                       pipe_command='exec logger')
    assert result['errors'] == []
    assert len(result['fixed']) == len(ALL_DRIFT)
    assert sorted(fake.writes) == sorted([
        ['set-hook', '-gu', 'session-closed'],
        ['set-hook', '-g', 'session-created', 'pipe-pane "exec logger"'],
        ['set-option', '-u', '-p', '-t', '%0', 'mode-keys'],
        ['pipe-pane', '-t', '%0', 'exec logger'],
        ['set-option', '-s', 'escape-time', '0'],
        ['set-option', '-g', 'lock-after-time', '900'],
        ['set-option', '-u', '-t', '$0', 'lock-after-time'],
        ['set-option', '-gw', 'mode-keys', 'vi']])
    assert ('/tmp/tmux-1000/default [session main s] lock-after-time: unset (inherits global)\n'
            in result['diff_after'][0])
    again = tmux_live.examine_servers(_servers(fake), OPTIONS, 'enforce', hooks=HOOKS,
                                      absent_hooks=['session-closed'], require_pipe=True,
                                      pipe_command='exec logger')
    assert again['drift'] == [] and again['fixed'] == [] and again['diff_before'] == []


def test_examine_enforce_in_check_mode_writes_nothing():
    fake = FakeTmux()
    result = tmux_live.examine_servers(_servers(fake), OPTIONS, 'enforce', check_mode=True)
    assert len(result['fixed']) == 5
    assert fake.writes == []


def test_examine_enforce_reports_what_it_could_not_fix():
    fake = FakeTmux()
    result = tmux_live.examine_servers(_servers(fake), {}, 'enforce', require_pipe=True)
    assert [d['option'] for d in result['fixed']] == ['pane_pipe']
    assert result['errors'] == ['/tmp/tmux-1000/default: 1 pane(s) without a pipe and no '
                                'pipe_command to reopen it']

    class Stubborn(FakeTmux):
        def set_option(self, args):
            pass

    fake = Stubborn()
    result = tmux_live.examine_servers(_servers(fake), OPTIONS, 'enforce')
    assert result['errors'] == [
        '/tmp/tmux-1000/default: drift remains after enforcing: escape-time (server global), '
        'lock-after-time (session global), lock-after-time (session main s), '
        'mode-keys (window global), mode-keys (pane main s:0.0)']


def test_examine_absent_hook_that_is_also_wanted_is_ignored():
    fake = FakeTmux()
    fake.hooks['session-created'] = 'pipe-pane "exec logger"'
    result = tmux_live.examine_servers(_servers(fake), {}, 'audit', hooks=HOOKS,
                                       absent_hooks=['session-created'])
    assert result['drift'] == []


def test_examine_lists_servers_it_could_not_examine():
    good = FakeTmux('/tmp/tmux-1000/default')
    broken = FakeTmux('/tmp/tmux-1000/broken', fail_on='show-options')
    stale = FakeTmux('/tmp/tmux-1000/stale')
    stale.run = lambda args: (1, u'', u'no server running on /tmp/tmux-1000/stale\n')
    unsafe = FakeTmux('/tmp/tmux-1001/default', uid=os.getuid())
    unsafe.candidate['unsafe'] = 'socket directory is writable by group or others (mode 0777)'
    result = tmux_live.examine_servers(_servers(good, broken, stale, unsafe), OPTIONS, 'audit')
    statuses = [(s['socket'], s['status']) for s in result['servers']]
    assert statuses == [('/tmp/tmux-1000/default', 'running'),
                        ('/tmp/tmux-1000/broken', 'error'),
                        ('/tmp/tmux-1000/stale', 'stale'),
                        ('/tmp/tmux-1001/default', 'unsafe')]
    assert result['stale_sockets'] == ['/tmp/tmux-1000/stale']
    assert [s['socket'] for s in result['unexamined']] == [
        '/tmp/tmux-1000/broken', '/tmp/tmux-1001/default']
    assert 'show-options: no such thing' in result['unexamined'][0]['msg']
    assert len(result['warnings']) == 1
    assert result['warnings'][0].startswith('2 tmux server(s) could not be examined: '
                                            '/tmp/tmux-1000/broken (')
    assert set(d['socket'] for d in result['drift']) == set(['/tmp/tmux-1000/default'])


def test_escape_argv_value():
    assert tmux_live.escape_argv_value('a;') == 'a\\;'
    assert tmux_live.escape_argv_value('a\\;') == 'a\\;'
    assert tmux_live.escape_argv_value('a') == 'a'


# ------------------------------------------- one client run for many commands

TOKEN = 'ephi-safeguards-' + '0123456789abcdef' * 2


@pytest.mark.parametrize('out, count, sections', [
    (u'', 0, []),
    (TOKEN + u'-0\n', 1, [u'']),
    (u'a 1\nb 2\n' + TOKEN + u'-0\n' + TOKEN + u'-1\nc\n' + TOKEN + u'-2\n', 3,
     [u'a 1\nb 2\n', u'', u'c\n']),
    # Eleven commands: marker 1 is not a prefix of marker 10.
    (u''.join(u'%d\n%s-%d\n' % (i, TOKEN, i) for i in range(11)), 11,
     [u'%d\n' % i for i in range(11)]),
    # Whatever a user put in a value stays in its command's output: another
    # token, a line ending in '\r' or U+2028 (not line ends for tmux).
    (u'@v "ephi-safeguards-ffff-1"\n@w a\rb\u2028c\n' + TOKEN + u'-0\n', 1,
     [u'@v "ephi-safeguards-ffff-1"\n@w a\rb\u2028c\n']),
])
def test_split_batch(out, count, sections):
    assert tmux_live.split_batch(out, TOKEN, count) == sections


@pytest.mark.parametrize('out, count, why', [
    # A command failed and tmux stopped: a marker is missing.
    (u'a\n' + TOKEN + u'-0\n', 2, 'marker 1 times, not 2'),
    # The marker inside a value (a hook that echoed it): one too many.
    (u'@v "%s-1"\n%s-0\nx\n%s-1\n' % (TOKEN, TOKEN, TOKEN), 2, 'marker 3 times, not 2'),
    # The marker repeated as a line to shift the outputs.
    (u'%s-0\n%s-0\nx\n' % (TOKEN, TOKEN), 1, 'marker 2 times, not 1'),
    # Out of order.
    (u'%s-1\n%s-0\n' % (TOKEN, TOKEN), 2, 'command 1 does not end with its marker'),
    # Not a whole line: glued to a value.
    (u'@v x%s-0\n' % TOKEN, 1, 'command 0 does not end with its marker'),
    (u'%s-0 trailing\n' % TOKEN, 1, 'command 0 does not end with its marker'),
    # Output after the last marker.
    (u'%s-0\nlock-after-time 900\n' % TOKEN, 1, 'after the last marker'),
])
def test_split_batch_refuses_what_it_cannot_split_safely(out, count, why):
    with pytest.raises(ValueError, match=why):
        tmux_live.split_batch(out, TOKEN, count)


def test_batch_argv_and_markers():
    argv = tmux_live.batch_argv([['show-options', '-g'], ['list-sessions', '-F', '#{session_id}']],
                                TOKEN)
    assert argv == ['show-options', '-g', ';', 'display-message', '-p', TOKEN + '-0', ';',
                    'list-sessions', '-F', '#{session_id}', ';', 'display-message', '-p',
                    TOKEN + '-1']
    with pytest.raises(ValueError):
        tmux_live.batch_argv([['set-option', '-g', '@x', 'a;']], TOKEN)
    markers = set(tmux_live.new_marker() for _n in range(100))
    assert len(markers) == 100
    assert all(m.startswith('ephi-safeguards-') and len(m) == 48 and '#' not in m for m in markers)


def _separate_reads(server, scopes):
    """What the live audit read before it batched: one client per command."""
    found = {'global': {}, 'local': []}
    for scope in scopes:
        found['global'][scope] = tmux_live.parse_show_options(server.output(
            ['show-options', tmux_live.SCOPE_SHOW_FLAGS[scope]]))
    if 'session' in scopes:
        for tid, name in server.lines(['list-sessions', '-F', '#{session_id} #{session_name}'], 2):
            found['local'].append({'scope': 'session', 'target': name, 'tid': tid,
                                   'values': tmux_live.parse_show_options(server.output(
                                       ['show-options', '-t', tid]))})
    if 'window' in scopes:
        seen = set()
        for scope, flag, args in (
                ('window', '-w', ['list-windows', '-a', '-F',
                                  '#{window_id} #{session_name}:#{window_index}']),
                ('pane', '-p', ['list-panes', '-a', '-F',
                                '#{pane_id} #{session_name}:#{window_index}.#{pane_index}'])):
            for tid, name in server.lines(args, 2):
                if tid in seen:
                    continue
                seen.add(tid)
                found['local'].append({'scope': scope, 'target': name, 'tid': tid,
                                       'values': tmux_live.parse_show_options(server.output(
                                           ['show-options', flag, '-t', tid]))})
    hooks = tmux_live.parse_show_hooks(server.output(['show-hooks', '-g']))
    pipes = [tuple(p) for p in server.lines(
        ['list-panes', '-a', '-F',
         '#{pane_id} #{pane_pipe} #{session_name}:#{window_index}.#{pane_index}'], 3)]
    return {'options': found, 'hooks': hooks, 'pipes': pipes}


SCOPES = ['server', 'session', 'window']
# A value made to look like output lines and a marker (without the secret).
CONFUSING = u'x\nephi-safeguards-%s-1\nlock-after-time 900\n' % ('0' * 32)


def test_snapshot_reads_what_separate_clients_read_in_two_runs():
    fake = FakeTmux()
    fake.local['$0']['@note'] = CONFUSING
    fake.glob['-g']['@note'] = u'"a b" \\; c'
    fake.hooks['session-created'] = u'pipe-pane "exec logger"'
    server = _servers(fake)[0]
    want = _separate_reads(server, SCOPES)
    del fake.runs[:]
    assert server.snapshot(SCOPES, hooks=True, pipes=True) == want
    # Global options, hooks and the three lists in one client; the three
    # targets' local options in one more.
    assert len(fake.runs) == 2
    assert [c[0] for c in tmux_commands(fake.runs[0])][::2] == [
        'show-hooks', 'show-options', 'show-options', 'show-options', 'list-sessions',
        'list-windows', 'list-panes', 'list-panes']
    assert [' '.join(c) for c in tmux_commands(fake.runs[1])][::2] == [
        'show-options -t $0', 'show-options -w -t @0', 'show-options -p -t %0']


def test_many_targets_are_read_in_runs_of_bounded_size(monkeypatch):
    monkeypatch.setattr(tmux_live, 'TARGETS_PER_CLIENT', 2)

    class Many(FakeTmux):
        def read(self, args):
            if args[0] == 'list-windows':
                return u''.join(u'@%d main s:%d\n' % (i, i) for i in range(5))
            if '-w' in args:
                return u'mode-keys emacs\n'
            return FakeTmux.read(self, args)

    fake = Many()
    server = _servers(fake)[0]
    del fake.runs[:]
    found = server.read(['window'])
    assert [e['tid'] for e in found['local']] == ['@0', '@1', '@2', '@3', '@4', '%0']
    assert len(fake.runs) == 1 + 3


def test_a_server_that_echoes_the_marker_is_not_examined():
    """An after-display-message hook (or a fake server) that repeats the
    marker it was sent: the output is not parsed, the server is a finding."""

    class Echo(FakeTmux):
        def run_one(self, args):
            rc, out, err = FakeTmux.run_one(self, args)
            if args[0] == 'display-message':
                out += u'lock-after-time 900\n' + args[2] + u'\n'
            return rc, out, err

    good = FakeTmux('/tmp/tmux-1000/a')
    echo = Echo('/tmp/tmux-1000/b')
    result = tmux_live.examine_servers(_servers(good, echo), OPTIONS, 'audit')
    assert [(s['socket'], s['status']) for s in result['servers']] == [
        ('/tmp/tmux-1000/a', 'running'), ('/tmp/tmux-1000/b', 'error')]
    assert 'batch marker' in result['unexamined'][0]['msg']
    assert set(d['socket'] for d in result['drift']) == set(['/tmp/tmux-1000/a'])


def test_a_listing_that_is_not_tmux_ids_is_not_examined():
    class Odd(FakeTmux):
        def read(self, args):
            if args[0] == 'list-sessions' and args[2] != '#{session_id}':
                return u'lock-after-time 900\n'
            return FakeTmux.read(self, args)

    result = tmux_live.examine_servers(_servers(Odd()), OPTIONS, 'audit')
    assert result['servers'][0]['status'] == 'error'
    assert "listed a session id 'lock-after-time'" in result['servers'][0]['msg']


def test_batched_reads_of_a_real_server_equal_separate_clients(nobody_server):
    base, sockdir, root_target, own_target, nobody, tmux = nobody_server
    tmux('set-option', '-g', '@note', CONFUSING)
    tmux('set-option', '-g', 'lock-after-time', '7')
    tmux('set-option', '-t', 'attack', 'lock-after-time', '5')
    tmux('set-option', '-t', 'attack', '@note', u'ephi-safeguards-1\n$9 fake')
    tmux('new-window', '-d', '-t', 'attack', 'cat')
    tmux('split-window', '-d', '-t', 'attack:1', 'cat')
    tmux('set-option', '-w', '-t', 'attack:1', 'mode-keys', 'emacs')
    tmux('set-option', '-p', '-t', 'attack:1.1', 'mode-keys', 'vi')
    tmux('rename-session', '-t', 'attack', u'a b\nephi-safeguards-0')
    tmux('set-hook', '-g', 'session-created', 'run-shell "echo x \\; true"')
    runs = []

    def counting(argv, creds, **kwargs):
        runs.append(argv)
        return run_as(argv, creds, **kwargs)

    servers = list(live_candidates([os.path.join(base, 'tmux-*')], TMUX, runner=counting))
    assert [s.status for s in servers] == ['running']
    want = _separate_reads(servers[0], SCOPES)
    del runs[:]
    got = servers[0].snapshot(SCOPES, hooks=True, pipes=True)
    assert got == want
    assert len(runs) == 2
    assert got['options']['global']['session']['@note'] == CONFUSING
    assert len(got['options']['local']) == 6   # 1 session, 2 windows, 3 panes


# -------------------------------------------------- several users at once

class SlowTmux(FakeTmux):
    """FakeTmux answering after a delay, recording which thread ran it and when."""

    def __init__(self, path, uid, delay, barrier=None, log=None):
        FakeTmux.__init__(self, path, uid=uid)
        self.delay = delay
        self.barrier = barrier
        self.log = log

    def run(self, args):
        if self.barrier is not None and args[0] == 'show-hooks':
            self.barrier.wait(timeout=10)   # every user's first batch at the same time
        start = time.time()
        time.sleep(self.delay)
        out = FakeTmux.run(self, args)
        self.log.append((self.candidate['uid'], threading.current_thread().ident, start,
                         time.time()))
        return out


def test_examine_clients_runs_users_at_once_in_the_order_of_the_sockets():
    log = []
    uids = [5001, 5002, 5003, 5004]
    barrier = threading.Barrier(len(uids))
    clients = []
    # Two sockets of the first user, the slower ones first.
    for n, uid in enumerate([5001] + uids):
        path = '/tmp/tmux-%d/s%d' % (uid, n)
        clients.append(SlowTmux(path, uid, 0.05 * (5 - n) / 5,
                                barrier if n > 0 else None, log))
    result = tmux_live.examine_clients(clients, OPTIONS, 'audit', hooks=HOOKS,
                                       absent_hooks=['session-closed'], require_pipe=True)
    assert [s['socket'] for s in result['servers']] == [c.candidate['path'] for c in clients]
    assert [s['status'] for s in result['servers']] == ['running'] * 5
    # The same drift, in the same order, as one server after the other.
    sequential = tmux_live.examine_servers(
        _servers(*[SlowTmux(c.candidate['path'], c.candidate['uid'], 0, None, [])
                   for c in clients]),
        OPTIONS, 'audit', hooks=HOOKS, absent_hooks=['session-closed'], require_pipe=True)
    for key in ('servers', 'drift', 'diff_before', 'unexamined', 'warnings'):
        assert result[key] == sequential[key], key
    assert [d['uid'] for d in result['drift']][::len(ALL_DRIFT)] == [5001, 5001, 5002, 5003, 5004]
    # One user's servers one after the other, in one thread.
    first = sorted((start, end, thread) for uid, thread, start, end in log if uid == 5001)
    assert len(set(t for _s, _e, t in first)) == 1
    assert all(a[1] <= b[0] for a, b in zip(first, first[1:]))
    assert len(set(thread for _uid, thread, _s, _e in log)) > 1


def test_examine_clients_keeps_each_users_timeout_budget():
    calls = []

    class Hanging(FakeTmux):
        def run(self, args):
            calls.append(self.candidate['uid'])
            return None, u'', u'client stopped: timeout after 5 s'

    clients = [Hanging('/tmp/tmux-5001/%d' % i, uid=5001) for i in range(4)] + [
        FakeTmux('/tmp/tmux-5002/default', uid=5002)]
    result = tmux_live.examine_clients(clients, OPTIONS, 'audit')
    assert [s['status'] for s in result['servers']] == ['timeout'] * 4 + ['running']
    assert calls == [5001] * tmux_live.TIMEOUTS_PER_UID
    assert 'earlier servers of this user timed out' in result['servers'][3]['msg']


FAKE_TMUX = r'''#!/bin/sh
# Stands in for tmux: answers the commands tmux_live sends with who runs it.
shift 2
while [ $# -gt 0 ]; do
  cmd=$1 last=$1
  shift
  while [ $# -gt 0 ] && [ "$1" != ";" ]; do last=$1; shift; done
  [ $# -gt 0 ] && shift
  case $cmd in
    list-sessions) case $last in *session_name*) echo '$0 main' ;; *) echo '$0' ;; esac ;;
    display-message) printf '%s\n' "$last" ;;
    show-options) sleep 0.2; printf '@who "%s %s %s"\n@cwd %s\n' "$(id -u)" "$(id -g)" "$(id -G)" "$(pwd -P)" ;;
  esac
done
'''


def test_every_client_runs_as_its_sockets_owner_from_several_threads():
    """The real run_as from a thread per user: uid, gid, groups and working
    directory of each client are those of its socket."""
    if os.geteuid() != 0:
        pytest.skip('needs root')
    users = []
    for name in ('daemon', 'bin', 'sys', 'nobody'):
        try:
            users.append(pwd.getpwnam(name))
        except KeyError:
            pass
    if len(users) < 2:
        pytest.skip('needs two system users')
    base = tempfile.mkdtemp(prefix='ephi-creds-')
    try:
        os.chmod(base, 0o755)
        program = os.path.join(base, 'tmux')
        with open(program, 'w') as fh:
            fh.write(FAKE_TMUX)
        os.chmod(program, 0o755)
        for user in users:
            sockdir = os.path.join(base, 'tmux-%d' % user.pw_uid)
            os.mkdir(sockdir, 0o700)
            _bind(os.path.join(sockdir, 'default'))
            os.chown(os.path.join(sockdir, 'default'), user.pw_uid, user.pw_gid)
            os.chown(sockdir, user.pw_uid, user.pw_gid)
        cands = find_sockets([os.path.join(base, 'tmux-*')])
        start = time.time()
        result = tmux_live.examine_clients(
            [tmux_live.OwnerClient(program, cand) for cand in cands],
            {'@who': {'scope': 'session', 'value': '-'}, '@cwd': {'scope': 'session', 'value': '-'}},
            'audit')
        elapsed = time.time() - start
        assert [s['status'] for s in result['servers']] == ['running'] * len(users)
        found = dict(((d['socket'], d['target'], d['option']), d['found']) for d in result['drift'])
        for cand in cands:
            creds = Credentials.for_uid(cand['uid'], 0)
            for target in ('global', 'main'):
                who = found[(cand['path'], target, '@who')].split()
                assert who[:2] == [str(creds.uid), str(creds.gid)]
                assert set(who[2:]) == set(str(g) for g in creds.groups + [creds.gid])
                assert found[(cand['path'], target, '@cwd')] == os.path.realpath(cand['dir'])
        # Two reads of 0.2 s per server: one after the other would take 0.4 s each.
        assert elapsed < 0.4 * len(users) * 0.75, elapsed
    finally:
        shutil.rmtree(base, ignore_errors=True)
