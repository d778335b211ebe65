"""The session gate and recorder (issue 12) as the users of the host meet them.

Every SSH session of a non-exempt account goes through the gate (sshd
ForceCommand): a session with a pty runs in the user's tmux session behind a
root relay that records the terminal (asciicast v2, under
/var/log/ephi/<user>/ in the encrypted directory); a session without one runs
its command on relayed pipes and leaves content-free events. The logins are
real: root inside the instance runs ssh to 127.0.0.1 in a window of its outer
tmux server (ephi_testlib.terminal). The tests assert on what the recordings
and the journal's ephi-session events hold, not on configuration files.

Markers are printed by the shell from two halves (ephi_testlib.split_marker),
so that a command line that sudo logs or a session records never holds one.
"""

import time

import pytest

from ephi_testlib import (ADMIN, BACKING, FLOODER, GATED_USER, MOUNT, OUTER, SCP, SSH, cast_lines, exit_status,
                          gated_users_clean, new_sessions, recordings_with, screen, session_config, session_end,
                          session_events, session_ids, sh_quote, split_marker, ssh_login, terminal, type_line,
                          wait_for, wait_prompt, wait_recorded)

USER = GATED_USER


def user_tmux(host, user, args):
    return host.run("runuser -u %s -- tmux %s" % (user, args))


pytestmark = pytest.mark.usefixtures(gated_users_clean.__name__)


def login(host, window, user=USER, command="", **kwargs):
    """A gated pty login of USER in the terminal WINDOW; its session-start event."""
    before = session_ids(host, user)
    terminal(host, window, ssh_login(user, command), **kwargs)
    started = new_sessions(host, user, before, kind="pty")
    assert len(started) == 1, (started, screen(host, window))
    return started[0]


def test_ssh_login_lands_in_the_recorded_tmux_session(host):
    uid = host.user(USER).uid
    start = login(host, "erin")
    assert start["recorded"] == "true" and start["uid"] == str(uid), start
    assert start["source"].startswith("127.0.0.1"), start
    assert wait_prompt(host, "erin"), screen(host, "erin")
    # The gate's tmux session (main), with this login as its client.
    assert wait_for(lambda: user_tmux(host, USER, "list-sessions -F '#{session_name}:#{session_attached}'")
                    .stdout.split() == ["main:1"])
    typed, needle = split_marker("login", in_tmux=True)
    type_line(host, "erin", typed)
    found = wait_recorded(host, USER, needle)
    assert [f["file"] for f in found] == [start["file"]], (found, start)
    header = found[0]["header"]
    pane = host.check_output("%s display-message -p -t erin '#{pane_width}x#{pane_height}'" % OUTER)
    assert header["version"] == 2 and "%dx%d" % (header["width"], header["height"]) == pane, (header, pane)
    ephi = header["ephi"]
    assert (ephi["id"], ephi["kind"], ephi["user"], str(ephi["uid"])) == (start["id"], "pty", USER, str(uid)), ephi
    # The shell belongs to this very session (the gate sets EPHI_SESSION_ID).
    type_line(host, "erin", "printf '%s-%s\\n' ephi-sid \"$EPHI_SESSION_ID\"")
    assert wait_recorded(host, USER, "ephi-sid-" + start["id"]), screen(host, "erin")
    # Root's, the user can neither read nor delete it; only ciphertext at rest.
    rec = host.file(start["file"])
    assert rec.user == "root" and rec.mode == 0o640 and not rec.is_symlink
    assert host.file("%s/%s" % (MOUNT, USER)).user == "root"
    for attempt in ("cat %s" % start["file"], "rm -f %s" % start["file"]):
        out = host.run("runuser -u %s -- %s" % (USER, attempt))
        assert out.rc != 0 and "Permission denied" in out.stderr, (attempt, out.stdout, out.stderr)
    assert host.run("grep -rl -- %s %s" % (sh_quote(needle[:5] + "[" + needle[5] + "]" + needle[6:]), BACKING)).rc == 1
    # A window size change is recorded for replay.
    host.check_output("%s resize-window -t erin -x 100 -y 25" % OUTER)
    pane = host.check_output("%s display-message -p -t erin '#{pane_width}x#{pane_height}'" % OUTER)
    assert pane.startswith("100x"), pane
    assert wait_for(lambda: ["r", pane] in [line[1:] for line in cast_lines(host, start["file"])[1:]]), \
        (pane, cast_lines(host, start["file"])[-5:])
    # Leaving tmux ends the session: status 0, the end marker is the last line.
    type_line(host, "erin", "exit")
    assert wait_for(lambda: exit_status(host, "erin") is not None), screen(host, "erin")
    assert exit_status(host, "erin") == 0, screen(host, "erin")
    end = session_end(host, start["id"])
    assert end and end["status"] == "0" and int(end["bytes_out"]) > 0 and int(end["bytes_in"]) > 0, end
    last = cast_lines(host, start["file"])[-1]
    assert last[1] == "m" and last[2].startswith("ephi-end reason=") and " bytes=" in last[2], last


def test_requested_command_with_a_pty_runs_recorded_inside_tmux(host):
    # `ssh -t host top` and alike: the command runs as a tmux session of its own.
    typed, needle = split_marker("command", in_tmux=True)
    start = login(host, "erin", command=sh_quote(typed + "; sleep 60"))
    assert "sleep 60" in start["command"], start
    found = wait_recorded(host, USER, needle)
    assert [f["file"] for f in found] == [start["file"]], (found, start, screen(host, "erin"))
    names = user_tmux(host, USER, "list-sessions -F '#{session_name}'").stdout.split()
    assert "main-%s" % start["id"] in names, names


def test_command_without_a_pty_keeps_its_streams_status_and_is_recorded(host):
    out_typed, out_needle = split_marker("stdout")
    err_typed, err_needle = split_marker("stderr")
    command = "wc -c; %s; %s >&2; exit 3" % (out_typed, err_typed)
    before = session_ids(host, USER)
    run = host.run("printf 12345 | %s %s@127.0.0.1 %s" % (SSH, USER, sh_quote(command)))
    assert run.rc == 3, (run.rc, run.stdout, run.stderr)
    assert run.stdout.split() == ["5", out_needle], run.stdout
    assert err_needle in run.stderr and out_needle not in run.stderr, run.stderr
    start = [e for e in new_sessions(host, USER, before) if e.get("command") == command]
    assert len(start) == 1 and start[0]["kind"] == "command", session_events(host, user=USER)[-4:]
    start = start[0]
    end = session_end(host, start["id"])
    assert end and end["status"] == "3", end
    assert int(end["bytes_in"]) >= 5 and int(end["bytes_out"]) >= len(out_needle) + len(err_needle) + 2, end
    found = recordings_with(host, USER, out_needle, err_needle)
    assert [(f["file"], f["needles"]) for f in found] == [(start["file"], [0, 1])], (found, start)
    assert found[0]["header"]["ephi"]["kind"] == "command"


def test_file_transfers_work_and_are_events_without_their_data(host):
    token = split_marker("xfer")[1]  # ephi-xfer-<hex>: the content of the file sent
    tag = token.rsplit("-", 1)[1]
    src, dest, batch = "/tmp/ephi-src-%s" % tag, "/tmp/ephi-dest-%s" % tag, "/tmp/ephi-batch-%s" % tag
    host.check_output("printf '%%s-%%s\\n' ephi-xfer %s > %s && chmod 0644 %s" % (tag, src, src))
    host.check_output("printf 'put %s %s.sftp\\n' > %s" % (src, dest, batch))
    rsync_ssh = sh_quote(SSH)
    transfers = {
        "scp": "%s %s %s@127.0.0.1:%s.scp" % (SCP, src, USER, dest),            # over the sftp subsystem
        "scp-O": "%s -O %s %s@127.0.0.1:%s.scpo" % (SCP, src, USER, dest),      # the legacy protocol: scp -t
        "sftp": "sftp %s -b %s %s@127.0.0.1" % (SSH[4:], batch, USER),
        "rsync": "rsync -e %s %s %s@127.0.0.1:%s.rsync" % (rsync_ssh, src, USER, dest),
    }
    before = session_ids(host, USER)
    try:
        for what, command in transfers.items():
            run = host.run(command)
            assert run.rc == 0, (what, run.stdout, run.stderr)
        for suffix in ("scp", "scpo", "sftp", "rsync"):
            copy = host.file("%s.%s" % (dest, suffix))
            assert copy.user == USER and copy.content_string.strip() == token, suffix
        started = new_sessions(host, USER, before, count=4)
        commands = [e.get("command", "") for e in started]
        sftp_server = session_config(host)["sftp_server"]
        assert len([c for c in commands if c.split(" ")[0] == sftp_server]) == 2, commands
        assert [c for c in commands if c.startswith("scp ") and c.endswith(dest + ".scpo")], commands
        assert [c for c in commands if c.startswith("rsync --server") and c.endswith(dest + ".rsync")], commands
        for start in started:
            end = session_end(host, start["id"])
            assert end and end["status"] == "0" and int(end["bytes_in"]) > 0, (start, end)
        # sftp-server logs each file operation (scp over sftp and sftp itself).
        sftp_log = host.check_output("journalctl --no-pager -q -o cat -t sftp-server")
        for suffix in ("scp", "sftp"):
            assert 'open "%s.%s"' % (dest, suffix) in sftp_log, sftp_log[-2000:]
        # The data of a transfer is recorded by name only.
        assert recordings_with(host, USER, token) == []
    finally:
        host.run("rm -f %s %s.* %s" % (src, dest, batch))


def test_idle_session_is_logged_off_and_a_busy_one_is_not(host):
    idle = int(session_config(host)["idle_logoff"])
    assert 0 < idle <= 60, "the scenario sets a short idle_logoff, found %s" % idle
    quiet = login(host, "quiet")
    busy = login(host, "busy", user=FLOODER)
    started = time.monotonic()
    assert wait_prompt(host, "busy"), screen(host, "busy")
    logged_off = []
    # The busy user types (Enter) now and then until the quiet one was logged off
    # and both have been connected for longer than idle_logoff.
    while time.monotonic() < started + idle + 30:
        type_line(host, "busy", "")
        logged_off = session_events(host, event="idle-logoff", id=quiet["id"])
        if logged_off and time.monotonic() > started + idle + 3:
            break
        time.sleep(max(1, idle / 5.0))
    assert logged_off, (screen(host, "quiet"), session_events(host, id=quiet["id"]))
    assert int(logged_off[0]["idle"]) >= idle, logged_off
    assert session_events(host, event="idle-logoff", id=busy["id"]) == []
    assert exit_status(host, "busy") is None, screen(host, "busy")
    # The quiet user's terminal was told and hung up.
    assert wait_for(lambda: exit_status(host, "quiet") is not None), screen(host, "quiet")
    assert "logged off after" in screen(host, "quiet"), screen(host, "quiet")
    end = session_end(host, quiet["id"])
    assert end and end["reason"] == "idle-logoff", end


def test_ansible_runs_through_the_gate_and_is_recorded(host):
    # ephi-admin, Ansible's account, is not exempt. A module run now (become,
    # pipelining, ControlPersist, as the scenario's Ansible connects) is a
    # gated, recorded command session.
    before = session_ids(host, ADMIN)
    result = host.ansible("ansible.builtin.command", "id -un", become=True, check=False)
    assert result.get("stdout") == "root", result
    ansible = [e for e in new_sessions(host, ADMIN, before) if "BECOME-SUCCESS" in e.get("command", "")]
    assert ansible and ansible[0]["kind"] == "command" and ansible[0]["recorded"] == "true", ansible
    # And a run of the role after the gate was in force (the converge's last
    # tasks or the idempotence run) went through it: its module output, which
    # names the gate's configuration file, is in ephi-admin's recordings (the
    # encrypted store keeps them across the instance's restart; the journal
    # of before the restart need not be readable).
    role_runs = [f for f in recordings_with(host, ADMIN, "/etc/ephi-session.json")
                 if "BECOME-SUCCESS" in ((f["header"] or {}).get("ephi", {}).get("command") or "")]
    assert role_runs, "no recorded Ansible module run mentions /etc/ephi-session.json"
