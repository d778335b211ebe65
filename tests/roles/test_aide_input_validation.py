"""Bad aide role input fails before any change, with a message naming the variable.

The real role runs through the role_play harness (conftest.py).
"""

import json

import pytest

ROLE = "ephi.safeguards.aide"
# Under every case (run_play in conftest.py): the controller directory the role needs.
BASE_VARS = {"aide_controller_hash_dir": "/var/tmp/ephi-aide-hashes"}

CASES = [
    # An unknown AIDE rule group.
    ("aide_extra_paths", [{"path": "/opt/app", "group": "Bogus"}]),
    ("aide_extra_paths", [{"path": "/opt/app", "group": "p+u+g; rm -rf /"}]),
    # Relative paths.
    ("aide_watch_config", ["etc/ssh"]),
    ("aide_watch_binaries", ["/usr/bin", "bin"]),
    ("aide_extra_paths", [{"path": "opt/app"}]),
    ("aide_extra_exclude_paths", ["var/tmp"]),
    # Globs other than a trailing *, white space, a bare string.
    ("aide_watch_ephi", ["/etc/*/ephi"]),
    ("aide_watch_config", ["/etc/my file"]),
    ("aide_extra_paths", ["/opt/app"]),
    # Exclusions that would exclude everything, or a watched tree entirely.
    ("aide_extra_exclude_paths", ["/"]),
    ("aide_extra_exclude_paths", ["/*"]),
    ("aide_extra_exclude_paths", ["/etc"]),
    ("aide_exclude_paths", ["/usr/bin/"]),
    # Weak or unknown hash sums.
    ("aide_hashes", ["md5"]),
    ("aide_hashes", ["sha3_512"]),
    ("aide_hashes", ["sha512", "crc32"]),
    # Tamper evidence needs a controller directory.
    ("aide_controller_hash_dir", ""),
    ("aide_controller_hash_dir", "hashes"),
    ("aide_timeout", 5),
    ("aide_check_on_calendar", "daily\nExecStartPre=/bin/sh"),
    ("aide_mail_to", "root; reboot"),
    ("aide_report_dir", "reports"),
    # A trailing line break would end up in the timer unit (the checks used to accept it: $ matches before it).
    ("aide_check_on_calendar", "daily\n"),
    ("aide_timeout", "3600\n"),
]


@pytest.mark.parametrize("var,value", CASES, ids=["%s=%r" % case for case in CASES])
def test_bad_value_fails_before_any_change(run_play, expect_validation_failure, var, value):
    proc, results = run_play({var: value})
    expect_validation_failure(proc, results, var)


def test_unknown_group_message_lists_the_known_ones(run_play):
    dummy, results = run_play({"aide_extra_paths": [{"path": "/opt/app", "group": "Bogus"}]})
    message = json.dumps([res for dummy, res in results if res.get("failed")])
    assert "unknown AIDE rule group" in message and "EphiConfig, EphiBinary, EphiPerms" in message


def test_good_values_pass_validation(run_play):
    proc, results = run_play({
        "aide_extra_paths": [{"path": "/opt/app", "group": "EphiBinary"}, {"path": "/srv/ephi-*"}],
        "aide_extra_exclude_paths": ["/opt/app/cache"],
        "aide_hashes": ["sha512"],
        "aide_mail_to": "security@example.org",
        "aide_check_on_calendar": "*-*-* 03:00:00",
    })
    assert proc.returncode == 0, proc.stdout[-2000:]
    names = [name for name, res in results if not res.get("failed")]
    assert "check_vars | Validate role variables" in names, names
