#!/usr/bin/env bash
# Cost of session capture on pane output: one lab container converged with
# the encrypted_logs and tmux roles, a user's detached tmux session runs
# `cat` of a text file, timed until the shell is done, with the pane piped to
# the collector (capture on) and after `tmux pipe-pane` closed the pipe
# (capture off). Also times how long after the pane the last byte reached
# the encrypted log. Prints a table and the ratio (target: on >= 0.8x off);
# run as root after the README's set-up has run once:
#   bash benchmarks/capture_throughput.sh [MiB] [rounds]
# EPHI_BENCH_KEEP=1 leaves the container (ephi-bench-capture) up for profiling.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
ephi_setup >/dev/null
mib=${1:-50} rounds=${2:-3}
name=ephi-bench-capture port=22397 user=ephi-bench
tmp=$(mktemp -d)
cleanup() { podman rm -f -t 2 "$name" >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap '[ "${EPHI_BENCH_KEEP:-0}" = 1 ] && rm -rf "$tmp" || cleanup' EXIT
cleanup; mkdir -p "$tmp"
ephi_bench_host "$tmp" "$name" "$port" bookworm --device /dev/fuse --cap-add SYS_ADMIN
cat > "$tmp/play.yml" <<PLAY
- name: Encrypted session capture, as in molecule/encrypted_logs
  hosts: all
  gather_facts: false
  tasks:
    - name: Apply the encrypted_logs role
      ansible.builtin.include_role:
        name: ephi.safeguards.encrypted_logs
    - name: Apply the tmux role with capture
      ansible.builtin.include_role:
        name: ephi.safeguards.tmux
      vars:
        tmux_autostart_exempt_users: [ephi-admin]
    - name: Create the benchmark user
      ansible.builtin.user:
        name: $user
        shell: /bin/bash
        password: "*"
PLAY
ansible -i "$tmp/inventory.yml" all -m ansible.builtin.wait_for_connection -a timeout=60 >/dev/null
ansible-playbook -i "$tmp/inventory.yml" "$tmp/play.yml" >/dev/null
[ "$(podman exec "$name" findmnt -n -o FSTYPE --mountpoint /var/log/ephi)" = fuse.gocryptfs ] \
  || { echo "ERROR: /var/log/ephi is not mounted with gocryptfs" >&2; exit 1; }
podman exec "$name" sh -c "base64 -w 99 /dev/urandom | head -c $((mib * 1048576)) > /var/tmp/big && chmod 0644 /var/tmp/big"

# One round: a fresh detached session, optionally with the pipe closed, then
# `cat` timed in the pane until the shell signals; prints "pane_s log_s cpu_s"
# (cpu_s: CPU seconds the capture processes used meanwhile; unlike the wall
# times it does not depend on what else the machine is doing).
measure() {  # on|off
  podman exec -i "$name" env U="$user" MODE="$1" BYTES="$((mib * 1048576))" bash -s <<'ROUND'
set -euo pipefail
t() { runuser -u "$U" -- tmux "$@"; }
dir=/var/log/ephi/$U
t kill-server 2>/dev/null || true
rm -rf "${dir:?}"/*
t new-session -d -s bench -x 200 -y 50
for i in $(seq 50); do [ "$(t display -p -t bench '#{pane_pipe}')" = 1 ] && break; sleep 0.1; done
[ "$(t display -p -t bench '#{pane_pipe}')" = 1 ] || { echo "ERROR: the pane is not piped (capture hook)" >&2; exit 1; }
if [ "$MODE" = off ]; then
  t pipe-pane -t bench
  [ "$(t display -p -t bench '#{pane_pipe}')" = 0 ] || { echo "ERROR: pipe-pane did not close the pipe" >&2; exit 1; }
fi
sleep 0.5
before=$(du -sb "$dir" 2>/dev/null | cut -f1 || echo 0)
# CPU seconds (user+system) of the capture path: client, collector, gocryptfs.
cpu() {
  python3 - <<'PY'
import os
tick = os.sysconf('SC_CLK_TCK')
total = 0
for pid in filter(str.isdigit, os.listdir('/proc')):
    try:
        with open('/proc/%s/stat' % pid) as fh:
            stat = fh.read()
    except OSError:
        continue
    comm = stat[stat.index('(') + 1:stat.rindex(')')]
    if comm in ('ephi-capture-cl', 'ephi-capture-co', 'gocryptfs'):
        fields = stat[stat.rindex(')') + 2:].split()
        total += int(fields[11]) + int(fields[12])
print('%.2f' % (total / tick))
PY
}
c0=$(cpu)
t0=$(date +%s.%N)
t send-keys -t bench 'cat /var/tmp/big; tmux wait-for -S done' Enter
timeout 300 runuser -u "$U" -- tmux wait-for done
t1=$(date +%s.%N)
t2=$t1
if [ "$MODE" = on ]; then  # until the log holds at least the file (the pty adds \r)
  for i in $(seq 1200); do
    [ "$(( $(du -sb "$dir" | cut -f1) - before ))" -ge "$BYTES" ] && break
    sleep 0.1
  done
  t2=$(date +%s.%N)
fi
c1=$(cpu)
t kill-server
python3 -c "import sys; a,b,c,d,e=map(float,sys.argv[1:]); print('%.3f %.3f %.2f' % (b-a, c-b, e-d))" "$t0" "$t1" "$t2" "$c0" "$c1"
ROUND
}

declare -a on off lag cpu
for r in $(seq "$rounds"); do
  read -r pane log used < <(measure on); on+=("$pane"); lag+=("$log"); cpu+=("$used")
  read -r pane log used < <(measure off); off+=("$pane")
done
python3 - "$mib" "${on[*]}" "${off[*]}" "${lag[*]}" "${cpu[*]}" <<'PY'
import statistics, sys
mib = float(sys.argv[1])
on, off, lag, cpu = ([float(x) for x in a.split()] for a in sys.argv[2:6])
rate = lambda ts: mib / statistics.median(ts)
print("| capture (cat of %d MiB in a detached pane) | times (s) | median MiB/s |" % mib)
print("|---|---|---|")
print("| on (piped to the collector, gocryptfs) | %s | %.1f |" % (" ".join("%.2f" % t for t in on), rate(on)))
print("| off (pipe-pane closed) | %s | %.1f |" % (" ".join("%.2f" % t for t in off), rate(off)))
ratio = rate(on) / rate(off)
print()
print("ratio on/off: %.2fx (target >= 0.8x): %s" % (ratio, "PASS" if ratio >= 0.8 else "FAIL"))
print("log complete after the pane: median %.2f s (%s)" % (statistics.median(lag), " ".join("%.2f" % t for t in lag)))
print("CPU of the capture path (client, collector, gocryptfs): median %.2f s per %d MiB (%s)"
      % (statistics.median(cpu), mib, " ".join("%.2f" % t for t in cpu)))
PY
echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(. /etc/os-release; echo "$PRETTY_NAME"), podman $(podman --version | awk '{print $3}'), load:$(uptime | sed 's/.*load average://')"
