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
   and the lock policy (and the enforcer that keeps it in running servers)
   still passes.

The same converge also runs the SSH key policy (--tags tmux,ssh_key_policy)
on hosts where the only difference is a key store file of a user no longer
declared: the role's probe lists the store, so the re-run plans the file's
removal (and audits the keys before it) without a key audit on every run
(issue 15), and removes it behind the lockout protection.
"""

import os
import re

import pytest

from ephi_testlib import REPO, SITE_TMUX_USER, host_by_name, inventory_hosts, name, run_playbook, verify

SITE = os.path.join(REPO, "playbooks", "site.yml")
OFF = ("-e", "tmux_capture=false", "-e", "ephi_report_fail_on_findings=false")
# A store file of an account that ssh_key_policy_users does not declare.
GHOST = "/etc/ssh/authorized_keys/ephi-ghost"


@pytest.fixture(scope="module")
def capture_off(request, tmp_path_factory):
    # A running server of a user on each host, started while capture is on
    # (it has the capture hooks), which the converge must clean as that user.
    targets = [host_by_name(request, h) for h in inventory_hosts("all")]
    for target in targets:
        target.check_output("runuser -u %s -- tmux new-session -d -s before-off" % SITE_TMUX_USER)
        assert "ephi-capture-client" in target.check_output("runuser -u %s -- tmux show-hooks -g" % SITE_TMUX_USER)
    before = verify(tmp_path_factory.mktemp("verify-capture-off-before"), "--tags", "tmux", *OFF)
    for target in targets:
        target.check_output("printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhvc3Q ghost\\n' > %s && chmod 0644 %s" % (GHOST, GHOST))
    converge = run_playbook(SITE, "--tags", "tmux,ssh_key_policy", "-e", "tmux_capture=false", callback="default", timeout=1200)
    after = verify(tmp_path_factory.mktemp("verify-capture-off-after"), "--tags", "tmux", *OFF)
    yield before, converge, after
    for target in targets:
        target.run("runuser -u %s -- tmux kill-server" % SITE_TMUX_USER)


def test_capture_off_is_removed_and_the_evidence_says_so(host, capture_off):
    before, converge, after = capture_off
    # 1. Still installed: not "not applicable".
    control = before.by_id(name(host))["tmux-session-capture"]
    assert control["status"] == "fail", control
    assert "still in place" in control["observed"] and "collector socket active" in control["observed"], control

    # 2. The converge took it all away.
    assert converge.returncode == 0, converge.stdout[-3000:] + converge.stderr[-2000:]
    assert "set-hook" not in host.file("/etc/tmux.conf").content_string
    assert host.run("systemctl is-active ephi-capture.socket").stdout.strip() != "active"
    for path in ("/etc/systemd/system/ephi-capture.socket", "/etc/systemd/system/ephi-capture@.service",
                 "/etc/ephi-capture.json", "/usr/local/lib/ephi-safeguards/ephi-capture-collector"):
        assert not host.file(path).exists, path
    hooks = host.check_output("runuser -u %s -- tmux show-hooks -g" % SITE_TMUX_USER)
    assert "ephi-capture-client" not in hooks and "ephi-tmux-event" not in hooks, hooks

    # 3. Evidence: off, and shown to be off.
    controls = after.by_id(name(host))
    assert controls["tmux-session-capture"]["status"] == "not_applicable", controls["tmux-session-capture"]
    assert "removed" in controls["tmux-session-capture"]["observed"]
    # The enforcer was restarted with the policy without capture hooks.
    for cid in ("tmux-lock-policy", "tmux-live-servers", "tmux-autostart", "tmux-not-a-shell", "tmux-policy-enforcer"):
        assert controls[cid]["status"] == "pass", controls[cid]


def test_a_store_file_of_a_user_no_longer_declared_is_removed_on_a_re_run(host, capture_off):
    dummy, converge, dummy = capture_off
    assert converge.returncode == 0, converge.stdout[-3000:] + converge.stderr[-2000:]
    assert not host.file(GHOST).exists
    # The declared accounts' store files are still there.
    assert host.file("/etc/ssh/authorized_keys/ephi-admin").exists
    removal = re.findall(r"TASK \[[^\]]*apply \| Remove the store files of users no longer declared\].*?(?=\nTASK |\Z)",
                         converge.stdout, re.S)
    assert removal and "changed: [%s] => (item=ephi-ghost)" % name(host) in removal[0], converge.stdout[-3000:]
