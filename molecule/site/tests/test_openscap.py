"""An auditor's scan: OpenSCAP with Debian's own SCAP content on the
converged Debian 12 instance (issue 13 item 4, "what scanners see is what is
in force").

prepare_tasks.yml installs openscap-scanner and ssg-debian (Debian packages);
the scan takes its tailoring and CPE override from molecule/site/openscap/.
Debian 12's ssg-debian (0.1.65) has content for Debian 10 and 11 only; the
scan uses the Debian 11 content unchanged and an applicability override (`oscap xccdf eval --cpe`,
openscap/ephi-cpe-dictionary.xml): the content's platform names
cpe:/o:debian:debian_linux:11 and cpe:/a:machine (its sshd rules are left out
on containers) count as present when /etc/debian_version names Debian 12.
Without it every rule is `notapplicable` (measured). No rule's check is
changed: the tailoring (openscap/ephi-sshd-tailoring.xml) only selects RULES
and sets one value (VALUES).

The content has no tmux rule (no configure_tmux_lock_*; nor has Debian 13's
ssg-debian 0.1.76, measured), so this scan covers sshd only; the tmux policy's
literal lines in /etc/tmux.conf are the tmux role's tests.
"""

import xml.etree.ElementTree as ET

import pytest

from ephi_testlib import scenario_path, sh_quote

testinfra_hosts = ["ansible://debian12"]

CONTENT_DIR = "/usr/share/xml/scap/ssg/content"
DATASTREAM = CONTENT_DIR + "/ssg-debian11-ds.xml"
BENCHMARK = CONTENT_DIR + "/ssg-debian11-xccdf.xml"
TAILORING = "ephi-sshd-tailoring.xml"
CPE_DICTIONARY = "ephi-cpe-dictionary.xml"
# molecule/site/openscap/: the tailoring, the CPE dictionary and its checks.
LAB_FILES = (TAILORING, CPE_DICTIONARY, "ephi-cpe-oval.xml")
PROFILE = "xccdf_ephi.safeguards_profile_sshd"
RULE = "xccdf_org.ssgproject.content_rule_"
VALUE = "xccdf_org.ssgproject.content_value_"
XCCDF = "{http://checklists.nist.gov/xccdf/1.2}"

# The sshd rules whose subject the policy covers: rule -> what its check
# wants in /etc/ssh/sshd_config (the content reads only that file, first
# occurrence; the drop-ins are not read).
RULES = {
    "sshd_disable_empty_passwords": "PermitEmptyPasswords no",
    "sshd_disable_gssapi_auth": "GSSAPIAuthentication no",
    "sshd_disable_kerb_auth": "KerberosAuthentication no",
    "sshd_disable_rhosts": "IgnoreRhosts yes",
    "sshd_disable_root_login": "PermitRootLogin no",
    "sshd_disable_tcp_forwarding": "AllowTcpForwarding no",
    "sshd_disable_user_known_hosts": "IgnoreUserKnownHosts yes",
    "sshd_disable_x11_forwarding": "X11Forwarding no",
    "sshd_do_not_permit_user_env": "PermitUserEnvironment no",
    "sshd_enable_pubkey_auth": "PubkeyAuthentication yes",
    "sshd_enable_warning_banner_net": "Banner /etc/issue.net",
    "sshd_set_idle_timeout": "0 < ClientAliveInterval <= 300, and what sshd_set_keepalive wants",
    "sshd_set_keepalive": "ClientAliveCountMax = var_sshd_set_keepalive (VALUES)",
    "sshd_set_login_grace_time": "0 < LoginGraceTime <= 60",
    "sshd_set_loglevel_verbose": "LogLevel VERBOSE",
    "sshd_set_max_auth_tries": "MaxAuthTries <= 4",
    "sshd_set_max_sessions": "MaxSessions <= 10",
    "sshd_set_maxstartups": "MaxStartups start <= 10, rate >= 30, full <= 100",
}

# Values the tailoring sets (the content's default otherwise): the policy's
# ClientAliveCountMax (ssh_key_policy_client_alive_count_max, default 1). The
# content's default 0 would switch the disconnect of unresponsive clients off
# ("Setting a zero ClientAliveCountMax disables connection termination",
# sshd_config(5), OpenSSH 9.2).
VALUES = {"var_sshd_set_keepalive": "1"}

# Every other rule of the content about SSH, and why it is not in RULES.
LEFT_OUT = {
    "harden_ssh_client_crypto_policy": "the SSH client's crypto policy (RHEL crypto-policies), not sshd",
    "package_openssh-server_installed": "a package, not a setting (the role needs sshd and fails without it)",
    "package_openssh-server_removed": "the opposite of a host that offers SSH logins",
    "service_sshd_disabled": "the opposite of a host that offers SSH logins",
    "iptables_sshd_disabled": "the opposite of a host that offers SSH logins",
    "file_permissions_sshd_private_key": "host key file modes are Debian's (ssh-keygen), not set by the policy",
    "file_permissions_sshd_pub_key": "host key file modes are Debian's (ssh-keygen), not set by the policy",
    "sshd_set_keepalive_0": "wants ClientAliveCountMax 0, which switches the disconnect off; the policy sets 1",
    "sshd_allow_only_protocol2": "Protocol: OpenSSH 9.2 has no SSH-1 and ignores the keyword",
    "sshd_disable_rhosts_rsa": "RhostsRSAAuthentication (SSH-1) does not exist in OpenSSH 9.2",
    "sshd_use_priv_separation": "UsePrivilegeSeparation does not exist in OpenSSH 9.2 (always on)",
    "sshd_disable_pubkey_auth": "the opposite of the policy (key logins only)",
    "sshd_enable_gssapi_auth": "the opposite of the policy (GSSAPIAuthentication no)",
    "sshd_enable_x11_forwarding": "the opposite of the policy (X11Forwarding no)",
    "sshd_disable_root_password_login": "wants PermitRootLogin prohibit-password; the policy's 'no' is stricter",
    "sshd_enable_warning_banner": "wants Banner /etc/issue; sshd has one Banner, the policy's is /etc/issue.net"
                                  " (same text in both files)",
    "sshd_set_loglevel_info": "wants LogLevel INFO; the policy's VERBOSE logs the key of each login",
    "sshd_enable_pam": "UsePAM is Debian's stock line, not a setting of the policy",
    "sshd_enable_strictmodes": "StrictModes is not a setting of the policy (sshd's default yes is in force)",
    "sshd_limit_user_access": "no automated check (notchecked); who logs in is the central key store's decision",
    "sshd_disable_compression": "Compression is not a setting of the policy",
    "sshd_print_last_log": "PrintLastLog is not a setting of the policy",
    "sshd_rekey_limit": "RekeyLimit is not a setting of the policy",
}

# Rules of RULES known to fail for a reason outside this test: rule -> reason
# (strict xfail: a pass makes the test fail until the entry is removed).
EXPECTED_FAIL = {}


def rule_results(xml_text):
    """{rule id without the prefix: result} of every rule the XCCDF results
    document XML_TEXT reports as evaluated (anything but notselected)."""
    found = {}
    for rule_result in ET.fromstring(xml_text).iter(XCCDF + "rule-result"):
        result = rule_result.findtext(XCCDF + "result")
        if result != "notselected":
            found[rule_result.get("idref").replace(RULE, "", 1)] = result
    return found


def lab_file(file_name):
    """The text of molecule/site/openscap/FILE_NAME."""
    with open(scenario_path("openscap", file_name), encoding="utf-8") as handle:
        return handle.read()


@pytest.fixture(scope="module")
def scan(host):
    """One scan of RULES: (oscap's exit status, time and output, {rule: result})."""
    # The lab's files go to a directory of their own below /run (outside the
    # AIDE baseline), from this checkout: what is tested is what an auditor gets.
    files = " && ".join("printf '%%s' %s > %s" % (sh_quote(lab_file(f)), f) for f in LAB_FILES)
    rules = " ".join("--rule " + RULE + r for r in sorted(RULES))
    # --rule evaluates each rule by itself: the content makes
    # sshd_set_idle_timeout require sshd_set_keepalive_0 (XCCDF <requires>),
    # which the policy rightly fails, and would otherwise not select it.
    out = host.run(
        "d=$(mktemp -d /run/ephi-openscap.XXXXXX) && cd $d && %s && start=$(date +%%s%%N)"
        " && { oscap xccdf eval --tailoring-file %s --profile %s --cpe $d/%s %s --results results.xml %s"
        " >log 2>&1; rc=$?; }"
        " && printf 'ephi-rc=%%s ms=%%s\\n' $rc $(( ($(date +%%s%%N) - start) / 1000000 ))"
        " && cat log && echo ephi-results && cat results.xml; cd / && rm -rf $d"
        % (files, TAILORING, PROFILE, CPE_DICTIONARY, rules, DATASTREAM))
    head, _sep, results = out.stdout.partition("ephi-results\n")
    assert results, "no results: rc=%s %s %s" % (out.rc, out.stdout[-3000:], out.stderr[-2000:])
    return head, rule_results(results)


def test_tailoring_is_the_rule_list(host):
    """The auditor's tailoring file selects exactly RULES and sets exactly VALUES."""
    root = ET.fromstring(lab_file(TAILORING))
    profile = root.find(XCCDF + "Profile")
    assert profile.get("id") == PROFILE
    selected = {s.get("idref").replace(RULE, "", 1) for s in profile.iter(XCCDF + "select") if s.get("selected") == "true"}
    assert selected == set(RULES)
    values = {v.get("idref").replace(VALUE, "", 1): v.text for v in profile.iter(XCCDF + "set-value")}
    assert values == VALUES
    assert not set(EXPECTED_FAIL) - set(RULES)


def test_every_ssh_rule_of_the_content_is_decided(host):
    """Every rule of the content about SSH is either scanned or left out with a
    reason; and the content still has no tmux rule (if it gains one, it
    belongs in this scan)."""
    ids = host.check_output("grep -o '<xccdf-1.2:Rule [^>]*id=\"%s[^\"]*\"' %s | sed 's/.*id=\"%s//; s/\"$//'"
                            % (RULE, BENCHMARK, RULE)).split()
    assert len(ids) > 300, ids
    about_ssh = {i for i in ids if "ssh" in i}
    assert about_ssh == set(RULES) | set(LEFT_OUT)
    assert not set(RULES) & set(LEFT_OUT)
    assert [i for i in ids if "tmux" in i or "vlock" in i] == []


@pytest.mark.parametrize("rule", [pytest.param(r, marks=pytest.mark.xfail(strict=True, reason=EXPECTED_FAIL[r]))
                                  if r in EXPECTED_FAIL else r for r in sorted(RULES)])
def test_rule_passes(host, scan, rule):
    """Each scanned rule passes: not fail, and not notapplicable, notchecked or
    error (an override that did not take would give notapplicable)."""
    head, results = scan
    assert set(results) == set(RULES), head
    assert results[rule] == "pass", "%s (%s): %s\n%s" % (rule, RULES[rule], results[rule], head[:1500])
