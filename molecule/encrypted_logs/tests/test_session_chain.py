"""Tamper evidence of the recordings (issue 14, item 4, on the host).

The root recorder keeps a SHA-256 chain over every line of a recording and
logs its heads (event=chain, content-free) to the journal; the module
ephi.safeguards.audit_chain_verify and the tmux role's control
tmux-audit-chain compare the store with the heads. Four short command
sessions are recorded; root then edits one byte of one recording, truncates a
second and deletes a third: the module and the control name each with its
first bad chunk, and the fourth stays ok. A user can write no recording, and
a chain event the user logs under the recorder's syslog tag is not trusted
(journald's _UID/_SYSTEMD_UNIT, not SYSLOG_IDENTIFIER); nor is a prune event
(event=pruned, which log_forward's buffer logs as root when the log host holds
a copy) the user forges for the recording that is then deleted, with its exact
final head, lines, bytes and sha256: the recording stays "deleted". The recordings are put
back afterwards, so the store verifies again for the tests after this one.
The tmux role's verify keeps a cache of the closed recordings it found intact
(root's, 0600, inside the store; a user can neither read nor write it): the
byte root flips keeps the file's size and has its modification time set back,
and the verify still reads it again and names it (the change time moved),
while it takes the untouched recordings from the cache.

The gate itself runs from bytecode root compiled into a root-owned
__pycache__: a user cannot write there, and a .pyc that others could write
fails the tmux-session-gate control.
"""

import json
import os
import re

import pytest

from ephi_testlib import (GATED_USER, MOUNT, SSH, events_in, gated_users_clean, name, run_playbook, sh_quote,
                          split_marker, wait_for)

USER = GATED_USER
BACKUP = "/root/ephi-chain-test-backup"
# The scenario's converge (molecule/encrypted_logs/converge.yml) as far as the control reads it.
VERIFY_VARS = {"tmux_lock_after_time": 15, "tmux_session_idle_logoff": 30, "tmux_autostart_exempt_users": ["ephi-admin"],
               "tmux_session_gate_exempt_users": [{"name": "ephi-breakglass", "reason": "break-glass"}]}

pytestmark = pytest.mark.usefixtures(gated_users_clean.__name__)


def chain_check(host, tmp_path, label, control_id="tmux-audit-chain"):
    """One Ansible run: the module on the store (heads from the journal, no cache) and the tmux role's
    verify (with its cache, tmux_verify_chain_cache); (module result, the record of CONTROL_ID). The
    verify's own chain check (the session gate audit's chain) is left in chain_check.verify_module."""
    out = tmp_path / ("chain-%s.json" % label)
    play = tmp_path / ("chain-%s.yml" % label)
    play.write_text(
        "- hosts: %s\n  gather_facts: false\n  become: true\n  tasks:\n"
        "    - ephi.safeguards.audit_chain_verify:\n        path: %s\n      register: chain\n"
        "    - ansible.builtin.include_role:\n        name: ephi.safeguards.tmux\n        tasks_from: verify\n"
        "      vars: %s\n"
        "    - ansible.builtin.copy:\n        dest: %s\n        mode: '0600'\n"
        "        content: \"{{ {'module': chain, 'controls': tmux_verify_controls,"
        " 'verify_module': __tmux_verify_session_gate.chain} | to_json }}\"\n"
        "      delegate_to: localhost\n      become: false\n" % (name(host), MOUNT, json.dumps(VERIFY_VARS), out))
    run = run_playbook(str(play), timeout=300)
    assert run.returncode == 0, run.stdout[-3000:]
    result = json.loads(out.read_text())
    control = [c for c in result["controls"] if c["id"] == control_id]
    assert len(control) == 1, result["controls"]
    chain_check.verify_module = result["verify_module"]
    return result["module"], control[0]


def cached_paths(entries):
    """The absolute paths of the verify cache's ENTRIES (relative to the store)."""
    return set(os.path.join(MOUNT, rel) for rel in entries)


def chain_events(host, *needles):
    """The ephi-session chain events whose line has one of NEEDLES (grep on the host: Ansible's
    session through the gate records what the command prints, so the whole journal is not read)."""
    out = host.run("journalctl --no-pager -q -o cat -t ephi-session | grep -F %s" % " ".join(
        "-e %s" % sh_quote(n) for n in needles))
    return events_in(out.stdout, event="chain")


def recorded_sessions(host, count):
    """COUNT closed command sessions of USER at once, each printing its session id and then a marker
    six times over 3 s (a chain event comes at most every 2 s: each recording gets a head in the
    middle); their final chain events, by file name."""
    needles, script = [], ""
    for i in range(count):
        typed, needle = split_marker("chain%d" % i)
        command = "echo ephi-sid=$EPHI_SESSION_ID; for i in 1 2 3 4 5 6; do %s; sleep 0.5; done" % typed
        script += "%s -T %s@127.0.0.1 %s < /dev/null > /tmp/ephi-chain-%d.out 2>&1 &\n" % (
            SSH, USER, sh_quote(command), i)
        needles.append(needle)
    out = host.run(script + "wait; cat /tmp/ephi-chain-*.out; rm -f /tmp/ephi-chain-*.out")
    for needle in needles:
        assert out.stdout.count(needle) == 6, (needle, out.stdout[-1000:], out.stderr[-500:])
    ids = re.findall(r"ephi-sid=([0-9a-f]{16})", out.stdout)
    assert len(set(ids)) == count, out.stdout[-1000:]
    finals = wait_for(lambda: [e for e in chain_events(host, *["id=%s " % i for i in ids]) if e["final"] == "1"]
                      if len(chain_events(host, *["id=%s " % i for i in ids])) >= 2 * count else [])
    assert len(finals) == count, chain_events(host, *["id=%s " % i for i in ids])
    return sorted(finals, key=lambda e: e["file"])


def test_chain_names_modified_truncated_deleted_and_ignores_a_users_forgery(host, tmp_path):
    finals = recorded_sessions(host, 4)
    files = [f["file"] for f in finals]
    for final in finals:
        # The final event covers the whole closed file; the events before it have no hole.
        data = host.check_output("wc -lc < %s" % final["file"]).split()
        assert (final["n"], final["bytes"]) == (data[0], data[1]), (final, data)
        assert int(final["seq"]) >= 1 and len(final["head"]) == 64, final
        seqs = sorted(int(e["seq"]) for e in chain_events(host, "id=%s " % final["id"]))
        assert seqs == list(range(int(final["seq"]) + 1)), seqs

    module, control = chain_check(host, tmp_path, "before")
    assert module["summary"]["bad"] == 0, module
    assert control["status"] == "pass", control
    mine = [f for f in module["files"] if f["path"] in files]
    assert mine == [], mine  # listed only when not ok
    # The verify wrote its cache of the intact closed recordings: root's, 0600, inside the store; a user
    # can neither read nor replace it.
    cache = "%s/.ephi-chain-verified.json" % MOUNT
    assert chain_check.verify_module["cache"]["written"], chain_check.verify_module["cache"]
    assert host.check_output("stat -c '%%U %%a' %s" % cache) == "root 600"
    cached = json.loads(host.check_output("cat %s" % cache))["entries"]
    assert set(files) <= cached_paths(cached), sorted(cached)
    out = host.run("runuser -u %s -- sh -c %s" % (USER, sh_quote("cat %s; echo x > %s" % (cache, cache))))
    assert out.rc != 0 and "Permission denied" in out.stderr, (out.stdout, out.stderr)
    # The recording root flips below must not be the one the 1/30 rotation reads again anyway (the
    # entry read longest ago): its entry is dated last, so only its change time can tell.
    later = ("import json, sys; p, rel = sys.argv[1:]; d = json.load(open(p)); d['entries'][rel]['at'] = 9e9; "
             "open(p, 'w').write(json.dumps(d))")
    host.check_output("python3 -c %s %s %s" % (sh_quote(later), cache, files[0][len(MOUNT) + 1:]))
    assert host.check_output("stat -c '%%U %%a' %s" % cache) == "root 600"

    # A user can neither write a recording nor pass a forged chain event off as the recorder's.
    out = host.run("runuser -u %s -- sh -c %s" % (USER, sh_quote("echo forged >> %s" % files[3])))
    assert out.rc != 0 and "Permission denied" in out.stderr, (out.stdout, out.stderr)
    ghost = os.path.join(os.path.dirname(files[3]), "ghost-command-x.cast")
    # The prune event is forged with everything right (as if the user knew it all) for the
    # recording root deletes below.
    sha256 = host.check_output("sha256sum %s" % files[2]).split()[0]
    for forged in ("event=chain id=x user=%s uid=1 file=%s seq=0 n=1 bytes=1 head=%s final=1" % (USER, ghost, "0" * 64),
                   "event=chain id=%s user=%s uid=1 file=%s seq=0 n=1 bytes=1 head=%s final=1"
                   % (finals[3]["id"], USER, files[3], "1" * 64),
                   "event=pruned file=%s n=%s bytes=%s head=%s sha256=%s"
                   % (files[2], finals[2]["n"], finals[2]["bytes"], finals[2]["head"], sha256)):
        assert host.run("runuser -u %s -- logger -t ephi-session -p authpriv.info %s" % (USER, sh_quote(forged))).rc == 0
    assert chain_events(host, ghost), "the forged event is not in the journal"
    assert host.run("journalctl --no-pager -q -o cat -t ephi-session | grep -qF %s"
                    % sh_quote("event=pruned file=%s " % files[2])).rc == 0, "the forged prune is not in the journal"

    host.check_output("rm -rf %s && mkdir -m 0700 %s && cp -p %s %s/" % (BACKUP, BACKUP, " ".join(files[:3]), BACKUP))
    try:
        # Root edits one byte in the last output line (after the middle head), truncates the second
        # recording to 400 bytes (inside its header and first lines), deletes the third.
        # The flip keeps the size and sets the modification time back, so only the change time tells the
        # verify's cache that the file was written.
        flip = ("import os, sys, time; p = sys.argv[1]; st = os.stat(p); d = bytearray(open(p, 'rb').read()); "
                "s = [i for i, c in enumerate(d) if c == 10][-3] + 12; d[s] ^= 1; time.sleep(0.05); "
                "open(p, 'r+b').write(d); os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns)); "
                "print(d.count(10) - 1)")
        flipped = int(host.check_output("python3 -c %s %s" % (sh_quote(flip), files[0])))
        host.check_output("truncate -s 400 %s && rm %s" % (files[1], files[2]))
        module, control = chain_check(host, tmp_path, "after")
    finally:
        host.run("cp -p %s/* %s/ && rm -rf %s" % (BACKUP, os.path.dirname(files[0]), BACKUP))
    by_path = {f["path"]: f for f in module["files"]}
    # The first bad chunk holds the flipped line and starts after the header and the middle head.
    assert by_path[files[0]]["status"] == "modified" and 2 < by_path[files[0]]["line"] <= flipped <= \
        by_path[files[0]]["chunk"][1], (flipped, by_path[files[0]])
    assert by_path[files[1]]["status"] == "truncated", by_path[files[1]]
    # Deleted, not pruned: the user's prune event is not root's.
    assert by_path[files[2]]["status"] == "deleted", by_path[files[2]]
    # The untouched one is ok; the user's forged events changed nothing.
    assert files[3] not in by_path and ghost not in by_path, module["files"]
    assert module["ignored"] >= 2, module
    assert module["summary"]["bad"] == 3, module["summary"]
    assert control["status"] == "fail", control
    # The verify took the untouched recordings from its cache and still named all three.
    verify = chain_check.verify_module
    assert verify["summary"]["cached"] >= 1 and verify["summary"]["bad"] == 3, verify["summary"]
    assert sorted(f["path"] for f in verify["files"] if f["status"] in ("modified", "truncated", "deleted")) \
        == sorted(files[:3]), verify["files"]
    for path in files[:3]:
        entry = by_path[path]
        assert "%s: %s from line %d" % (path, entry["status"], entry["line"]) in control["observed"], control


def test_gate_bytecode_is_roots_and_writable_bytecode_fails_the_gate_control(host, tmp_path):
    cache = "/usr/local/lib/ephi-safeguards/__pycache__"
    listing = host.run("stat -c '%%U %%a %%n' %s %s/ephi_session_gate.*.pyc" % (cache, cache))
    assert listing.rc == 0, listing.stderr
    rows = [line.split(" ", 2) for line in listing.stdout.splitlines()]
    # The recorder's start compiled the gate (checked-hash) as root; nothing in it is writable by others.
    assert len(rows) >= 2 and rows[0][2] == cache, rows
    assert all(owner == "root" and int(mode, 8) & 0o022 == 0 for owner, mode, dummy in rows), rows
    pyc = rows[-1][2]
    # A user can neither replace the gate's bytecode nor add a module beside it.
    for path in (pyc, cache + "/evil.pyc"):
        out = host.run("runuser -u %s -- sh -c %s" % (USER, sh_quote("echo x > %s" % path)))
        assert out.rc != 0 and "Permission denied" in out.stderr, (path, out.stdout, out.stderr)
    assert chain_check(host, tmp_path, "gate-before", "tmux-session-gate")[1]["status"] == "pass"
    # Made writable by others (root's mistake, or a package's), the gate control fails and names it.
    host.check_output("chmod o+w %s" % pyc)
    try:
        control = chain_check(host, tmp_path, "gate-writable", "tmux-session-gate")[1]
    finally:
        host.check_output("chmod o-w %s" % pyc)
    assert control["status"] == "fail" and pyc in control["observed"], control
    assert chain_check(host, tmp_path, "gate-after", "tmux-session-gate")[1]["status"] == "pass"
