# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The aide role's decisions: evidence controls and the tamper state.

fixtures/evidence/aide/*.json hold the inputs the old verify_controls.j2 read
(recorded on the lab, ``lab-*``, or edited to reach every branch,
``edited-*``) and the records it produced; ``corrected`` names the cases where
the old template was wrong and ``expected`` is the corrected record.
fixtures/evidence/aide/tamper/old-vars.json holds the old vars/main.yml
tamper state and messages rendered for every state.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import glob
import json
import os
import posixpath

import pytest

from ansible_collections.ephi.safeguards.plugins.module_utils import aide_controls
from ansible_collections.ephi.safeguards.plugins.module_utils.evidence import probe_failed
from ansible_collections.ephi.safeguards.plugins.module_utils.aide_controls import (
    CONTROLS,
    aide_baseline,
    aide_check_clean,
    aide_installed,
    aide_scheduled_check,
    build_controls,
    tamper,
    tamper_state,
)

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures', 'evidence', 'aide')
CASES = sorted(glob.glob(os.path.join(FIXTURES, '*.json')))
TAMPER_CASES = json.load(open(os.path.join(FIXTURES, 'tamper', 'old-vars.json')))['cases']
RECORD_SUFFIX = '.aide.db.sha512'


def load(path):
    with open(path) as fh:
        return json.load(fh)


def dumps(value):
    return json.dumps(value, sort_keys=True, indent=2)


def hostname_of(record_file):
    """inventory_hostname, which the old template read only through __aide_tamper_msg."""
    name = posixpath.basename(record_file)
    assert name.endswith(RECORD_SUFFIX), record_file
    return name[:-len(RECORD_SUFFIX)]


def host_probe(db_path='/var/lib/aide/aide.db', db_stat=None, timer_name='ephi-aide-check.timer', timer=None,
               log_path=None, log_stat=None):
    """The one ephi.safeguards.host_probe result that verify.yml and tamper.yml register now, from the
    stat and systemd_service results they registered before (the recorded fixtures' shape). A failed,
    skipped or missing old probe was the probe's only module run: the whole result is that failure."""
    for old in (db_stat, timer):
        if old is None or probe_failed(old):
            return None if old is None else {key: old[key] for key in ('failed', 'skipped', 'msg') if key in old}
    paths = {db_path: dict(db_stat['stat'])}
    if log_stat is not None and not probe_failed(log_stat):
        paths[log_path] = dict(log_stat['stat'])
    status = timer.get('status') or {}
    units = {timer_name: {'load': 'loaded' if status else '', 'active': status.get('ActiveState') or '', 'sub': '',
                          'enabled': status.get('UnitFileState') or ''}}
    return {'changed': False, 'failed': False, 'paths': paths, 'units': units}


def new_arguments(old):
    """The old template's variables -> the probes and policy of roles/aide/tasks/verify.yml."""
    probes = {
        'config': old['__aide_verify_config'],
        'host': host_probe(old['__aide_db_path'], old['__aide_db_stat'], old['__aide_timer'], old['__aide_verify_timer']),
        'check': old['__aide_verify_check'],
        'record': old['__aide_record'],
    }
    policy = {
        'config_path': old['__aide_config_path'],
        'db_path': old['__aide_db_path'],
        'record_file': old['__aide_record_file'],
        'controller_hash_dir': old['aide_controller_hash_dir'],
        'watched': old['__aide_watched'],
        'timer': old['__aide_timer'],
        'timer_enabled': old['aide_timer_enabled'],
        'on_calendar': old['aide_check_on_calendar'],
        'hostname': hostname_of(old['__aide_record_file']),
    }
    return probes, policy


def test_fixture_table_covers_every_branch():
    names = [os.path.basename(path) for path in CASES]
    assert sum(name.startswith('lab-') for name in names) == 6, names
    statuses = dict((fn.__name__, set()) for fn in CONTROLS)
    for path in CASES:
        for control, rec in zip(CONTROLS, load(path)['expected']):
            statuses[control.__name__].add(rec['status'])
    assert statuses == {
        'aide_installed': {'pass', 'fail'},
        'aide_baseline': {'pass', 'fail'},
        'aide_scheduled_check': {'pass', 'fail', 'not_applicable'},
        'aide_check_clean': {'pass', 'fail'},
    }


@pytest.mark.parametrize('path', CASES, ids=[os.path.basename(p)[:-5] for p in CASES])
def test_evidence_is_what_the_old_template_gave(path):
    case = load(path)
    probes, policy = new_arguments(case['inputs'])
    assert dumps(build_controls(probes, policy)) == dumps(case['expected'])


@pytest.mark.parametrize('path', CASES, ids=[os.path.basename(p)[:-5] for p in CASES])
def test_tamper_message_of_verify_is_the_old_one(path):
    # In verify the old vars computed __aide_tamper_msg without baseline.log
    # (never stat'ed there) and with aide_accept_changes at its default.
    old = load(path)['inputs']
    probes, policy = new_arguments(old)
    policy.update(log_path='/var/lib/aide/ephi-safeguards/baseline.log', accept=False)
    result = tamper({'host': probes['host'], 'record': probes['record']}, policy)
    assert (result['msg'] if not result['consistent'] else '') == old['__aide_tamper_msg']


# --- The tamper state -------------------------------------------------------

def tamper_arguments(inputs):
    record_file = '%s/%s%s' % (inputs['aide_controller_hash_dir'], inputs['inventory_hostname'], RECORD_SUFFIX)
    log_path = inputs['aide_report_dir'] + '/baseline.log'
    host = host_probe(db_stat=inputs['__aide_db_stat'], timer={}, log_path=log_path, log_stat=inputs['__aide_log_stat'])
    probes = {'host': host, 'record': inputs['__aide_record']}
    policy = {'db_path': '/var/lib/aide/aide.db', 'record_file': record_file, 'hostname': inputs['inventory_hostname'],
              'log_path': log_path, 'accept': inputs['__aide_accept']}
    return probes, policy


def test_tamper_table_covers_every_old_state():
    assert {case['expected']['state'] for case in TAMPER_CASES} == {'consistent', 'tampered', 'deleted', 'lost', 'unrecorded'}


@pytest.mark.parametrize('case', TAMPER_CASES, ids=[c['name'] for c in TAMPER_CASES])
def test_tamper_gives_the_old_state_and_messages(case):
    probes, policy = tamper_arguments(case['inputs'])
    assert policy['record_file'] == case['expected']['record_file']
    result = tamper(probes, policy)
    expected = case['expected']
    assert result['state'] == expected['state']
    assert result['consistent'] is (expected['state'] == 'consistent')
    # The assert of tamper.yml shows msg: the old fail_msg, or the old success_msg.
    assert result['msg'] == (expected['msg'] if expected['msg'] else expected['success_msg'])
    assert result['init_action'] == expected['init_action']


EXISTS = {'exists': True, 'checksum': 'aa'}
MISSING = {'exists': False}


@pytest.mark.parametrize('db,recorded,log_trace,accept,state', [
    (EXISTS, 'aa', False, False, 'consistent'),
    (EXISTS, 'bb', False, False, 'tampered'),
    (EXISTS, 'bb', True, True, 'tampered'),
    (MISSING, 'aa', False, False, 'deleted'),
    (MISSING, 'aa', True, True, 'consistent'),
    (MISSING, '', True, False, 'lost'),
    (MISSING, '', True, True, 'consistent'),
    (MISSING, '', False, False, 'consistent'),
    (EXISTS, '', False, False, 'unrecorded'),
    (EXISTS, '', False, True, 'consistent'),
    # Could not examine: never consistent, accepting or not.
    (None, 'aa', False, False, 'unexamined'),
    (None, '', False, True, 'unexamined'),
    ({'exists': True}, 'aa', False, True, 'unexamined'),
    ({'exists': True, 'isdir': True}, '', False, True, 'unexamined'),
])
def test_tamper_state_table(db, recorded, log_trace, accept, state):
    assert tamper_state(db, recorded, log_trace, accept) == state


@pytest.mark.parametrize('db_stat', [
    None,
    {'failed': True, 'msg': 'Permission denied'},
    {'skipped': True},
    {'changed': False, 'stat': {'exists': True, 'isdir': True}},
])
def test_tamper_fails_when_the_database_cannot_be_examined(db_stat):
    result = tamper({'host': host_probe(db_stat=db_stat, timer={}), 'record': 'aa'},
                    {'db_path': '/var/lib/aide/aide.db', 'record_file': '/ctl/h.aide.db.sha512', 'hostname': 'h',
                     'accept': True})
    assert result['state'] == 'unexamined' and result['consistent'] is False
    assert result['msg'].startswith('AIDE database /var/lib/aide/aide.db on h could not be examined')


def test_tamper_accept_may_be_a_string():
    # An extra var (-e aide_accept_changes=true) arrives as a string; the role passes __aide_accept.
    probes = {'host': host_probe('/db', {'stat': MISSING}, timer={}), 'record': 'aa'}
    policy = {'db_path': '/db', 'record_file': '/ctl/h.aide.db.sha512', 'hostname': 'h'}
    assert tamper(probes, dict(policy, accept='true'))['state'] == 'consistent'
    assert tamper(probes, dict(policy, accept='false'))['state'] == 'deleted'


# --- One table per control: pass, fail, could not examine -------------------

POLICY = {
    'config_path': '/etc/aide/aide.conf', 'db_path': '/var/lib/aide/aide.db',
    'record_file': '/ctl/aide/h1.aide.db.sha512', 'controller_hash_dir': '/ctl/aide',
    'watched': ['/etc/ssh', '/etc/pam.d'], 'timer': 'ephi-aide-check.timer', 'timer_enabled': True,
    'on_calendar': 'daily', 'hostname': 'h1',
}
DB_OK = {'changed': False, 'failed': False, 'stat': {'exists': True, 'checksum': 'abc123'}}
CHECK_CLEAN = {'changed': False, 'failed': False, 'differences': False, 'added': [], 'removed': [],
               'changed_paths': [], 'exit_status': {'rc': 0, 'error': None}}
TIMER_OK = {'failed': False, 'status': {'UnitFileState': 'enabled', 'ActiveState': 'active'}}
PATH_OK = {'failed': False, 'rc': 0, 'stdout': "[X] f '/etc/ssh': selective rule", 'stderr': ''}
SKIPPED = {'changed': False, 'skipped': True, 'skip_reason': 'Conditional result was False'}


def probes(**changes):
    """The probes of a clean host; db_stat and timer (the old shapes) go into the host probe."""
    host = host_probe(db_stat=changes.pop('db_stat', DB_OK), timer=changes.pop('timer', TIMER_OK))
    base = {'config': PATH_OK, 'host': host, 'check': CHECK_CLEAN, 'record': 'abc123'}
    base.update(changes)
    return copy.deepcopy(base)


@pytest.mark.parametrize('config,status,observed', [
    (PATH_OK, 'pass', "aide --path-check: [X] f '/etc/ssh': selective rule"),
    (dict(PATH_OK, rc=1, stdout="[ ] f '/etc/ssh': outside"), 'fail', "aide --path-check: [ ] f '/etc/ssh': outside"),
    ({'failed': False, 'rc': 17, 'stdout': '', 'stderr': 'Configuration error\n'}, 'fail', 'aide --path-check: Configuration error'),
    ({'failed': False, 'rc': 2, 'msg': 'No such file or directory'}, 'fail', 'aide --path-check: No such file or directory'),
    (dict(PATH_OK, stdout='x' * 300), 'pass', 'aide --path-check: ' + 'x' * 197 + '...'),
    # Could not examine.
    (SKIPPED, 'fail', 'aide --path-check: '),
    (None, 'fail', 'aide --path-check: could not examine AIDE: no probe result'),
    # host_probe's answer to the command (verify.yml): run, or no aide program.
    ({'argv': ['/usr/bin/aide', '--path-check'], 'rc': 0, 'stdout': "[X] f '/etc/ssh': selective rule", 'stderr': ''},
     'pass', "aide --path-check: [X] f '/etc/ssh': selective rule"),
    ({'argv': ['/usr/bin/aide', '--path-check'], 'rc': None, 'stdout': '', 'stderr': ''},
     'fail', 'aide --path-check: no aide program (AIDE is not installed)'),
    (dict(PATH_OK, failed=True, msg='unreachable'), 'fail', "aide --path-check: [X] f '/etc/ssh': selective rule"),
])
def test_aide_installed(config, status, observed):
    rec = aide_installed(probes(config=config), POLICY)
    assert (rec['status'], rec['observed']) == (status, observed)
    assert rec['check'] == 'AIDE is installed, /etc/aide/aide.conf is valid and watches /etc/ssh'


@pytest.mark.parametrize('db_stat,record,hash_dir,status,observed', [
    (DB_OK, 'abc123', '/ctl/aide', 'pass', 'sha512 abc123 matches the controller record'),
    (DB_OK, 'fff000', '/ctl/aide', 'fail', 'AIDE database /var/lib/aide/aide.db on h1 was changed behind our back'),
    ({'stat': {'exists': False}}, 'abc123', '/ctl/aide', 'fail', 'no baseline database'),
    (DB_OK, '', '', 'fail', 'no controller record directory (aide_controller_hash_dir) configured'),
    (DB_OK, '', '/ctl/aide', 'fail', 'no controller record for this database'),
    # Could not examine.
    ({'failed': True, 'msg': 'Permission denied'}, 'abc123', '/ctl/aide', 'fail',
     'could not examine the baseline database: Permission denied'),
    (SKIPPED, 'abc123', '/ctl/aide', 'fail', 'could not examine the baseline database: no probe result'),
    (None, 'abc123', '/ctl/aide', 'fail', 'could not examine the baseline database: no probe result'),
    ({'stat': {'exists': True, 'isdir': True}}, 'abc123', '/ctl/aide', 'fail',
     'AIDE database /var/lib/aide/aide.db on h1 could not be examined'),
])
def test_aide_baseline(db_stat, record, hash_dir, status, observed):
    rec = aide_baseline(probes(db_stat=db_stat, record=record), dict(POLICY, controller_hash_dir=hash_dir))
    assert rec['status'] == status
    assert rec['observed'].startswith(observed), rec['observed']
    assert rec['check'] == ('Baseline /var/lib/aide/aide.db exists and its sha512 matches the controller record '
                            '/ctl/aide/h1.aide.db.sha512')


@pytest.mark.parametrize('timer,enabled,status,observed', [
    (TIMER_OK, True, 'pass', 'UnitFileState=enabled, ActiveState=active'),
    ({'status': {'UnitFileState': 'disabled', 'ActiveState': 'inactive'}}, True, 'fail',
     'UnitFileState=disabled, ActiveState=inactive'),
    ({'status': {'UnitFileState': 'enabled', 'ActiveState': 'failed'}}, True, 'fail',
     'UnitFileState=enabled, ActiveState=failed'),
    ({'status': {'UnitFileState': 'disabled', 'ActiveState': 'inactive'}}, False, 'not_applicable',
     'UnitFileState=disabled, ActiveState=inactive'),
    (TIMER_OK, 'no', 'not_applicable', 'UnitFileState=enabled, ActiveState=active'),
    # Could not examine.
    ({'failed': False, 'msg': 'Service is in unknown state', 'status': {}}, True, 'fail',
     'UnitFileState=unknown, ActiveState=unknown'),
    (SKIPPED, True, 'fail', 'UnitFileState=unknown, ActiveState=unknown'),
    (None, True, 'fail', 'UnitFileState=unknown, ActiveState=unknown'),
    (dict(TIMER_OK, failed=True), True, 'fail', 'UnitFileState=unknown, ActiveState=unknown'),
])
def test_aide_scheduled_check(timer, enabled, status, observed):
    rec = aide_scheduled_check(probes(timer=timer), dict(POLICY, timer_enabled=enabled))
    assert (rec['status'], rec['observed']) == (status, observed)
    assert rec['check'] == 'The scheduled check timer ephi-aide-check.timer is enabled and active (OnCalendar daily)'


DRIFT = dict(CHECK_CLEAN, differences=True, added=['/a'], removed=[], changed_paths=['/c%d' % i for i in range(12)],
             exit_status={'rc': 5, 'error': None})
AIDE_ERROR = {'changed': False, 'failed': False, 'failed_when_result': False, 'differences': False, 'rc': 18,
              'msg': 'aide --check failed with exit status 18 (IO error): cannot open',
              'exit_status': {'rc': 18, 'error': 'IO error', 'differences': False}}


@pytest.mark.parametrize('check,status,observed', [
    (CHECK_CLEAN, 'pass', 'clean'),
    (DRIFT, 'fail', '1 added, 0 removed, 12 changed: /a, ' + ', '.join('/c%d' % i for i in range(9))),
    # Could not examine.
    (SKIPPED, 'fail', 'no baseline to check against'),
    ({'failed': True, 'msg': 'The task timed out after 3600 seconds.'}, 'fail', 'The task timed out after 3600 seconds.'),
    (AIDE_ERROR, 'fail', 'aide --check failed with exit status 18 (IO error): cannot open'),
    ({'failed': False, 'differences': False, 'msg': 'cannot read the AIDE report: garbage',
      'exit_status': {'rc': 0, 'error': None}}, 'fail', 'cannot read the AIDE report: garbage'),
    (None, 'fail', 'the AIDE check returned no result'),
    ({}, 'fail', 'the AIDE check returned no result'),
])
def test_aide_check_clean(check, status, observed):
    rec = aide_check_clean(probes(check=check), POLICY)
    assert (rec['status'], rec['observed']) == (status, observed)


def test_a_check_without_a_database_has_no_baseline_to_check_against():
    # verify.yml runs the check with its probe: AIDE's error about the missing database is no news.
    no_db = {'failed': False, 'stat': {'exists': False}}
    rec = aide_check_clean(probes(check=AIDE_ERROR, db_stat=no_db), POLICY)
    assert (rec['status'], rec['observed']) == ('fail', 'no baseline to check against')
    # A probe that did not answer cannot say so: the check's own message.
    rec = aide_check_clean(probes(check=AIDE_ERROR, db_stat={'failed': True, 'msg': 'probe failed'}), POLICY)
    assert (rec['status'], rec['observed']) == ('fail', AIDE_ERROR['msg'])


def test_missing_probes_fail_every_control():
    records = build_controls({}, POLICY)
    assert [r['id'] for r in records] == ['aide-installed', 'aide-baseline', 'aide-scheduled-check', 'aide-check-clean']
    assert {r['status'] for r in records} == {'fail'}


def test_controls_are_named_after_their_ids():
    for control, rec in zip(CONTROLS, build_controls(probes(), POLICY)):
        assert control.__name__ == rec['id'].replace('-', '_')
        assert rec['status'] == 'pass'
    assert aide_controls.build_controls(probes(), POLICY) == build_controls(probes(), POLICY)


def test_the_probe_that_did_not_look_at_the_database_or_the_timer_examines_neither():
    # A probe result without the database's path or the timer's unit (another probe's result,
    # or one of a role that looked elsewhere) fails both controls rather than passing either.
    other = {'changed': False, 'failed': False, 'paths': {'/etc/other': {'exists': True, 'checksum': 'abc123'}},
             'units': {'other.timer': {'load': 'loaded', 'active': 'active', 'enabled': 'enabled'}}}
    records = build_controls(dict(probes(), host=other), POLICY)
    by_id = dict((r['id'], r) for r in records)
    assert by_id['aide-baseline']['status'] == 'fail'
    assert by_id['aide-baseline']['observed'] == 'could not examine the baseline database: no probe result'
    assert (by_id['aide-scheduled-check']['status'], by_id['aide-scheduled-check']['observed']) == (
        'fail', 'UnitFileState=unknown, ActiveState=unknown')
