"""Attacks on ssh_key_audit by an unprivileged user (issue 10, item 5).

ssh_key_audit runs as root (become) in the role's preflight and verify and
reads every user's ~/.ssh/authorized_keys{,2}. A local user controls those
paths: a FIFO there used to hang preflight and verify for ever, and a
symbolic link to /etc/shadow put fragments of it into the module result
(and so into AWX job events). Here a throw-away user performs both, and a
few variants, and the audit, run exactly as the role runs it, must finish
quickly, report the file, and return nothing of what it points to.

The module is standalone (it needs only sshd), so the tests do not depend
on the rest of the scenario; the user is removed afterwards.
"""

import json
import subprocess
import time

import pytest

from ephi_testlib import name, run_ansible, sh_quote

USER = "ephi-attacker"
# A password hash planted for the attacker: the one shadow line whose
# content the test knows, so that its absence from the result is proven.
SALT = "EphiLeakSalt"
HASH = "$6$%s$Q0w1Jx4zH3m8kT2Vn7bRr5yPe9dLs6aFc1uGh0iJo3lKp4mNq8sTv2wXy5zA7bC9dE1fG3hI5jK7lM9nO1pQ3r" % SALT
SSH = "/home/%s/.ssh" % USER


def as_user(host, command):
    """Run a shell command as the attacker (runuser: real, effective and saved uid, own groups)."""
    return host.check_output("runuser -u %s -- sh -c %s" % (USER, sh_quote(command)))


def audit(host, check, timeout=120):
    """ssh_key_audit with become, as preflight (check=False) and verify (check=True) run it.

    Returns (seconds, parsed result, the whole ansible output). A hang is a
    failure after ``timeout`` seconds, not a hung test run.
    """
    args = [name(host), "--become", "-m", "ephi.safeguards.ssh_key_audit", "-a", json.dumps({"login_user": "ephi-admin"})]
    if check:
        args.append("--check")
    start = time.monotonic()
    try:
        run = run_ansible("ansible", *args, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail("ssh_key_audit did not finish within %d s (hangs on the user's file)" % timeout)
    seconds = time.monotonic() - start
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    start = output.index("=> {") + 3
    return seconds, json.JSONDecoder().raw_decode(output[start:])[0], output


def findings(result, path):
    return [r for r in result["invalid_lines"] if r["path"] == path]


@pytest.fixture(scope="module")
def attacker(host):
    host.check_output("id %s >/dev/null 2>&1 || useradd -m -s /bin/bash %s" % (USER, USER))
    host.check_output("usermod -p %s %s" % (sh_quote(HASH), USER))
    assert HASH in host.check_output("grep ^%s: /etc/shadow" % USER)
    as_user(host, "mkdir -p -m 0700 %s" % SSH)
    yield USER
    host.run("pkill -KILL -u %s; userdel -r %s" % (USER, USER))


@pytest.fixture
def clean(host, attacker):
    as_user(host, "rm -rf %s/authorized_keys %s/authorized_keys2" % (SSH, SSH))
    yield
    as_user(host, "rm -rf %s/authorized_keys %s/authorized_keys2" % (SSH, SSH))


def test_baseline_audit_takes_seconds(host, clean):
    seconds, result, dummy = audit(host, check=True)
    assert not [r for r in result["invalid_lines"] if r.get("user") == USER]
    assert seconds < 60, seconds


@pytest.mark.parametrize("check", [False, True], ids=["preflight", "verify"])
def test_fifo_does_not_hang_the_audit(host, clean, check):
    as_user(host, "mkfifo %s/authorized_keys" % SSH)
    seconds, result, dummy = audit(host, check=check)
    assert seconds < 60, seconds
    assert [(r["user"], r["line"], r["error"]) for r in findings(result, SSH + "/authorized_keys")] == [
        (USER, 0, "%s/authorized_keys is a FIFO (named pipe), not a regular file" % SSH)]


def test_symlink_to_shadow_leaks_nothing(host, clean):
    as_user(host, "ln -s /etc/shadow %s/authorized_keys && ln -s /etc/gshadow %s/authorized_keys2" % (SSH, SSH))
    dummy, result, output = audit(host, check=True)
    for leak in (SALT, HASH[:12], "$6$", "$y$", "root:", USER + ":"):
        assert leak not in output, leak
    for path in (SSH + "/authorized_keys", SSH + "/authorized_keys2"):
        assert [(r["line"], r["error"]) for r in findings(result, path)] == [
            (0, "%s is a symbolic link in a directory that is not root-only; it is not followed" % path)]


def test_symlinked_ssh_directory_is_not_followed(host, clean):
    as_user(host, "mv %s %s.real && ln -s /etc %s" % (SSH, SSH, SSH))
    try:
        dummy, result, dummy = audit(host, check=True)
        refused = [r for r in result["invalid_lines"] if r.get("user") == USER]
        assert refused and all(r["line"] == 0 and "%s is a symbolic link" % SSH in r["error"] for r in refused), refused
    finally:
        as_user(host, "rm -f %s && mv %s.real %s" % (SSH, SSH, SSH))


def test_lines_that_are_not_keys_are_not_echoed(host, clean):
    # The parse errors used to quote the line: "bad option syntax at ':EPHI-MARKER-1'",
    # "unknown key type EPHI-MARKER-2".
    as_user(host, "printf '%%s\\n' 'x:EPHI-MARKER-1' 'restrict EPHI-MARKER-2 AAAA' > %s/authorized_keys" % SSH)
    dummy, result, output = audit(host, check=True)
    assert "EPHI-MARKER" not in output
    assert [r["line"] for r in findings(result, SSH + "/authorized_keys")] == [1, 2]
