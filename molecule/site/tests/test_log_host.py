"""The central audit trail (issue 14): recordings and events shipped from the
hosts to the log host over RELP with mutual TLS (roles log_forward, log_host).

One gated SSH login of ephi-una per host (from the controller, with its own
key, as a user logs in) prints a marker made of two halves
(ephi_testlib.split_marker). Within 10 s of the print the marker is in the
host's recording on the log host, inside its encrypted directory, and once the
session has ended that copy is byte for byte the host's file (a chain
verifier and the auditor tool read both alike); the session's events are in the
host's events.log. The marker is in plaintext nowhere else on either
machine's disks (find -xdev skips the FUSE mounts of the encrypted
directories; their backing stores hold only ciphertext and are searched too).
A client with a self-made certificate is refused, and the log host logs the
refusal. With the log host stopped for 60 s, a session prints numbered lines
and a user floods the journal with forged chain heads: afterwards the stored
recording is the host's file byte for byte, root's events are in events.log,
the user's only in user-events.log (marked with their uid), and their queue
never outgrew its limit (the forged heads would otherwise fail test_site.py's
log-forward-chain as deleted recordings); every sender reconnects by its own
heartbeat. Retention compresses, rotates and expires without loss, and a user
of the log host can neither read nor plant anything in the store. Runs once,
on the log host (testinfra_hosts); the senders are reached through
host_by_name.
"""

import datetime
import os
import subprocess
import time
import uuid

import pytest
from testinfra.utils.ansible_runner import AnsibleRunner

from ephi_testlib import (CLIENT_OPTIONS, MOUNT, host_by_name, inventory, inventory_hosts, run_playbook, split_marker,
                          wait_for)

testinfra_hosts = ["ansible://ephi_log_hosts"]

USER = "ephi-una"
LOG_HOST_UNIT = "ephi-log-host.service"
SENDER_WORK = MOUNT + "/.ephi-log-forward"
USER_QUEUE_MAX = 2 * 1024 * 1024  # log_forward_user_queue_max_mb in molecule.yml
STORE = MOUNT + "/fleet"
WORK = MOUNT + "/.ephi-log-host"
# ephi-una's own key (prepare_tasks.yml).
USER_KEY = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"), "ephi-una_ed25519")
# Every regular file on the root file system (the encrypted directory is a
# FUSE mount of its own, so -xdev leaves it out) that contains the needle.
# The needle is searched as a pattern that does not contain it (ephi-fw[d]-...),
# or the search's own command line (logged by sudo) would be a hit.
PLAINTEXT_SEARCH = "find / -xdev -type f -print0 2>/dev/null | xargs -0 grep -lE -s -- %s; true"


def pattern(needle):
    """A grep -E pattern that matches NEEDLE (ephi-<kind>-<token>) but does not contain it."""
    return "'%s[%s]%s'" % (needle[:6], needle[6], needle[7:])


def senders():
    return [h for h in inventory_hosts("all") if h not in inventory_hosts("ephi_log_hosts")]


def gated_print(hostname, typed):
    """A gated, recorded SSH session of USER on HOSTNAME that runs TYPED; its output."""
    port = AnsibleRunner(inventory()).get_variables(hostname)["ansible_port"]
    proc = subprocess.run("ssh %s -i %s -p %s -tt %s@127.0.0.1 %s" % (CLIENT_OPTIONS, USER_KEY, port, USER,
                                                                      "'%s'" % typed.replace("'", "'\\''")),
                          shell=True, capture_output=True, text=True, timeout=60, check=False)
    return proc.stdout + proc.stderr


def files_with(target, needle, path):
    """The files under PATH on TARGET that contain NEEDLE."""
    return target.run("grep -rlE -- %s %s" % (pattern(needle), path)).stdout.split()


def sha256_of(target, path):
    return target.check_output("sha256sum %s" % path).split()[0]


@pytest.fixture(scope="module")
def shipped(request, host):
    """{sender: (needle, seconds until the log host had it, local file, stored file)}."""
    found = {}
    for sender in senders():
        typed, needle = split_marker("fwd")
        # From before the login: the delay includes the login itself.
        printed = time.monotonic()
        # The pause lets tmux draw the output before the session ends.
        output = gated_print(sender, typed + "; sleep 1")
        assert needle in output, output[-2000:]
        path = "%s/%s/%s/" % (STORE, sender, USER)
        stored = wait_for(lambda: files_with(host, needle, path), timeout=10, interval=0.2)
        delay = time.monotonic() - printed
        target = host_by_name(request, sender)
        local = target.check_output("grep -lE -- %s %s/%s/*.cast" % (pattern(needle), MOUNT, USER)).split()
        found[sender] = (needle, delay, local, stored)
    return found


def test_marker_reaches_the_log_host_within_10_s(shipped):
    for sender, (needle, delay, local, stored) in shipped.items():
        assert len(stored) == 1 and delay <= 10, (sender, needle, delay, stored)
        assert len(local) == 1, (sender, local)
        assert os.path.basename(stored[0]) == os.path.basename(local[0]), (stored, local)


def test_stored_recording_is_the_hosts_file_byte_for_byte(request, host, shipped):
    for sender, (dummy, dummy2, local, stored) in shipped.items():
        target = host_by_name(request, sender)
        want = sha256_of(target, local[0])
        # The session has ended; its last line (the end event) follows within seconds.
        got = wait_for(lambda: sha256_of(host, stored[0]) == want, timeout=10)
        assert got, (sender, local[0], stored[0], target.check_output("wc -c %s" % local[0]),
                     host.check_output("wc -c %s" % stored[0]))
        stored_file = host.file(stored[0])
        assert stored_file.mode == 0o640 and stored_file.user == "root", (stored_file.mode, stored_file.user)


def test_session_events_reach_the_hosts_events_log(host, shipped):
    for sender in shipped:
        events = host.check_output("cat %s/%s/events.log" % (STORE, sender))
        # <RFC 3339 time> <host> <identifier>[<pid>]: event=... (the recorder's own line)
        lines = [line for line in events.splitlines() if " ephi-session[" in line and "event=session-start" in line
                 and "user=%s" % USER in line]
        assert lines, events[-2000:]
        assert lines[-1].split(" ", 2)[1] == sender, lines[-1]


def test_marker_is_nowhere_in_plaintext_outside_the_encrypted_directories(request, host, shipped):
    for sender, (needle, dummy, dummy2, dummy3) in shipped.items():
        for target in (host, host_by_name(request, sender)):
            leaks = target.check_output(PLAINTEXT_SEARCH % pattern(needle))
            assert leaks == "", (sender, leaks)


def test_client_with_a_self_made_certificate_is_refused_and_logged(request, host):
    sender = host_by_name(request, senders()[0])
    before = int(host.check_output("cat %s/rsyslogd.log 2>/dev/null | wc -l" % WORK))
    # A self-signed certificate with the host's own name, in a tmpfs directory.
    out = sender.check_output(
        "d=$(mktemp -d -p /run) && cd $d && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
        "-subj /CN=%(name)s -addext subjectAltName=DNS:%(name)s -days 2 -keyout k.pem -out c.pem 2>/dev/null && "
        "timeout 10 openssl s_client -connect ephi-site-loghost:2514 -cert c.pem -key k.pem "
        "-CAfile /etc/ephi-log-forward/ca.crt </dev/null >out.txt 2>&1; cd / && rm -rf $d; echo exit=$?"
        % {"name": senders()[0]})
    assert "exit=" in out
    refusal = wait_for(lambda: [line for line in host.check_output("cat %s/rsyslogd.log" % WORK).splitlines()[before:]
                                if "authentication error" in line or "certificate validation failed" in line],
                       timeout=10)
    assert refusal, host.check_output("tail -5 %s/rsyslogd.log" % WORK)


def test_log_host_outage_loses_nothing_and_a_users_flood_stays_bounded(request, host):
    sender_name = senders()[0]
    sender = host_by_name(request, sender_name)
    uid = sender.user(USER).uid
    port = AnsibleRunner(inventory()).get_variables(sender_name)["ansible_port"]
    # The lines are counted by a pattern the command line itself does not match;
    # the token tells this run's recording from an earlier run's.
    token = uuid.uuid4().hex[:12]
    typed = "for i in $(seq 40); do echo ephi-outag''e-%s-$i; sleep 1; done; sleep 1" % token
    forged = ("import syslog\nsyslog.openlog('ephi-session')\nfor i in range(6000):\n"
              "    syslog.syslog('event=chain id=x user=root uid=0 file=/var/log/ephi/root/forged.cast seq=0 n=1 "
              "bytes=1 head=' + '0' * 64 + ' final=0 pad=' + 'x' * 1500)\n")
    # Only this run's flood is counted below (the test can be run again on the same instances).
    flood_since = sender.check_output("date +%s")
    host.check_output("systemctl stop %s" % LOG_HOST_UNIT)
    stopped = time.monotonic()
    try:
        quoted = "'%s'" % typed.replace("'", "'\\''")
        command = "ssh %s -i %s -p %s -tt %s@127.0.0.1 %s" % (CLIENT_OPTIONS, USER_KEY, port, USER, quoted)
        session = subprocess.Popen(command, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        flood = sender.run("runuser -u %s -- python3 -c \"%s\"" % (USER, forged))
        assert flood.rc == 0, flood.stderr
        peak = 0
        while time.monotonic() - stopped < 60:
            size = sender.check_output("cat %s/ephi_fwd_user.* 2>/dev/null | wc -c" % SENDER_WORK)
            peak = max(peak, int(size))
            time.sleep(2)
        output = session.communicate(timeout=60)[0]
    finally:
        host.check_output("systemctl start %s" % LOG_HOST_UNIT)
    assert "ephi-outage-%s-40" % token in output, output[-2000:]
    # The user's queue was used and stayed within its limit (and one file).
    assert 0 < peak <= USER_QUEUE_MAX + 256 * 1024, peak
    count = "journalctl -q --no-pager -o cat --since @%s _UID=%d -t ephi-session | grep -c pad=x; true"
    logged = int(sender.check_output(count % (flood_since, uid)))
    assert logged == 6000, logged
    # Everything printed while the log host was away arrives, in order: the
    # stored recording becomes the host's file byte for byte.
    local = sender.check_output("grep -l -- 'ephi-outage-%s-40' %s/%s/*.cast" % (token, MOUNT, USER)).split()
    assert len(local) == 1, local
    stored = "%s/%s/%s/%s" % (STORE, sender_name, USER, os.path.basename(local[0]))
    want = sha256_of(sender, local[0])
    assert wait_for(lambda: host.run("sha256sum %s" % stored).stdout.split()[:1] == [want], timeout=90, interval=2), \
        host.run("wc -c %s" % stored).stdout
    # Root's events of that session are in events.log; not one forged head is,
    # and the user's events that arrived are marked with their uid elsewhere.
    # <host>-<kind>-<time>-<id>.cast
    session_id = os.path.basename(local[0])[:-len(".cast")].rsplit("-", 1)[1]
    # The log host writes them to another file than the recording: waited for
    # as the recording was (a CI run once read events.log too early or saw
    # them lost; outage_diagnosis says which, should it happen again).
    ends = wait_for(lambda: session_ends(host, sender_name, session_id), timeout=90, interval=2)
    assert ends, outage_diagnosis(host, sender, sender_name, session_id)
    # The user's queue is a connection of its own, resumed on its own.
    user_events = wait_for(lambda: host.check_output("grep -F pad=x %s/%s/user-events.log; true" % (STORE, sender_name)),
                           timeout=90, interval=2)
    forged_lines = user_events.splitlines()
    assert forged_lines and all(" from-uid=%d event=chain " % uid in line for line in forged_lines), user_events[-500:]
    # Some of the flood was dropped at the full queue, not queued without limit.
    assert len(forged_lines) < 6000, len(forged_lines)
    # rsyslog retries a suspended RELP action only when a message comes: an
    # idle sender's first message after the log host's restart finds its
    # session broken, and only the next one reconnects. The heartbeat
    # (log_forward_heartbeat_seconds: 20 here) is that message: every sender
    # is back, and its heartbeat on the log host, within about two of them,
    # with nothing sent by the test.
    since = time.time()
    for name in senders():
        other = host_by_name(request, name)
        assert wait_for(lambda: other.check_output("ss -Htn state established '( dport = :2514 )'"),
                        timeout=90, interval=2), name
    for name in senders():
        assert wait_for(lambda: heartbeat_after(host, name, since), timeout=60, interval=2), name


def session_ends(host, sender_name, session_id):
    """The session-end lines of SESSION_ID in the log host's events.log of SENDER_NAME,
    if the file holds none of a user's forged lines (asserted: never in events.log)."""
    events = host.check_output("cat %s/%s/events.log" % (STORE, sender_name))
    assert "pad=x" not in events
    return [line for line in events.splitlines() if "event=session-end" in line and " id=%s " % session_id in line]


def outage_diagnosis(host, sender, sender_name, session_id):
    """What a failed wait for a session's events leaves to read: the session's events in the
    sender's journal, both rsyslog instances' own messages, the log host's newest lines."""
    return "\n".join((
        "session %s" % session_id,
        "sender journal: " + sender.run("journalctl -q --no-pager -o short-iso -t ephi-session _UID=0 | grep -F %s"
                                        % session_id).stdout[-1500:],
        "sender rsyslogd.log: " + sender.run("grep -v 'error opening connection' %s/rsyslogd.log | tail -n 15"
                                             % SENDER_WORK).stdout,
        "log host rsyslogd.log: " + host.run("tail -n 15 %s/rsyslogd.log" % WORK).stdout,
        "events.log: " + host.run("tail -c 2500 %s/%s/events.log" % (STORE, sender_name)).stdout))


def heartbeat_after(host, sender_name, since):
    """Whether the log host stored a heartbeat from SENDER_NAME (its rsyslog's counters of the main
    queue) that the sender made after SINCE (epoch seconds; the lab's instances share one clock)."""
    lines = host.check_output("tail -n 200 %s/%s/events.log" % (STORE, sender_name)).splitlines()
    beats = [line for line in lines if " rsyslogd-pstats" in line and "ephi_relp queue: origin=core.queue size=" in line]
    return bool(beats) and datetime.datetime.fromisoformat(beats[-1].split()[0]).timestamp() >= since


def test_retention_compresses_rotates_and_expires_without_loss(host):
    sender_name = senders()[0]
    base = "%s/ephi-retention-test/%s" % (STORE, USER)
    host.check_output("install -d -m 0750 %s && cd %s && printf 'header\\nline 1\\n' > idle.cast && "
                      "touch -d '2 days ago' idle.cast && printf 'x\\n' | gzip > expired.cast.gz && "
                      "touch -d '7 years ago' expired.cast.gz && printf 'header\\n' > fresh.cast" % (base, base))
    events = "%s/%s/events.log" % (STORE, sender_name)
    # The daily timer (it fires between midnight and 1 am) would rotate too:
    # stopped while the test runs the service itself, started again below.
    host.check_output("systemctl stop ephi-log-host-retention.timer")
    try:
        earlier = set(host.run("ls %s-*.gz" % events).stdout.split())
        before = host.check_output("cat %s" % events)
        assert "event=session-start" in before
        host.check_output("systemctl start ephi-log-host-retention.service")
        assert host.check_output("ls %s" % base).split() == ["fresh.cast", "idle.cast.gz"]
        assert host.check_output("zcat %s/idle.cast.gz" % base) == "header\nline 1"
        rotated = sorted(set(host.check_output("ls %s-*.gz" % events).split()) - earlier)
        assert len(rotated) == 1, rotated
        retention_second_half(host, sender_name, base, events, rotated, before)
    finally:
        host.check_output("systemctl start ephi-log-host-retention.timer")
    host.check_output("rm -rf %s/ephi-retention-test" % STORE)


def retention_second_half(host, sender_name, base, events, rotated, before):
    assert host.check_output("zcat %s" % rotated[0]).startswith(before)
    # rsyslog closed the old file: the next events of the host go to a new events.log.
    typed, needle = split_marker("ret")
    assert needle in gated_print(sender_name, typed + "; sleep 1")
    assert wait_for(lambda: "event=session-start" in host.run("cat %s" % events).stdout, timeout=10), \
        host.run("ls -la %s/%s" % (STORE, sender_name)).stdout
    # Lines that arrive after the compression are appended to the .gz by the next run.
    host.check_output("cd %s && printf 'line 2\\n' > idle.cast && touch -d '2 days ago' idle.cast" % base)
    host.check_output("systemctl start ephi-log-host-retention.service")
    assert host.check_output("zcat %s/idle.cast.gz" % base) == "header\nline 1\nline 2"
    assert host.check_output("ls %s" % base).split() == ["fresh.cast", "idle.cast.gz"]
    summary = host.check_output("journalctl -q --no-pager -o cat -t ephi-log-host | grep 'event=retention ' | tail -n 1")
    assert " compressed=" in summary and " errors=0" in summary, summary


def test_a_user_on_the_log_host_can_neither_read_nor_plant_in_the_store(host):
    """The retention runs as root over the store: a user of the log host (ephi-una, no auditor) tries
    to hand it a file of theirs (a symlink named like a rotated day, a planted recording), to move
    a host's events.log away, and to read it. Every try is refused."""
    hostdir = "%s/%s" % (STORE, senders()[0])
    # The retention test's last run rotated events.log; the host's next event
    # (its heartbeat comes every 20 s) starts a new one.
    assert wait_for(lambda: host.run("test -f %s/events.log" % hostdir).rc == 0, timeout=60, interval=2)
    planted = ["%s/events.log-20000101T000000Z" % hostdir, "%s/%s/planted.cast" % (hostdir, USER)]
    tries = ["ln -s /etc/shadow %s" % planted[0], "touch %s" % planted[1],
             "mv %s/events.log %s/moved.log" % (hostdir, hostdir), "cat %s/events.log" % hostdir,
             "ls %s" % STORE]
    for attempt in tries:
        result = host.run("runuser -u %s -- %s" % (USER, attempt))
        assert result.rc != 0 and "Permission denied" in result.stderr, (attempt, result.rc, result.stderr)
    assert host.run("ls -d %s" % " ".join(planted)).rc != 0
    assert host.run("test -f %s/events.log" % hostdir).rc == 0


BUFFER_PLAY = """- name: The log_forward role's short local buffer, alone
  hosts: all:!ephi_log_hosts
  gather_facts: false
  tasks:
    - name: Keep the local buffer
      ansible.builtin.include_role:
        name: ephi.safeguards.log_forward
        tasks_from: buffer
"""


def test_local_buffer_deletes_only_what_the_log_host_holds_identically(request, host, tmp_path):
    """Two closed recordings of a sender made 40 days old (log_forward_local_keep_days is 30): the one
    whose copy is on the log host goes, after a prune event that reaches the log host; the one whose
    copy the log host does not show (moved away for the run) stays. test_site.py's verify then finds
    the first pruned, not deleted, in both chain checks."""
    sender_name = senders()[0]
    sender = host_by_name(request, sender_name)
    closed = sender.check_output("grep -l -- 'ephi-end reason=' %s/%s/*.cast" % (MOUNT, USER)).split()
    assert len(closed) >= 2, closed
    pruned, kept = closed[0], closed[1]
    stored = {path: "%s/%s/%s/%s" % (STORE, sender_name, USER, os.path.basename(path)) for path in closed[:2]}
    for path in (pruned, kept):
        want = sha256_of(sender, path)
        assert wait_for(lambda: host.run("sha256sum %s" % stored[path]).stdout.split()[:1] == [want],
                        timeout=30, interval=1), path
    play = tmp_path / "buffer.yml"
    play.write_text(BUFFER_PLAY)
    host.check_output("mv %s %s.away" % (stored[kept], stored[kept]))
    try:
        sender.check_output("touch -d '40 days ago' %s %s" % (pruned, kept))
        run = run_playbook(play, limit=sender_name)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-1000:]
    finally:
        host.check_output("mv %s.away %s" % (stored[kept], stored[kept]))
        sender.check_output("touch %s" % kept)
    assert sender.run("test -e %s" % pruned).rc == 1
    assert sender.run("test -e %s" % kept).rc == 0
    assert host.run("test -f %s" % stored[pruned]).rc == 0
    events = "%s/%s/events.log" % (STORE, sender_name)
    assert wait_for(lambda: "event=pruned file=%s " % pruned in host.run("cat %s" % events).stdout,
                    timeout=15, interval=1)
