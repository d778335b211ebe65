"""Bad encrypted_logs input fails before any change, naming the variable.

Same harness as test_tmux_input_validation.py: the real role, in check mode,
limited to its always-tagged set-up tasks, read through the JSON callback.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

PLAY = textwrap.dedent(
    """\
    - name: Bad input
      hosts: localhost
      connection: local
      gather_facts: false
      roles:
        - role: ephi.safeguards.encrypted_logs
    """
)

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
]


def run_play(tmp_path, extra_vars):
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    proc = subprocess.run(
        ["ansible-playbook", "--check", "--tags", "ephi_only_always_tasks", "-i", "localhost,", str(play),
         "-e", json.dumps(dict(extra_vars, ansible_python_interpreter=sys.executable))],
        capture_output=True, text=True, env=env, timeout=180, check=False)
    return proc, json.loads(proc.stdout)


def task_results(report):
    for play in report["plays"]:
        for task in play["tasks"]:
            yield task["task"]["name"].split(" : ", 1)[-1], task["hosts"].get("localhost", {})


def assert_fails_in_validation(proc, report, var):
    assert proc.returncode != 0
    results = list(task_results(report))
    failed = [(name, res) for name, res in results if res.get("failed")]
    assert len(failed) == 1, results
    name, res = failed[0]
    assert "alidat" in name, "failed in %r, not in a validation task" % name
    assert var in json.dumps(res)
    assert not any(result.get("changed") for dummy, result in results)
    names = [task_name for task_name, dummy in results]
    assert not [n for n in names if n.startswith(("preflight", "install", "key", "gocryptfs", "luks", "fscrypt"))]


@pytest.mark.parametrize("var,value", CASES, ids=["%s=%r" % case for case in CASES])
def test_bad_value_fails_before_any_change(tmp_path, var, value):
    proc, report = run_play(tmp_path, {var: value})
    assert_fails_in_validation(proc, report, var)


def test_controller_key_needs_a_passphrase(tmp_path):
    proc, report = run_play(tmp_path, {"encrypted_logs_key_source": "controller"})
    assert_fails_in_validation(proc, report, "encrypted_logs_passphrase")


def test_passphrase_is_not_echoed_on_failure(tmp_path):
    secret = "short-secret-1234"
    proc, report = run_play(tmp_path, {"encrypted_logs_key_source": "controller", "encrypted_logs_passphrase": secret})
    assert proc.returncode != 0
    assert secret not in proc.stdout


def test_good_values_pass_validation(tmp_path):
    proc, report = run_play(tmp_path, {"encrypted_logs_mount_path": "/srv/ephi-logs",
                                       "encrypted_logs_key_source": "controller",
                                       "encrypted_logs_passphrase": "a-long-enough-passphrase-0123"})
    assert proc.returncode == 0, proc.stdout[-2000:]
    names = [name for name, res in task_results(report) if not res.get("failed")]
    assert "check_vars | Validate role variables" in names, names
