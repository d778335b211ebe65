#!/usr/bin/env bash
# Cost of tmux_settings' live audit: one lab container with N users, each
# running one tmux server (a session with two windows, the second split in
# two; every pane piped as the capture hooks do). Some are drifted: every 4th
# user has lock-after-time 0 globally, every 6th a session-local
# lock-after-time, every 9th closed the pipe of a pane, every 10th removed the
# client-attached hook. The module runs ad hoc as root over SSH
# (`ansible -m ephi.safeguards.tmux_settings`, live=audit, the arguments
# roles/tmux/tasks/config.yml gives it with capture on), ROUNDS times for this
# tree and for the base commit EPHI_BENCH_BASE (default 2b783e9, the commit
# before the live audit was batched; empty: this tree only), alternating.
# Prints per call the module's live_seconds (the base returns none: its live
# part is estimated as the median call with live=audit minus the median with
# live=none) and the whole call's wall time, and checks that both trees
# report the same servers and drift. Then the enforcer's code path: this
# tree's roles/tmux/files/ephi-tmux-enforcer with this tree's
# tmux_live/tmux_conf, installed as the role lays them out, runs one pass
# (--once) as root with the same policy; an audit afterwards must find no
# drift left.
#   bash benchmarks/tmux_live.sh [servers] [rounds]
# EPHI_BENCH_EXTRA_OPTIONS (JSON, as tmux_extra_options) adds options, for
# example '{"mode-keys": "vi"}' (a window option: every window and pane is
# then read too; every 7th user has a window-local mode-keys emacs).
# Run as root after the README's set-up. The container (ephi-bench-tmuxlive,
# SSH on 127.0.0.1:22397) is removed on exit unless EPHI_BENCH_KEEP=1.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
ephi_setup >/dev/null
n=${1:-50} rounds=${2:-3}
base=${EPHI_BENCH_BASE-2b783e9}
suite=${EPHI_BENCH_SUITE:-bookworm}
name=ephi-bench-tmuxlive port=22397
tmp=$(mktemp -d)
cleanup() { podman rm -f -t 2 "$name" >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap '[ "${EPHI_BENCH_KEEP:-0}" = 1 ] && rm -rf "$tmp" || cleanup' EXIT
cleanup; mkdir -p "$tmp"
echo "load average before: $(cut -d' ' -f1 /proc/loadavg)"
ephi_bench_host "$tmp/after" "$name" "$port" "$suite" --hostname "$name"
export ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=300s -o ControlPath=$tmp/cm-%C"
inventory=$tmp/after/inventory.yml
after_path=$ANSIBLE_COLLECTIONS_PATH
trees=(after)
if [ -n "$base" ]; then
  before_path=$tmp/before/collections
  mkdir -p "$before_path/ansible_collections/ephi/safeguards"
  git -C "$EPHI_ROOT" archive "$base" | tar -x -C "$before_path/ansible_collections/ephi/safeguards"
  trees=(before after)
fi
collections() { if [ "$1" = before ]; then echo "$before_path"; else echo "$after_path"; fi; }

# The module's arguments: the role's (roles/tmux/vars/main.yml with capture
# on), with a pipe command that exists in the container and keeps the pipe open.
pipe='exec /bin/cat >/dev/null'
python3 - "$pipe" "${EPHI_BENCH_EXTRA_OPTIONS:-{\}}" > "$tmp/args.json" <<'PY'
import json, sys
pipe = sys.argv[1]
extra = json.loads(sys.argv[2])
event = "run-shell -b 'logger -t ephi-tmux-event -p authpriv.info"
print(json.dumps({
    "path": "/etc/tmux.conf",
    "options": dict(extra, **{"lock-after-time": 900, "lock-command": "/usr/sbin/vlock-main ephi-tmux-event",
                              "history-limit": 5000}),
    "bindings": {"X": "lock-session"},
    "hooks": {
        "session-created": 'pipe-pane "%s" ; %s event=session-created user=$(id -un) session=#{q:session_name}\'' % (pipe, event),
        "after-new-window": 'pipe-pane "%s"' % pipe,
        "after-split-window": 'pipe-pane "%s"' % pipe,
        "session-closed": "%s event=session-closed user=$(id -un) session=#{q:hook_session_name}'" % event,
        "client-attached": "%s event=client-attached user=$(id -un) session=#{q:session_name} tty=#{q:client_tty}'" % event,
        "client-detached": "%s event=client-detached user=$(id -un) session=#{q:session_name} tty=#{q:client_tty}'" % event,
    },
    "absent_hooks": [], "require_pipe": True, "pipe_command": pipe,
    "backup": False, "owner": "root", "group": "root", "mode": "0644"}))
PY

module() {  # tree live -> one line of JSON (the module's result) on stdout
  local args
  args=$(python3 -c 'import json, sys; a = json.load(open(sys.argv[1])); a["live"] = sys.argv[2]; print(json.dumps(a))' \
    "$tmp/args.json" "$2")
  ANSIBLE_COLLECTIONS_PATH=$(collections "$1") ansible -i "$inventory" all -o -m ephi.safeguards.tmux_settings \
    -a "$args" 2>"$tmp/stderr" | sed -n 's/^[^|]* | [A-Z]* => //p'
}

ansible -i "$inventory" all -m ansible.builtin.wait_for_connection -a timeout=60 >/dev/null
podman exec "$name" bash -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null'
# /etc/tmux.conf first, so that every server starts with the policy and its hooks.
module after none > "$tmp/setup.json"
python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); assert not r.get("failed"), r; print("tmux:", r["tmux_version"])' \
  "$tmp/setup.json"
podman exec -i "$name" env N="$n" bash -s <<'USERS'
set -euo pipefail
for i in $(seq "$N"); do
  u=$(printf 'tl%03d' "$i")
  id "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash "$u"
  t() { runuser -u "$u" -- tmux "$@"; }
  t new-session -d -s main
  t new-window -d -t main:
  t split-window -d -t main:1
  if [ $((i % 4)) = 0 ]; then t set-option -g lock-after-time 0; fi
  if [ $((i % 6)) = 0 ]; then t set-option -t main lock-after-time 60; fi
  if [ $((i % 9)) = 0 ]; then t pipe-pane -t main:1.1; fi
  if [ $((i % 10)) = 0 ]; then t set-hook -gu client-attached; fi
  if [ $((i % 7)) = 0 ]; then t set-option -w -t main:1 mode-keys emacs; fi
done
USERS
echo "$n users with a running tmux server (3 panes each) in $name ($suite)"

summary() {  # result.json -> "servers running drift digest live_seconds"
  python3 - "$1" <<'PY'
import hashlib, json, sys
r = json.load(open(sys.argv[1]))
assert not r.get("failed"), r.get("msg")
drift = json.dumps(sorted(json.dumps(d, sort_keys=True) for d in r["drift"]))
servers = json.dumps([(s["socket"], s["status"]) for s in r["servers"]])
digest = hashlib.sha256((drift + servers).encode()).hexdigest()[:12]
live = r.get("live_seconds")
print(len(r["servers"]), sum(s["status"] == "running" for s in r["servers"]), len(r["drift"]), digest,
      "-" if live is None else "%.3f" % live)
PY
}

measure() {  # tree live round
  local start end
  start=$(date +%s.%N)
  module "$1" "$2" > "$tmp/$1-$2-$3.json"
  end=$(date +%s.%N)
  read -r servers running drift digest live < <(summary "$tmp/$1-$2-$3.json")
  printf '%s %s %s %s %s %s %s %s\n' "$1" "$2" "$3" "$servers" "$running" "$drift" "$digest" "$live $(python3 -c "print('%.3f' % ($end - $start))")" \
    >> "$tmp/results"
  printf '| %-6s | %-5s | %d | %3d | %3d | %3d | %s | %8s s | %6.2f s |\n' "$1" "$2" "$3" "$servers" "$running" "$drift" "$digest" \
    "$live" "$(python3 -c "print($end - $start)")"
}

for tree in "${trees[@]}"; do module "$tree" none >/dev/null; done   # warm up (caches, the SSH master)
: > "$tmp/results"
echo
echo "| tree | live | run | servers | running | drift | result digest | live_seconds | call wall |"
echo "|---|---|---|---|---|---|---|---|---|"
for round in $(seq "$rounds"); do
  for tree in "${trees[@]}"; do
    measure "$tree" audit "$round"
    measure "$tree" none "$round"
  done
done
echo
python3 - "$tmp/results" "$n" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
med = lambda xs: statistics.median(xs)
digests = set(r[6] for r in rows if r[1] == "audit")
for tree in ("before", "after"):
    audit = [r for r in rows if r[0] == tree and r[1] == "audit"]
    none = [r for r in rows if r[0] == tree and r[1] == "none"]
    if not audit:
        continue
    wall_a, wall_n = med([float(r[8]) for r in audit]), med([float(r[8]) for r in none])
    live = [float(r[7]) for r in audit if r[7] != "-"]
    print("%-6s: %s servers; call with live=audit %.2f s, live=none %.2f s (medians); live part %s"
          % (tree, audit[0][3], wall_a, wall_n,
             "%.3f s (live_seconds, median; min %.3f, max %.3f)" % (med(live), min(live), max(live)) if live
             else "about %.2f s (the difference)" % (wall_a - wall_n)))
print("same servers and drift in every audit: %s" % ("yes" if len(digests) == 1 else "NO: %s" % sorted(digests)))
if len(digests) != 1:
    sys.exit(1)
PY

# The live part alone, inside the container as root, without Ansible: the
# same arguments (canonical, from the module's result) given to each tree's
# tmux_live (before: examine_servers(live_candidates(...)), after:
# examine_clients(...)), with the tmux client runs counted.
python3 - "$tmp/after-audit-1.json" > "$tmp/live-args.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
a = json.load(open(sys.argv[1].rsplit("/", 1)[0] + "/args.json"))
print(json.dumps({"options": r["options"], "hooks": r["hooks"], "require_pipe": a["require_pipe"],
                  "pipe_command": a["pipe_command"]}))
PY
cat > "$tmp/live.py" <<'PY'
import json, sys, time
sys.path.insert(0, sys.argv[1])
from ansible_collections.ephi.safeguards.plugins.module_utils import tmux_live
args = json.load(open(sys.argv[2]))
runs = []
def counting(argv, creds, **kwargs):
    runs.append(1)
    return tmux_live.run_as(argv, creds, **kwargs)
kwargs = dict(hooks=args["hooks"], absent_hooks=[], require_pipe=args["require_pipe"],
              pipe_command=args["pipe_command"])
start = time.monotonic()
if hasattr(tmux_live, "examine_clients"):
    clients = [tmux_live.OwnerClient("/usr/bin/tmux", c, runner=counting)
               for c in tmux_live.find_sockets(["/tmp/tmux-*"])]
    r = tmux_live.examine_clients(clients, args["options"], "audit", **kwargs)
else:
    r = tmux_live.examine_servers(tmux_live.live_candidates(["/tmp/tmux-*"], "/usr/bin/tmux", runner=counting),
                                  args["options"], "audit", **kwargs)
print("%.3f %d %d %d" % (time.monotonic() - start, len(r["servers"]), len(r["drift"]), len(runs)))
PY
podman cp "$tmp/live.py" "$name:/root/live.py"
podman cp "$tmp/live-args.json" "$name:/root/live-args.json"
for tree in "${trees[@]}"; do
  dest=/root/bench-$tree/ansible_collections/ephi/safeguards/plugins/module_utils
  podman exec "$name" install -d "$dest"
  for f in tmux_live.py tmux_conf.py; do
    podman cp "$(collections "$tree")/ansible_collections/ephi/safeguards/plugins/module_utils/$f" "$name:$dest/$f"
  done
done
echo "| tree | run | live part in the container | servers | drift | tmux client runs |"
echo "|---|---|---|---|---|---|"
: > "$tmp/direct"
for round in $(seq "$rounds"); do
  for tree in "${trees[@]}"; do
    read -r secs servers drift clients < <(podman exec "$name" python3 /root/live.py "/root/bench-$tree" /root/live-args.json)
    echo "$tree $secs" >> "$tmp/direct"
    printf '| %-6s | %d | %6.3f s | %3d | %3d | %4d |\n' "$tree" "$round" "$secs" "$servers" "$drift" "$clients"
  done
done
python3 - "$tmp/direct" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
for tree in ("before", "after"):
    secs = [float(r[1]) for r in rows if r[0] == tree]
    if secs:
        print("%-6s: live part %.3f s (median; min %.3f, max %.3f)" % (tree, statistics.median(secs), min(secs), max(secs)))
PY
echo

# The enforcer's code path: this tree's program and libraries where the role
# puts them, one pass as root with the policy of the module call above.
python3 - "$tmp/after-audit-1.json" "$pipe" "$n" > "$tmp/policy.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(json.dumps({
    "interval": 5, "tmux": "/usr/bin/tmux", "socket_patterns": ["/tmp/tmux-*"],
    "options": r["options"], "hooks": r["hooks"], "absent_hooks": [],
    "bindings": {k: {"command": "lock-session", "canonical": v} for k, v in r["bindings"].items()},
    "require_pipe": True, "pipe_command": sys.argv[2],
    # One pass spawns at most max_children (default 32) uids' examinations;
    # --once makes one pass, so it covers every benchmark user only with this.
    "max_children": max(32, int(sys.argv[3])),
    "python_path": "/usr/local/lib/ephi-safeguards/python"}))
PY
lib=/usr/local/lib/ephi-safeguards/python/ansible_collections/ephi/safeguards/plugins/module_utils
podman exec "$name" install -d -m 0755 "$lib"
for f in tmux_live.py tmux_conf.py; do podman cp "$EPHI_ROOT/plugins/module_utils/$f" "$name:$lib/$f"; done
podman cp "$EPHI_ROOT/roles/tmux/files/ephi-tmux-enforcer" "$name:/usr/local/sbin/ephi-tmux-enforcer"
podman cp "$tmp/policy.json" "$name:/etc/ephi-tmux-policy.json"
podman exec "$name" bash -c 'chown -R root:root /usr/local/lib/ephi-safeguards /usr/local/sbin/ephi-tmux-enforcer /etc/ephi-tmux-policy.json
  chmod 0755 /usr/local/sbin/ephi-tmux-enforcer; chmod 0644 /etc/ephi-tmux-policy.json'
podman exec "$name" /usr/local/sbin/ephi-tmux-enforcer --check-config
since=$(podman exec "$name" date '+%Y-%m-%d %H:%M:%S')
start=$(date +%s.%N)
podman exec "$name" /usr/local/sbin/ephi-tmux-enforcer --once
end=$(date +%s.%N)
sleep 1
podman exec "$name" journalctl -q -o cat -t ephi-tmux-enforcer --since "$since" > "$tmp/events" || true
module after audit > "$tmp/after-enforcer.json"
read -r servers running drift digest live < <(summary "$tmp/after-enforcer.json")
python3 - "$tmp/events" "$(python3 -c "print('%.2f' % ($end - $start))")" "$drift" "$running" <<'PY'
import collections, sys
events = [line.split() for line in open(sys.argv[1]) if line.startswith("event=")]
kinds = collections.Counter(e[0][6:] for e in events)
options = collections.Counter(f.split("=", 1)[1] for e in events for f in e if f.startswith("option="))
print("enforcer --once: %s s; events %s; restored %s" % (sys.argv[2], dict(kinds), dict(options)))
print("audit after the enforcer: %s running servers, %s drift item(s)" % (sys.argv[4], sys.argv[3]))
if sys.argv[3] != "0" or kinds.get("policy-unexaminable") or kinds.get("enforcer-error") or kinds.get("policy-restore-failed"):
    sys.exit("the enforcer left drift or could not examine a server")
PY
echo
echo "machine: $(nproc) cores, load average after: $(cut -d' ' -f1 /proc/loadavg); $(ansible --version 2>/dev/null | sed -n 1p)"
