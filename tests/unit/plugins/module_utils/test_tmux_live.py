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
