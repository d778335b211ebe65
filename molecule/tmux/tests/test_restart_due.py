"""A run that wrote a daemon's files and stopped before restarting it.

The role restarts the policy enforcer and the session recorder when one of
their files changed in the run. A run that stops in between (the enforcer's
--check-config failing after the write, a lost connection) leaves the new
files on disk and the old daemon running; the next run finds the files as
they should be, so it used to leave the old daemon running for good. The
probe now says which daemons run older files than those on disk, or a unit
file systemd has not re-read (host_probe's units_stale), and the next run
restarts them (after a daemon-reload when needed). Here the state such a run
leaves is made by hand: the enforcer's unit file re-read by systemd with
another line and then put back without a daemon-reload, the recorder's
program written again as it was. A converge restarts both, and the converge
after it changes nothing.
"""

from ephi_testlib import run_converge

ENFORCER = "ephi-tmux-enforcer.service"
ENFORCER_UNIT = "/etc/systemd/system/" + ENFORCER
RECORDER = "ephi-session-recorder.service"
RECORDER_PROGRAM = "/usr/local/lib/ephi-safeguards/ephi-session-recorder"


def shown(host, unit, prop):
    return host.check_output("systemctl show -P %s %s" % (prop, unit)).strip()


def test_a_daemon_older_than_its_files_is_restarted_by_the_next_run(host):
    before = {unit: shown(host, unit, "MainPID") for unit in (ENFORCER, RECORDER)}
    assert all(pid != "0" for pid in before.values()), before
    # The enforcer: systemd loads a unit with one more line, then the file on
    # disk is the role's again (same content, newer mtime) and not re-read.
    host.check_output("cp -p %s /root/enforcer.unit && printf '# another line\\n' >> %s && systemctl daemon-reload "
                      "&& cat /root/enforcer.unit > %s && rm /root/enforcer.unit" % ((ENFORCER_UNIT,) * 3))
    assert shown(host, ENFORCER, "NeedDaemonReload") == "yes"
    # The recorder: its program rewritten with the same bytes after it started.
    host.check_output("cat %s > /root/recorder && cat /root/recorder > %s && rm /root/recorder"
                      % (RECORDER_PROGRAM, RECORDER_PROGRAM))
    run = run_converge(host, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert shown(host, ENFORCER, "NeedDaemonReload") == "no"
    after = {unit: shown(host, unit, "MainPID") for unit in (ENFORCER, RECORDER)}
    assert all(after[unit] not in ("0", before[unit]) for unit in after), (before, after)
    assert shown(host, ENFORCER, "ActiveState") == shown(host, RECORDER, "ActiveState") == "active"
    # Restarted once: the next run finds nothing to do.
    again = run_converge(host, timeout=600)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-2000:]
    assert " changed=0 " in again.stdout, again.stdout[-3000:]
