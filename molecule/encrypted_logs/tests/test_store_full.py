"""The log store full (issue 12, item 3: "nothing lost, nobody can stop it for others").

The scenario puts the encrypted store on a filesystem of its own
(converge.yml: a 32 MiB ext4 image, /srv/ephi-lab-store.img, mounted with
fuse2fs on /var/lib/ephi-encrypted-logs by the role's mount unit), so whatever fills it
fills only the store. Root fills it completely with one file; then:

- a gated user's running session that keeps printing loses at most one chunk
  of output, which was never shown either (the recorder writes before it
  forwards), the recorder logs capture-lost with the bytes and the reason
  (ENOSPC), and with the scenario's default tmux_session_unrecordable: refuse
  the session ends with a message;
- a new gated login is refused with a clear message and a session-refused
  event;
- the break-glass account (ephi-breakglass, exempt from the gate) gets in;
- after the file is removed, a new gated login is recorded again, without a
  restart of anything.

One fill for the whole file (CI budget). While the store is full the gate
refuses Ansible's own account too (ephi-admin is not exempt here), so the
test runs as root through podman exec (ContainerRoot).
"""

import re
import uuid

import pytest

from ephi_testlib import (BREAKGLASS, GATED_USER, SSH, ContainerRoot, break_glass_gets_in, close_terminals,
                          exit_status, kill_users, new_sessions, recordings_with, screen, session_events,
                          session_ids, split_marker, ssh_login, terminal, type_line, wait_for, wait_prompt,
                          wait_recorded)

USER = GATED_USER
STORE_DIR = "/var/lib/ephi-encrypted-logs"
STORE_IMAGE = "/srv/ephi-lab-store.img"
FILL = STORE_DIR + "/ephi-test-fill"
# The most the recorder reads from the pty and writes to the recording at once
# (CHUNK in roles/tmux/files/ephi-session-recorder): what one failed write can lose.
CHUNK = 65536


@pytest.fixture
def root(host):
    root = ContainerRoot(host)
    kill_users(root, USER, BREAKGLASS)
    yield root
    root.run("rm -f %s %s.small" % (FILL, FILL))
    close_terminals(root)
    kill_users(root, USER, BREAKGLASS)


def login(root, window, user=USER):
    """A pty login of USER in the terminal WINDOW; its session-start event (None if none)."""
    before = session_ids(root, user)
    terminal(root, window, ssh_login(user))
    started = new_sessions(root, user, before, kind="pty")
    assert len(started) <= 1, started
    return started[0] if started else None


def fill_store(root):
    """Fill the store's filesystem with root's file (1 MiB blocks, then 1 KiB: ext4 on
    the image has 1 KiB blocks); the KiB left available."""
    root.run("dd if=/dev/zero of={0} bs=1M 2>/dev/null; dd if=/dev/zero of={0}.small bs=1k 2>/dev/null".format(FILL))
    return int(root.check_output("df --output=avail -k %s | tail -n 1" % STORE_DIR).strip())


def test_a_full_store_loses_a_bounded_amount_refuses_logins_and_break_glass_gets_in(root):
    # The store is on a filesystem of its own: the role's mount of the image.
    source = root.check_output("findmnt -n -o SOURCE --mountpoint %s" % STORE_DIR)
    assert source == STORE_IMAGE, source
    assert root.check_output("stat -c %%d %s" % STORE_DIR) != root.check_output("stat -c %d /")

    # A gated session that keeps printing numbered lines (typed as two halves,
    # so that the echoed command line never contains a needle).
    start = login(root, "erin")
    assert start and start["recorded"] == "true", (start, screen(root, "erin"))
    assert wait_prompt(root, "erin"), screen(root, "erin")
    token = uuid.uuid4().hex[:12]
    needle = "ephi-full-%s-" % token
    type_line(root, "erin", "i=0; while :; do i=$((i+1)); printf '%%s-%%s-%%06d\\n' ephi-full %s $i; sleep 0.05; done"
              % token)
    assert wait_recorded(root, USER, needle + "00002"), screen(root, "erin")

    try:
        left = fill_store(root)
        assert left <= 4, "%d KiB still free on the store" % left

        # The running session: one capture-lost for the failed write, with its
        # bytes (at most one chunk) and ENOSPC, a total at the end; the session
        # ends (refuse) and says why on the terminal.
        lost = wait_for(lambda: session_events(root, event="capture-lost", id=start["id"], reason="ENOSPC"))
        assert lost, session_events(root, id=start["id"])
        assert len(lost) == 1 and 0 < int(lost[0]["bytes"]) <= CHUNK, lost
        ended = wait_for(lambda: session_events(root, event="session-end", id=start["id"]))
        assert ended and ended[-1]["reason"] == "capture-failed", session_events(root, id=start["id"])
        # The total: the failed write's chunk and at most one more, what the
        # program had written when the relay stopped (drained, never shown
        # either; measured under load: 2 x 66 bytes).
        total = session_events(root, event="capture-lost", id=start["id"], reason="session-total")
        assert total and int(lost[0]["bytes"]) <= int(total[-1]["bytes"]) <= int(lost[0]["bytes"]) + CHUNK, \
            session_events(root, id=start["id"])
        assert wait_for(lambda: exit_status(root, "erin") is not None), screen(root, "erin")
        shown = screen(root, "erin")
        assert "cannot be recorded any more" in shown, shown
        # Nothing that was shown is lost: the last line on the terminal is in the recording.
        numbers = re.findall(re.escape(needle) + r"(\d{6})", shown)
        assert numbers, shown
        last = needle + max(numbers)
        assert [f["file"] for f in recordings_with(root, USER, last)] == [start["file"]], (last, shown)
        # The relay is gone, the user's tmux server is not: the loop would go on
        # printing into the pane capture, and the next login would attach to this
        # session (locked by then). The user's processes go.
        kill_users(root, USER)

        # A new gated login: refused with a message, status 1, and an event.
        refused_before = session_events(root, event="session-refused", user=USER)
        terminal(root, "erin2", ssh_login(USER))
        assert wait_for(lambda: exit_status(root, "erin2") is not None), screen(root, "erin2")
        shown = screen(root, "erin2")
        assert exit_status(root, "erin2") == 1, shown
        assert "cannot be recorded" in shown and "No space left on device" in shown, shown
        refused = wait_for(lambda: session_events(root, event="session-refused", user=USER)[len(refused_before):])
        assert refused and "No space left on device" in refused[-1]["reason"], refused

        # The break-glass account is exempt from the gate: it gets a shell.
        break_glass_gets_in(root)
    finally:
        root.run("rm -f %s %s.small" % (FILL, FILL))

    # Space again: the next gated login is recorded, nothing was restarted.
    assert int(root.check_output("df --output=avail -k %s | tail -n 1" % STORE_DIR).strip()) > 1024
    assert wait_for(lambda: root.run("%s %s@127.0.0.1 true" % (SSH, USER)).rc == 0, timeout=20), \
        session_events(root, user=USER)[-2:]
    again = login(root, "erin3")
    assert again and again["recorded"] == "true", (again, screen(root, "erin3"))
    assert wait_prompt(root, "erin3"), screen(root, "erin3")
    typed, after = split_marker("after-full", in_tmux=True)
    type_line(root, "erin3", typed)
    found = wait_recorded(root, USER, after)
    assert [f["file"] for f in found] == [again["file"]], (found, screen(root, "erin3"))
