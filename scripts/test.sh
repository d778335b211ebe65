#!/usr/bin/env bash
# The test suite, staged cheap to dear: lint (seconds), collection build and
# docs, ansible-test sanity and units, role input tests, the evidence report
# in headless Chromium, then every Molecule scenario on Debian 12 and 13
# (minutes).
#   bash scripts/test.sh              everything (what CI runs; as root on Debian)
#   bash scripts/test.sh lint units   only some stages
#   EPHI_SCENARIOS="tmux" bash scripts/test.sh molecule
# Only the stages in host_stages need root and the host set-up (apt packages,
# podman); the others run as any user with python3-venv and git.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$EPHI_ROOT"
export ANSIBLE_FORCE_COLOR=false PY_COLORS=0

stages=("$@")
((${#stages[@]})) || stages=(lint build sanity units roles report compat newest molecule)
host_stages=" report newest molecule "
needs_host=false
for stage in "${stages[@]}"; do
  case "$host_stages" in *" $stage "*) needs_host=true ;; esac
done
if $needs_host; then ephi_host_setup; else ephi_require_dev_tools; fi
ephi_venv
ephi_collection_path
passed=0 failed=0 results=()
tmp=$(mktemp -d /tmp/ephi-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# A copy of the tree at ansible_collections/ephi/safeguards, as ansible-test needs.
layout() {
  local dest=$tmp/layout/ansible_collections/ephi/safeguards
  if [ ! -d "$dest" ]; then
    mkdir -p "$dest"
    # tar, not rsync: nothing beyond git and coreutils. Files deleted but not
    # yet staged are skipped.
    git ls-files -co --exclude-standard -z \
      | while IFS= read -r -d '' f; do if [ -e "$f" ]; then printf '%s\0' "$f"; fi; done \
      | tar --null -T - -cf - | tar -xf - -C "$dest"
  fi
  echo "$dest"
}

stage_lint() {
  yamllint --strict .
  ansible-lint --offline
  antsibull-changelog lint
}

stage_build() {
  ansible-galaxy collection build --force --output-path "$tmp/dist" . >/dev/null
  ANSIBLE_COLLECTIONS_PATH="$tmp/installed" ansible-galaxy collection install --force -p "$tmp/installed" "$tmp"/dist/ephi-safeguards-*.tar.gz >/dev/null
  # The installed tarball resolves by FQCN: module docs, role, playbooks.
  local f
  for f in plugins/modules/*.py; do
    ANSIBLE_COLLECTIONS_PATH="$tmp/installed" ansible-doc "ephi.safeguards.$(basename "$f" .py)" >/dev/null
  done
  for f in plugins/filter/*.yml; do
    [ -e "$f" ] || continue
    ANSIBLE_COLLECTIONS_PATH="$tmp/installed" ansible-doc -t filter "ephi.safeguards.$(basename "$f" .yml)" >/dev/null
  done
  for f in plugins/test/*.yml; do
    [ -e "$f" ] || continue
    ANSIBLE_COLLECTIONS_PATH="$tmp/installed" ansible-doc -t test "ephi.safeguards.$(basename "$f" .yml)" >/dev/null
  done
  for f in roles/*/meta/argument_specs.yml; do
    ANSIBLE_COLLECTIONS_PATH="$tmp/installed" ansible-doc -t role "ephi.safeguards.$(basename "$(dirname "$(dirname "$f")")")" >/dev/null
  done
  ANSIBLE_COLLECTIONS_PATH="$tmp/installed" ansible-playbook --syntax-check -i localhost, ephi.safeguards.site >/dev/null
  ANSIBLE_COLLECTIONS_PATH="$tmp/installed" ansible-playbook --syntax-check -i localhost, ephi.safeguards.verify >/dev/null
  ANSIBLE_COLLECTIONS_PATH="$tmp/installed" ansible-playbook --syntax-check -i localhost, ephi.safeguards.pull >/dev/null
  # The example fleet inventory (docs/fleet.md) parses and the playbooks take it.
  ansible-inventory -i docs/examples/inventory --list >/dev/null
  ANSIBLE_COLLECTIONS_PATH="$tmp/installed" ansible-playbook --syntax-check -i docs/examples/inventory ephi.safeguards.site >/dev/null
  echo "collection tarball builds, installs and resolves by FQCN"
}

# ansible-test runs each test in a virtualenv of its own with its pinned
# requirements (--venv; there is no Docker engine). It bootstraps pip there
# with a get-pip.py downloaded from a host that is not reachable here, so the
# offline stand-in is put where ansible-test caches that download.
ansible_test() {
  local pip_version cache
  pip_version=$(python3 -c 'import ansible_test._internal.python_requirements as r, inspect, re
print(re.search(r"pip=.([0-9.]+).", inspect.getsource(r)).group(1))')
  cache=~/.ansible/test/cache/get_pip_${pip_version//./_}.py
  if ! cmp -s scripts/get_pip_offline.py "$cache"; then
    mkdir -p "$(dirname "$cache")"
    cp scripts/get_pip_offline.py "$cache"
  fi
  local py; py=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  (cd "$(layout)" && ansible-test "$@" --venv --python "$py" --requirements)
}

# shellcheck is skipped: it is not installed on the controller.
stage_sanity() { ansible_test sanity --skip-test shellcheck; }
stage_units() { ansible_test units; }

# The floor that meta/runtime.yml claims is tested too: sanity, units and the
# role tests again with the oldest ansible-core we support, in its own venv.
stage_compat() {
  local floor venv
  floor=$(sed -n 's/^requires_ansible: *">=\([0-9]*\.[0-9]*\).*/\1/p' meta/runtime.yml)
  [ -n "$floor" ] || die "cannot read the ansible-core floor from meta/runtime.yml"
  venv="$EPHI_CACHE_DIR/venv-core-$floor-ansible${EPHI_COMPAT_ANSIBLE:-9}"
  ephi_lock compat-venv
  if [ ! -f "$venv/.complete" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    # The ansible package of that core (9 for 2.16) brings ansible.posix,
    # whose json callback the role tests read (ansible.builtin.json is 2.19+).
    "$venv/bin/pip" install -q --disable-pip-version-check "ansible-core==$floor.*" "ansible==${EPHI_COMPAT_ANSIBLE:-9}.*" \
      pytest pyyaml >"$venv.pip.log" 2>&1 \
      || { tail -n 30 "$venv.pip.log" >&2; die "pip install ansible-core==$floor.* failed"; }
    touch "$venv/.complete"
  fi
  ephi_unlock
  (
    export PATH="$venv/bin:$PATH" VIRTUAL_ENV="$venv"
    echo "ansible-core $(ansible --version | sed -n 's/.*core \([0-9.]*\).*/\1/p')"
    ansible_test sanity --skip-test shellcheck
    ansible_test units
    # The controls only (each role's valid input passes its validation here);
    # the bad-input cases ran on the tested core in the roles stage.
    pytest -q -p no:cacheprovider tests/roles -k "good_values or role_docs"
  )
}

# The newest ansible-core (2.21, and 2.20) end to end, with the controller in a
# Debian 13 container: sanity, units, role tests, site.yml + verify.yml over SSH.
stage_newest() { bash scripts/newest-core.sh; }

stage_roles() {
  pytest -q -p no:cacheprovider tests/roles
}

# The evidence report: the Report play of verify.yml writes JSON, HTML and
# JUnit XML from a real evidence fixture; headless Chromium renders the HTML.
stage_report() {
  ephi_install_report_packages
  pytest -q -p no:cacheprovider tests/report
}

stage_molecule() {
  ephi_images
  ephi_check_podman localhost/ephi-lab:bookworm
  ephi_lab_key
  # SSH ports on loopback: Debian 12 and 13 default in .config/molecule/config.yml
  # (EPHI_MOLECULE_PORT_DEBIAN12/13), the site scenario's log host here.
  export EPHI_MOLECULE_PORT_LOGHOST=${EPHI_MOLECULE_PORT_LOGHOST:-22214}
  local scenarios=${EPHI_SCENARIOS:-$(for d in molecule/*/molecule.yml; do basename "$(dirname "$d")"; done)}
  local s
  for s in $scenarios; do
    say "molecule test -s $s (Debian 12 and 13)"
    molecule test -s "$s"
  done
}

for stage in "${stages[@]}"; do
  declare -F "stage_$stage" >/dev/null || die "unknown stage '$stage' (lint build sanity units roles report compat newest molecule)"
  say "stage: $stage"
  start=$SECONDS
  # A subshell outside any `if`, so that `set -e` holds inside the stage.
  set +e; ( set -e; "stage_$stage" ); rc=$?; set -e
  if [ "$rc" = 0 ]; then
    passed=$((passed + 1)); results+=("PASS $stage $((SECONDS - start))s")
  else
    failed=$((failed + 1)); results+=("FAIL $stage $((SECONDS - start))s")
    # Cheap stages gate the dear ones: stop at the first failure.
    break
  fi
done
say "summary"
printf '  %s\n' "${results[@]}"
echo "stages: $passed passed, $failed failed"
[ "$failed" = 0 ]
