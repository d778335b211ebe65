#!/usr/bin/env bash
# Wall time of playbooks/site.yml and playbooks/verify.yml on a small fleet of
# lab containers: the first converge, the idempotent re-run and verify.yml,
# on 1, 4 and 8 hosts with forks=8, with Ansible's linear strategy and with
# Mitogen's mitogen_linear. Prints the machine, the load average before every
# run, the CPU seconds each run cost the controller and the managed hosts
# (independent of other work on the machine) and a markdown table; keeps the
# logs (with per-task times). Run as root after the README's set-up has run once:
#   bash benchmarks/site.sh            sizes 1 4 8
#   bash benchmarks/site.sh 1          one host only
# Environment:
#   EPHI_BENCH_STRATEGIES  "linear mitogen_linear" (also: mitogen_free)
#   EPHI_BENCH_SUITE       bookworm (default), trixie, or mixed (alternating)
#   EPHI_BENCH_OUT         where the logs go (default $EPHI_CACHE_DIR/bench-site/<time>)
#   EPHI_BENCH_ALT_VENV    a virtualenv with another ansible-core (e.g. the compat stage's
#                          $EPHI_CACHE_DIR/venv-core-2.16-ansible9): after each fleet's runs,
#                          EPHI_BENCH_ALT_ROUNDS (default 3) alternating rounds of the re-run and
#                          of verify.yml with this checkout's core (rerun-N, verify-N) and with
#                          that one (rerun-alt-N, verify-alt-N), on the same hosts
# Its containers are ephi-bench-N (SSH on 127.0.0.1:22400+N) with the label
# ephi.safeguards.lab=bench-site; only those are ever removed. The collection
# is a snapshot of this checkout taken at start, so that edits made while the
# benchmark runs do not change the code between two runs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/ansible_cfg.sh"
ephi_setup >/dev/null

sizes=("$@")
((${#sizes[@]})) || sizes=(1 4 8)
read -r -a strategies <<< "${EPHI_BENCH_STRATEGIES:-linear mitogen_linear}"
suite=${EPHI_BENCH_SUITE:-bookworm}
mitogen_version=0.3.54
label=ephi.safeguards.lab=bench-site
port_base=22400 max_hosts=8 play_timeout=3600
out=${EPHI_BENCH_OUT:-$EPHI_CACHE_DIR/bench-site/$(date -u +%Y%m%dT%H%M%SZ)}
for n in "${sizes[@]}"; do
  if ! [[ "$n" =~ ^[1-9][0-9]*$ ]] || ((n > max_hosts)); then die "host counts must be 1..$max_hosts, got '$n'"; fi
done
case "$suite" in bookworm|trixie|mixed) ;; *) die "EPHI_BENCH_SUITE must be bookworm, trixie or mixed" ;; esac
if [ -n "${EPHI_BENCH_ALT_VENV:-}" ] && [ ! -x "$EPHI_BENCH_ALT_VENV/bin/ansible-playbook" ]; then
  die "EPHI_BENCH_ALT_VENV: no ansible-playbook in $EPHI_BENCH_ALT_VENV/bin (bash scripts/test.sh compat makes the 2.16 one)"
fi

if [ ! -x /usr/bin/time ]; then  # GNU time, for the controller's CPU seconds
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends time >/dev/null || die "apt-get install time failed"
fi
tmp=$(mktemp -d /tmp/ephi-bench-site.XXXXXX)
mkdir -p "$out"
remove_containers() {
  local -a ids
  local i
  mapfile -t ids < <(podman ps -a --filter "label=$label" --format '{{ .Names }}')
  ((${#ids[@]} == 0)) || podman rm -f -t 2 "${ids[@]}" >/dev/null 2>&1 || true
  # podman rm can return before a container is gone (seen between the 1- and
  # 2-host runs): wait for it, so that the next fleet can take the names.
  for i in $(seq 30); do
    [ -z "$(podman ps -a -q --filter "label=$label")" ] && return 0
    sleep 1
  done
}
cleanup() { remove_containers; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# Mitogen is used by this script only: a pinned copy in the cache, outside the
# shared virtualenv (whose key is tests/requirements.txt).
mitogen_dir=$EPHI_CACHE_DIR/mitogen-$mitogen_version
if [[ " ${strategies[*]} " == *" mitogen"* ]] && [ ! -f "$mitogen_dir/.complete" ]; then
  ephi_lock mitogen
  if [ ! -f "$mitogen_dir/.complete" ]; then
    rm -rf "$mitogen_dir"
    pip install -q --disable-pip-version-check --no-deps --target "$mitogen_dir" "mitogen==$mitogen_version" \
      >"$out/mitogen-pip.log" 2>&1 || { tail -n 20 "$out/mitogen-pip.log" >&2; die "pip install mitogen==$mitogen_version failed"; }
    touch "$mitogen_dir/.complete"
  fi
  ephi_unlock
fi

# The snapshot of this checkout (tracked and untracked, not ignored files).
snap=$tmp/collections/ansible_collections/ephi/safeguards
mkdir -p "$snap"
git -C "$EPHI_ROOT" ls-files -co --exclude-standard -z | rsync -a --from0 --files-from=- "$EPHI_ROOT/" "$snap/"
revision="$(git -C "$EPHI_ROOT" rev-parse --short HEAD)$(git -C "$EPHI_ROOT" diff --quiet HEAD -- roles playbooks plugins || echo '+local changes')"
export ANSIBLE_COLLECTIONS_PATH=$tmp/collections
bench_ansible_cfg "$tmp/ansible.cfg" "ansible.posix.profile_tasks, ephi_cpu"
export ANSIBLE_CONFIG=$tmp/ansible.cfg ANSIBLE_FORCE_COLOR=false

suite_of() { case "$suite" in mixed) (($1 % 2)) && echo bookworm || echo trixie ;; *) echo "$suite" ;; esac; }

# N fresh containers and an inventory for them. Connection variables sit on
# the group of managed hosts, not on `all`: the implicit localhost inherits
# `all`, and ansible_become there would make Mitogen run sudo on the
# controller for the delegate_to: localhost tasks.
fleet_up() {
  local n=$1 i name
  remove_containers
  for i in $(seq "$n"); do
    name=ephi-bench-$i
    ! podman container exists "$name" || die "a container named $name exists without the label $label; not touching it"
    podman run -d --name "$name" --hostname "$name" --label "$label" --systemd=always \
      --device /dev/fuse --cap-add SYS_ADMIN -p "127.0.0.1:$((port_base + i)):22" \
      -v "$EPHI_LAB_KEY.pub:/home/ephi-admin/.ssh/authorized_keys:ro" "localhost/ephi-lab:$(suite_of "$i")" /sbin/init >/dev/null
  done
  rm -rf "$tmp/inventory"; mkdir -p "$tmp/inventory"
  cp -r "$snap/lab/inventory/group_vars" "$tmp/inventory/"
  {
    echo "all:"
    echo "  children:"
    echo "    ephi_bench:"
    echo "      vars:"
    echo "        ansible_connection: ssh"
    echo "        ansible_host: 127.0.0.1"
    echo "        ansible_user: ephi-admin"
    echo "        ansible_become: true"
    echo "        ansible_python_interpreter: /usr/bin/python3"
    echo "        ansible_ssh_use_tty: false"  # async tasks through the session gate (docs/session-gate.md)
    echo "        ansible_ssh_private_key_file: $EPHI_LAB_KEY"
    echo "        ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
    echo "      hosts:"
    for i in $(seq "$n"); do echo "        ephi-bench-$i: {ansible_port: $((port_base + i))}"; done
  } > "$tmp/inventory/hosts.yml"
  ansible -i "$tmp/inventory/hosts.yml" all -m ansible.builtin.wait_for_connection -a timeout=180 >/dev/null
}

loadavg() { cut -d ' ' -f 1-3 /proc/loadavg; }

# CPU ticks of the controller's SSH multiplexers (ControlPersist masters: they
# leave ansible-playbook's process tree, so GNU time does not count them), as
# "pid ticks" lines.
mux_ticks() {
  local pid
  for pid in $(pgrep -x ssh || true); do
    grep -q -F '[mux]' "/proc/$pid/cmdline" 2>/dev/null || continue
    awk -v p="$pid" '{sub(/.*\) /, ""); print p, $12 + $13}' "/proc/$pid/stat" 2>/dev/null || true
  done
}

# CPU nanoseconds used so far by our containers (cgroup v1 cpuacct or v2
# cpu.stat): the managed hosts' share of a run, independent of other load.
fleet_cpu() {
  local id path
  for id in $(podman ps -q --no-trunc --filter "label=$label"); do
    path=$(podman container inspect --format '{{ .State.CgroupPath }}' "$id")
    if [ -r "/sys/fs/cgroup/cpuacct$path/cpuacct.usage" ]; then
      cat "/sys/fs/cgroup/cpuacct$path/cpuacct.usage"
    elif [ -r "/sys/fs/cgroup$path/cpu.stat" ]; then
      awk '/^usage_usec/ {print $2 * 1000}' "/sys/fs/cgroup$path/cpu.stat"
    fi
  done | awk '{s += $1} END {printf "%.0f\n", s}'
}

# run STRATEGY N RUN PLAYBOOK [ansible-playbook args]: one timed run; appends
# "strategy n run seconds changed load controller-cpu hosts-cpu" to $tmp/results.
# Controller CPU: ansible-playbook and the workers it waited for (GNU time).
run() {
  local strategy=$1 n=$2 name=$3 playbook=$4; shift 4
  local log="$out/$strategy-$n-$name.log" load start end rc=0 changed wall cpu0 cpu1 ctl_cpu hosts_cpu main_cpu mux_cpu
  local -a env=()
  if [[ "$strategy" == mitogen* ]]; then
    env=(ANSIBLE_STRATEGY_PLUGINS="$mitogen_dir/ansible_mitogen/plugins/strategy" ANSIBLE_STRATEGY="$strategy")
  fi
  load=$(loadavg)
  mux_ticks > "$tmp/mux0"
  cpu0=$(fleet_cpu)
  start=$(date +%s.%N)
  env "${env[@]}" /usr/bin/time -f '%U %S' -o "$tmp/cputime" timeout "$play_timeout" \
    ansible-playbook -i "$tmp/inventory/hosts.yml" "$snap/playbooks/$playbook" "$@" >"$log" 2>&1 || rc=$?
  end=$(date +%s.%N)
  cpu1=$(fleet_cpu)
  if ((rc != 0)); then
    tail -n 40 "$log" >&2
    die "$playbook ($name, $strategy, $n hosts) failed with exit status $rc; log: $log"
  fi
  changed=$(sed -n 's/.* changed=\([0-9]*\) .*/\1/p' "$log" | awk '{s += $1} END {print s + 0}')
  wall=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", b - a}')
  ctl_cpu=$(tail -n 1 "$tmp/cputime" | awk '{printf "%.1f", $1 + $2}')
  hosts_cpu=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {printf "%.1f", (b - a) / 1e9}')
  # The main process apart (ephi_cpu callback), and the multiplexers' share.
  main_cpu=$(sed -n 's/^ephi-cpu main=\([0-9.]*\) .*/\1/p' "$log" | tail -n 1)
  mux_cpu=$(mux_ticks | awk -v tick="$(getconf CLK_TCK)" 'FILENAME != "-" {t0[$1] = $2; next} {s += $2 - ($1 in t0 ? t0[$1] : 0)} END {printf "%.1f", s / tick}' "$tmp/mux0" -)
  echo "$strategy $n $name $wall $changed ${load// /\/} $ctl_cpu $hosts_cpu ${main_cpu:-0} $mux_cpu" >> "$tmp/results"
  printf '  %-15s %d host(s) %-9s %7s s  changed=%-3s CPU controller %s s (main process %s s) + ssh multiplexers %s s, hosts %s s  load before %s\n' \
    "$strategy" "$n" "$name" "$wall" "$changed" "$ctl_cpu" "${main_cpu:-?}" "$mux_cpu" "$hosts_cpu" "$load" >&2
}

machine="$(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM, $(. /etc/os-release; echo "$PRETTY_NAME"), kernel $(uname -r), podman $(podman --version | awk '{print $3}'), $(ansible --version | sed -n 1p), mitogen $mitogen_version, image suite $suite${EPHI_BENCH_ALT_VENV:+, alternating with $("$EPHI_BENCH_ALT_VENV/bin/ansible" --version | sed -n 1p)}"
echo "machine: $machine" >&2
echo "collection: $revision; logs: $out" >&2
: > "$tmp/results"
for strategy in "${strategies[@]}"; do
  for n in "${sizes[@]}"; do
    fleet_up "$n"
    run "$strategy" "$n" converge site.yml
    run "$strategy" "$n" rerun site.yml
    run "$strategy" "$n" verify verify.yml -e "ephi_report_dir=$tmp/reports-$strategy-$n" -e ephi_report_fail_on_findings=false
    cp "$tmp/reports-$strategy-$n/evidence.json" "$out/evidence-$strategy-$n.json"
    if [ -n "${EPHI_BENCH_ALT_VENV:-}" ]; then
      for i in $(seq "${EPHI_BENCH_ALT_ROUNDS:-3}"); do
        run "$strategy" "$n" "rerun-$i" site.yml
        PATH="$EPHI_BENCH_ALT_VENV/bin:$PATH" run "$strategy" "$n" "rerun-alt-$i" site.yml
      done
      for i in $(seq "${EPHI_BENCH_ALT_ROUNDS:-3}"); do
        run "$strategy" "$n" "verify-$i" verify.yml -e "ephi_report_dir=$tmp/reports-$strategy-$n" -e ephi_report_fail_on_findings=false
        PATH="$EPHI_BENCH_ALT_VENV/bin:$PATH" run "$strategy" "$n" "verify-alt-$i" verify.yml \
          -e "ephi_report_dir=$tmp/reports-alt-$strategy-$n" -e ephi_report_fail_on_findings=false
      done
      cp "$tmp/reports-alt-$strategy-$n/evidence.json" "$out/evidence-alt-$strategy-$n.json"
    fi
    python3 - "$out/evidence-$strategy-$n.json" >&2 <<'PY'
import json, sys
evidence = json.load(open(sys.argv[1]))
records = [r for controls in evidence.values() for r in controls]
print("  evidence: %d hosts, %d controls, %d fail, %d hosts without evidence" % (
    len(evidence), len(records), sum(r["status"] == "fail" for r in records), sum(not c for c in evidence.values())))
PY
  done
done
remove_containers
cp "$tmp/results" "$out/results.txt"

python3 - "$tmp/results" "$machine" "$revision" "$(nproc)" <<'PY'
import sys
rows = [line.split() for line in open(sys.argv[1])]
cores = int(sys.argv[4])
t = {(s, int(n), r): float(sec) for s, n, r, sec, *_ in rows}
print("machine: %s; collection %s; forks=8" % (sys.argv[2], sys.argv[3]))
print()
print("| strategy | hosts | run | wall | vs 1 host | per extra host | changed | CPU controller (main process) + ssh + hosts | CPU / %d cores | load before (1/5/15 min) |" % cores)
print("|---|---|---|---|---|---|---|---|---|---|")
for s, n, r, sec, changed, load, ctl, hosts, main, mux in rows:
    n, sec, ctl, hosts, main, mux = int(n), float(sec), float(ctl), float(hosts), float(main), float(mux)
    one = t.get((s, 1, r))
    ratio = "%.2fx" % (sec / one) if one and n > 1 else "-"
    marginal = "%+.1f s" % ((sec - one) / (n - 1)) if one and n > 1 else "-"
    print("| %s | %d | %s | %.1f s | %s | %s | %s | %.1f (%.1f) + %.1f + %.1f s | %.0f s | %s |" % (
        s, n, r, sec, ratio, marginal, changed, ctl, main, mux, hosts, (ctl + mux + hosts) / cores, load.replace("/", " / ")))
print()
print("CPU / cores: the wall time this run would take if it had the machine's cores to itself and were CPU-bound.")
for s in dict.fromkeys(r[0] for r in rows):
    for r in ("converge", "rerun", "verify"):
        if (s, 1, r) in t and (s, 8, r) in t:
            ratio = t[(s, 8, r)] / t[(s, 1, r)]
            print("target 8 hosts <= 2.5x one host, %s %s: %.2fx %s" % (s, r, ratio, "PASS" if ratio <= 2.5 else "FAIL"))
if ("linear", 1, "rerun") in t:
    sec = t[("linear", 1, "rerun")]
    print("target idempotent re-run of site.yml on one host <= 60 s without mitogen: %.1f s %s" % (sec, "PASS" if sec <= 60 else "FAIL"))
PY
echo
echo "slowest tasks of the idempotent re-run on one host (profile_tasks; logs in $out):"
for strategy in "${strategies[@]}"; do
  [ -f "$out/$strategy-1-rerun.log" ] || continue
  echo "  $strategy:"
  sed -n '/^TASKS RECAP/,$p' "$out/$strategy-1-rerun.log" | grep -E ' -+ [0-9.]+s$' | awk 'NR <= 10 {print "    " $0}'
done
