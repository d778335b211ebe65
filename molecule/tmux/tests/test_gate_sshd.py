"""The lockout protection of the session gate's sshd drop-in (roles/tmux/tasks/gate_sshd.yml).

The drop-in goes live only if sshd's effective configuration, read before the
reload, keeps the gate's promise for every exempt account and for Ansible's
own account and a name that cannot exist (session_gate_audit's sshd check; every
run makes the same decision from its probe's sshd -T answers, the second test). Here a drop-in read before the gate's sets
its own ForceCommand for the name that cannot exist (sshd keeps the first
value): the run must fail at the check, put the previous drop-in back at once
(not after the dead-man switch's 120 s), leave no armed switch and log the
rollback. A drop-in changed on the host is planned and put back (the third
test: the role's probe compares it with the template's rendering).
"""

import textwrap
import time

from ephi_testlib import name, run_converge, run_playbook

DROPIN = "/etc/ssh/sshd_config.d/01-ephi-session-gate.conf"
EARLIER = "/etc/ssh/sshd_config.d/00-ephi-test-earlier.conf"
PROBE_USER = "ephi-gate-probe-no-such-user"


def test_a_drop_in_that_defeats_the_gate_is_rolled_back_at_once(host, tmp_path):
    before = host.file(DROPIN).content_string
    start = host.check_output("date +%s").strip()
    play = tmp_path / "gate-sshd.yml"
    play.write_text(textwrap.dedent("""\
        - name: Make the gate's drop-in live (the role's lockout-protected steps only)
          hosts: all
          become: true
          gather_facts: false
          tasks:
            - name: Gate drop-in
              ansible.builtin.include_role:
                name: ephi.safeguards.tmux
                tasks_from: gate_sshd
              vars:
                tmux_session_gate_exempt_users:
                  - name: ephi-carol
                    reason: tests the profile.d autostart of an exempt account over SSH
        """))
    host.run("printf 'Match User %s\\n    ForceCommand /bin/true\\nMatch all\\n' > %s" % (PROBE_USER, EARLIER))
    try:
        started = time.monotonic()
        run = run_playbook(str(play), limit=name(host), timeout=600)
        took = time.monotonic() - started
    finally:
        host.run("rm -f %s && systemctl reload ssh" % EARLIER)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out[-3000:]
    assert "The session gate was NOT made live" in out and "restored (immediately)" in out, out[-3000:]
    assert "sshd check FAILED: %s (forcecommand /bin/true)" % PROBE_USER in out, out[-3000:]
    # Ansible's own account and the exempt one were fine: only the offender is named.
    assert "ephi-admin (" not in out and "ephi-carol (" not in out
    assert took < 110, "the rollback waited for the dead-man switch (%.0f s)" % took
    assert host.file(DROPIN).content_string == before
    timers = host.run("systemctl list-units --all --no-legend 'ephi-session-gate-rollback-*'")
    assert timers.stdout.strip() == "", timers.stdout
    assert host.run("ls -A /run/ephi-session-gate").stdout.strip() == ""
    logged = host.run("journalctl -q -o cat -t ephi-session --since @%s" % start).stdout
    assert "event=gate-rollback" in logged, logged


def test_every_run_fails_when_another_drop_in_defeats_the_gate(host):
    """The same promise on a run that leaves the gate's drop-in as it is: the
    probe's sshd -T answers (gate.yml) name the offender and fail the run."""
    before = host.file(DROPIN).content_string
    host.run("printf 'Match User %s\\n    ForceCommand /bin/true\\nMatch all\\n' > %s" % (PROBE_USER, EARLIER))
    try:
        run = run_converge(host, timeout=600)
    finally:
        host.run("rm -f %s" % EARLIER)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out[-3000:]
    assert "Check sshd's effective configuration" in out, out[-3000:]
    assert "sshd check FAILED: %s (forcecommand /bin/true)" % PROBE_USER in out, out[-3000:]
    assert "ephi-admin (" not in out and "ephi-carol (" not in out
    assert host.file(DROPIN).content_string == before


def test_a_changed_gate_drop_in_is_put_back_by_the_next_run(host):
    """The role's probe compares the drop-in with the template's rendering
    (sha256, owner, mode), so a run plans it only when it differs (issue 15):
    a drop-in that was edited or loosened on the host must still be planned,
    and put back behind the lockout protection."""
    before = host.file(DROPIN).content_string
    host.run("printf '# edited on the host\\n' >> %s && chmod 0600 %s" % (DROPIN, DROPIN))
    run = run_converge(host, timeout=600)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert host.file(DROPIN).content_string == before
    assert host.file(DROPIN).mode == 0o644
    assert "gate_sshd.yml for %s" % name(host) in out, out[-3000:]   # the lockout-protected include ran
