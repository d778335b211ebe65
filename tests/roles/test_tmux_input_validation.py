"""Bad role input fails before any change, with a message naming the variable.

The real role runs through the role_play harness (conftest.py): the play must
fail in a validating task, naming the variable, with no change.
"""

import pytest

ROLE = "ephi.safeguards.tmux"

CASES = [
    ("tmux_lock_after_time", -5),
    ("tmux_lock_after_time", "abc"),
    ("tmux_lock_after_time", 1.5),
    ("tmux_lock_after_time", 0),
    ("tmux_history_limit", 0),
    ("tmux_enforcer_interval", 0),
    ("tmux_enforcer_interval", 10),
    ("tmux_autostart_exempt_users", "alice"),
    ("tmux_autostart_exempt_users", {"alice": 1}),
    ("tmux_autostart_exempt_users", ["alice; rm -rf /"]),
    ("tmux_autostart_exempt_groups", "wheel"),
    ("tmux_live_mode", "sometimes"),
    ("tmux_extra_options", {"Not An Option": 1}),
    ("tmux_autostart_session_name", "a:b"),
    ("tmux_lock_key", "not a key"),
    ("tmux_capture_retention_days", "six years"),
    ("tmux_capture_retention_days", -1),
    ("tmux_capture_retention_days", 0),
    ("tmux_capture_retention_days", 1.5),
    # Issue 10: STIG maximum, a lock program that cannot be found, capture paths
    # that break unit files or miss the encrypted directory, a missing group.
    ("tmux_lock_after_time", 901),
    ("tmux_lock_command", "vlock"),
    ("tmux_lock_command", ""),
    ("tmux_capture_dir", "/var/log/e phi"),
    ("tmux_capture_dir", "/var/log/ephi\nExecStart=/bin/sh"),
    ("tmux_capture_dir", "/var/log/../tmp"),
    ("tmux_capture_group", "ephi-no-such-group"),
    ("tmux_capture_group", "a b"),
    # A trailing line break (the checks used to accept it: $ matches before it).
    ("tmux_autostart_session_name", "main\n"),
    ("tmux_lock_after_time", "300\n"),
    # A line break inside the value (the check used to refuse it by hand; the
    # string_matching test now refuses it for every check).
    ("tmux_lock_command", "/usr/bin/vlock\nset -g lock-after-time 0"),
    # Issue 13: Debian's /usr/bin/vlock sources the user's ~/.vlockrc before it
    # locks ("exit 0" there ends every lock at once).
    ("tmux_lock_command", "/usr/bin/vlock"),
    ("tmux_lock_command", "/usr/bin/vlock -c"),
    # Issue 12: the session gate. Exemptions are {name, reason} with a user name
    # (it goes into an sshd Match line) and a one-line reason (the evidence
    # lists it); the idle logoff comes after the lock.
    ("tmux_session_gate_exempt_users", ["alice"]),
    ("tmux_session_gate_exempt_users", "alice"),
    ("tmux_session_gate_exempt_users", [{"name": "alice"}]),
    ("tmux_session_gate_exempt_users", [{"name": "alice", "reason": ""}]),
    ("tmux_session_gate_exempt_users", [{"name": "alice", "reason": "  "}]),
    ("tmux_session_gate_exempt_users", [{"name": "alice", "reason": "break-glass\nForceCommand none"}]),
    ("tmux_session_gate_exempt_users", [{"name": "*", "reason": "everyone"}]),
    ("tmux_session_gate_exempt_users", [{"name": "alice,!bob", "reason": "two"}]),
    ("tmux_session_gate_exempt_users", [{"name": "alice\nMatch all", "reason": "x"}]),
    ("tmux_session_unrecordable", "sometimes"),
    ("tmux_session_idle_logoff", -1),
    ("tmux_session_idle_logoff", "half an hour"),
    ("tmux_session_idle_logoff", 600),
    ("tmux_session_idle_logoff", 900),
    ("tmux_session_command_idle_logoff", -1),
    ("tmux_session_command_idle_logoff", "1h"),
    ("tmux_session_max_per_user", 0),
    ("tmux_session_max_bytes", -1),
    ("tmux_audit_group", "%admin ALL=(ALL) ALL"),
    ("tmux_audit_group", ["ephi-auditors"]),
]


@pytest.mark.parametrize("var,value", CASES, ids=["%s=%r" % case for case in CASES])
def test_bad_value_fails_before_any_change(run_play, expect_validation_failure, var, value):
    proc, results = run_play({var: value})
    expect_validation_failure(proc, results, var)


def test_good_values_pass_validation(run_play):
    # Control: with valid input the same play passes validation.
    proc, results = run_play({"tmux_lock_after_time": 600, "tmux_autostart_exempt_users": ["alice"]})
    assert proc.returncode == 0, proc.stdout[-2000:]
    names = [name for name, res in results if not res.get("failed")]
    assert "check_vars | Validate role variables" in names, names


def test_capture_dir_must_be_the_encrypted_directory(run_play, expect_validation_failure):
    proc, results = run_play({"tmux_capture_dir": "/srv/plain", "encrypted_logs_mount_path": "/var/log/ephi"})
    expect_validation_failure(proc, results, "tmux_capture_dir")


def test_lock_time_above_stig_with_reason_passes(run_play):
    proc, results = run_play({"tmux_lock_after_time": 1200,
                              "tmux_lock_after_time_over_stig_reason": "kiosk exception, risk accepted"})
    assert proc.returncode == 0, proc.stdout[-2000:]


def test_session_gate_exemption_and_short_logoff_pass(run_play):
    # An exemption with its reason, and an idle logoff above a short lock time.
    proc, results = run_play({"tmux_session_gate_exempt_users": [{"name": "ephi-breakglass", "reason": "break-glass"}],
                              "tmux_lock_after_time": 4, "tmux_session_idle_logoff": 20})
    assert proc.returncode == 0, proc.stdout[-2000:]


def test_idle_logoff_off_passes_with_any_lock_time(run_play):
    proc, results = run_play({"tmux_session_idle_logoff": 0})
    assert proc.returncode == 0, proc.stdout[-2000:]


def test_every_bad_variable_is_named_at_once(run_play, expect_validation_failure):
    # One task judges every rule: both bad variables are in the one failure,
    # not only the first.
    proc, results = run_play({"tmux_history_limit": 0, "tmux_enforcer_interval": 10})
    expect_validation_failure(proc, results, "tmux_history_limit")
    msg = [res for dummy, res in results if res.get("failed")][0]["msg"]
    assert "tmux_history_limit: must be a whole number" in msg, msg
    assert "tmux_enforcer_interval: must be a whole number of seconds from 1 to 9" in msg, msg
