"""Behaviour of the aide role on a converged instance.

Runs after converge and idempotence (molecule/aide/converge.yml, scoped watch
list in aide_vars.yml). The tests build on each other in file order: drift is
made, reported, accepted; then the database is tampered with and restored.
"""

from ephi_testlib import (AIDE_CONF, AIDE_DB, AIDE_LOG, RECORD_KEYS, aide_check, aide_record_path, by_id, run_converge,
                          scenario_path, verify_controls)

DROPIN = "/etc/aide/aide.conf.d/90_ephi_safeguards"
TIMER = "/etc/systemd/system/ephi-aide-check.timer"


def db_sha512(host):
    return host.check_output("sha512sum %s" % AIDE_DB).split()[0]


def controller_record(host):
    with open(aide_record_path(host)) as fh:
        return fh.read().split()[0]


def log_lines(host, action):
    return [line for line in host.file(AIDE_LOG).content_string.splitlines() if " action=%s " % action in line]


def task_output(out, name):
    """The default callback's output of the task NAME in a playbook's OUT."""
    task = out[out.index(name):]
    return task[:task.find("\nTASK [", 1)]


def test_config_is_valid_and_scoped(host):
    assert host.run("aide --config-check --config %s" % AIDE_CONF).rc == 0
    dropin = host.file("/etc/aide/aide.conf.d/90_ephi_safeguards").content_string
    assert "ephi.safeguards:aide" in dropin
    watched = "aide --config %s --path-check %s" % (AIDE_CONF, "%s")
    assert host.run(watched % "f:/etc/ssh/sshd_config").rc == 0
    assert host.run(watched % "f:/srv/ephi/app.conf").rc == 0
    # Excluded inside a watched tree, volatile, or outside the scoped list.
    assert host.run(watched % "f:/srv/ephi/spool/queue").rc == 1
    assert host.run(watched % "f:/var/tmp/scratch").rc == 1
    assert host.run(watched % "f:/usr/bin/ls").rc == 1
    # AIDE 0.19 prunes excluded trees (-), 0.18 cannot (!).
    version = host.check_output("aide --version 2>&1 | head -n 1")
    neg = "-" if "0.19" in version else "!"
    assert "\n%s/srv/ephi/spool(/|$)\n" % neg in dropin.replace("\\/", "/")


def test_timer_is_enabled_and_scheduled(host):
    assert host.service("ephi-aide-check.timer").is_enabled
    timers = host.check_output("systemctl list-timers --all --no-legend ephi-aide-check.timer")
    # NEXT and LEFT are filled in: the timer is scheduled.
    assert "ephi-aide-check.timer" in timers and not timers.startswith("-"), timers
    calendar = host.check_output("systemctl show -p TimersCalendar ephi-aide-check.timer")
    assert "OnCalendar=*-*-* 00:00:00" in calendar, calendar
    # Debian's fail-open daily check is off.
    assert not host.service("dailyaidecheck.timer").is_enabled


def test_baseline_made_once_and_recorded_off_host(host):
    # After converge and the idempotence run: one init, and the database is
    # still the one it made (byte-identical), recorded on the controller.
    inits = log_lines(host, "init")
    assert len(inits) == 1, inits
    assert "remote_user=ephi-admin" in inits[0]
    assert inits[0].endswith("db_sha512=%s" % db_sha512(host))
    assert controller_record(host) == db_sha512(host)
    assert host.file(AIDE_DB).user == "root" and not host.file(AIDE_DB).mode & 0o077


def test_check_is_clean_after_converge(host):
    result = aide_check(host)
    assert result["changed"] is False
    assert result["differences"] is False, result
    assert result["exit_status"]["rc"] == 0


def test_drift_is_reported_exactly(host):
    host.check_output("echo '# drift' >> /etc/ssh/sshd_config")
    host.check_output("install -m 0755 /dev/null /usr/local/bin/ephi-probe")
    host.check_output("echo x > /var/tmp/ephi-probe && echo x > /srv/ephi/spool/queue")
    result = aide_check(host)
    assert result["changed_paths"] == ["/etc/ssh/sshd_config"], result
    assert result["added"] == ["/usr/local/bin/ephi-probe"], result
    assert result["removed"] == []
    assert {"size", "sha512"} <= set(result["changed_entries"][0]["attributes"])
    assert result["exit_status"] == {"rc": 5, "added": True, "removed": False, "changed": True,
                                     "error": None, "differences": True}


def test_accept_changes_makes_next_check_clean(host):
    before = db_sha512(host)
    # The role's probe compares its files with what its file set would write
    # (issue 15: the file set runs only when one differs): an edited drop-in
    # and a loosened timer unit must be put back by the same run.
    files = {DROPIN: host.file(DROPIN).content_string, TIMER: host.file(TIMER).content_string}
    host.check_output("echo '# edited' >> %s && echo '# edited' >> %s && chmod 0600 %s" % (DROPIN, TIMER, TIMER))
    run = run_converge(host, "-e", "aide_accept_changes=true", timeout=600)
    assert run.returncode == 0, run.stdout[-3000:]
    for path, text in files.items():
        assert host.file(path).content_string == text and host.file(path).mode == 0o644, path
    assert "/etc/ssh/sshd_config" in run.stdout  # the changes were shown
    assert aide_check(host)["differences"] is False
    accepts = log_lines(host, "accept")
    assert len(accepts) == 1 and "remote_user=ephi-admin" in accepts[0] and "controller_user=" in accepts[0]
    report = accepts[0].split(" report=")[1].split()[0]
    assert "/etc/ssh/sshd_config" in host.file(report).content_string
    assert db_sha512(host) != before
    assert controller_record(host) == db_sha512(host)


def test_scheduled_check_reports_to_the_journal(host):
    assert host.run("systemctl start ephi-aide-check.service").rc == 0
    journal = host.check_output("journalctl --no-pager -o cat -u ephi-aide-check.service")
    assert "AIDE found NO differences" in journal, journal


def test_verify_entry_point_passes_in_check_mode(host):
    controls = verify_controls(host, scenario_path("verify_play.yml"), "aide_verify_controls", "--check")
    assert [c["id"] for c in controls] == ["aide-installed", "aide-baseline", "aide-scheduled-check", "aide-check-clean"]
    assert {c["status"] for c in controls} == {"pass"}, controls
    assert set(controls[0]) == RECORD_KEYS


def test_tampered_database_fails_the_run(host):
    host.check_output("cp -p %s /root/aide.db.good" % AIDE_DB)
    try:
        # An intruder re-baselines to hide a change.
        host.check_output("echo '# hidden' >> /etc/ssh/sshd_config")
        host.check_output("aide --init --config %s >/dev/null && mv -f /var/lib/aide/aide.db.new %s" % (AIDE_CONF, AIDE_DB))
        tampered = db_sha512(host)
        run = run_converge(host, timeout=600)
        assert run.returncode != 0
        assert "changed behind our back" in run.stdout + run.stderr, run.stdout[-3000:]
        assert db_sha512(host) == tampered  # nothing was re-initialised
        # The evidence reads the database and the timer in one probe: the tampered database and a
        # stopped check timer each fail their control, named.
        host.check_output("systemctl disable --now ephi-aide-check.timer")
        controls = by_id(verify_controls(host, scenario_path("verify_play.yml"), "aide_verify_controls", "--check"))
        assert controls["aide-baseline"]["status"] == "fail", controls["aide-baseline"]
        assert tampered in controls["aide-baseline"]["observed"], controls["aide-baseline"]
        assert controls["aide-scheduled-check"]["status"] == "fail", controls["aide-scheduled-check"]
        assert "UnitFileState=disabled" in controls["aide-scheduled-check"]["observed"], controls["aide-scheduled-check"]
    finally:
        host.check_output("mv -f /root/aide.db.good %s" % AIDE_DB)
        host.check_output("systemctl enable --now ephi-aide-check.timer")
    assert controller_record(host) == db_sha512(host)
    # Restored, both pass again (the check itself now reports the hidden sshd_config line).
    after = by_id(verify_controls(host, scenario_path("verify_play.yml"), "aide_verify_controls", "--check"))
    assert after["aide-baseline"]["status"] == after["aide-scheduled-check"]["status"] == "pass", after


def test_a_changed_include_line_is_restored_by_the_next_run(host):
    """aide.conf's include line is written only when the role's probe does not find it as
    ansible.builtin.lineinfile would leave it (host_probe lines with a line, checked against lineinfile
    itself in tests/roles). Changed by hand, the next converge runs that task and puts it back; the AIDE
    version check before it takes the version from the same probe. The check timer, stopped and disabled
    by hand before that converge, is enabled and started again by it (the schedule's steps sit behind an
    include that an ordinary re-run skips)."""
    conf = host.file(AIDE_CONF).content_string
    lines = [line for line in conf.splitlines() if line.startswith("@@x_include /etc/aide/aide.conf.d")]
    assert len(lines) == 1, lines
    host.check_output("cp -p %s /root/aide.conf.good" % AIDE_CONF)
    host.check_output("sed -i 's|^\\(@@x_include /etc/aide/aide.conf.d\\) .*|\\1 ^nothing$|' %s" % AIDE_CONF)
    host.check_output("systemctl disable --now ephi-aide-check.timer")
    try:
        assert lines[0] not in host.file(AIDE_CONF).content_string
        assert not host.service("ephi-aide-check.timer").is_enabled
        run = run_converge(host, timeout=600)
        timer_restored = host.service("ephi-aide-check.timer").is_enabled and host.service("ephi-aide-check.timer").is_running
    finally:
        if host.file(AIDE_CONF).content_string != conf:
            host.check_output("cp -p /root/aide.conf.good %s" % AIDE_CONF)
        host.check_output("rm -f /root/aide.conf.good %s.*~" % AIDE_CONF)
        host.check_output("systemctl enable --now ephi-aide-check.timer")
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert timer_restored, out[-3000:]
    assert "\nchanged: [" in task_output(out, "config | Select the rule files AIDE includes")
    assert host.file(AIDE_CONF).content_string == conf
    # AIDE was asked for its version by the probe; the separate run was skipped.
    assert "\nskipping: [" in task_output(out, "config | Read the AIDE version")
