"""Gated sessions without a pty (issue 12, part 2): the idle logoff.

`ssh -T host bash -i` (an interactive shell without a pty) and `ssh -T host`
are command sessions: the recorder relays and records them on pipes, and no
tmux lock applies. The recorder logs such a session off when neither input
nor output has flowed for `command_idle_logoff` seconds
(tmux_session_command_idle_logoff), with the same idle-logoff event and end
reason as a pty session; a command that keeps writing is not ended. The logins
are real (root's ssh to 127.0.0.1 in a window of its outer tmux server).

The role's default (1800 s) is far above what a test can wait, and the
scenario must not log off its own silent Ansible tasks: the test sets a short
value in /etc/ephi-session.json (the acceptor reads it at each new session)
and puts the role's file back afterwards.
"""

import contextlib
import time

import pytest

from ephi_testlib import (FLOODER, GATED_USER, SSH, exit_status, gated_users_clean, new_sessions, screen,
                          session_config, session_end, session_events, session_ids, terminal, wait_for)

USER = GATED_USER
CONFIG = "/etc/ephi-session.json"
SAVED = "/root/.ephi-session.json.test-saved"
IDLE = 15


pytestmark = pytest.mark.usefixtures(gated_users_clean.__name__)


@contextlib.contextmanager
def command_idle_logoff(host, seconds):
    """The recorder's command_idle_logoff set to SECONDS for new sessions; the
    role's file restored (owner, mode and content) afterwards."""
    assert host.run("cp -p %s %s" % (CONFIG, SAVED)).rc == 0
    try:
        edit = ("import json, os; c = json.load(open('{0}')); c['command_idle_logoff'] = {1}; "
                "f = open('{0}.new', 'w'); json.dump(c, f); f.close(); os.chmod('{0}.new', 0o644); "
                "os.rename('{0}.new', '{0}')").format(CONFIG, seconds)
        assert host.run("python3 -c \"%s\"" % edit).rc == 0
        yield
    finally:
        host.run("mv %s %s" % (SAVED, CONFIG))


def start(host, window, user, command):
    """`ssh -T user@127.0.0.1 COMMAND` (no pty) in terminal WINDOW; its session-start event."""
    before = session_ids(host, user)
    terminal(host, window, "%s -T %s@127.0.0.1 %s" % (SSH, user, command))
    started = new_sessions(host, user, before, kind="command")
    assert len(started) == 1, (started, screen(host, window))
    return started[0]


def test_shell_without_a_pty_idle_is_logged_off_and_a_busy_command_is_not(host):
    # The role templates the key (its default); the scenario's Ansible keeps it.
    assert session_config(host)["command_idle_logoff"] == 1800, session_config(host)
    with command_idle_logoff(host, IDLE):
        quiet = start(host, "quiet", USER, "bash -i")
        # Prints a line every 5 s, reads nothing: output alone keeps it alive.
        busy = start(host, "busy", FLOODER, "'while sleep 5; do echo tick; done'")
        started = time.monotonic()
        logged_off = wait_for(lambda: session_events(host, event="idle-logoff", id=quiet["id"]), timeout=IDLE + 30)
        assert logged_off, (screen(host, "quiet"), session_events(host, id=quiet["id"]))
        assert int(logged_off[0]["idle"]) == IDLE, logged_off
        # The busy one has run longer than IDLE by now and is still there.
        time.sleep(max(0.0, started + IDLE + 3 - time.monotonic()))
        assert session_events(host, event="idle-logoff", id=busy["id"]) == []
        assert exit_status(host, "busy") is None, screen(host, "busy")
        assert "tick" in screen(host, "busy"), screen(host, "busy")
    # The quiet client was told on stderr, and its ssh ended.
    assert wait_for(lambda: exit_status(host, "quiet") is not None), screen(host, "quiet")
    assert "logged off after %d s without input or output" % IDLE in screen(host, "quiet"), screen(host, "quiet")
    end = session_end(host, quiet["id"])
    assert end and end["reason"] == "idle-logoff", end
