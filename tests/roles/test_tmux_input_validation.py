"""Bad role input fails before any change, with a message naming the variable.

Runs the real role through ansible-playbook against the controller in check
mode, limited to the role's always-tagged set-up tasks (so even a validation
bug could not change this machine), and reads the JSON callback's output: the
play must fail in a validating task, naming the variable, with no change.
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
        - role: ephi.safeguards.tmux
    """
)

CASES = [
    ("tmux_lock_after_time", -5),
    ("tmux_lock_after_time", "abc"),
    ("tmux_lock_after_time", 1.5),
    ("tmux_lock_after_time", 0),
    ("tmux_history_limit", 0),
    ("tmux_autostart_exempt_users", "alice"),
    ("tmux_autostart_exempt_users", {"alice": 1}),
    ("tmux_autostart_exempt_users", ["alice; rm -rf /"]),
    ("tmux_autostart_exempt_groups", "wheel"),
    ("tmux_live_mode", "sometimes"),
    ("tmux_extra_options", {"Not An Option": 1}),
    ("tmux_autostart_session_name", "a:b"),
    ("tmux_lock_key", "not a key"),
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
            # "ephi.safeguards.tmux : check_vars | ..." -> "check_vars | ..."
            yield task["task"]["name"].split(" : ", 1)[-1], task["hosts"].get("localhost", {})


@pytest.mark.parametrize("var,value", CASES, ids=["%s=%r" % case for case in CASES])
def test_bad_value_fails_before_any_change(tmp_path, var, value):
    proc, report = run_play(tmp_path, {var: value})
    assert proc.returncode != 0
    results = list(task_results(report))
    failed = [(name, res) for name, res in results if res.get("failed")]
    assert len(failed) == 1, results
    name, res = failed[0]
    assert "alidat" in name, "failed in %r, not in a validation task" % name
    message = json.dumps(res)
    assert var in message
    assert not any(result.get("changed") for dummy, result in results)
    # Nothing after validation ran: no package, file or tmux task.
    names = [task_name for task_name, dummy in results]
    assert not [n for n in names if n.startswith(("install", "config", "autostart"))]


def test_good_values_pass_validation(tmp_path):
    # Control: with valid input the same play passes validation.
    proc, report = run_play(tmp_path, {"tmux_lock_after_time": 600, "tmux_autostart_exempt_users": ["alice"]})
    assert proc.returncode == 0, proc.stdout[-2000:]
    names = [name for name, res in task_results(report) if not res.get("failed")]
    assert "check_vars | Validate role variables" in names, names
