"""Encrypted session logs on a converged instance.

A real login (su in a pane of root's outer tmux server, as in
molecule/tmux/tests/test_tmux.py) lands in the user's tmux session, whose
panes are piped to the root collector; the tests read what arrived in the
encrypted directory and what did not arrive anywhere else.
"""

import json
import subprocess
import time
import uuid

import pytest

MOUNT = "/var/log/ephi"
BACKING = "/var/lib/ephi-encrypted-logs/ciphertext"
USER = "ephi-erin"
OUTER = "tmux -L ephi-test-outer -f /dev/null"


def wait_for(predicate, timeout=20.0, interval=0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def login(host, name="erin"):
    host.run("%s kill-session -t %s" % (OUTER, name))
    host.check_output("%s new-session -d -s %s -x 120 -y 30 env TERM=xterm su - %s" % (OUTER, name, USER))
    assert wait_for(lambda: host.run("runuser -u %s -- tmux list-panes -a -F '#{pane_pipe}'" % USER).stdout.strip() == "1")


def type_line(host, text, name="erin"):
    host.check_output("%s send-keys -t %s %s Enter" % (OUTER, name, json.dumps(text)))


def new_marker(kind):
    """(what to type, a grep pattern for what the shell prints).

    Every test command runs through sudo, which logs its command line to the
    journal, so the marker never appears literally in a command: the shell
    joins two halves with printf, and the pattern ("ephi-marke[r]-<hex>")
    matches the printed marker but not itself.
    """
    token = uuid.uuid4().hex
    typed = "printf '%%s-%%s\\n' ephi-%s %s" % (kind, token)
    pattern = "'ephi-%s[%s]-%s'" % (kind[:-1], kind[-1], token)
    return typed, pattern


def user_logs_with(host, pattern):
    return host.run("grep -rl -- %s %s/%s" % (pattern, MOUNT, USER)).stdout.split()


@pytest.fixture(autouse=True)
def cleanup(host):
    yield
    host.run("%s kill-server" % OUTER)
    host.run("pkill -KILL -u %s" % USER)


def test_directory_is_mounted_with_gocryptfs(host):
    assert host.check_output("findmnt -n -o FSTYPE --mountpoint %s" % MOUNT) == "fuse.gocryptfs"
    assert host.service("ephi-encrypted-logs").is_enabled
    key = host.file("/etc/ephi-encrypted-logs/passphrase")
    assert key.user == "root" and key.mode == 0o400
    assert host.file(BACKING + "/gocryptfs.conf").exists


def test_marker_is_captured_attributed_and_protected(host):
    login(host)
    typed, marker = new_marker("marker")
    type_line(host, typed)
    files = wait_for(lambda: user_logs_with(host, marker), timeout=10)
    assert files, host.run("ls -laR %s" % MOUNT).stdout
    log = files[0]
    uid = host.user(USER).uid
    head = host.check_output("head -n 1 %s" % log)
    assert "user=%s uid=%d " % (USER, uid) in head
    f = host.file(log)
    assert f.user == "root" and f.mode == 0o640
    # The user can neither read nor delete the log.
    out = host.run("runuser -u %s -- cat %s" % (USER, log))
    assert out.rc != 0 and "Permission denied" in out.stderr
    out = host.run("runuser -u %s -- rm -f %s" % (USER, log))
    assert out.rc != 0 and "Permission denied" in out.stderr
    # Only ciphertext at rest; no content in the journal or /tmp.
    assert host.run("grep -rl -- %s %s" % (marker, BACKING)).rc == 1
    assert host.run("grep -rl -- %s /tmp /var/tmp" % marker).rc == 1
    assert host.run("journalctl --no-pager -o cat | grep -c -- %s" % marker).stdout.strip() == "0"
    # Session events are in the journal, without content.
    assert wait_for(lambda: "event=session-created user=%s" % USER in host.run(
        "journalctl --no-pager -o cat -t ephi-tmux-event").stdout)


def test_kill_9_of_the_tmux_server_loses_nothing_written(host):
    login(host)
    typed, marker = new_marker("kill")
    type_line(host, typed)
    time.sleep(1)
    host.run("pkill -KILL -u %s -x 'tmux: server'" % USER)
    host.run("pkill -KILL -u %s tmux" % USER)
    assert wait_for(lambda: user_logs_with(host, marker), timeout=10)


def test_closing_the_pipe_is_reported_as_drift(host):
    login(host)
    assert host.run("runuser -u %s -- tmux pipe-pane" % USER).rc == 0
    assert host.run("runuser -u %s -- tmux list-panes -a -F '#{pane_pipe}'" % USER).stdout.split() == ["0"]
    args = {"path": "/etc/tmux.conf", "live": "audit", "require_pipe": True,
            "socket_dirs": ["/tmp/tmux-%d" % host.user(USER).uid]}
    audit = host.ansible("ephi.safeguards.tmux_settings", json.dumps(args), check=False, become=True)
    drift = [d for d in audit["drift"] if d["user"] == USER and d["option"] == "pane_pipe"]
    assert len(drift) == 1 and drift[0]["found"] == "0", audit["drift"]
    assert audit["changed"] is False


def ssh_answers(host):
    try:
        return host.run("true").rc == 0
    except RuntimeError:  # ssh exit 255: the instance is still starting
        return False


def close_ssh_master(host):
    """Close the ControlPersist master that testinfra's ssh commands share (the
    scenario's control_path): one from before the restart would hold a dead
    connection, and a command multiplexed over it could hang."""
    try:
        ssh = host.backend.ansible_runner.get_host(host.backend.get_hostname()).backend
        path, spec = ssh.controlpath, ssh.host
    except AttributeError:  # not the ansible backend over ssh: nothing shared
        return
    if path:
        cmd = ["ssh", "-o", "ControlPath=" + path.replace("%%", "%"), "-O", "exit"]
        cmd += ["-p", str(spec.port)] if spec.port else []
        cmd += ["-l", spec.user] if spec.user else []
        subprocess.run(cmd + [spec.name], capture_output=True, timeout=15, check=False)


def test_container_restart_mounts_again_and_capture_works_again(host):
    # Last test of the file: it restarts the instance from the controller (the
    # test process runs there, next to podman; the inventory name is the
    # container name), so the boot-time unit must unlock and mount the
    # directory again and the collector must pick up the new logins.
    name = host.backend.get_hostname()
    assert name.startswith("ephi-encrypted_logs-"), name
    close_ssh_master(host)
    subprocess.run(["podman", "restart", "-t", "5", name], check=True, timeout=120,
                   capture_output=True, text=True)
    assert wait_for(lambda: ssh_answers(host), timeout=90, interval=1), "no SSH 90 s after the restart"
    assert wait_for(lambda: host.run("findmnt -n -o FSTYPE --mountpoint %s" % MOUNT).stdout.strip() == "fuse.gocryptfs",
                    timeout=30), host.run("systemctl status --no-pager ephi-encrypted-logs").stdout
    # The capture socket comes up after the directory, with multi-user.target.
    assert wait_for(lambda: host.run("systemctl is-active ephi-capture.socket").stdout.strip() == "active",
                    timeout=30), host.run("systemctl status --no-pager ephi-capture.socket").stdout
    login(host)
    typed, marker = new_marker("restart")
    type_line(host, typed)
    assert wait_for(lambda: user_logs_with(host, marker), timeout=10), host.run("ls -laR %s" % MOUNT).stdout
    assert host.run("grep -rl -- %s %s" % (marker, BACKING)).rc == 1
