"""The tmux policy enforcer on a converged instance (issue 12, section 4).

A user's ~/.tmux.conf and runtime changes (`set -g lock-after-time 0`, a
session-local override, another lock-command, an unbound lock key, unset
capture hooks) are put back by ephi-tmux-enforcer.service within 10 s, each
revert is an event (syslog authpriv, ident ephi-tmux-enforcer), and the
enforcer never runs a tmux client as root: its clients run with the server owner's
uid and gid, and after-hooks a user plants on the commands it sends are
removed (as that user) before they can fail or undo the examination; they
write nothing as root.
"""

import json
import uuid

import pytest

from ephi_testlib import LOCK_AFTER, LOCK_COMMAND, sh_quote, wait_for

SERVICE = "ephi-tmux-enforcer.service"
POLICY = "/etc/ephi-tmux-policy.json"
PROGRAM = "/usr/local/lib/ephi-safeguards/ephi-tmux-enforcer"
# The time the issue allows for a revert (the enforcer's interval is 5 s).
WITHIN = 10
ATTACKER = "ephi-carol"
ROOT_TARGET = "/etc/cron.d/ephi-enforcer-attack"
ENFORCER_COMMANDS = ["list-sessions", "show-options", "list-keys", "set-option", "bind-key"]


def user_tmux(host, user, args):
    return host.run("runuser -u %s -- tmux %s" % (user, args))


def shown(host, user, args):
    out = user_tmux(host, user, args)
    return out.stdout.strip() if out.rc == 0 else None


def since(host):
    return host.check_output("date +%s").strip()


def events(host, start, *needles):
    """The enforcer's syslog lines since START (epoch) that contain every NEEDLE."""
    out = host.run("journalctl -q -o cat -t ephi-tmux-enforcer --since @%s" % start)
    return [line for line in out.stdout.splitlines() if all(n in line for n in needles)]


def restored_within(host, condition):
    """Seconds (measured on the instance) until the shell CONDITION holds, or None
    if it did not within WITHIN s."""
    out = host.run("start=$(date +%%s%%N); end=$((start + %d000000000)); "
                   "while [ $(date +%%s%%N) -lt $end ]; do "
                   "if %s; then echo $(( ($(date +%%s%%N) - start) / 1000000 )); exit 0; fi; sleep 0.2; "
                   "done; exit 1" % (WITHIN, condition))
    return int(out.stdout.strip()) / 1000.0 if out.rc == 0 else None


def tmux_is(user, args, value):
    """A shell condition: `tmux ARGS` as USER prints VALUE."""
    return '[ "$(runuser -u %s -- tmux %s 2>/dev/null)" = %s ]' % (user, args, sh_quote(value))


@pytest.fixture
def policy(host):
    return json.loads(host.file(POLICY).content_string)


@pytest.fixture(autouse=True)
def cleanup(host):
    yield
    for user in ("ephi-bob", ATTACKER):
        host.run("pkill -KILL -u %s" % user)
    host.run("rm -rf %s-*" % ROOT_TARGET)


def test_enforcer_runs_as_a_hardened_root_service(host):
    service = host.service(SERVICE)
    assert service.is_running and service.is_enabled
    props = host.check_output("systemctl show %s -p NoNewPrivileges -p PrivateTmp -p ProtectSystem "
                              "-p ProtectHome -p Restart" % SERVICE)
    assert "NoNewPrivileges=yes" in props and "PrivateTmp=no" in props
    assert "ProtectSystem=strict" in props and "Restart=always" in props
    for path in (PROGRAM, POLICY, "/usr/local/lib/ephi-safeguards/python/ansible_collections/ephi/safeguards/"
                 "plugins/module_utils/tmux_live.py"):
        f = host.file(path)
        assert f.user == "root" and f.group == "root" and not f.mode & 0o022, path
    assert host.run("%s --check-config" % PROGRAM).rc == 0


def test_policy_file_holds_the_role_policy(policy):
    assert policy["options"]["lock-after-time"] == {"scope": "session", "value": str(LOCK_AFTER)}
    assert policy["options"]["lock-command"]["value"] == LOCK_COMMAND
    assert policy["bindings"]["X"]["canonical"] == "bind-key -T prefix X lock-session"


def test_user_tmux_conf_is_overridden_within_10_s(host):
    # ephi-bob's ~/.tmux.conf sets lock-after-time 0 (prepare_tasks.yml).
    start = since(host)
    assert user_tmux(host, "ephi-bob", "new-session -d -s work").rc == 0
    took = restored_within(host, tmux_is("ephi-bob", "show-options -gv lock-after-time", str(LOCK_AFTER)))
    assert took is not None, "lock-after-time still %s after %d s" % (
        shown(host, "ephi-bob", "show-options -gv lock-after-time"), WITHIN)
    uid = host.user("ephi-bob").uid
    assert wait_for(lambda: events(host, start, "event=policy-restored", "user=ephi-bob", "uid=%d" % uid,
                                   "socket=/tmp/tmux-%d/default" % uid, "option=lock-after-time",
                                   'found="0"', 'restored="%d"' % LOCK_AFTER), timeout=5)


def test_runtime_weakening_is_reverted_within_10_s_and_logged(host):
    user = "ephi-bob"
    assert user_tmux(host, user, "new-session -d -s work").rc == 0
    # Let a first pass put ~/.tmux.conf's value back before weakening at runtime.
    assert wait_for(lambda: shown(host, user, "show-options -gv lock-after-time") == str(LOCK_AFTER),
                    timeout=WITHIN + 1)
    start = since(host)
    weaken = ("set-option -g lock-after-time 0 \\; set-option -t work lock-after-time 0 \\; "
              "set-option -g lock-command /bin/true \\; unbind-key -T prefix X")
    assert user_tmux(host, user, weaken).rc == 0

    policy_again = " && ".join([
        tmux_is(user, "show-options -gv lock-after-time", str(LOCK_AFTER)),
        tmux_is(user, "show-options -v -t work lock-after-time", ""),
        tmux_is(user, "show-options -gv lock-command", LOCK_COMMAND),
        tmux_is(user, "list-keys -T prefix X", "bind-key -T prefix X lock-session")])
    took = restored_within(host, policy_again)
    assert took is not None, host.run("journalctl -q -o cat -t ephi-tmux-enforcer -n 20").stdout
    for needles in (("option=lock-after-time", 'found="0"', "target=global"),
                    ("option=lock-after-time", 'found="0"', "target=work"),
                    ("option=lock-command", 'found="/bin/true"'),
                    ("option=binding:X", "found=null")):
        assert wait_for(lambda n=needles: events(host, start, "event=policy-restored", "user=%s" % user, *n),
                        timeout=5), needles


def test_unset_capture_hooks_are_set_again(host, policy):
    if not policy["hooks"]:
        pytest.skip("session capture is not active here (no encrypted directory): no hooks to enforce")
    user = "ephi-bob"
    assert user_tmux(host, user, "new-session -d -s work").rc == 0
    start = since(host)
    for hook in policy["hooks"]:
        assert user_tmux(host, user, "set-hook -gu %s" % hook).rc == 0
    took = restored_within(host, " && ".join(
        "runuser -u %s -- tmux show-hooks -g | grep -q '^%s\\[0\\]'" % (user, hook) for hook in policy["hooks"]))
    assert took is not None
    for hook in policy["hooks"]:
        assert wait_for(lambda h=hook: events(host, start, "event=policy-restored", "option=%s" % h), timeout=5)


def test_no_tmux_client_of_the_enforcer_runs_as_root(host):
    # While a server with many sessions keeps the enforcer busy (and its user
    # keeps weakening it), every client the enforcer starts (`tmux -S ./NAME`,
    # relative to the opened socket directory) runs with a user's real and
    # effective uid and gid. Root's own servers (the tests' outer terminal
    # server in /tmp/tmux-0) are rightly examined by root's clients: a root
    # client is allowed only for a socket name that root's directory holds
    # and no user's does.
    user = "ephi-bob"
    for i in range(30):
        assert user_tmux(host, user, "new-session -d -s s%d" % i).rc == 0
    # The command line is read before the identity: once it is tmux's, the
    # child has exec'd, so the identity read after it is the client's (ps
    # reads them the other way round and can pair a just-forked child's root
    # identity with the command line it exec'd a moment later). A client's
    # working directory cannot be read here (no CAP_SYS_PTRACE in the
    # container), hence the socket names.
    scan = (
        "import os, re, subprocess, time\n"
        "end = time.monotonic() + %d\n"
        "while time.monotonic() < end:\n"
        "    for pid in filter(str.isdigit, os.listdir('/proc')):\n"
        "        try:\n"
        "            argv = open('/proc/%%s/cmdline' %% pid, 'rb').read().split(b'\\0')\n"
        "            if argv[:2] != [b'/usr/bin/tmux', b'-S'] or not argv[2].startswith(b'./'):\n"
        "                continue\n"
        "            status = open('/proc/%%s/status' %% pid).read()\n"
        "        except (OSError, IndexError):\n"
        "            continue\n"
        "        ids = [re.search(r'^%%s:\\s+(\\d+)\\s+(\\d+)' %% key, status, re.M).groups() for key in ('Uid', 'Gid')]\n"
        "        print(*ids[0], *ids[1], argv[2][2:].decode())\n"
        "    subprocess.run(['runuser', '-u', %r, '--', 'tmux', 'set-option', '-g', 'lock-after-time', '0'])\n"
    ) % (WITHIN, user)
    out = host.run("python3 -c %s" % sh_quote(scan))
    assert out.rc == 0, out.stderr
    seen = set(tuple(line.split()[:5]) for line in out.stdout.splitlines())
    assert seen, "no tmux client of the enforcer was seen"
    root_names = set(host.run("ls -A /tmp/tmux-0").stdout.split())
    user_names = set(host.run("ls -A /tmp/tmux-[1-9]*/").stdout.split())
    # Each client has one identity (real = effective); root's only in root's
    # own servers, never root's gid with a user's uid.
    assert all(c[0] == c[1] and c[2] == c[3] and (c[0] != "0") == (c[2] != "0") for c in seen), seen
    assert all(c[4] in root_names and c[4] not in user_names for c in seen if c[0] == "0"), (seen, root_names, user_names)
    # bob's busy server was examined by clients of his.
    entry = host.user(user)
    assert (str(entry.uid), str(entry.uid), str(entry.gid), str(entry.gid)) in set(c[:4] for c in seen), seen


def test_hostile_hooks_are_removed_write_nothing_as_root_and_the_lock_is_restored(host):
    # ephi-carol plants, globally and in her session, after-hooks on every
    # command the enforcer sends: some make the client write a file where only
    # root may write (which would fail the command: the server would be
    # unexaminable), one sets her lock off again right after the enforcer's
    # set-option. The enforcer removes them first (as her), then restores
    # the lock; nothing is written as root; each removal is an event.
    # A fresh socket name: earlier runs may have left one behind.
    name = "hostile-%s" % uuid.uuid4().hex[:8]
    server = "runuser -u %s -- tmux -L %s" % (ATTACKER, name)
    start = since(host)
    assert host.run("%s -f /dev/null new-session -d -s attack" % server).rc == 0
    for command in ENFORCER_COMMANDS:
        hook = "set-buffer pwned ; save-buffer %s-%s" % (ROOT_TARGET, command)
        host.run("%s set-hook -g after-%s '%s'" % (server, command, hook))
    host.run("%s set-hook -t attack after-set-option 'set-option -g lock-after-time 0'" % server)
    host.run("%s set-option -g lock-after-time 0" % server)
    uid = host.user(ATTACKER).uid
    socket = "socket=/tmp/tmux-%d/%s" % (uid, name)
    took = restored_within(host, tmux_is(ATTACKER, "-L %s show-options -gv lock-after-time" % name, str(LOCK_AFTER))
                           + " && ! runuser -u %s -- tmux -L %s show-hooks -t attack | grep -q '^after-'"
                           % (ATTACKER, name))
    assert took is not None, host.run("journalctl -q -o cat -t ephi-tmux-enforcer -n 20").stdout
    for needles in (("option=after-list-sessions", "target=global"),
                    ("option=after-set-option", "target=session:$"),
                    ("option=lock-after-time", 'found="0"')):
        assert wait_for(lambda n=needles: events(host, start, "event=policy-restored", socket, *n), timeout=5), needles
    assert host.run("ls %s-*" % ROOT_TARGET).rc != 0
    assert host.service(SERVICE).is_running
    assert host.check_output("systemctl show %s -p NRestarts --value" % SERVICE).strip() == "0"


# More accounts with a tmux server than the enforcer examines at once (its
# max_children, 32): the ones examined longest ago go first, so every server
# gets a pass within ceil(users / 32) intervals. A user whose server comes
# last in uid order must not be left unexamined for good.
MANY = 40
MANY_WITHIN = 30  # 2 passes of 5 s, and 40 servers examined on a shared CI machine


def test_with_more_users_than_the_enforcer_examines_at_once_every_server_is_put_back(host, policy):
    assert policy.get("max_children", 32) < MANY
    users = ["ephi-many%02d" % i for i in range(MANY)]
    create = " && ".join("useradd -M -s /usr/sbin/nologin %s" % u for u in users)
    weaken = " && ".join("runuser -u %s -- tmux -f /dev/null new-session -d -s w \\; set-option -g lock-after-time 0"
                         % u for u in users)
    try:
        assert host.run(create).rc == 0
        start = host.check_output("date +%s%N").strip()
        assert host.run(weaken).rc == 0
        restored = " && ".join(tmux_is(u, "show-options -gv lock-after-time", str(LOCK_AFTER)) for u in users)
        out = host.run("end=$((%s + %d000000000)); while [ $(date +%%s%%N) -lt $end ]; do "
                       "if %s; then echo $(( ($(date +%%s%%N) - %s) / 1000000 )); exit 0; fi; sleep 0.5; "
                       "done; exit 1" % (start, MANY_WITHIN, restored, start))
        left = [u for u in users if shown(host, u, "show-options -gv lock-after-time") != str(LOCK_AFTER)]
        assert out.rc == 0, "still weakened after %d s: %s" % (MANY_WITHIN, left)
        assert left == []
        assert host.service(SERVICE).is_running
    finally:
        for user in users:
            host.run("pkill -KILL -u %s; userdel -f %s" % (user, user))
