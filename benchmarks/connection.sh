#!/usr/bin/env bash
# Per-task cost of the lab's connection choices: the same playbook of N
# `stat` tasks against one lab container, over the podman connection and over
# SSH (with and without pipelining). Prints a table; run as root after the
# README's set-up has run once:   bash benchmarks/connection.sh [N]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
ephi_setup >/dev/null
n=${1:-30}
name=ephi-bench-conn port=22399
tmp=$(mktemp -d)
cleanup() { podman rm -f -t 2 "$name" >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT
cleanup; mkdir -p "$tmp"; : > "$tmp/ansible.cfg"
podman run -d --name "$name" --label ephi.safeguards.lab=bench --systemd=always -p "127.0.0.1:$port:22" \
  -v "$EPHI_LAB_KEY.pub:/home/ephi-admin/.ssh/authorized_keys:ro" localhost/ephi-lab:bookworm /sbin/init >/dev/null

{
  echo "- name: $n stat tasks"
  echo "  hosts: all"
  echo "  gather_facts: false"
  echo "  tasks:"
  for i in $(seq "$n"); do
    printf '    - name: stat %s\n      ansible.builtin.stat:\n        path: /etc/hostname\n' "$i"
  done
} > "$tmp/play.yml"
cat > "$tmp/podman.yml" <<INV
all: {hosts: {$name: {ansible_connection: containers.podman.podman, ansible_python_interpreter: /usr/bin/python3}}}
INV
cat > "$tmp/ssh.yml" <<INV
all: {hosts: {$name: {ansible_connection: ssh, ansible_host: 127.0.0.1, ansible_port: $port, ansible_user: ephi-admin,
  ansible_become: true, ansible_python_interpreter: /usr/bin/python3, ansible_ssh_private_key_file: $EPHI_LAB_KEY,
  ansible_ssh_common_args: "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"}}}
INV
ANSIBLE_CONFIG="$tmp/ansible.cfg" ansible -i "$tmp/ssh.yml" all -m ansible.builtin.wait_for_connection -a timeout=60 >/dev/null

run() {  # label inventory pipelining
  local start end
  start=$(date +%s.%N)
  ANSIBLE_PIPELINING=$3 ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=120s" \
    ansible-playbook -i "$2" "$tmp/play.yml" >/dev/null
  end=$(date +%s.%N)
  python3 -c "import sys; t=float(sys.argv[2])-float(sys.argv[1]); print('| %-28s | %6.1f s | %5.2f s |' % (sys.argv[3], t, t/int(sys.argv[4])))" \
    "$start" "$end" "$1" "$n"
}
echo "| connection ($n stat tasks, 1 host) | wall | per task |"
echo "|---|---|---|"
run "podman" "$tmp/podman.yml" false
run "ssh, become, no pipelining" "$tmp/ssh.yml" false
run "ssh, become, pipelining" "$tmp/ssh.yml" true
echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(. /etc/os-release; echo "$PRETTY_NAME"), podman $(podman --version | awk '{print $3}')"
