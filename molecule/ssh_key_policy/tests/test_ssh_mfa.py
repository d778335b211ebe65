"""Multi-factor authentication for people: key + TOTP (issue 13 item 5).

The scenario turns MFA on (group_vars/all.yml): ephi-mia needs her key plus a
TOTP code (pam_oath, RFC 6238's test key given as a variable); ephi-carol,
ephi-olga and ephi-breakglass log in with a key alone from 127.0.0.1 only, so
from any other address they need a code too (carol's secret was generated on the host
and handed over in a root-only otpauth file); ephi-admin (Ansible) is exempt.
Logins are real, from inside the instance to 127.0.0.1:22; the codes are
computed with oathtool (the key on stdin) and fed through SSH_ASKPASS, which
records every prompt sshd sends (prepare_tasks.yml). pam_oath refuses a code
of a time step it has already accepted, so each successful login uses a later
step (the window is 3 steps of 30 s).
"""

import itertools

from ephi_testlib import POLICY_DROPIN, by_id, run_converge, scenario_path, sh_quote, verify_controls

MIA_SECRET = "3132333435363738393031323334353637383930"
USERSFILE = "/etc/ephi-safeguards/users.oath"
HANDOFF = "/root/ephi-mfa-enrolment/ephi-carol.otpauth"
OATH_PROMPT = "One-time password (OATH) for `%s':"
# No BatchMode: it would switch keyboard-interactive off. One answer per login.
MFA_SSH = ("SSH_ASKPASS=/usr/local/bin/ephi-askpass SSH_ASKPASS_REQUIRE=force ssh -o StrictHostKeyChecking=no "
           "-o UserKnownHostsFile=/dev/null -o ConnectTimeout=10 -o IdentitiesOnly=yes -o NumberOfPasswordPrompts=1")


def code(host, secret, steps=0, base32=False):
    """The TOTP code STEPS time steps (30 s) from now; the key goes to oathtool on stdin."""
    return host.check_output("printf %%s %s | oathtool --totp %s -N \"@$(( $(date +%%s) + %d ))\" -"
                             % (sh_quote(secret), "-b" if base32 else "", 30 * steps)).strip()


# OpenSSH 10.0 (Debian 13) penalises a source address for failed
# authentications (PerSourcePenalties, authfail:5s, blocks from 15 s): a few
# refused logins from 127.0.0.1 would get every later connection from it reset
# (measured: "kex_exchange_identification: read: Connection reset by peer" in
# the other tests). prepare_tasks.yml exempts the loopback addresses from
# that; each login here still comes from its own loopback address unless a
# test of carol's MFA exemption (an address rule) names its source.
SOURCES = itertools.count(10)


def login(host, user, key, answer="", source=None, extra=""):
    """Log in with KEY from SOURCE (a fresh 127.0.x.y when None), answering every prompt
    with ANSWER: (exit status, stderr, prompts)."""
    if source is None:
        number = next(SOURCES)
        source = "127.0.%d.%d" % (1 + number // 250, 1 + number % 250)
    out = host.run(": > /root/.ephi-prompts; printf '%%s\\n' %s > /root/.ephi-code; %s -b %s %s -i /root/.ssh/%s "
                   "%s@127.0.0.1 echo ephi-logged-in < /dev/null; echo \"__rc=$?\"; sed 's/^/__prompt=/' /root/.ephi-prompts"
                   % (sh_quote(answer), MFA_SSH, source, extra, key, user))
    lines = out.stdout.splitlines()
    rc = int([line for line in lines if line.startswith("__rc=")][0].split("=", 1)[1])
    prompts = [line.split("=", 1)[1] for line in lines if line.startswith("__prompt=")]
    if rc == 0:
        assert "ephi-logged-in" in lines
    return rc, out.stderr, prompts


def test_key_plus_code_logs_in_and_key_alone_wrong_replayed_or_password_do_not(host):
    first = code(host, MIA_SECRET)
    rc, err, prompts = login(host, "ephi-mia", "id_mia", first)
    assert rc == 0, err
    # The second factor is the only question, and it is not the Unix password.
    assert [p.strip() for p in prompts] == ["(ephi-mia@127.0.0.1) " + OATH_PROMPT % "ephi-mia"], prompts
    # Replayed code, wrong code, key alone: refused after the key was accepted.
    for answer, extra in ((first, ""), ("%06d" % ((int(first) + 1) % 1000000), ""), ("", "-o KbdInteractiveAuthentication=no")):
        rc, err, prompts = login(host, "ephi-mia", "id_mia", answer, extra=extra)
        assert rc == 255 and "Permission denied (keyboard-interactive)" in err, (answer, extra, err)
        assert [p.strip() for p in prompts] in ([], ["(ephi-mia@127.0.0.1) " + OATH_PROMPT % "ephi-mia"]), prompts
    # A code without the key gets nowhere: the key comes first.
    rc, err, prompts = login(host, "ephi-mia", "id_olga", code(host, MIA_SECRET, 1))
    assert rc == 255 and "Permission denied (publickey)" in err and prompts == [], err
    # A later code works again (and clears the failures counted above).
    assert login(host, "ephi-mia", "id_mia", code(host, MIA_SECRET, 1))[0] == 0


def test_exemption_holds_only_from_its_addresses_and_generated_secret_is_handed_over(host):
    # ephi-carol: key alone from 127.0.0.1 (the other tests), key + code from
    # any other address. Her Unix password ("ephi-Test-1", prepare) is no answer.
    assert login(host, "ephi-carol", "id_ed25519", source="127.0.0.1")[0] == 0
    rc, err, prompts = login(host, "ephi-carol", "id_ed25519", "ephi-Test-1")
    assert rc == 255 and [p.strip() for p in prompts] == ["(ephi-carol@127.0.0.1) " + OATH_PROMPT % "ephi-carol"], (err, prompts)
    handoff = host.file(HANDOFF)
    assert handoff.user == "root" and handoff.mode == 0o600
    secret = handoff.content_string.split("secret=", 1)[1].split("&", 1)[0]
    assert login(host, "ephi-carol", "id_ed25519", code(host, secret, base32=True))[0] == 0
    users = host.file(USERSFILE)
    assert users.user == "root" and users.mode == 0o600 and host.file("/etc/ephi-safeguards").mode == 0o700


def test_wrong_codes_lock_the_account_until_the_unlock_time(host):
    # deny 3, unlock_time 10 s (group_vars/all.yml).
    for dummy in range(3):
        assert login(host, "ephi-mia", "id_mia", "000000")[0] == 255
    locked_at = float(host.check_output("date +%s.%N"))
    rc, err, prompts = login(host, "ephi-mia", "id_mia", code(host, MIA_SECRET, 2))
    assert rc == 255 and prompts == [], "a locked account was asked for (or took) a code: %s %s" % (prompts, err)
    assert "account temporarily locked" in host.check_output(
        "journalctl -q --no-pager -o cat --since -2min -t sshd -t sshd-session --grep 'pam_faillock.*ephi-mia'")
    host.check_output("sleep %.1f" % max(0.0, 10.5 - (float(host.check_output("date +%s.%N")) - locked_at)))
    assert login(host, "ephi-mia", "id_mia", code(host, MIA_SECRET, 2))[0] == 0


def test_the_automation_account_logs_in_with_its_key_alone(host):
    # Molecule and these tests reach the instance as ephi-admin with no code;
    # sshd says so for every address.
    for addr in ("127.0.0.1", "192.0.2.1"):
        assert "authenticationmethods publickey\n" in host.check_output(
            "sshd -T -C user=ephi-admin,host=%s,addr=%s" % (addr, addr)) + "\n"
    assert "authenticationmethods publickey,keyboard-interactive" in host.check_output(
        "sshd -T -C user=ephi-mia,host=127.0.0.1,addr=127.0.0.1")


def test_a_run_demanding_a_factor_from_ansibles_account_is_refused_before_any_change(host):
    before = host.check_output("sha256sum %s /etc/pam.d/sshd %s" % (POLICY_DROPIN, USERSFILE))
    exempt = [{"user": "ephi-carol", "reason": "tests", "from": ["127.0.0.1"]}]
    proc = run_converge(host, {"ssh_key_policy_mfa_exempt": exempt})
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "Refusing to apply the SSH key policy" in output, output[-3000:]
    assert "second factor (TOTP) from ephi-admin" in output and "ssh_key_policy_mfa_exempt" in output
    assert host.check_output("sha256sum %s /etc/pam.d/sshd %s" % (POLICY_DROPIN, USERSFILE)) == before


MATCH_DROPIN = "/etc/ssh/sshd_config.d/60-mfa-off.conf"


def test_a_later_drop_in_that_lets_an_account_skip_the_factor_fails_the_evidence(host):
    host.check_output("printf '%%s\\n' 'Match User ephi-mia' '    AuthenticationMethods publickey' > %s" % MATCH_DROPIN)
    try:
        host.check_output("sshd -t")
        control = by_id(verify_controls(host, scenario_path("verify_play.yml"), "ssh_key_policy_verify_controls",
                                        timeout=180))["ssh-key-policy-mfa"]
        assert control["status"] == "fail" and "ephi-mia from 127.0.0.1: publickey" in control["observed"], control
    finally:
        host.run("rm -f %s" % MATCH_DROPIN)
