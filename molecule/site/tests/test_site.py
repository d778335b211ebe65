"""The fleet playbooks end to end: playbooks/verify.yml against the instances
that playbooks/site.yml converged (molecule/site/converge.yml).

The tests run the real verify playbook with ansible-playbook against the
inventory Molecule generated, as an operator would, and read the evidence
report it writes on the controller. Each playbook run is a module-scoped
fixture that runs once for both hosts; the tests (one per host, as testinfra
parametrizes them) read their host's part of it. The runs build on each
other: verify, verify --check, then one break per safeguard on the Debian 13
instance and verify again; the breaks are reverted when the module ends.
"""

import os
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest

from ephi_testlib import MOUNT, RECORD_KEYS, SITE_TMUX_USER, host_by_name, inventory_hosts, name, sh_quote, verify, wait_for

# Every control the four roles report, in report order.
CONTROLS = [
    "encrypted-logs-mounted",
    "encrypted-logs-backing-encrypted",
    "encrypted-logs-key-protected",
    "encrypted-logs-boot-unit",
    "encrypted-logs-no-other-access",
    "encrypted-logs-store-filesystem",
    "tmux-lock-policy",
    "tmux-live-servers",
    "tmux-autostart",
    "tmux-not-a-shell",
    "tmux-session-capture",
    "tmux-session-gate",
    "tmux-session-recorder",
    "tmux-idle-logoff",
    "tmux-session-exemptions",
    "tmux-policy-enforcer",
    "tmux-audit-chain",
    "ssh-key-policy-keys-only",
    "ssh-key-policy-no-root-login",
    "ssh-key-policy-strong-keys",
    "ssh-key-policy-transport",
    "ssh-key-policy-idle-logoff",
    "ssh-key-policy-login-audit",
    "ssh-key-policy-host-keys",
    "ssh-key-policy-central-store",
    "ssh-key-policy-no-weak-or-planted-keys",
    "ssh-key-policy-emergency-access",
    "ssh-key-policy-side-channels",
    "ssh-key-policy-connection-limits",
    "ssh-key-policy-banner",
    "ssh-key-policy-post-quantum-kex",
    "ssh-key-policy-config-file",
    "ssh-key-policy-mfa",
    "ssh-key-policy-mfa-lockout",
    "aide-installed",
    "aide-baseline",
    "aide-scheduled-check",
    "aide-check-clean",
]
# The central audit trail (issue 14): the log host's controls, and every other
# host's shipping to it (tests/test_log_host.py tests the trail itself).
LOG_HOST_CONTROLS = ["log-host-receiving", "log-host-certificate", "log-host-retention"]
FORWARD_CONTROLS = ["log-forward-shipping", "log-forward-certificate", "log-forward-chain"]


def controls_of(hostname):
    """Every control HOSTNAME reports, in report order."""
    return CONTROLS + (LOG_HOST_CONTROLS if hostname in inventory_hosts("ephi_log_hosts") else FORWARD_CONTROLS)


# The scenario declares no break-glass account (ssh_key_policy_emergency_user).
# The session gate controls pass: the gate is on, Ansible's account ephi-admin
# is exempt with its reason (molecule.yml), everyone else is gated.
# The site lab keeps the log store on the container's root filesystem
# (encrypted_logs_store_require_own_fs false, the default): reported, not required.
# MFA is off in the site lab (ssh_key_policy_mfa false, the default): its two
# controls say so (molecule/ssh_key_policy tests it on).
NOT_APPLICABLE = {"ssh-key-policy-emergency-access", "encrypted-logs-store-filesystem", "ssh-key-policy-mfa",
                  "ssh-key-policy-mfa-lockout"}

# The users made in prepare_tasks.yml, before the AIDE baseline (the tmux
# user, SITE_TMUX_USER, is shared with test_site_capture_off.py).
KEY_USER = "ephi-kim"
MOUNT_UNIT = "ephi-encrypted-logs.service"
ENFORCER_UNIT = "ephi-tmux-enforcer.service"
# Sorts before the policy's 00-ephi-ssh-key-policy.conf ("d" < "e"), and sshd
# keeps the first value it reads: this drop-in wins. (A drop-in sorting after
# the policy's changes nothing; molecule/ssh_key_policy proves that.)
SSHD_DROPIN = "/etc/ssh/sshd_config.d/00-drift.conf"

# One break per safeguard, and every control each break fails. A break may
# rightly fail more than one control; each extra one is explained.
BREAKS = {
    # Automatic logoff: a user's ~/.tmux.conf switches the lock off, and her
    # running server has it. (The file alone, with no server running, is not
    # seen: the control audits live servers.) The policy enforcer would put
    # the lock back within seconds, so the break stops it first; a stopped
    # enforcer is itself a finding (nothing reverts the user's weakening).
    "tmux-override": {"tmux-live-servers", "tmux-policy-enforcer"},
    # Authentication: a drop-in turns password logins back on.
    "sshd-passwords": {
        "ssh-key-policy-keys-only",
        # What scanners read: sshd_config says PasswordAuthentication no,
        # sshd -T (the drop-in sorting first) yes.
        "ssh-key-policy-config-file",
        # Integrity: /etc/ssh is watched, so AIDE reports the added drop-in.
        "aide-check-clean",
    },
    # Encryption at rest: the encrypted log directory is unmounted.
    "unmounted": {
        "encrypted-logs-mounted",
        # "Holds only ciphertext" is proven by comparing the names in the
        # plain view with the backing store; without the mount it is not
        # proven, and the control fails rather than passes unproven.
        "encrypted-logs-backing-encrypted",
        # Audit controls: capture writes only into the mounted directory, so
        # it is off while the directory is unmounted.
        "tmux-session-capture",
        # Audit controls: the session recorder records only into the mounted
        # encrypted directory; unmounted, it records nothing (and new gated
        # logins are refused).
        "tmux-session-recorder",
        # Automatic logoff: the idle logoff of gated sessions is the
        # recorder's, so it is not in force while the recorder is not.
        "tmux-idle-logoff",
        # Audit controls: the recordings cannot be compared with their chain
        # heads while the store is not mounted (NOT examined).
        "tmux-audit-chain",
        # Audit trail: the forwarding instance needs the encrypted directory
        # (its state and queue are in there), so it stops with it.
        "log-forward-shipping",
        # Audit trail: the log host holds heads of recordings that are not
        # in the (unmounted, empty) directory: deleted, as far as it can tell.
        "log-forward-chain",
    },
    # Authentication: a weak key (RSA 1024) in a user's own authorized_keys,
    # a file sshd does not read under the policy: reported as planted.
    "weak-key": {"ssh-key-policy-no-weak-or-planted-keys"},
}
# On the Debian 12 instance, one break: a byte changed in a closed recording
# (one tests/test_log_host.py made). Both chain checks name it: against the
# heads in the host's journal, and against those the log host received.
TAMPER_BREAKS = {"tmux-audit-chain", "log-forward-chain"}


def changes(run, host):
    """(play, task, paths) of every result of HOST that reported a change."""
    found = []
    for play in run.report["plays"]:
        for task in play["tasks"]:
            res = task["hosts"].get(host)
            if not res or not res.get("changed"):
                continue
            items = [i for i in res.get("results", [res]) if i.get("changed")]
            found.append((play["play"]["name"], task["task"]["name"], [i.get("dest") or i.get("path") for i in items]))
    return found


@pytest.fixture(scope="module")
def broken_host():
    """The Debian 13 instance: the one the breaks are made on."""
    hosts = inventory_hosts("debian13")
    assert len(hosts) == 1, hosts
    return hosts[0]


@pytest.fixture(scope="module")
def tamper_host():
    """The Debian 12 instance: a recording of it is changed."""
    hosts = inventory_hosts("debian12")
    assert len(hosts) == 1, hosts
    return hosts[0]


@pytest.fixture(scope="module")
def converged(tmp_path_factory):
    return verify(tmp_path_factory.mktemp("verify"), "-e", "ephi_report_fail_on_findings=false")


@pytest.fixture(scope="module")
def checked(converged, tmp_path_factory):
    return verify(tmp_path_factory.mktemp("verify-check"), "--check", "-e", "ephi_report_fail_on_findings=false")


@pytest.fixture(scope="module")
def broken(request, converged, checked, broken_host, tamper_host, tmp_path_factory):
    """Break one control per safeguard on the Debian 13 instance and a
    recording on the Debian 12 one, run verify (failing hosts with findings,
    the default), and revert afterwards."""
    target = host_by_name(request, broken_host)
    other = host_by_name(request, tamper_host)
    # The middle byte of the first closed recording, changed in place (the
    # original byte is put back afterwards; no copy of the recording is made).
    recording = other.check_output("ls -1 %s/*/*.cast | head -n 1" % MOUNT)
    assert recording, "no recording on %s to change" % tamper_host
    flip = ("import sys\np = sys.argv[1]\nf = open(p, 'r+b')\ndata = f.read()\ni = len(data) // 2\n"
            "while data[i:i + 1] in (b'\\n', b'\\\\', b'\\x22'):\n    i += 1\n"
            "f.seek(i)\nf.write(bytes([data[i] ^ 1]))\nprint(i, data[i])\n")
    restore = "import sys\nf = open(sys.argv[1], 'r+b')\nf.seek(int(sys.argv[2]))\nf.write(bytes([int(sys.argv[3])]))\n"
    keydir = tmp_path_factory.mktemp("weak-key")
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "1024", "-N", "", "-C", "weak-rsa1024",
                    "-f", str(keydir / "id_rsa")], check=True, timeout=60)
    weak_pub = (keydir / "id_rsa.pub").read_text().strip()
    weak_fp = subprocess.run(["ssh-keygen", "-lf", str(keydir / "id_rsa.pub")], check=True, timeout=60,
                             capture_output=True, text=True).stdout.split()[1]
    flipped = None
    try:
        flipped = other.check_output("python3 -c %s %s" % (sh_quote(flip), recording)).split()
        # Encryption at rest first: a tmux server started while the directory
        # is mounted would hold a capture file open in it and keep it busy.
        target.check_output("systemctl stop %s" % MOUNT_UNIT)
        assert target.run("findmnt --mountpoint %s" % MOUNT).rc == 1
        # Automatic logoff: the enforcer stopped first (it would revert the
        # user's lock-after-time 0 within seconds), started again below.
        target.check_output("systemctl stop %s" % ENFORCER_UNIT)
        assert target.run("systemctl is-active %s" % ENFORCER_UNIT).stdout.strip() != "active"
        target.check_output("printf 'set -g lock-after-time 0\\n' > /home/%s/.tmux.conf && chown %s: /home/%s/.tmux.conf"
                            % (SITE_TMUX_USER, SITE_TMUX_USER, SITE_TMUX_USER))
        target.check_output("runuser -u %s -- tmux new-session -d -s work" % SITE_TMUX_USER)
        assert target.check_output("runuser -u %s -- tmux show-options -gv lock-after-time" % SITE_TMUX_USER) == "0"
        # Authentication: sshd -T (what the audit reads) shows what sshd loads
        # on its next start or reload; the running sshd and the connection
        # Ansible uses are left alone.
        target.check_output("printf 'PasswordAuthentication yes\\n' > %s" % SSHD_DROPIN)
        assert "passwordauthentication yes" in target.check_output(
            "sshd -T -C user=%s,host=localhost,addr=127.0.0.1" % KEY_USER)
        # A weak key in the user's own authorized_keys.
        home = "/home/%s/.ssh" % KEY_USER
        target.check_output("install -d -o %s -g %s -m 0700 %s && printf '%%s\\n' '%s' > %s/authorized_keys"
                            " && chown %s: %s/authorized_keys && chmod 0600 %s/authorized_keys"
                            % (KEY_USER, KEY_USER, home, weak_pub, home, KEY_USER, home, home))
        run = verify(tmp_path_factory.mktemp("verify-broken"))
        run.broken_host, run.weak_fp, run.tamper_host, run.recording = broken_host, weak_fp, tamper_host, recording
        yield run
    finally:
        if flipped:
            other.run("python3 -c %s %s %s %s" % (sh_quote(restore), recording, flipped[0], flipped[1]))
        target.run("runuser -u %s -- tmux kill-server" % SITE_TMUX_USER)
        target.run("pkill -KILL -u %s" % SITE_TMUX_USER)
        target.run("rm -f /home/%s/.tmux.conf %s && rm -rf /home/%s/.ssh" % (SITE_TMUX_USER, SSHD_DROPIN, KEY_USER))
        target.run("systemctl start %s" % ENFORCER_UNIT)
        target.run("systemctl start %s" % MOUNT_UNIT)
        wait_for(lambda: target.run("findmnt -n -o FSTYPE --mountpoint %s" % MOUNT).stdout.strip() == "fuse.gocryptfs")


def test_converged_host_passes_every_control(host, converged):
    assert converged.proc.returncode == 0, converged.tail()
    records = converged.records(name(host))
    assert [r["id"] for r in records] == controls_of(name(host))
    for record in records:
        assert set(record) == RECORD_KEYS, record
    wanted = {c: "not_applicable" if c in NOT_APPLICABLE else "pass" for c in controls_of(name(host))}
    assert {r["id"]: r["status"] for r in records} == wanted, [
        (r["id"], r["status"], r["observed"]) for r in records if r["status"] != wanted[r["id"]]]


def test_verify_in_check_mode_changes_nothing_and_reports_the_same(host, converged, checked):
    assert checked.proc.returncode == 0, checked.tail()
    # The only changes are the report files written on the controller (the
    # Report play's delegated tasks); nothing on the host changed or would
    # have changed.
    found = changes(checked, name(host))
    stray = [c for c in found if not all(p and (p + "/").startswith(checked.report_dir + "/") for p in c[2])]
    assert not stray, stray
    assert checked.report["stats"][name(host)]["changed"] == len(found)
    assert checked.report["stats"][name(host)]["failures"] == 0
    assert same_but_live_figures(checked.records(name(host))) == same_but_live_figures(converged.records(name(host)))


# Controls whose observation carries figures that change between two runs on
# a live host (free MiB and inodes of the log store: every session writes).
# On the log host also the names in the encrypted tree: files arrive (a host's
# first event after the retention's rotation makes a new events.log). On the
# hosts the age of the last delivery the log host received (a heartbeat).
LIVE_FIGURES = {"encrypted-logs-store-filesystem", "encrypted-logs-backing-encrypted", "log-forward-shipping"}
# tmux-audit-chain says how many recordings its cache vouched for (tmux_verify_chain_cache): the
# verify before a check-mode run writes the cache the check-mode run then reads, so that count
# differs while every verdict and count of the recordings stays the same.
CHAIN_CACHE_NOTE = re.compile(r"; \d+ of the matching ones unchanged since they were read in full \(the check's cache\)")


def same_but_live_figures(records):
    return [dict(r, observed=re.sub(r"\d+", "N", r["observed"])) if r["id"] in LIVE_FIGURES
            else dict(r, observed=CHAIN_CACHE_NOTE.sub("", r["observed"])) if r["id"] == "tmux-audit-chain"
            else r for r in records]


def test_one_break_per_safeguard_fails_exactly_its_controls(host, broken):
    me = name(host)
    expected = (set().union(*BREAKS.values()) if me == broken.broken_host
                else TAMPER_BREAKS if me == broken.tamper_host else set())
    failing = broken.failing(me)
    by_id = broken.by_id(me)
    assert failing == expected, {
        "unexpected": [(c, by_id[c]["observed"]) for c in failing - expected],
        "missed": [(c, by_id[c]["observed"]) for c in expected - failing],
    }
    assert {r["id"] for r in broken.records(me) if r["status"] == "not_applicable"} == NOT_APPLICABLE
    # The report names what was broken.
    if me == broken.broken_host:
        assert by_id["encrypted-logs-mounted"]["observed"] == "not mounted"
        assert "NOT mounted" in by_id["tmux-session-capture"]["observed"]
        assert "%s lock-after-time 0" % SITE_TMUX_USER in by_id["tmux-live-servers"]["observed"]
        assert "%s inactive, not running" % ENFORCER_UNIT in by_id["tmux-policy-enforcer"]["observed"]
        assert "NOT the mounted encrypted file system" in by_id["tmux-session-recorder"]["observed"]
        assert "PasswordAuthentication is yes" in by_id["ssh-key-policy-keys-only"]["observed"]
        assert "/home/%s/.ssh/authorized_keys %s (RSA key has 1024 bits, fewer than 3072)" % (KEY_USER, broken.weak_fp) in \
            by_id["ssh-key-policy-no-weak-or-planted-keys"]["observed"]
        assert SSHD_DROPIN in by_id["aide-check-clean"]["observed"]
    if me == broken.tamper_host:
        for control in TAMPER_BREAKS:
            assert "%s: modified from line" % broken.recording in by_id[control]["observed"], by_id[control]
    # The run fails the broken host, and only it (ephi_report_fail_on_findings
    # defaults to true), after writing the report.
    assert broken.proc.returncode == 2, broken.tail()
    assert broken.report["stats"][me]["failures"] == (1 if me in (broken.broken_host, broken.tamper_host) else 0)


def test_junit_report_counts_the_failures(host, broken):
    # evidence.junit.xml and evidence.html are optional here: only checked
    # when this verify.yml writes them.
    path = os.path.join(broken.report_dir, "evidence.junit.xml")
    if not os.path.exists(path):
        pytest.skip("verify.yml writes no evidence.junit.xml")
    root = ET.parse(path).getroot()
    evidence = broken.evidence
    assert int(root.get("failures")) == sum(len(broken.failing(h)) for h in evidence)
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == set(evidence)
    suite = suites[name(host)]
    assert int(suite.get("tests")) == len(controls_of(name(host)))
    assert int(suite.get("failures")) == len(broken.failing(name(host)))
    assert {c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None} == broken.failing(name(host))
    html = os.path.join(broken.report_dir, "evidence.html")
    if os.path.exists(html):
        with open(html) as fh:
            assert name(host) in fh.read()
