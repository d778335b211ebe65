"""Shared harness for the role input tests: run a real role through
ansible-playbook against the controller, in check mode and limited to the
role's always-tagged set-up tasks (argument validation, check_vars, set_vars),
so that even a validation bug could not change this machine, and read the
result through the JSON callback.
"""

import json
import os
import subprocess
import sys

import pytest
from ansible.release import __version__ as ANSIBLE_CORE_VERSION

# ansible.builtin.json is new in ansible-core 2.19; older cores have it in ansible.posix.
JSON_CALLBACK = ("ansible.builtin.json" if tuple(int(p) for p in ANSIBLE_CORE_VERSION.split(".")[:2]) >= (2, 19)
                 else "ansible.posix.json")

PLAY = """\
- name: Role input
  hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: {role}
"""


@pytest.fixture
def role_play(tmp_path):
    """role_play(role, extra_vars) -> (completed process, [(task name, host result), ...])."""

    def run(role, extra_vars):
        play = tmp_path / "play.yml"
        play.write_text(PLAY.format(role=role))
        env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK=JSON_CALLBACK, ANSIBLE_LOCALHOST_WARNING="false",
                   ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
        proc = subprocess.run(
            ["ansible-playbook", "--check", "--tags", "ephi_only_always_tasks", "-i", "localhost,", str(play),
             "-e", json.dumps(dict(extra_vars, ansible_python_interpreter=sys.executable))],
            capture_output=True, text=True, env=env, timeout=180, check=False)
        assert proc.stdout.lstrip().startswith("{"), proc.stderr[-2000:]
        report = json.loads(proc.stdout)
        # "ephi.safeguards.tmux : check_vars | ..." -> "check_vars | ..."
        results = [(task["task"]["name"].split(" : ", 1)[-1], task["hosts"].get("localhost", {}))
                   for each_play in report["plays"] for task in each_play["tasks"]]
        return proc, results

    return run


@pytest.fixture
def run_play(request, role_play):
    """run_play(extra_vars) -> role_play of the test module's ROLE, with its
    BASE_VARS (if it has any) under EXTRA_VARS."""
    base = getattr(request.module, "BASE_VARS", {})
    return lambda extra_vars: role_play(request.module.ROLE, dict(base, **extra_vars))


@pytest.fixture
def expect_validation_failure():
    """expect_validation_failure(proc, results, var): the play failed in exactly one
    validating task, whose result names VAR, and nothing reported a change."""

    def check(proc, results, var):
        assert proc.returncode != 0
        failed = [(name, res) for name, res in results if res.get("failed")]
        assert len(failed) == 1, results
        name, res = failed[0]
        assert "alidat" in name, "failed in %r, not in a validation task" % name
        assert var in json.dumps(res)
        assert not any(res.get("changed") for dummy, res in results)
        # Only validation and set-up ran: argument specs, check_vars, set_vars
        # and the read-only probe check_vars imports (tmux's probe.yml).
        assert all(n.startswith(("Validating arguments", "check_vars", "set_vars", "probe")) for n, dummy in results), results

    return check
