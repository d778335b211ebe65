"""Features switched off leave the host, and come back when switched on.

The role's removal steps (tasks/remove.yml, one include that a host with
every feature on skips as one task) run when a variable turns a feature
off: the policy enforcer (tmux_live_mode audit), the autostart script
(tmux_autostart false), the logind idle logoff (tmux_session_idle_logoff
0) and the session gate (tmux_session_gate false: sshd's drop-in, the shell
hooks, the recorder and its programs). A converge with those values takes
them off the host; the scenario's own converge puts them back. Both are
seen from outside: a login of ephi-dave (not exempt) over SSH runs in a
gate session (EPHI_SESSION_ID set, a session-start event) or, with the
gate off, does not. (Capture switched off is tested in the site scenario,
test_site_capture_off.py.)
"""

from ephi_testlib import SSH, run_converge, session_events, wait_for

ENFORCER = "ephi-tmux-enforcer.service"
RECORDER = "ephi-session.socket"
GONE = ["/etc/systemd/system/" + ENFORCER, "/etc/profile.d/ephi-tmux-autostart.sh",
        "/etc/systemd/logind.conf.d/ephi-idle-logoff.conf",
        "/etc/ssh/sshd_config.d/01-ephi-session-gate.conf", "/usr/local/lib/ephi-safeguards/ephi-session-gate",
        "/etc/systemd/system/" + RECORDER, "/etc/systemd/system/ephi-session-recorder.service"]
HOOK = "ephi.safeguards:tmux session gate"


IDLE = ("busctl get-property org.freedesktop.login1 /org/freedesktop/login1 "
        "org.freedesktop.login1.Manager StopIdleSessionUSec")


def present(host):
    return [path for path in GONE if host.file(path).exists]


def login_session_id(host):
    """ephi-dave's `ssh host command`: the gate's session id, empty without the gate."""
    out = host.check_output("%s ephi-dave@127.0.0.1 'echo sid=[${EPHI_SESSION_ID:-}]'" % SSH)
    return out.strip().rsplit("sid=[", 1)[-1].rstrip("]")


def gate_is_on(host):
    assert host.service(RECORDER).is_running
    assert HOOK in host.file("/etc/bash.bashrc").content_string
    sid = login_session_id(host)
    assert sid
    # The recorder logged that session.
    assert wait_for(lambda: session_events(host, event="session-start", user="ephi-dave", id=sid)), sid


def test_switched_off_features_leave_the_host_and_come_back(host):
    assert present(host) == GONE
    assert host.service(ENFORCER).is_running
    assert host.check_output(IDLE) == "t 30000000"   # the converge's 20 s + 10
    gate_is_on(host)
    off = run_converge(host, {"tmux_live_mode": "audit", "tmux_autostart": False, "tmux_session_idle_logoff": 0,
                              "tmux_session_gate": False}, timeout=600)
    assert off.returncode == 0, off.stdout[-3000:] + off.stderr[-2000:]
    try:
        assert present(host) == [], off.stdout[-3000:]
        assert not host.service(ENFORCER).is_running
        # systemd-logind re-read its configuration: no idle logoff any more.
        assert host.check_output(IDLE) != "t 30000000"
        # sshd was reloaded without the gate: a new login is no gate session.
        assert login_session_id(host) == ""
        assert not host.service(RECORDER).is_running
        assert HOOK not in host.file("/etc/bash.bashrc").content_string
    finally:
        back = run_converge(host, timeout=600)
    assert back.returncode == 0, back.stdout[-3000:] + back.stderr[-2000:]
    assert present(host) == GONE
    assert host.service(ENFORCER).is_running
    assert host.check_output(IDLE) == "t 30000000"
    gate_is_on(host)
