# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The aide filters are glue: they give what module_utils/aide_controls.py decides
(tested with the fixtures in tests/unit/plugins/module_utils/test_aide_controls.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.ephi.safeguards.plugins.filter.aide import FilterModule
from ansible_collections.ephi.safeguards.plugins.module_utils.aide_controls import build_controls, tamper

FILTERS = FilterModule().filters()
FIXTURES = os.path.join(os.path.dirname(__file__), '..', 'module_utils', 'fixtures', 'evidence', 'aide')
PROBES = {'host': {'paths': {'/var/lib/aide/aide.db': {'exists': True, 'checksum': 'aa'}},
                   'units': {'ephi-aide-check.timer': {'load': 'loaded', 'active': 'active', 'enabled': 'enabled'}}},
          'record': 'aa', 'config': {'rc': 0, 'stdout': 'x'},
          'check': {'differences': False, 'changed_paths': [], 'exit_status': {'error': None}}}
POLICY = {'config_path': '/etc/aide/aide.conf', 'db_path': '/var/lib/aide/aide.db', 'record_file': '/c/h.aide.db.sha512',
          'controller_hash_dir': '/c', 'watched': ['/etc/ssh'], 'timer': 'ephi-aide-check.timer', 'timer_enabled': True,
          'on_calendar': 'daily', 'hostname': 'h', 'log_path': '/var/lib/aide/ephi-safeguards/baseline.log', 'accept': False}


def test_filters_are_the_module_utils_functions():
    assert FILTERS['aide_controls'](PROBES, POLICY) == build_controls(PROBES, POLICY)
    assert {r['status'] for r in FILTERS['aide_controls'](PROBES, POLICY)} == {'pass'}
    assert FILTERS['aide_tamper'](PROBES, POLICY) == tamper(PROBES, POLICY)
    assert FILTERS['aide_tamper'](PROBES, POLICY)['state'] == 'consistent'


def test_every_filter_has_its_documentation():
    docs = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'plugins', 'filter')
    for name in FILTERS:
        assert os.path.isfile(os.path.join(docs, name + '.yml')), name


def test_recorded_lab_evidence_through_the_filter():
    cases = sorted(glob.glob(os.path.join(FIXTURES, 'lab-*-converged.json')))
    assert len(cases) == 3
    for path in cases:
        with open(path) as fh:
            case = json.load(fh)
        old = case['inputs']
        status = old['__aide_verify_timer']['status']
        host = {'paths': {old['__aide_db_path']: old['__aide_db_stat']['stat']},
                'units': {old['__aide_timer']: {'active': status['ActiveState'], 'enabled': status['UnitFileState']}}}
        probes = {'config': old['__aide_verify_config'], 'host': host, 'check': old['__aide_verify_check'],
                  'record': old['__aide_record']}
        policy = dict(POLICY, record_file=old['__aide_record_file'], controller_hash_dir=old['aide_controller_hash_dir'],
                      watched=old['__aide_watched'])
        assert FILTERS['aide_controls'](probes, policy) == case['expected']


@pytest.mark.parametrize('name', sorted(FILTERS))
def test_filters_refuse_non_dicts(name):
    with pytest.raises(AnsibleFilterError):
        FILTERS[name](['not', 'a', 'dict'], {})
    with pytest.raises(AnsibleFilterError):
        FILTERS[name]({}, 'policy')
