"""tmux_capture: false switches session capture off for real (security issue 10).

Before, turning the variable off left the hooks and the collector in place,
so capture went on while the evidence said "not applicable". Runs after
test_site.py (file order) on the converged instances:

1. verify with tmux_capture=false while capture is still installed: the
   capture control fails and names what is still in place;
2. site.yml --tags tmux with tmux_capture=false: hooks leave /etc/tmux.conf
   and a running user server, the collector socket stops, units and programs
   are removed;
3. verify with tmux_capture=false: the capture control is "not applicable"
   and the lock policy still passes.
"""

import os
import subprocess

import pytest
import testinfra
from testinfra.utils.ansible_runner import AnsibleRunner

from test_site import TMUX_USER, name, verify

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SITE = os.path.join(REPO, "playbooks", "site.yml")
OFF = ("-e", "tmux_capture=false", "-e", "ephi_report_fail_on_findings=false")


@pytest.fixture(scope="module")
def capture_off(request, tmp_path_factory):
    # A running server of a user on each host, started while capture is on
    # (it has the capture hooks), which the converge must clean as that user.
    targets = [testinfra.get_host("ansible://" + h, ansible_inventory=request.config.option.ansible_inventory)
               for h in AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("all")]
    for target in targets:
        target.check_output("runuser -u %s -- tmux new-session -d -s before-off" % TMUX_USER)
        assert "ephi-capture-client" in target.check_output("runuser -u %s -- tmux show-hooks -g" % TMUX_USER)
    before = verify(tmp_path_factory.mktemp("verify-capture-off-before"), "--tags", "tmux", *OFF)
    env = dict(os.environ, ANSIBLE_NOCOLOR="1")
    converge = subprocess.run(["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], SITE,
                               "--tags", "tmux", "-e", "tmux_capture=false"],
                              capture_output=True, text=True, env=env, timeout=1200, check=False)
    after = verify(tmp_path_factory.mktemp("verify-capture-off-after"), "--tags", "tmux", *OFF)
    yield before, converge, after
    for target in targets:
        target.run("runuser -u %s -- tmux kill-server" % TMUX_USER)


def by_id(run, host):
    return {r["id"]: r for r in run.records(name(host))}


def test_capture_off_is_removed_and_the_evidence_says_so(host, capture_off):
    before, converge, after = capture_off
    # 1. Still installed: not "not applicable".
    control = by_id(before, host)["tmux-session-capture"]
    assert control["status"] == "fail", control
    assert "still in place" in control["observed"] and "collector socket active" in control["observed"], control

    # 2. The converge took it all away.
    assert converge.returncode == 0, converge.stdout[-3000:] + converge.stderr[-2000:]
    assert "set-hook" not in host.file("/etc/tmux.conf").content_string
    assert host.run("systemctl is-active ephi-capture.socket").stdout.strip() != "active"
    for path in ("/etc/systemd/system/ephi-capture.socket", "/etc/systemd/system/ephi-capture@.service",
                 "/etc/ephi-capture.json", "/usr/local/lib/ephi-safeguards/ephi-capture-collector"):
        assert not host.file(path).exists, path
    hooks = host.check_output("runuser -u %s -- tmux show-hooks -g" % TMUX_USER)
    assert "ephi-capture-client" not in hooks and "ephi-tmux-event" not in hooks, hooks

    # 3. Evidence: off, and shown to be off.
    controls = by_id(after, host)
    assert controls["tmux-session-capture"]["status"] == "not_applicable", controls["tmux-session-capture"]
    assert "removed" in controls["tmux-session-capture"]["observed"]
    for cid in ("tmux-lock-policy", "tmux-live-servers", "tmux-autostart", "tmux-not-a-shell"):
        assert controls[cid]["status"] == "pass", controls[cid]
