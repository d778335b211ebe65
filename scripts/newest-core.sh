#!/usr/bin/env bash
# The newest ansible-core, end to end (the `newest` stage of scripts/test.sh).
#
# ansible-core 2.20 and later need Python >= 3.12 on the controller, which
# Debian 12 lacks. So the controller runs in a container of the Debian 13 lab
# image (with python3-venv added) on the host network, with this checkout and
# $EPHI_CACHE_DIR bind-mounted at their own paths. For each core in
# EPHI_NEWEST_CORES it runs, in that controller:
#   sanity  ansible-test sanity --venv (shellcheck skipped, as in scripts/test.sh)
#   units   ansible-test units --venv
#   roles   pytest tests/roles, the valid inputs and the role docs (as stage
#           compat; the bad-input cases run on the tested core, stage roles)
#   lab     playbooks/site.yml then playbooks/verify.yml over SSH against two
#           lab hosts (Debian 12 and 13) of its own: containers ephi-newest-N,
#           label ephi.safeguards.lab=newest, ports 22271+ (never the main
#           lab's ephi-lab-N/22301+ nor Molecule's 22212/22213). The first core
#           converges them fresh; the next ones apply site.yml again, which
#           must change nothing, and verify them.
# and fails when the roles tests or the lab runs print a deprecation warning.
# The controller venv (per core) and ansible-test's own venvs (in a HOME per
# core) are cached under $EPHI_CACHE_DIR/newest, so a warm run installs nothing.
#
#   bash scripts/newest-core.sh            (as root; scripts/test.sh newest)
#   EPHI_NEWEST_CORES=2.21.5:14.5.0 EPHI_NEWEST_PARTS="units lab" bash scripts/newest-core.sh
set -euo pipefail

# CORE:ANSIBLE pairs: the latest patch release of each of the two newest
# ansible-core minor versions on PyPI, with the ansible package of that core
# (it brings ansible.posix, whose json callback the role tests read through
# ansible.builtin.json's redirect). Pinned, as tests/requirements.txt pins 2.19,
# so that a run is repeatable and its cached venv is reused. Raise them
# together with the comment in meta/runtime.yml.
EPHI_NEWEST_CORES=${EPHI_NEWEST_CORES:-2.21.5:14.5.0 2.20.10:13.8.0}
EPHI_NEWEST_PARTS=${EPHI_NEWEST_PARTS:-sanity units roles lab}
newest_controller_image=localhost/ephi-newest-controller:trixie
newest_lab_ports=22270   # hosts N=1,2 -> 127.0.0.1:22271, 22272

# --- inside the controller container -------------------------------------

# newest_part NAME COMMAND...: runs one part with its output in a log, and
# says how long it took.
newest_part() {
  local name=$1 start=$SECONDS rc=0
  shift
  echo "--- ansible-core $NEWEST_CORE: $name"
  "$@" 2>&1 | tee "$NEWEST_LOGS/$name.log" || rc=$?
  echo "--- ansible-core $NEWEST_CORE: $name $([ "$rc" = 0 ] && echo passed || echo FAILED) in $((SECONDS - start))s"
  return "$rc"
}

# Fails when a part printed a deprecation warning (the ones we own: from the
# role tests and the lab runs, which use the collection as a user would).
# Other warnings are listed (once each) but do not fail the part.
newest_no_deprecations() {
  local name=$1
  grep -o '\[WARNING\]: .*' "$NEWEST_LOGS/$name.log" | sort | uniq -c | sed "s/^/--- $name warning: /" || true
  if grep -n 'DEPRECATION WARNING' "$NEWEST_LOGS/$name.log" >&2; then
    echo "ERROR: ansible-core $NEWEST_CORE printed deprecation warnings in $name (above); fix them" >&2
    return 1
  fi
}

newest_ansible_test() {
  local pip_version cache
  # ansible-test bootstraps pip in its venvs with a downloaded get-pip.py; the
  # offline stand-in goes where it caches that download (as in scripts/test.sh).
  pip_version=$(python3 -c 'import ansible_test._internal.python_requirements as r, inspect, re
print(re.search(r"pip=.([0-9.]+).", inspect.getsource(r)).group(1))')
  cache=$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py
  if ! cmp -s "$EPHI_ROOT/scripts/get_pip_offline.py" "$cache"; then
    mkdir -p "$(dirname "$cache")"
    cp "$EPHI_ROOT/scripts/get_pip_offline.py" "$cache"
  fi
  ansible-test "$@" --venv --python "$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')" --requirements
}

# (Runs where `set -e` does not hold: every step checks its own status.) The
# cores after the first find the hosts converged, and must change nothing.
newest_lab() {
  local inventory=$NEWEST_WORK/inventory/hosts.yml
  ansible -i "$inventory" all -m ansible.builtin.wait_for_connection -a timeout=120 >/dev/null || return 1
  ansible-playbook -i "$inventory" playbooks/site.yml | tee "$NEWEST_LOGS/site.log" || return 1
  if [ -n "${NEWEST_LATER:-}" ] && grep -E '^[^ ]+ +: ok=[0-9]+ +changed=[1-9]' "$NEWEST_LOGS/site.log"; then
    echo "ERROR: site.yml with ansible-core $NEWEST_CORE changed hosts that an earlier core had converged" >&2
    return 1
  fi
  ansible-playbook -i "$inventory" playbooks/verify.yml -e ephi_report_dir="$NEWEST_WORK/reports-$NEWEST_CORE"
}

# Runs in the controller container: the venv for one core, then the parts.
newest_controller() {
  export NEWEST_CORE=${1%%:*}
  local ansible_version=${1#*:} base=$EPHI_CACHE_DIR/newest pins venv part failed=0 start
  pins="ansible-core==$NEWEST_CORE ansible==$ansible_version $(grep -E '^pytest==' "$EPHI_ROOT/tests/requirements.txt")"
  venv=$base/venv-core-$NEWEST_CORE-py$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  if [ ! -f "$venv/.complete" ] || [ "$(cat "$venv/.complete")" != "$pins" ]; then
    echo "--- creating $venv: $pins (cached for later runs)"
    start=$SECONDS
    rm -rf "$venv"
    python3 -m venv "$venv"
    # shellcheck disable=SC2086 # the pins are words
    "$venv/bin/pip" install -q --disable-pip-version-check $pins >"$venv.pip.log" 2>&1 \
      || { tail -n 30 "$venv.pip.log" >&2; echo "ERROR: pip install $pins failed" >&2; return 1; }
    echo "$pins" > "$venv/.complete"
    echo "--- venv created in $((SECONDS - start))s"
  fi
  # ansible-test keeps its venvs under ~/.ansible/test: a HOME per core, cached.
  export PATH="$venv/bin:$PATH" VIRTUAL_ENV="$venv" HOME=$base/home-$NEWEST_CORE
  export ANSIBLE_COLLECTIONS_PATH=$NEWEST_WORK/layout ANSIBLE_CONFIG=$NEWEST_WORK/ansible.cfg
  export ANSIBLE_FORCE_COLOR=false PY_COLORS=0 ANSIBLE_SSH_CONTROL_PATH_DIR=/tmp/ansible-cp
  NEWEST_LOGS=$NEWEST_WORK/logs-$NEWEST_CORE
  mkdir -p "$HOME" "$NEWEST_LOGS"
  cd "$NEWEST_WORK/layout/ansible_collections/ephi/safeguards"
  ansible --version | head -n 1
  for part in $EPHI_NEWEST_PARTS; do
    case "$part" in
      sanity) newest_part sanity newest_ansible_test sanity --skip-test shellcheck || failed=1 ;;
      units) newest_part units newest_ansible_test units || failed=1 ;;
      # The valid inputs and the role docs, as the compat stage does: the
      # bad-input cases (the roles' own checks) ran on the tested core in the
      # roles stage (CI budget: the full set costs about 2.5 minutes a core).
      roles) { newest_part roles pytest -q -p no:cacheprovider tests/roles -k "good_values or role_docs" \
                 && newest_no_deprecations roles; } || failed=1 ;;
      lab) { newest_part lab newest_lab && newest_no_deprecations lab; } || failed=1 ;;
      *) echo "ERROR: unknown part '$part' (sanity units roles lab)" >&2; return 2 ;;
    esac
    [ "$failed" = 0 ] || break
  done
  return "$failed"
}

# --- on the host ---------------------------------------------------------

# The controller image: the Debian 13 lab image plus python3-venv and git
# (ansible-test needs git), rebuilt when the lab image or the package list
# changes (a hash of both is its label ephi.newest.recipe).
newest_controller_image() {
  local packages="python3-venv git" recipe name=ephi-newest-build-$$
  recipe=$( (podman image inspect --format '{{ .Id }}' localhost/ephi-lab:trixie; echo "$packages") | sha256sum | cut -c1-16)
  if [ "$(podman image inspect --format '{{ index .Labels "ephi.newest.recipe" }}' "$newest_controller_image" 2>/dev/null)" = "$recipe" ]; then
    return 0
  fi
  say "building $newest_controller_image (Debian 13 lab image + python3-venv, git)"
  podman rm -f "$name" >/dev/null 2>&1 || true
  podman run --name "$name" --label ephi.safeguards.lab=newest --network host localhost/ephi-lab:trixie /bin/sh -euc "
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o APT::Sandbox::User=root update -qq
    apt-get install -y -qq --no-install-recommends $packages >/dev/null
    apt-get clean" || { podman rm -f "$name" >/dev/null 2>&1; die "could not build $newest_controller_image"; }
  podman commit --quiet --change "LABEL ephi.newest.recipe=$recipe" --change 'CMD ["/bin/bash"]' \
    "$name" "$newest_controller_image" >/dev/null
  podman rm -f "$name" >/dev/null
}

newest_lab_env() {
  export EPHI_LAB_NAME=ephi-newest EPHI_LAB_LABEL=newest EPHI_LAB_HOSTS="bookworm trixie" EPHI_LAB_LOG_HOST= \
    EPHI_LAB_PORT_BASE=$newest_lab_ports EPHI_LAB_INVENTORY=$NEWEST_WORK/inventory/hosts.yml
}

newest_lab_down() { (newest_lab_env && "$EPHI_ROOT/lab/lab.sh" down >/dev/null) || true; }

# Fresh lab hosts for one core, with the lab's group_vars beside the inventory.
newest_lab_up() {
  newest_lab_down
  rm -rf "$NEWEST_WORK/inventory"
  mkdir -p "$NEWEST_WORK/inventory"
  ln -s "$EPHI_ROOT/lab/inventory/group_vars" "$NEWEST_WORK/inventory/group_vars"
  (newest_lab_env && "$EPHI_ROOT/lab/lab.sh" up)
}

newest_main() {
  source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
  ephi_require_host
  ephi_configure_podman
  # EPHI_NEWEST_IMAGES=keep uses the lab images as they are (a developer
  # iterating while lab/build-image.sh changes); CI builds or reuses them.
  [ "${EPHI_NEWEST_IMAGES:-}" = keep ] || ephi_images
  ephi_lab_key
  # One newest run at a time on this machine: the lab names and ports are fixed.
  ephi_lock newest
  # The work tree (inventory, layout copy, logs, reports) lies outside this
  # checkout: ansible-test inside a git work tree would list only git's files.
  NEWEST_WORK=$(mktemp -d /tmp/ephi-newest.XXXXXX)
  export NEWEST_WORK
  trap 'newest_lab_down; rm -rf "$NEWEST_WORK"' EXIT
  newest_controller_image
  # ansible-test needs the tree at ansible_collections/ephi/safeguards: a copy
  # of the tracked and new files, as scripts/test.sh's layout() makes.
  local dest=$NEWEST_WORK/layout/ansible_collections/ephi/safeguards core summary=() start rc=0
  mkdir -p "$dest"
  (cd "$EPHI_ROOT" && git ls-files -co --exclude-standard -z \
    | while IFS= read -r -d '' f; do if [ -e "$f" ]; then printf '%s\0' "$f"; fi; done \
    | tar --null -T - -cf - | tar -xf - -C "$dest")
  # The playbooks' settings without the main lab's callback plugin (from
  # ansible.posix, which a bare ansible-core lacks) and with ansible-core's
  # default fact injection, so that a top-level fact variable would warn.
  printf '[defaults]\ninterpreter_python = auto_silent\nretry_files_enabled = false\n[ssh_connection]\npipelining = true\nssh_args = -o ControlMaster=auto -o ControlPersist=300s\n' \
    > "$NEWEST_WORK/ansible.cfg"
  # pip in the controller trusts what the host trusts (a site's own CA).
  local ca=()
  [ ! -f /etc/ssl/certs/ca-certificates.crt ] || ca=(-v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro)
  # One pair of fresh lab hosts: the newest core converges them from scratch,
  # the next core applies site.yml again (the converged path) and verifies.
  case " $EPHI_NEWEST_PARTS " in *" lab "*) newest_lab_up ;; esac
  local later=
  for core in $EPHI_NEWEST_CORES; do
    say "ansible-core ${core%%:*} (ansible ${core#*:}) in a Debian 13 controller: $EPHI_NEWEST_PARTS"
    start=$SECONDS
    rc=0
    podman run --rm --name "ephi-newest-controller-$$" --label ephi.safeguards.lab=newest --network host \
      -v "$EPHI_ROOT:$EPHI_ROOT:ro" -v "$EPHI_CACHE_DIR:$EPHI_CACHE_DIR" -v "$NEWEST_WORK:$NEWEST_WORK" \
      "${ca[@]}" \
      -e EPHI_ROOT="$EPHI_ROOT" -e EPHI_CACHE_DIR="$EPHI_CACHE_DIR" -e EPHI_LAB_KEY="$EPHI_LAB_KEY" \
      -e NEWEST_WORK="$NEWEST_WORK" -e EPHI_NEWEST_PARTS="$EPHI_NEWEST_PARTS" -e NEWEST_LATER="$later" \
      "$newest_controller_image" bash "$EPHI_ROOT/scripts/newest-core.sh" controller "$core" || rc=$?
    summary+=("$([ "$rc" = 0 ] && echo PASS || echo FAIL) ansible-core ${core%%:*} $((SECONDS - start))s")
    [ "$rc" = 0 ] || break
    later=yes
  done
  say "newest ansible-core"
  printf '  %s\n' "${summary[@]}"
  [ "$rc" = 0 ]
}

case "${1:-}" in
  controller) shift; newest_controller "$@" ;;
  "") newest_main ;;
  *) echo "usage: $0    (or: $0 controller CORE, inside the controller container)" >&2; exit 2 ;;
esac
