# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ssh_key_policy evidence controls.

The fixtures hold the inputs the old Jinja template (verify_controls.j2) read,
recorded on the lab or edited to reach every branch, and the records it gave
(corrected where it was wrong, see CORRECTED). The new functions must give
exactly those records.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import glob
import json
import os

import pytest

from ansible_collections.ephi.safeguards.plugins.module_utils import ssh_key_policy_controls as controls
from ansible_collections.ephi.safeguards.plugins.module_utils import ssh_policy

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures', 'evidence', 'ssh_key_policy')
CASES = sorted(os.path.basename(p)[:-len('.json')] for p in glob.glob(os.path.join(FIXTURES, '*.json')))
POLICY_VARS = ('key_types', 'rsa_min_bits', 'max_auth_tries', 'login_grace_time', 'client_alive_interval',
               'client_alive_count_max', 'host_key_types', 'store_dir', 'emergency_user')
# Fixtures whose expected records differ from what the old template gave.
CORRECTED = {
    # `sshd -T` printed nothing: the template passed the transport control on no data.
    'sshd-t-printed-nothing',
    # The audit could not be used: the host-key, central-store, weak/planted and
    # emergency controls failed with '0 keys' and no reason; they now say why.
    'audit-failed', 'audit-failed-without-message', 'audit-skipped', 'emergency-audit-failed',
}


def load(name):
    with open(os.path.join(FIXTURES, name + '.json')) as handle:
        return json.load(handle)


def probes_and_policy(inputs):
    """The old template's variables -> the new probes and policy."""
    probes = {'ssh_key_audit': inputs['__ssh_key_policy_verify'], 'sshd_per_spec': inputs['__ssh_key_policy_per_spec']}
    policy = dict((name, inputs['ssh_key_policy_' + name]) for name in POLICY_VARS)
    policy['validated'] = inputs['__ssh_key_policy_validated']
    return probes, policy


def dump(records):
    return json.dumps(records, sort_keys=True, indent=1)


def test_every_branch_has_a_fixture():
    assert len(CASES) >= 20
    assert [c for c in CASES if c.startswith('lab-')] == ['lab-%d-%s' % (n, s) for n in (1, 2, 3) for s in ('converged', 'fresh')]
    assert CORRECTED <= set(CASES)


@pytest.mark.parametrize('name', CASES)
def test_records_equal_the_fixture(name):
    fixture = load(name)
    probes, policy = probes_and_policy(fixture['inputs'])
    # The template's declared fingerprints are what the new code derives from the validation.
    if not fixture['inputs']['__ssh_key_policy_validated']['errors']:
        assert controls.declared_fingerprints(policy['validated']) == fixture['inputs']['__ssh_key_policy_declared_fingerprints']
    # The fixtures hold the first ten controls; the issue 13 ones are tested in test_ssh_key_policy_side_channels.py.
    ids = set(r['id'] for r in fixture['expected'])
    assert dump([r for r in controls.build_controls(probes, policy) if r['id'] in ids]) == dump(fixture['expected'])


def test_controls_are_named_after_their_ids_in_report_order():
    records = controls.build_controls(*probes_and_policy(load('lab-3-converged')['inputs']))
    assert [r['id'] for r in records] == [f.__name__.replace('_', '-') for f in controls.CONTROLS]
    assert len(records) == 17


# Per control: a passing host, a failing one, and one whose probe could not examine it.
PASSING = 'lab-3-converged'
FAILING = {
    'ssh_key_policy_keys_only': 'lab-1-fresh',
    'ssh_key_policy_no_root_login': 'drift-per-account-only',
    'ssh_key_policy_strong_keys': 'drift-global-and-per-account',
    'ssh_key_policy_transport': 'lab-2-fresh',
    'ssh_key_policy_idle_logoff': 'drift-per-account-only',
    'ssh_key_policy_login_audit': 'drift-global-and-per-account',
    'ssh_key_policy_host_keys': 'host-keys-weak-and-no-ed25519',
    'ssh_key_policy_central_store': 'store-undeclared-stale-and-other-sources',
    'ssh_key_policy_no_weak_or_planted_keys': 'weak-and-planted-keys',
    'ssh_key_policy_emergency_access': 'emergency-without-expiry',
}
UNEXAMINED = ['audit-failed', 'audit-failed-without-message', 'audit-skipped', 'sshd-t-printed-nothing', 'missing-probes']


def run(control, name):
    if name == 'missing-probes':
        probes, policy = {}, probes_and_policy(load(PASSING)['inputs'])[1]
        policy['emergency_user'] = 'breakglass'
    else:
        probes, policy = probes_and_policy(load(name)['inputs'])
        if name.startswith(('audit-', 'sshd-t-')):
            policy['emergency_user'] = 'breakglass'
    return getattr(controls, control)(probes, policy)


@pytest.mark.parametrize('control', sorted(FAILING))
def test_pass(control):
    rec = run(control, PASSING)
    assert rec['status'] == ('not_applicable' if control == 'ssh_key_policy_emergency_access' else 'pass'), rec


@pytest.mark.parametrize('control, name', sorted(FAILING.items()))
def test_fail(control, name):
    assert run(control, name)['status'] == 'fail'


@pytest.mark.parametrize('name', UNEXAMINED)
@pytest.mark.parametrize('control', sorted(FAILING))
def test_could_not_examine_fails(control, name):
    assert run(control, name)['status'] == 'fail'


# The controls over keywords sshd applies per connection, and the central store.
PER_SPEC = ['ssh_key_policy_keys_only', 'ssh_key_policy_no_root_login', 'ssh_key_policy_strong_keys', 'ssh_key_policy_idle_logoff',
            'ssh_key_policy_login_audit', 'ssh_key_policy_central_store']


@pytest.mark.parametrize('control', PER_SPEC)
def test_an_account_or_address_that_was_not_evaluated_fails(control):
    probes, policy = probes_and_policy(load(PASSING)['inputs'])
    for per_spec in (None, {'drift': [], 'errors': ['no connection from a non-loopback address was evaluated'], 'specs': 1}):
        probes = dict(probes, sshd_per_spec=per_spec)
        rec = getattr(controls, control)(probes, policy)
        assert rec['status'] == 'fail'
        assert 'NOT examined' in rec['observed']


def test_why_the_per_account_evaluation_did_not_run_reaches_the_evidence():
    probes, policy = probes_and_policy(load(PASSING)['inputs'])
    why = 'the accounts are not known: the probe (passwd) did not list them'
    probes = dict(probes, sshd_per_spec=ssh_policy.per_spec_drift('', {}, specs=[], error=why))
    rec = controls.ssh_key_policy_keys_only(probes, policy)
    assert rec['status'] == 'fail' and 'NOT examined' in rec['observed'] and why in rec['observed']


def test_the_emergency_account_passes_with_expiring_keys_only():
    rec = run('ssh_key_policy_emergency_access', 'emergency-expiring')
    assert (rec['status'], rec['observed']) == ('pass', '1 key(s) usable, expiring 202701011200')
    assert run('ssh_key_policy_emergency_access', 'emergency-no-key')['status'] == 'fail'


def test_stale_store_users_are_listed_in_the_store_order():
    probes, policy = probes_and_policy(load(PASSING)['inputs'])
    probes = copy.deepcopy(probes)
    probes['ssh_key_audit']['store_users'] = ['alice', 'ephi-admin', 'mallory', 'zed']
    rec = controls.ssh_key_policy_central_store(probes, policy)
    assert rec['observed'].endswith('; store files of undeclared users: alice, mallory, zed')


def test_nothing_is_declared_while_the_declaration_has_errors():
    validated = {'errors': [], 'users': {'a': {'keys': [{'fingerprint': 'SHA256:x'}]}}}
    assert controls.declared_fingerprints(validated) == {'a': ['SHA256:x']}
    assert controls.declared_fingerprints(dict(validated, errors=['bad'])) == {}
    assert controls.declared_fingerprints(None) == {}


KEY_CONTROLS = ['ssh_key_policy_host_keys', 'ssh_key_policy_central_store', 'ssh_key_policy_no_weak_or_planted_keys',
                'ssh_key_policy_emergency_access']


@pytest.mark.parametrize('name', [n for n in UNEXAMINED if n != 'missing-probes'])
@pytest.mark.parametrize('control', KEY_CONTROLS)
def test_a_key_control_that_could_not_examine_says_why(control, name):
    rec = run(control, name)
    assert rec['status'] == 'fail' and '; NOT examined: ' in rec['observed'], rec
    assert '; NOT examined: ' not in run(control, PASSING)['observed']
