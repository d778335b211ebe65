# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""roles/tmux/files/ephi-session-recorder: the pure decisions (header, limits,
transfers, names, asciicast encoding, events, idle deadline) and, as root, the
real thing end to end: the recorder on a temporary socket and directory, the
gate's client code on a real pty (output on disk before it is shown, resize,
idle logoff, the gate killed) and on pipes (a command session)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import fcntl
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import tempfile
import termios
import time

import pytest

from ansible_collections.ephi.safeguards.tests.unit.roles.session_programs import (
    RECORDER_PATH, gate_argv, load, recorder_argv)

rec = load('ephi_session_recorder', RECORDER_PATH)
ROOT = os.geteuid() == 0


def has_cap_sys_admin():
    """TIOCVHANGUP needs CAP_SYS_ADMIN, which root in a container may lack
    (the newest stage's controller container does)."""
    with open('/proc/self/status') as fh:
        for line in fh:
            if line.startswith('CapEff:'):
                return bool(int(line.split()[1], 16) >> 21 & 1)
    return False


CAN_REVOKE = ROOT and has_cap_sys_admin()


# ---------------------------------------------------------------- pure parts

def header(**fields):
    head = {'v': 1, 'kind': 'pty', 'command': None, 'term': 'xterm', 'ssh_connection': '10.0.0.1 5555 10.0.0.2 22'}
    head.update(fields)
    return json.dumps(head).encode()


def test_header_pty_and_command():
    assert rec.parse_header(header(), 1)['kind'] == 'pty'
    head = rec.parse_header(header(kind='command', command='ls -l'), 3)
    assert head == {'kind': 'command', 'command': 'ls -l', 'term': 'xterm',
                    'ssh_connection': '10.0.0.1 5555 10.0.0.2 22'}


@pytest.mark.parametrize('data, nfds, reason', [
    (b'x' * 9000, 1, 'header-too-long'),
    (b'not json', 1, 'bad-header'),
    (b'[1]', 1, 'bad-header'),
    (header(v=2), 1, 'bad-header'),
    (header(kind='shell'), 1, 'bad-kind'),
    (header(kind='command', command=None), 3, 'bad-command'),
    (header(command=['ls']), 1, 'bad-command'),
    (header(term='x' * 200), 1, 'bad-term'),
    (header(ssh_connection=5), 1, 'bad-ssh-connection'),
    (header(), 3, 'bad-fds'),
    (header(kind='command', command=''), 1, 'bad-fds'),
    (b'\xff\xfe', 1, 'bad-header'),
])
def test_header_refused(data, nfds, reason):
    with pytest.raises(ValueError) as err:
        rec.parse_header(data, nfds)
    assert err.value.args[0] == reason


def test_event_format():
    line = rec.format_event('session-end', [('id', 'ab12'), ('status', 3), ('command', 'echo hi; exit 3'),
                                            ('file', '/var/log/ephi/u/x.cast'), ('recorded', True), ('empty', '')])
    assert line == ('event=session-end id=ab12 status=3 command="echo hi; exit 3" file=/var/log/ephi/u/x.cast '
                    'recorded=true empty=""')
    assert rec.quote('a"b c') == '"a\\"b c"'
    assert rec.quote(None) == '""'


def test_source():
    assert rec.source_of('192.0.2.7 40000 192.0.2.1 22') == '192.0.2.7'
    assert rec.source_of(None) == '-'
    assert rec.source_of('') == '-'


@pytest.mark.parametrize('command, kind', [
    ('scp -t /tmp/x', 'scp'),
    ('scp -f blob', 'scp'),
    ('scp -r -t dir', 'scp'),
    ('scp -pt dir', 'scp'),
    ('rsync --server -logDtpre.iLsfxCIvu . blob', 'rsync'),
    ('rsync --server --sender -logDtpre.iLsfxCIvu . blob', 'rsync'),
    ('/usr/lib/openssh/sftp-server', 'sftp'),
    ('internal-sftp', 'sftp'),
    ('cat /etc/hosts', None),
    ('rsync -a x y', None),
    ('scp -v a b', None),
    ('', None),
    (None, None),
    ('scp -t x; cat /etc/shadow', None),
    ('scp -t x && cat /etc/shadow', None),
    ('scp -t $(cat /etc/shadow)', None),
    ('scp -t `id`', None),
    ('rsync --server . x | tee y', None),
    ('scp -t x\nid', None),
    ("scp -t 'unbalanced", None),
])
def test_transfer_kind(command, kind):
    assert rec.transfer_kind(command) == kind


def test_cast_name():
    moment = datetime.datetime(2024, 3, 1, 12, 30, 45, 123456, tzinfo=datetime.timezone.utc)
    assert rec.cast_name('web1', 'pty', moment, '0123456789abcdef') == \
        'web1-pty-20240301T123045.123456Z-0123456789abcdef.cast'
    assert rec.cast_name('a/b', 'command', moment, 'x').startswith('a_b-command-')


def test_idle_deadline():
    assert rec.idle_deadline(100.0, 1800) == 1900.0
    assert rec.idle_deadline(100.0, 0) is None
    assert rec.idle_deadline(100.0, None) is None


def test_limits_per_user_and_total():
    limits = rec.Limits()
    for pid in range(3):
        assert limits.check(1001, 3, 5) is None
        limits.add(pid, 1001)
    # The flooder is stopped, another user still gets in.
    assert limits.check(1001, 3, 5) == 'max-per-user'
    assert limits.check(1002, 3, 5) is None
    limits.add(10, 1002)
    limits.add(11, 1002)
    assert limits.check(1003, 3, 5) == 'max-total'
    limits.remove(0)
    assert limits.check(1001, 3, 5) is None
    limits.remove(12345)
    assert rec.Limits().check(1, 0, 0) is None


@pytest.mark.parametrize('text', ['plain', 'a"b\\c', '\x1b[1;31mred\x1b[0m\r\n', 'tab\tnul\x00\x7f',
                                  'caf\u00e9 \u2028 \U0001f600', '\ufffd', ''])
def test_cast_event_is_the_json_of_before(text):
    """The fast line is byte for byte what json.dumps makes (plain asciicast v2 JSON)."""
    cast = rec.CastEncoder(10.0)
    for moment in (10.0, 10.000001, 12.3456789, 3610.5):
        line = cast.event(moment, 'o', text)
        assert line == (json.dumps([round(moment - 10.0, 6), 'o', text]) + '\n').encode()
        assert json.loads(line) == [round(moment - 10.0, 6), 'o', text]


def test_read_chunk_coalesces_and_ends():
    """What is ready is read as one chunk (up to CHUNK); EOF is b'', nothing ready None."""
    reader, writer = socket.socketpair()  # more room than a pipe's 64 KiB
    try:
        rfd = reader.fileno()
        os.set_blocking(rfd, False)
        assert rec.read_chunk(rfd) is None
        for part in (b'one ', b'two ', b'three'):
            writer.sendall(part)
        assert rec.read_chunk(rfd) == b'one two three'
        writer.sendall(b'x' * (rec.CHUNK + 10))
        assert len(rec.read_chunk(rfd)) == rec.CHUNK
        assert rec.read_chunk(rfd) == b'x' * 10
        writer.close()
        assert rec.read_chunk(rfd) == b''
    finally:
        reader.close()
        writer.close()


def test_holder_sends_the_first_piece_at_once_and_holds_a_stream():
    """After a quiet moment a piece goes at once (typing is echoed without
    delay); pieces that follow within the window are held and go together when
    it ends, or as soon as limit bytes are held; take() keeps their order."""
    held = rec.Holder(window=0.01, limit=10)
    assert held.add(b'a', 100.0) is True
    assert held.take(100.0) == b'a' and held.due is None
    assert held.add(b'b', 100.002) is False
    assert held.add(b'c', 100.004) is False
    assert held.due == 100.01 and held.size == 2
    assert held.take(100.01) == b'bc' and held.size == 0 and held.due is None
    assert held.add(b'12345', 100.011) is False
    assert held.add(b'67890', 100.012) is True  # limit reached before the window ends
    assert held.take(100.012) == b'1234567890'
    assert held.add(b'late', 100.5) is True  # quiet again


def test_proc_start_and_parse_state():
    assert rec.proc_start(os.getpid()) is not None
    assert rec.proc_start(os.getpid()) == rec.proc_start(os.getpid())
    child = subprocess.Popen(['true'])
    child.wait()
    assert rec.proc_start(child.pid) is None
    assert rec.parse_state('123', '1001 456 0123456789abcdef\n') == (123, 1001, 456, '0123456789abcdef')
    for name, text in (('.123', '1 2 x'), ('123', '1 2'), ('123', 'a 2 x'), ('123', '1 2 x y'), ('x', '1 2 x')):
        assert rec.parse_state(name, text) is None


def test_live_state_recovers_live_relays_only(tmp_path):
    """A restarted acceptor counts its predecessor's live relays: entries of dead
    processes, of a reused pid (another start time) and junk are removed."""
    live = subprocess.Popen(['sleep', '60'])
    dead = subprocess.Popen(['true'])
    dead.wait()
    try:
        state = rec.LiveState(str(tmp_path / 'state'))
        state.prepare()
        assert (tmp_path / 'state').stat().st_mode & 0o777 == 0o700
        state.add(live.pid, 1001, 'a' * 16)
        state.add(dead.pid, 1002, 'b' * 16)  # already gone: no entry
        (tmp_path / 'state' / str(os.getpid())).write_text('1003 1 %s\n' % ('c' * 16))  # pid reused
        (tmp_path / 'state' / 'junk').write_text('x')
        again = rec.LiveState(str(tmp_path / 'state'))
        again.prepare()
        assert again.recover() == {live.pid: (1001, rec.proc_start(live.pid), 'a' * 16)}
        assert os.listdir(str(tmp_path / 'state')) == [str(live.pid)]
        limits = rec.Limits()
        for pid, (uid, _start, _sid) in again.adopted.items():
            limits.add(pid, uid)
        assert limits.check(1001, 1, 0) == 'max-per-user'
        assert again.prune() == []
        live.kill()
        live.wait()
        assert again.prune() == [live.pid]
        assert os.listdir(str(tmp_path / 'state')) == [] and again.adopted == {}
    finally:
        live.kill()
        live.wait()


def test_live_state_refuses_a_link(tmp_path):
    os.symlink(str(tmp_path), str(tmp_path / 'link'))
    with pytest.raises(OSError):
        rec.LiveState(str(tmp_path / 'link')).prepare()


def test_cast_utf8_split_and_invalid():
    cast = rec.CastEncoder(10.0)
    text = 'é✓'.encode('utf-8')
    first = cast.output(10.5, text[:1])
    assert first == b''
    line = json.loads(cast.output(11.0, text[1:]).decode())
    assert line == [1.0, 'o', 'é✓']
    bad = json.loads(cast.output(11.25, b'a\xffb').decode())
    assert bad[2] == 'a\ufffdb'
    # A sequence cut off at the end is flushed (replaced) by the end marker.
    cast.output(12.0, b'\xe2\x9c')
    end = cast.end(12.5, 'exit', 42).decode().splitlines()
    assert json.loads(end[0])[2] == '\ufffd'
    assert json.loads(end[1]) == [2.5, 'm', 'ephi-end reason=exit bytes=42']
    assert json.loads(cast.resize(13.0, 120, 40).decode()) == [3.0, 'r', '120x40']


def test_cast_header():
    head = json.loads(rec.CastEncoder.header(100, 30, 1700000000.7, 'xterm', {'id': 'x'}).decode())
    assert head == {'version': 2, 'width': 100, 'height': 30, 'timestamp': 1700000000, 'env': {'TERM': 'xterm'},
                    'ephi': {'id': 'x'}}


@pytest.mark.skipif(not ROOT, reason='chown to root needs root')
def test_open_recording_refuses_links_and_user_dirs(tmp_path):
    conf = {'dir': str(tmp_path), 'group': 'root'}
    fd, path = rec.open_recording(conf, 'alice', 'a.cast')
    os.close(fd)
    assert path == os.path.join(str(tmp_path), 'alice', 'a.cast')
    info = os.stat(path)
    assert (info.st_uid, info.st_mode & 0o777) == (0, 0o640)
    assert os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o750
    with pytest.raises(FileExistsError):
        rec.open_recording(conf, 'alice', 'a.cast')
    # An existing user directory with a wrong group or mode is put right.
    os.chown(os.path.dirname(path), 0, 4242)
    os.chmod(os.path.dirname(path), 0o777)
    fd, _path = rec.open_recording(conf, 'alice', 'e.cast')
    os.close(fd)
    info = os.stat(os.path.dirname(path))
    assert (info.st_gid, info.st_mode & 0o777) == (0, 0o750)
    # A symlinked user directory is not followed.
    target = tmp_path / 'elsewhere'
    target.mkdir()
    os.symlink(str(target), str(tmp_path / 'bob'))
    with pytest.raises(OSError):
        rec.open_recording(conf, 'bob', 'b.cast')
    assert not os.listdir(str(target))
    # A user directory someone else owns is refused.
    (tmp_path / 'carol').mkdir()
    os.chown(str(tmp_path / 'carol'), 4242, 4242)
    with pytest.raises(OSError):
        rec.open_recording(conf, 'carol', 'c.cast')
    # A planted symlink as the file name is not followed.
    os.symlink(str(target / 'victim'), str(tmp_path / 'alice' / 'd.cast'))
    with pytest.raises(OSError):
        rec.open_recording(conf, 'alice', 'd.cast')
    assert not os.path.exists(str(target / 'victim'))


@pytest.mark.skipif(not CAN_REVOKE, reason='TIOCVHANGUP needs root with CAP_SYS_ADMIN')
def test_take_tty_revokes_other_descriptors():
    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        master, slave = os.openpty()
        path = os.ttyname(slave)
        other = os.open(path, os.O_RDWR | os.O_NOCTTY)
        new = rec.take_tty(slave, path, True)
        info = os.fstat(new)
        assert (info.st_uid, info.st_mode & 0o777) == (0, 0o600)
        with pytest.raises(OSError):
            os.write(other, b'x')
        os.write(new, b'NEW')
        assert os.read(master, 10) == b'NEW'
        for fd in (master, other, new):
            os.close(fd)
    finally:
        signal.signal(signal.SIGHUP, old)


def test_check_tty_refuses_non_pts(tmp_path):
    fd = os.open(str(tmp_path), os.O_RDONLY)
    try:
        with pytest.raises(ValueError):
            rec.check_tty(fd, os.geteuid())
    finally:
        os.close(fd)
    master, slave = os.openpty()
    try:
        with pytest.raises(ValueError):
            rec.check_tty(slave, os.geteuid() + 1)
        assert rec.check_tty(slave, os.fstat(slave).st_uid).startswith('/dev/pts/')
    finally:
        os.close(master)
        os.close(slave)


# ---------------------------------------------------------------- end to end (root)

FAKE_TMUX = '#!/bin/sh\n# stands in for tmux: runs the test script\nexec /bin/sh -c "$EPHI_TEST_SCRIPT"\n'


class Lab(object):
    def __init__(self, base):
        self.base = base
        self.store = os.path.join(base, 'store')
        os.mkdir(self.store)
        self.sock = os.path.join(base, 's.sock')
        self.conf_path = os.path.join(base, 'conf.json')
        self.tmux = os.path.join(base, 'tmux')
        with open(self.tmux, 'w') as fh:
            fh.write(FAKE_TMUX)
        os.chmod(self.tmux, 0o755)
        self.configure()
        self.start()

    def start(self):
        self.proc = subprocess.Popen(recorder_argv(self.store, self.conf_path, self.sock))
        deadline = time.time() + 10
        while not os.path.exists(self.sock):
            assert time.time() < deadline and self.proc.poll() is None, 'the recorder did not start'
            time.sleep(0.05)

    def configure(self, **fields):
        conf = {'dir': self.store, 'group': 'root', 'socket': self.sock, 'unrecordable': 'refuse',
                'idle_logoff': 0, 'record_commands': True, 'max_per_user': 32, 'max_total': 1024,
                'max_bytes': 0, 'tmux': self.tmux, 'tmux_conf': '/dev/null', 'session_name': 'main',
                'fallback_term': 'xterm', 'sftp_server': '/usr/lib/openssh/sftp-server',
                # Where revoking is not possible (no CAP_SYS_ADMIN) the recorder refuses the
                # session, as it must: these tests are about the relay, not the revoke.
                'revoke_tty': CAN_REVOKE, 'state_dir': os.path.join(self.base, 'state')}
        conf.update(fields)
        with open(self.conf_path + '.new', 'w') as fh:
            json.dump(conf, fh)
        os.rename(self.conf_path + '.new', self.conf_path)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)

    def env(self, script=None, command=None):
        env = {'PATH': '/usr/bin:/bin', 'TERM': 'xterm', 'SSH_CONNECTION': '192.0.2.9 4000 192.0.2.1 22'}
        if script is not None:
            env['EPHI_TEST_SCRIPT'] = script
        if command is not None:
            env['SSH_ORIGINAL_COMMAND'] = command
        return env

    def casts(self, kind):
        userdir = os.path.join(self.store, 'root')
        if not os.path.isdir(userdir):
            return []
        return sorted(os.path.join(userdir, name) for name in os.listdir(userdir) if '-%s-' % kind in name)

    def pty_session(self, script):
        """A pty as sshd has it (we hold the master) and the gate on its slave."""
        master, slave = os.openpty()
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 80, 0, 0))
        gate = subprocess.Popen(gate_argv(self.conf_path), stdin=slave,
                                stdout=slave, stderr=slave, env=self.env(script=script), start_new_session=True)
        os.close(slave)
        return master, gate


def read_until(fd, pattern, seconds=10):
    data = b''
    deadline = time.time() + seconds
    while re.search(pattern, data) is None:
        left = deadline - time.time()
        if left <= 0:
            raise AssertionError('%r not seen in %r' % (pattern, data))
        ready, _w, _x = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b''
            if not chunk:
                raise AssertionError('%r not seen before EOF in %r' % (pattern, data))
            data += chunk
    return data


def cast_lines(path):
    with open(path, encoding='utf-8') as fh:
        return [json.loads(line) for line in fh]


def cast_text(lines):
    return ''.join(line[2] for line in lines[1:] if line[1] == 'o')


@pytest.fixture
def lab():
    if not ROOT:
        pytest.skip('the recorder end to end needs root (chown of terminals and recordings)')
    base = tempfile.mkdtemp(prefix='ephi-rec-')
    os.chmod(base, 0o700)
    lab = Lab(base)
    yield lab
    lab.stop()
    subprocess.call(['rm', '-rf', base])


def test_e2e_command_session(lab):
    out = subprocess.run(gate_argv(lab.conf_path), input=b'from-stdin\n',
                         capture_output=True, env=lab.env(command='cat; echo hi; echo oops >&2; exit 3'),
                         timeout=30, check=False)
    assert out.returncode == 3
    assert out.stdout == b'from-stdin\nhi\n'
    assert out.stderr == b'oops\n'
    (path,) = lab.casts('command')
    lines = cast_lines(path)
    assert lines[0]['ephi']['kind'] == 'command'
    assert lines[0]['ephi']['source'] == '192.0.2.9'
    assert lines[0]['ephi']['command'] == 'cat; echo hi; echo oops >&2; exit 3'
    assert 'hi\n' in cast_text(lines) and 'oops\n' in cast_text(lines)
    assert lines[-1][1:] == ['m', 'ephi-end reason=exit bytes=19']
    info = os.stat(path)
    assert (info.st_uid, info.st_mode & 0o777) == (0, 0o640)


def test_e2e_command_child_gets_only_its_pipes_and_default_signals(lab):
    # The command is started with posix_spawn: it holds 0, 1 and 2 only (the
    # received descriptors are close-on-exec), what the interpreter and the
    # gate ignore (SIGPIPE, SIGXFSZ, SIGHUP) is back at the default, and it
    # leads a process group of its own (the idle logoff hangs up all of it).
    script = ('echo FDS; ls /proc/$$/fd; echo END; grep ^SigIgn: /proc/$$/status; '
              'echo PGRP $(cut -d" " -f5 /proc/$$/stat) PID $$')
    out = subprocess.run(gate_argv(lab.conf_path), input=b'', capture_output=True,
                         env=lab.env(command=script), timeout=30, check=False)
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode()
    assert text.split('FDS\n', 1)[1].split('END\n', 1)[0].split() == ['0', '1', '2'], text
    ignored = int(re.search(r'^SigIgn:\s*([0-9a-f]+)$', text, re.M).group(1), 16)
    for sig in (signal.SIGHUP, signal.SIGPIPE, signal.SIGXFSZ):
        assert not ignored & (1 << (sig - 1)), (sig, text)
    pgrp, pid = re.search(r'^PGRP (\d+) PID (\d+)$', text, re.M).groups()
    assert pgrp == pid


def test_e2e_transfer_not_recorded(lab):
    out = subprocess.run(gate_argv(lab.conf_path), input=b'',
                         capture_output=True, env=lab.env(command='rsync --server --version'), timeout=30, check=False)
    assert out.returncode in (0, 1, 127)
    assert lab.casts('command') == []


def test_e2e_pty_records_before_showing_and_resize(lab):
    master, gate = lab.pty_session('printf "OUT-ONE\\n"; read line; echo "GOT $line"; sleep 1; stty size; exit 4')
    try:
        read_until(master, b'OUT-ONE')
        # Shown => already on disk.
        (path,) = lab.casts('pty')
        assert 'OUT-ONE' in cast_text(cast_lines(path))
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', 30, 100, 0, 0))
        time.sleep(0.8)
        os.write(master, b'hello\r')
        read_until(master, b'GOT hello')
        read_until(master, b'30 100')
        assert gate.wait(10) == 4
    finally:
        os.close(master)
    lines = cast_lines(path)
    assert lines[0]['width'] == 80 and lines[0]['height'] == 24
    assert lines[0]['env'] == {'TERM': 'xterm'}
    assert lines[0]['ephi']['kind'] == 'pty'
    assert [line[2] for line in lines[1:] if line[1] == 'r'] == ['100x30']
    assert 'GOT hello' in cast_text(lines)
    assert lines[-1][1] == 'm' and lines[-1][2].startswith('ephi-end reason=exit bytes=')


def test_e2e_idle_logoff(lab):
    lab.configure(idle_logoff=1)
    master, gate = lab.pty_session('echo READY; sleep 30')
    try:
        read_until(master, b'READY')
        read_until(master, b'logged off after 1 s without input', seconds=5)
        assert gate.wait(10) == 129  # the shell got SIGHUP
    finally:
        os.close(master)
    (path,) = lab.casts('pty')
    lines = cast_lines(path)
    assert 'logged off after 1 s without input' in cast_text(lines)
    assert lines[-1][2].startswith('ephi-end reason=idle-logoff')


def test_e2e_idle_logoff_ends_a_child_that_ignores_the_hangup(lab):
    # A lock program on the dead terminal (vlock under the tmux client) ignores
    # SIGHUP: the recorder tells the gate the session is over, and the gate
    # kills what is left, so that the login really ends.
    lab.configure(idle_logoff=1)
    master, gate = lab.pty_session("trap '' HUP; echo READY; while :; do sleep 1; done")
    try:
        read_until(master, b'READY')
        read_until(master, b'logged off after 1 s without input', seconds=5)
        assert gate.wait(10) == 137  # hung up, then killed
    finally:
        os.close(master)
    (path,) = lab.casts('pty')
    assert cast_lines(path)[-1][2].startswith('ephi-end reason=idle-logoff')


def test_e2e_gate_gone_keeps_last_output(lab):
    master, gate = lab.pty_session('echo "PID $$"; echo LAST-MARK; exec sleep 30')
    try:
        data = read_until(master, b'LAST-MARK')
        child = int(re.search(rb'PID (\d+)', data).group(1))
        # The gate first: a shell killed first is an exit the gate could
        # still report (reason=exit), before its own kill landed (seen once
        # on a loaded machine). Then its orphaned shell.
        gate.kill()
        gate.wait(10)
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass   # it went with the gate's terminal
        deadline = time.time() + 10
        while True:
            (path,) = lab.casts('pty')
            lines = cast_lines(path)
            if lines[-1][1] == 'm' or time.time() > deadline:
                break
            time.sleep(0.1)
    finally:
        os.close(master)
    assert 'LAST-MARK' in cast_text(lines)
    assert lines[-1][2].startswith('ephi-end reason=gate-gone')


def test_e2e_refused_when_not_encrypted(lab):
    other = os.path.join(lab.base, 'plain')
    os.mkdir(other)
    lab.configure(dir=other)
    out = subprocess.run(gate_argv(lab.conf_path), input=b'',
                         capture_output=True, env=lab.env(command='echo secret'), timeout=30, check=False)
    assert out.returncode == 1
    assert b'cannot be recorded (not-encrypted)' in out.stderr
    assert out.stdout == b''
    # allow: runs, unrecorded (the event says capture-lost).
    lab.configure(dir=other, unrecordable='allow')
    out = subprocess.run(gate_argv(lab.conf_path), input=b'',
                         capture_output=True, env=lab.env(command='echo fine'), timeout=30, check=False)
    assert (out.returncode, out.stdout) == (0, b'fine\n')
    assert os.listdir(other) == []


def test_e2e_limits_before_header(lab):
    """Idle connections of one uid up to its limit: the next one is refused at
    once, without a header; the refusal does not wait for the idle ones."""
    lab.configure(max_per_user=2)
    idle = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM), socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)]
    for conn in idle:
        conn.connect(lab.sock)
    time.sleep(0.3)
    third = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    third.settimeout(3)
    third.connect(lab.sock)
    reply = json.loads(third.recv(4096).decode())
    assert reply['ok'] is False and 'max-per-user' in reply['message']
    for conn in idle + [third]:
        conn.close()


def gate_popen(lab, command):
    return subprocess.Popen(gate_argv(lab.conf_path), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=lab.env(command=command))


def test_e2e_command_idle_logoff(lab, tmp_path):
    """ssh -T host bash -i left alone: neither input nor output for
    command_idle_logoff s ends it, with what it started in the background;
    a command that keeps writing is not ended."""
    lab.configure(command_idle_logoff=2)
    marker = str(tmp_path / 'bg.pid')
    quiet = gate_popen(lab, 'sleep 300 & echo $! > %s; echo READY; cat' % marker)
    busy = gate_popen(lab, 'for i in 1 2 3 4 5 6 7 8; do echo tick; sleep 0.5; done; exit 5')
    try:
        assert quiet.stdout.readline() == b'READY\n'
        assert quiet.wait(15) == 129  # stdin is held open: only the logoff ends it
        assert b'logged off after 2 s without input or output' in quiet.stderr.read()
        with open(marker) as fh:
            background = int(fh.read())
        deadline = time.time() + 5
        while rec.proc_start(background) is not None:
            assert time.time() < deadline, 'the background job outlived the logoff'
            time.sleep(0.1)
        busy_out, _err = busy.communicate(timeout=15)
        assert (busy.returncode, busy_out.count(b'tick')) == (5, 8)
    finally:
        for proc in (quiet, busy):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    ends = sorted(cast_lines(path)[-1][2].split()[1] for path in lab.casts('command'))
    assert ends == ['reason=exit', 'reason=idle-logoff']
    for path in lab.casts('command'):
        lines = cast_lines(path)
        if lines[-1][2].startswith('ephi-end reason=idle-logoff'):
            assert 'logged off after 2 s without input or output' in cast_text(lines)


def test_e2e_over_the_limit_is_refused_not_unrecorded(lab):
    """The refusal comes right after accept, before the gate has sent its
    header: the gate must read it (not take the closed connection for an
    absent recorder, which with allow would run the command unrecorded)."""
    lab.configure(max_per_user=1, unrecordable='allow')
    held = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    held.connect(lab.sock)
    try:
        time.sleep(0.3)
        for _attempt in range(5):
            out = subprocess.run(gate_argv(lab.conf_path), input=b'', capture_output=True,
                                 env=lab.env(command='echo ran'), timeout=30, check=False)
            assert (out.returncode, out.stdout) == (1, b''), out
            assert b'too many sessions (max-per-user)' in out.stderr, out
    finally:
        held.close()


def test_e2e_limits_survive_a_restart(lab):
    """The relays of a stopped acceptor run on; the next acceptor counts them."""
    lab.configure(max_per_user=1)
    first = gate_popen(lab, 'echo READY; cat')
    try:
        assert first.stdout.readline() == b'READY\n'
        lab.stop()
        os.unlink(lab.sock)
        lab.start()
        out = subprocess.run(gate_argv(lab.conf_path), input=b'', capture_output=True,
                             env=lab.env(command='echo second'), timeout=30, check=False)
        assert out.returncode == 1 and b'max-per-user' in out.stderr, out
        first.stdin.write(b'still relayed\n')
        first.stdin.close()
        assert first.stdout.read() == b'still relayed\n'
        assert first.wait(10) == 0
        deadline = time.time() + 10
        while True:  # the old relay is gone: pruned when over the limit
            out = subprocess.run(gate_argv(lab.conf_path), input=b'', capture_output=True,
                                 env=lab.env(command='echo third'), timeout=30, check=False)
            if out.returncode == 0 or time.time() > deadline:
                break
            time.sleep(0.2)
        assert (out.returncode, out.stdout) == (0, b'third\n')
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()


def make_session(conf, fd):
    sess = rec.Session(dict(rec.DEFAULTS, **conf), None, (4242, 'bob'),
                       {'kind': 'pty', 'command': None, 'term': 'xterm', 'ssh_connection': None})
    sess.wanted = True
    sess.recording = True
    sess.rec_fd = fd
    return sess


def test_record_enospc_refuse_ends_and_logs(monkeypatch):
    events = []
    monkeypatch.setattr(rec, 'log', lambda priority, event, fields: events.append((event, dict(fields))))
    fd = os.open('/dev/full', os.O_WRONLY)
    try:
        sess = make_session({'unrecordable': 'refuse'}, fd)
        assert sess.record(b'[1, "o", "x"]\n', 5) is False
        assert sess.reason == 'capture-failed'
        assert events == [('capture-lost', {'id': sess.id, 'user': 'bob', 'uid': 4242, 'bytes': 5,
                                            'reason': 'ENOSPC'})]
    finally:
        os.close(fd)


def test_record_enospc_allow_goes_on_and_counts(monkeypatch):
    events = []
    monkeypatch.setattr(rec, 'log', lambda priority, event, fields: events.append((event, dict(fields))))
    fd = os.open('/dev/full', os.O_WRONLY)
    try:
        sess = make_session({'unrecordable': 'allow'}, fd)
        assert sess.record(b'x', 5) is True
        assert sess.record(b'y', 7) is True
        assert sess.lost_bytes == 12 and sess.reason is None
        assert len(events) == 1
    finally:
        os.close(fd)


def test_record_max_bytes(monkeypatch, tmp_path):
    events = []
    monkeypatch.setattr(rec, 'log', lambda priority, event, fields: events.append((event, dict(fields))))
    fd = os.open(str(tmp_path / 'x.cast'), os.O_WRONLY | os.O_CREAT)
    try:
        sess = make_session({'unrecordable': 'refuse', 'max_bytes': 10}, fd)
        assert sess.record(b'a' * 8, 8) is True
        assert sess.record(b'b' * 8, 8) is False
        assert sess.reason == 'max-bytes'
        assert events[0][1]['reason'] == 'max-bytes'
    finally:
        os.close(fd)
    assert (tmp_path / 'x.cast').read_bytes() == b'a' * 8
