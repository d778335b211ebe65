"""Features switched off leave the host, and come back when switched on.

The role's removal steps (tasks/remove.yml, one include that a host with
every feature on skips as one task) run when a variable turns a feature
off: the policy enforcer (tmux_live_mode audit), the autostart script
(tmux_autostart false) and the logind idle logoff (tmux_session_idle_logoff
0). A converge with those values takes them off the host; the scenario's
own converge puts them back. (Capture switched off is tested in the site
scenario, test_site_capture_off.py; the session gate's removal changes sshd
and is not tested here.)
"""

from ephi_testlib import run_converge

ENFORCER = "ephi-tmux-enforcer.service"
GONE = ["/etc/systemd/system/" + ENFORCER, "/etc/profile.d/ephi-tmux-autostart.sh",
        "/etc/systemd/logind.conf.d/ephi-idle-logoff.conf"]


IDLE = ("busctl get-property org.freedesktop.login1 /org/freedesktop/login1 "
        "org.freedesktop.login1.Manager StopIdleSessionUSec")


def present(host):
    return [path for path in GONE if host.file(path).exists]


def test_switched_off_features_leave_the_host_and_come_back(host):
    assert present(host) == GONE
    assert host.service(ENFORCER).is_running
    assert host.check_output(IDLE) == "t 30000000"   # the converge's 20 s + 10
    off = run_converge(host, {"tmux_live_mode": "audit", "tmux_autostart": False, "tmux_session_idle_logoff": 0},
                       timeout=600)
    assert off.returncode == 0, off.stdout[-3000:] + off.stderr[-2000:]
    try:
        assert present(host) == [], off.stdout[-3000:]
        assert not host.service(ENFORCER).is_running
        # systemd-logind re-read its configuration: no idle logoff any more.
        assert host.check_output(IDLE) != "t 30000000"
    finally:
        back = run_converge(host, timeout=600)
    assert back.returncode == 0, back.stdout[-3000:] + back.stderr[-2000:]
    assert present(host) == GONE
    assert host.service(ENFORCER).is_running
    assert host.check_output(IDLE) == "t 30000000"
