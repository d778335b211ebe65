"""Attacks of an unprivileged user on the tmux live audit (security issue 10).

A tmux client obeys its server: hooks can make it write files (save-buffer)
and run commands. The live audit (tmux_settings, as converge and verify.yml
run it) used to run its client as root in every user's server, so a hook in
a user's own server wrote files as root. These tests perform the attacks as
ephi-carol against the converged instance and prove they fail, and that the
evidence fails (not passes) for a server the audit could not examine.
"""

import json
import os
import textwrap
import time
import uuid

import pytest

from ephi_testlib import (LOCK_AFTER, SSH, TMUX_POLICY, by_id, close_terminals, enforcer_paused, kill_users,
                          login_in_terminal, scenario_path, screen, sh_quote, tmux_settings, type_line, verify_controls,
                          wait_for)

ATTACKER = "ephi-carol"
ROOT_TARGET = "/etc/cron.d/ephi-attack"
OWN_TARGET = "/home/%s/ephi-attack-proof" % ATTACKER
FAKE_DIR = "/tmp/tmux-ephi-fake"
# Every command the audit sends to a server gets an after-hook that writes a file.
AUDIT_COMMANDS = ["list-sessions", "show-options", "list-windows", "list-panes", "set-option"]


VLOCK_MAIN = "/usr/sbin/vlock-main"
LOCK_PLUGIN = "/usr/lib/vlock/scripts/ephi-tmux-event"
AUTOSTART = "/etc/profile.d/ephi-tmux-autostart.sh"


def as_attacker(host, command):
    return host.run("runuser -u %s -- %s" % (ATTACKER, command))


def attacker_tmux(host, socket_name, args):
    return as_attacker(host, "tmux -L %s %s" % (socket_name, args))


def plant_hooks(host, socket_name, target):
    assert attacker_tmux(host, socket_name, "-f /dev/null new-session -d -s attack").rc == 0
    for command in AUDIT_COMMANDS:
        hook = "set-buffer pwned ; save-buffer %s-%s" % (target, command)
        assert attacker_tmux(host, socket_name, "set-hook -g after-%s '%s'" % (command, hook)).rc == 0


@pytest.fixture
def attack(host):
    # The enforcer removes hooks planted on its own commands within seconds
    # (test_enforcer.py proves that): paused, so that what is tested here is
    # how the audit itself copes with a hostile server.
    with enforcer_paused(host):
        yield
    host.run("pkill -KILL -u %s" % ATTACKER)
    host.run("rm -rf %s-* %s-* %s /tmp/ephi-fake-server.py" % (ROOT_TARGET, OWN_TARGET, FAKE_DIR))


def test_hooks_cannot_make_the_audit_write_as_root(host, attack):
    plant_hooks(host, "to-root", ROOT_TARGET)
    plant_hooks(host, "to-own", OWN_TARGET)

    audit = tmux_settings(host, "audit", **TMUX_POLICY)
    enforce = tmux_settings(host, "enforce", **TMUX_POLICY)
    for result in (audit, enforce):
        assert not result.get("failed"), result

    # Nothing was written where only root may write.
    assert host.run("ls %s-*" % ROOT_TARGET).rc != 0
    # The client did run, as ephi-carol: what it wrote for her own server's
    # hooks is hers.
    written = host.run("stat -c '%%U' %s-list-sessions" % OWN_TARGET)
    assert written.rc == 0 and written.stdout.strip() == ATTACKER
    # The server whose hooks failed (permission denied) was not examined, and
    # says so; one user cannot fail the run for everyone.
    # (tmux 3.3a says "Permission denied", 3.5a reports the failed command.)
    statuses = {os.path.basename(s["socket"]): s["status"] for s in audit["servers"]
                if s["user"] == ATTACKER and os.path.basename(s["socket"]) in ("to-root", "to-own")}
    assert statuses["to-own"] == "running", audit["servers"]
    assert statuses["to-root"] in ("denied", "error"), audit["servers"]
    assert "to-root" in [os.path.basename(s["socket"]) for s in audit["unexamined"]]


def test_fake_server_in_a_shared_directory_is_never_reached(host, attack):
    # A listening socket nobody answers on, in a directory everyone may
    # write: a connected client would hang (timeout); an unsafe one is never
    # connected to.
    script = textwrap.dedent("""\
        import os, socket, time
        os.makedirs('%(d)s', exist_ok=True)
        os.chmod('%(d)s', 0o777)
        s = socket.socket(socket.AF_UNIX)
        s.bind('%(d)s/default')
        s.listen(5)
        time.sleep(120)
        """ % {"d": FAKE_DIR})
    host.run("cat > /tmp/ephi-fake-server.py <<'EOF'\n%sEOF\nchmod 0644 /tmp/ephi-fake-server.py" % script)
    as_attacker(host, "sh -c 'nohup python3 /tmp/ephi-fake-server.py >/dev/null 2>&1 &'")
    assert host.run("for i in $(seq 50); do [ -S %s/default ] && exit 0; sleep 0.1; done; exit 1" % FAKE_DIR).rc == 0

    result = tmux_settings(host, "audit", socket_dirs=["/tmp/tmux-*"], **TMUX_POLICY)
    fake = [s for s in result["servers"] if s["socket"] == FAKE_DIR + "/default"]
    assert len(fake) == 1, result["servers"]
    assert fake[0]["status"] == "unsafe", fake
    assert "writable by group or others" in fake[0]["msg"]
    assert fake in [[u] for u in result["unexamined"]]


def test_hooks_that_stall_or_flood_the_client_cost_the_audit_only_that_users_budget(host, attack):
    # Hooks on every command the audit sends: in some servers a run-shell
    # that blocks the client (without -b the server's command queue waits for
    # it), in others one that pours output into it. Ten servers of one user,
    # and another user's ordinary server: the audit must end within its
    # bounds (a client is stopped after 5 s or 4 MiB, and after two time-outs
    # a user's other servers are not waited for), report the attacker's
    # servers as not examined, and still examine the other user's server.
    hooks = {"stall": "run-shell 'sleep 60'", "flood": "run-shell 'yes | head -c 50000000'"}
    for kind, count in (("stall", 8), ("flood", 2)):
        for index in range(count):
            socket_name = "%s-%d" % (kind, index)
            assert attacker_tmux(host, socket_name, "-f /dev/null new-session -d -s %s" % kind).rc == 0
            for command in AUDIT_COMMANDS:
                assert attacker_tmux(host, socket_name, "set-hook -g after-%s %s" % (command, sh_quote(hooks[kind]))).rc == 0
    victim = "ephi-dave"
    assert host.run("runuser -u %s -- tmux -L ephi-victim new-session -d -s work" % victim).rc == 0
    try:
        started = time.monotonic()
        audit = tmux_settings(host, "audit", **TMUX_POLICY)
        elapsed = time.monotonic() - started
    finally:
        kill_users(host, victim)
    assert not audit.get("failed"), audit
    servers = {(s["user"], os.path.basename(s["socket"])): s for s in audit["servers"]}
    attacked = {key: s["status"] for key, s in servers.items() if key[0] == ATTACKER and key[1].startswith(("stall-", "flood-"))}
    assert len(attacked) == 10, audit["servers"]
    assert all(status not in ("running", "stale") for status in attacked.values()), attacked
    unexamined = [(s["user"], os.path.basename(s["socket"])) for s in audit["unexamined"]]
    assert all(key in unexamined for key in attacked), audit["unexamined"]
    assert servers[(victim, "ephi-victim")]["status"] == "running", audit["servers"]
    # Two waits of 5 s for the attacker's eight stalling servers (40 s if
    # each were waited for; the flooding ones stop at 4 MiB), plus the
    # module run itself.
    assert elapsed < 30, (elapsed, attacked)


def _verify_controls(host):
    """Run the role's verify entry point (as verify.yml does) for this host only."""
    policy = {"tmux_lock_after_time": LOCK_AFTER, "tmux_autostart_exempt_users": ["ephi-admin", "ephi-dave"]}
    return by_id(verify_controls(host, scenario_path("verify_play.yml"), "tmux_verify_controls",
                                 "-e", json.dumps(policy)))


def test_evidence_fails_for_unexamined_server_and_missing_lock_program(host, attack):
    # A server the audit cannot examine, and a lock program that is gone
    # (tmux then unlocks at once): both controls must fail, not pass.
    # A zsh login shell never reads /etc/profile, so never starts tmux. The
    # autostart script with a line that ends it early (its content is compared
    # by sha256 with the role's template, host_probe's digest).
    plant_hooks(host, "to-root", ROOT_TARGET)
    assert host.run("mv %s %s.ephi-test" % (VLOCK_MAIN, VLOCK_MAIN)).rc == 0
    assert host.run("mv %s %s.ephi-test" % (LOCK_PLUGIN, LOCK_PLUGIN)).rc == 0
    assert host.run("useradd -m -s /usr/bin/zsh ephi-zed").rc == 0
    assert host.run("cp -p %s /root/ephi-autostart.good && sed -i '1a return 0' %s" % (AUTOSTART, AUTOSTART)).rc == 0
    try:
        controls = _verify_controls(host)
    finally:
        host.run("mv %s.ephi-test %s" % (VLOCK_MAIN, VLOCK_MAIN))
        host.run("mv %s.ephi-test %s" % (LOCK_PLUGIN, LOCK_PLUGIN))
        host.run("userdel -r ephi-zed")
        host.run("mv -f /root/ephi-autostart.good %s" % AUTOSTART)
    live = controls["tmux-live-servers"]
    assert live["status"] == "fail", live
    assert "NOT examined" in live["observed"] and ATTACKER in live["observed"], live
    lock = controls["tmux-lock-policy"]
    assert lock["status"] == "fail", lock
    assert "lock program %s MISSING" % VLOCK_MAIN in lock["observed"], lock
    assert "event plugin %s MISSING" % LOCK_PLUGIN in lock["observed"], lock
    assert "~/.vlockrc" in lock["check"], lock
    assert host.run("ls %s-*" % ROOT_TARGET).rc != 0
    autostart = controls["tmux-autostart"]
    assert autostart["status"] == "fail", autostart
    assert "ephi-zed (/usr/bin/zsh)" in autostart["observed"], autostart
    assert "autostart script missing or altered" in autostart["observed"], autostart
    # The exempt users of the converge are not findings.
    assert "ephi-dave" not in autostart["observed"]


def test_users_vlockrc_cannot_end_the_lock(host):
    # Debian's /usr/bin/vlock (the STIG's literal "vlock") sources the user's
    # ~/.vlockrc before it locks: with "exit 0" there every lock ended at once
    # and the pane ran what was typed, without a password (measured with the
    # role's former lock-command). The role runs vlock-main itself: the lock
    # holds until the user's password is typed, and lock and unlock are
    # events with user and tty. Over a real SSH login, as the attacker.
    password = "Ephi-%s" % uuid.uuid4().hex[:16]
    shadow = host.check_output("getent shadow %s | cut -d: -f2" % ATTACKER)
    host.check_output("echo %s:%s | chpasswd" % (ATTACKER, password))
    assert as_attacker(host, "sh -c 'echo \"exit 0\" > ~/.vlockrc'").rc == 0
    since = host.check_output("date '+%Y-%m-%d %H:%M:%S'")
    before, after = uuid.uuid4().hex, uuid.uuid4().hex
    try:
        login_in_terminal(host, "vlockrc", "%s -tt %s@127.0.0.1" % (SSH, ATTACKER))
        assert wait_for(lambda: as_attacker(host, "tmux list-clients").stdout.strip() != ""), screen(host, "vlockrc")
        assert as_attacker(host, "tmux lock-session").rc == 0
        assert wait_for(lambda: "locked" in screen(host, "vlockrc")), screen(host, "vlockrc")
        # Typed while locked: vlock takes the line as "unlock, please" and
        # asks for the password; the shell never sees it.
        type_line(host, "vlockrc", "echo %s-$((6*7))" % before)
        assert wait_for(lambda: "assword" in screen(host, "vlockrc")), screen(host, "vlockrc")
        assert host.run("pgrep -U %s -x vlock-main" % ATTACKER).rc == 0
        type_line(host, "vlockrc", password)
        assert wait_for(lambda: host.run("pgrep -U %s -x vlock-main" % ATTACKER).rc == 1)
        # Positive control: unlocked, the pane runs what is typed.
        type_line(host, "vlockrc", "echo %s-$((6*7))" % after)
        assert wait_for(lambda: "%s-42" % after in screen(host, "vlockrc")), screen(host, "vlockrc")
        assert "%s-42" % before not in screen(host, "vlockrc")
        log = host.check_output("journalctl --no-pager -o cat -t ephi-tmux-event --since %s" % sh_quote(since))
        lock = [line for line in log.splitlines() if line.startswith("event=lock user=%s tty=/dev/pts/" % ATTACKER)]
        unlock = [line for line in log.splitlines() if line.startswith("event=unlock user=%s tty=/dev/pts/" % ATTACKER)]
        assert lock and unlock, log
        assert unlock[-1] == "event=unlock" + lock[-1][len("event=lock"):], log
    finally:
        close_terminals(host)
        kill_users(host, ATTACKER)
        host.run("rm -f /home/%s/.vlockrc" % ATTACKER)
        host.run("usermod -p %s %s" % (sh_quote(shadow), ATTACKER))
