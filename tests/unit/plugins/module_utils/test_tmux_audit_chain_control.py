# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""tmux-audit-chain (module_utils/tmux_controls.py): pass, each verdict that fails, not examined, gate off."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os

from ansible_collections.ephi.safeguards.plugins.module_utils import tmux_controls as tc
from ansible_collections.ephi.safeguards.tests.unit.plugins.module_utils.test_tmux_controls import load, probes_policy

BASE = os.path.join(os.path.dirname(__file__), 'fixtures', 'evidence', 'tmux', 'gate-in-force.json')


def base():
    return probes_policy(load(BASE)['inputs'])


def bad_file(index, status, line):
    return {'path': '/var/log/ephi/erin/h-pty-%d.cast' % index, 'status': status, 'line': line,
            'chunk': [line, line + 4], 'seq': 2, 'detail': 'x'}


def test_passes_and_counts():
    probes, policy = base()
    rec = tc.tmux_audit_chain(probes, policy)
    assert rec['status'] == 'pass' and '5 recording(s) examined against 14 chain head(s)' in rec['observed']
    assert '1 open' in rec['observed'] and rec['hipaa'] == '164.312(b), 164.312(c)(1)'


def test_fails_naming_each_file_and_its_first_bad_chunk():
    probes, policy = base()
    chain = probes['audit_chain']
    chain['files'] = [bad_file(0, 'modified', 7), bad_file(1, 'truncated', 12), bad_file(2, 'deleted', 1)]
    chain['summary'] = dict(chain['summary'], modified=1, truncated=1, deleted=1, bad=3)
    chain['ignored'] = 1
    rec = tc.tmux_audit_chain(probes, policy)
    assert rec['status'] == 'fail', rec
    for text in ('3 FAIL', '/var/log/ephi/erin/h-pty-0.cast: modified from line 7 (chunk 7-11)',
                 'h-pty-1.cast: truncated from line 12', 'h-pty-2.cast: deleted from line 1',
                 "1 chain event(s) not from root's recorder ignored"):
        assert text in rec['observed'], (text, rec['observed'])


def test_names_five_and_counts_the_rest():
    probes, policy = base()
    chain = probes['audit_chain']
    chain['files'] = [bad_file(i, 'gap', 3) for i in range(8)]
    chain['summary'] = dict(chain['summary'], gap=8, bad=8)
    rec = tc.tmux_audit_chain(probes, policy)
    assert rec['status'] == 'fail' and 'and 3 more' in rec['observed'] and 'h-pty-5' not in rec['observed']


def test_unverified_fails_open_and_legacy_pass():
    probes, policy = base()
    chain = probes['audit_chain']
    chain['files'] = [bad_file(0, 'unverified', 1)]
    chain['summary'] = dict(chain['summary'], unverified=1, bad=1)
    assert tc.tmux_audit_chain(probes, policy)['status'] == 'fail'
    chain['files'] = [dict(bad_file(0, 'legacy', 1), chunk=None, line=None)]
    chain['summary'] = dict(chain['summary'], unverified=0, legacy=1, bad=0)
    rec = tc.tmux_audit_chain(probes, policy)
    assert rec['status'] == 'pass' and '1 recorded before the chain existed' in rec['observed']
    chain['files'] = [dict(bad_file(0, 'expired', 1), chunk=None, line=None)]
    chain['summary'] = dict(chain['summary'], legacy=0, expired=1, bad=0)
    rec = tc.tmux_audit_chain(probes, policy)
    assert rec['status'] == 'pass' and '1 older than the journal' in rec['observed']


def test_not_examined_fails():
    probes, policy = base()
    for probe, why in (({'failed': True, 'msg': 'the journal could not be read (journalctl rc=1): x'},
                        'journal could not be read'),
                       ({'changed': False, 'msg': 'the store /var/log/ephi is not a directory'}, 'not a directory'),
                       ({'skipped': True}, 'did not run'), (None, 'did not run'), ({'changed': False}, 'did not run')):
        changed = copy.deepcopy(probes)
        changed['audit_chain'] = probe
        rec = tc.tmux_audit_chain(changed, policy)
        assert rec['status'] == 'fail' and 'NOT examined' in rec['observed'] and why in rec['observed'], (probe, rec)
    unmounted = copy.deepcopy(probes)
    unmounted['session_gate']['store']['encrypted'] = False
    rec = tc.tmux_audit_chain(unmounted, policy)
    assert rec['status'] == 'fail' and 'NOT the mounted encrypted file system' in rec['observed']
    del unmounted['session_gate']
    assert tc.tmux_audit_chain(unmounted, policy)['status'] == 'fail'


def test_gate_off_not_applicable():
    probes, policy = base()
    policy['session_gate'] = False
    rec = tc.tmux_audit_chain(probes, policy)
    assert rec['status'] == 'not_applicable' and 'disabled by tmux_session_gate' in rec['observed']
