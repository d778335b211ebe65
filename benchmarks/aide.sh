#!/usr/bin/env bash
# Cost of AIDE's init and check in a lab container: the aide role's production
# defaults (all of /usr/bin, /usr/sbin, /etc/ssh, ...) against the Molecule
# scenario's scoped watch list (molecule/aide/aide_vars.yml), with the drop-in
# the role renders. Prints a table; run as root after the README's set-up:
#   bash benchmarks/aide.sh [bookworm|trixie]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
ephi_setup >/dev/null
suite=${1:-bookworm}
name=ephi-bench-aide-$suite port=22398
tmp=$(mktemp -d)
cleanup() { podman rm -f -t 2 "$name" >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT
cleanup; mkdir -p "$tmp"
ephi_bench_host "$tmp" "$name" "$port" "$suite"
# Install and configure with the role's defaults (no baseline yet: the
# benchmark times aide itself, not the role's tasks).
cat > "$tmp/play.yml" <<'PLAY'
- name: Configure AIDE with the role
  hosts: all
  gather_facts: false
  tasks:
    - name: Apply the role's install and config tasks only
      ansible.builtin.import_role:
        name: ephi.safeguards.aide
      vars:
        aide_controller_hash_dir: "{{ bench_tmp }}/hashes"
PLAY
ansible -i "$tmp/inventory.yml" all -m ansible.builtin.wait_for_connection -a timeout=60 >/dev/null
ansible-playbook -i "$tmp/inventory.yml" "$tmp/play.yml" -e "bench_tmp=$tmp" \
  --tags aide_install,aide_config >/dev/null

# Two drop-ins: the defaults the role rendered, and the scenario's scope.
podman exec "$name" cp /etc/aide/aide.conf.d/90_ephi_safeguards /root/default.rules
ansible-playbook -i "$tmp/inventory.yml" "$tmp/play.yml" -e "bench_tmp=$tmp" \
  -e "@$EPHI_ROOT/molecule/aide/group_vars/all.yml" -e "aide_controller_hash_dir=$tmp/hashes" --tags aide_config >/dev/null
podman exec "$name" mkdir -p /srv/ephi
podman exec "$name" cp /etc/aide/aide.conf.d/90_ephi_safeguards /root/scoped.rules

measure() {  # label rules-file
  podman exec "$name" sh -c "cp /root/$2 /etc/aide/aide.conf.d/90_ephi_safeguards && rm -f /var/lib/aide/aide.db*"
  local t0 t1 t2 entries
  t0=$(date +%s.%N)
  podman exec "$name" aide --config /etc/aide/aide.conf --init >/dev/null
  t1=$(date +%s.%N)
  podman exec "$name" mv /var/lib/aide/aide.db.new /var/lib/aide/aide.db
  podman exec "$name" aide --config /etc/aide/aide.conf --check >/dev/null
  t2=$(date +%s.%N)
  entries=$(podman exec "$name" sh -c 'aide --config /etc/aide/aide.conf --check | sed -n "s/^Number of entries:[[:space:]]*//p"')
  python3 -c "import sys; a,b,c=map(float,sys.argv[1:4]); print('| %-34s | %7s | %6.1f s | %6.1f s |' % (sys.argv[4], sys.argv[5], b-a, c-b))" \
    "$t0" "$t1" "$t2" "$1" "$entries"
}
version=$(podman exec "$name" sh -c 'aide --version 2>&1 | head -n 1')
echo "| $version on $suite, watch list | entries | init | check |"
echo "|---|---|---|---|"
measure "role defaults (production)" default.rules
measure "Molecule scenario (scoped)" scoped.rules
echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(. /etc/os-release; echo "$PRETTY_NAME"), podman $(podman --version | awk '{print $3}')"
