# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What ansible-core itself costs the controller per task and host, with no module run and no
connection: the floor under every task of a re-run, skipped or not.

ansible-playbook (linear strategy, forks 8) runs playbooks against HOSTS inventory hosts with the
local connection: one with no tasks (start-up), one with TASKS tasks whose `when` is false (what a
skipped task costs), one with TASKS `debug` tasks (a task that runs an action on the controller).
The controller CPU of each run is ansible-playbook's and every process it waited for (its workers),
user and system apart; the figure per task and host is (run - start-up) / (TASKS x HOSTS). The
runs alternate, ROUNDS times, and the medians are printed. Run from the checkout with the README's
virtualenv's Python (it runs the ansible-playbook beside it):

    /var/cache/ephi-safeguards/venv-*/bin/python benchmarks/task_floor.py [tasks] [hosts] [rounds]
                                                                 default 100 tasks, 4 hosts, 3 rounds
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile


def playbook(tasks):
    return [{"hosts": "all", "gather_facts": False, "tasks": tasks}]


def variants(count):
    return {
        "start-up": playbook([]),
        "skipped": playbook([{"name": "skipped %d" % i, "ansible.builtin.debug": {"msg": "x"},
                              "when": "ephi_bench_never | default(false) | bool"} for i in range(count)]),
        "debug": playbook([{"name": "debug %d" % i, "ansible.builtin.debug": {"msg": "{{ inventory_hostname }}"}}
                           for i in range(count)]),
    }


def run(command, env):
    """(user, system) CPU seconds of COMMAND and every process it waited for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime


def main():
    count, hosts, rounds = ([int(a) for a in sys.argv[1:4]] + [100, 4, 3][len(sys.argv[1:4]):])[:3]
    tool = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    if not os.access(tool, os.X_OK):
        sys.exit("no ansible-playbook beside %s: run this with the README's virtualenv's Python" % sys.executable)
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "hosts"), "w") as fh:
            fh.write("".join("bench%d ansible_connection=local ansible_python_interpreter=%s\n" % (i, sys.executable)
                             for i in range(hosts)))
        paths = {}
        for name, play in variants(count).items():
            paths[name] = os.path.join(tmp, name + ".yml")
            with open(paths[name], "w") as fh:
                json.dump(play, fh)
        with open(os.path.join(tmp, "ansible.cfg"), "w") as fh:
            fh.write("[defaults]\nforks = 8\nstdout_callback = default\n")
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(tmp, "ansible.cfg"))
        cpu = {name: [] for name in paths}
        for dummy in range(rounds):
            for name, path in paths.items():
                cpu[name].append(run([tool, "-i", os.path.join(tmp, "hosts"), path], env))
    median = {name: (statistics.median(u for u, s in v), statistics.median(s for u, s in v)) for name, v in cpu.items()}
    base_user, base_sys = median["start-up"]
    print("load average before the last run: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
    print("start-up: %.2f user + %.2f system CPU-s (median of %d)" % (base_user, base_sys, rounds))
    for name in ("skipped", "debug"):
        user, system = median[name]
        per = 1000.0 / (count * hosts)
        print("%-8s %d tasks x %d hosts: %.2f user + %.2f system CPU-s; per task and host %.1f ms (%.1f user + %.1f system)"
              % (name, count, hosts, user, system, (user + system - base_user - base_sys) * per,
                 (user - base_user) * per, (system - base_sys) * per))


if __name__ == "__main__":
    main()
