#!/usr/bin/env bash
# The main job: set up this machine, start the lab (podman containers of
# Debian 12 and 13), apply playbooks/site.yml to it, then verify it and print
# the evidence. Run as root on a Debian host: bash scripts/main.sh
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
lab/lab.sh status
echo "The lab keeps running for inspection; remove it with: lab/lab.sh down"
