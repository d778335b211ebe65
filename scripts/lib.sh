# shellcheck shell=bash
# Shared set-up for the README's two commands (scripts/main.sh, scripts/test.sh).
# Sourced, not run. Everything here is idempotent: a second call is cheap.

EPHI_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export EPHI_ROOT
# root (CI, the lab) caches system-wide; anyone else in their own cache dir.
if [ "$(id -u)" = 0 ]; then
  export EPHI_CACHE_DIR=${EPHI_CACHE_DIR:-/var/cache/ephi-safeguards}
else
  export EPHI_CACHE_DIR=${EPHI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ephi-safeguards}
fi
EPHI_HOST_PACKAGES=(podman runc debootstrap fuse3 uidmap openssh-client git rsync tmux python3-venv)

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

ephi_require_host() {
  [ "$(id -u)" = 0 ] || die "run as root: the lab needs apt packages and rootful podman (try: sudo $0; the test stages lint build sanity units roles compat need no root)"
  command -v apt-get >/dev/null && command -v dpkg-query >/dev/null \
    || die "this needs a Debian/apt host (Debian 12 or 13); no apt-get found"
  [ -r /etc/debian_version ] || die "this needs a Debian host; /etc/debian_version is missing"
}

# Installs the Debian packages named after WHAT (a label for the message) that
# are missing; apt-get update only when something is.
ephi_apt_install() {
  local what=$1 missing=() p
  shift
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  say "installing $what: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
}

ephi_install_host_packages() { ephi_apt_install "host packages" "${EPHI_HOST_PACKAGES[@]}"; }

# The host set-up the lab needs (root, apt packages, podman): the main job and
# the test stages that start containers. Everything else runs as any user.
ephi_host_setup() {
  ephi_require_host
  ephi_install_host_packages
  ephi_configure_podman
}

# What the stages without containers need, checked rather than installed:
# python3 with venv/ensurepip (a virtualenv) and git (the file list). root
# gets python3-venv installed; anyone else is told which package to ask for.
ephi_require_dev_tools() {
  command -v python3 >/dev/null || die "python3 is missing: install the Debian package python3"
  command -v git >/dev/null || die "git is missing: install the Debian package git"
  if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && ephi_apt_install "Python virtualenv support" python3-venv && return 0
    die "python3 cannot create a virtualenv: ask an administrator to install the Debian package python3-venv (apt-get install python3-venv)"
  fi
}

# Headless Chromium renders the HTML evidence report in the report tests. Only
# that stage needs it, so it is installed there, and only when it is missing.
ephi_install_report_packages() { ephi_apt_install "report test packages" chromium fonts-dejavu-core; }

# podman on these kernels needs runc (crun fails on hybrid cgroups) and default
# ulimits below the hard limit. We add a drop-in of our own and never edit a
# containers.conf someone else wrote.
ephi_configure_podman() {
  local dropin=/etc/containers/containers.conf.d/50-ephi-safeguards-lab.conf
  # podman's own defaults for root (nofile 1048576, nproc 4194304) exceed the
  # hard limits here, and runc then fails with "error setting rlimits".
  local nofile nproc want
  nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
  [ "$nofile" = unlimited ] || [ "$nofile" -gt 10240 ] && nofile=10240
  [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
  want=$(printf '# Written by ephi.safeguards scripts/lib.sh for the local lab.\n[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n\n[engine]\nruntime = "runc"\n' "$nofile" "$nofile" "$nproc" "$nproc")
  if [ ! -f "$dropin" ] || [ "$(cat "$dropin")" != "$want" ]; then
    mkdir -p "$(dirname "$dropin")"
    printf '%s\n' "$want" > "$dropin"
  fi
  if [ -f /etc/containers/containers.conf ] && grep -qE '^\s*runtime\s*=\s*"crun"' /etc/containers/containers.conf; then
    echo "NOTE: /etc/containers/containers.conf selects crun; our drop-in $dropin overrides it with runc" >&2
  fi
}

# A probe container proves podman can run systemd before anything else starts.
ephi_check_podman() {
  local image=$1 name=ephi-lab-probe-$$ out
  if ! out=$(podman run --rm --name "$name" --label ephi.safeguards.lab=probe --systemd=always \
      "$image" /bin/true 2>&1); then
    printf 'ERROR: podman could not start a container:\n  podman run --rm --systemd=always %s /bin/true\n%s\n' "$image" "$out" >&2
    cat >&2 <<'HINT'
Likely fixes: install runc and make it the runtime (this script's drop-in in
/etc/containers/containers.conf.d/ does that), lower default_ulimits below
`ulimit -Hn`, or run `podman system reset` if storage is from another version.
HINT
    exit 1
  fi
}

# Python tools in a cached virtualenv keyed by the requirements file.
ephi_venv() {
  local req="$EPHI_ROOT/tests/requirements.txt" key venv
  key=$( (python3 --version; cat "$req") | sha256sum | cut -c1-12)
  venv="$EPHI_CACHE_DIR/venv-$key"
  ephi_lock venv
  if [ ! -x "$venv/bin/ansible-playbook" ] || [ ! -f "$venv/.complete" ]; then
    say "creating Python virtualenv $venv (cached for later runs)"
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed (is python3-venv installed?)"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >"$venv.pip.log" 2>&1 \
      || { tail -n 30 "$venv.pip.log" >&2; die "pip install -r $req failed (log: $venv.pip.log)"; }
    touch "$venv/.complete"
  fi
  ephi_unlock
  export PATH="$venv/bin:$PATH" VIRTUAL_ENV="$venv"
}

# Two runs on one machine (a developer's and CI's, or two terminals) must not
# build the same virtualenv or image at once: one waits for the other.
ephi_lock() {
  mkdir -p "$EPHI_CACHE_DIR"
  exec 9>"$EPHI_CACHE_DIR/.lock-$1"
  flock 9
}
ephi_unlock() { flock -u 9; exec 9>&-; }

ephi_images() {
  ephi_lock images
  "$EPHI_ROOT/lab/build-image.sh" bookworm
  "$EPHI_ROOT/lab/build-image.sh" trixie
  ephi_unlock
}

# The SSH key the lab's admin account is reached with (never a production key).
ephi_lab_key() {
  export EPHI_LAB_KEY="$EPHI_CACHE_DIR/lab/id_ed25519"
  if [ ! -f "$EPHI_LAB_KEY" ]; then
    mkdir -p "$(dirname "$EPHI_LAB_KEY")"
    ssh-keygen -q -t ed25519 -N '' -C ephi-lab -f "$EPHI_LAB_KEY"
  fi
  chmod 0600 "$EPHI_LAB_KEY"
}

# ansible-test and FQCN resolution need the tree at ansible_collections/ephi/safeguards.
# The link lives in this checkout's own (git-ignored) .cache, so that two
# checkouts on one machine never test each other's tree.
ephi_collection_path() {
  export EPHI_COLLECTIONS="$EPHI_ROOT/.cache/collections"
  mkdir -p "$EPHI_COLLECTIONS/ansible_collections/ephi"
  ln -sfn "$EPHI_ROOT" "$EPHI_COLLECTIONS/ansible_collections/ephi/safeguards"
  export ANSIBLE_COLLECTIONS_PATH="$EPHI_COLLECTIONS"
}

# A benchmark host: a container of a lab image reached over SSH like a fleet
# host, and a private Ansible set-up for it in DIR (a collection path to this
# tree, since the shared link in $EPHI_CACHE_DIR may point at another checkout
# while other jobs run; ansible.cfg with pipelining; DIR/inventory.yml).
#   ephi_bench_host DIR NAME PORT SUITE [extra podman run options...]
ephi_bench_host() {
  local dir=$1 name=$2 port=$3 suite=$4
  shift 4
  podman run -d --name "$name" --label ephi.safeguards.lab=bench --systemd=always -p "127.0.0.1:$port:22" "$@" \
    -v "$EPHI_LAB_KEY.pub:/home/ephi-admin/.ssh/authorized_keys:ro" "localhost/ephi-lab:$suite" /sbin/init >/dev/null
  mkdir -p "$dir/collections/ansible_collections/ephi"
  ln -sfn "$EPHI_ROOT" "$dir/collections/ansible_collections/ephi/safeguards"
  export ANSIBLE_COLLECTIONS_PATH=$dir/collections ANSIBLE_CONFIG=$dir/ansible.cfg
  printf '[defaults]\ninterpreter_python = auto_silent\n[ssh_connection]\npipelining = true\n' > "$ANSIBLE_CONFIG"
  cat > "$dir/inventory.yml" <<INV
all: {hosts: {$name: {ansible_connection: ssh, ansible_host: 127.0.0.1, ansible_port: $port, ansible_user: ephi-admin,
  ansible_become: true, ansible_python_interpreter: /usr/bin/python3, ansible_ssh_private_key_file: $EPHI_LAB_KEY,
  ansible_ssh_use_tty: false,
  ansible_ssh_common_args: "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"}}}
INV
}

ephi_setup() {
  ephi_host_setup
  ephi_venv
  ephi_images
  ephi_check_podman localhost/ephi-lab:bookworm
  ephi_lab_key
  ephi_collection_path
}
