#!/usr/bin/env bash
# Before/after of an idempotent re-run on this shared machine, where one run
# against the next moves by 10-30 %: one lab container (Debian 12) converged
# once with the last revision, then site.yml (or verify.yml) re-run with each
# revision in turn, ROUNDS times, alternating, and the medians. Each run's
# controller CPU (GNU time: ansible-playbook and the workers it waited for),
# its main process alone (benchmarks/callback_plugins/ephi_cpu.py), its tasks,
# the host's CPU (the container's cgroup) and the wall time. Run as root after
# the README's set-up has run once:
#   bash benchmarks/rerun_ab.sh f32c178 HEAD          5 rounds of site.yml
#   EPHI_BENCH_PLAY=verify.yml EPHI_BENCH_ROUNDS=3 bash benchmarks/rerun_ab.sh f32c178 HEAD
#   bash benchmarks/rerun_ab.sh HEAD HEAD:ephi_main_skip   a strategy prototype of benchmarks/strategy_plugins
# EPHI_BENCH_SESSIONS=N runs N command sessions of Ansible's account (ssh HOST true, each gated and
# recorded: N recordings with their chain heads) after the first converge, so that verify.yml's chain
# check has a store of some size to read; EPHI_BENCH_SESSION_BYTES=B makes each print B bytes of
# output (lines of 100) instead:
#   EPHI_BENCH_PLAY=verify.yml EPHI_BENCH_SESSIONS=1000 EPHI_BENCH_SESSION_BYTES=40000 bash benchmarks/rerun_ab.sh 4beac80 c950efe
# EPHI_BENCH_LOGS=DIR keeps each run's log (with the ephi-cpu-task lines and the ephi-host-task lines of each task's host CPU) as DIR/<rev>-<round>.log.
# EPHI_BENCH_WRAP="COMMAND ARGS --" runs every ansible-playbook under COMMAND, e.g. a profiler:
#   EPHI_BENCH_WRAP="py-spy record --subprocesses -r 200 -f raw -o /tmp/rerun.txt --" EPHI_BENCH_ROUNDS=1 \
#     bash benchmarks/rerun_ab.sh HEAD      (the last run, the re-run, is the file left; CPU figures then include the profiler)
# Every revision must converge the host to the same state (a run that changes
# anything stops the script). Its container is ephi-bench-ab (SSH on
# 127.0.0.1:22399, label ephi.safeguards.lab=bench-ab); only that is removed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/ansible_cfg.sh"
ephi_setup >/dev/null

(($# >= 1)) || die "usage: rerun_ab.sh REVISION [REVISION ...]"
rounds=${EPHI_BENCH_ROUNDS:-5}
play=${EPHI_BENCH_PLAY:-site.yml}
case "$play" in site.yml|verify.yml) ;; *) die "EPHI_BENCH_PLAY must be site.yml or verify.yml" ;; esac
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "EPHI_BENCH_ROUNDS must be a positive number"
name=ephi-bench-ab label=ephi.safeguards.lab=bench-ab port=22399
tmp=$(mktemp -d /tmp/ephi-bench-ab.XXXXXX)
if [ ! -x /usr/bin/time ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends time >/dev/null || die "apt-get install time failed"
fi
cleanup() { podman rm -f -t 2 "$name" >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# Each revision's collection, from git (committed code only). REV:STRATEGY
# runs REV with a strategy plugin of benchmarks/strategy_plugins (a prototype
# measured against the same revision with ansible-core's linear strategy).
revs=()
for arg in "$@"; do
  rev=${arg%%:*} strategy=${arg#"$rev"}
  sha=$(git -C "$EPHI_ROOT" rev-parse --short "$rev^{commit}") || die "no such revision: $rev"
  [ -z "$strategy" ] || [ -f "$EPHI_ROOT/benchmarks/strategy_plugins/${strategy#:}.py" ] || die "no strategy plugin ${strategy#:} in benchmarks/strategy_plugins"
  if [ ! -d "$tmp/$sha" ]; then
    mkdir -p "$tmp/$sha/ansible_collections/ephi/safeguards"
    git -C "$EPHI_ROOT" archive "$sha" | tar -x -C "$tmp/$sha/ansible_collections/ephi/safeguards"
  fi
  revs+=("$sha$strategy")
done

bench_ansible_cfg "$tmp/ansible.cfg" "ephi_cpu"
export ANSIBLE_CONFIG=$tmp/ansible.cfg ANSIBLE_FORCE_COLOR=false

! podman container exists "$name" || podman container inspect --format '{{ index .Config.Labels "ephi.safeguards.lab" }}' "$name" | grep -qx bench-ab \
  || die "a container named $name exists without the label $label; not touching it"
podman rm -f -t 2 "$name" >/dev/null 2>&1 || true
podman run -d --name "$name" --hostname "$name" --label "$label" --systemd=always \
  --device /dev/fuse --cap-add SYS_ADMIN -p "127.0.0.1:$port:22" \
  -v "$EPHI_LAB_KEY.pub:/home/ephi-admin/.ssh/authorized_keys:ro" localhost/ephi-lab:bookworm /sbin/init >/dev/null
mkdir -p "$tmp/inventory"
cp -r "$EPHI_ROOT/lab/inventory/group_vars" "$tmp/inventory/"
cat > "$tmp/inventory/hosts.yml" <<INV
all:
  children:
    ephi_bench:
      vars:
        ansible_connection: ssh
        ansible_host: 127.0.0.1
        ansible_port: $port
        ansible_user: ephi-admin
        ansible_become: true
        ansible_python_interpreter: /usr/bin/python3
        ansible_ssh_use_tty: false
        ansible_ssh_private_key_file: $EPHI_LAB_KEY
        ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
      hosts:
        $name: {}
INV
ansible -i "$tmp/inventory/hosts.yml" all -m ansible.builtin.wait_for_connection -a timeout=180 >/dev/null

cgroup_path=$(podman container inspect --format '{{ .State.CgroupPath }}' "$name")
if [ -r "/sys/fs/cgroup/cpuacct$cgroup_path/cpuacct.usage" ]; then host_cpu_file=/sys/fs/cgroup/cpuacct$cgroup_path/cpuacct.usage
else host_cpu_file=/sys/fs/cgroup$cgroup_path/cpu.stat; fi
# The ephi_cpu callback's per-task host CPU lines (ephi-host-task) read the same counter.
export EPHI_BENCH_HOST_CPU_FILE=$host_cpu_file
host_cpu() {  # the container's CPU nanoseconds so far
  case "$host_cpu_file" in
    */cpu.stat) awk '/^usage_usec/ {print $2 * 1000}' "$host_cpu_file" ;;
    *) cat "$host_cpu_file" ;;
  esac
}

playbook() {  # REV[:STRATEGY] PLAY LOG
  local -a extra=() env=()
  local sha=${1%%:*}
  [ "$2" != verify.yml ] || extra=(-e "ephi_report_dir=$tmp/reports" -e ephi_report_fail_on_findings=false)
  [ "$sha" = "$1" ] || env=(ANSIBLE_STRATEGY_PLUGINS="$EPHI_ROOT/benchmarks/strategy_plugins" ANSIBLE_STRATEGY="${1#*:}")
  # shellcheck disable=SC2086 # EPHI_BENCH_WRAP is a command line, split on purpose
  env "${env[@]}" ANSIBLE_COLLECTIONS_PATH="$tmp/$sha" /usr/bin/time -f '%U %S' -o "$tmp/cputime" ${EPHI_BENCH_WRAP:-} \
    ansible-playbook -i "$tmp/inventory/hosts.yml" "$tmp/$sha/ansible_collections/ephi/safeguards/playbooks/$2" "${extra[@]}" >"$3" 2>&1
}

last=${revs[-1]}
playbook "$last" site.yml "$tmp/converge.log" || { tail -n 30 "$tmp/converge.log" >&2; die "the first converge ($last) failed"; }
sessions=${EPHI_BENCH_SESSIONS:-0} session_bytes=${EPHI_BENCH_SESSION_BYTES:-0}
[[ "$sessions" =~ ^[0-9]+$ ]] || die "EPHI_BENCH_SESSIONS must be a number"
[[ "$session_bytes" =~ ^[0-9]+$ ]] || die "EPHI_BENCH_SESSION_BYTES must be a number"
session_command=true
((session_bytes == 0)) || session_command="head -c $session_bytes /dev/zero | tr '\\0' x | fold -w 99"
if ((sessions > 0)); then
  # One SSH master; each `true` is a session of its own through the gate (a recording).
  ssh_opts=(-p "$port" -i "$EPHI_LAB_KEY" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
            -o ControlMaster=auto -o "ControlPath=$tmp/cm-%C" -o ControlPersist=120 -o BatchMode=yes)
  ssh "${ssh_opts[@]}" ephi-admin@127.0.0.1 true
  seq "$sessions" | xargs -P 4 -I{} ssh "${ssh_opts[@]}" ephi-admin@127.0.0.1 "$session_command" >/dev/null \
    || die "the $sessions recorded sessions failed"
  ssh "${ssh_opts[@]}" -O exit ephi-admin@127.0.0.1 2>/dev/null || true
fi
echo "machine: $(nproc) cores, $(ansible --version | sed -n 1p); $play, $rounds rounds; converged with $last;" \
  "$sessions extra recorded sessions of $session_bytes bytes of output" >&2
: > "$tmp/results"
for round in $(seq "$rounds"); do
  for rev in "${revs[@]}"; do
    load=$(cut -d ' ' -f 1 /proc/loadavg)
    h0=$(host_cpu); t0=$(date +%s.%N)
    playbook "$rev" "$play" "$tmp/run.log" || { tail -n 30 "$tmp/run.log" >&2; die "$play ($rev, round $round) failed"; }
    t1=$(date +%s.%N); h1=$(host_cpu)
    if [ -n "${EPHI_BENCH_LOGS:-}" ]; then mkdir -p "$EPHI_BENCH_LOGS" && cp "$tmp/run.log" "$EPHI_BENCH_LOGS/${rev/:/-}-$round.log"; fi
    changed=$(sed -n 's/.* changed=\([0-9]*\) .*/\1/p' "$tmp/run.log" | head -n 1)
    [ "$play" = verify.yml ] || [ "$changed" = 0 ] || die "the re-run with $rev changed $changed thing(s): not the same state"
    read -r main tasks < <(sed -n 's/^ephi-cpu main=\([0-9.]*\) tasks=\([0-9]*\) .*/\1 \2/p' "$tmp/run.log")
    printf '%s %s %.2f %.2f %s %.2f %s %s\n' "$rev" "$round" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" \
      "$(awk '{print $1 + $2}' "$tmp/cputime")" "$main" "$(awk -v a="$h0" -v b="$h1" 'BEGIN {print (b - a) / 1e9}')" \
      "$tasks" "$load" | tee -a "$tmp/results" >&2
  done
done
python3 - "$tmp/results" "$play" "${revs[@]}" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
print("\n%s, medians of %d alternating runs (min-max)\n" % (sys.argv[2], len(rows) // len(sys.argv[3:])))
print("| revision | wall | controller CPU-s (main) | host CPU-s | tasks |")
print("|---|---|---|---|---|")
for rev in sys.argv[3:]:
    mine = [r for r in rows if r[0] == rev]
    med = lambda i: statistics.median(float(r[i]) for r in mine)
    spread = lambda i: "%.1f-%.1f" % (min(float(r[i]) for r in mine), max(float(r[i]) for r in mine))
    print("| %s | %.1f s | %.2f (%.2f), %s | %.2f, %s | %s |" % (rev, med(2), med(3), med(4), spread(3), med(5), spread(5), mine[0][6]))
PY
