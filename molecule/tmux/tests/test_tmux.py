"""Behaviour of the hardened tmux role on a converged instance.

Each test drives real tmux servers and real logins (su for a console login,
ssh to the instance's own sshd for SSH logins) from an "outer" tmux server of
root's that gives them a terminal, and reads what happened from the processes
and servers, not from configuration text. The converge sets
tmux_lock_after_time to 4 s (molecule/tmux/converge.yml).
"""

import uuid

import pytest

from ephi_testlib import (LOCK_AFTER, LOCK_COMMAND, SCP, SSH, TMUX_POLICY, close_terminals, enforcer_paused, kill_users,
                          login_in_terminal, screen, tmux_settings, type_line, wait_for)


def user_tmux(host, user, args):
    return host.run("runuser -u %s -- tmux %s" % (user, args))


def sessions(host, user):
    """Session name -> number of attached clients of the user's default server."""
    out = user_tmux(host, user, "list-sessions -F '#{session_name} #{session_attached}'")
    if out.rc != 0:
        return {}
    return {name: int(n) for name, n in (line.split() for line in out.stdout.splitlines() if line.strip())}


def has_server(host, user):
    return user_tmux(host, user, "list-sessions").rc == 0


@pytest.fixture(autouse=True)
def cleanup(host):
    yield
    close_terminals(host)
    kill_users(host, "ephi-alice", "ephi-bob", "ephi-carol", "ephi-dave")


def test_tmux_and_vlock_installed(host):
    assert host.package("tmux").is_installed
    assert host.package("vlock").is_installed
    assert host.file("/usr/sbin/vlock-main").mode & 0o4000, "vlock-main is not setuid root"
    plugin = host.file("/usr/lib/vlock/scripts/ephi-tmux-event")
    assert (plugin.user, plugin.group, plugin.mode) == ("root", "root", 0o755)


def test_fresh_server_runs_with_the_enforced_settings(host):
    # ephi-carol has no ~/.tmux.conf: a new server gets exactly the policy.
    assert user_tmux(host, "ephi-carol", "-L probe new-session -d -s probe").rc == 0
    try:
        assert user_tmux(host, "ephi-carol", "-L probe show-options -gv lock-after-time").stdout.strip() == str(LOCK_AFTER)
        assert user_tmux(host, "ephi-carol", "-L probe show-options -gv lock-command").stdout.strip() == LOCK_COMMAND
        assert user_tmux(host, "ephi-carol", "-L probe show-options -gv history-limit").stdout.strip() == "5000"
        assert "lock-session" in user_tmux(host, "ephi-carol", "-L probe list-keys -T prefix X").stdout
    finally:
        user_tmux(host, "ephi-carol", "-L probe kill-server")


def test_console_login_lands_in_tmux_and_idle_client_gets_locked(host):
    login_in_terminal(host, "alice", "su - ephi-alice")
    # The login shell's profile started tmux and attached to the session.
    assert wait_for(lambda: sessions(host, "ephi-alice").get("main") == 1), screen(host, "alice")
    # Idle for longer than lock-after-time: tmux runs vlock-main for the client
    # (setuid root: its real uid is the user's, hence pgrep -U).
    locked = wait_for(lambda: host.run("pgrep -U ephi-alice -x vlock-main").rc == 0, timeout=LOCK_AFTER + 20)
    assert locked, screen(host, "alice")
    assert "locked" in screen(host, "alice").lower()


def test_second_login_reattaches_instead_of_multiplying_sessions(host):
    login_in_terminal(host, "alice1", "su - ephi-alice")
    assert wait_for(lambda: sessions(host, "ephi-alice").get("main") == 1)
    login_in_terminal(host, "alice2", "su - ephi-alice")
    assert wait_for(lambda: sessions(host, "ephi-alice").get("main") == 2)
    assert list(sessions(host, "ephi-alice")) == ["main"]


def test_non_interactive_login_shell_is_not_wrapped(host):
    out = host.check_output("su - ephi-alice -c 'echo tmux=[${TMUX:-}]'")
    assert out.strip() == "tmux=[]"
    assert not has_server(host, "ephi-alice")


def test_ssh_command_scp_and_interactive_ssh(host):
    # `ssh host command` runs the command directly, with or without a tty.
    out = host.check_output("%s ephi-carol@127.0.0.1 'echo tmux=[${TMUX:-}]'" % SSH)
    assert out.strip() == "tmux=[]"
    out = host.check_output("%s -tt ephi-carol@127.0.0.1 'echo tmux=[${TMUX:-}]'" % SSH)
    assert "tmux=[]" in out
    # File transfer is untouched.
    host.check_output("%s /etc/hostname ephi-carol@127.0.0.1:/tmp/scp-probe" % SCP)
    assert not has_server(host, "ephi-carol")
    # An interactive SSH login lands in tmux.
    login_in_terminal(host, "carol", "%s -tt ephi-carol@127.0.0.1" % SSH)
    assert wait_for(lambda: sessions(host, "ephi-carol").get("main") == 1), screen(host, "carol")


def test_exempt_user_gets_a_plain_shell(host):
    login_in_terminal(host, "dave", "su - ephi-dave")
    token = uuid.uuid4().hex
    # Positive control: the login is interactive and answers...
    assert wait_for(lambda: "$" in screen(host, "dave"))
    type_line(host, "dave", "echo %s-[${TMUX:-}]" % token)
    assert wait_for(lambda: "%s-[]" % token in screen(host, "dave")), screen(host, "dave")
    # ...and no tmux server was started for it.
    assert not has_server(host, "ephi-dave")


def test_tmux_is_not_a_login_shell(host):
    shells = host.file("/etc/shells").content_string.split()
    assert shells, "/etc/shells is empty"
    assert not [s for s in shells if s.endswith("/tmux")]
    assert "/bin/bash" in shells


def test_user_override_is_drift_audited_then_enforced(host):
    # The enforcer would put the policy back within seconds: paused, so that
    # the module's own audit and enforce are what this test sees.
    with enforcer_paused(host):
        # ephi-bob's ~/.tmux.conf sets lock-after-time 0; his server runs with it.
        assert user_tmux(host, "ephi-bob", "new-session -d -s work").rc == 0
        assert user_tmux(host, "ephi-bob", "show-options -gv lock-after-time").stdout.strip() == "0"

        audit = tmux_settings(host, "audit", **TMUX_POLICY)
        bob = [d for d in audit["drift"] if d["user"] == "ephi-bob"]
        assert [(d["option"], str(d["found"]), str(d["wanted"])) for d in bob] == [("lock-after-time", "0", str(LOCK_AFTER))]
        assert audit["changed"] is False
        # Audit changed nothing in the running server.
        assert user_tmux(host, "ephi-bob", "show-options -gv lock-after-time").stdout.strip() == "0"

        enforce = tmux_settings(host, "enforce", **TMUX_POLICY)
        assert enforce["changed"] is True
        assert user_tmux(host, "ephi-bob", "show-options -gv lock-after-time").stdout.strip() == str(LOCK_AFTER)

        again = tmux_settings(host, "audit", **TMUX_POLICY)
        assert [d for d in again["drift"] if d["user"] == "ephi-bob"] == []
