# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""main() of ephi.safeguards.aide_check with run_command mocked (real AIDE output)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os

import pytest

from ansible.module_utils import basic

from ansible_collections.ephi.safeguards.plugins.module_utils import probe_run
from ansible_collections.ephi.safeguards.plugins.modules import aide_check
from ansible_collections.ephi.safeguards.tests.unit.plugins.modules.utils import patch_exit_fail, run_main


FIXTURES = os.path.join(os.path.dirname(__file__), '..', 'module_utils', 'fixtures', 'aide')
AIDE = '/usr/bin/aide'
JSON_ARGV = [AIDE, '--config', '/etc/aide/aide.conf', '--check', '-A', 'report_level=changed_attributes',
             '-A', 'report_format=json']


def fixture(version, name):
    with open(os.path.join(FIXTURES, version, name)) as fh:
        return fh.read()


@pytest.fixture(autouse=True)
def patch_module(monkeypatch):
    patch_exit_fail(monkeypatch)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, *a, **kw: AIDE)


@pytest.fixture
def commands(monkeypatch):
    """Queue of (rc, stdout, stderr) answers; records every argv."""
    calls = []
    answers = []

    def run_command(self, args, **kwargs):
        calls.append((list(args), kwargs.get('environ_update')))
        return answers.pop(0)

    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    return calls, answers


def run_module(args, check=False):
    return run_main(aide_check.main, args, check)


@pytest.mark.parametrize('version', ['0.18', '0.19'])
@pytest.mark.parametrize('check', [False, True])
def test_differences_are_reported_not_failed(commands, version, check):
    calls, answers = commands
    answers.append((7, fixture(version, 'changes.json'), ''))
    result = run_module({}, check=check)
    # Read-only, also in check mode: the check still runs.
    assert calls == [(JSON_ARGV, {'LANG': 'C', 'LC_ALL': 'C', 'LANGUAGE': 'C'})]
    assert not result.get('failed'), result
    assert result['changed'] is False
    assert result['differences'] is True
    assert result['rc'] == 7 and result['cmd'] == JSON_ARGV
    assert result['added'] == ['/tmp/cap/w/sub/new']
    assert result['removed'] == ['/tmp/cap/w/gone']
    assert result['changed_paths'][0] == '/tmp/cap/w/conf'
    assert result['exit_status'] == {'rc': 7, 'added': True, 'removed': True, 'changed': True,
                                     'error': None, 'differences': True}


def test_options_reach_the_command_line(commands):
    calls, answers = commands
    answers.append((0, fixture('0.18', 'clean.plain.txt'), ''))
    result = run_module({'config': '/srv/aide.conf', 'aide_bin': '/opt/aide', 'limit': '/etc/ssh',
                         'report_format': 'plain'})
    assert calls[0][0] == ['/opt/aide', '--config', '/srv/aide.conf', '--check', '-A',
                           'report_level=changed_attributes', '--limit', '/etc/ssh']
    assert result['differences'] is False and result['report_format'] == 'plain'


def test_auto_falls_back_to_plain_for_old_aide(commands):
    calls, answers = commands
    answers.append((17, '', "  ERROR: unknown config option: 'report_format'\n"))
    answers.append((0, fixture('0.18', 'clean.plain.txt'), ''))
    result = run_module({})
    assert [argv for argv, dummy in calls] == [JSON_ARGV, JSON_ARGV[:-2]]
    assert result['report_format'] == 'plain' and result['differences'] is False


@pytest.mark.parametrize('version', ['0.18', '0.19'])
def test_missing_database_fails_with_the_error(commands, version):
    calls, answers = commands
    answers.append((18, '', fixture(version, 'nodb.err')))
    result = run_module({})
    assert result['failed'] is True
    assert 'exit status 18 (IO error)' in result['msg']
    assert "open (read-only) failed for file '/tmp/cap/aide.db'" in result['msg']
    assert len(calls) == 1


@pytest.mark.parametrize('version', ['0.18', '0.19'])
def test_configuration_error_fails(commands, version):
    calls, answers = commands
    answers.append((17, '', fixture(version, 'badconf.err')))
    result = run_module({})
    assert result['failed'] is True
    assert 'configuration error' in result['msg'] and 'aide.conf:8' in result['msg']
    # A configuration error unrelated to report_format is not retried.
    assert len(calls) == 1


def test_unreadable_report_fails(commands):
    calls, answers = commands
    answers.append((4, 'garbage\n', ''))
    result = run_module({})
    assert result['failed'] is True
    assert result['msg'].startswith('cannot read the AIDE report')
    assert result['exit_status']['changed'] is True


# The option probe: ephi.safeguards.host_probe's questions answered in the same run (verify.yml
# of the aide role asks the database's sha512, the timer and aide --path-check this way).
SHOW = 'Id=ephi-aide-check.timer\nLoadState=loaded\nActiveState=active\nSubState=waiting\nUnitFileState=enabled\n'


def test_probe_is_answered_in_the_same_run_before_the_check(commands, tmp_path):
    calls, answers = commands
    database = tmp_path / 'aide.db'
    database.write_bytes(b'baseline\n')
    answers.extend([(0, '', ''), (0, SHOW, ''), (0, fixture('0.18', 'clean.json'), '')])
    result = run_module({'probe': {'paths': [{'path': str(database), 'checksum': 'sha512'}, str(tmp_path / 'none')],
                                   'units': ['ephi-aide-check.timer'],
                                   'commands': [['/bin/sh', '-c', 'aide --path-check f:/etc/ssh']]}}, check=True)
    assert not result.get('failed'), result
    assert result['differences'] is False
    probe = result['probe']
    assert probe['changed'] is False and not probe.get('failed')
    assert probe['paths'][str(database)]['exists'] is True
    assert probe['paths'][str(database)]['checksum'] == hashlib.sha512(b'baseline\n').hexdigest()
    assert probe['paths'][str(tmp_path / 'none')]['exists'] is False
    assert probe['units_running'] == ['ephi-aide-check.timer']
    assert probe['commands'][0]['rc'] == 0
    # The probe's command and systemctl (get_bin_path answers AIDE for every name here) first, then AIDE's check.
    assert calls[0][0] == ['/bin/sh', '-c', 'aide --path-check f:/etc/ssh']
    assert calls[1][0][1:3] == ['show', '--property=' + probe_run.UNIT_PROPERTIES]
    assert calls[2][0] == JSON_ARGV


def test_a_probe_that_cannot_answer_is_a_failed_probe_and_the_check_still_runs(commands):
    calls, answers = commands
    answers.append((0, fixture('0.18', 'clean.json'), ''))
    result = run_module({'probe': {'paths': ['relative/path'], 'no_such_option': 1}})
    assert not result.get('failed') and result['differences'] is False
    assert result['probe']['failed'] is True and result['probe']['msg'].startswith('host_probe: ')
    assert 'no_such_option' in result['probe']['msg']
    assert [argv for argv, env in calls] == [JSON_ARGV]


@pytest.mark.parametrize('version', ['0.18', '0.19'])
def test_a_failed_check_still_returns_the_probe(commands, version, tmp_path):
    calls, answers = commands
    answers.append((18, '', fixture(version, 'nodb.err')))
    result = run_module({'probe': {'paths': [str(tmp_path / 'aide.db')]}})
    assert result['failed'] and 'exit status 18' in result['msg']
    assert result['probe']['paths'][str(tmp_path / 'aide.db')] == {'exists': False, 'conforms': False}


def test_without_probe_there_is_no_probe_result(commands):
    calls, answers = commands
    answers.append((0, fixture('0.18', 'clean.json'), ''))
    assert 'probe' not in run_module({})
