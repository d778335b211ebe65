"""Bad encrypted_logs input fails before any change, naming the variable.

The real role runs through the role_play harness (conftest.py).
"""

import pytest

ROLE = "ephi.safeguards.encrypted_logs"

CASES = [
    ("encrypted_logs_backend", "ecryptfs"),
    ("encrypted_logs_mount_path", "var/log/ephi"),
    ("encrypted_logs_mount_path", "/var/log/../ephi"),
    ("encrypted_logs_mount_path", "/var/lib/ephi-encrypted-logs/ciphertext/plain"),
    ("encrypted_logs_backing_path", "/var/log/ephi/.cipher"),
    ("encrypted_logs_backing_path", "relative/cipher"),
    ("encrypted_logs_key_dir", "/var/log/ephi/keys"),
    ("encrypted_logs_runtime_dir", "/var/lib/keys"),
    ("encrypted_logs_key_source", "usb"),
    ("encrypted_logs_luks_size_mb", 10),
    ("encrypted_logs_mode", "0755"),
    ("encrypted_logs_group", "au ditors"),
    ("encrypted_logs_mount_path", "/"),
    ("encrypted_logs_mount_path", "/tmp/ephi"),
    ("encrypted_logs_mount_path", "/home/alice/logs"),
    ("encrypted_logs_backing_path", "/var/tmp/cipher"),
    ("encrypted_logs_backing_path", "/dev/shm/cipher"),
    ("encrypted_logs_backing_path", "/"),
    ("encrypted_logs_key_dir", "/tmp"),
    ("encrypted_logs_key_dir", "/home/admin/.keys"),
    ("encrypted_logs_key_dir", "/"),
    # A trailing line break (the checks used to accept it: $ matches before it).
    ("encrypted_logs_service_name", "ephi-logs\n"),
]


@pytest.mark.parametrize("var,value", CASES, ids=["%s=%r" % case for case in CASES])
def test_bad_value_fails_before_any_change(run_play, expect_validation_failure, var, value):
    proc, results = run_play({var: value})
    expect_validation_failure(proc, results, var)


def test_controller_key_needs_a_passphrase(run_play, expect_validation_failure):
    proc, results = run_play({"encrypted_logs_key_source": "controller"})
    expect_validation_failure(proc, results, "encrypted_logs_passphrase")


def test_passphrase_is_not_echoed_on_failure(run_play):
    secret = "short-secret-1234"
    proc, dummy = run_play({"encrypted_logs_key_source": "controller", "encrypted_logs_passphrase": secret})
    assert proc.returncode != 0
    assert secret not in proc.stdout


def test_good_values_pass_validation(run_play):
    proc, results = run_play({"encrypted_logs_mount_path": "/srv/ephi-logs",
                              "encrypted_logs_key_source": "controller",
                              "encrypted_logs_passphrase": "a-long-enough-passphrase-0123"})
    assert proc.returncode == 0, proc.stdout[-2000:]
    names = [name for name, res in results if not res.get("failed")]
    assert "check_vars | Validate role variables" in names, names


def test_multiline_previous_passphrase_fails_without_echoing_it(run_play, expect_validation_failure):
    # gocryptfs -passwd reads each passphrase as one line from its stdin: a
    # newline would split it. Refused before any change, and never echoed.
    secret = "previous-secret-0123456789\nsecond-line"
    proc, results = run_play({"encrypted_logs_previous_passphrase": secret})
    expect_validation_failure(proc, results, "encrypted_logs_previous_passphrase")
    assert "previous-secret-0123456789" not in proc.stdout + proc.stderr


# The store's own filesystem (check_vars | Validate role variables, its store rules).
STORE_CASES = [
    ({"encrypted_logs_store_device": "LABEL=ephi-logs"}, "encrypted_logs_store_fstype"),
    ({"encrypted_logs_store_fstype": "ext4"}, "encrypted_logs_store_fstype"),
    ({"encrypted_logs_store_device": "tmpfs", "encrypted_logs_store_fstype": "tmpfs"}, "encrypted_logs_store_options"),
    ({"encrypted_logs_store_device": "LABEL=x", "encrypted_logs_store_fstype": "ext4",
      "encrypted_logs_store_options": "bind"}, "encrypted_logs_store_options"),
    ({"encrypted_logs_store_device": "LABEL=x", "encrypted_logs_store_fstype": "ext4",
      "encrypted_logs_backing_path": "/var/lib/ciphertext"}, "encrypted_logs_store_device"),
    ({"encrypted_logs_store_device": "LABEL=x\nWhat=/dev/sda", "encrypted_logs_store_fstype": "ext4"},
     "encrypted_logs_store_device"),
    ({"encrypted_logs_store_min_free_mb": -5}, "encrypted_logs_store_min_free_mb"),
]


@pytest.mark.parametrize("extra,var", STORE_CASES, ids=["%s" % var for dummy, var in STORE_CASES])
def test_bad_store_settings_fail_before_any_change(run_play, expect_validation_failure, extra, var):
    proc, results = run_play(extra)
    expect_validation_failure(proc, results, var)


def test_good_store_settings_pass_validation(run_play):
    proc, results = run_play({"encrypted_logs_store_device": "LABEL=ephi-logs", "encrypted_logs_store_fstype": "ext4",
                              "encrypted_logs_store_min_free_mb": 100})
    assert proc.returncode == 0, proc.stdout[-2000:]
    names = [name for name, res in results if not res.get("failed")]
    assert "check_vars | Validate role variables" in names, names
