"""What scanners see is what is in force (issue 13 item 4, the sshd half).

The policy's drop-in is read first (the Include is sshd_config's first line);
sshd_config itself carries the same global lines in a managed block, for tools
that read only that file (OpenSCAP's ssg-debian content). These tests compare,
for every keyword of the drop-in's global part, the file, the drop-in and sshd's
global effective configuration (sshd -T), and write an admin's contradicting
line into sshd_config to see the next run comment it out.
"""

import re

from ephi_testlib import POLICY_DROPIN, by_id, run_converge, scenario_path, verify_controls

SSHD_CONFIG = "/etc/ssh/sshd_config"
MARK = "ephi.safeguards:ssh_key_policy"
# sshd adds up every line of these (measured with sshd -T on OpenSSH 9.2 and 10.0).
ACCUMULATING = {"hostkey", "allowusers", "allowgroups", "denyusers", "denygroups", "acceptenv", "port", "listenaddress",
                "hostcertificate", "subsystem"}
LINE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9]*)(?:\s*=\s*|\s+)(.*?)\s*$")


def global_lines(text):
    """[(lower-case keyword, value)] of the active lines before the first Match."""
    out = []
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        found = LINE.match(raw)
        assert found, "unparseable line %r" % raw
        if found.group(1).lower() == "match":
            break
        out.append((found.group(1).lower(), found.group(2)))
    return out


def norm(value):
    """As sshd compares: words, case folded unless a path."""
    return [w if "/" in w else w.lower() for w in value.replace('"', "").split()]


def values(lines, keyword):
    return [v for k, v in lines if k == keyword]


def test_file_dropin_and_sshd_agree_for_every_managed_keyword(host):
    config = host.file(SSHD_CONFIG).content_string
    dropin = global_lines(host.file(POLICY_DROPIN).content_string)
    in_file = [(k, v) for k, v in global_lines(config) if k != "include"]
    effective = global_lines(host.check_output("sshd -T"))
    assert len(set(k for k, v in dropin)) >= 30, dropin
    for keyword in sorted(set(k for k, v in dropin)):
        wanted = values(dropin, keyword)
        if keyword in ACCUMULATING:
            # Only in the drop-in: a copy in sshd_config would be a second entry.
            assert values(in_file, keyword) == [], keyword
            got = [w for v in values(effective, keyword) for w in v.split()]
            assert sorted(got) == sorted(w for v in wanted for w in v.split()), keyword
            continue
        assert len(wanted) == 1, keyword
        # Every line of the keyword in the file's global part says the same
        # (the first is the block's; sshd keeps the first value it reads).
        assert values(in_file, keyword), "%s is not in %s" % (keyword, SSHD_CONFIG)
        assert {tuple(norm(v)) for v in values(in_file, keyword)} == {tuple(norm(wanted[0]))}, keyword
        assert norm(values(effective, keyword)[0]) == norm(wanted[0]), keyword
    # The drop-in's Match Group blocks stay in the drop-in.
    assert "Match Group" in host.file(POLICY_DROPIN).content_string
    assert not re.search(r"(?im)^\s*match\b", config)
    # Debian's own X11Forwarding yes is commented out, with the reason.
    assert re.search(r"(?m)^#X11Forwarding yes  # disabled by %s: the policy sets X11Forwarding no$" % MARK, config)


POLICY_KEX = ["mlkem768x25519-sha256", "sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com"]


def config_file_control(host):
    controls = verify_controls(host, scenario_path("verify_play.yml"), "ssh_key_policy_verify_controls", timeout=180)
    return by_id(controls)["ssh-key-policy-config-file"]


def test_admins_contradicting_line_fails_the_evidence_and_is_commented_out_by_the_next_run(host):
    # The fault: lines written into sshd_config by hand that a scanner would take
    # for the configuration (sshd itself keeps the drop-in's values).
    host.check_output("printf 'AllowTcpForwarding yes\\nHostKey /etc/ssh/ssh_host_ecdsa_key\\n' >> %s" % SSHD_CONFIG)
    count = len(host.file(SSHD_CONFIG).content_string.splitlines())
    assert "allowtcpforwarding no" in host.check_output("sshd -T")
    control = config_file_control(host)
    assert control["status"] == "fail"
    assert 'line %d "AllowTcpForwarding yes" contradicts the policy (the policy sets AllowTcpForwarding no)' % (count - 1) \
        in control["observed"], control["observed"]
    assert 'line %d "HostKey /etc/ssh/ssh_host_ecdsa_key" contradicts the policy' % count in control["observed"]
    proc = run_converge(host)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    config = host.file(SSHD_CONFIG).content_string
    assert "#AllowTcpForwarding yes  # disabled by %s: the policy sets AllowTcpForwarding no" % MARK in config
    assert "#HostKey /etc/ssh/ssh_host_ecdsa_key  # disabled by %s: sshd adds up every HostKey line" % MARK in config
    assert not [k for k, v in global_lines(config) if k == "hostkey" or (k, v) == ("allowtcpforwarding", "yes")]
    # The evidence passes again, and the file has nothing left to change (the
    # control fails while the module's check-mode plan is not empty).
    controls = by_id(verify_controls(host, scenario_path("verify_play.yml"), "ssh_key_policy_verify_controls", timeout=180))
    control = controls["ssh-key-policy-config-file"]
    assert control["status"] == "pass", control["observed"]
    # The policy names mlkem768x25519-sha256 on both platforms (group_vars): sshd offers the names the host's
    # OpenSSH knows (on Debian 12 not ML-KEM), and verify compares that list, in the key audit (transport) and in
    # sshd_config's read (config file) alike, instead of finding the policy's whole list missing.
    supported = host.check_output("ssh -Q kex").split()
    offered = [v for k, v in global_lines(host.check_output("sshd -T")) if k == "kexalgorithms"][0].split(",")
    assert offered == [k for k in POLICY_KEX if k in supported], (offered, supported)
    assert ("mlkem768x25519-sha256" in offered) == (host.check_output(". /etc/os-release && echo $VERSION_ID") == "13"), offered
    for name in ("ssh-key-policy-transport", "ssh-key-policy-post-quantum-kex"):
        assert controls[name]["status"] == "pass", controls[name]["observed"]
