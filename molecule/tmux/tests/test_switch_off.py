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
gate off, does not. In between, the role's verify with the same values
examines the host with the gate off (the session gate audit's probe alone,
no chain check). (Capture switched off is tested in the site scenario,
test_site_capture_off.py.)
"""

import json

import yaml

from ephi_testlib import SSH, by_id, run_converge, scenario_path, session_events, verify_controls, wait_for

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


OFF = {"tmux_live_mode": "audit", "tmux_autostart": False, "tmux_session_idle_logoff": 0, "tmux_session_gate": False}


def verify_switched_off(host):
    """The role's verify entry point with the converge's variables and OFF; its records by id."""
    with open(scenario_path("converge.yml")) as fh:
        variables = dict(yaml.safe_load(fh)[0]["tasks"][0]["vars"], **OFF)
    return by_id(verify_controls(host, scenario_path("verify_play.yml"), "tmux_verify_controls",
                                 "-e", json.dumps(variables)))


def test_switched_off_features_leave_the_host_and_come_back(host):
    assert present(host) == GONE
    assert host.service(ENFORCER).is_running
    assert host.check_output(IDLE) == "t 30000000"   # the converge's 20 s + 10
    gate_is_on(host)
    off = run_converge(host, OFF, timeout=600)
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
        # verify with the gate off: the probe answered without the gate's audit (the lock program and
        # /etc/shells were examined), the gate's own controls say it is off, the chain check does not apply.
        controls = verify_switched_off(host)
        for control in ("tmux-lock-policy", "tmux-not-a-shell"):
            assert controls[control]["status"] == "pass", controls[control]
        for control in ("tmux-audit-chain", "tmux-session-exemptions", "tmux-autostart"):
            assert controls[control]["status"] == "not_applicable", controls[control]
        for control in ("tmux-session-gate", "tmux-session-recorder"):
            assert controls[control]["status"] == "fail", controls[control]
            assert controls[control]["observed"].startswith("session gate disabled by tmux_session_gate: ")
    finally:
        back = run_converge(host, timeout=600)
    assert back.returncode == 0, back.stdout[-3000:] + back.stderr[-2000:]
    assert present(host) == GONE
    assert host.service(ENFORCER).is_running
    assert host.check_output(IDLE) == "t 30000000"
    gate_is_on(host)
