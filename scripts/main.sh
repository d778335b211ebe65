#!/usr/bin/env bash
# The main job: set up this machine, start the lab (podman containers of
# Debian 12 and 13, and a log host), apply playbooks/site.yml to it, then
# verify it and print the evidence and where the auditors find the sessions. Run as root on a Debian host: bash scripts/main.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ephi_setup
cd "$EPHI_ROOT"
export ANSIBLE_CONFIG="$EPHI_ROOT/lab/ansible.cfg"

say "starting the lab"
lab/lab.sh up
inventory=lab/inventory/hosts.yml
# Freshly started containers take a few seconds to bring sshd up.
ansible -i "$inventory" all -m ansible.builtin.wait_for_connection -a timeout=120 >/dev/null

say "ansible-playbook playbooks/site.yml (apply)"
ansible-playbook -i "$inventory" playbooks/site.yml

say "ansible-playbook playbooks/verify.yml (read-only evidence)"
ansible-playbook -i "$inventory" playbooks/verify.yml -e ephi_report_dir="$EPHI_ROOT/ephi-reports"
say "evidence reports"
printf '  %s\n' "$EPHI_ROOT"/ephi-reports/evidence.{json,html,junit.xml}
log_host=${EPHI_LAB_NAME:-ephi-lab}-log
if podman container exists "$log_host"; then
  # The audit trail (docs/audit-trail.md): every lab host ships its recordings
  # and events to the log host; an auditor finds them there with ephi-audit.
  say "the audit trail: the fleet's sessions on the log host $log_host"
  echo "  recordings: $log_host:/var/log/ephi/fleet/<host>/<user>/*.cast (in its encrypted directory)"
  echo "  events:     $log_host:/var/log/ephi/fleet/<host>/events.log"
  echo "  auditors:   sudo ephi-audit --fleet list|show|replay|export|search  (members of ephi-auditors)"
  echo "  the latest, as root on the log host (podman exec $log_host ephi-audit --fleet list --since 1h):"
  podman exec "$log_host" /usr/local/sbin/ephi-audit --fleet list --since 1h | tail -n 12
fi
lab/lab.sh status
echo "The lab keeps running for inspection; remove it with: lab/lab.sh down"
