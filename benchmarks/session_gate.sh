#!/usr/bin/env bash
# Cost of the session gate and terminal recorder (tmux role, issue 12): one lab
# container converged with the encrypted_logs and tmux roles (gate on), a gated
# user (ephi-bench) and an exempt one (ephi-bench-x), logins by root inside the
# container over SSH to 127.0.0.1 (the client writes to /dev/null). Measures
#   1. `cat` of a MiB-sized text file: with a pty, gated (tmux session behind the
#      recording relay) vs exempt running the same tmux command (and a bare pty
#      for context); without a pty (`ssh host cat`, output recorded) gated vs
#      exempt. Wall times, the ratio, the recorder's CPU seconds (its service's
#      processes, relays included) and gocryptfs's, and the bytes recorded;
#   2. login latency: median of N logins (`ssh host true`, with and without a
#      pty) gated vs exempt; an Ansible-shaped task (a 150 KB module on stdin
#      over a kept master connection), wall per task (median of N) and the
#      whole machine's CPU per task (5N back to back), gated vs exempt;
#   3. unless EPHI_BENCH_SITE=0: playbooks/site.yml's idempotent re-run with
#      Ansible's account gated vs exempt (the lab's policy, one host), in
#      EPHI_BENCH_SITE_ROUNDS alternating rounds (default: rounds).
# Prints tables and the issue's targets (>= 0.9x throughput, <= 100 ms added
# per login, <= 5% slower re-run); run as root after the README's set-up:
#   bash benchmarks/session_gate.sh [MiB] [logins] [rounds]
# EPHI_BENCH_SUITE=trixie for Debian 13; EPHI_BENCH_KEEP=1 leaves the
# container (ephi-bench-gate, SSH on 127.0.0.1:22394) up. EPHI_BENCH_REUSE=1
# with such a kept container measures again on it without a new converge: the
# tree's ephi-session-recorder and ephi-session-gate are copied in and the
# recorder restarted (for before/after comparisons on the same container;
# the site.yml part is skipped).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
ephi_setup >/dev/null
mib=${1:-50} logins=${2:-20} rounds=${3:-3} site_rounds=${EPHI_BENCH_SITE_ROUNDS:-${3:-3}}
suite=${EPHI_BENCH_SUITE:-bookworm}
name=ephi-bench-gate port=22394 gated=ephi-bench exempt=ephi-bench-x
tmp=$(mktemp -d)
cleanup() { podman rm -f -t 2 "$name" >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap '[ "${EPHI_BENCH_KEEP:-0}" = 1 ] && rm -rf "$tmp" || cleanup' EXIT
reuse=0
if [ "${EPHI_BENCH_REUSE:-0}" = 1 ] && [ "$(podman inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" = true ]; then
  reuse=1
  for program in ephi-session-recorder ephi-session-gate; do
    podman cp "$EPHI_ROOT/roles/tmux/files/$program" "$name:/usr/local/lib/ephi-safeguards/$program"
    podman exec "$name" chown root:root "/usr/local/lib/ephi-safeguards/$program"
    podman exec "$name" chmod 0755 "/usr/local/lib/ephi-safeguards/$program"
  done
  podman exec "$name" systemctl restart ephi-session-recorder.service
  EPHI_BENCH_SITE=0
else
cleanup; mkdir -p "$tmp"
ephi_bench_host "$tmp" "$name" "$port" "$suite" --hostname "$name" --device /dev/fuse --cap-add SYS_ADMIN
export ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=300s"
exempt_vars() {  # the exempt list as extra vars: the benchmark's exempt user, and Ansible's account if $1 = admin
  local admin=''
  [ "$1" = admin ] && admin=', {"name": "ephi-admin", "reason": "benchmark: automation exempt"}'
  printf '{"tmux_session_gate_exempt_users": [{"name": "%s", "reason": "benchmark: unrecorded baseline"}%s]}' "$exempt" "$admin"
}
cat > "$tmp/play.yml" <<PLAY
- name: The session gate, as in molecule/encrypted_logs
  hosts: all
  gather_facts: false
  tasks:
    - name: Create the benchmark users
      ansible.builtin.user:
        name: "{{ item }}"
        shell: /bin/bash
        password: "*"
      loop: [$gated, $exempt]
    - name: Install the SSH client the logins run
      ansible.builtin.apt:
        name: [openssh-client]
    - name: Apply the encrypted_logs role
      ansible.builtin.include_role:
        name: ephi.safeguards.encrypted_logs
    - name: Apply the tmux role (session gate on by default)
      ansible.builtin.include_role:
        name: ephi.safeguards.tmux
PLAY
ansible -i "$tmp/inventory.yml" all -m ansible.builtin.wait_for_connection -a timeout=60 >/dev/null
ansible-playbook -i "$tmp/inventory.yml" "$tmp/play.yml" -e "$(exempt_vars user)" > "$tmp/converge.log" 2>&1 \
  || { tail -n 40 "$tmp/converge.log" >&2; die "the converge failed"; }
[ "$(podman exec "$name" findmnt -n -o FSTYPE --mountpoint /var/log/ephi)" = fuse.gocryptfs ] \
  || die "/var/log/ephi is not mounted with gocryptfs"
podman exec -i "$name" env G="$gated" X="$exempt" BYTES="$((mib * 1048576))" bash -s <<'SETUP'
set -euo pipefail
install -d -m 0700 /root/.ssh
[ -f /root/.ssh/id_ed25519 ] || ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519
for u in "$G" "$X"; do
  install -d -m 0700 -o "$u" -g "$u" "/home/$u/.ssh"
  install -m 0600 -o "$u" -g "$u" /root/.ssh/id_ed25519.pub "/home/$u/.ssh/authorized_keys"
done
(base64 -w 99 /dev/urandom || true) | head -c "$BYTES" > /var/tmp/big && chmod 0644 /var/tmp/big  # base64 ends on SIGPIPE
# An Ansible-sized module: ~150 KB of source that prints a small JSON result.
python3 -c 'import base64, os; print("import json\nBLOB = %r\nprint(json.dumps({\"changed\": False, \"n\": len(BLOB)}))" % base64.b64encode(os.urandom(110000)).decode())' > /var/tmp/module.py
SETUP
fi

# One measurement inside the container: prints "wall_s recorder_cpu_s gocryptfs_cpu_s recorded_bytes".
measure() {  # user pty|nopty|tmux  (tmux: the exempt user runs the gate's kind of tmux session itself)
  podman exec -i "$name" env U="$1" MODE="$2" bash -s <<'ROUND'
set -euo pipefail
ssh_=(ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR)
cpu() {  # CPU seconds of the recorder's service (live processes and reaped relays) and of gocryptfs
  python3 - <<'PY'
import os, subprocess
def show(unit, prop):
    return subprocess.run(["systemctl", "show", "-p", prop, "--value", unit], capture_output=True, text=True).stdout.strip()
tick = os.sysconf("SC_CLK_TCK")
def stat(pid):
    try:
        with open("/proc/%s/stat" % pid) as fh:
            f = fh.read().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12]), int(f[13]) + int(f[14])
    except (OSError, ValueError, IndexError):
        return 0, 0
unit = "ephi-session-recorder.service"
ns = show(unit, "CPUUsageNSec")
if ns.isdigit():
    rec = int(ns) / 1e9
else:  # no CPU accounting: the acceptor, its reaped relays and the live ones
    main = show(unit, "MainPID")
    own, children = stat(main)
    rec = own + children
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/stat" % pid) as fh:
                if fh.read().rsplit(")", 1)[1].split()[1] == main:
                    rec += stat(pid)[0]
        except (OSError, IndexError):
            pass
    rec /= tick
print("%.2f %.2f" % (rec, sum(stat(show("ephi-encrypted-logs.service", "MainPID"))) / tick))
PY
}
size() { du -sb "/var/log/ephi/$U" 2>/dev/null | cut -f1 || echo 0; }
read -r r0 g0 < <(cpu); s0=$(size)
t0=$(date +%s.%N)
case "$MODE" in  # stdin /dev/null: ssh would read the rest of this script
  pty) TERM=xterm "${ssh_[@]}" -tt "$U@127.0.0.1" 'cat /var/tmp/big' </dev/null >/dev/null ;;
  tmux) TERM=xterm "${ssh_[@]}" -tt "$U@127.0.0.1" "tmux -f /etc/tmux.conf new-session -s bench-$$ -- 'cat /var/tmp/big'" </dev/null >/dev/null ;;
  nopty) "${ssh_[@]}" "$U@127.0.0.1" 'cat /var/tmp/big' </dev/null >/dev/null ;;
  login) "${ssh_[@]}" "$U@127.0.0.1" true </dev/null ;;
  login-pty) TERM=xterm "${ssh_[@]}" -tt "$U@127.0.0.1" true </dev/null >/dev/null ;;
  login-tmux) TERM=xterm "${ssh_[@]}" -tt "$U@127.0.0.1" "tmux -f /etc/tmux.conf new-session -s bench-$$ -- true" </dev/null >/dev/null ;;
  task)  # what an Ansible task sends: a ~150 KB module on stdin over a kept master connection
    "${ssh_[@]}" -o ControlMaster=auto -o ControlPersist=300 -o "ControlPath=/run/ephi-bench-cm-%r" "$U@127.0.0.1" \
      "/bin/sh -c '/usr/bin/python3 && sleep 0'" </var/tmp/module.py >/dev/null ;;
esac
t1=$(date +%s.%N)
sleep 0.5  # the relay finishes and is reaped
read -r r1 g1 < <(cpu); s1=$(size)
python3 -c "import sys; a,b,c,d,e,f,g,h=map(float,sys.argv[1:]); print('%.3f %.2f %.2f %d' % (b-a, d-c, f-e, h-g))" \
  "$t0" "$t1" "$r0" "$r1" "$g0" "$g1" "$s0" "$s1"
ROUND
}

declare -A wall rec goc size
add() { wall[$1]+="$2 "; rec[$1]+="$3 "; goc[$1]+="$4 "; size[$1]+="$5 "; }
for r in $(seq "$rounds"); do
  for m in "$gated pty" "$exempt tmux" "$exempt pty" "$gated nopty" "$exempt nopty"; do
    read -r -a v < <(measure $m)
    add "${m// /:}" "${v[@]}"
  done
done
for u in "$gated" "$exempt"; do measure "$u" task >/dev/null; done  # the master connections
for i in $(seq "$logins"); do
  for m in "$gated login" "$exempt login" "$gated login-pty" "$exempt login-tmux" "$gated task" "$exempt task"; do
    read -r -a v < <(measure $m)
    add "${m// /:}" "${v[@]}"
  done
done
keys=("$gated:pty" "$exempt:tmux" "$exempt:pty" "$gated:nopty" "$exempt:nopty" "$gated:login" "$exempt:login" "$gated:login-pty" "$exempt:login-tmux" "$gated:task" "$exempt:task")
args=()
for k in "${keys[@]}"; do args+=("$k" "${wall[$k]}" "${rec[$k]}" "${goc[$k]}" "${size[$k]}"); done
python3 - "$mib" "$gated" "$exempt" "${args[@]}" > "$tmp/result.md" <<'PY'
import statistics, sys
mib, gated, exempt = float(sys.argv[1]), sys.argv[2], sys.argv[3]
data, rest = {}, sys.argv[4:]
for i in range(0, len(rest), 5):
    data[rest[i]] = [[float(x) for x in col.split()] for col in rest[i + 1:i + 5]]
med = statistics.median
def row(key, label):
    wall, rec, goc, size = data[key]
    print("| %s | %s | %.1f | %.2f | %.2f | %.1f |" % (label, " ".join("%.2f" % t for t in wall), mib / med(wall),
                                                    med(rec), med(goc), med(size) / 1048576))
print("| cat of %d MiB over SSH (client to /dev/null) | wall (s) | median MiB/s | recorder CPU s | gocryptfs CPU s | MiB recorded |" % mib)
print("|---|---|---|---|---|---|")
row(gated + ":pty", "pty, gated: tmux session behind the recording relay")
row(exempt + ":tmux", "pty, exempt: the same tmux command, no relay")
row(exempt + ":pty", "pty, exempt: bare pty, no tmux (context)")
row(gated + ":nopty", "no pty, gated: output recorded")
row(exempt + ":nopty", "no pty, exempt")
print()
for what, g, x in (("pty (tmux)", gated + ":pty", exempt + ":tmux"), ("no pty", gated + ":nopty", exempt + ":nopty")):
    ratio = med(data[x][0]) / med(data[g][0])
    print("throughput gated/exempt, %s: %.2fx (target >= 0.9x): %s" % (what, ratio, "PASS" if ratio >= 0.9 else "FAIL"))
print()
print("| login (%d each) | median (ms) | min | max |" % len(data[gated + ":login"][0]))
print("|---|---|---|---|")
for key, label in ((gated + ":login", "ssh host true, gated"), (exempt + ":login", "ssh host true, exempt"),
                   (gated + ":login-pty", "ssh -tt host true, gated (tmux session)"),
                   (exempt + ":login-tmux", "ssh -tt host 'tmux new-session -- true', exempt")):
    w = data[key][0]
    print("| %s | %.0f | %.0f | %.0f |" % (label, 1000 * med(w), 1000 * min(w), 1000 * max(w)))
print()
for what, g, x in (("no pty", gated + ":login", exempt + ":login"), ("pty", gated + ":login-pty", exempt + ":login-tmux")):
    added = 1000 * (med(data[g][0]) - med(data[x][0]))
    print("login latency added by the gate, %s: %.0f ms (target <= 100 ms): %s" % (what, added, "PASS" if added <= 100 else "FAIL"))
print()
# What each Ansible task through the gate pays (no target of its own: the
# site.yml re-run below is the target).
print("| Ansible-shaped task (150 KB module on stdin, master connection; %d each) | median (ms) | min | max |" % len(data[gated + ":task"][0]))
print("|---|---|---|---|")
for key, label in ((gated + ":task", "gated (command session recorded)"), (exempt + ":task", "exempt")):
    w = data[key][0]
    print("| %s | %.1f | %.1f | %.1f |" % (label, 1000 * med(w), 1000 * min(w), 1000 * max(w)))
print("added per task by the gate: %.1f ms" % (1000 * (med(data[gated + ":task"][0]) - med(data[exempt + ":task"][0]))))
PY
# CPU per task: the relays' CPU reaches the recorder's counters only when
# they are reaped, so per-session figures above would be misattributed. Here
# N tasks back to back, and the CPU of the whole machine (/proc/stat: every
# process, the SSH client's included; nothing else should run).
podman exec -i "$name" env G="$gated" X="$exempt" N="$((logins * 5))" bash -s >> "$tmp/result.md" <<'TASKCPU'
set -euo pipefail
ssh_=(ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR
      -o ControlMaster=auto -o ControlPersist=300 -o "ControlPath=/run/ephi-bench-cm-%r")
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat; }
for u in "$G" "$X"; do
  c0=$(busy); t0=$(date +%s%N)
  for i in $(seq "$N"); do "${ssh_[@]}" "$u@127.0.0.1" "/bin/sh -c '/usr/bin/python3 && sleep 0'" </var/tmp/module.py >/dev/null; done
  t1=$(date +%s%N); c1=$(busy)
  echo "$u $(( (t1 - t0) / N / 1000 )) $(( (c1 - c0) * 1000000 / $(getconf CLK_TCK) / N ))"
done | awk -v g="$G" 'BEGIN {print "\n| task, " ENVIRON["N"] " back to back | wall per task (ms) | machine CPU per task (ms) |\n|---|---|---|"}
  {label = ($1 == g) ? "gated" : "exempt"; printf "| %s | %.1f | %.1f |\n", label, $2 / 1000, $3 / 1000; w[label] = $2; c[label] = $3}
  END {printf "CPU added per task by the gate, gate + recorder + gocryptfs + journald: %.1f ms\n", (c["gated"] - c["exempt"]) / 1000}'
TASKCPU
cat "$tmp/result.md"

if [ "${EPHI_BENCH_SITE:-1}" != 0 ]; then
  # site.yml with the lab's policy: converge with Ansible's account gated, an
  # idempotent re-run timed; then exempt (one run changes the sshd drop-in),
  # an idempotent re-run timed. Fresh SSH masters for each mode (an open
  # connection keeps the sshd configuration it was made under).
  cp -r "$EPHI_ROOT/lab/inventory/group_vars" "$tmp/"
  site() {  # label mode
    local start end rc=0
    start=$(date +%s.%N)
    ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks ANSIBLE_SSH_CONTROL_PATH_DIR="$tmp/cp-$2" ansible-playbook -i "$tmp/inventory.yml" "$EPHI_ROOT/playbooks/site.yml" \
      -e "$(exempt_vars "$2")" > "$tmp/site-$1.log" 2>&1 || rc=$?
    end=$(date +%s.%N)
    [ "$rc" = 0 ] || { tail -n 40 "$tmp/site-$1.log" >&2; die "site.yml ($1) failed"; }
    python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$start" "$end"
  }
  changed() { grep -A 2 '^PLAY RECAP' "$tmp/site-$1.log" | grep -o 'changed=[0-9]*' | head -n 1 | cut -d= -f2; }
  site converge-gated user >/dev/null
  # Alternating rounds (gated, exempt, gated, ...) so that a load change on
  # the machine hits both modes; the medians are compared.
  g="" x="" cg="" cx=""
  for r in $(seq 1 "$site_rounds"); do
    g="$g $(site "rerun-gated-$r" user)"; cg="$cg $(changed "rerun-gated-$r")"
    site "switch-exempt-$r" admin >/dev/null
    x="$x $(site "rerun-exempt-$r" admin)"; cx="$cx $(changed "rerun-exempt-$r")"
    [ "$r" = "$site_rounds" ] || site "switch-gated-$r" user >/dev/null
  done
  # The rounds' logs (with per-task times) stay for a look at where gated and exempt differ.
  logs=$EPHI_CACHE_DIR/bench-gate/$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -p "$logs" && cp "$tmp"/site-*.log "$logs/"
  echo
  echo "site.yml logs (profile_tasks): $logs"
  echo "| site.yml idempotent re-run, 1 host | wall (s) per round | changed |"
  echo "|---|---|---|"
  echo "| Ansible's account gated (command sessions recorded) |$g |$cg |"
  echo "| Ansible's account exempt |$x |$cx |"
  python3 - "$g" "$x" <<'PY'
import statistics
import sys
g, x = (statistics.median(float(v) for v in arg.split()) for arg in sys.argv[1:])
r = g / x - 1
print('\nre-run through the gate (medians %.1f s vs %.1f s): %+.1f%% (target <= 5%%): %s'
      % (g, x, 100 * r, 'PASS' if r <= 0.05 else 'FAIL'))
PY
fi
echo
echo "suite: $suite; machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(. /etc/os-release; echo "$PRETTY_NAME"), podman $(podman --version | awk '{print $3}'), load:$(uptime | sed 's/.*load average://')"
