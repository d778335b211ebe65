"""Attacks and faults against the SSH key policy's lockout protection and evidence (issue 10, items 3, 7, 9).

Each test performs the attack (or the fault) against the converged instance
and proves that it now fails: the role refuses before any change, the
dead-man switch restores the store and the sshd configuration by itself, or
the evidence fails. The role runs again through ansible-playbook over the
same connection the tests use (ephi_testlib.run_converge).
"""

import os

import pytest

from ephi_testlib import KEY_STORE, POLICY_DROPIN, by_id, root_pub, run_converge, scenario_path, verify_controls

LAB_KEY = os.path.join(os.environ.get("EPHI_CACHE_DIR", "/var/cache/ephi-safeguards"), "lab", "id_ed25519.pub")
SWITCH_UNITS = "systemctl list-units --all --no-legend --plain 'ephi-ssh-key-policy-rollback-*'"


def fingerprint_of(host, name):
    return host.check_output("ssh-keygen -lf /root/.ssh/%s.pub" % name).split()[1]


def lab_key():
    with open(LAB_KEY) as handle:
        return handle.read().strip()


def policy_users(host, admin_keys, extra_users=()):
    """The scenario's ssh_key_policy_users (group_vars/all.yml) with other keys for ephi-admin."""
    users = [
        {"name": "ephi-admin", "keys": [{"key": k, "owner": "ephi.safeguards lab automation"} for k in admin_keys]},
        {"name": "ephi-carol", "keys": [{"key": root_pub(host, "id_ed25519"), "owner": "Carol Tester", "comment": "carol-laptop"}]},
        {"name": "ephi-breakglass", "keys": [{"key": root_pub(host, "id_breakglass"), "owner": "Security officer (sealed envelope 7)",
                                             "expires": "20991231", "options": ["no-port-forwarding"]}]},
        {"name": "ephi-olga", "keys": [{"key": root_pub(host, "id_olga"), "owner": "Olga Tester"}]},
        {"name": "ephi-mia", "keys": [{"key": root_pub(host, "id_mia"), "owner": "Mia Tester"}]},
    ]
    users.extend(extra_users)
    return users


def state(host):
    """Everything that decides who logs in: store files, drop-in, sshd_config."""
    return host.check_output("cd %s && sha256sum * %s /etc/ssh/sshd_config" % (KEY_STORE, POLICY_DROPIN))


def output(proc):
    return proc.stdout + proc.stderr


def test_dropping_the_key_ansible_uses_is_refused_before_any_change(host):
    # ephi-admin gets a second declared key (RSA 3072): the store now holds
    # the lab key Ansible logs in with and this one.
    second = root_pub(host, "id_rsa3072")
    proc = run_converge(host, {"ssh_key_policy_users": policy_users(host, [lab_key(), second])})
    assert proc.returncode == 0, output(proc)[-3000:]
    try:
        before = state(host)
        assert host.file(KEY_STORE + "/ephi-admin").contains("ssh-rsa")
        # The attack/fault: a run that keeps the second key but drops the one in
        # use. The old and the new key sets overlap, so an overlap check would
        # let it through and lock the automation out at the next run.
        proc = run_converge(host, {"ssh_key_policy_users": policy_users(host, [second])})
        assert proc.returncode != 0
        text = output(proc)
        assert "Refusing to apply the SSH key policy" in text, text[-3000:]
        assert "which the new policy does not declare" in text
        # The key named is the one sshd logged for Ansible's login.
        lab_fp = host.check_output("ssh-keygen -lf /dev/stdin <<'EOF'\n%s\nEOF" % lab_key()).split()[1]
        assert lab_fp in text
        assert state(host) == before
    finally:
        proc = run_converge(host, {})
        assert proc.returncode == 0, output(proc)[-3000:]
    assert not host.file(KEY_STORE + "/ephi-admin").contains("ssh-rsa")


def test_login_breaking_change_is_rolled_back_with_the_store_and_does_not_block_the_next_run(host):
    # A change to the drop-in (AllowUsers with a host part that the preflight
    # cannot judge, and that refuses Ansible's new login) together with a
    # change to the store (a new user's file): the dead-man switch must put
    # both back by itself.
    before = state(host)
    dave = {"name": "ephi-dave", "keys": [{"key": root_pub(host, "id_dave"), "owner": "Dave Tester"}]}
    proc = run_converge(host, {"ssh_key_policy_users": policy_users(host, [lab_key()], [dave]),
                               "ssh_key_policy_allow_users": ["ephi-admin@192.0.2.1", "ephi-carol", "ephi-dave"],
                               "ssh_key_policy_reconnect_timeout": 5, "ssh_key_policy_rollback_after": 16})
    assert proc.returncode != 0
    text = output(proc)
    assert "previous sshd configuration and key store were restored" in text, text[-3000:]
    assert "by the dead-man switch" in text
    assert state(host) == before
    assert not host.file(KEY_STORE + "/ephi-dave").exists
    assert "allowusers" not in host.check_output("sshd -T -C user=ephi-admin,host=localhost,addr=127.0.0.1")
    assert "rolled back the SSH key policy" in host.run("journalctl -q -t ephi-ssh-key-policy --since -5min -o cat").stdout
    # The switch's transient units are gone (--collect), and a later run that
    # changes something again goes through the switch without being blocked.
    assert host.run(SWITCH_UNITS).stdout.strip() == ""
    proc = run_converge(host, {"ssh_key_policy_users": policy_users(host, [lab_key()], [dave])})
    try:
        assert proc.returncode == 0, output(proc)[-3000:]
        assert host.file(KEY_STORE + "/ephi-dave").exists
    finally:
        proc = run_converge(host, {})
        assert proc.returncode == 0, output(proc)[-3000:]
    assert not host.file(KEY_STORE + "/ephi-dave").exists
    assert host.run(SWITCH_UNITS).stdout.strip() == ""
    assert host.run("ls /run/ephi-ssh-key-policy").stdout.strip() == ""


@pytest.mark.parametrize("extra_vars,variable,text", [
    # Directive injection through a value with a line break.
    ({"ssh_key_policy_extra_settings": {"PrintLastLog": "yes\nPasswordAuthentication yes"}},
     "ssh_key_policy_extra_settings", "line break"),
    # A weak cipher would make the "only strong algorithms" evidence false.
    ({"ssh_key_policy_ciphers": ["aes256-ctr", "3des-cbc"]}, "ssh_key_policy_ciphers", "3des-cbc is not in the allow-list"),
])
def test_injection_and_weak_algorithms_are_refused_before_any_change(host, extra_vars, variable, text):
    before = state(host)
    proc = run_converge(host, extra_vars)
    assert proc.returncode != 0
    assert variable in output(proc) and text in output(proc), output(proc)[-3000:]
    assert state(host) == before
    assert "passwordauthentication no" in host.check_output("sshd -T -C user=ephi-carol,host=localhost,addr=127.0.0.1")


def controls_by_id(host):
    """The role's verify entry point (verify_play.yml) for HOST: its records by control id."""
    return by_id(verify_controls(host, scenario_path("verify_play.yml"), "ssh_key_policy_verify_controls", timeout=180))


MATCH_DROPIN = "/etc/ssh/sshd_config.d/60-admin-match.conf"


def test_match_blocks_that_reopen_other_logins_fail_the_evidence(host):
    # An admin's drop-in (sorting after the policy's) with Match blocks: one
    # account gets passwords back, and any client from another network gets
    # an AuthorizedKeysCommand (an SSSD/LDAP-style key source outside the store).
    # sshd -T for the login account from loopback - the old evidence - sees nothing.
    host.check_output("printf '%%s\\n' 'Match User ephi-dave' '    PasswordAuthentication yes' "
                      "'Match Address 192.0.2.0/24' '    AuthorizedKeysCommand /bin/true' "
                      "'    AuthorizedKeysCommandUser nobody' > %s && chmod 0644 %s" % (MATCH_DROPIN, MATCH_DROPIN))
    try:
        host.check_output("sshd -t")
        loopback = host.check_output("sshd -T -C user=ephi-admin,host=localhost,addr=127.0.0.1")
        assert "passwordauthentication no" in loopback and "authorizedkeyscommand none" in loopback
        # The block is real: sshd would take passwords from ephi-dave.
        assert "passwordauthentication yes" in host.check_output(
            "sshd -T -C user=ephi-dave,host=localhost,addr=127.0.0.1")
        found = controls_by_id(host)
        keys_only = found["ssh-key-policy-keys-only"]
        assert keys_only["status"] == "fail"
        assert "PasswordAuthentication is yes for user=ephi-dave" in keys_only["observed"]
        store = found["ssh-key-policy-central-store"]
        assert store["status"] == "fail"
        assert "AuthorizedKeysCommand is /bin/true for user=" in store["observed"]
        assert "addr=192.0.2.1" in store["observed"]
    finally:
        host.run("rm -f %s" % MATCH_DROPIN)
    # Control: without the drop-in both controls pass again.
    found = controls_by_id(host)
    assert found["ssh-key-policy-keys-only"]["status"] == "pass"
    assert found["ssh-key-policy-central-store"]["status"] == "pass"
