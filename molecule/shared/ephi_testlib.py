"""Helpers shared by the Molecule scenarios' testinfra tests.

The base Molecule configuration (.config/molecule/config.yml) puts this
directory on the verifier's Python path (pytest's pythonpath), so every
molecule/<scenario>/tests/test_*.py imports from here instead of copying or
importing another test module. What lives here: polling, the lab's
constants, running Ansible against Molecule's inventory as an operator
would and reading the evidence records a run set, a terminal for real
logins (root's "outer" tmux server), and the few scenario helpers that more
than one test file uses.
"""

import json
import os
import shlex
import subprocess
import time

import testinfra
from testinfra.utils.ansible_runner import AnsibleRunner

# The collection's checkout: molecule/shared/ephi_testlib.py -> the top.
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The keys of every evidence record (plugins/module_utils/evidence.py).
RECORD_KEYS = {"id", "safeguard", "hipaa", "stig", "check", "observed", "status"}

# An ssh or scp client inside an instance that talks to the instance's own
# sshd (127.0.0.1): no host key prompts, no password prompts.
CLIENT_OPTIONS = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes"
SSH = "ssh " + CLIENT_OPTIONS
SCP = "scp " + CLIENT_OPTIONS

# Root's tmux server that gives real logins (su, ssh -tt) a terminal.
OUTER = "tmux -L ephi-test-outer -f /dev/null"

# encrypted_logs: the lab's store (role defaults).
MOUNT = "/var/log/ephi"
BACKING = "/var/lib/ephi-encrypted-logs/ciphertext"

# tmux: the policy of molecule/tmux/converge.yml (tmux_lock_after_time 4 s);
# the role wraps the lock program to log lock/unlock events (tmux_capture is on by default).
LOCK_AFTER = 4
LOCK_COMMAND = "/usr/local/lib/ephi-safeguards/ephi-tmux-lock /usr/bin/vlock"
TMUX_POLICY = {
    "options": {"lock-after-time": LOCK_AFTER, "lock-command": LOCK_COMMAND, "history-limit": 5000},
    "bindings": {"X": "lock-session"},
}

# aide: the role's files.
AIDE_DB = "/var/lib/aide/aide.db"
AIDE_CONF = "/etc/aide/aide.conf"
AIDE_LOG = "/var/lib/aide/ephi-safeguards/baseline.log"

# ssh_key_policy: the central key store and the policy's sshd drop-in.
KEY_STORE = "/etc/ssh/authorized_keys"
POLICY_DROPIN = "/etc/ssh/sshd_config.d/00-ephi-ssh-key-policy.conf"

# site: the account molecule/site/prepare_tasks.yml makes for tmux (before the AIDE baseline).
SITE_TMUX_USER = "ephi-tess"


def wait_for(predicate, timeout=20.0, interval=0.5):
    """Call PREDICATE until it returns something true or TIMEOUT seconds have
    passed; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def name(host):
    """The inventory name of a testinfra host (the container's name)."""
    return host.backend.get_hostname()


def sh_quote(text):
    """TEXT as one single-quoted shell word."""
    return "'" + text.replace("'", "'\\''") + "'"


# Molecule's inventory: the instances, as the tests' own Ansible runs reach them.

def inventory():
    return os.environ["MOLECULE_INVENTORY_FILE"]


def scenario_path(*parts):
    """A file of the scenario under test (converge.yml, verify_play.yml, ...)."""
    return os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], *parts)


def inventory_hosts(group="all"):
    """The inventory names of GROUP's hosts."""
    return AnsibleRunner(inventory()).get_hosts(group)


def host_by_name(request, hostname):
    """A testinfra host for HOSTNAME over the same connection as the `host` fixture."""
    return testinfra.get_host("ansible://" + hostname, ansible_inventory=request.config.option.ansible_inventory)


# Ansible runs from the controller. The base config enables profile_tasks,
# which prints around the json callback's document.

CALLBACKS = {"json": "ansible.builtin.json", "default": "ansible.builtin.default"}


def run_ansible(tool, *args, callback=None, env=None, timeout=600):
    """Run TOOL (ansible-playbook, ansible) with ARGS against Molecule's
    inventory, as an operator would; the completed process (text output).
    CALLBACK picks the stdout callback ("json", "default"); None keeps the
    configured one."""
    environ = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    if callback:
        environ["ANSIBLE_STDOUT_CALLBACK"] = CALLBACKS.get(callback, callback)
    environ.update(env or {})
    return subprocess.run([tool, "-i", inventory()] + [str(a) for a in args],
                          capture_output=True, text=True, env=environ, timeout=timeout, check=False)


def run_playbook(path, *args, limit=None, **kwargs):
    """ansible-playbook PATH ARGS, for the LIMIT host(s) only when given (see run_ansible())."""
    return run_ansible("ansible-playbook", *((["--limit", limit] if limit else []) + [path] + list(args)), **kwargs)


def json_document(stdout):
    """The json callback's document in a run's standard output."""
    start = 0 if stdout.startswith("{") else stdout.index("\n{") + 1
    return json.JSONDecoder().raw_decode(stdout[start:])[0]


def fact_set(report, hostname, fact):
    """The last value a task of the run set for FACT on HOSTNAME (set_fact), or None."""
    value = None
    for play in report["plays"]:
        for task in play["tasks"]:
            facts = task["hosts"].get(hostname, {}).get("ansible_facts", {})
            if fact in facts:
                value = facts[fact]
    return value


def verify_controls(host, path, fact, *args, timeout=600):
    """Run the playbook PATH (a role's verify entry point) for HOST only with
    the json callback and return the evidence records it set in FACT
    (e.g. tmux_verify_controls); the run must succeed and set them."""
    run = run_playbook(path, *args, limit=name(host), callback="json", timeout=timeout)
    assert run.returncode == 0, run.stdout[-3000:]
    controls = fact_set(json_document(run.stdout), name(host), fact)
    assert controls, "%s set no %s" % (path, fact)
    return controls


def by_id(records):
    """Evidence records by control id."""
    return {r["id"]: r for r in records}


class VerifyRun(object):
    """One ansible-playbook run of playbooks/verify.yml: the process, the json
    callback's document and the evidence report it wrote."""

    def __init__(self, proc, report, report_dir):
        self.proc, self.report, self.report_dir = proc, report, report_dir
        # Set by a fixture that broke something on one host.
        self.broken_host = self.weak_fp = None
        path = os.path.join(report_dir, "evidence.json")
        self.evidence = None
        if os.path.exists(path):
            with open(path) as fh:
                self.evidence = json.load(fh)

    def tail(self):
        return "rc=%s\n%s\n%s" % (self.proc.returncode, self.proc.stdout[-3000:], self.proc.stderr[-2000:])

    def records(self, hostname):
        assert self.evidence is not None, self.tail()
        return self.evidence[hostname]

    def failing(self, hostname):
        return {r["id"] for r in self.records(hostname) if r["status"] == "fail"}

    def by_id(self, hostname):
        return by_id(self.records(hostname))


def verify(report_dir, *args):
    """Run playbooks/verify.yml as an operator would, against Molecule's
    inventory, writing the evidence report into REPORT_DIR."""
    proc = run_playbook(os.path.join(REPO, "playbooks", "verify.yml"), "-e", "ephi_report_dir=%s" % report_dir,
                        *args, callback="json", timeout=1200)
    report = json_document(proc.stdout) if "{" in proc.stdout else None
    return VerifyRun(proc, report, str(report_dir))


# Real logins in a terminal: windows of root's outer tmux server.

def login_in_terminal(host, window, command):
    """Start COMMAND in a fresh window WINDOW of root's outer tmux server (a real pty)."""
    host.run("%s kill-session -t %s" % (OUTER, window))
    host.check_output("%s new-session -d -s %s -x 120 -y 30 %s" % (OUTER, window, "env TERM=xterm " + command))


def screen(host, window):
    """What the terminal WINDOW shows."""
    return host.check_output("%s capture-pane -p -t %s" % (OUTER, window))


def type_line(host, window, text):
    """Type TEXT and Enter into the terminal WINDOW."""
    host.check_output("%s send-keys -t %s %s Enter" % (OUTER, window, shlex.quote(text)))


def close_terminals(host):
    host.run("%s kill-server" % OUTER)


# Scenario helpers used by more than one test file.

def tmux_settings(host, live, **args):
    """ephi.safeguards.tmux_settings on HOST (become) for /etc/tmux.conf in live
    mode LIVE ("audit", "enforce"), with more module ARGS (e.g. **TMUX_POLICY)."""
    args = dict({"path": "/etc/tmux.conf", "live": live}, **args)
    return host.ansible("ephi.safeguards.tmux_settings", json.dumps(args), check=False, become=True)


def aide_check(host):
    return host.ansible("ephi.safeguards.aide_check", json.dumps({"config": AIDE_CONF}), check=False, become=True)


def aide_record_path(host):
    """Where the aide role recorded HOST's database hash on the controller."""
    return os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "aide-hashes", "%s.aide.db.sha512" % name(host))


def root_pub(host, key):
    """The public half of root's client key /root/.ssh/KEY (made by the scenario's prepare)."""
    return host.check_output("cat /root/.ssh/%s.pub" % key).strip()


def run_converge(host, *args, timeout=240):
    """Run the scenario's converge.yml again against HOST only (default callback),
    with more ansible-playbook ARGS; a dict among them is extra vars, passed as JSON."""
    args = [part for arg in args for part in (["-e", json.dumps(arg)] if isinstance(arg, dict) else [arg])]
    return run_playbook(scenario_path("converge.yml"), *args, limit=name(host), callback="default", timeout=timeout)
