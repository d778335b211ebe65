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

class FakeTmux(object):
    """A tmux server in a dict, answering the client commands LiveServer sends.

    One session ``$0`` (``main s``) with window ``@0`` and pane ``%0``; writes
    change the state, so an enforced server re-reads clean.
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
        self.fail_on = fail_on

    def run(self, args):
        args = list(args)
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
