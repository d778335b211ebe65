#!/bin/sh
# Change a gocryptfs passphrase without re-encrypting (gocryptfs -passwd).
# Usage: gocryptfs-passwd.sh GOCRYPTFS CIPHERDIR NEW_PASSFILE RUNTIME_DIR
# The old passphrase comes in $EPHI_PREVIOUS_PASSPHRASE (never in argv).
# gocryptfs 2.3 reads the old and the new passphrase from the same -extpass
# source, 2.5 reads the new one from stdin: a one-shot helper that prints the
# old one first and the new one afterwards serves both, and stdin gets the new.
# Exit 0: changed; 3: the old passphrase does not open it (already changed).
set -eu
gocryptfs=$1 cipher=$2 newfile=$3 rundir=$4
umask 077
work=$(mktemp -d "$rundir/passwd.XXXXXX")
trap 'rm -rf "$work"' EXIT
printf '%s' "$EPHI_PREVIOUS_PASSPHRASE" > "$work/old"
unset EPHI_PREVIOUS_PASSPHRASE
cat > "$work/pw" <<HELPER
#!/bin/sh
if [ -e "$work/served" ]; then cat "$newfile"; else : > "$work/served"; cat "$work/old"; fi
HELPER
chmod 0700 "$work/pw"
rc=0
"$gocryptfs" -q -passwd -extpass "$work/pw" "$cipher" < "$newfile" >/dev/null 2>"$work/err" || rc=$?
case $rc in
  0) exit 0 ;;
  12) exit 3 ;;
  *) echo "gocryptfs -passwd failed (exit $rc): $(cat "$work/err")" >&2; exit 1 ;;
esac
