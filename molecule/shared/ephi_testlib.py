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

import contextlib
import json
import os
import re
import shlex
import subprocess
import time
import uuid

import pytest
import testinfra
from testinfra.utils.ansible_runner import AnsibleRunner


def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist: the tests of one instance run in one worker, in file order.

    The base Molecule configuration runs the verifier with ``-n 2``: the
    Debian 12 and 13 halves of a scenario run side by side, while the tests
    of one instance never overlap (they pause its enforcer, kill its users'
    processes, restart it). xdist's own ``--dist loadgroup`` cannot do this
    with pytest 9 (it renames items through an attribute pytest no longer
    reads), so this scheduler makes the instance a test's scope. Each
    scenario's tests/conftest.py imports this hook; scenarios whose tests act
    on every instance at once (site) run without workers (``-n 0``).
    """
    from xdist.scheduler import LoadScopeScheduling  # pylint: disable=import-outside-toplevel

    names = sorted(inventory_hosts("all"), key=len, reverse=True)

    class ByInstance(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            params = nodeid.rpartition("[")[2]
            return next((n for n in names if "://" + n in params), nodeid)

    return ByInstance(config, log)


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
LOCK_COMMAND = "/usr/sbin/vlock-main ephi-tmux-event"
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


# The session gate and recorder (tmux role, issue 12): what the encrypted_logs
# scenario's session tests share. Markers never appear joined in a command run
# on the host (sudo logs every command line to the journal and ephi-admin's own
# command sessions are recorded): the shell joins the halves with printf, and
# searches take the needle hex-encoded.

SESSION_CONFIG = "/etc/ephi-session.json"
SESSION_IDENT = "ephi-session"
SESSION_SERVICE = "ephi-session-recorder.service"
SESSION_SOCKET_UNIT = "ephi-session.socket"
GATE = "/usr/local/lib/ephi-safeguards/ephi-session-gate"
# The scenario's test accounts (molecule/encrypted_logs/prepare_tasks.yml).
GATED_USER, FLOODER, BREAKGLASS, ADMIN = "ephi-erin", "ephi-frank", "ephi-breakglass", "ephi-admin"

_EVENT_FIELD = re.compile(r'([A-Za-z_][\w-]*)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_event(line):
    """The key=value fields of one ephi-session syslog line (JSON-quoted values decoded)."""
    fields = {}
    for key, value in _EVENT_FIELD.findall(line):
        if value.startswith('"'):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        fields[key] = value
    return fields


def events_in(text, **match):
    """The events in journal text (-o cat) whose fields equal every MATCH (key=value)."""
    found = []
    for line in text.splitlines():
        event = parse_event(line)
        if "event" in event and all(event.get(k) == str(v) for k, v in match.items()):
            found.append(event)
    return found


def session_journal(host, **match):
    """The ephi-session journal as text, narrowed on the host to the lines whose
    event, id and user equal MATCH's (without an event: all but the recorder's
    chain events, several per recording). Where Ansible's account goes through
    the gate, everything this prints is recorded, and the tests read the journal
    often enough to fill the encrypted_logs scenario's 32 MiB store (measured: a
    read ended by capture-failed, then every login refused)."""
    keep = ["grep -a -e %s" % sh_quote("^event=%s " % match["event"]) if match.get("event")
            else "grep -av '^event=chain '"]
    keep += ["grep -aE -e %s" % sh_quote(" %s=%s( |$)" % (key, match[key])) for key in ("id", "user") if key in match]
    return host.check_output("journalctl --no-pager -q -o cat -t %s | %s || true" % (SESSION_IDENT, " | ".join(keep)))


def session_events(host, **match):
    """ephi-session events in HOST's journal matching MATCH, e.g. event="session-start", user=GATED_USER."""
    return events_in(session_journal(host, **match), **match)


def session_config(host):
    return json.loads(host.check_output("cat %s" % SESSION_CONFIG))


def split_marker(kind, in_tmux=False):
    """(what to type, the needle): a printf that joins ephi-KIND and a fresh
    token with a dash, the needle being what it prints. IN_TMUX adds a third
    part, "tmux", that the shell prints only when $TMUX is set."""
    token = uuid.uuid4().hex
    if in_tmux:
        return ("printf '%%s-%%s-%%s\\n' ephi-%s %s \"${TMUX:+tmux}\"" % (kind, token),
                "ephi-%s-%s-tmux" % (kind, token))
    return "printf '%%s-%%s\\n' ephi-%s %s" % (kind, token), "ephi-%s-%s" % (kind, token)


# Runs on the host as root: the user's recordings (argv[2]) whose terminal text
# contains a needle (argv[3:], hex); prints [{file, header, needles}] as JSON.
# Text is the "o" events joined, searched as is and without terminal escapes.
_CAST_SEARCH = r'''
import glob, json, re, sys
esc = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|[()*+].|[ -/]*[0-~])")
needles = [bytes.fromhex(n).decode() for n in sys.argv[3:]]
out = []
for path in sorted(glob.glob("%s/%s/*.cast" % (sys.argv[1], sys.argv[2]))):
    header, parts = None, []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh):
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if n == 0 and isinstance(item, dict):
                header = item
            elif isinstance(item, list) and len(item) == 3 and item[1] == "o":
                parts.append(item[2])
    raw = "".join(parts)
    text = esc.sub("", raw)
    hits = [i for i, s in enumerate(needles) if s in raw or s in text]
    if hits:
        out.append({"file": path, "header": header, "needles": hits})
print(json.dumps(out))
'''


def recordings_with(host, user, *needles, root=MOUNT):
    """[{file, header, needles}] of USER's asciicast recordings that show a NEEDLE."""
    args = " ".join(n.encode().hex() for n in needles)
    return json.loads(host.check_output("python3 -c %s %s %s %s" % (sh_quote(_CAST_SEARCH), root, user, args)))


def wait_recorded(host, user, needle, timeout=15):
    """USER's recordings that show NEEDLE, polled until there is one or TIMEOUT."""
    return wait_for(lambda: recordings_with(host, user, needle), timeout=timeout)


def cast_lines(host, path):
    """The JSON lines of one recording (header first)."""
    return [json.loads(line) for line in host.check_output("cat %s" % path).splitlines() if line.strip()]


def terminal(host, window, command, env="TERM=xterm"):
    """Start COMMAND (shell text) with ENV in a fresh 120x30 window WINDOW of
    root's outer tmux server; when it ends, the window shows ephi-exit=<status>
    and stays open."""
    host.run("%s kill-session -t %s" % (OUTER, window))
    script = "env %s %s; echo ephi-exit=$?; exec sleep 3600" % (env, command)
    host.check_output("%s new-session -d -s %s -x 120 -y 30 %s" % (OUTER, window, sh_quote(script)))


_PROMPT = re.compile(r"[$#]$", re.M)


def wait_prompt(host, window, timeout=15):
    """Wait until the terminal WINDOW shows a shell prompt (a line ending in $ or #)."""
    return wait_for(lambda: _PROMPT.search(screen(host, window)), timeout=timeout)


def exit_status(host, window):
    """The status the command in the terminal WINDOW (see terminal()) ended with, or None."""
    found = re.findall(r"ephi-exit=(\d+)", screen(host, window))
    return int(found[-1]) if found else None


def podman_exec(host, command, check=True, stdin=None, timeout=120):
    """Run COMMAND as root inside HOST's container through podman exec (no SSH,
    no gate, no sudo): the completed process (text output)."""
    proc = subprocess.run(["podman", "exec", "-i", name(host), "/bin/sh", "-c", command], input=stdin or "",
                          capture_output=True, text=True, timeout=timeout, check=False)
    if check:
        assert proc.returncode == 0, "%s: rc=%s %s %s" % (command, proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    return proc


class ContainerRoot(object):
    """Root inside HOST's container through podman exec, in place of a testinfra
    host for the helpers above (run, check_output): for the moments in which the
    gate refuses Ansible's own account (the encrypted directory unmounted)."""

    class Result(object):
        def __init__(self, proc):
            self.rc = self.exit_status = proc.returncode
            self.stdout, self.stderr = proc.stdout, proc.stderr

    def __init__(self, host):
        self.host = host

    def run(self, command):
        return self.Result(podman_exec(self.host, command, check=False))

    def check_output(self, command):
        return podman_exec(self.host, command).stdout.rstrip("\r\n")


def session_ids(host, user):
    """The ids of USER's sessions the recorder has started so far."""
    return {e.get("id") for e in session_events(host, event="session-start", user=user)}


def new_sessions(host, user, before, kind=None, count=1, timeout=15):
    """USER's session-start events whose id is not in BEFORE (and of KIND), polled
    until there are COUNT of them or TIMEOUT; the list found (maybe shorter)."""
    found = []

    def find():
        found[:] = [e for e in session_events(host, event="session-start", user=user)
                    if e.get("id") not in before and kind in (None, e.get("kind"))]
        return len(found) >= count
    wait_for(find, timeout=timeout)
    return list(found)


def session_end(host, session_id, timeout=15):
    """The session-end event of SESSION_ID, polled until it is there or TIMEOUT (then None)."""
    ends = wait_for(lambda: session_events(host, event="session-end", id=session_id), timeout=timeout)
    return ends[-1] if ends else None


def ssh_login(user, command="", options=""):
    """The shell text of an interactive SSH login (forced pty) of USER on the instance's own sshd."""
    return "%s %s -tt %s@127.0.0.1 %s" % (SSH, options, user, command)


@contextlib.contextmanager
def enforcer_paused(host):
    """The tmux policy enforcer stopped for a test that must see drift before it
    is put back (it reverts within seconds); started again afterwards."""
    assert host.run("systemctl stop ephi-tmux-enforcer.service").rc == 0
    try:
        yield
    finally:
        host.run("systemctl start ephi-tmux-enforcer.service")


def kill_users(host, *users):
    """Every process of USERS killed, setuid ones they started included (pkill
    -U: vlock-main keeps the user's real uid)."""
    for user in users:
        host.run("pkill -KILL -u {0}; pkill -KILL -U {0}".format(user))


@pytest.fixture
def gated_users_clean(host):
    """No process of the gated test users before and after a test, and root's
    test terminals closed afterwards. A test module imports it and opts in
    with ``pytestmark = pytest.mark.usefixtures(gated_users_clean.__name__)``."""
    kill_users(host, GATED_USER, FLOODER)
    yield
    close_terminals(host)
    kill_users(host, GATED_USER, FLOODER)


def break_glass_gets_in(root):
    """The break-glass account (exempt from the gate) gets a working shell over
    SSH, and no gated session is recorded for it."""
    before = session_ids(root, BREAKGLASS)
    terminal(root, "glass", ssh_login(BREAKGLASS))
    assert wait_prompt(root, "glass"), screen(root, "glass")
    typed, needle = split_marker("glass")
    type_line(root, "glass", typed)
    assert wait_for(lambda: needle in screen(root, "glass")), screen(root, "glass")
    assert session_ids(root, BREAKGLASS) == before
