"""Side channels, the login banner and post-quantum key exchange (issue 13).

Logins are real, from inside the instance to its own sshd on 127.0.0.1:22
with root's client keys (prepare_tasks.yml): ephi-carol is a normal account,
ephi-olga is in ephi-forwarders, which the scenario opts in to tcp-local,
agent and x11 forwarding (group_vars/all.yml). Every refusal has the
opted-in account's success beside it, so a test that could not see
forwarding fails. ssh-audit runs on the controller against the published port.
"""

import json
import os
import shutil
import subprocess
import sys

from ephi_testlib import POLICY_DROPIN, SSH, run_converge, sh_quote

SSH_KEY = SSH + " -o ConnectTimeout=10 -o IdentitiesOnly=yes"
KEYS = {"ephi-carol": "id_ed25519", "ephi-olga": "id_olga"}
BANNER_FIRST_LINE = "WARNING: AUTHORIZED USE ONLY."

# Runs in the instance: connect to a -L port and through a -D (SOCKS5) port
# to sshd itself (127.0.0.1:22) and print what came back (sshd's version
# line when the tunnel carried data) as JSON.
_PROBE = r'''
import json, socket, sys
def read(sock):
    sock.settimeout(5)
    try:
        return sock.recv(64).decode("ascii", "replace")
    except OSError as exc:
        return "error: %s" % exc
out = {}
try:
    sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    out["L"] = read(sock)
except OSError as exc:
    out["L"] = "error: %s" % exc
try:
    sock = socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=5)
    sock.sendall(b"\x05\x01\x00")
    sock.settimeout(5)
    if sock.recv(2) != b"\x05\x00":
        out["D"] = "error: no SOCKS5 greeting"
    else:
        sock.sendall(b"\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x16")
        reply = sock.recv(10)
        out["D"] = read(sock) if reply[:2] == b"\x05\x00" else "error: SOCKS5 reply %r" % reply[:2]
except OSError as exc:
    out["D"] = "error: %s" % exc
print(json.dumps(out))
'''


def client(host, command):
    """Run shell COMMAND in the instance; (exit status, stdout, stderr). The
    status is echoed, so ssh's 255 never reaches testinfra (a lost connection there)."""
    out = host.run("%s; echo \"__rc=$?\"" % command)
    lines = out.stdout.rstrip("\n").split("\n")
    return int(lines[-1].split("=", 1)[1]), "\n".join(lines[:-1]), out.stderr


def ssh(user, options, command):
    return "%s %s -i /root/.ssh/%s %s@127.0.0.1 %s" % (SSH_KEY, options, KEYS[user], user, sh_quote(command))


def test_tcp_forwarding_l_and_d_refused_for_a_normal_account_and_work_for_the_opted_in_group(host):
    results = {}
    for number, user in enumerate(sorted(KEYS)):
        lport, dport = 47310 + 2 * number, 47311 + 2 * number
        marker = "%d:127.0.0.1:22" % lport
        # -f: into the background after authentication, the forwards set up.
        rc, dummy, err = client(host, ssh(user, "-f -N -L 127.0.0.1:%s -D 127.0.0.1:%d" % (marker, dport), ""))
        assert rc == 0, (user, err)
        try:
            results[user] = json.loads(host.check_output("python3 -c %s %d %d" % (sh_quote(_PROBE), lport, dport)))
        finally:
            # [-]: the pattern must not match the shell that runs pkill.
            client(host, "pkill -f -- '[-]L 127.0.0.1:%s'" % marker)
    assert results["ephi-olga"]["L"].startswith("SSH-2.0-"), results
    assert results["ephi-olga"]["D"].startswith("SSH-2.0-"), results
    assert not results["ephi-carol"]["L"].startswith("SSH-2.0-"), results
    assert not results["ephi-carol"]["D"].startswith("SSH-2.0-"), results


def test_remote_forwarding_is_refused_even_for_the_opted_in_group(host):
    # ephi-forwarders may forward locally only. Were -R allowed, ssh would run
    # the command and exit 0; refused, ExitOnForwardFailure makes it exit 255.
    for user in sorted(KEYS):
        rc, out, err = client(host, ssh(user, "-o ExitOnForwardFailure=yes -R 127.0.0.1:47320:127.0.0.1:22", "echo forwarded"))
        assert rc == 255 and "forwarded" not in out, (user, rc, out, err)
        assert "remote port forwarding failed" in err, (user, err)


def test_agent_and_x11_forwarding_refused_for_a_normal_account_and_work_for_the_opted_in_group(host):
    # One agent for both logins; DISPLAY set so that ssh -X asks for X11
    # forwarding (Debian's ssh_config trusts X11, so no X server is needed).
    found = {}
    for user in sorted(KEYS):
        command = ("export DISPLAY=:0; eval \"$(ssh-agent -s)\" >/dev/null; ssh-add -q /root/.ssh/%s; %s; "
                   "status=$?; ssh-agent -k >/dev/null; exit $status"
                   % (KEYS[user], ssh(user, "-A -X", 'echo "display=${DISPLAY:-none} agent=${SSH_AUTH_SOCK:-none}"')))
        rc, out, err = client(host, "sh -c %s" % sh_quote(command))
        assert rc == 0, (user, out, err)
        found[user] = dict(part.split("=", 1) for part in out.split() if "=" in part)
    assert found["ephi-olga"]["display"] != "none" and found["ephi-olga"]["agent"] != "none", found
    assert found["ephi-carol"] == {"display": "none", "agent": "none"}, found


def test_banner_is_shown_before_authentication(host):
    # No authentication at all: the server sends the banner, then refuses.
    rc, dummy, err = client(host, "%s -o PreferredAuthentications=none ephi-carol@127.0.0.1 true" % SSH)
    assert rc == 255 and "Permission denied" in err, err
    assert BANNER_FIRST_LINE in err, err
    assert host.file("/etc/issue").content_string.startswith(BANNER_FIRST_LINE)
    assert host.file("/etc/issue.net").content_string == host.file("/etc/issue").content_string


def test_a_client_offering_only_classical_key_exchange_is_refused(host):
    # "Record now, decrypt later": a client (or a man in the middle) that
    # offers only classical algorithms gets no session; the same client with
    # the hybrid both platforms have logs in, so the refusal is the policy's.
    rc, dummy, err = client(host, ssh("ephi-carol", "-o KexAlgorithms=curve25519-sha256,diffie-hellman-group16-sha512",
                                      "echo in"))
    assert rc == 255 and "no matching key exchange method" in err, (rc, err)
    rc, out, err = client(host, ssh("ephi-carol", "-o KexAlgorithms=sntrup761x25519-sha512@openssh.com", "echo in"))
    assert rc == 0 and out.strip().endswith("in"), (rc, out, err)


def test_ssh_audit_reports_no_failure_and_no_warning(host):
    tool = shutil.which("ssh-audit") or os.path.join(os.path.dirname(sys.executable), "ssh-audit")
    port = int(host.ansible.get_variables()["ansible_port"])
    # --skip-rate-test: the DHEat connection-rate probe is about throttling
    # (PerSourceMaxStartups/PerSourcePenalties), not algorithms, and
    # per-source throttling on 127.0.0.1 would throttle Ansible itself.
    proc = subprocess.run([tool, "-j", "--skip-rate-test", "-p", str(port), "127.0.0.1"],
                          capture_output=True, text=True, timeout=120, check=False)
    report = json.loads(proc.stdout)
    notes = [(section, entry.get("algorithm"), kind, entry["notes"][kind])
             for section in ("kex", "key", "enc", "mac") for entry in report.get(section, [])
             for kind in ("fail", "warn") if entry.get("notes", {}).get(kind)]
    assert not notes, notes
    assert not report["cves"], report["cves"]
    # Only informational recommendations are left (measured: "add" RSA host
    # keys, which the policy leaves out on purpose).
    assert set(report.get("recommendations", {})) <= {"informational"}, report["recommendations"]
    # ssh-audit's exit status 0 is "good" (2 warnings, 3 failures, 1 no connection).
    assert proc.returncode == 0, proc.stdout[-2000:]
    kex = [k["algorithm"] for k in report["kex"] if k["algorithm"] not in ("ext-info-s", "kex-strict-s-v00@openssh.com")]
    assert kex and all(k.startswith(("mlkem768x25519-", "sntrup761x25519-")) for k in kex), kex
    assert [k["algorithm"] for k in report["key"]] == ["ssh-ed25519"]


def test_a_changed_banner_and_store_mode_are_restored_by_the_next_run(host):
    """The banner files and the key store directory are written only when preflight's probe does not find
    them as the role writes them (owner, mode, the banner's sha256 as host_probe's digest). A banner
    edited by hand, /etc/issue left writable by everyone and the store directory with another mode must
    each make the next converge run that task and put it back. A store directory writable by others
    (anyone could plant a key file there) is not repaired but refused: the plan's file_set does not
    write inside a directory another user can change, and the run stops before anything changes."""
    banner = host.file("/etc/issue.net").content_string
    store = "/etc/ssh/authorized_keys"
    assert banner.startswith(BANNER_FIRST_LINE) and host.file("/etc/issue").mode == 0o644
    assert host.file(store).mode == 0o755
    before = host.check_output("sha256sum %s/* %s" % (store, POLICY_DROPIN))
    host.check_output("chmod 0777 %s" % store)
    try:
        refused = run_converge(host)
    finally:
        host.check_output("chmod 0755 %s" % store)
    out = refused.stdout + refused.stderr
    assert refused.returncode != 0 and "is writable by others" in out, out[-3000:]
    assert host.check_output("sha256sum %s/* %s" % (store, POLICY_DROPIN)) == before
    host.check_output("printf 'Welcome!\\n' > /etc/issue.net && chmod 0666 /etc/issue && chmod 0700 %s" % store)
    try:
        run = run_converge(host)
    finally:
        if host.file("/etc/issue.net").content_string != banner:
            host.check_output("printf '%%s' %s > /etc/issue.net" % sh_quote(banner))
        host.check_output("chmod 0644 /etc/issue /etc/issue.net && chmod 0755 %s" % store)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    task = out[out.index("config | Create the root-owned central key store and write the login banner"):]
    task = task[:task.find("\nTASK [")]
    assert "\nchanged: [" in task, task[:500]
    assert host.file("/etc/issue.net").content_string == host.file("/etc/issue").content_string == banner
    assert host.file("/etc/issue").mode == host.file("/etc/issue.net").mode == 0o644
    assert host.file(store).mode == 0o755 and host.file(store).user == "root"
