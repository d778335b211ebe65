"""The tmux role's capture collector (roles/tmux/files/ephi-capture-collector) keeps every byte the kernel
accepted from the client when it is stopped (SIGTERM: a restart, an upgrade, a shutdown): the client then
gets EPIPE and sends the rest to a new collector, so a byte lost here is a line lost from the recording.

The collector runs as root on the host, from this checkout, with only its configuration path changed
(to a file naming /dev/shm, a tmpfs, as the accepted "encrypted" filesystem type: its refusal of other
directories is tested by Molecule). A client streams numbered lines as fast as the socket takes them and
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
BASE = "/dev/shm"
USER = "root"
RUNS = 20

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or " %s " % BASE not in open("/proc/self/mountinfo").read(),
    reason="the collector runs as root and needs a mount point it accepts")


@pytest.fixture
def collector(tmp_path):
    """The collector's path, reading its configuration from tmp_path; its user directory removed after."""
    userdir = os.path.join(BASE, USER)
    if os.path.exists(userdir):
        pytest.skip("%s exists already; this test would write into it" % userdir)
    conf = tmp_path / "capture.json"
    conf.write_text(json.dumps({"dir": BASE, "fstypes": ["tmpfs"], "group": "root"}))
    with open(PROGRAM) as handle:
        source = handle.read()
    patched, count = re.subn(r"^CONF = .*$", "CONF = %r" % str(conf), source, flags=re.M)
    assert count == 1
    path = tmp_path / "ephi-capture-collector"
    path.write_text(patched)
    yield str(path), userdir
    shutil.rmtree(userdir, ignore_errors=True)


def stop_while_streaming(program, userdir, seed):
    """(the bytes the client's send() accepted, the output in the collector's log, its end line)."""
    rng = random.Random(seed)
    shutil.rmtree(userdir, ignore_errors=True)
    client, server = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    proc = subprocess.Popen([sys.executable, program], stdin=server, close_fds=True)
    server.close()
    client.sendall(json.dumps({"session": "s", "window": "0", "pane": "0", "pane_id": "%0"}).encode() + b"\n")
    stream = b"".join(b"ephi-seq-%d\n" % i for i in range(1, 200001))
    accepted = 0
    stop_at = time.monotonic() + rng.uniform(0.05, 0.3)
    stopped = False
    try:
        while accepted < len(stream):
            if not stopped and time.monotonic() >= stop_at:
                proc.send_signal(signal.SIGTERM)
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
    logs = os.listdir(userdir)
    assert len(logs) == 1, logs
    with open(os.path.join(userdir, logs[0]), "rb") as handle:
        text = handle.read()
    header, _sep, body = text.partition(b"\n")
    assert header.startswith(b"# ephi-capture start=")
    body, end = body[:body.rindex(b"# ephi-capture end=")], body[body.rindex(b"# ephi-capture end="):]
    if not stream[:accepted].endswith(b"\n"):
        body = body[:-1]  # the newline the collector adds before its end line
    output = re.sub(rb"(^|\n)\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ", rb"\1", body)
    return stream[:accepted], output, end


def test_a_stopped_collector_keeps_every_byte_the_kernel_accepted(collector):
    program, userdir = collector
    for seed in range(RUNS):
        sent, written, end = stop_while_streaming(program, userdir, seed)
        assert b" reason=collector-stopped" in end, end
        assert b" bytes=%d " % len(sent) in end, (seed, len(sent), end)
        assert written == sent, (seed, len(sent), len(written))
