"""The tmux role's capture collector (roles/tmux/files/ephi-capture-collector) keeps every byte the kernel
accepted from the client when it is stopped (SIGTERM: a restart, an upgrade, a shutdown): the client then
gets EPIPE and sends the rest to a new collector, so a byte lost here is a line lost from the recording.

The collector runs as root, from this checkout, with only its configuration path changed: to a file
naming a tmpfs that is mounted on a directory of the test's own (0700, root's) in a private mount namespace,
and tmpfs as the accepted "encrypted" filesystem type (its refusal of other directories is tested by
Molecule). Nowhere a user could plant a directory first, as in /tmp or /dev/shm. A client streams numbered lines as fast as the socket takes them and
the collector is stopped at a random moment: its log must hold exactly the bytes the client's send()
calls returned, in order. The collector before this test existed lost a whole recv() of output in most
such runs (its SIGTERM handler raised an exception that could land after recv() had returned data); the
Molecule test test_collector_restart_loses_nothing lost one line of its stream that way, rarely.
"""

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROGRAM = os.path.join(REPO, "roles", "tmux", "files", "ephi-capture-collector")
USER = "root"
RUNS = 20
# In a private mount namespace: a tmpfs on $1, the collector ($2 $3) with the test's socket as its
# stdin, then its log copied to $4 (the tmpfs goes with the namespace).
RUNNER = 'mount -t tmpfs -o mode=0755 ephi-test "$1" && "$2" "$3"; rc=$?; cat "$1"/%s/*.log > "$4"; exit $rc' % USER

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                                reason="the collector runs as root; the test mounts a tmpfs in a private namespace")


@pytest.fixture
def collector(tmp_path):
    """(the collector reading its configuration from tmp_path, the mount point, where its log is copied)."""
    mount = tmp_path / "mnt"
    mount.mkdir()
    conf = tmp_path / "capture.json"
    conf.write_text(json.dumps({"dir": str(mount), "fstypes": ["tmpfs"], "group": "root"}))
    with open(PROGRAM) as handle:
        source = handle.read()
    patched, count = re.subn(r"^CONF = .*$", "CONF = %r" % str(conf), source, flags=re.M)
    assert count == 1
    path = tmp_path / "ephi-capture-collector"
    path.write_text(patched)
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "mount", "-t", "tmpfs", "ephi-test", str(mount)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    if probe.returncode != 0:
        pytest.skip("cannot mount a tmpfs in a private mount namespace: %s" % probe.stdout.decode(errors="replace"))
    return str(path), str(mount), str(tmp_path / "copied.log")


def collector_pid(runner, program):
    """The collector's pid once it catches SIGTERM (a stop before that is not what this test is about)."""
    children = "/proc/%d/task/%d/children" % (runner.pid, runner.pid)
    for dummy in range(1000):
        with open(children) as handle:
            pids = handle.read().split()
        for pid in pids:
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as handle:
                    argv = handle.read().split(b"\0")
                with open("/proc/%s/status" % pid) as handle:
                    caught = [line.split()[1] for line in handle if line.startswith("SigCgt:")]
            except OSError:
                continue
            if program.encode() in argv and caught and int(caught[0], 16) & (1 << (signal.SIGTERM - 1)):
                return int(pid)
        time.sleep(0.01)
    raise AssertionError("the collector did not start")


def stop_while_streaming(program, mount, copied, seed):
    """(the bytes the client's send() accepted, the output in the collector's log, its end line)."""
    rng = random.Random(seed)
    client, server = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", RUNNER, "sh",
                             mount, sys.executable, program, copied], stdin=server, close_fds=True)
    server.close()
    client.sendall(json.dumps({"session": "s", "window": "0", "pane": "0", "pane_id": "%0"}).encode() + b"\n")
    pid = collector_pid(proc, program)
    stream = b"".join(b"ephi-seq-%d\n" % i for i in range(1, 200001))
    accepted = 0
    stop_at = time.monotonic() + rng.uniform(0.05, 0.3)
    stopped = False
    try:
        while accepted < len(stream):
            if not stopped and time.monotonic() >= stop_at:
                os.kill(pid, signal.SIGTERM)
                stopped = True
            try:
                accepted += client.send(stream[accepted:accepted + rng.choice((13, 14, 40, 200))])
            except OSError:
                break
            if not stopped and rng.random() < 0.5:
                time.sleep(0.0005)
        assert proc.wait(timeout=30) == 0
    finally:
        client.close()
        if proc.poll() is None:
            proc.kill()
    with open(copied, "rb") as handle:
        text = handle.read()
    assert text.count(b"# ephi-capture start=") == 1, text[:300]
    header, _sep, body = text.partition(b"\n")
    assert header.startswith(b"# ephi-capture start=")
    body, end = body[:body.rindex(b"# ephi-capture end=")], body[body.rindex(b"# ephi-capture end="):]
    if not stream[:accepted].endswith(b"\n"):
        body = body[:-1]  # the newline the collector adds before its end line
    output = re.sub(rb"(^|\n)\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ", rb"\1", body)
    return stream[:accepted], output, end


def test_a_stopped_collector_keeps_every_byte_the_kernel_accepted(collector):
    program, mount, copied = collector
    for seed in range(RUNS):
        sent, written, end = stop_while_streaming(program, mount, copied, seed)
        assert b" reason=collector-stopped" in end, end
        assert b" bytes=%d " % len(sent) in end, (seed, len(sent), end)
        assert written == sent, (seed, len(sent), len(written))
