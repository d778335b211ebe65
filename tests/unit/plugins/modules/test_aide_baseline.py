# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""main() of ephi.safeguards.aide_baseline against a fake aide binary in a temporary directory.

The fake writes the database AIDE would write (database_out) and prints a
report; its exit status and output are set through the environment.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import re
import stat

import pytest

from ansible_collections.ephi.safeguards.plugins.modules import aide_baseline
from ansible_collections.ephi.safeguards.tests.unit.plugins.modules.utils import patch_exit_fail, run_main

FAKE_AIDE = '''#!/bin/sh
# fake aide: --config FILE --init|--update
echo "$@" >> "$FAKE_AIDE_CALLS"
if [ -n "$FAKE_AIDE_WRITE" ]; then
  printf '%s' "$FAKE_AIDE_DB" > "$FAKE_AIDE_DB_NEW"
fi
printf '%s' "$FAKE_AIDE_STDOUT"
printf '%s' "$FAKE_AIDE_STDERR" >&2
exit "$FAKE_AIDE_RC"
'''
LINE_INIT = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ action=(init|reinit) remote_user=ephi-admin '
                       r'controller_user=alice db_sha512=([0-9a-f]{128})$')
LINE_ACCEPT = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ action=accept aide_rc=(\d+) remote_user=ephi-admin '
                         r'controller_user=alice report=(\S+) db_sha512=([0-9a-f]{128})$')


@pytest.fixture
def lab(tmp_path, monkeypatch):
    patch_exit_fail(monkeypatch)
    monkeypatch.setattr(os, 'umask', lambda mask: 0o022)  # the test process keeps its umask
    aide = tmp_path / 'aide'
    aide.write_text(FAKE_AIDE)
    aide.chmod(0o755)
    paths = {
        'aide_bin': str(aide),
        'config': str(tmp_path / 'aide.conf'),
        'database': str(tmp_path / 'aide.db'),
        'database_new': str(tmp_path / 'aide.db.new'),
        'report_dir': str(tmp_path / 'reports'),
        'calls': str(tmp_path / 'calls'),
    }
    env = {'FAKE_AIDE_CALLS': paths['calls'], 'FAKE_AIDE_DB_NEW': paths['database_new'], 'FAKE_AIDE_DB': 'new database',
           'FAKE_AIDE_WRITE': '1', 'FAKE_AIDE_STDOUT': '', 'FAKE_AIDE_STDERR': '', 'FAKE_AIDE_RC': '0'}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return paths


def calls(lab):
    if not os.path.exists(lab['calls']):
        return []
    with open(lab['calls']) as fh:
        return fh.read().splitlines()


def read(path):
    with open(path) as fh:
        return fh.read()


def run_module(lab, action, check=False, **extra):
    args = dict(action=action, remote_user='ephi-admin', controller_user='alice',
                **dict((k, lab[k]) for k in ('aide_bin', 'config', 'database', 'database_new', 'report_dir')))
    args.update(extra)
    return run_main(aide_baseline.main, args, check)


def sha512(data):
    return hashlib.sha512(data.encode()).hexdigest()


@pytest.mark.parametrize('action', ['init', 'reinit'])
def test_init_makes_the_database_once_and_logs_it(lab, action):
    result = run_module(lab, action)
    assert not result.get('failed'), result
    assert result['changed'] is True
    assert calls(lab) == ['--config %s --init' % lab['config']]
    assert read(lab['database']) == 'new database' and not os.path.exists(lab['database_new'])
    assert result['db_sha512'] == sha512('new database')
    log = os.path.join(lab['report_dir'], 'baseline.log')
    assert result['log'] == log
    lines = read(log).splitlines()
    assert len(lines) == 1 and lines[0] == result['log_line']
    match = LINE_INIT.match(lines[0])
    assert match and match.groups() == (action, sha512('new database'))
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(lab['report_dir']).st_mode) == 0o700

    # Idempotent: the database exists, AIDE is not run, nothing is logged.
    again = run_module(lab, action)
    assert again['changed'] is False and not again.get('failed')
    assert again['db_sha512'] == sha512('new database')
    assert len(calls(lab)) == 1 and len(read(log).splitlines()) == 1


def test_init_replaces_a_stale_new_database(lab):
    with open(lab['database_new'], 'w') as fh:
        fh.write('stale, written by someone else')
    result = run_module(lab, 'init')
    assert result['changed'] is True
    assert read(lab['database']) == 'new database'


def test_init_in_check_mode_changes_nothing(lab):
    result = run_module(lab, 'init', check=True)
    assert result['changed'] is True and not result.get('failed')
    assert result['msg'].startswith('would initialise the AIDE database %s' % lab['database'])
    assert calls(lab) == [] and not os.path.exists(lab['database']) and not os.path.exists(lab['report_dir'])
    assert 'db_sha512' not in result and 'log_line' not in result


def test_init_in_check_mode_with_a_database_reports_no_change(lab):
    with open(lab['database'], 'w') as fh:
        fh.write('old')
    result = run_module(lab, 'init', check=True)
    assert result['changed'] is False and result['db_sha512'] == sha512('old')
    assert calls(lab) == []


def test_init_failure_keeps_nothing_and_logs_nothing(lab, monkeypatch):
    monkeypatch.setenv('FAKE_AIDE_RC', '17')
    monkeypatch.setenv('FAKE_AIDE_WRITE', '')
    monkeypatch.setenv('FAKE_AIDE_STDERR', 'line 3: syntax error\nConfiguration error\n')
    result = run_module(lab, 'init')
    assert result['failed'] is True
    assert result['msg'] == 'aide --init failed with exit status 17: line 3: syntax error Configuration error'
    assert not os.path.exists(lab['database'])
    assert not os.path.exists(os.path.join(lab['report_dir'], 'baseline.log'))


def test_init_fails_when_aide_wrote_no_database(lab, monkeypatch):
    monkeypatch.setenv('FAKE_AIDE_WRITE', '')
    result = run_module(lab, 'init')
    assert result['failed'] is True and 'AIDE did not write %s' % lab['database_new'] in result['msg']
    assert not os.path.exists(lab['database'])


@pytest.mark.parametrize('rc', [0, 5])
def test_accept_updates_saves_the_report_and_logs_it(lab, monkeypatch, rc):
    with open(lab['database'], 'w') as fh:
        fh.write('old database')
    monkeypatch.setenv('FAKE_AIDE_RC', str(rc))
    monkeypatch.setenv('FAKE_AIDE_STDOUT', 'AIDE found differences\nchanged: /etc/ssh/sshd_config\n')
    monkeypatch.setenv('FAKE_AIDE_STDERR', 'WARNING: something\n')
    result = run_module(lab, 'accept', log=os.path.join(lab['report_dir'], 'accept.log'))
    assert not result.get('failed'), result
    assert result['changed'] is True and result['aide_rc'] == rc
    assert calls(lab) == ['--config %s --update' % lab['config']]
    assert read(lab['database']) == 'new database'
    assert result['db_sha512'] == sha512('new database')
    report = result['report']
    assert os.path.dirname(report) == lab['report_dir']
    assert re.match(r'^aide-accept-\d{8}T\d{6}Z\.txt$', os.path.basename(report))
    assert read(report) == 'AIDE found differences\nchanged: /etc/ssh/sshd_config\nWARNING: something\n'
    assert stat.S_IMODE(os.stat(report).st_mode) == 0o600
    line = read(os.path.join(lab['report_dir'], 'accept.log')).splitlines()
    assert len(line) == 1
    match = LINE_ACCEPT.match(line[0])
    assert match and match.groups() == (str(rc), report, sha512('new database'))


@pytest.mark.parametrize('rc', [8, 17, 18])
def test_accept_failure_keeps_the_old_database_and_the_report(lab, monkeypatch, rc):
    with open(lab['database'], 'w') as fh:
        fh.write('old database')
    monkeypatch.setenv('FAKE_AIDE_RC', str(rc))
    monkeypatch.setenv('FAKE_AIDE_STDERR', "Couldn't open file\n")
    result = run_module(lab, 'accept')
    assert result['failed'] is True
    assert result['msg'] == 'aide --update failed with exit status %d; see %s' % (rc, result['report'])
    assert read(result['report']) == "Couldn't open file\n"
    assert read(lab['database']) == 'old database'
    assert not os.path.exists(os.path.join(lab['report_dir'], 'baseline.log'))


def test_accept_in_check_mode_changes_nothing(lab):
    with open(lab['database'], 'w') as fh:
        fh.write('old database')
    result = run_module(lab, 'accept', check=True)
    assert result['changed'] is True and not result.get('failed')
    assert result['msg'].startswith('would accept the changes into the AIDE database')
    assert calls(lab) == [] and read(lab['database']) == 'old database'
    assert not os.path.exists(lab['report_dir'])


def test_io_errors_fail_with_a_message(lab, tmp_path):
    blocker = tmp_path / 'not-a-dir'
    blocker.write_text('')
    result = run_module(lab, 'init', report_dir=str(blocker / 'reports'))
    assert result['failed'] is True and result['msg'].startswith('cannot init the AIDE baseline: ')
