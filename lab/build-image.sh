#!/usr/bin/env bash
# Build (or reuse) a systemd-enabled Debian base image for the lab and Molecule.
#
#   lab/build-image.sh SUITE     # SUITE: bookworm | trixie
#
# The image is built with debootstrap and imported with `podman import`; no
# registry is needed. It is tagged localhost/ephi-lab:SUITE and labelled with
# a hash of this recipe: it is rebuilt only when missing or when the recipe
# changes. Debootstrap's package downloads are cached under $EPHI_CACHE_DIR.
# Packages come from the Debian mirror this host's apt sources use
# (EPHI_DEBIAN_MIRROR and EPHI_DEBIAN_SECURITY_MIRROR override it).
set -euo pipefail

suite=${1:?usage: $0 bookworm|trixie}
case "$suite" in bookworm|trixie) ;; *) echo "ERROR: unsupported suite '$suite' (bookworm or trixie)" >&2; exit 2 ;; esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${EPHI_CACHE_DIR:-/var/cache/ephi-safeguards}

# The first Debian archive (and security archive) this host's own apt sources
# name, in apt's reading order: sources.list, then sources.list.d/*.list
# (one-line) and *.sources (deb822), skipping comments, deb-src, disabled
# entries and non-Debian suites; a mirror+file: list gives its first URL.
# Prints "MAIN|SECURITY" (either may be empty).
host_debian_mirrors() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*; do
    [ -f "$f" ] || continue
    case "$f" in
      */sources.list|*.list) awk '$1 == "deb" { sub(/^deb[ \t]+(\[[^]]*\][ \t]+)?/, ""); print $1, $2 }' "$f" ;;
      *.sources) awk -v RS= '
        { types = ""; uris = ""; suites = ""; enabled = "yes"; key = ""
          n = split($0, line, "\n")
          for (i = 1; i <= n; i++) {
            if (line[i] ~ /^#/) continue
            if (match(line[i], /^[A-Za-z-]+:/)) {
              key = tolower(substr(line[i], 1, RLENGTH - 1)); val = substr(line[i], RLENGTH + 1)
            } else if (line[i] ~ /^[ \t]/) { val = line[i] } else continue
            if (key == "types") types = types " " val
            else if (key == "uris") uris = uris " " val
            else if (key == "suites") suites = suites " " val
            else if (key == "enabled") enabled = tolower(val)
          }
          gsub(/[ \t]/, "", enabled)
          if (enabled == "no" || (types " ") !~ /[ \t]deb[ \t]/) next
          nu = split(uris, u, /[ \t]+/); ns = split(suites, s, /[ \t]+/)
          for (j = 1; j <= ns; j++) for (k = 1; k <= nu; k++) if (s[j] != "" && u[k] != "") print u[k], s[j]
        }' "$f" ;;
    esac
  done | awk '
    BEGIN { split("jessie stretch buster bullseye bookworm trixie forky duke sid oldoldstable oldstable stable testing unstable", c, " ")
            for (i in c) debian[c[i]] = 1 }
    { uri = $1; suite = $2; base = suite; sub(/[-\/].*/, "", base)
      if (!(base in debian)) next
      if (uri ~ /^mirror\+file:\/\//) {
        list = substr(uri, 15); uri = ""
        while ((getline l < list) > 0) if (l ~ /^https?:\/\//) { split(l, w, /[ \t]/); uri = w[1]; break }
        close(list)
      }
      if (uri !~ /^https?:\/\//) next
      sub(/\/+$/, "", uri)
      if (suite ~ /-security$|\/updates$/) { if (sec == "") sec = uri }
      else if (main == "") main = uri }
    END { printf "%s|%s\n", main, sec }'
}

IFS='|' read -r host_mirror host_security < <(host_debian_mirrors)
mirror=${EPHI_DEBIAN_MIRROR:-$host_mirror}
[ -n "$mirror" ] || {
  echo "ERROR: no Debian mirror found in this host's apt sources (/etc/apt/sources.list, /etc/apt/sources.list.d/); set EPHI_DEBIAN_MIRROR=<URL of a Debian archive>" >&2
  exit 2
}
security_mirror=${EPHI_DEBIAN_SECURITY_MIRROR:-${host_security:-$mirror-security}}
image="localhost/ephi-lab:${suite}"
# Packages every lab host needs: systemd as PID 1, python3 (+apt bindings) for
# Ansible, sshd so the lab is reached the way a fleet is (SSH), sudo, and
# libpam-systemd with a running systemd-logind as on a standard install (the
# tmux role's idle logoff of console and su logins is logind's).
packages=systemd,systemd-sysv,dbus,libpam-systemd,python3,python3-apt,openssh-server,sudo,procps,iproute2,ca-certificates,less
recipe=$(printf '%s\n' "$suite" "$mirror" "$security_mirror" "$packages" | cat - "$0" | sha256sum | cut -c1-16)

if [ "$(podman image inspect --format '{{ index .Labels "ephi.recipe" }}' "$image" 2>/dev/null)" = "$recipe" ]; then
  echo "lab image $image is up to date (recipe $recipe)"
  exit 0
fi

echo "building lab image $image (recipe $recipe); this takes a few minutes once"
mkdir -p "$cache/debootstrap-$suite"
root=$(mktemp -d "$cache/rootfs-$suite.XXXXXX")
trap 'rm -rf --one-file-system "$root"' EXIT

debootstrap --variant=minbase --include="$packages" \
  --cache-dir="$cache/debootstrap-$suite" "$suite" "$root" "$mirror" >"$cache/debootstrap-$suite.log" 2>&1 || {
  echo "ERROR: debootstrap $suite failed; last lines of $cache/debootstrap-$suite.log:" >&2
  tail -n 20 "$cache/debootstrap-$suite.log" >&2
  exit 1
}

# Container-friendly systemd: no gettys, no hostname/udev work, a fresh
# machine-id per container, sshd host keys generated on first boot.
chroot "$root" /bin/sh -eu <<'CHROOT'
for unit in getty.target systemd-udevd.service systemd-udev-trigger.service \
            systemd-remount-fs.service sys-kernel-debug.mount dev-hugepages.mount \
            console-getty.service; do
  ln -sf /dev/null "/etc/systemd/system/$unit"
done
: > /etc/machine-id
rm -f /etc/ssh/ssh_host_*
mkdir -p /etc/systemd/system/ssh.service.d
cat > /etc/systemd/system/ssh.service.d/10-lab-hostkeys.conf <<'UNIT'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
UNIT
echo 'APT::Install-Recommends "false";' > /etc/apt/apt.conf.d/90-lab-no-recommends
# The account Ansible connects as (a fleet's admin account, not root): its
# public key is bind-mounted at container start, so the image holds no key.
useradd --create-home --shell /bin/bash --comment 'ephi.safeguards lab admin' ephi-admin
usermod -p '*' ephi-admin
install -d -m 0700 -o ephi-admin -g ephi-admin /home/ephi-admin/.ssh
echo 'ephi-admin ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/ephi-admin
chmod 0440 /etc/sudoers.d/ephi-admin
CHROOT
# Package lists stay in the image so that a check-mode run on a fresh
# container can resolve packages, as on any real host.
printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
  "$mirror" "$suite" "$mirror" "$suite" "$security_mirror" "$suite" > "$root/etc/apt/sources.list"
rm -f "$root/etc/apt/sources.list.d/"* 2>/dev/null || true
cp /etc/resolv.conf "$root/etc/resolv.conf"
chroot "$root" /bin/sh -euc 'apt-get -o APT::Sandbox::User=root update -qq && apt-get clean && rm -rf /var/log/*.log /tmp/*' \
  || { echo "ERROR: apt-get update inside the $suite image failed" >&2; exit 1; }

tar -C "$root" --numeric-owner -c . | podman import --quiet \
  --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' \
  --change "LABEL ephi.recipe=$recipe" --change 'LABEL ephi.safeguards.lab=true' \
  - "$image" >/dev/null
echo "built $image"
