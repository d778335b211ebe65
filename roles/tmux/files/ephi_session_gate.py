# ephi.safeguards:tmux -- the session gate (installed as ephi_session_gate.py
# beside its entry point ephi-session-gate): every SSH session of a gated
# account runs through it (sshd ForceCommand, plus a root-owned hook at the
# top of /etc/bash.bashrc and /etc/zsh/zshenv that execs the entry point
# before the user's own rc files). It runs AS THE USER.
#
# It hands its stdio to the root ephi-session-recorder over a unix socket
# (SCM_RIGHTS) and gets fresh descriptors back: a new pty slave (pty session) or
# three pipe ends (command session). It then runs tmux (pty; no fallback shell)
# or the command (no pty) on them, while the recorder relays and records the
# real terminal, output written to disk before it is shown. Its own copies of
# the originals are replaced by /dev/null, so the user's processes never hold
# sshd's terminal or pipes.
#
# Threat model. The gate is only a courier: the user can kill it, ptrace it or
# run another copy, and gains nothing by it. What reaches their terminal passes
# the root relay, which the user can neither signal nor trace; the recorder
# takes the user from SO_PEERCRED and ignores any user name sent. Fields the gate
# sends (command, TERM, SSH_CONNECTION) are claims of the user's side. The
# interpreter runs with -I (isolated mode: no PYTHON* variables, no user site
# directory, no script directory on sys.path) and -S (no site module), so files
# in the user's home cannot run code before the gate; the entry point adds only
# its own root-owned directory to sys.path, after the standard library. When
# the recorder cannot be reached the configured policy applies: refuse (default;
# message + event, exit 1) or allow (event capture-lost, run unrecorded). Events
# written by the gate come from the user's uid (journald shows _UID); the
# recorder's are root's.
#
# Speed. Every SSH session of a gated account, so every Ansible task through
# the gate, starts this program: its CPU time is paid once per task.
# - It imports only modules built into the interpreter (posix rather than os,
#   _socket, _signal, _struct rather than socket, signal, struct, whose Python
#   parts import more) and the C module _json; termios only for a pty session.
# - The entry point imports this file, so its bytecode comes from a
#   checked-hash .pyc that root writes (the recorder unit's ExecStartPre)
#   instead of a compile at every start; a missing or stale .pyc (the hash is
#   of this source) costs only that compile.
# - A command's child is started with posix_spawn, not a copy of this process.
# Measured with benchmarks/session_gate.sh (docs/session-gate.md).
import _json
import _signal as signal
import _socket as socket
import _struct as struct
import fcntl
import posix as os
import pwd
import select
import sys
import syslog
import time

CONF = '/etc/ephi-session.json'
DEFAULTS = {
    'socket': '/run/ephi-session.sock', 'unrecordable': 'refuse', 'tmux': '/usr/bin/tmux',
    'tmux_conf': '/etc/tmux.conf', 'session_name': 'main', 'fallback_term': 'xterm',
    'sftp_server': '/usr/lib/openssh/sftp-server',
}
TERMINFO_DIRS = ('/etc/terminfo', '/lib/terminfo', '/usr/share/terminfo')
ALNUM = frozenset('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789')
TERM_CHARS = ALNUM | frozenset('._+-')
PLAIN_CHARS = ALNUM | frozenset('_./:@+-')
REPLY_TIMEOUT = 10.0
DONE_TIMEOUT = 5.0
# Seconds between the hang-up and the kill of a child the recorder ended.
KILL_AFTER = 2.0
# What the interpreter or the gate ignores, back at the default for the
# user's programs (as subprocess's restore_signals does).
CHILD_DEFAULT_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGHUP)


# ---------------------------------------------------------------- pure parts

class _Decoding:  # pylint: disable=too-few-public-methods
    """What the C JSON scanner reads from its context (json.JSONDecoder's defaults)."""
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name):
        return {'-Infinity': float('-inf'), 'Infinity': float('inf'), 'NaN': float('nan')}[name]


_SCAN = _json.make_scanner(_Decoding())


def loads(text):
    """json.loads of a str with the C scanner alone; ValueError when text is not one JSON value."""
    start = len(text) - len(text.lstrip(' \t\n\r'))
    try:
        value, end = _SCAN(text, start)
    except StopIteration as exc:
        raise ValueError('not JSON') from exc
    if text[end:].strip(' \t\n\r'):
        raise ValueError('extra data after JSON')
    return value


def dumps(value):
    """json.dumps (default separators, ASCII) of str, int, bool, None and dicts of them."""
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _json.encode_basestring_ascii(value)
    if isinstance(value, dict):
        return '{%s}' % ', '.join('%s: %s' % (dumps(str(key)), dumps(item)) for key, item in value.items())
    raise TypeError('cannot encode %s' % type(value).__name__)


def quote(value):
    if isinstance(value, int):
        return str(value)
    text = '' if value is None else str(value)
    return text if text and PLAIN_CHARS.issuperset(text) else dumps(text)


def format_event(event, fields):
    return ' '.join(['event=%s' % event] + ['%s=%s' % (key, quote(value)) for key, value in fields])


def is_file(path):
    try:
        return os.stat(path).st_mode & 0o170000 == 0o100000
    except (OSError, ValueError):
        return False


def has_terminfo(term, dirs=TERMINFO_DIRS):
    if not term or len(term) > 64 or term[0] not in ALNUM or not TERM_CHARS.issuperset(term):
        return False
    for base in dirs:
        for sub in (term[0], '%02x' % ord(term[0])):
            if is_file('%s/%s/%s' % (base, sub, term)):
                return True
    return False


def choose_term(term, fallback, known=has_terminfo):
    """The client's TERM if terminfo knows it and it is a real terminal, else fallback."""
    if not term or term in ('dumb', 'unknown') or not known(term):
        return fallback
    return term


def is_sftp(command):
    words = (command or '').split()
    return bool(words) and words[0].rsplit('/', 1)[-1] in ('sftp-server', 'internal-sftp')


def exit_code(status):
    """A wait status as a shell exit code (signal n -> 128+n)."""
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def pty_argv(conf, command, session_id):
    base = [conf['tmux'], '-f', conf['tmux_conf'], 'new-session']
    if command:
        return base + ['-s', '%s-%s' % (conf['session_name'], session_id), '--', command]
    return base + ['-A', '-s', conf['session_name']]


def command_argv(conf, command, shell):
    if is_sftp(command):
        return [conf['sftp_server'], '-l', 'INFO', '-f', 'AUTHPRIV']
    if command:
        return [shell, '-c', command]
    return [shell]


def child_env(environ, term, session_id):
    env = {key: value for key, value in environ.items() if key not in ('TMUX', 'TMUX_PANE')}
    if term is not None:
        env['TERM'] = term
    if session_id:
        env['EPHI_SESSION_ID'] = session_id
    return env


# ---------------------------------------------------------------- system parts

def environ():
    """The environment as str, decoded as os.environ does (posix.environ holds bytes)."""
    return {key.decode('utf-8', 'surrogateescape'): value.decode('utf-8', 'surrogateescape')
            for key, value in os.environ.items()}


def log(priority, event, fields):
    syslog.openlog('ephi-session', syslog.LOG_PID, syslog.LOG_AUTHPRIV)
    syslog.syslog(priority, format_event(event, fields))


def load_conf(path):
    conf = dict(DEFAULTS)
    try:
        with open(path, encoding='utf-8') as fh:
            conf.update(loads(fh.read()))
    except (OSError, ValueError):
        pass
    return conf


def connect(conf, header, fds):
    """Send the header and fds; returns (reply dict, received fds, socket)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(REPLY_TIMEOUT)
    sock.connect(conf['socket'])
    data = (dumps(header) + '\n').encode()
    try:
        sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack('%di' % len(fds), *fds))])
    except (BrokenPipeError, ConnectionResetError):
        # The recorder refuses over a limit right after accept, before reading
        # anything, and closes: its answer is waiting to be read. Taking this
        # for "no recorder" would show the wrong reason, and with allow would
        # run the session unrecorded past the limit.
        pass
    buf, got = b'', []
    while b'\n' not in buf and len(buf) < 8192:
        # Close-on-exec: a command gets only the copies made on 0, 1 and 2.
        msg, anc, _flags, _addr = sock.recvmsg(8192, socket.CMSG_SPACE(16 * 4), socket.MSG_CMSG_CLOEXEC)
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                count = len(payload) // 4
                got.extend(struct.unpack('%di' % count, payload[:count * 4]))
        if not msg:
            break
        buf += msg
    reply = loads(buf.split(b'\n', 1)[0].decode('utf-8'))
    if not isinstance(reply, dict):
        raise ValueError('bad reply')
    return reply, got, sock


def exec_child(argv, env, fd, home, set_ctty):
    """In the forked child of a pty session: the pty slave fd becomes the
    controlling terminal (set_ctty: termios.TIOCSCTTY) and 0, 1, 2, and argv
    is executed."""
    try:
        for sig in CHILD_DEFAULT_SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        os.setsid()
        fcntl.ioctl(fd, set_ctty, 0)
        for target in (0, 1, 2):
            os.dup2(fd, target)
        os.closerange(3, 65536)
        try:
            os.chdir(home)
        except (OSError, TypeError):
            pass
        os.execve(argv[0], argv, env)
    except OSError as exc:
        os.write(2, ('ephi.safeguards: cannot run %s: %s\r\n' % (argv[0], exc.strerror)).encode())
    os._exit(127)  # pylint: disable=protected-access


def spawn_command(argv, env, fds, home):
    """Start a command session's child with posix_spawn (no copy of this
    process: every Ansible task through the gate is one): fds become 0, 1, 2
    (the received descriptors are close-on-exec, so only these copies reach
    the command), CHILD_DEFAULT_SIGNALS at their defaults, the home directory as
    its working directory, and a process group of its own: when the recorder
    ends the session (idle logoff), the hang-up and the kill reach what the
    command started too (bash -i without a terminal has no job control).
    Returns the pid, or None when the command could not start (said on fds[2])."""
    try:
        os.chdir(home)
    except (OSError, TypeError):
        pass
    actions = [(os.POSIX_SPAWN_DUP2, fd, target) for target, fd in enumerate(fds)]
    try:
        return os.posix_spawn(argv[0], argv, env, file_actions=actions, setpgroup=0,
                              setsigdef=CHILD_DEFAULT_SIGNALS)
    except OSError as exc:
        try:
            os.write(fds[2], ('ephi.safeguards: cannot run %s: %s\n' % (argv[0], exc.strerror)).encode())
        except OSError:
            pass
        return None


def end_child(pid, group, sig):
    """Signal the child, its whole process group when group (a pty session's
    session leader; a command, which runs in a group of its own)."""
    try:
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except OSError:
        pass


def wait_child(sock, pid, group):
    """Wait for the child while listening to the recorder. When the recorder ends
    the session (a line {"end": reason}) or is gone (the connection closes), the
    child is hung up, and killed KILL_AFTER s later: a program that ignores the
    hang-up (a lock program on the dead terminal) cannot keep the login open.
    Returns (wait status, what the recorder said: None, the end reason, or
    'recorder-gone'), and the bytes read after the last complete line."""
    ended, kill_at, buf = None, None, b''
    # A pidfd wakes the wait as soon as the child ends (every command session,
    # so every Ansible task, would otherwise wait up to a poll interval).
    try:
        waker = [os.pidfd_open(pid)]
    except (AttributeError, OSError):
        waker = []
    try:
        while True:
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except InterruptedError:
                continue
            if done:
                return status, ended, buf
            if kill_at is not None and time.monotonic() >= kill_at:
                end_child(pid, group, signal.SIGKILL)
                kill_at = time.monotonic() + 3600
            data = watch(sock if ended is None else None, waker)
            if data is None:
                continue
            buf += data
            if not data:
                ended = 'recorder-gone'
            while ended is None and b'\n' in buf:
                line, buf = buf.split(b'\n', 1)
                try:
                    msg = loads(line.decode('utf-8'))
                except (UnicodeDecodeError, ValueError):
                    continue
                if isinstance(msg, dict) and msg.get('end'):
                    ended = str(msg['end'])
            if ended is not None:
                end_child(pid, group, signal.SIGHUP)
                kill_at = time.monotonic() + KILL_AFTER
    finally:
        for fd in waker:
            os.close(fd)


def watch(sock, waker):
    """Wait until the child ends (the pidfd in waker is readable) or the
    recorder writes; returns what the recorder wrote (b'' when it is gone),
    None when nothing came from it (the child ended, or a timeout)."""
    try:
        ready, _w, _x = select.select(([sock] if sock is not None else []) + waker, [], [],
                                      0.05 if sock is None else 0.2)
        return sock.recv(4096) if sock is not None and sock in ready else None
    except (OSError, ValueError):
        return b'' if sock is not None else None


def run_relayed(sock, argv, env, fds, ctty, ids=(), home=None):
    """Run argv on the recorder's fds, report its status, wait for done; returns the exit code.
    ids: the session's (key, value) fields for the gate's own event; home: the working directory."""
    if ctty:
        # Imported here, in the parent, for pty sessions only (a module that
        # is not built in); the child only uses its constant.
        import termios  # pylint: disable=import-outside-toplevel
        pid = os.fork()
        if pid == 0:
            sock.close()
            exec_child(argv, env, fds[0], home, termios.TIOCSCTTY)
    else:
        pid = spawn_command(argv, env, fds, home)
    for fd in fds:
        os.close(fd)
    null = os.open('/dev/null', os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(null, target)
    os.close(null)
    if pid is None:
        code, ended, buf = 127, None, b''
    else:
        status, ended, buf = wait_child(sock, pid, True)
        code = exit_code(status)
    if ended == 'recorder-gone':
        # The relay died (killed, crashed): the user's side is ended above and
        # this is the only process left to say so.
        log(syslog.LOG_ERR, 'capture-lost', list(ids) + [('bytes', 'unknown'), ('reason', 'recorder-gone')])
        sock.close()
        return code
    try:
        sock.settimeout(DONE_TIMEOUT)
        sock.sendall(('{"exit":%d}\n' % code).encode())
        deadline = time.monotonic() + DONE_TIMEOUT
        while b'"done"' not in buf and time.monotonic() < deadline:
            sock.settimeout(max(deadline - time.monotonic(), 0.01))
            data = sock.recv(4096)
            if not data:
                break
            buf += data
    except OSError:
        pass
    sock.close()
    return code


def main(conf_path=CONF):
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the recorder hangs up the original terminal
    conf = load_conf(conf_path)
    env = environ()
    command = env.get('SSH_ORIGINAL_COMMAND')
    pty = os.isatty(0)
    try:
        entry = pwd.getpwuid(os.getuid())
        user, shell, home = entry.pw_name, entry.pw_shell or '/bin/sh', entry.pw_dir
    except KeyError:
        user, shell, home = 'uid%d' % os.getuid(), '/bin/sh', None
    ssh_connection = env.get('SSH_CONNECTION')
    if pty:
        header = {'v': 1, 'kind': 'pty', 'command': command, 'term': env.get('TERM'),
                  'ssh_connection': ssh_connection}
        fds = [0]
    else:
        header = {'v': 1, 'kind': 'command', 'command': command or '', 'ssh_connection': ssh_connection}
        fds = [0, 1, 2]
    term = choose_term(env.get('TERM'), conf['fallback_term']) if pty else None
    try:
        reply, got, sock = connect(conf, header, fds)
    except (OSError, ValueError) as exc:
        reason = 'no-recorder: %s' % (exc.strerror if isinstance(exc, OSError) and exc.strerror else exc)
        if conf.get('unrecordable') == 'allow':
            log(syslog.LOG_ERR, 'capture-lost', [('id', '-'), ('user', user), ('uid', os.getuid()), ('bytes', 0),
                                                 ('reason', reason)])
            argv = pty_argv(conf, command, 'unrecorded') if pty else command_argv(conf, command, shell)
            for sig in CHILD_DEFAULT_SIGNALS:
                signal.signal(sig, signal.SIG_DFL)
            os.execve(argv[0], argv, child_env(env, term, None))
        log(syslog.LOG_WARNING, 'session-refused', [('user', user), ('uid', os.getuid()), ('reason', reason)])
        sys.stderr.write('ephi.safeguards: this session cannot be recorded (the recorder is not reachable); '
                         'login refused\r\n')
        return 1
    if not reply.get('ok'):
        for fd in got:
            os.close(fd)
        sys.stderr.write('%s\r\n' % reply.get('message', 'ephi.safeguards: session refused'))
        return 1
    session_id = str(reply.get('id', ''))
    if pty:
        if len(got) != 1:
            return 1
        argv = pty_argv(conf, command, session_id)
    else:
        if len(got) != 3:
            return 1
        argv = command_argv(conf, command, shell)
    return run_relayed(sock, argv, child_env(env, term, session_id), got, pty,
                       [('id', session_id), ('user', user), ('uid', os.getuid())], home)


if __name__ == '__main__':
    sys.exit(main())
