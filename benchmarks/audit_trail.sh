#!/usr/bin/env bash
# Cost of the central audit trail (issue 14): a lab of its own (lab/lab.sh with
# EPHI_LAB_NAME=ephi-bench-trail: one Debian 12 host and a Debian 13 log host on
# a podman network), playbooks/site.yml applied as to a fleet, and a gated user
# (ephi-bench, its own key in the central store) logging in from the controller.
# Measures
#   1. recording with forwarding on vs off: `cat` of a MiB-sized text file in a
#      gated pty session (tmux behind the recording relay, client output to
#      /dev/null), rounds alternating with ephi-log-forward running and stopped:
#      wall time and the throughput ratio, CPU seconds of the sender's
#      forwarder (rsyslogd) and of the log host's receiver (rsyslogd and its
#      gocryptfs) per round, and with forwarding on the time from the session's
#      end until the log host's copy of the recording is complete. The stopped
#      rounds' backlog is shipped before the next round (its time is printed as
#      catch-up MiB/s);
#   2. delivery latency of events: N root events (logger -t ephi-session, 20 a
#      second) carrying their send time, timed on the log host as they land in
#      the host's events.log (the instances share the machine's clock):
#      median, p95 and max.
# The time to verify the chains of 10 000 recordings is benchmarks/audit_chain.sh.
# Run as root after the README's set-up has run once:
#   bash benchmarks/audit_trail.sh [MiB] [rounds] [events]
# EPHI_BENCH_KEEP=1 leaves the lab (lab/lab.sh with the names above) up.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
ephi_setup >/dev/null
mib=${1:-50} rounds=${2:-3} events=${3:-200}
user=ephi-bench store=/var/log/ephi/fleet
tmp=$(mktemp -d /tmp/ephi-bench-trail.XXXXXX)
export EPHI_LAB_NAME=ephi-bench-trail EPHI_LAB_LABEL=bench-trail EPHI_LAB_PORT_BASE=22420 \
  EPHI_LAB_HOSTS=bookworm EPHI_LAB_LOG_HOST=trixie EPHI_LAB_INVENTORY=$tmp/inventory/hosts.yml
sender=$EPHI_LAB_NAME-1 loghost=$EPHI_LAB_NAME-log port=$((EPHI_LAB_PORT_BASE + 1))
cleanup() { [ "${EPHI_BENCH_KEEP:-0}" = 1 ] || "$EPHI_ROOT/lab/lab.sh" down >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT
mkdir -p "$tmp/inventory/group_vars"
ssh-keygen -q -t ed25519 -N '' -C "$user benchmark" -f "$tmp/$user"
cat > "$tmp/inventory/group_vars/all.yml" <<VARS
ssh_key_policy_users:
  - name: ephi-admin
    keys: [{key: "$(cat "$EPHI_LAB_KEY.pub")", owner: ephi.safeguards benchmark automation}]
  - name: $user
    keys: [{key: "$(cat "$tmp/$user.pub")", owner: ephi.safeguards benchmark user}]
aide_controller_hash_dir: $tmp/aide-baselines
log_forward_pki_dir: $tmp/pki
log_host_pki_dir: $tmp/pki
VARS
export ANSIBLE_CONFIG=$EPHI_ROOT/lab/ansible.cfg
"$EPHI_ROOT/lab/lab.sh" up >/dev/null
ansible -i "$tmp/inventory/hosts.yml" all -m ansible.builtin.wait_for_connection -a timeout=120 >/dev/null
cat > "$tmp/user.yml" <<'PLAY'
- name: The benchmark's gated user
  hosts: all:!ephi_log_hosts
  gather_facts: false
  tasks:
    - name: Create it
      ansible.builtin.user:
        name: ephi-bench
        shell: /bin/bash
        password: "*"
PLAY
ansible-playbook -i "$tmp/inventory/hosts.yml" "$tmp/user.yml" > "$tmp/converge.log" 2>&1 \
  && ansible-playbook -i "$tmp/inventory/hosts.yml" "$EPHI_ROOT/playbooks/site.yml" >> "$tmp/converge.log" 2>&1 \
  || { tail -n 40 "$tmp/converge.log" >&2; die "the converge failed"; }
podman exec "$sender" sh -c "(base64 -w 99 /dev/urandom || true) | head -c $((mib * 1048576)) > /var/tmp/big && chmod 0644 /var/tmp/big"
ssh_=(ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR
      -i "$tmp/$user" -p "$port")

# CPU seconds (user + system, all threads) of the main processes of units on a
# container: "cpu_s_unit1 cpu_s_unit2 ...".
cpu() {  # container unit...
  local c=$1; shift
  podman exec -i "$c" python3 - "$@" <<'PY'
import os, subprocess, sys
tick = os.sysconf("SC_CLK_TCK")
out = []
for unit in sys.argv[1:]:
    pid = subprocess.run(["systemctl", "show", "-p", "MainPID", "--value", unit], capture_output=True, text=True).stdout.strip()
    try:
        with open("/proc/%s/stat" % pid) as fh:
            f = fh.read().rsplit(")", 1)[1].split()
        out.append("%.2f" % ((int(f[11]) + int(f[12])) / tick))
    except (OSError, ValueError, IndexError):
        out.append("nan")
print(" ".join(out))
PY
}
newest_recording() {
  podman exec "$sender" sh -c "ls -t /var/log/ephi/$user/*.cast | head -n 1"
}
# Seconds until the log host's copy of the sender's recording PATH has the
# local file's size (gives up after 600 s: prints "nan").
delivered() {  # path
  local size name waited
  size=$(podman exec "$sender" stat -c %s "$1") name=$(basename "$1")
  waited=$(podman exec -i "$loghost" python3 - "$store/$sender/$user/$name" "$size" <<'PY'
import os, sys, time
path, size, start = sys.argv[1], int(sys.argv[2]), time.monotonic()
while time.monotonic() - start < 600:
    try:
        if os.stat(path).st_size >= size:
            print("%.2f" % (time.monotonic() - start))
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.05)
print("nan")
PY
)
  echo "$waited"
}

rows=()
for r in $(seq "$rounds"); do
  for kind in nopty pty; do
  for mode in on off; do
    if [ "$mode" = off ]; then podman exec "$sender" systemctl stop ephi-log-forward.service; fi
    read -r f0 < <(cpu "$sender" ephi-log-forward.service)
    read -r h0 g0 < <(cpu "$loghost" ephi-log-host.service ephi-encrypted-logs.service)
    t0=$(date +%s.%N)
    if [ "$kind" = pty ]; then
      TERM=xterm "${ssh_[@]}" -tt "$user@127.0.0.1" 'cat /var/tmp/big' </dev/null >/dev/null
    else
      "${ssh_[@]}" "$user@127.0.0.1" 'cat /var/tmp/big' </dev/null >/dev/null
    fi
    t1=$(date +%s.%N)
    sleep 0.5  # the relay writes the end line and exits
    recording=$(newest_recording)
    if [ "$mode" = on ]; then
      lag=$(delivered "$recording")
    else
      podman exec "$sender" systemctl start ephi-log-forward.service
      lag=$(delivered "$recording")  # the backlog: catch-up from the start
    fi
    read -r f1 < <(cpu "$sender" ephi-log-forward.service)
    read -r h1 g1 < <(cpu "$loghost" ephi-log-host.service ephi-encrypted-logs.service)
    [ "$mode" = on ] || f0=0  # a new process after the start
    bytes=$(podman exec "$sender" stat -c %s "$recording")
    rows+=("$kind:$mode $t0 $t1 $lag $f0 $f1 $h0 $h1 $g0 $g1 $bytes")
    echo "round $r: ${rows[-1]}" >&2
  done
  done
done

# Event latency: the log host follows events.log from its end; the sender logs.
podman exec -i "$loghost" sh -c "cat > /run/ephi-bench-follow.py" <<'PY'
import os, re, sys, time
path, count, found = sys.argv[1], int(sys.argv[2]), {}
fh = open(path, "rb")
fh.seek(0, os.SEEK_END)
start, buf = time.monotonic(), b""
while len(found) < count and time.monotonic() - start < 120:
    chunk = fh.read()
    if not chunk:
        time.sleep(0.005)
        continue
    now = time.time()
    buf += chunk
    *lines, buf = buf.split(b"\n")
    for line in lines:
        m = re.search(rb"event=bench-latency seq=(\d+) sent=([0-9.]+)", line)
        if m:
            found[int(m.group(1))] = now - float(m.group(2))
print(" ".join("%.4f" % found[k] for k in sorted(found)))
PY
podman exec "$loghost" sh -c "python3 /run/ephi-bench-follow.py $store/$sender/events.log $events > /run/ephi-bench-latency.txt 2>&1 &"
sleep 1
podman exec "$sender" python3 -c "
import syslog, time
syslog.openlog('ephi-session', 0, syslog.LOG_AUTHPRIV)
for i in range($events):
    syslog.syslog(syslog.LOG_INFO, 'event=bench-latency seq=%d sent=%.6f' % (i, time.time()))
    time.sleep(0.05)
"
for _ in $(seq 150); do
  podman exec "$loghost" test -s /run/ephi-bench-latency.txt && break
  sleep 1
done
latency=$(podman exec "$loghost" cat /run/ephi-bench-latency.txt)

python3 - "$mib" "$events" "$latency" "${rows[@]}" <<'PY'
import math, statistics, sys
mib, events, latency = float(sys.argv[1]), int(sys.argv[2]), [float(x) for x in sys.argv[3].split()]
data = {}
for row in sys.argv[4:]:
    key, *v = row.split()
    t0, t1, lag, f0, f1, h0, h1, g0, g1, size = map(float, v)
    data.setdefault(key, []).append({"wall": t1 - t0, "lag": lag, "fwd": f1 - f0, "recv": h1 - h0, "gcfs": g1 - g0,
                                     "mib": size / 1048576})
med = statistics.median
print("| cat of %d MiB in a gated session | wall (s) | median MiB/s | sender forwarder CPU s | log host rsyslogd CPU s |"
      " log host gocryptfs CPU s | recording MiB | delivered after the session (s) |" % mib)
print("|---|---|---|---|---|---|---|---|")
labels = {"on": "forwarding on", "off": "forwarding off (backlog shipped after; its CPU)"}
for kind, what in (("nopty", "no pty (output recorded as it is)"), ("pty", "pty (tmux's screen recorded)")):
    for mode in ("on", "off"):
        rows = data[kind + ":" + mode]
        col = lambda k: [r[k] for r in rows]
        print("| %s, %s | %s | %.1f | %.2f | %.2f | %.2f | %.1f | %s |" % (
            what, labels[mode], " ".join("%.2f" % w for w in col("wall")), mib / med(col("wall")), med(col("fwd")),
            med(col("recv")), med(col("gcfs")), med(col("mib")), " ".join("%.1f" % x for x in col("lag"))))
print()
# Without a pty the recording is the output (per 50 MiB recorded); with one it
# is tmux's screen updates, many small lines (per session).
for kind, scale, unit in (("nopty", True, "per 50 MiB recorded"), ("pty", False, "per session")):
    on, off = data[kind + ":on"], data[kind + ":off"]
    ratio = med([r["wall"] for r in off]) / med([r["wall"] for r in on])
    cost = lambda k: med([r[k] / r["mib"] * 50 if scale else r[k] for r in on if r["mib"]])
    print("%s: recording throughput with forwarding on / off %.2fx; CPU s %s (on): sender forwarder "
          "%.2f, log host rsyslogd %.2f, log host gocryptfs %.2f" % (kind, ratio, unit, cost("fwd"), cost("recv"), cost("gcfs")))
print()
if latency:
    q = sorted(latency)
    p95 = q[min(len(q) - 1, int(math.ceil(0.95 * len(q))) - 1)]
    print("event delivery latency (%d of %d events arrived): median %.0f ms, p95 %.0f ms, max %.0f ms"
          % (len(q), events, 1000 * med(q), 1000 * p95, 1000 * q[-1]))
else:
    print("event delivery latency: no event arrived")
PY
