#!/usr/bin/env bash
# Cost of the encrypted_logs verify entry point on a host with many session
# logs: one lab container (Debian 12) converged with the encrypted_logs role
# (gocryptfs), N files created in the encrypted directory (default 100 000, in
# 100 user directories, as years of retention leave them), then the role's
# `tasks_from: verify` timed (wall time of ansible-playbook, twice: cold and
# warm caches) with the load average before each run. Requirement: < 30 s.
# Run as root after the README's set-up has run once; not part of CI:
#   bash benchmarks/encrypted_logs_verify.sh [files]
# EPHI_BENCH_KEEP=1 leaves the container (ephi-bench-verify-logs) up.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
ephi_setup >/dev/null
files=${1:-100000}
name=ephi-bench-verify-logs port=22396
tmp=$(mktemp -d)
cleanup() { podman rm -f -t 2 "$name" >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap '[ "${EPHI_BENCH_KEEP:-0}" = 1 ] && rm -rf "$tmp" || cleanup' EXIT
cleanup; mkdir -p "$tmp"
ephi_bench_host "$tmp" "$name" "$port" bookworm --device /dev/fuse --cap-add SYS_ADMIN
cat > "$tmp/converge.yml" <<'PLAY'
- name: The encrypted log directory, as in molecule/encrypted_logs
  hosts: all
  gather_facts: false
  roles:
    - ephi.safeguards.encrypted_logs
PLAY
cat > "$tmp/verify.yml" <<PLAY
- name: The role's verify entry point, as playbooks/verify.yml runs it
  hosts: all
  gather_facts: false
  tasks:
    - name: Verify the encrypted session log directory
      ansible.builtin.include_role:
        name: ephi.safeguards.encrypted_logs
        tasks_from: verify
    - name: Keep the evidence
      ansible.builtin.copy:
        content: "{{ encrypted_logs_verify_controls | to_json }}"
        dest: $tmp/evidence.json
        mode: "0600"
      delegate_to: localhost
      become: false
PLAY
ansible -i "$tmp/inventory.yml" all -m ansible.builtin.wait_for_connection -a timeout=60 >/dev/null
ansible-playbook -i "$tmp/inventory.yml" "$tmp/converge.yml" >/dev/null
[ "$(podman exec "$name" findmnt -n -o FSTYPE --mountpoint /var/log/ephi)" = fuse.gocryptfs ] \
  || { echo "ERROR: /var/log/ephi is not mounted with gocryptfs" >&2; exit 1; }

# N log files of ~200 bytes through the gocryptfs mount, 100 directories.
t0=$(date +%s.%N)
podman exec -i "$name" python3 - "$files" <<'PY'
import os, sys
n = int(sys.argv[1])
line = b'2026-12-05T03:00:00Z ephi benchmark log line, nothing secret in here, only to have some bytes\n' * 2
for i in range(n):
    d = '/var/log/ephi/bench-user%02d' % (i % 100)
    if i < 100:
        os.makedirs(d, mode=0o750, exist_ok=True)
    fd = os.open('%s/host-s%d-%d.0-20261205T0300%06d.log' % (d, i % 7, i % 3, i), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    os.write(fd, line)
    os.close(fd)
PY
t1=$(date +%s.%N)
count=$(podman exec "$name" sh -c 'find /var/log/ephi -type f | wc -l')
echo "created $files files in $(python3 -c "print('%.1f' % ($t1 - $t0))") s; the plain tree holds $count files"

run() {  # label
  local load t0 t1
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  t0=$(date +%s.%N)
  ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks ANSIBLE_NOCOLOR=1 \
    ansible-playbook -i "$tmp/inventory.yml" "$tmp/verify.yml" >"$tmp/verify.log" 2>&1 \
    || { tail -n 40 "$tmp/verify.log" >&2; echo "ERROR: verify failed" >&2; exit 1; }
  t1=$(date +%s.%N)
  python3 - "$1" "$t0" "$t1" "$load" "$tmp/evidence.json" "$tmp/verify.log" <<'PY'
import json, re, sys
label, t0, t1, load, path = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
log = open(sys.argv[6]).read()
module = re.findall(r'verify \| Observe the encrypted directory[^\n]*?-+ ([0-9.]+)s', log)
controls = json.load(open(path))
leak = [c for c in controls if c['id'] == 'encrypted-logs-backing-encrypted'][0]
statuses = ' '.join('%s=%s' % (c['id'].replace('encrypted-logs-', ''), c['status']) for c in controls)
took = t1 - t0
print('| %s | %.1f s | %s s | %s | %s |' % (label, took, module[0] if module else '?', load, statuses))
print('  observed: %s' % leak['observed'])
if took >= 30 or any(c['status'] != 'pass' for c in controls):
    print('FAIL: verify must finish in under 30 s with every control passing')
    sys.exit(1)
PY
}
echo
echo "| verify run ($files files) | wall time (ansible-playbook) | of which the module | load average before (1/5/15 min) | controls |"
echo "|---|---|---|---|---|"
podman exec "$name" sh -c 'sync; echo 3 > /proc/sys/vm/drop_caches' 2>/dev/null || true
run "first (caches dropped if allowed)"
run "second"
echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(. /etc/os-release; echo "$PRETTY_NAME"), podman $(podman --version | awk '{print $3}'), ansible-core $(ansible --version 2>/dev/null | sed -n '1s/.*core \([0-9.]*\).*/\1/p')"
