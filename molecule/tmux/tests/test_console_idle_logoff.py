"""Idle logoff of logins that do not go through the SSH session gate.

A console login (`login -f`, what getty runs after the password) and an
`su - user` on a terminal get no recorder relay: systemd-logind logs them off
(StopIdleSessionSec, tmux_session_idle_logoff + 10 s; roles/tmux/tasks/
activate.yml). The logins here run on a real pty, started by root through
systemd-run, so that they are outside every existing logind session (as
getty's are) and pam_systemd registers a tty session for each; root's driver
holds the pty master and types only what a step says (like a terminal).

One idle wait for both: ephi-alice's console login lands in tmux, whose status
line keeps writing to the terminal, and is left alone; ephi-dave (exempt from
the tmux autostart: a plain shell) first tries to get around the logoff as a
user can, then goes idle. The converge sets tmux_session_idle_logoff to 20 s.
"""

import base64
import re
import uuid

import pytest

from ephi_testlib import kill_users, sh_quote, wait_for

IDLE = 20
LOGIND_MARGIN = 10
DRIVER = "/run/ephi-test-console-driver.py"

# Root's side of the terminal: forks a pty, runs the login command on it,
# appends everything shown to LOG, types the contents of LOG.type when that
# file appears (root-owned, in /run), and appends "ephi-end <seconds since
# the last typed input> <wait status>" when the login ends.
DRIVER_SOURCE = r'''
import os, pty, select, sys, time
log = open(sys.argv[1], 'ab', buffering=0)
typed = sys.argv[1] + '.type'
pid, fd = pty.fork()
if pid == 0:
    os.environ['TERM'] = 'xterm'
    os.execvp(sys.argv[2], sys.argv[2:])
last = time.monotonic()
while True:
    try:
        ready = select.select([fd], [], [], 0.3)[0]
        if ready:
            data = os.read(fd, 4096)
            if not data:
                break
            log.write(data)
        if os.path.exists(typed):
            with open(typed, 'rb') as f:
                data = f.read()
            os.unlink(typed)
            os.write(fd, data.replace(b'\n', b'\r'))
            last = time.monotonic()
    except OSError:
        break
status = os.waitpid(pid, 0)[1]
log.write(b'\nephi-end %.1f %d\n' % (time.monotonic() - last, status))
'''


def start_login(host, unit, log, command):
    host.run("rm -f %s %s.type" % (log, log))
    out = host.run("systemd-run --quiet --collect --unit=%s /usr/bin/python3 -I %s %s %s" % (unit, DRIVER, log, command))
    assert out.rc == 0, out.stderr


def shown(host, log):
    return host.run("cat %s" % log).stdout


def type_text(host, log, text):
    host.check_output("printf '%%s\\n' %s > %s.tmp && mv %s.tmp %s.type" % (sh_quote(text), log, log, log))


def tty_sessions(host, user):
    """USER's logind sessions that have a tty: session id -> tty."""
    found = {}
    for line in host.run("loginctl list-sessions --no-legend").stdout.splitlines():
        sid = line.split()[0] if line.split() else ""
        if not sid:
            continue
        props = dict(p.partition("=")[::2] for p in
                     host.run("loginctl show-session %s -p Name -p TTY -p Type" % sid).stdout.splitlines())
        if props.get("Name") == user and props.get("TTY") and props.get("Type") == "tty":
            found[sid] = props["TTY"]
    return found


@pytest.fixture
def logins(host):
    token = uuid.uuid4().hex[:8]
    names = {
        "alice": ("ephi-test-console-alice-%s" % token, "/run/ephi-test-console-alice-%s.log" % token),
        "dave": ("ephi-test-console-dave-%s" % token, "/run/ephi-test-console-dave-%s.log" % token),
    }
    host.check_output("printf '%%s' %s | base64 -d > %s" % (base64.b64encode(DRIVER_SOURCE.encode()).decode(), DRIVER))
    yield names
    for unit, log in names.values():
        host.run("systemctl stop %s; rm -f %s %s.type %s.tmp" % (unit, log, log, log))
    host.run("rm -f %s /etc/systemd/logind.conf.d/zz-ephi-dave.conf" % DRIVER)
    kill_users(host, "ephi-alice", "ephi-dave")


def test_idle_console_and_su_logins_are_logged_off_whatever_the_user_tries(host, logins):
    # logind runs with the role's time (the recorder's + 10 s).
    usec = host.check_output("busctl get-property org.freedesktop.login1 /org/freedesktop/login1 "
                             "org.freedesktop.login1.Manager StopIdleSessionUSec")
    assert usec.split() == ["t", str((IDLE + LOGIND_MARGIN) * 1000000)]

    alice_unit, alice_log = logins["alice"]
    dave_unit, dave_log = logins["dave"]
    since = host.check_output("date +%s")
    start_login(host, alice_unit, alice_log, "login -f ephi-alice")
    start_login(host, dave_unit, dave_log, "su - ephi-dave")

    # Positive controls: each login is a logind tty session on its pty, and
    # ephi-alice's console login is in tmux (the autostart), whose status
    # line writes to the terminal.
    assert wait_for(lambda: tty_sessions(host, "ephi-alice")), shown(host, alice_log)
    assert wait_for(lambda: tty_sessions(host, "ephi-dave")), shown(host, dave_log)
    assert wait_for(lambda: host.run("runuser -u ephi-alice -- tmux has-session -t main").rc == 0), shown(host, alice_log)
    assert wait_for(lambda: "$" in shown(host, dave_log)), shown(host, dave_log)

    # ephi-dave tries to switch the logoff off as a user can: write a logind
    # drop-in, tell logind he is not idle, change its setting over D-Bus,
    # make it re-read its configuration; then a fresh shell without TMOUT.
    attempts = ("echo StopIdleSessionSec=infinity > /etc/systemd/logind.conf.d/zz-ephi-dave.conf; echo ephi-w=$?; "
                "busctl call org.freedesktop.login1 /org/freedesktop/login1/session/auto "
                "org.freedesktop.login1.Session SetIdleHint b false; echo ephi-h=$?; "
                "busctl set-property org.freedesktop.login1 /org/freedesktop/login1 "
                "org.freedesktop.login1.Manager StopIdleSessionUSec t 0; echo ephi-p=$?; "
                "kill -HUP $(pgrep -x systemd-logind); echo ephi-k=$?; "
                "unset TMOUT; exec env -u TMOUT bash --norc")
    type_text(host, dave_log, attempts)
    # (The terminal also echoes the typed line, with "ephi-w=$?".)
    assert wait_for(lambda: re.search(r"ephi-k=\d", shown(host, dave_log))), shown(host, dave_log)
    screen = shown(host, dave_log)
    statuses = dict(re.findall(r"ephi-([whpk])=(\d+)", screen))
    assert sorted(statuses) == ["h", "k", "p", "w"], screen[-2000:]
    assert "0" not in statuses.values(), (statuses, screen[-2000:])
    assert not host.file("/etc/systemd/logind.conf.d/zz-ephi-dave.conf").exists

    # The one idle wait: nobody types; both logins must end, logged off by
    # logind: not before the idle time after the last input (the driver
    # measures it), within the role's time + slack.
    def ended():
        return all(host.run("systemctl -q is-active %s" % unit).rc != 0 for unit in (alice_unit, dave_unit))
    logged_off = wait_for(ended, timeout=IDLE + LOGIND_MARGIN + 20, interval=1)
    assert logged_off, (shown(host, alice_log)[-1500:], shown(host, dave_log)[-1500:])
    for log in (alice_log, dave_log):
        end = shown(host, log).rsplit("ephi-end ", 1)
        assert len(end) == 2, shown(host, log)[-1500:]
        idle_for = float(end[1].split()[0])
        assert idle_for >= IDLE, (log, idle_for)

    journal = host.check_output("journalctl -u systemd-logind --since @%s --no-pager" % since)
    for user in ("ephi-alice", "ephi-dave"):
        assert 'of user "%s" is idle, stopping' % user in journal, journal
        assert not tty_sessions(host, user)
    # Stopping the session stopped what ran in it: ephi-alice's tmux server too.
    assert host.run("runuser -u ephi-alice -- tmux has-session -t main").rc != 0
