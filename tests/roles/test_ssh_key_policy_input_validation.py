"""Bad input to the ssh_key_policy role fails before any change, naming the variable.

The real role runs through the role_play harness (conftest.py): the play must
fail in a validating task, naming the variable (and, for keys, the user and
the key), with no change. The keys are the real ssh-keygen fixtures of the
unit tests.
"""

import json
import pathlib

import pytest

ROLE = "ephi.safeguards.ssh_key_policy"
FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "unit" / "plugins" / "module_utils" / "fixtures" / "ssh_keys"


def key(name):
    return (FIXTURES / (name + ".pub")).read_text().strip()


def fingerprint(name):
    for line in (FIXTURES / "fingerprints.txt").read_text().splitlines():
        if line.split()[2] == "fixture-" + name:
            return line.split()[1]
    raise KeyError(name)


def users(*entries):
    return [{"name": name, "keys": [dict({"key": key(k), "owner": "Test Owner"}, **extra)]} for name, k, extra in entries]


GOOD = users(("alice", "ed25519", {}))

CASES = [
    # (id, extra vars, variable named, further text expected in the message)
    ("rsa-2048-key", {"ssh_key_policy_users": users(("alice", "rsa2048", {}))},
     "ssh_key_policy_users", ["user alice", fingerprint("rsa2048"), "2048 bits"]),
    ("dsa-key", {"ssh_key_policy_users": users(("alice", "dsa", {}))}, "ssh_key_policy_users", ["user alice", "ssh-dss"]),
    ("expired-key", {"ssh_key_policy_users": users(("alice", "ed25519", {"expires": "20200101"}))},
     "ssh_key_policy_users", ["expired"]),
    ("broken-base64", {"ssh_key_policy_users": [{"name": "alice", "keys": [{"key": "ssh-ed25519 AAAA!!!! x", "owner": "A"}]}]},
     "ssh_key_policy_users", ["base64"]),
    ("shared-key", {"ssh_key_policy_users": users(("alice", "ed25519", {}), ("bob", "ed25519", {}))},
     "ssh_key_policy_users", ["also declared for user alice"]),
    ("no-owner", {"ssh_key_policy_users": [{"name": "alice", "keys": [{"key": key("ed25519")}]}]},
     "ssh_key_policy_users", ["owner"]),
    ("root-keys", {"ssh_key_policy_users": users(("root", "ed25519", {}))}, "ssh_key_policy_users", ["root"]),
    ("breakglass-without-expiry", {"ssh_key_policy_users": users(("alice", "ed25519", {}), ("bg", "ecdsa", {})),
                                   "ssh_key_policy_emergency_user": "bg"}, "ssh_key_policy_users", ["expiry"]),
    ("breakglass-undeclared", {"ssh_key_policy_users": GOOD, "ssh_key_policy_emergency_user": "nobody"},
     "ssh_key_policy_emergency_user", []),
    ("rsa-min-2048", {"ssh_key_policy_users": GOOD, "ssh_key_policy_rsa_min_bits": 2048}, "ssh_key_policy_rsa_min_bits", []),
    ("dss-allowed", {"ssh_key_policy_users": GOOD, "ssh_key_policy_key_types": ["ssh-ed25519", "ssh-dss"]},
     "ssh_key_policy_key_types", []),
    ("no-ed25519-host-key", {"ssh_key_policy_users": GOOD, "ssh_key_policy_host_key_types": ["rsa"]},
     "ssh_key_policy_host_key_types", []),
    ("client-alive-0", {"ssh_key_policy_users": GOOD, "ssh_key_policy_client_alive_interval": 0},
     "ssh_key_policy_client_alive_interval", []),
    ("count-max-0", {"ssh_key_policy_users": GOOD, "ssh_key_policy_client_alive_count_max": 0},
     "ssh_key_policy_client_alive_count_max", []),
    ("allow-users-injection", {"ssh_key_policy_users": GOOD, "ssh_key_policy_allow_users": ["alice\nPermitRootLogin yes"]},
     "ssh_key_policy_allow_users", []),
    ("extra-overrides-policy", {"ssh_key_policy_users": GOOD, "ssh_key_policy_extra_settings": {"passwordauthentication": "yes"}},
     "ssh_key_policy_extra_settings", []),
    ("extra-match", {"ssh_key_policy_users": GOOD, "ssh_key_policy_extra_settings": {"Match": "all"}},
     "ssh_key_policy_extra_settings", []),
    ("max-auth-tries", {"ssh_key_policy_users": GOOD, "ssh_key_policy_max_auth_tries": 50}, "ssh_key_policy_max_auth_tries", []),
    ("rollback-too-soon", {"ssh_key_policy_users": GOOD, "ssh_key_policy_rollback_after": 10}, "ssh_key_policy_rollback_after", []),
    ("users-not-a-list", {"ssh_key_policy_users": "alice"}, "ssh_key_policy_users", []),
    # Directive injection: a line break in a value would start a new sshd directive.
    ("extra-newline", {"ssh_key_policy_users": GOOD, "ssh_key_policy_extra_settings": {"PrintLastLog": "yes\nPasswordAuthentication yes"}},
     "ssh_key_policy_extra_settings", ["line break"]),
    ("extra-newline-in-list", {"ssh_key_policy_users": GOOD, "ssh_key_policy_extra_settings": {"AcceptEnv": ["LANG", "X\rMatch all"]}},
     "ssh_key_policy_extra_settings", ["line break"]),
    ("extra-ca-keys", {"ssh_key_policy_users": GOOD, "ssh_key_policy_extra_settings": {"TrustedUserCAKeys": "/etc/ssh/ca.pub"}},
     "ssh_key_policy_extra_settings", []),
    # Only strong algorithms, so the transport evidence is true.
    ("weak-cipher", {"ssh_key_policy_users": GOOD, "ssh_key_policy_ciphers": ["aes256-ctr", "3des-cbc"]},
     "ssh_key_policy_ciphers", ["3des-cbc is not in the allow-list"]),
    ("cbc-cipher", {"ssh_key_policy_users": GOOD, "ssh_key_policy_ciphers": ["aes256-cbc"]}, "ssh_key_policy_ciphers", ["aes256-cbc"]),
    ("sha1-mac", {"ssh_key_policy_users": GOOD, "ssh_key_policy_macs": ["hmac-sha1"]}, "ssh_key_policy_macs", ["hmac-sha1"]),
    ("non-etm-mac", {"ssh_key_policy_users": GOOD, "ssh_key_policy_macs": ["hmac-sha2-256"]}, "ssh_key_policy_macs", ["hmac-sha2-256"]),
    ("sha1-kex", {"ssh_key_policy_users": GOOD, "ssh_key_policy_kex_algorithms": ["curve25519-sha256", "diffie-hellman-group14-sha1"]},
     "ssh_key_policy_kex_algorithms", ["diffie-hellman-group14-sha1"]),
    ("empty-kex", {"ssh_key_policy_users": GOOD, "ssh_key_policy_kex_algorithms": []}, "ssh_key_policy_kex_algorithms", ["empty"]),
    # Issue 13: post-quantum key exchange only; classical only through its own variable.
    ("classical-kex-in-pq-list", {"ssh_key_policy_users": GOOD, "ssh_key_policy_kex_algorithms": ["curve25519-sha256"]},
     "ssh_key_policy_kex_algorithms", ["curve25519-sha256 is not in the allow-list"]),
    ("weak-classical-kex", {"ssh_key_policy_users": GOOD, "ssh_key_policy_kex_classical_algorithms": ["diffie-hellman-group14-sha1"]},
     "ssh_key_policy_kex_classical_algorithms", ["group14-sha1"]),
    # Side channels: opt-ins by plain group name, known kinds, with a reason; CIS limits.
    ("forwarding-group-pattern", {"ssh_key_policy_users": GOOD, "ssh_key_policy_forwarding_groups": [
        {"group": "*", "forward": ["tcp-local"], "reason": "all"}]}, "ssh_key_policy_forwarding_groups", ["plain group name"]),
    ("forwarding-group-injection", {"ssh_key_policy_users": GOOD, "ssh_key_policy_forwarding_groups": [
        {"group": "dba", "forward": ["tcp-local"], "reason": "x\nMatch all\nPermitRootLogin yes"}]},
     "ssh_key_policy_forwarding_groups", ["reason"]),
    ("max-startups-lax", {"ssh_key_policy_users": GOOD, "ssh_key_policy_max_startups": "100:30:600"}, "ssh_key_policy_max_startups", []),
    ("max-sessions-lax", {"ssh_key_policy_users": GOOD, "ssh_key_policy_max_sessions": 64}, "ssh_key_policy_max_sessions", []),
    # The banner: non-empty printable text, no agetty escapes.
    ("banner-empty", {"ssh_key_policy_users": GOOD, "ssh_key_policy_banner": ["", " "]}, "ssh_key_policy_banner", ["empty"]),
    ("banner-escape", {"ssh_key_policy_users": GOOD, "ssh_key_policy_banner": ["Host \\n, tty \\l"]}, "ssh_key_policy_banner",
     ["backslash"]),
    ("banner-control-chars", {"ssh_key_policy_users": GOOD, "ssh_key_policy_banner": ["\u001b[2J cleared"]}, "ssh_key_policy_banner",
     ["not printable"]),
    # A trailing line break (the checks used to accept it: $ matches before it), a reconnect timeout below 5 s.
    ("dropin-trailing-newline", {"ssh_key_policy_users": GOOD, "ssh_key_policy_dropin_path": "/etc/ssh/sshd_config.d/ephi.conf\n"},
     "ssh_key_policy_dropin_path", []),
    ("reconnect-too-short", {"ssh_key_policy_users": GOOD, "ssh_key_policy_reconnect_timeout": 2}, "ssh_key_policy_rollback_after", []),
    # Multi-factor authentication: a secret for every account that needs one (never quoted), explicit exemptions.
    ("mfa-no-secret", {"ssh_key_policy_users": GOOD, "ssh_key_policy_mfa": True}, "ssh_key_policy_mfa_secrets",
     ["no TOTP secret for alice"]),
    ("mfa-short-secret", {"ssh_key_policy_users": GOOD, "ssh_key_policy_mfa": True, "ssh_key_policy_mfa_secrets": {"alice": "00112233445566778899"}},
     "ssh_key_policy_mfa_secrets", ["at least 20 bytes"]),
    ("mfa-secret-not-hex", {"ssh_key_policy_users": GOOD, "ssh_key_policy_mfa": True, "ssh_key_policy_mfa_secrets": {"alice": "Q" * 40}},
     "ssh_key_policy_mfa_secrets", ["hexadecimal"]),
    ("mfa-exempt-without-reason", {"ssh_key_policy_users": GOOD, "ssh_key_policy_mfa_exempt": [{"user": "alice"}]},
     "ssh_key_policy_mfa_exempt", ["reason"]),
    ("mfa-exempt-undeclared", {"ssh_key_policy_users": GOOD, "ssh_key_policy_mfa_exempt": [{"user": "mallory", "reason": "x"}]},
     "ssh_key_policy_mfa_exempt", ["not declared"]),
    ("mfa-exempt-bad-address", {"ssh_key_policy_users": GOOD, "ssh_key_policy_mfa_exempt": [
        {"user": "alice", "reason": "x", "from": ["10.0.0.1/8 Address *"]}]}, "ssh_key_policy_mfa_exempt", ["from"]),
    ("mfa-deny-0", {"ssh_key_policy_users": GOOD, "ssh_key_policy_mfa_deny": 0}, "ssh_key_policy_mfa_deny", []),
]


@pytest.mark.parametrize("case_id,extra_vars,var,texts", CASES, ids=[c[0] for c in CASES])
def test_bad_value_fails_before_any_change(run_play, expect_validation_failure, case_id, extra_vars, var, texts):
    proc, results = run_play(extra_vars)
    expect_validation_failure(proc, results, var)
    message = json.dumps([res for dummy, res in results if res.get("failed")])
    for text in texts:
        assert text in message, (case_id, text, message)


def test_good_values_pass_validation(run_play):
    # Control: valid keys (ed25519, ECDSA, RSA 3072 with expiry and from=) pass the same checks.
    good = users(("alice", "ed25519", {}), ("bob", "rsa3072", {"expires": "20991231", "from": ["10.0.0.0/8"]}),
                 ("bg", "ecdsa", {"expires": "20991231"}))
    proc, results = run_play({"ssh_key_policy_users": good, "ssh_key_policy_emergency_user": "bg",
                              "ssh_key_policy_allow_groups": ["ssh-users"],
                              "ssh_key_policy_kex_classical_algorithms": ["curve25519-sha256"],
                              "ssh_key_policy_forwarding_groups": [{"group": "dba", "forward": ["tcp-local", "agent"],
                                                                    "reason": "database tunnels"}],
                              "ssh_key_policy_banner": ["Authorized use only.", "", "Activity is recorded."],
                              "ssh_key_policy_mfa": True, "ssh_key_policy_mfa_secrets": {"alice": "ab" * 20},
                              "ssh_key_policy_mfa_generate": True,
                              "ssh_key_policy_mfa_exempt": [{"user": "bg", "reason": "break-glass", "from": ["10.0.0.0/8"]}]})
    assert proc.returncode == 0, proc.stdout[-2000:]
    names = [name for name, res in results if not res.get("failed")]
    assert "check_vars | Validate role variables" in names, names
