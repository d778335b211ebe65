#!/usr/bin/env bash
# The local lab: podman containers of Debian 12 and 13 running systemd, reached
# over SSH on loopback as a sudo-capable admin account, like a small fleet.
#
#   lab/lab.sh up       create/start the lab and write lab/inventory/hosts.yml
#   lab/lab.sh down     remove the lab's containers (only those it created)
#   lab/lab.sh status   list them
#
# Hosts: EPHI_LAB_HOSTS (default "bookworm trixie bookworm"), one container
# each, named $EPHI_LAB_NAME-N (default ephi-lab-N), SSH published on
# 127.0.0.1:$((EPHI_LAB_PORT_BASE+N)) (default 22300+N). The central log host
# (issue 14): EPHI_LAB_LOG_HOST (default trixie; empty for none), a container
# named $EPHI_LAB_NAME-log on port EPHI_LAB_PORT_BASE, in the inventory group
# ephi_log_hosts; every other host forwards its recordings and events to it.
# All of them share a podman network of their own ($EPHI_LAB_NAME-net). This
# podman (CNI) has no DNS for named networks, so the log host gets a fixed
# address in that network (.250) and the hosts an /etc/hosts entry for its
# name, which is also the name in its certificate. A second lab that must
# never touch this one (the newest-core test stage) sets its own EPHI_LAB_NAME,
# EPHI_LAB_LABEL (the value of the label ephi.safeguards.lab, default main),
# EPHI_LAB_PORT_BASE and EPHI_LAB_INVENTORY (default lab/inventory/hosts.yml;
# AIDE's controller-side baseline hashes go to aide-baselines/ beside it).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${EPHI_CACHE_DIR:-/var/cache/ephi-safeguards}
key=${EPHI_LAB_KEY:-$cache/lab/id_ed25519}
hosts=(${EPHI_LAB_HOSTS:-bookworm trixie bookworm})
log_suite=${EPHI_LAB_LOG_HOST-trixie}
port_base=${EPHI_LAB_PORT_BASE:-22300}
prefix=${EPHI_LAB_NAME:-ephi-lab}
label_value=${EPHI_LAB_LABEL:-main}
label=ephi.safeguards.lab=$label_value
inventory=${EPHI_LAB_INVENTORY:-$here/inventory/hosts.yml}
network=$prefix-net
baselines=$(dirname "$inventory")/aide-baselines

ours() { [ "$(podman container inspect --format '{{ index .Config.Labels "ephi.safeguards.lab" }}' "$1" 2>/dev/null)" = "$label_value" ]; }

# start_container NAME PORT SUITE PODMAN-ARGS...: starts the lab's container
# NAME, creating it when missing.
start_container() {
  local name=$1 port=$2 suite=$3
  shift 3
  if podman container exists "$name"; then
    ours "$name" || { echo "ERROR: a container named $name exists and was not created by the lab; not touching it" >&2; exit 1; }
    podman container inspect --format '{{ range $net, $v := .NetworkSettings.Networks }}{{ $net }} {{ end }}' "$name" | grep -qw -- "$network" || {
      echo "ERROR: $name is from an older lab without the network $network; remove the lab first: $0 down" >&2; exit 1; }
    [ "$(podman container inspect --format '{{ .State.Running }}' "$name")" = true ] || podman start "$name" >/dev/null
  else
    # A new container has no AIDE database: a controller record left from an
    # earlier container of that name would rightly be reported as tampering.
    rm -f "$baselines/$name.aide.db.sha512"
    podman run -d --name "$name" --hostname "$name" --label "$label" --systemd=always \
      --device /dev/fuse --cap-add SYS_ADMIN --network "$network" "$@" \
      -p "127.0.0.1:$port:22" -v "$key.pub:/home/ephi-admin/.ssh/authorized_keys:ro" \
      "localhost/ephi-lab:$suite" /sbin/init >/dev/null || {
        echo "ERROR: podman could not start $name; try: podman run --rm --systemd=always localhost/ephi-lab:$suite /bin/true" >&2
        exit 1; }
  fi
}

up() {
  [ -f "$key.pub" ] || { echo "ERROR: lab key $key.pub missing (scripts/lib.sh ephi_lab_key makes it)" >&2; exit 1; }
  local i=0 name suite port subnet log_ip='' log_name=$prefix-log
  local -a add_host=()
  mkdir -p "$(dirname "$inventory")"
  podman network exists "$network" || podman network create --label "$label" "$network" >/dev/null
  if [ -n "$log_suite" ]; then
    subnet=$(podman network inspect --format '{{ range .Subnets }}{{ .Subnet }} {{ end }}' "$network" | awk '{print $1}')
    case $subnet in
      */24) log_ip=${subnet%.*/24}.250 ;;
      *) echo "ERROR: network $network has subnet '$subnet'; the lab expects an IPv4 /24" >&2; exit 1 ;;
    esac
    add_host=(--add-host "$log_name:$log_ip")
  fi
  {
    echo "# Written by lab/lab.sh: the local lab as an Ansible inventory."
    echo "---"
    echo "all:"
    echo "  vars:"
    echo "    ansible_connection: ssh"
    echo "    ansible_host: 127.0.0.1"
    echo "    ansible_user: ephi-admin"
    echo "    ansible_host_key_checking: false"
    echo "    ansible_python_interpreter: /usr/bin/python3"
    echo "    ansible_ssh_private_key_file: $key"
    echo "    ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
    # Ansible's account goes through the session gate here: without a pty
    # (ssh -tt, which Ansible asks for when it cannot pipeline, e.g. the aide
    # role's async tasks) its commands stay command sessions instead of
    # running inside the recorded tmux session (docs/session-gate.md).
    echo "    ansible_ssh_use_tty: false"
    [ -z "$log_suite" ] || echo "    log_forward_server: $log_name   # how the hosts reach the log host (its certificate's name)"
    echo "  hosts:"
  } > "$inventory.tmp"
  for suite in "${hosts[@]}"; do
    i=$((i + 1)); name=$prefix-$i; port=$((port_base + i))
    start_container "$name" "$port" "$suite" "${add_host[@]}"
    # become per host, not for `all`: the implicit localhost (delegate_to:
    # localhost tasks) inherits `all` and would run sudo on the controller.
    printf '    %s:\n      ansible_port: %s\n      ansible_become: true\n      ephi_lab_suite: %s\n' "$name" "$port" "$suite" >> "$inventory.tmp"
  done
  if [ -n "$log_suite" ]; then
    start_container "$log_name" "$port_base" "$log_suite" --ip "$log_ip"
    printf '    %s:\n      ansible_port: %s\n      ansible_become: true\n      ephi_lab_suite: %s\n' "$log_name" "$port_base" "$log_suite" >> "$inventory.tmp"
    {
      echo "  children:"
      echo "    ephi_log_hosts:"
      echo "      hosts:"
      echo "        $log_name:"
    } >> "$inventory.tmp"
  fi
  mv "$inventory.tmp" "$inventory"
  echo "lab is up: ${#hosts[@]} hosts${log_suite:+ and the log host $log_name}, inventory $inventory"
}

down() {
  local ids
  ids=$(podman ps -a --filter "label=$label" --format '{{ .Names }}')
  [ -z "$ids" ] || podman rm -f -t 5 $ids >/dev/null
  ! podman network exists "$network" || podman network rm "$network" >/dev/null
  rm -f "$inventory" "$baselines/$prefix"-*.aide.db.sha512
  echo "lab removed${ids:+: }$(echo $ids)"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) podman ps -a --filter "label=$label" --format 'table {{ .Names }}\t{{ .Status }}\t{{ .Ports }}\t{{ .Image }}' ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
