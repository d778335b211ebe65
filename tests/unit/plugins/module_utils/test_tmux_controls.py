# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The tmux controls against the records the old verify_controls.j2 produced.

Each fixture in fixtures/evidence/tmux holds the inputs of the old template
(recorded on the lab, or edited to reach every branch) and the records it
rendered; fixtures with ``old_template_wrong`` hold the corrected records and
say what the old template got wrong.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import glob
import json
import os

import pytest

from ansible_collections.ephi.safeguards.plugins.module_utils import tmux_controls as tc

FIXTURES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), 'fixtures', 'evidence', 'tmux', '*.json')))


def probes_policy(inputs):
    """The old template's variables as the probes and the policy of roles/tmux/tasks/verify.yml."""
    probes = {
        'settings': inputs['__tmux_verify_settings'],
        'lock_program': inputs['__tmux_lock_program'],
        'autostart_file': inputs['__tmux_autostart_file'],
        'passwd': inputs['__tmux_verify_passwd'],
        'shells': inputs['__tmux_shells'],
        'capture_socket': inputs['__tmux_verify_capture_socket'],
        'capture_mounted': inputs['__tmux_capture_active'],
    }
    policy = {
        'config_path': inputs['tmux_config_path'],
        'lock_after_time': inputs['tmux_lock_after_time'],
        'lock_command': inputs['tmux_lock_command'],
        'history_limit': inputs['tmux_history_limit'],
        'autostart': inputs['tmux_autostart'],
        'autostart_path': inputs['tmux_autostart_path'],
        'autostart_exempt_users': inputs['tmux_autostart_exempt_users'],
        'autostart_covered_shells': inputs['__tmux_autostart_covered_shells'],
        'no_login_shells': inputs['__tmux_no_login_shells'],
        # Not read by the old template (it passed a skipped probe as "not listed").
        'remove_from_shells': inputs.get('tmux_remove_from_shells', True),
        'capture': inputs['tmux_capture'],
        'capture_dir': inputs['tmux_capture_dir'],
    }
    return probes, policy


def dump(records):
    return json.dumps(records, sort_keys=True, indent=2)


def load(path):
    with open(path) as f:
        return json.load(f)


def test_fixtures_cover_the_lab_and_every_control():
    names = [os.path.basename(p) for p in FIXTURES]
    assert len([n for n in names if n.startswith('lab-')]) == 6
    statuses = set()
    for path in FIXTURES:
        for rec in load(path)['expected']:
            statuses.add((rec['id'], rec['status']))
    for cid in ('tmux-lock-policy', 'tmux-live-servers', 'tmux-autostart', 'tmux-not-a-shell',
                'tmux-session-capture'):
        assert (cid, 'pass') in statuses and (cid, 'fail') in statuses, cid
    for cid in ('tmux-autostart', 'tmux-not-a-shell', 'tmux-session-capture'):
        assert (cid, 'not_applicable') in statuses, cid


@pytest.mark.parametrize('path', FIXTURES, ids=[os.path.basename(p)[:-5] for p in FIXTURES])
def test_same_records_as_the_old_template(path):
    case = load(path)
    probes, policy = probes_policy(case['inputs'])
    assert dump(tc.build_controls(probes, policy)) == dump(case['expected'])


# ---------------------------------------------------------------------------
# Table-driven, per control: pass, fail, could not examine.
# ---------------------------------------------------------------------------

def base():
    return probes_policy(load(os.path.join(os.path.dirname(__file__), 'fixtures', 'evidence', 'tmux',
                                           'lab-1-converged.json'))['inputs'])


def settings_msg(p, q):
    p['settings'] = {'changed': False, 'failed': False, 'failed_when_result': False, 'msg': 'tmux not found'}


def settings_failed(p, q):
    p['settings'] = {'failed': True, 'msg': 'tmux not found'}


def settings_missing(p, q):
    del p['settings']


def settings_file_changed(p, q):
    p['settings'] = dict(p['settings'], file_changed=True)


def lock_program_failed(p, q):
    p['lock_program'] = {'failed': True, 'msg': 'Permission denied'}


def lock_program_missing(p, q):
    del p['lock_program']


def drift(p, q):
    p['settings'] = dict(p['settings'], drift=[{'user': 'u', 'option': 'lock-after-time', 'found': '0',
                                                'scope': 'session', 'target': 'global'}])


def unexamined(p, q):
    p['settings'] = dict(p['settings'], unexamined=[{'user': 'u', 'socket': '/tmp/tmux-1001/default',
                                                     'status': 'denied'}])


def autostart_changed(p, q):
    p['autostart_file'] = dict(p['autostart_file'], changed=True)


def autostart_skipped(p, q):
    p['autostart_file'] = {'skipped': True, 'changed': False}


def autostart_failed(p, q):
    p['autostart_file'] = {'failed': True, 'msg': 'validation failed'}


def passwd_skipped(p, q):
    p['passwd'] = {'skipped': True, 'changed': False}


def passwd_missing(p, q):
    del p['passwd']


def passwd_zsh(p, q):
    accounts = dict(p['passwd']['ansible_facts']['getent_passwd'])
    accounts['zed'] = ['x', '1001', '1001', '', '/home/zed', '/usr/bin/zsh']
    p['passwd'] = {'ansible_facts': {'getent_passwd': accounts}, 'changed': False, 'failed': False}


def autostart_off(p, q):
    q['autostart'] = False
    p['autostart_file'] = p['passwd'] = {'skipped': True, 'changed': False}


def autostart_off_string(p, q):
    autostart_off(p, q)
    q['autostart'] = 'no'


def shells_changed(p, q):
    p['shells'] = dict(p['shells'], changed=True)


def shells_skipped(p, q):
    p['shells'] = {'skipped': True, 'changed': False}


def shells_failed(p, q):
    p['shells'] = {'failed': True, 'msg': 'Destination /etc/shells does not exist'}


def shells_off(p, q):
    q['remove_from_shells'] = False
    shells_skipped(p, q)


def not_mounted(p, q):
    p['capture_mounted'] = False


def socket_inactive(p, q):
    p['capture_socket'] = dict(p['capture_socket'], stdout='inactive')


def socket_missing(p, q):
    del p['capture_socket']


def pane_drift(p, q):
    p['settings'] = dict(p['settings'], drift=[{'user': 'u', 'option': 'pane_pipe', 'found': '0',
                                                'scope': 'pane', 'target': 's:0.0'}])


def capture_off(p, q):
    q['capture'] = False
    p['capture_mounted'] = False
    socket_inactive(p, q)


def capture_off_then(*edits):
    def apply(p, q):
        capture_off(p, q)
        for e in edits:
            e(p, q)
    return apply


def socket_active(p, q):
    p['capture_socket'] = dict(p['capture_socket'], stdout='active')


def file_hook(p, q):
    p['settings'] = dict(p['settings'], changes=[{'kind': 'hook', 'action': 'remove', 'name': 'session-created'}])


def live_hook(p, q):
    p['settings'] = dict(p['settings'], drift=[{'user': 'u', 'option': 'session-created', 'found': 'x',
                                                'scope': 'hook', 'target': 'global'}])


def unchanged(p, q):
    pass


TABLE = [
    # control, edit, status, part of the observed text
    (tc.tmux_lock_policy, unchanged, 'pass', 'file matches the policy; lock program /usr/bin/vlock present'),
    (tc.tmux_lock_policy, settings_file_changed, 'fail', 'file differs from the policy'),
    (tc.tmux_lock_policy, settings_msg, 'fail', 'tmux not found; lock program'),
    (tc.tmux_lock_policy, settings_failed, 'fail', 'tmux not found; lock program'),
    (tc.tmux_lock_policy, settings_missing, 'fail', 'no tmux_settings result; lock program'),
    (tc.tmux_lock_policy, lock_program_failed, 'fail', 'MISSING or not executable'),
    (tc.tmux_lock_policy, lock_program_missing, 'fail', 'MISSING or not executable'),
    (tc.tmux_live_servers, unchanged, 'pass', '0 live server(s) audited; 0 drifted setting(s)'),
    (tc.tmux_live_servers, drift, 'fail', '1 drifted setting(s): u lock-after-time 0'),
    (tc.tmux_live_servers, unexamined, 'fail', '1 server(s) NOT examined: u /tmp/tmux-1001/default denied'),
    (tc.tmux_live_servers, settings_msg, 'fail', 'live servers NOT examined: tmux not found'),
    (tc.tmux_live_servers, settings_failed, 'fail', 'live servers NOT examined: tmux not found'),
    (tc.tmux_live_servers, settings_missing, 'fail', 'live servers NOT examined: no tmux_settings result'),
    (tc.tmux_autostart, unchanged, 'pass', 'autostart script in place'),
    (tc.tmux_autostart, autostart_changed, 'fail', 'autostart script missing or altered'),
    (tc.tmux_autostart, passwd_zsh, 'fail', 'no autostart for: zed (/usr/bin/zsh)'),
    (tc.tmux_autostart, autostart_skipped, 'fail', 'autostart script NOT examined'),
    (tc.tmux_autostart, autostart_failed, 'fail', 'autostart script NOT examined'),
    (tc.tmux_autostart, passwd_skipped, 'fail', 'accounts and their login shells NOT examined'),
    (tc.tmux_autostart, passwd_missing, 'fail', 'accounts and their login shells NOT examined'),
    (tc.tmux_autostart, autostart_off, 'not_applicable', 'autostart disabled by tmux_autostart'),
    (tc.tmux_autostart, autostart_off_string, 'not_applicable', 'autostart disabled by tmux_autostart'),
    (tc.tmux_not_a_shell, unchanged, 'pass', 'tmux not listed'),
    (tc.tmux_not_a_shell, shells_changed, 'fail', 'tmux listed in /etc/shells'),
    (tc.tmux_not_a_shell, shells_skipped, 'fail', '/etc/shells NOT examined'),
    (tc.tmux_not_a_shell, shells_failed, 'fail', '/etc/shells NOT examined'),
    (tc.tmux_not_a_shell, shells_off, 'not_applicable', 'tmux_remove_from_shells is false'),
    (tc.tmux_session_capture, unchanged, 'pass', 'encrypted directory mounted; collector socket active; 0 capture'),
    (tc.tmux_session_capture, not_mounted, 'fail', 'NOT mounted: capture is off'),
    (tc.tmux_session_capture, socket_inactive, 'fail', 'collector socket inactive'),
    (tc.tmux_session_capture, socket_missing, 'fail', 'collector socket missing'),
    (tc.tmux_session_capture, pane_drift, 'fail', '1 capture drift item(s) (hooks unset or panes without a pipe): u pane_pipe s:0.0'),
    (tc.tmux_session_capture, unexamined, 'fail', '1 server(s) NOT examined'),
    (tc.tmux_session_capture, settings_msg, 'fail', 'capture hooks and pane pipes NOT examined: tmux not found'),
    (tc.tmux_session_capture, settings_missing, 'fail', 'capture hooks and pane pipes NOT examined'),
    (tc.tmux_session_capture, capture_off, 'not_applicable', 'capture disabled by tmux_capture; collector, units and hooks removed'),
    (tc.tmux_session_capture, capture_off_then(socket_active), 'fail', 'still in place: collector socket active'),
    (tc.tmux_session_capture, capture_off_then(file_hook), 'fail', 'still in place: capture hooks in /etc/tmux.conf'),
    (tc.tmux_session_capture, capture_off_then(live_hook), 'fail', 'still in place: 1 capture hook(s) still set in live servers'),
    (tc.tmux_session_capture, capture_off_then(unexamined), 'fail', '1 server(s) NOT examined'),
    (tc.tmux_session_capture, capture_off_then(settings_msg), 'fail', 'capture hooks and pane pipes NOT examined: tmux not found'),
    (tc.tmux_session_capture, capture_off_then(socket_missing), 'fail', 'collector socket NOT examined'),
]


@pytest.mark.parametrize('control, change, status, observed', TABLE,
                         ids=['%s-%s-%s' % (c.__name__, e.__name__, s) for c, e, s, o in TABLE])
def test_control(control, change, status, observed):
    probes, policy = base()
    probes, policy = copy.deepcopy(probes), copy.deepcopy(policy)
    change(probes, policy)
    rec = control(probes, policy)
    assert rec['status'] == status, rec
    assert observed in rec['observed'], rec
    if status != 'fail':
        assert 'NOT examined' not in rec['observed']


def test_not_examined_never_passes():
    """Whatever single probe is missing, the controls that read it fail."""
    readers = {'settings': ('tmux-lock-policy', 'tmux-live-servers', 'tmux-session-capture'),
               'lock_program': ('tmux-lock-policy',),
               'autostart_file': ('tmux-autostart',),
               'passwd': ('tmux-autostart',),
               'shells': ('tmux-not-a-shell',),
               'capture_socket': ('tmux-session-capture',),
               'capture_mounted': ('tmux-session-capture',)}
    for name, controls in readers.items():
        probes, policy = base()
        del probes[name]
        by_id = dict((r['id'], r['status']) for r in tc.build_controls(probes, policy))
        for cid in controls:
            assert by_id[cid] == 'fail', (name, cid)


def test_controls_in_report_order():
    probes, policy = base()
    assert [r['id'] for r in tc.build_controls(probes, policy)] == [
        'tmux-lock-policy', 'tmux-live-servers', 'tmux-autostart', 'tmux-not-a-shell', 'tmux-session-capture']
    assert [f.__name__.replace('_', '-') for f in tc.CONTROLS] == [r['id'] for r in tc.build_controls(probes, policy)]


def test_bad_input_raises():
    probes, policy = base()
    with pytest.raises(KeyError):
        tc.build_controls(probes, dict((k, v) for k, v in policy.items() if k != 'capture_dir'))
    bad = copy.deepcopy(probes)
    bad['passwd']['ansible_facts']['getent_passwd']['x'] = ['x', 'notanumber']
    with pytest.raises(ValueError, match='malformed'):
        tc.build_controls(bad, policy)
    with pytest.raises(TypeError):
        tc.autostart_uncovered(['not', 'a', 'dict'])
