"""Bad log_forward role input fails before any change, with a message naming the variable.

The real role runs through the role_play harness (conftest.py).
"""

import pytest

ROLE = "ephi.safeguards.log_forward"
BASE_VARS = {"log_forward_server": "loghost.example.org", "log_forward_pki_dir": "/var/tmp/ephi-pki"}

CASES = [
    # No log host, or one that would end up as something else in the rsyslog configuration.
    ("log_forward_server", ""),
    ("log_forward_server", 'loghost" port="1'),
    ("log_forward_server", "log host"),
    ("log_forward_server_name", "a]b"),
    ("log_forward_port", 0),
    ("log_forward_port", 70000),
    ("log_forward_port", "2514\n"),
    # The controller's PKI directory must be absolute; your own PKI needs all three files.
    ("log_forward_pki_dir", "pki"),
    ("log_forward_ca_file", "/pki/ca.crt"),
    ("log_forward_encrypted_dir", "var/log/ephi"),
    ("log_forward_encrypted_dir", "/var/log/ephi/"),
    ("log_forward_identifiers", []),
    ("log_forward_identifiers", ['ephi-session"] then { stop } #']),
    ("log_forward_queue_max_mb", 1),
    ("log_forward_user_queue_max_mb", 0),
    ("log_forward_heartbeat_seconds", 5),
    ("log_forward_heartbeat_seconds", "60 s"),
    ("log_forward_local_keep_days", -1),
    ("log_forward_service_name", "x.service\nExecStart=/bin/sh"),
]


@pytest.mark.parametrize("var,value", CASES, ids=["%s=%r" % case for case in CASES])
def test_bad_value_fails_before_any_change(run_play, expect_validation_failure, var, value):
    proc, results = run_play({var: value})
    expect_validation_failure(proc, results, var)


def test_pki_dir_or_own_files_are_required(run_play, expect_validation_failure):
    proc, results = run_play({"log_forward_pki_dir": ""})
    expect_validation_failure(proc, results, "log_forward_ca_file")


def test_good_values_pass_validation(run_play):
    proc, results = run_play({
        "log_forward_server": "10.0.0.5",
        "log_forward_server_name": "loghost.example.org",
        "log_forward_pki_dir": "",
        "log_forward_ca_file": "/pki/ca.crt",
        "log_forward_cert_file": "/pki/h1.crt",
        "log_forward_key_file": "/pki/h1.key",
        "log_forward_identifiers": ["ephi-session"],
        "log_forward_heartbeat_seconds": 3600,
        "log_forward_local_keep_days": 0,
    })
    assert proc.returncode == 0, proc.stdout[-2000:]
    names = [name for name, res in results if not res.get("failed")]
    assert "check_vars | Validate role variables" in names, names
