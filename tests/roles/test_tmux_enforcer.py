"""Unit tests of the tmux role's policy enforcer (roles/tmux/files/ephi-tmux-enforcer).

The enforcer runs on the managed host as root with the collection's
tmux_live/tmux_conf copied under its python_path. Here the same layout is
built from this checkout (which also proves that the namespace-package
import works without __init__ files), and the decisions are driven through
tmux_live's real OwnerClient/LiveServer with a fake runner standing in for
the tmux client: what drifted is restored through the owner's client, each
restored item is one event, a server that cannot be examined is an event
and never stops the others, and the logging is rate-limited per socket.
"""

import importlib.machinery
import importlib.util
import json
import os
import socket
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROGRAM = os.path.join(REPO, "roles", "tmux", "files", "ephi-tmux-enforcer")
LOCK_COMMAND = "/usr/sbin/vlock-main ephi-tmux-event"


def load_program():
    loader = importlib.machinery.SourceFileLoader("ephi_tmux_enforcer", PROGRAM)
    spec = importlib.util.spec_from_loader("ephi_tmux_enforcer", loader)
    module = importlib.util.module_from_spec(spec)
    # No __pycache__ next to the role's files (they are shipped as they are).
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = saved
    return module


enforcer = load_program()


@pytest.fixture(scope="module")
def libs(tmp_path_factory):
    """(tmux_live, tmux_conf) imported as the host imports them."""
    root = tmp_path_factory.mktemp("python")
    dest = root / "ansible_collections" / "ephi" / "safeguards" / "plugins" / "module_utils"
    dest.mkdir(parents=True)
    for name in ("tmux_live.py", "tmux_conf.py"):
        (dest / name).symlink_to(os.path.join(REPO, "plugins", "module_utils", name))
    try:
        yield enforcer.import_live(str(root))
    finally:
        sys.path.remove(str(root))


POLICY = enforcer.check_policy({
    "options": {"lock-after-time": {"scope": "session", "value": "900"},
                "lock-command": {"scope": "session", "value": LOCK_COMMAND}},
    "bindings": {"X": {"command": "lock-session", "canonical": "bind-key -T prefix X lock-session"}},
    "hooks": {"session-created": "pipe-pane \"exec capture\""},
    "absent_hooks": ["client-attached"],
})


def tmux_commands(args):
    """The commands of one client's argv: tmux separates them with a ';' argument."""
    commands = [[]]
    for arg in args:
        if arg == ";":
            commands.append([])
        else:
            commands[-1].append(arg)
    return commands


class FakeServer:
    """The state of one user's tmux server, answering the enforcer's client commands."""

    def __init__(self, options=None, local=None, hooks=None, keys=None, hostile=None):
        self.options = dict({"lock-after-time": "900", "lock-command": LOCK_COMMAND}, **(options or {}))
        self.local = dict(local or {})
        self.hooks = dict({"session-created": "pipe-pane \"exec capture\""}, **(hooks or {}))
        self.keys = dict({"X": "lock-session"}, **(keys or {}))
        self.hostile = hostile
        self.calls = []

    def __call__(self, argv, creds, dir_fd=None, **_kwargs):
        # Several commands in one client run (a ';' argument between them) are
        # answered as tmux does: in order, stopping at the first that fails.
        out = b""
        for args in tmux_commands(argv[3:]):
            self.calls.append((creds.uid, args))
            if self.hostile == "timeout":
                return None, b"", b"client stopped: timeout after 5 s"
            if self.hostile == "crash" and args[0] == "show-options":
                raise RuntimeError("boom")
            answer = self.answer(args)
            if isinstance(answer, tuple):
                if answer[0] != 0:
                    return answer[0], out + answer[1], answer[2]
                answer = answer[1].decode()
            out += answer.encode()
        return 0, out, b""

    def answer(self, args):
        cmd = args[0]
        if cmd == "display-message" and args[1] == "-p":
            return args[2] + "\n"
        if cmd == "list-sessions":
            return "$0 main\n" if len(args) > 2 and "session_name" in args[2] else "$0\n"
        if cmd in ("list-windows", "list-panes"):
            return ""
        if cmd == "show-options":
            if args[1] == "-g":
                return "".join("%s %s\n" % (k, json.dumps(v)) for k, v in self.options.items())
            if args[1] == "-t":
                return "".join("%s %s\n" % (k, v) for k, v in self.local.items())
            return ""
        if cmd == "show-hooks":
            return "".join("%s[0] %s\n" % (k, v) for k, v in self.hooks.items())
        if cmd == "set-option":
            if args[1] == "-u":
                self.local.pop(args[-1], None)
            else:
                self.options[args[2]] = args[3]
            return ""
        if cmd == "set-hook":
            if args[1] == "-gu":
                self.hooks.pop(args[2], None)
            else:
                self.hooks[args[2]] = args[3]
            return ""
        if cmd == "list-keys":
            key = args[3]
            if key not in self.keys:
                return 1, b"", ("unknown key: %s" % key).encode()
            return "bind-key -T prefix %s %s\n" % (key, self.keys[key])
        if cmd == "bind-key":
            self.keys[args[3]] = " ".join(args[4:])
            return ""
        return 1, b"", b"unknown command"


@pytest.fixture
def socket_dir(tmp_path):
    """A private socket directory with a listening unix socket (as tmux makes them)."""
    directory = tmp_path / ("tmux-%d" % os.getuid())
    directory.mkdir(mode=0o700)
    sockets = []

    def make(name="default"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(directory / name))
        sockets.append(sock)
        return str(directory / name)

    yield directory, make
    for sock in sockets:
        sock.close()


def candidates(libs, directory):
    return libs[0].find_sockets([str(directory)])


def test_runtime_weakening_is_restored_as_the_owner_and_each_item_is_an_event(libs, socket_dir):
    directory, make = socket_dir
    path = make()
    server = FakeServer(options={"lock-after-time": "0", "lock-command": "true"},
                        local={"lock-after-time": "0"}, keys={}, hooks={"client-attached": "run-shell x"})
    del server.hooks["session-created"]
    del server.keys["X"]
    events = enforcer.examine_uid(libs[0], libs[1], POLICY, candidates(libs, directory), runner=server)

    assert server.options == {"lock-after-time": "900", "lock-command": LOCK_COMMAND}
    assert server.local == {}
    assert server.hooks == {"session-created": "pipe-pane \"exec capture\""}
    assert server.keys == {"X": "lock-session"}
    # Every client ran as the socket's owner (here: this test's user).
    assert {uid for uid, _args in server.calls} == {os.getuid()}
    restored = {(e["option"], e["target"]): e for e in events}
    assert all(e["event"] == "policy-restored" and e["socket"] == path and e["uid"] == os.getuid()
               for e in events), events
    assert set(restored) == {("lock-after-time", "global"), ("lock-after-time", "main"),
                             ("lock-command", "global"), ("session-created", "global"),
                             ("client-attached", "global"), ("binding:X", "prefix")}
    assert restored[("lock-after-time", "global")]["found"] == "0"
    assert restored[("lock-after-time", "global")]["restored"] == "900"
    assert restored[("binding:X", "prefix")]["found"] is None
    assert restored[("client-attached", "global")]["restored"] == ""


def test_a_server_that_follows_the_policy_gives_no_event(libs, socket_dir):
    directory, make = socket_dir
    make()
    server = FakeServer()
    assert enforcer.examine_uid(libs[0], libs[1], POLICY, candidates(libs, directory), runner=server) == []
    assert not [args for _uid, args in server.calls if args[0] in ("set-option", "set-hook", "bind-key")]


def test_a_rebound_lock_key_is_bound_again(libs, socket_dir):
    directory, make = socket_dir
    make()
    server = FakeServer(keys={"X": "display-message hi"})
    events = enforcer.examine_uid(libs[0], libs[1], POLICY, candidates(libs, directory), runner=server)
    assert server.keys["X"] == "lock-session"
    assert [(e["event"], e["found"]) for e in events] == [
        ("policy-restored", "bind-key -T prefix X display-message hi")]


def test_a_hostile_or_broken_server_is_an_event_and_the_next_one_is_still_enforced(libs, socket_dir):
    directory, make = socket_dir
    make("a-hangs")
    make("b-crashes")
    make("c-weak")
    servers = {"a-hangs": FakeServer(hostile="timeout"), "b-crashes": FakeServer(hostile="crash"),
               "c-weak": FakeServer(options={"lock-after-time": "0"})}

    def runner(argv, creds, dir_fd=None, **kwargs):
        return servers[argv[2][2:]](argv, creds, dir_fd, **kwargs)

    events = enforcer.examine_uid(libs[0], libs[1], POLICY, candidates(libs, directory), runner=runner)
    by_socket = {os.path.basename(e["socket"]): e for e in events}
    assert by_socket["a-hangs"]["event"] == "policy-unexaminable"
    assert by_socket["a-hangs"]["status"] == "timeout"
    assert by_socket["b-crashes"]["event"] == "enforcer-error"
    assert "boom" in by_socket["b-crashes"]["error"]
    assert by_socket["c-weak"]["event"] == "policy-restored"
    assert servers["c-weak"].options["lock-after-time"] == "900"


def test_after_two_timeouts_the_users_other_servers_are_not_waited_for(libs, socket_dir):
    directory, make = socket_dir
    for name in ("a", "b", "c"):
        make(name)
    server = FakeServer(hostile="timeout")
    events = enforcer.examine_uid(libs[0], libs[1], POLICY, candidates(libs, directory), runner=server)
    assert [e["status"] for e in events] == ["timeout"] * 3
    # Probe, disarm attempt, probe again for the first two; nothing for the third.
    assert [args[0] for _uid, args in server.calls] == ["list-sessions", "show-hooks", "list-sessions"] * 2
    assert "earlier servers of this user timed out" in events[2]["reason"]


class Booby(FakeServer):
    """A server with after-hooks on the enforcer's commands, globally and in its
    session: each makes the command fail (a file the client may not write) or
    puts the weak value back at once."""

    def __init__(self, **kwargs):
        FakeServer.__init__(self, **kwargs)
        self.scoped = {"-g": {"after-list-sessions": "save-buffer /etc/cron.d/x",
                              "after-set-hook": "save-buffer /etc/cron.d/y"},
                       "$0": {"after-set-option": "set -g lock-after-time 0",
                              "after-show-options": "save-buffer /etc/cron.d/z"}}

    def answer(self, args):
        cmd = args[0]
        if cmd == "show-hooks" and args[1] in ("-g", "-t"):
            scope = "-g" if args[1] == "-g" else args[2]
            hooks = dict(self.scoped.get(scope, {}), **(self.hooks if scope == "-g" else {}))
            return "".join("%s[0] %s\n" % (k, v) for k, v in hooks.items()) + "after-bind-key\n"
        if cmd == "set-hook" and args[1] == "-u":
            scope = "-g" if args[2] == "-g" else args[3]
            fired = self.fire("after-set-hook")
            self.scoped[scope].pop(args[-1], None)
            return (1, b"", fired) if fired else ""
        out = FakeServer.answer(self, args)
        fired = self.fire("after-" + cmd)
        if fired and "lock-after-time 0" in fired.decode():
            self.options["lock-after-time"] = "0"
        elif fired:
            return 1, out.encode() if isinstance(out, str) else b"", fired
        return out

    def fire(self, name):
        for scope in ("$0", "-g"):
            if name in self.scoped.get(scope, {}):
                return self.scoped[scope][name].encode()
        return b""


def test_after_hooks_on_the_enforcers_commands_are_removed_first(libs, socket_dir):
    directory, make = socket_dir
    make()
    server = Booby(options={"lock-after-time": "0"})
    events = enforcer.examine_uid(libs[0], libs[1], POLICY, candidates(libs, directory), runner=server)
    assert server.scoped == {"-g": {}, "$0": {}}
    assert server.options["lock-after-time"] == "900"
    removed = [(e["option"], e["target"]) for e in events if e["scope"] == "hook" and e.get("restored", "") is None]
    assert removed == [("after-set-hook", "global"), ("after-list-sessions", "global"),
                       ("after-set-option", "session:$0"), ("after-show-options", "session:$0")]
    assert ("lock-after-time", "global") in [(e["option"], e["target"]) for e in events
                                             if e["event"] == "policy-restored"]


class Echo(FakeServer):
    """A server whose after-display-message hook repeats what display-message
    printed (display-message -p '#{hook_argument_0}'): the marker between the
    outputs of the commands tmux_live sends in one client run."""

    def __init__(self, **kwargs):
        FakeServer.__init__(self, **kwargs)
        self.hooks["after-display-message"] = "display-message -p '#{hook_argument_0}'"

    def answer(self, args):
        if args[0] == "show-hooks" and args[1] == "-t":
            return ""
        if args[0] == "set-hook" and args[1] == "-u":
            self.hooks.pop(args[-1], None)
            return ""
        out = FakeServer.answer(self, args)
        if args[0] == "display-message" and "after-display-message" in self.hooks:
            out += args[-1] + "\n"
        return out


def test_an_after_display_message_hook_is_removed_first(libs, socket_dir):
    directory, make = socket_dir
    make()
    server = Echo(options={"lock-after-time": "0"})
    events = enforcer.examine_uid(libs[0], libs[1], POLICY, candidates(libs, directory), runner=server)
    assert "after-display-message" not in server.hooks
    assert [(e["event"], e["option"]) for e in events][:2] == [
        ("policy-restored", "after-display-message"), ("policy-restored", "lock-after-time")]
    assert server.options["lock-after-time"] == "900"
    # Left in place, the echoed marker makes the output unparsable: not examined.
    live = libs[0].LiveServer(libs[0].OwnerClient("/usr/bin/tmux", candidates(libs, directory)[0],
                                                  runner=Echo(options={"lock-after-time": "0"})))
    assert live.probe() == "running"
    result = libs[0].examine_servers([live], POLICY["options"], "audit")
    assert [s["status"] for s in result["unexamined"]] == ["error"]
    assert "batch marker" in result["unexamined"][0]["msg"]


def test_an_unsafe_socket_is_reported_and_never_connected_to(libs, socket_dir):
    directory, make = socket_dir
    make()
    os.chmod(str(directory), 0o777)
    try:
        server = FakeServer()
        events = enforcer.examine_uid(libs[0], libs[1], POLICY, candidates(libs, directory), runner=server)
    finally:
        os.chmod(str(directory), 0o700)
    assert server.calls == []
    assert [(e["event"], e["status"]) for e in events] == [("policy-unexaminable", "unsafe")]
    assert "writable by group or others" in events[0]["reason"]


def test_a_failed_restore_is_an_event_not_a_restored_one(libs, socket_dir):
    directory, make = socket_dir
    make()

    class Stubborn(FakeServer):
        def answer(self, args):
            if args[0] == "set-option":
                return ""  # accepted, but the value stays (a hook puts it back at once)
            return FakeServer.answer(self, args)

    server = Stubborn(options={"lock-after-time": "0"})
    events = enforcer.examine_uid(libs[0], libs[1], POLICY, candidates(libs, directory), runner=server)
    assert [(e["event"], e["option"], e["wanted"]) for e in events] == [
        ("policy-restore-failed", "lock-after-time", "900")]
    assert "drift remains" in events[0]["error"]


def test_event_line_format():
    line = enforcer.format_event({
        "event": "policy-restored", "user": "bob", "uid": 1001, "socket": "/tmp/tmux-1001/default",
        "option": "lock-command", "found": "true", "restored": LOCK_COMMAND, "scope": "session",
        "target": "global"})
    assert line == ('event=policy-restored user=bob uid=1001 socket=/tmp/tmux-1001/default '
                    'option=lock-command found="true" restored="%s" scope=session target=global' % LOCK_COMMAND)
    assert enforcer.format_event({"event": "policy-restored", "found": None, "restored": "4"}) == \
        'event=policy-restored found=null restored="4"'
    # A user controls socket and session names: no way to forge another key=value.
    forged = enforcer.format_event({"event": "policy-unexaminable", "socket": "/tmp/x event=fake",
                                    "reason": "a\nb"})
    assert forged == 'event=policy-unexaminable socket="/tmp/x event=fake" reason="a\\nb"'
    # An examination that overran has no socket: the key is left out.
    assert enforcer.format_event({"event": "policy-unexaminable", "uid": 1001, "socket": None}) == \
        "event=policy-unexaminable uid=1001"


def test_rate_limit_per_socket_with_a_summary_afterwards():
    now = [0.0]
    limiter = enforcer.RateLimiter(burst=3, refill_seconds=10, repeat_after=600, clock=lambda: now[0])
    event = {"event": "policy-restored", "user": "bob", "uid": 1001, "socket": "/tmp/tmux-1001/default"}
    logged = [limiter.allow("s1", event) for _n in range(5)]
    assert [len(x) for x in logged] == [1, 1, 1, 0, 0]
    # Another socket has its own budget.
    assert limiter.allow("s2", event) == [event]
    now[0] = 10.0
    again = limiter.allow("s1", event)
    assert again[0] == {"event": "events-suppressed", "count": 2, "user": "bob", "uid": 1001,
                        "socket": "/tmp/tmux-1001/default"}
    assert again[1] == event


def test_the_same_finding_is_repeated_only_after_repeat_after():
    now = [0.0]
    limiter = enforcer.RateLimiter(burst=20, refill_seconds=10, repeat_after=600, clock=lambda: now[0])
    event = {"event": "policy-unexaminable", "socket": "/s", "status": "timeout"}
    assert limiter.allow("/s", event, repeat_key=("/s", "timeout")) == [event]
    now[0] = 300.0
    assert limiter.allow("/s", event, repeat_key=("/s", "timeout")) == []
    now[0] = 601.0
    assert limiter.allow("/s", event, repeat_key=("/s", "timeout")) == [event]


def test_sockets_beyond_the_per_user_cap_are_not_examined():
    cands = [{"uid": 1001, "path": "/tmp/tmux-1001/%d" % i} for i in range(5)] + [
        {"uid": 1002, "path": "/tmp/tmux-1002/default"}]
    groups = enforcer.group_sockets(cands, 3)
    assert [c["path"] for c in groups[1001][0]] == ["/tmp/tmux-1001/%d" % i for i in range(3)]
    assert len(groups[1001][1]) == 2
    assert groups[1002] == ([cands[5]], [])


def test_every_user_gets_a_pass_when_there_are_more_users_than_children(libs, monkeypatch):
    """max_children 2 and 5 users: each tick the users examined longest ago go
    first, so all five are examined within three ticks (lowest uids first would
    examine 1001 and 1002 for ever)."""
    now = [0.0]
    daemon = enforcer.Enforcer(dict(POLICY, max_children=2), libs[0], libs[1], log=lambda line: None,
                               clock=lambda: now[0])
    cands = [{"uid": uid, "path": "/tmp/tmux-%d/default" % uid} for uid in (1005, 1001, 1003, 1002, 1004)]
    monkeypatch.setattr(daemon.live, "find_sockets", lambda patterns: cands)
    monkeypatch.setattr(enforcer, "unreadable_dirs", lambda patterns: [])
    started = []

    def spawn(uid, candidates):
        started.append(uid)
        daemon.children[uid] = {}
    monkeypatch.setattr(daemon, "spawn", spawn)
    for _tick in range(3):
        now[0] += 5.0
        daemon.tick()
        daemon.children.clear()  # the passes ended before the next tick
    assert started[:2] == [1001, 1002]
    assert sorted(started[:5]) == [1001, 1002, 1003, 1004, 1005]
    assert started[5] == 1001  # then round again, longest ago first
    assert enforcer.pass_order([3, 1, 2], {1: 9.0, 2: 4.0}) == [3, 2, 1]


def test_enforcer_logs_the_childrens_events_through_the_limiter(libs):
    logged = []
    daemon = enforcer.Enforcer(dict(POLICY, event_burst=1), libs[0], libs[1], log=logged.append,
                               clock=lambda: 0.0)
    event = {"event": "policy-restored", "user": "bob", "uid": 1001, "socket": "/s", "option": "o",
             "found": "0", "restored": "900"}
    daemon.emit(event)
    daemon.emit(event)
    assert logged == [enforcer.format_event(event)]


@pytest.mark.parametrize("bad, message", [
    ({"options": {"lock-after-time": "900"}}, "options must map"),
    ({"options": {}}, "the policy is empty"),
    ({"interval": 0, "require_pipe": True}, "interval must be a positive number"),
    ({"tmux": "tmux", "require_pipe": True}, "tmux must be an absolute path"),
    ({"bindings": {"X": "lock-session"}}, "bindings must map"),
])
def test_policy_is_checked(bad, message):
    with pytest.raises(enforcer.PolicyError, match=message):
        enforcer.check_policy(bad)


def test_unreadable_socket_directories_are_reported(tmp_path):
    hidden = tmp_path / "tmux-4242"
    hidden.mkdir(mode=0o000)
    try:
        if os.access(str(hidden), os.R_OK):
            pytest.skip("running with a capability that reads any directory")
        found = enforcer.unreadable_dirs([str(tmp_path / "tmux-*")])
    finally:
        hidden.chmod(0o700)
    assert [(p, uid) for p, uid, _status in found] == [(str(hidden), os.getuid())]


@pytest.fixture
def lib_root(tmp_path):
    """A python_path with the collection's libraries, as the role installs them."""
    root = tmp_path / "python"
    dest = root / "ansible_collections" / "ephi" / "safeguards" / "plugins" / "module_utils"
    dest.mkdir(parents=True)
    for name in ("tmux_live.py", "tmux_conf.py"):
        (dest / name).symlink_to(os.path.join(REPO, "plugins", "module_utils", name))
    yield str(root)
    if str(root) in sys.path:
        sys.path.remove(str(root))


def write_policy(tmp_path, data):
    path = tmp_path / "ephi-tmux-policy.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


GOOD = {"interval": 5, "options": {"lock-after-time": {"scope": "session", "value": "900"}}}


def fields(lines):
    """The lines as tmux_controls.enforcer_probe reads them."""
    assert all(line.count("\n") == 0 for line in lines)
    return dict(line.split("=", 1) for line in lines)


def test_probe_of_a_good_policy(tmp_path, lib_root):
    path = write_policy(tmp_path, dict(GOOD, python_path=lib_root))
    logged = []
    lines = enforcer.probe_lines(path, state=lambda: "active", log=logged.append)
    assert [line.split("=", 1)[0] for line in lines] == ["service", "policy_file", "check_config", "interval"]
    assert fields(lines) == {
        "service": "active", "policy_file": "present", "interval": "5",
        "check_config": "0 policy ok: 1 option(s), 0 binding(s), 0 hook(s), 0 absent hook(s), require_pipe False"}
    assert logged == []


@pytest.mark.parametrize("content, policy_file, check_config, interval", [
    # No policy at all.
    (None, "missing", "1 event=enforcer-error error=", ""),
    # Not JSON: no interval can be read either.
    ("{not json", "present", "1 event=enforcer-error error=", ""),
    # A valid JSON file whose interval is wrong: the file's interval is still reported.
    ({"interval": 0, "require_pipe": True}, "present",
     '1 event=enforcer-error error="interval must be a positive number"', "0"),
    ({"interval": True, "require_pipe": True}, "present",
     '1 event=enforcer-error error="interval must be a positive number"', ""),
])
def test_probe_of_a_policy_the_enforcer_cannot_use(tmp_path, content, policy_file, check_config, interval):
    path = str(tmp_path / "absent.json") if content is None else write_policy(tmp_path, content)
    logged = []
    found = fields(enforcer.probe_lines(path, state=lambda: "failed", log=logged.append))
    assert found["service"] == "failed" and found["policy_file"] == policy_file
    assert found["check_config"].startswith(check_config) and found["interval"] == interval
    assert logged and logged[0].startswith("event=enforcer-error")


def run_probe(path):
    """The program itself, as the role's verify runs it (python3 -I: no PYTHONPATH of this test run)."""
    proc = subprocess.run([sys.executable, "-I", PROGRAM, "--probe", "--config", path],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return fields(proc.stdout.decode().splitlines())


def test_probe_as_a_program(tmp_path, lib_root):
    found = run_probe(write_policy(tmp_path, dict(GOOD, interval=7, python_path=lib_root)))
    assert found["policy_file"] == "present" and found["interval"] == "7"
    assert found["check_config"] == ("0 policy ok: 1 option(s), 0 binding(s), 0 hook(s), 0 absent hook(s), "
                                     "require_pipe False")
    assert found["service"]
    # The libraries cannot be imported from the policy's python_path.
    found = run_probe(write_policy(tmp_path, dict(GOOD, python_path=str(tmp_path / "nothing-here"))))
    assert found["check_config"].startswith("1 event=enforcer-error error=") and "No module named" in found[
        "check_config"]
    assert found["interval"] == "5"


def test_unit_state_without_systemctl():
    assert enforcer.unit_state(systemctl="/nonexistent/systemctl") == "unknown"


def test_probe_output_is_what_the_evidence_control_reads(tmp_path, lib_root):
    """The contract with plugins/module_utils/tmux_controls.py: the program's --probe output, as the
    role's verify registers it, passes the tmux-policy-enforcer control when all is well and fails
    it, naming why, when the policy's interval is not the wanted one or the service is down."""
    # The collection's root on sys.path: the checkout's link farm
    # (scripts/lib.sh), or the tree itself when it already lies at
    # ansible_collections/ephi/safeguards (the newest stage's layout copy).
    here = os.path.realpath(REPO).split(os.sep)
    sys.path.insert(0, os.sep.join(here[:-3]) if here[-3:] == ["ansible_collections", "ephi", "safeguards"]
                    else os.path.join(REPO, ".cache", "collections"))
    try:
        from ansible_collections.ephi.safeguards.plugins.module_utils import tmux_controls
    finally:
        sys.path.pop(0)
    path = write_policy(tmp_path, dict(GOOD, interval=5, python_path=lib_root))

    def control(state, wanted):
        stdout = "\n".join(enforcer.probe_lines(path, state=lambda: state))
        probe = {"rc": 0, "stdout": stdout, "stderr": "", "changed": False}
        return tmux_controls.tmux_policy_enforcer({"enforcer": probe},
                                                  {"live_mode": "enforce", "enforcer_interval": wanted})

    good = control("active", 5)
    assert good["status"] == "pass", good
    assert "policy ok: 1 option(s)" in good["observed"]
    bad = control("inactive", 7)
    assert bad["status"] == "fail"
    assert "ephi-tmux-enforcer.service inactive, not running" in bad["observed"]
    assert "the policy file says every 5 s, tmux_enforcer_interval 7" in bad["observed"]
