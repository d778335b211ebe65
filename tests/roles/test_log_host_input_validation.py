"""Bad log_host role input fails before any change, with a message naming the variable.

The real role runs through the role_play harness (conftest.py).
"""

import pytest

ROLE = "ephi.safeguards.log_host"
BASE_VARS = {"log_host_pki_dir": "/var/tmp/ephi-pki", "log_host_permitted_peers": ["h1.example.org"]}

CASES = [
    ("log_host_port", 0),
    ("log_host_port", "2514 x"),
    # Peers become a list in the rsyslog configuration: names only.
    ("log_host_permitted_peers", ['h1"] tls="off']),
    ("log_host_permitted_peers", ["h 1"]),
    ("log_host_pki_dir", "relative/pki"),
    ("log_host_cert_file", "/pki/lh.crt"),
    ("log_host_encrypted_dir", "/var/log/ephi/"),
    # The store must be inside the encrypted directory (recordings are ePHI).
    ("log_host_store", "/srv/fleet"),
    ("log_host_store", "/var/log/ephi"),
    ("log_host_store", "/var/log/ephi/.ephi-log-host"),
    ("log_host_retention_days", 0),
    # Compression must come before deletion.
    ("log_host_compress_after_days", 2190),
    ("log_host_store", "/var/log/ephi/../plain"),
    ("log_host_service_name", "a b"),
]


@pytest.mark.parametrize("var,value", CASES, ids=["%s=%r" % case for case in CASES])
def test_bad_value_fails_before_any_change(run_play, expect_validation_failure, var, value):
    proc, results = run_play({var: value})
    expect_validation_failure(proc, results, var)


def test_without_peers_and_other_hosts_it_names_the_variable(run_play, expect_validation_failure):
    proc, results = run_play({"log_host_permitted_peers": []})
    expect_validation_failure(proc, results, "log_host_permitted_peers")


def test_good_values_pass_validation(run_play):
    proc, results = run_play({
        "log_host_permitted_peers": ["h1.example.org", "*.ward.example.org"],
        "log_host_store": "/var/log/ephi/hosts",
        "log_host_port": 6514,
    })
    assert proc.returncode == 0, proc.stdout[-2000:]
    names = [name for name, res in results if not res.get("failed")]
    assert "check_vars | Validate role variables" in names, names
