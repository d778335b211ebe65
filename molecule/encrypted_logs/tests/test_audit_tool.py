"""The auditors' tool ephi-audit (issue 14, item 5) on a converged host.

One real gated SSH session of the test user prints three markers: one plainly,
one erased on its line half a second later (printf ...\\r\\033[2K) and one in
the alternate screen; the user's own terminal shows only the first at the end.
The auditor (ephi-audra, in ephi-auditors, no other rights) finds the session
with `sudo ephi-audit list` by user and time, sees all three with `show` and
`search`, exports an asciicast that parses and that Debian's `asciinema cat`
prints; every view is an ephi-audit event naming the auditor and the
recording. The ordinary user is refused by sudo and by the tool, and nothing
outside the store (.., absolute paths, symlinks, --store) is read.
"""

import json
import time
import uuid

import pytest

from ephi_testlib import (GATED_USER, MOUNT, close_terminals, exit_status, kill_users, new_sessions, screen,
                          session_end, session_ids, sh_quote, ssh_login, terminal, type_line, wait_for,
                          wait_prompt, wait_recorded)

AUDITOR = "ephi-audra"
AUDIT = "/usr/local/sbin/ephi-audit"


def as_auditor(host, args, user=AUDITOR):
    """`sudo -n ephi-audit ARGS` as USER: the completed command."""
    return host.run("cd / && runuser -u %s -- sudo -n %s %s" % (user, AUDIT, args))


def audit_events(host, since):
    out = host.check_output("journalctl --no-pager -q -o cat -t ephi-audit --since=@%d" % since)
    return [dict(f.split("=", 1) for f in line.split() if "=" in f) for line in out.splitlines()]


@pytest.fixture(scope="module")
def session(host):
    """One recorded session of the test user with a plain, an erased and an
    alternate-screen marker; ended. Its start event, markers and start time."""
    kill_users(host, GATED_USER)
    started_at = time.time()
    token = uuid.uuid4().hex[:12]
    marks = {k: "ephi-%s-%s" % (k, token) for k in ("plain", "erased", "alt")}
    before = session_ids(host, GATED_USER)
    terminal(host, "audit", ssh_login(GATED_USER))
    start = new_sessions(host, GATED_USER, before, kind="pty")
    assert len(start) == 1, screen(host, "audit")
    assert wait_prompt(host, "audit"), screen(host, "audit")
    # Each marker is printed from two halves: the typed (echoed) line never holds it.
    type_line(host, "audit", "printf '%%s-%%s\\n' ephi-plain %s" % token)
    # Shown for 0.5 s, then erased on its line. (Within one write tmux would
    # never draw it: its redraw, which is what the terminal and so the
    # recording get, comes later; tests/unit covers that case for output
    # recorded without tmux.)
    type_line(host, "audit", "printf '%%s-%%s' ephi-erased %s; sleep 0.5; printf '\\r\\033[2K'" % token)
    assert wait_recorded(host, GATED_USER, marks["erased"]), screen(host, "audit")
    # One at a time: typeahead echoed meanwhile would move the erased line.
    assert wait_for(lambda: marks["erased"] not in screen(host, "audit")), screen(host, "audit")
    type_line(host, "audit", "printf '\\033[?1049h%%s-%%s\\n' ephi-alt %s; sleep 0.5; printf '\\033[?1049l'" % token)
    assert wait_recorded(host, GATED_USER, marks["alt"]), screen(host, "audit")
    assert wait_for(lambda: marks["alt"] not in screen(host, "audit")), screen(host, "audit")
    type_line(host, "audit", "printf '%%s-%%s\\n' ephi-done %s" % token)
    # What the user's terminal shows once all of it ran.
    assert wait_for(lambda: "ephi-done-" + token in screen(host, "audit")), screen(host, "audit")
    seen = screen(host, "audit")
    type_line(host, "audit", "exit")
    assert wait_for(lambda: exit_status(host, "audit") is not None), screen(host, "audit")
    end = session_end(host, start[0]["id"])
    assert end, start
    yield {"start": start[0], "marks": marks, "since": int(started_at) - 1, "user_saw": seen}
    close_terminals(host)
    kill_users(host, GATED_USER)


def test_the_session_is_listed_by_user_and_time(host, session):
    sid = session["start"]["id"]
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(session["since"]))
    listed = as_auditor(host, "list --json --user %s --since %s" % (GATED_USER, since))
    assert listed.rc == 0, listed.stderr
    entries = [json.loads(line) for line in listed.stdout.splitlines()]
    mine = [e for e in entries if e["id"] == sid]
    assert len(mine) == 1 and all(e["user"] == GATED_USER for e in entries), entries
    assert mine[0]["file"] == session["start"]["file"][len(MOUNT) + 1:] and mine[0]["end"]["reason"], mine
    # A range that ends before the session does not list it; the table shows it.
    until = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(session["since"] - 60))
    assert sid not in as_auditor(host, "list --user %s --until %s" % (GATED_USER, until)).stdout
    assert sid in as_auditor(host, "list --user %s --since 10m" % GATED_USER).stdout


def test_show_and_search_print_the_hidden_markers(host, session):
    marks, sid = session["marks"], session["start"]["id"]
    # The user's own terminal no longer shows the erased and the alternate-screen marker.
    assert marks["plain"] in session["user_saw"], session["user_saw"]
    assert marks["erased"] not in session["user_saw"] and marks["alt"] not in session["user_saw"], session["user_saw"]
    shown = as_auditor(host, "show %s" % sid)
    assert shown.rc == 0, shown.stderr
    for mark in marks.values():
        assert mark in shown.stdout, (mark, shown.stdout[-3000:])
    assert "\x1b" not in shown.stdout
    found = as_auditor(host, "search --user %s --since 10m --fixed %s" % (GATED_USER, marks["erased"]))
    assert found.rc == 0 and sid in found.stdout and marks["erased"] in found.stdout, (found.stdout, found.stderr)


def test_export_parses_and_asciinema_cat_prints_the_marker(host, session):
    sid, home = session["start"]["id"], "/home/%s" % AUDITOR
    target = "%s/export-%s.cast" % (home, sid)
    host.run("rm -f %s" % target)
    out = as_auditor(host, "export %s -o %s" % (sid, target))
    assert out.rc == 0, out.stderr
    exported = host.file(target)
    assert exported.user == AUDITOR and exported.mode == 0o600
    lines = [json.loads(line) for line in exported.content_string.splitlines()]
    assert lines[0]["version"] == 2 and lines[0]["ephi"]["id"] == sid and lines[0]["ephi_export"]["by"] == AUDITOR
    assert all(isinstance(e, list) and len(e) == 3 and isinstance(e[0], float) for e in lines[1:]), lines[1:4]
    assert any(e[1] == "o" for e in lines[1:]) and lines[-1][2].startswith("ephi-end ")
    # asciinema 2.2 (Debian 12) cat opens /dev/tty: script(1) gives it one.
    played = host.run("cd %s && runuser -u %s -- env HOME=%s script -qec %s /dev/null"
                      % (home, AUDITOR, home, sh_quote("asciinema cat " + target)))
    assert played.rc == 0 and session["marks"]["plain"] in played.stdout, (played.rc, played.stderr)
    # Root never writes where the auditor points: not over an existing file, not into root's places.
    assert as_auditor(host, "export %s -o %s" % (sid, target)).rc != 0
    assert as_auditor(host, "export %s -o /etc/ephi-audit-test.cast" % sid).rc != 0
    assert not host.file("/etc/ephi-audit-test.cast").exists
    host.run("rm -f %s" % target)


def test_every_view_is_an_event_naming_the_auditor_and_the_recording(host, session):
    sid = session["start"]["id"]
    since = int(time.time()) - 1
    assert as_auditor(host, "show --final %s" % sid).rc == 0
    assert as_auditor(host, "replay --plain --speed 1000 %s" % sid).rc == 0
    uid = host.user(AUDITOR).uid
    events = wait_for(lambda: [e for e in audit_events(host, since) if e.get("id") == sid
                               and e.get("event") in ("audit-show", "audit-replay")][-2:])
    assert [e["event"] for e in events] == ["audit-show", "audit-replay"], events
    for event in events:
        assert (event["auditor"], event["auditor_uid"], event["via"]) == (AUDITOR, str(uid), "sudo"), event
        assert event["file"] == session["start"]["file"][len(MOUNT) + 1:] and event["user"] == GATED_USER, event


def test_an_ordinary_user_is_refused(host, session):
    sid = session["start"]["id"]
    by_sudo = as_auditor(host, "show %s" % sid, user=GATED_USER)
    assert by_sudo.rc != 0 and session["marks"]["plain"] not in by_sudo.stdout, by_sudo.stdout
    assert "password is required" in by_sudo.stderr or "not allowed" in by_sudo.stderr, by_sudo.stderr
    direct = host.run("cd / && runuser -u %s -- %s show %s" % (GATED_USER, AUDIT, sid))
    assert direct.rc == 2 and "runs as root" in direct.stderr, (direct.rc, direct.stderr)
    read = host.run("runuser -u %s -- cat %s" % (GATED_USER, session["start"]["file"]))
    assert read.rc != 0 and "Permission denied" in read.stderr, read.stderr


def test_nothing_outside_the_store_is_read(host, session):
    planted = "%s/%s/planted-pty-1-%s.cast" % (MOUNT, GATED_USER, "0123456789abcdef")
    host.check_output("ln -sfn /etc/shadow %s" % planted)
    try:
        for ref in ("../../../etc/shadow", "/etc/shadow", "%s/../../../etc/shadow" % MOUNT,
                    planted, planted[len(MOUNT) + 1:], "0123456789abcdef"):
            out = as_auditor(host, "show %s" % sh_quote(ref))
            assert out.rc == 2 and ("refused" in out.stderr or "no recordings" in out.stderr), (ref, out.stderr)
            assert "root:" not in out.stdout, ref
        out = as_auditor(host, "--store /etc list")
        assert out.rc == 2 and "root only" in out.stderr, out.stderr
    finally:
        host.run("rm -f %s" % planted)
