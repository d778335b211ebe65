# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""main() of ephi.safeguards.aide_check with run_command mocked (real AIDE output)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible.module_utils import basic

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
