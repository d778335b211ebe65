"""Attacks and faults against the encrypted_logs role (issue 10, items 2, 4 and 8).

* Passphrases (item 2): the role runs with a controller passphrase and then
  changes it (previous passphrase set) on a second store of its own, while a
  sampler on the host reads every process's argv and environment and every
  file in the temporary directories and homes, as a local user could (a
  local user sees /proc/*/cmdline of all processes). Neither passphrase may
  appear there, nor afterwards on disk, in the journal (sudo logs every
  command line there) or in the play's output; a second run with the same
  previous passphrase does not apply it again.
* Controls that must examine their object (item 4): a tmpfs, a plain
  directory or another gocryptfs store at the path is not "encrypted" for
  any backend; the LUKS and fscrypt controls fail on what is not a dm-crypt
  mapping or has no fscrypt policy.
* The leak check (item 8) still finds a plain-text name in the backing store.

Markers never appear literally in a command run on the host: patterns are
written as "x[y]z" so that grep finds the marker but not its own command
line, which sudo logs to the journal. The sampler gets them on stdin
through `podman exec -i` (no sudo, no argv).
"""

import json
import os
import subprocess
import uuid

import pytest

from ephi_testlib import BACKING, MOUNT, name, run_playbook

# A second store of the role on the same host, for the passphrase tests.
T = {
    "encrypted_logs_key_dir": "/etc/ephi-t10-keys",
    "encrypted_logs_runtime_dir": "/run/ephi-t10",
    "encrypted_logs_mount_path": "/var/log/ephi-t10",
    "encrypted_logs_backing_path": "/var/lib/ephi-t10/cipher",
    "encrypted_logs_service_name": "ephi-t10-logs",
    "encrypted_logs_key_source": "controller",
}
SAMPLER_STOP = "/run/ephi-t10-sampler.stop"

# Runs on the host as root (podman exec): reads the markers from stdin, then
# samples until SAMPLER_STOP exists; prints what it found as JSON.
SAMPLER = r'''
import json, os, sys, time, zipfile, io
markers = [m.encode() for m in sys.stdin.read().split()]
me = str(os.getpid())
roots = ["/tmp", "/var/tmp", "/dev/shm", "/root", "/home"]
hits, samples, seen_passwd, seen_files = set(), 0, 0, set()
def check(where, data):
    for i, m in enumerate(markers):
        if m in data:
            hits.add("%s: marker %d" % (where, i))
def check_file(path):
    try:
        with open(path, "rb") as fh:
            data = fh.read(64 << 20)
    except OSError:
        return
    seen_files.add(path)
    check(path, data)
    if data[:2] == b"PK":
        try:
            z = zipfile.ZipFile(io.BytesIO(data))
            for n in z.namelist():
                check(path + "!" + n, z.read(n))
        except Exception:
            pass
while not os.path.exists(sys.argv[1]):
    samples += 1
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or pid == me:
            continue
        for kind in ("cmdline", "environ"):
            try:
                with open("/proc/%s/%s" % (pid, kind), "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            check("/proc/%s/%s" % (pid, kind), data)
            if kind == "cmdline" and b"gocryptfs" in data and b"-passwd" in data:
                seen_passwd += 1
    for root in roots:
        for d, dirs, files in os.walk(root):
            for f in files:
                p = os.path.join(d, f)
                if os.path.isfile(p) and not os.path.islink(p):
                    check_file(p)
    time.sleep(0.005)
print(json.dumps({"hits": sorted(hits), "samples": samples, "seen_passwd": seen_passwd,
                  "ansible_files": sorted(p for p in seen_files if "ansible" in p.lower())[:20]}))
'''


def pattern(marker):
    """A grep pattern that matches marker but not the command line that contains it."""
    return "'%s[%s]%s'" % (marker[:4], marker[4], marker[5:])


def playbook(host, tmp_path, tasks, extra=None, label="play", verbose=False):
    """Run tasks against this instance only; variables come from a 0600 file, not argv."""
    play = tmp_path / ("%s.yml" % label)
    play.write_text("- hosts: all\n  gather_facts: false\n  tasks:\n" + tasks)
    varsfile = tmp_path / ("%s-vars.json" % label)
    fd = os.open(str(varsfile), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(extra or {}, fh)
    return run_playbook(str(play), "-e", "@" + str(varsfile), *(["-v"] if verbose else []), limit=name(host),
                        callback="default", timeout=900)


ROLE = "    - ansible.builtin.include_role:\n        name: ephi.safeguards.encrypted_logs\n"


def task_results(stdout, task):
    """'ok'/'changed'/'skipping' lines of one task in the default callback's output."""
    block = stdout.split("TASK [ephi.safeguards.encrypted_logs : %s]" % task)
    assert len(block) == 2, stdout[-3000:]
    body = block[1].split("\nTASK [")[0]
    return [line.split(":")[0] for line in body.splitlines() if line.startswith(("ok:", "changed:", "skipping:"))]


def remove_t_store(host):
    host.run("systemctl disable --now ephi-t10-logs.service; fusermount3 -u /var/log/ephi-t10; "
             "rm -rf /etc/ephi-t10-keys /run/ephi-t10 /var/log/ephi-t10 /var/lib/ephi-t10 "
             "/etc/systemd/system/ephi-t10-logs.service %s; systemctl daemon-reload" % SAMPLER_STOP)


@pytest.fixture
def t_store(host):
    remove_t_store(host)
    yield
    remove_t_store(host)


def start_sampler(host, markers):
    host.run("rm -f %s" % SAMPLER_STOP)
    proc = subprocess.Popen(["podman", "exec", "-i", name(host), "/usr/bin/python3", "-c", SAMPLER, SAMPLER_STOP],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdin.write("\n".join(markers) + "\n")
    proc.stdin.close()
    proc.stdin = None  # closed: communicate() must not flush it
    return proc


def stop_sampler(host, proc):
    host.check_output("touch %s" % SAMPLER_STOP)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out)


def test_passphrases_never_reach_argv_environment_disk_or_logs(host, tmp_path, t_store):
    old = "ephi-old-" + uuid.uuid4().hex
    new = "ephi-new-" + uuid.uuid4().hex
    sampler = start_sampler(host, [old, new])
    try:
        first = playbook(host, tmp_path, ROLE, dict(T, encrypted_logs_passphrase=old), "first")
        assert first.returncode == 0, first.stdout[-3000:]
        conf = "/var/lib/ephi-t10/cipher/gocryptfs.conf"
        before = host.check_output("sha256sum %s" % conf)
        # The change: the new passphrase from the controller, the old one to open the store.
        change = playbook(host, tmp_path, ROLE, dict(T, encrypted_logs_passphrase=new,
                                                     encrypted_logs_previous_passphrase=old), "change")
        assert change.returncode == 0, change.stdout[-3000:]
        assert task_results(change.stdout, "gocryptfs_start | Change the passphrase without re-encrypting (gocryptfs -passwd)") \
            == ["changed"], change.stdout[-3000:]
        changed_conf = host.check_output("sha256sum %s" % conf)
        assert changed_conf != before
        # Again with the variable still set (and no_log off, as when debugging): not applied
        # again, gocryptfs.conf untouched, and the module's no_log parameters stay hidden.
        again = playbook(host, tmp_path, ROLE, dict(T, encrypted_logs_passphrase=new, encrypted_logs_previous_passphrase=old,
                                                    encrypted_logs_no_log=False), "again", verbose=True)
        assert again.returncode == 0, again.stdout[-3000:]
        assert task_results(again.stdout, "gocryptfs_start | Change the passphrase without re-encrypting (gocryptfs -passwd)") \
            == ["ok"], again.stdout[-3000:]
        assert "already retired" in again.stdout
        assert host.check_output("sha256sum %s" % conf) == changed_conf
    finally:
        seen = stop_sampler(host, sampler)
    for run in (first, change, again):
        assert old not in run.stdout + run.stderr and new not in run.stdout + run.stderr
    assert seen["hits"] == [], seen
    assert seen["samples"] > 20, seen
    # gocryptfs -passwd was running while sampled (its argv has no secret).
    assert seen["seen_passwd"] > 0, seen
    # The new passphrase opens the store: restart the unit from the key in /run.
    host.check_output("systemctl restart ephi-t10-logs.service")
    assert host.check_output("findmnt -n -o FSTYPE,SOURCE --mountpoint /var/log/ephi-t10") == \
        "fuse.gocryptfs /var/lib/ephi-t10/cipher"
    key = host.file("/run/ephi-t10/passphrase")
    assert key.user == "root" and key.mode == 0o400
    # Nothing on disk: the old passphrase nowhere, the new one only in the key file in /run.
    for marker in (old, new):
        found = host.run("grep -rlas -- %s /tmp /var/tmp /dev/shm /root /home /etc /var/lib /var/log /var/cache /var/spool /run"
                         % pattern(marker)).stdout.split()
        assert found == ([] if marker == old else ["/run/ephi-t10/passphrase"]), (marker[:8], found)
        journal = host.run("journalctl --no-pager -o export | grep -ac -- %s" % pattern(marker))
        assert journal.stdout.strip() == "0", marker[:8]
    # The module's invocation is in the journal, with the secrets masked.
    logged = host.check_output("journalctl --no-pager -o cat -t ansible-ephi.safeguards.encrypted_logs_secret "
                               "| grep -a 'Invoked with action=gocryptfs_passwd' | tail -n 1")
    assert "previous_passphrase=NOT_LOGGING_PARAMETER" in logged, logged


def test_a_secret_is_refused_when_the_module_would_run_from_a_file(host, tmp_path, t_store):
    # Pipelining forced off for the module (ansible_pipelining is a task var the
    # role sets; here a play calls the module directly): the payload, with the
    # secret, is a file in the login user's ~/.ansible/tmp. The module refuses
    # to act on a secret that reached the disk, and says why.
    host.check_output("install -d -m 0700 /run/ephi-t10")
    marker = "ephi-file-" + uuid.uuid4().hex
    tasks = ("    - ephi.safeguards.encrypted_logs_secret:\n        action: key\n        path: /run/ephi-t10/passphrase\n"
             "        passphrase: '{{ secret }}'\n        memory_only: true\n      become: true\n"
             "      vars:\n        ansible_pipelining: false\n")
    run = playbook(host, tmp_path, tasks, {"secret": marker}, "nopipe")
    assert run.returncode != 0
    assert "pipelining off" in run.stdout + run.stderr, (run.stdout + run.stderr)[-2000:]
    assert marker not in run.stdout + run.stderr
    assert not host.file("/run/ephi-t10/passphrase").exists


def verify_cases(host, tmp_path, cases):
    """{case: {control id: (status, observed)}} of the role's verify entry point, one case after the other."""
    out = tmp_path / "verify-out.json"
    tasks = ""
    for i, case in enumerate(cases):
        tasks += ("    - ansible.builtin.include_role:\n        name: ephi.safeguards.encrypted_logs\n"
                  "        tasks_from: verify\n      vars: %s\n"
                  "    - ansible.builtin.set_fact:\n        out_%d: '{{ encrypted_logs_verify_controls }}'\n" % (json.dumps(case), i))
    tasks += ("    - ansible.builtin.copy:\n        dest: %s\n        mode: '0600'\n"
              "        content: '{{ [%s] | to_json }}'\n      delegate_to: localhost\n      become: false\n"
              % (out, ", ".join("out_%d" % i for i in range(len(cases)))))
    run = playbook(host, tmp_path, tasks, {"ansible_become": True}, "verify")
    assert run.returncode == 0, run.stdout[-3000:]
    results = json.loads(out.read_text())
    return [dict((r["id"], (r["status"], r["observed"])) for r in records) for records in results]


@pytest.fixture
def fake_mounts(host):
    host.run("umount /var/log/ephi-fake; rm -rf /var/log/ephi-fake /var/lib/ephi-fake /srv/ephi-plain")
    host.check_output("install -d -m 0750 /var/log/ephi-fake /var/lib/ephi-fake /srv/ephi-plain && "
                      "truncate -s 64M /var/lib/ephi-fake/logs.luks && chmod 0600 /var/lib/ephi-fake/logs.luks")
    yield
    host.run("umount /var/log/ephi-fake; umount /var/log/ephi-fake; rm -rf /var/log/ephi-fake /var/lib/ephi-fake /srv/ephi-plain")


def test_controls_prove_encryption_of_that_very_directory(host, tmp_path, fake_mounts):
    # What a careless or hostile admin could put at the path: a tmpfs, a bind
    # mount of a plain directory, a plain directory; and the real gocryptfs
    # store checked against another backing path. Only the real one passes.
    fake = {"encrypted_logs_mount_path": "/var/log/ephi-fake", "encrypted_logs_backing_path": "/var/lib/ephi-fake/logs.luks"}
    host.check_output("mount -t tmpfs -o size=8m,mode=0750 tmpfs /var/log/ephi-fake")
    tmpfs = verify_cases(host, tmp_path, [
        {},  # the converged store: everything passes
        dict(fake, encrypted_logs_backend="luks"),
        dict(fake, encrypted_logs_backend="fscrypt"),
        dict(fake, encrypted_logs_backend="gocryptfs"),
        {"encrypted_logs_backing_path": "/var/lib/ephi-fake"},  # the real gocryptfs mount, another cipher dir
    ])
    real, luks, fscrypt, gocryptfs, other_source = tmpfs
    assert set(s for s, o in real.values()) == {"pass"}, real
    assert luks["encrypted-logs-mounted"][0] == "fail" and "not a device-mapper device" in luks["encrypted-logs-mounted"][1], luks
    assert luks["encrypted-logs-backing-encrypted"][0] == "fail", luks
    assert fscrypt["encrypted-logs-backing-encrypted"][0] == "fail", fscrypt
    assert "does not support fscrypt" in fscrypt["encrypted-logs-backing-encrypted"][1], fscrypt
    assert gocryptfs["encrypted-logs-mounted"] == ("fail", "mounted as tmpfs from tmpfs, not fuse.gocryptfs"), gocryptfs
    assert gocryptfs["encrypted-logs-backing-encrypted"][0] == "fail", gocryptfs
    assert other_source["encrypted-logs-mounted"][0] == "fail" and "not from /var/lib/ephi-fake" in \
        other_source["encrypted-logs-mounted"][1], other_source
    assert other_source["encrypted-logs-backing-encrypted"][0] == "fail", other_source
    # A bind mount of a plain directory (ext4 or overlay underneath), and a plain directory.
    host.check_output("umount /var/log/ephi-fake && mount --bind /srv/ephi-plain /var/log/ephi-fake")
    bind_luks, bind_fscrypt = verify_cases(host, tmp_path, [dict(fake, encrypted_logs_backend="luks"),
                                                            dict(fake, encrypted_logs_backend="fscrypt")])
    assert bind_luks["encrypted-logs-mounted"][0] == "fail" and bind_luks["encrypted-logs-backing-encrypted"][0] == "fail"
    assert "not a device-mapper device" in bind_luks["encrypted-logs-backing-encrypted"][1], bind_luks
    assert bind_fscrypt["encrypted-logs-backing-encrypted"][0] == "fail", bind_fscrypt
    host.check_output("umount /var/log/ephi-fake")
    plain = verify_cases(host, tmp_path, [dict(fake, encrypted_logs_backend="fscrypt")])[0]
    assert plain["encrypted-logs-backing-encrypted"][0] == "fail", plain


def test_a_plain_text_name_in_the_backing_store_is_found(host, tmp_path):
    # The fault the leak check is there for: plain text written next to the
    # ciphertext (a bind mount gone wrong, a copy into the wrong tree). The
    # name of a file in the plain tree appears in the backing store.
    token = uuid.uuid4().hex[:12]
    names = ["leak-%s-%d.log" % (token, i) for i in range(5)]
    plain_dir, cipher_leak = "%s/leak-%s" % (MOUNT, token), "%s/leak-%s" % (BACKING, token)
    try:
        host.check_output("install -d -m 0750 %s %s" % (plain_dir, cipher_leak))
        host.check_output("cd %s && touch %s && cd %s && touch %s" % (plain_dir, " ".join(names), cipher_leak, " ".join(names[:4])))
        leaky = verify_cases(host, tmp_path, [{}])[0]
        status, observed = leaky["encrypted-logs-backing-encrypted"]
        assert status == "fail", observed
        # The directory and four files leaked; three examples are shown, not all.
        assert "5 of them found in the backing store" in observed, observed
        assert observed.count("leak-%s" % token) == 3, observed
    finally:
        host.run("rm -rf %s %s" % (plain_dir, cipher_leak))
    assert verify_cases(host, tmp_path, [{}])[0]["encrypted-logs-backing-encrypted"][0] == "pass"
