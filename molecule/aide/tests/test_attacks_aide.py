"""Attacks on the AIDE baseline (issue 10, item 6), after tests/test_aide.py.

1. A drop-in in /etc/aide/aide.conf.d, named so that the role's include
   filter admits it, redefines database_in to a database made after a
   change. AIDE (0.18.3 and 0.19.1) keeps the first definition, so the check
   still compares with the role's database and reports the drop-in and the
   changed file (checked, not a hole; this test keeps it that way).
2. The careless run: a watched file changed, then the database and the
   controller record are both lost (new controller, renamed host, ephemeral
   AWX execution environment). The role used to initialise a new baseline
   silently, taking the change in. The host's baseline.log now blocks that,
   and only an explicit aide_accept_changes run re-initialises, logged as
   action=reinit.
"""

import os

from ephi_testlib import AIDE_CONF, AIDE_DB, AIDE_LOG, aide_check, aide_record_path, run_converge


def converge(host, *args):
    run = run_converge(host, *args, timeout=900)
    return run.returncode, run.stdout + run.stderr


def test_dropin_redefining_database_in_is_ignored(host):
    dropin = "/etc/aide/aide.conf.d/95_ephi_safeguards"
    evil = "/var/tmp/ephi-evil.db"
    host.check_output("cp -p /srv/ephi/app.conf /root/app.conf.good")
    try:
        # The intruder changes a watched file, builds a database that contains the
        # change and the drop-in, and points database_in at it.
        host.check_output("echo 'setting = evil' >> /srv/ephi/app.conf")
        host.check_output("printf 'database_in=file:%s\\n' > %s" % (evil, dropin))
        assert host.run("aide --config-check --config %s" % AIDE_CONF).rc == 0
        host.check_output("aide --init --config %s >/dev/null; mv -f /var/lib/aide/aide.db.new %s" % (AIDE_CONF, evil))
        result = aide_check(host)
        assert dropin in result["added"], result
        assert "/srv/ephi/app.conf" in result["changed_paths"], result
        assert result["differences"] is True
        # The report names the role's database, never the planted one.
        report = host.run("aide --check --config %s" % AIDE_CONF).stdout
        assert "\n%s\n" % AIDE_DB in report and evil not in report
    finally:
        host.run("rm -f %s %s /var/lib/aide/aide.db.new" % (dropin, evil))
        host.check_output("mv -f /root/app.conf.good /srv/ephi/app.conf")


def test_lost_database_and_record_do_not_reinitialise_silently(host):
    assert host.file(AIDE_DB).exists and os.path.exists(aide_record_path(host))
    log_before = host.file(AIDE_LOG).content_string
    # The change that a silent re-initialisation would swallow.
    host.check_output("echo '# attack: PermitRootLogin yes' >> /etc/ssh/sshd_config")
    host.check_output("rm -f %s" % AIDE_DB)
    os.rename(aide_record_path(host), aide_record_path(host) + ".lost")
    try:
        rc, out = converge(host)
        assert rc != 0, out[-3000:]
        assert "Refusing to re-initialise silently" in out, out[-3000:]
        assert "aide_accept_changes=true" in out and AIDE_LOG in out
        assert not host.file(AIDE_DB).exists                  # nothing was initialised
        assert not os.path.exists(aide_record_path(host))
        assert host.file(AIDE_LOG).content_string == log_before  # nothing was logged

        # Deliberately: the re-initialisation runs and says so.
        rc, out = converge(host, "-e", "aide_accept_changes=true")
        assert rc == 0, out[-3000:]
        new = host.file(AIDE_LOG).content_string[len(log_before):].splitlines()
        assert len(new) == 1 and " action=reinit remote_user=ephi-admin " in new[0], new
        digest = host.check_output("sha512sum %s" % AIDE_DB).split()[0]
        assert new[0].endswith("db_sha512=%s" % digest)
        with open(aide_record_path(host)) as fh:
            assert fh.read().split()[0] == digest
        assert aide_check(host)["differences"] is False
    finally:
        if os.path.exists(aide_record_path(host) + ".lost"):
            if os.path.exists(aide_record_path(host)):
                os.remove(aide_record_path(host) + ".lost")
            else:
                os.rename(aide_record_path(host) + ".lost", aide_record_path(host))
