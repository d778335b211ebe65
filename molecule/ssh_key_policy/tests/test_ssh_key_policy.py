"""Behaviour of the SSH key policy on a converged instance.

Logins are real: root's client keys (made in prepare_tasks.yml) log in from
inside the instance to its own sshd on 127.0.0.1:22, ssh-audit scans the
published port from the controller (test_ssh_side_channels.py), and the lockout tests run the role again
with ansible-playbook against this very instance over the connection the
tests themselves use. The converge sets ClientAliveInterval 2 and
ClientAliveCountMax 1 (molecule/ssh_key_policy/converge.yml).
"""

import os
import time

import pytest

from ephi_testlib import (KEY_STORE, POLICY_DROPIN, RECORD_KEYS, SSH, by_id, name, root_pub, run_ansible, run_converge,
                          scenario_path, sh_quote, verify_controls, wait_for)

# Only the key given with -i, and no long wait on a refused login.
SSH_KEY = SSH + " -o ConnectTimeout=10 -o IdentitiesOnly=yes"


class Result(object):
    def __init__(self, rc, stdout, stderr):
        self.rc, self.stdout, self.stderr = rc, stdout, stderr


def client(host, command):
    """Run an ssh client command in the instance. Its exit status 255 (refused)
    must not reach testinfra, which reads 255 as a lost connection."""
    out = host.run("%s; echo \"__rc=$?\"" % command)
    lines = out.stdout.rstrip("\n").split("\n")
    return Result(int(lines[-1].split("=", 1)[1]), "\n".join(lines[:-1]), out.stderr)


def login(host, user, key, command="true", extra=""):
    return client(host, "%s %s -i /root/.ssh/%s %s@127.0.0.1 %s" % (SSH_KEY, extra, key, user, command))


@pytest.fixture
def planted(host):
    """Append lines to a store file by hand; the file is restored afterwards."""
    saved = {}

    def plant(user, line):
        path = "%s/%s" % (KEY_STORE, user)
        if path not in saved:
            saved[path] = host.run("cat %s" % path).stdout if host.file(path).exists else None
        host.check_output("printf '%%s\\n' %s >> %s" % (sh_quote(line), path))

    yield plant
    for path, content in saved.items():
        if content is None:
            host.run("rm -f %s" % path)
        else:
            host.check_output("printf '%%s' %s > %s" % (sh_quote(content), path))


def test_sshd_effective_configuration_is_the_policy(host):
    out = host.check_output("sshd -T -C user=ephi-carol,host=localhost,addr=127.0.0.1")
    effective = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    assert effective["passwordauthentication"] == "no"
    # The scenario turns MFA on: keyboard-interactive serves the TOTP factor only
    # (tests/test_ssh_mfa.py); carol is exempt from 127.0.0.1.
    assert effective["kbdinteractiveauthentication"] == "yes"
    assert effective["authenticationmethods"] == "publickey"
    assert effective["permitemptypasswords"] == "no"
    assert effective["permitrootlogin"] == "no"
    assert effective["pubkeyauthentication"] == "yes"
    assert effective["authorizedkeysfile"] == KEY_STORE + "/%u"
    assert effective["loglevel"] == "VERBOSE"
    assert effective["clientaliveinterval"] == "2"
    assert effective["clientalivecountmax"] == "1"
    assert effective["requiredrsasize"] == "3072"
    assert "ssh-rsa" not in effective["pubkeyacceptedalgorithms"].split(",")
    assert "rsa-sha2-512" in effective["pubkeyacceptedalgorithms"].split(",")
    assert [line for line in out.splitlines() if line.startswith("hostkey ")] == ["hostkey /etc/ssh/ssh_host_ed25519_key"]
    assert all("etm@openssh.com" in mac for mac in effective["macs"].split(","))


def test_dropin_sorts_first_and_include_is_the_first_line(host):
    dropins = host.check_output("ls /etc/ssh/sshd_config.d/").split()
    assert sorted(d for d in dropins if d.endswith(".conf"))[0] == os.path.basename(POLICY_DROPIN)
    first = [line for line in host.file("/etc/ssh/sshd_config").content_string.splitlines()
             if line.strip() and not line.startswith("#")][0]
    assert first == "Include /etc/ssh/sshd_config.d/*.conf"
    assert "ephi.safeguards:ssh_key_policy" in host.file(POLICY_DROPIN).content_string
    # prepare planted a cloud-init style drop-in turning passwords back on: ours
    # sorts first and sshd keeps the first value, so sshd -T shows "no".
    assert host.file("/etc/ssh/sshd_config.d/50-cloud-init.conf").contains("^PasswordAuthentication yes")
    assert "passwordauthentication no" in host.check_output("sshd -T -C user=ephi-carol,host=localhost,addr=127.0.0.1")


def test_key_store_is_root_owned_and_exclusive(host):
    store = host.file(KEY_STORE)
    assert store.user == "root" and store.mode == 0o755
    assert sorted(host.check_output("ls %s" % KEY_STORE).split()) == ["ephi-admin", "ephi-breakglass", "ephi-carol", "ephi-mia", "ephi-olga"]
    carol = host.file(KEY_STORE + "/ephi-carol")
    assert carol.user == "root" and carol.group == "root" and carol.mode == 0o644
    assert "owner: Carol Tester" in carol.content_string
    assert 'expiry-time="20991231",no-port-forwarding ssh-ed25519' in host.file(KEY_STORE + "/ephi-breakglass").content_string


def test_declared_ed25519_key_logs_in(host):
    out = login(host, "ephi-carol", "id_ed25519", "id -un")
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "ephi-carol"


def test_login_is_logged_with_the_key_fingerprint(host):
    fp = host.check_output("ssh-keygen -lf /root/.ssh/id_ed25519.pub").split()[1]
    assert login(host, "ephi-carol", "id_ed25519").rc == 0
    assert wait_for(lambda: fp in host.run("journalctl -q -t sshd -t sshd-session --since -2min -o cat").stdout, timeout=10)


def test_key_in_users_own_authorized_keys_is_refused(host):
    # The key is in ~ephi-dave/.ssh/authorized_keys (prepare); sshd only reads the store.
    assert host.file("/home/ephi-dave/.ssh/authorized_keys").contains("ssh-ed25519")
    out = login(host, "ephi-dave", "id_dave")
    assert out.rc == 255 and "Permission denied" in out.stderr


def test_rsa_2048_key_planted_in_the_store_is_refused(host, planted):
    planted("ephi-carol", root_pub(host, "id_rsa2048"))
    planted("ephi-carol", root_pub(host, "id_rsa3072"))
    refused = login(host, "ephi-carol", "id_rsa2048")
    assert refused.rc == 255 and "Permission denied" in refused.stderr
    # Control: a 3072-bit RSA key in the same file logs in, so the refusal is RequiredRSASize.
    assert login(host, "ephi-carol", "id_rsa3072").rc == 0


def test_expired_key_planted_in_the_store_is_refused(host, planted):
    key = root_pub(host, "id_expired")
    planted("ephi-carol", 'expiry-time="20200101" ' + key)
    out = login(host, "ephi-carol", "id_expired")
    assert out.rc == 255 and "Permission denied" in out.stderr


def test_unexpired_planted_key_control(host, planted):
    planted("ephi-carol", 'expiry-time="20991231" ' + root_pub(host, "id_expired"))
    assert login(host, "ephi-carol", "id_expired").rc == 0


def test_password_login_is_refused(host):
    # ephi-carol has a password; the server offers nothing but publickey.
    out = client(host, "%s -o PubkeyAuthentication=no -o PreferredAuthentications=password,keyboard-interactive "
                 "ephi-carol@127.0.0.1 true" % SSH_KEY)
    assert out.rc == 255
    assert "Permission denied (publickey)" in out.stderr


def test_root_login_is_refused_even_with_a_key_in_the_store(host, planted):
    planted("root", root_pub(host, "id_ed25519"))
    out = login(host, "root", "id_ed25519")
    assert out.rc == 255 and "Permission denied" in out.stderr


def test_emergency_key_logs_in(host):
    assert login(host, "ephi-breakglass", "id_breakglass").rc == 0


def test_idle_unresponsive_session_is_dropped(host):
    # [p] and [l]: the patterns must not match the shell that runs pgrep/pkill.
    client(host, "pkill -f 'slee[p] 4242'")
    host.check_output("setsid %s -o ServerAliveInterval=0 -i /root/.ssh/id_ed25519 ephi-carol@127.0.0.1 "
                      "'sleep 4242' >/dev/null 2>&1 < /dev/null & echo started" % SSH_KEY)
    session = "pgrep -f 'ephi-caro[l]@notty'"
    assert wait_for(lambda: client(host, session).rc == 0), "no sshd session for the client"
    pid = host.check_output("pgrep -f -o 'ssh .*slee[p] 4242'").strip()
    try:
        # Control: a responsive idle client keeps its session past the timeout.
        time.sleep(5)
        assert client(host, session).rc == 0, "sshd dropped a responsive session"
        # The client stops answering sshd's keepalives; sshd must drop the
        # session after ClientAliveInterval * ClientAliveCountMax (2 s) plus one interval.
        host.check_output("kill -STOP %s" % pid)
        assert wait_for(lambda: client(host, session).rc != 0, timeout=15), "sshd kept the unresponsive session"
    finally:
        client(host, "kill -CONT %s; kill %s" % (pid, pid))
        client(host, "pkill -f 'slee[p] 4242'")


def test_policy_excluding_the_connecting_account_is_refused(host):
    before = host.check_output("sha256sum %s /etc/ssh/sshd_config" % POLICY_DROPIN)
    proc = run_converge(host, {"ssh_key_policy_allow_users": ["ephi-carol"]})
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert "Refusing to apply the SSH key policy" in output, output[-3000:]
    assert "ephi-admin is not in ssh_key_policy_allow_users" in output
    assert host.check_output("sha256sum %s /etc/ssh/sshd_config" % POLICY_DROPIN) == before
    # sshd still accepts the account Ansible uses, over a new connection.
    # (ControlMaster=no: a fresh SSH login, not a reused master connection.)
    ping = run_ansible("ansible", name(host), "-m", "ansible.builtin.ping",
                       env={"ANSIBLE_SSH_ARGS": "-o ControlMaster=no"}, timeout=120)
    assert ping.returncode == 0 and "pong" in ping.stdout, ping.stdout + ping.stderr


def test_failed_new_login_is_rolled_back_by_the_dead_man_switch(host):
    # AllowUsers ephi-admin@<another address> passes the preflight (host parts
    # cannot be judged there) but sshd refuses the new login after the reload:
    # the dead-man switch must restore the previous configuration by itself.
    before = host.check_output("sha256sum %s /etc/ssh/sshd_config" % POLICY_DROPIN)
    proc = run_converge(host, {"ssh_key_policy_allow_users": ["ephi-admin@192.0.2.1", "ephi-carol"],
                               "ssh_key_policy_reconnect_timeout": 5, "ssh_key_policy_rollback_after": 16})
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert "previous sshd configuration and key store were restored" in output, output[-3000:]
    assert "dead-man switch" in output
    assert host.check_output("sha256sum %s /etc/ssh/sshd_config" % POLICY_DROPIN) == before
    assert "allowusers" not in host.check_output("sshd -T -C user=ephi-admin,host=localhost,addr=127.0.0.1")
    assert host.run("journalctl -q -t ephi-ssh-key-policy --since -5min -o cat").stdout.count("rolled back") >= 1


def test_verify_entry_point_passes(host):
    controls = verify_controls(host, scenario_path("verify_play.yml"), "ssh_key_policy_verify_controls", timeout=180)
    # ephi-dave's own ~/.ssh/authorized_keys holds an undeclared key: sshd ignores
    # it, and the evidence names it. Every other control passes.
    planted = by_id(controls)["ssh-key-policy-no-weak-or-planted-keys"]
    assert planted["status"] == "fail" and "/home/ephi-dave/.ssh/authorized_keys" in planted["observed"]
    others = [c for c in controls if c is not planted]
    assert {c["status"] for c in others} == {"pass"}, [(c["id"], c["status"], c["observed"]) for c in others]
    for control in controls:
        assert set(control) == RECORD_KEYS


def test_a_key_planted_in_the_store_is_removed_by_the_next_run(host, planted):
    """The plan's file set runs no module when preflight's probe shows the store, the drop-in and sshd's PAM
    stack as the role would write them (their sha256, owner and mode: issue 15). A key appended to a store
    file by hand changes its sha256, so the next converge must still plan the store and write the declared
    keys back: the planted key logs in before the run and is refused after it."""
    store = KEY_STORE + "/ephi-carol"
    before = host.file(store).content_string
    planted("ephi-carol", 'expiry-time="20991231" ' + root_pub(host, "id_expired"))
    assert login(host, "ephi-carol", "id_expired").rc == 0
    run = run_converge(host)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert host.file(store).content_string == before
    refused = login(host, "ephi-carol", "id_expired")
    assert refused.rc == 255 and "Permission denied" in refused.stderr
