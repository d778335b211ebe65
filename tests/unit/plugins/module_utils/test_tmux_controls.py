# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The tmux controls against the records the old verify_controls.j2 produced.

Each fixture in fixtures/evidence/tmux holds the inputs of the old template
(recorded on the lab, or edited to reach every branch) and the records it
rendered; fixtures with ``old_template_wrong`` hold the corrected records and
say what the old template got wrong. The old template had no session gate:
its fixtures have no tmux_session_gate (the gate was off there, so the gate,
recorder and idle logoff controls fail and the exemptions are not
applicable); the gate-*.json fixtures were written for the session gate
controls (lab-1-converged with the gate wanted and a session_gate_audit result).
No fixture but enforcer-running.json (gate-in-force with the enforcer probe of a
host where the enforcer runs, edited) has the policy enforcer's probe: the
others were recorded before it existed, and their tmux-policy-enforcer record
fails as NOT examined.
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


def host_probe(inputs):
    """The fixture's separate probes (a stat of the lock program, getent passwd, the /etc/shells task in
    check mode, systemctl is-active of the capture socket) as the one host_probe result verify.yml now
    registers; a probe that failed or was skipped leaves its answer out (not examined)."""
    def ran(result):
        return isinstance(result, dict) and not (result.get('failed') or result.get('skipped'))

    probe = {'changed': False, 'paths': {}, 'lines': [], 'units': {}, 'passwd': {}}
    lock = inputs['__tmux_lock_program']
    if ran(lock):
        st = lock.get('stat') or {}
        probe['paths'][inputs['tmux_lock_command'].split()[0]] = (
            {'exists': True, 'type': 'file' if st.get('isreg') else 'other', 'executable': bool(st.get('executable'))}
            if st.get('exists') else {'exists': False})
    if ran(inputs['__tmux_shells']):
        probe['lines'].append({'path': '/etc/shells', 'regexp': 'tmux', 'matched': bool(inputs['__tmux_shells'].get('changed'))})
    socket = inputs['__tmux_verify_capture_socket']
    if ran(socket) and (socket.get('stdout') or '').strip():
        probe['units']['ephi-capture.socket'] = {'active': socket['stdout'].strip()}
    if ran(inputs['__tmux_verify_passwd']):
        probe['passwd'] = inputs['__tmux_verify_passwd']['ansible_facts']['getent_passwd']
    return probe


def probes_policy(inputs):
    """The old template's variables as the probes and the policy of roles/tmux/tasks/verify.yml."""
    probes = {
        'settings': inputs['__tmux_verify_settings'],
        'host': host_probe(inputs),
        'autostart_file': inputs['__tmux_autostart_file'],
        'capture_mounted': inputs['__tmux_capture_active'],
        # Skipped when tmux_session_gate is off, as in verify.yml.
        'session_gate': inputs.get('__tmux_verify_session_gate', {'skipped': True, 'changed': False}),
        # The fixtures recorded before the policy enforcer existed have no
        # enforcer probe: as a skipped probe, the control fails (NOT examined).
        'enforcer': inputs.get('__tmux_verify_enforcer', {'skipped': True, 'changed': False}),
        # Only gate-in-force.json and enforcer-running.json have the console
        # idle logoff probe (added with it); elsewhere tmux-idle-logoff says
        # the console path was NOT examined.
        'console_idle': inputs.get('__tmux_verify_console_idle', {'skipped': True, 'changed': False}),
        # Only gate-in-force.json has the chain verification (added with it);
        # elsewhere tmux-audit-chain fails as NOT examined (or is not
        # applicable with the gate off).
        'audit_chain': inputs.get('__tmux_verify_audit_chain', {'skipped': True, 'changed': False}),
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
        # The fixtures recorded before the session gate existed have no
        # tmux_session_gate: the gate was off there.
        'session_gate': inputs.get('tmux_session_gate', False),
        'session_gate_path': inputs.get('__tmux_session_gate_path', tc.GATE_PATH),
        'session_gate_exempt_users': inputs.get('tmux_session_gate_exempt_users', []),
        'session_idle_logoff': inputs.get('tmux_session_idle_logoff', 1800),
        'session_unrecordable': inputs.get('tmux_session_unrecordable', 'refuse'),
        # The role's default, which the lab ran with.
        'live_mode': inputs.get('tmux_live_mode', 'enforce'),
        'enforcer_interval': inputs.get('tmux_enforcer_interval', 5),
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
    for cid in ('tmux-autostart', 'tmux-not-a-shell', 'tmux-session-capture', 'tmux-session-exemptions'):
        assert (cid, 'not_applicable') in statuses, cid
    for cid in ('tmux-session-gate', 'tmux-session-recorder', 'tmux-idle-logoff', 'tmux-session-exemptions',
                'tmux-policy-enforcer', 'tmux-audit-chain'):
        assert (cid, 'pass') in statuses and (cid, 'fail') in statuses, cid


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


def host_failed(p, q):
    p['host'] = {'failed': True, 'msg': 'Permission denied'}


def host_skipped(p, q):
    p['host'] = {'skipped': True, 'changed': False}


def lock_program_missing(p, q):
    del p['host']['paths'][q['lock_command'].split()[0]]


def lock_program_a_link(p, q):
    p['host']['paths'][q['lock_command'].split()[0]] = {'exists': True, 'type': 'link', 'executable': False}


PLUGIN = '/usr/lib/vlock/scripts/ephi-tmux-event'


def plugin_present(p, q):
    q['lock_plugin_path'] = PLUGIN
    p['host']['paths'][PLUGIN] = {'exists': True, 'type': 'file', 'executable': True}


def plugin_missing(p, q):
    q['lock_plugin_path'] = PLUGIN
    p['host']['paths'][PLUGIN] = {'exists': False}


def plugin_not_probed(p, q):
    q['lock_plugin_path'] = PLUGIN
    p['host']['paths'].pop(PLUGIN, None)


def plugin_not_named(p, q):
    # Another lock program: the plugin is not in the command, so not required.
    q['lock_plugin_path'] = PLUGIN
    q['lock_command'] = '/usr/sbin/vlock-main'


def unsafe_vlock_script(p, q):
    q['lock_command'] = '/usr/bin/vlock'


def bare_lock_program(p, q):
    q['lock_command'] = 'vlock'


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


def autostart_probed(conforms):
    """host_probe's facts of the autostart script (verify.yml): conforming or not (content, owner, mode)."""
    def apply(p, q):
        p['autostart_file'] = {'exists': True, 'type': 'file', 'mode': '0644', 'checksum': 'ab' * 32,
                               'conforms': conforms}
    apply.__name__ = 'autostart_probed_%s' % conforms
    return apply


def autostart_not_probed(p, q):
    p['autostart_file'] = None


def passwd_missing(p, q):
    p['host']['passwd'] = {}


def passwd_zsh(p, q):
    p['host']['passwd'] = dict(p['host']['passwd'], zed=['x', '1001', '1001', '', '/home/zed', '/usr/bin/zsh'])


def autostart_off(p, q):
    q['autostart'] = False
    p['autostart_file'] = {'skipped': True, 'changed': False}
    passwd_missing(p, q)


def autostart_off_string(p, q):
    autostart_off(p, q)
    q['autostart'] = 'no'


def shells_listed(p, q):
    p['host']['lines'] = [dict(p['host']['lines'][0], matched=True)]


def shells_not_probed(p, q):
    p['host']['lines'] = []


def shells_absent(p, q):
    p['host']['lines'] = [dict(p['host']['lines'][0], matched=None)]


def shells_elsewhere(p, q):
    q['shells_path'] = '/etc/other-shells'


def shells_off(p, q):
    q['remove_from_shells'] = False
    shells_not_probed(p, q)


def not_mounted(p, q):
    p['capture_mounted'] = False


def socket_inactive(p, q):
    p['host']['units']['ephi-capture.socket'] = {'active': 'inactive'}


def socket_missing(p, q):
    p['host']['units'] = {}


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
    p['host']['units']['ephi-capture.socket'] = {'active': 'active'}


def file_hook(p, q):
    p['settings'] = dict(p['settings'], changes=[{'kind': 'hook', 'action': 'remove', 'name': 'session-created'}])


def live_hook(p, q):
    p['settings'] = dict(p['settings'], drift=[{'user': 'u', 'option': 'session-created', 'found': 'x',
                                                'scope': 'hook', 'target': 'global'}])


def unchanged(p, q):
    pass


TABLE = [
    # control, edit, status, part of the observed text
    (tc.tmux_lock_policy, unchanged, 'pass', 'file matches the policy; lock program /usr/sbin/vlock-main present'),
    (tc.tmux_lock_policy, plugin_present, 'pass', '; event plugin %s present' % PLUGIN),
    (tc.tmux_lock_policy, plugin_missing, 'fail', 'event plugin %s MISSING or not executable' % PLUGIN),
    (tc.tmux_lock_policy, plugin_not_probed, 'fail', 'event plugin %s MISSING or not executable' % PLUGIN),
    (tc.tmux_lock_policy, plugin_not_named, 'pass', 'lock program /usr/sbin/vlock-main present'),
    (tc.tmux_lock_policy, unsafe_vlock_script, 'fail', "UNSAFE lock: /usr/bin/vlock is a shell script that sources "
                                                       "the user's ~/.vlockrc"),
    (tc.tmux_lock_policy, bare_lock_program, 'fail', "UNSAFE lock: vlock is looked up in the PATH"),
    (tc.tmux_lock_policy, settings_file_changed, 'fail', 'file differs from the policy'),
    (tc.tmux_lock_policy, settings_msg, 'fail', 'tmux not found; lock program'),
    (tc.tmux_lock_policy, settings_failed, 'fail', 'tmux not found; lock program'),
    (tc.tmux_lock_policy, settings_missing, 'fail', 'no tmux_settings result; lock program'),
    (tc.tmux_lock_policy, host_failed, 'fail', 'MISSING or not executable'),
    (tc.tmux_lock_policy, host_skipped, 'fail', 'MISSING or not executable'),
    (tc.tmux_lock_policy, lock_program_missing, 'fail', 'MISSING or not executable'),
    (tc.tmux_lock_policy, lock_program_a_link, 'fail', 'MISSING or not executable'),
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
    (tc.tmux_autostart, autostart_probed(True), 'pass', 'autostart script in place'),
    (tc.tmux_autostart, autostart_probed(False), 'fail', 'autostart script missing or altered'),
    (tc.tmux_autostart, autostart_probed(None), 'fail', 'autostart script missing or altered'),
    (tc.tmux_autostart, autostart_not_probed, 'fail', 'autostart script NOT examined'),
    (tc.tmux_autostart, host_failed, 'fail', 'accounts and their login shells NOT examined'),
    (tc.tmux_autostart, passwd_missing, 'fail', 'accounts and their login shells NOT examined'),
    (tc.tmux_autostart, autostart_off, 'not_applicable', 'autostart disabled by tmux_autostart'),
    (tc.tmux_autostart, autostart_off_string, 'not_applicable', 'autostart disabled by tmux_autostart'),
    (tc.tmux_not_a_shell, unchanged, 'pass', 'tmux not listed'),
    (tc.tmux_not_a_shell, shells_listed, 'fail', 'tmux listed in /etc/shells'),
    (tc.tmux_not_a_shell, shells_absent, 'pass', 'tmux not listed (no /etc/shells)'),
    (tc.tmux_not_a_shell, shells_not_probed, 'fail', '/etc/shells NOT examined'),
    (tc.tmux_not_a_shell, shells_elsewhere, 'fail', '/etc/other-shells NOT examined'),
    (tc.tmux_not_a_shell, host_failed, 'fail', '/etc/shells NOT examined'),
    (tc.tmux_not_a_shell, shells_off, 'not_applicable', 'tmux_remove_from_shells is false'),
    (tc.tmux_session_capture, unchanged, 'pass', 'encrypted directory mounted; collector socket active; 0 capture'),
    (tc.tmux_session_capture, not_mounted, 'fail', 'NOT mounted: capture is off'),
    (tc.tmux_session_capture, socket_inactive, 'fail', 'collector socket inactive'),
    (tc.tmux_session_capture, socket_missing, 'fail', 'collector socket missing'),
    (tc.tmux_session_capture, host_failed, 'fail', 'collector socket missing'),
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


# ---------------------------------------------------------------------------
# The session gate controls, from a host where the gate is in force.
# ---------------------------------------------------------------------------

def gate_base():
    return probes_policy(load(os.path.join(os.path.dirname(__file__), 'fixtures', 'evidence', 'tmux',
                                           'gate-in-force.json'))['inputs'])


def audit_edit(fn):
    def apply(p, q):
        fn(p['session_gate'])
    apply.__name__ = fn.__name__
    return apply


def gate_off(p, q):
    q['session_gate'] = False
    p['session_gate'] = {'skipped': True, 'changed': False}


def gate_off_string(p, q):
    gate_off(p, q)
    q['session_gate'] = 'no'


def audit_msg(p, q):
    p['session_gate'] = {'changed': False, 'failed': False, 'failed_when_result': False, 'msg': 'sshd not found'}


def audit_failed(p, q):
    p['session_gate'] = {'failed': True, 'msg': 'sshd not found'}


def audit_skipped(p, q):
    p['session_gate'] = {'skipped': True, 'changed': False}


def audit_missing(p, q):
    del p['session_gate']


@audit_edit
def root_not_gated(a):
    a['accounts'][-1]['forcecommand'] = None


@audit_edit
def other_forcecommand(a):
    a['accounts'][0]['forcecommand'] = '/usr/local/bin/other'


@audit_edit
def user_rc_allowed(a):
    a['accounts'][0]['permituserrc'] = 'yes'


@audit_edit
def fish_user(a):
    a['accounts'][0].update(shell='/usr/bin/fish', kind='unsupported')


@audit_edit
def hook_missing(a):
    a['hooks'][0]['problem'] = 'no line execs /usr/local/lib/ephi-safeguards/ephi-session-gate'


@audit_edit
def hook_unreadable(a):
    a['hooks'][0]['error'] = 'cannot read: Permission denied'


@audit_edit
def zsh_hook_not_required(a):
    a['hooks'][1]['problem'] = 'missing (No such file or directory)'


@audit_edit
def gate_writable(a):
    a['gate']['chain'][1]['mode'] = 0o40777


@audit_edit
def gate_user_owned(a):
    a['gate']['chain'][0]['uid'] = 1000


@audit_edit
def gate_missing(a):
    a['gate']['error'] = 'missing or not a regular file'
    a['gate']['chain'][0] = {'path': a['gate']['path'], 'error': 'No such file or directory'}


@audit_edit
def screen_listed(a):
    a['unsupported_listed_shells'] = ['/usr/bin/screen']


@audit_edit
def shells_unreadable(a):
    a['shells_error'] = 'cannot read /etc/shells: Permission denied'


@audit_edit
def sshd_failed(a):
    a['accounts'][0].update(forcecommand=None, permituserrc=None, error='sshd -T failed (rc 255): bad option')


@audit_edit
def accounts_unreadable(a):
    a['accounts'], a['accounts_error'] = [], 'cannot read the passwd database: x'


@audit_edit
def no_accounts(a):
    a['accounts'] = []


@audit_edit
def socket_failed(a):
    a['recorder']['socket'].update(ActiveState='failed', SubState='failed')


@audit_edit
def socket_elsewhere(a):
    a['recorder']['socket']['Listen'] = '/run/other.sock (Stream)'


@audit_edit
def service_inactive(a):
    a['recorder']['service'].update(ActiveState='inactive', SubState='dead')


@audit_edit
def units_not_found(a):
    a['recorder']['socket'].update(LoadState='not-found', ActiveState='inactive', SubState='dead')


@audit_edit
def systemctl_failed(a):
    a['recorder']['service'], a['recorder']['service_error'] = {}, 'systemctl not found'


@audit_edit
def not_encrypted(a):
    a['store'].update(fstype='ext4', encrypted=False)


@audit_edit
def store_unreadable(a):
    a['store']['error'] = 'cannot read /proc/self/mountinfo: x'


@audit_edit
def config_missing(a):
    a['config'] = {'path': '/etc/ephi-session.json', 'error': 'cannot read: No such file'}


@audit_edit
def config_writable(a):
    a['config']['mode'] = 0o100666


@audit_edit
def idle_zero(a):
    a['config']['idle_logoff'] = 0


@audit_edit
def idle_not_a_number(a):
    a['config']['idle_logoff'] = 'soon'


@audit_edit
def idle_other(a):
    a['config']['idle_logoff'] = 3600


def exempt_without_reason(p, q):
    q['session_gate_exempt_users'] = [{'name': 'ephi-breakglass', 'reason': ' '}]


def exempt_not_local(p, q):
    q['session_gate_exempt_users'] = q['session_gate_exempt_users'] + [{'name': 'ghost', 'reason': 'old'}]
    p['session_gate']['exempt_not_local'] = ['ghost']


def no_exemptions(p, q):
    q['session_gate_exempt_users'] = []
    p['session_gate']['accounts'] = [a for a in p['session_gate']['accounts'] if not a['exempt']]


@audit_edit
def exempt_still_gated(a):
    a['accounts'][1]['forcecommand'] = '/usr/local/lib/ephi-safeguards/ephi-session-gate'


@audit_edit
def exempt_sshd_failed(a):
    a['accounts'][1].update(forcecommand=None, error='sshd -T failed (rc 255): bad option')


def allow_unrecordable(p, q):
    q['session_unrecordable'] = 'allow'


GATE_TABLE = [
    (tc.tmux_session_gate, unchanged, 'pass',
     'gate in force for 4 account(s): ephi-admin, ephi-erin, ephi-frank, root; hooks first in bash /etc/bash.bashrc'),
    (tc.tmux_session_gate, zsh_hook_not_required, 'pass', 'gate in force'),
    (tc.tmux_session_gate, gate_off, 'fail', 'session gate disabled by tmux_session_gate'),
    (tc.tmux_session_gate, gate_off_string, 'fail', 'session gate disabled by tmux_session_gate'),
    (tc.tmux_session_gate, root_not_gated, 'fail', 'gate NOT in force: root (forcecommand none)'),
    (tc.tmux_session_gate, other_forcecommand, 'fail', 'ephi-admin (forcecommand /usr/local/bin/other)'),
    (tc.tmux_session_gate, user_rc_allowed, 'fail', 'ephi-admin (permituserrc yes)'),
    (tc.tmux_session_gate, fish_user, 'fail', 'ephi-admin (unsupported shell /usr/bin/fish)'),
    (tc.tmux_session_gate, hook_missing, 'fail', 'bash hook in /etc/bash.bashrc: no line execs'),
    (tc.tmux_session_gate, gate_writable, 'fail', '/usr/local/lib/ephi-safeguards mode 0777 writable by group or others'),
    (tc.tmux_session_gate, gate_user_owned, 'fail', 'ephi-session-gate owned by uid 1000'),
    (tc.tmux_session_gate, gate_missing, 'fail', 'ephi-session-gate missing or not a regular file'),
    (tc.tmux_session_gate, screen_listed, 'fail', 'chsh can switch to unsupported shells listed in /etc/shells: /usr/bin/screen'),
    (tc.tmux_session_gate, sshd_failed, 'fail', 'NOT examined: ephi-admin: sshd -T failed (rc 255): bad option'),
    (tc.tmux_session_gate, hook_unreadable, 'fail', 'NOT examined: bash hook in /etc/bash.bashrc: cannot read'),
    (tc.tmux_session_gate, shells_unreadable, 'fail', 'NOT examined: login shells list: cannot read /etc/shells'),
    (tc.tmux_session_gate, accounts_unreadable, 'fail', 'NOT examined: accounts: cannot read the passwd database'),
    (tc.tmux_session_gate, no_accounts, 'fail', 'NOT examined: no login-capable account found'),
    (tc.tmux_session_gate, audit_msg, 'fail', 'NOT examined: sshd not found'),
    (tc.tmux_session_gate, audit_failed, 'fail', 'NOT examined: sshd not found'),
    (tc.tmux_session_gate, audit_skipped, 'fail', 'NOT examined: session_gate_audit did not run'),
    (tc.tmux_session_gate, audit_missing, 'fail', 'NOT examined: no session_gate_audit result'),
    (tc.tmux_session_recorder, unchanged, 'pass',
     'ephi-session.socket listening on /run/ephi-session.sock; ephi-session-recorder.service running; '
     '/var/log/ephi is the mounted encrypted file system (fuse.gocryptfs)'),
    (tc.tmux_session_recorder, allow_unrecordable, 'pass', 'ephi-session.socket listening'),
    (tc.tmux_session_recorder, gate_off, 'fail', 'session gate disabled by tmux_session_gate'),
    (tc.tmux_session_recorder, socket_failed, 'fail', 'recorder NOT recording: ephi-session.socket failed (failed)'),
    (tc.tmux_session_recorder, socket_elsewhere, 'fail', 'not listening on /run/ephi-session.sock'),
    (tc.tmux_session_recorder, service_inactive, 'fail', 'ephi-session-recorder.service inactive (dead)'),
    (tc.tmux_session_recorder, units_not_found, 'fail', 'ephi-session.socket not-found'),
    (tc.tmux_session_recorder, not_encrypted, 'fail', '/var/log/ephi is NOT the mounted encrypted file system (ext4)'),
    (tc.tmux_session_recorder, config_writable, 'fail', '/etc/ephi-session.json mode 0666 writable'),
    (tc.tmux_session_recorder, systemctl_failed, 'fail', 'NOT examined: ephi-session-recorder.service: systemctl not found'),
    (tc.tmux_session_recorder, store_unreadable, 'fail', 'NOT examined: directory /var/log/ephi: cannot read /proc/self/mountinfo'),
    (tc.tmux_session_recorder, config_missing, 'fail', 'NOT examined: configuration /etc/ephi-session.json: cannot read'),
    (tc.tmux_session_recorder, audit_msg, 'fail', 'NOT examined: sshd not found'),
    (tc.tmux_session_recorder, audit_missing, 'fail', 'NOT examined: no session_gate_audit result'),
    (tc.tmux_idle_logoff, unchanged, 'pass',
     'the recorder logs gated sessions off after 1800 s without input; gate and recorder in force; '
     'not for the exempt account(s) ephi-breakglass; console and su logins: systemd-logind stops a tty session '
     'after 1810 s without input (StopIdleSessionSec; pam_systemd in login and su)'),
    (tc.tmux_idle_logoff, gate_off, 'fail', 'session gate disabled by tmux_session_gate: no idle logoff outside tmux'),
    (tc.tmux_idle_logoff, idle_zero, 'fail', 'idle logoff switched off (idle_logoff 0)'),
    (tc.tmux_idle_logoff, idle_other, 'fail', 'recorder configured for 3600 s, the policy says 1800'),
    (tc.tmux_idle_logoff, idle_not_a_number, 'fail', 'idle_logoff soon in /etc/ephi-session.json is not a number'),
    (tc.tmux_idle_logoff, root_not_gated, 'fail', 'session gate NOT in force (tmux-session-gate)'),
    (tc.tmux_idle_logoff, sshd_failed, 'fail', 'session gate NOT examined (tmux-session-gate)'),
    (tc.tmux_idle_logoff, socket_failed, 'fail', 'recorder NOT recording (tmux-session-recorder)'),
    (tc.tmux_idle_logoff, store_unreadable, 'fail', 'recorder NOT examined (tmux-session-recorder)'),
    (tc.tmux_idle_logoff, config_missing, 'fail', 'idle time NOT examined: /etc/ephi-session.json'),
    (tc.tmux_idle_logoff, audit_msg, 'fail', 'NOT examined: sshd not found'),
    (tc.tmux_idle_logoff, audit_missing, 'fail', 'NOT examined: no session_gate_audit result'),
    (tc.tmux_session_exemptions, unchanged, 'pass', '1 exempt account(s): ephi-breakglass (break-glass)'),
    (tc.tmux_session_exemptions, no_exemptions, 'pass', 'no exempt account'),
    (tc.tmux_session_exemptions, exempt_not_local, 'pass',
     '2 exempt account(s): ephi-breakglass (break-glass); ghost (old); not a login-capable local account (no effect): ghost'),
    (tc.tmux_session_exemptions, gate_off, 'not_applicable', 'no account is gated, none is exempt'),
    (tc.tmux_session_exemptions, exempt_without_reason, 'fail', 'WITHOUT a name or reason'),
    (tc.tmux_session_exemptions, exempt_still_gated, 'fail', 'declared exempt but sshd still forces a command for: ephi-breakglass'),
    (tc.tmux_session_exemptions, exempt_sshd_failed, 'fail', 'NOT examined: ephi-breakglass: sshd -T failed'),
    (tc.tmux_session_exemptions, audit_msg, 'fail', 'sshd NOT examined: sshd not found'),
    (tc.tmux_session_exemptions, audit_missing, 'fail', 'sshd NOT examined: no session_gate_audit result'),
    # The autostart and the pane capture do not pass while the wanted gate is not in force.
    (tc.tmux_autostart, unchanged, 'pass', 'autostart script in place'),
    (tc.tmux_autostart, root_not_gated, 'fail', 'session gate NOT in force (tmux-session-gate): an SSH login can get'),
    (tc.tmux_autostart, audit_missing, 'fail', 'session gate NOT examined (tmux-session-gate): an SSH login may get'),
    (tc.tmux_autostart, gate_off, 'pass', 'autostart script in place'),
    (tc.tmux_session_capture, unchanged, 'pass', 'encrypted directory mounted; collector socket active'),
    (tc.tmux_session_capture, hook_missing, 'fail', 'session gate NOT in force (tmux-session-gate)'),
    (tc.tmux_session_capture, audit_msg, 'fail', 'session gate NOT examined (tmux-session-gate)'),
    (tc.tmux_session_capture, gate_off, 'pass', 'encrypted directory mounted; collector socket active'),
]


@pytest.mark.parametrize('control, change, status, observed', GATE_TABLE,
                         ids=['%s-%s-%s' % (c.__name__, e.__name__, s) for c, e, s, o in GATE_TABLE])
def test_gate_control(control, change, status, observed):
    probes, policy = gate_base()
    probes, policy = copy.deepcopy(probes), copy.deepcopy(policy)
    change(probes, policy)
    rec = control(probes, policy)
    assert rec['status'] == status, rec
    assert observed in rec['observed'], rec
    if status != 'fail':
        assert 'NOT examined' not in rec['observed']
        assert 'NOT in force' not in rec['observed']


def test_gate_off_fails_the_safeguards_not_the_exemptions():
    """With tmux_session_gate false nothing forces logins into the session: no PASS for it."""
    probes, policy = gate_base()
    gate_off(probes, policy)
    by_id = dict((r['id'], r['status']) for r in tc.build_controls(probes, policy))
    assert by_id['tmux-session-gate'] == by_id['tmux-session-recorder'] == by_id['tmux-idle-logoff'] == 'fail'
    assert by_id['tmux-session-exemptions'] == 'not_applicable'


# ---------------------------------------------------------------------------
# The policy enforcer, from a host where it runs.
# ---------------------------------------------------------------------------

def enforcer_base():
    return probes_policy(load(os.path.join(os.path.dirname(__file__), 'fixtures', 'evidence', 'tmux',
                                           'enforcer-running.json'))['inputs'])


def enforcer_line(key, value):
    def apply(p, q):
        lines = [line for line in p['enforcer']['stdout'].splitlines() if not line.startswith(key + '=')]
        if value is not None:
            lines.append('%s=%s' % (key, value))
        p['enforcer'] = dict(p['enforcer'], stdout='\n'.join(lines), stdout_lines=lines)
    apply.__name__ = 'enforcer_%s_%s' % (key, 'none' if value is None else value.split(' ')[0] or 'empty')
    return apply


def live_mode(mode):
    def apply(p, q):
        q['live_mode'] = mode
        p['enforcer'] = {'skipped': True, 'changed': False}
    apply.__name__ = 'live_mode_' + mode
    return apply


def interval(value):
    def apply(p, q):
        q['enforcer_interval'] = value
    apply.__name__ = 'interval_%s' % value
    return apply


def enforcer_skipped(p, q):
    p['enforcer'] = {'skipped': True, 'changed': False}


def enforcer_missing(p, q):
    del p['enforcer']


def enforcer_probe_failed(p, q):
    p['enforcer'] = {'changed': False, 'failed': False, 'failed_when_result': False, 'rc': 2,
                     'msg': '[Errno 2] No such file or directory: b\'sh\'', 'stdout': '', 'stderr': ''}


def enforcer_not_installed(p, q):
    """host_probe's answer (verify.yml) when the enforcer program is not there."""
    p['enforcer'] = {'argv': ['/usr/local/lib/ephi-safeguards/ephi-tmux-enforcer', '--probe'], 'rc': None,
                     'stdout': '', 'stderr': ''}


def enforcer_from_host_probe(p, q):
    """host_probe's answer (verify.yml) from a running enforcer: the same lines, no task keys."""
    p['enforcer'] = {'argv': ['/usr/local/lib/ephi-safeguards/ephi-tmux-enforcer', '--probe'], 'rc': 0,
                     'stdout': p['enforcer']['stdout'], 'stderr': ''}


def enforcer_unreachable(p, q):
    p['enforcer'] = {'unreachable': True, 'msg': 'ssh: connect to host'}


ENFORCER_TABLE = [
    (unchanged, 'pass', "ephi-tmux-enforcer running: users' runtime changes are put back every 5 s; "
                        '/etc/ephi-tmux-policy.json read by --check-config (policy ok: 3 option(s)'),
    (interval('5'), 'pass', 'put back every 5 s'),
    (enforcer_line('service', 'inactive'), 'fail',
     'ephi-tmux-enforcer NOT enforcing: ephi-tmux-enforcer.service inactive, not running; '
     "a user's runtime weakening of the policy is NOT reverted"),
    (enforcer_line('service', 'failed'), 'fail', 'ephi-tmux-enforcer.service failed, not running'),
    (enforcer_line('service', ''), 'fail', 'ephi-tmux-enforcer.service no state, not running'),
    (enforcer_line('policy_file', 'missing'), 'fail', 'policy /etc/ephi-tmux-policy.json MISSING'),
    (enforcer_line('check_config', '1 {"event": "enforcer-error", "error": "the policy is empty"}'), 'fail',
     'ephi-tmux-enforcer --check-config failed (exit 1): {"event": "enforcer-error"'),
    (enforcer_line('check_config', '127 sh: 3: /usr/local/lib/ephi-safeguards/ephi-tmux-enforcer: not found'),
     'fail', '--check-config failed (exit 127): sh: 3:'),
    (enforcer_line('interval', '30'), 'fail', 'the policy file says every 30 s, tmux_enforcer_interval 5'),
    (enforcer_line('interval', ''), 'fail', 'the policy file says every NOT found s'),
    (interval(10), 'fail', 'tmux_enforcer_interval 10 is not 1 to 9 s'),
    (interval(0), 'fail', 'tmux_enforcer_interval 0 is not 1 to 9 s'),
    (interval('soon'), 'fail', 'tmux_enforcer_interval soon is not 1 to 9 s'),
    (live_mode('audit'), 'fail', "tmux_live_mode is audit, not enforce: no enforcer runs, so a user's runtime "
                                 'weakening (set -g lock-after-time 0, set-hook -gu, unbind) is NOT reverted '
                                 'and the policy does not win'),
    (live_mode('none'), 'fail', 'tmux_live_mode is none, not enforce'),
    (enforcer_skipped, 'fail', 'NOT examined: the enforcer probe was skipped'),
    (enforcer_missing, 'fail', 'NOT examined: no enforcer probe result'),
    (enforcer_probe_failed, 'fail', "NOT examined: the enforcer probe failed (rc 2): [Errno 2] No such file"),
    (enforcer_unreachable, 'fail', 'NOT examined: host unreachable'),
    (enforcer_not_installed, 'fail',
     'NOT examined: the enforcer is not installed (no /usr/local/lib/ephi-safeguards/ephi-tmux-enforcer)'),
    (enforcer_from_host_probe, 'pass', 'ephi-tmux-enforcer running'),
    (enforcer_line('service', None), 'fail', 'NOT examined: the enforcer probe printed no service'),
    (enforcer_line('check_config', None), 'fail', 'NOT examined: the enforcer probe printed no check_config'),
]


@pytest.mark.parametrize('change, status, observed', ENFORCER_TABLE,
                         ids=['%s-%s' % (e.__name__, s) for e, s, o in ENFORCER_TABLE])
def test_policy_enforcer(change, status, observed):
    probes, policy = enforcer_base()
    probes, policy = copy.deepcopy(probes), copy.deepcopy(policy)
    change(probes, policy)
    rec = tc.tmux_policy_enforcer(probes, policy)
    assert rec['id'] == 'tmux-policy-enforcer' and rec['safeguard'] == 'automatic_logoff'
    assert rec['hipaa'] == '164.312(a)(2)(iii)'
    assert rec['status'] == status, rec
    assert observed in rec['observed'], rec
    if status == 'pass':
        assert 'NOT' not in rec['observed']


def test_enforcer_running_host_passes_every_control():
    probes, policy = enforcer_base()
    assert [(r['id'], r['status']) for r in tc.build_controls(probes, policy) if r['status'] != 'pass'] == []


def test_not_examined_never_passes():
    """Whatever single probe is missing, the controls that read it fail."""
    readers = {'settings': ('tmux-lock-policy', 'tmux-live-servers', 'tmux-session-capture'),
               'host': ('tmux-lock-policy', 'tmux-autostart', 'tmux-not-a-shell', 'tmux-session-capture'),
               'autostart_file': ('tmux-autostart',),
               'capture_mounted': ('tmux-session-capture',),
               'session_gate': ('tmux-autostart', 'tmux-session-capture', 'tmux-session-gate',
                                'tmux-session-recorder', 'tmux-idle-logoff', 'tmux-session-exemptions',
                                'tmux-audit-chain'),
               'audit_chain': ('tmux-audit-chain',),
               'enforcer': ('tmux-policy-enforcer',),
               'console_idle': ('tmux-idle-logoff',)}
    for name, controls in readers.items():
        probes, policy = enforcer_base()
        del probes[name]
        by_id = dict((r['id'], r['status']) for r in tc.build_controls(probes, policy))
        for cid in controls:
            assert by_id[cid] == 'fail', (name, cid)


def test_controls_in_report_order():
    probes, policy = base()
    assert [r['id'] for r in tc.build_controls(probes, policy)] == [
        'tmux-lock-policy', 'tmux-live-servers', 'tmux-autostart', 'tmux-not-a-shell', 'tmux-session-capture',
        'tmux-session-gate', 'tmux-session-recorder', 'tmux-idle-logoff', 'tmux-session-exemptions',
        'tmux-policy-enforcer', 'tmux-audit-chain']
    assert [f.__name__.replace('_', '-') for f in tc.CONTROLS] == [r['id'] for r in tc.build_controls(probes, policy)]


def test_bad_input_raises():
    probes, policy = base()
    with pytest.raises(KeyError):
        tc.build_controls(probes, dict((k, v) for k, v in policy.items() if k != 'capture_dir'))
    bad = copy.deepcopy(probes)
    bad['host']['passwd']['x'] = ['x', 'notanumber']
    with pytest.raises(ValueError, match='malformed'):
        tc.build_controls(bad, policy)
    with pytest.raises(TypeError):
        tc.autostart_uncovered(['not', 'a', 'dict'])


# ---------------------------------------------------------------------------
# tmux-idle-logoff on the path without the gate: console, login and su
# sessions, logged off by systemd-logind (the probe as recorded on Debian 12
# with logind running, in gate-in-force.json).
# ---------------------------------------------------------------------------

def console_lines(drop=(), add=(), replace=None):
    def apply(p, q):
        lines = [line for line in p['console_idle']['stdout'].splitlines()
                 if not any(line.startswith(d) for d in drop)]
        if replace:
            lines = [replace[1] if line.startswith(replace[0]) else line for line in lines]
        lines.extend(add)
        p['console_idle'] = dict(p['console_idle'], stdout='\n'.join(lines), stdout_lines=lines)
    return apply


def console_probe(**result):
    def apply(p, q):
        p['console_idle'] = dict(p['console_idle'], **result)
    return apply


def console_from_host_probe(rc):
    """host_probe's answer to the same question (verify.yml): the lines, or rc None when there is no sh."""
    def apply(p, q):
        p['console_idle'] = {'argv': ['sh', '-c', '...'], 'rc': rc, 'stderr': '',
                             'stdout': p['console_idle']['stdout'] if rc is not None else ''}
    return apply


def console_missing(p, q):
    del p['console_idle']


def idle_policy_zero(p, q):
    q['session_idle_logoff'] = 0


CONSOLE_TABLE = [
    ('unchanged', lambda p, q: None, 'pass',
     'console and su logins: systemd-logind stops a tty session after 1810 s without input'),
    ('logind-inactive', console_lines(replace=('logind=', 'logind=inactive'), drop=(), add=()), 'fail',
     'systemd-logind.service is inactive: console and su logins are NOT logged off when idle'),
    ('logind-masked-no-state', console_lines(replace=('logind=', 'logind=')), 'fail',
     'systemd-logind.service is no state'),
    ('stop-idle-infinity', console_lines(replace=('stop_idle_usec=', 'stop_idle_usec=18446744073709551615')), 'fail',
     'logind StopIdleSessionSec is infinity (off), the policy says 1810 s (tmux_session_idle_logoff + 10 s)'),
    ('stop-idle-other', console_lines(replace=('stop_idle_usec=', 'stop_idle_usec=900000000')), 'fail',
     'logind StopIdleSessionSec is 900 s, the policy says 1810 s'),
    ('stop-idle-exactly-the-recorder-time', console_lines(replace=('stop_idle_usec=', 'stop_idle_usec=1800000000')),
     'fail', 'logind StopIdleSessionSec is 1800 s, the policy says 1810 s'),
    ('stop-idle-unreadable', console_lines(replace=('stop_idle_usec=', 'stop_idle_usec=')), 'fail',
     'logind StopIdleSessionSec NOT examined (no value)'),
    ('no-pam-systemd', console_lines(drop=('pam=common-session',)), 'fail',
     'pam_systemd is not in the session stack of /etc/pam.d/login: login logins get no logind session'),
    ('pam-systemd-commented', console_lines(drop=('pam=common-session',),
                                            add=('pam=common-session #session optional pam_systemd.so',)), 'fail',
     'pam_systemd is not in the session stack of /etc/pam.d/su'),
    ('su-without-common-session', console_lines(drop=('pam=su',), add=('pam=su @include common-auth',)), 'fail',
     'pam_systemd is not in the session stack of /etc/pam.d/su: su logins'),
    ('su-pam-file-missing', console_lines(drop=('pam=su',), add=('pam=su MISSING',)), 'fail',
     '/etc/pam.d/su NOT found: su logins NOT examined'),
    ('pam-systemd-directly', console_lines(drop=('pam=common-session', 'pam=su'),
                                           add=('pam=su -session optional /lib/security/pam_systemd.so',
                                                'pam=login-x x',
                                                'pam=common-session session optional pam_systemd.so')), 'pass',
     'pam_systemd in login and su'),
    ('session-substack', console_lines(drop=('pam=su',), add=('pam=su session substack common-session',)), 'pass',
     'pam_systemd in login and su'),
    ('probe-failed', console_probe(rc=1, stderr='sh: busctl: not found'), 'fail',
     'console and su logins: idle logoff NOT examined: the console idle logoff probe failed (rc 1): sh: busctl: not found'),
    ('probe-skipped', console_probe(skipped=True), 'fail',
     'idle logoff NOT examined: the console idle logoff probe was skipped'),
    ('probe-unreachable', console_probe(unreachable=True), 'fail', 'idle logoff NOT examined: host unreachable'),
    ('probe-missing', console_missing, 'fail', 'idle logoff NOT examined: no console idle logoff probe result'),
    ('host-probe-answer', console_from_host_probe(0), 'pass',
     'console and su logins: systemd-logind stops a tty session after 1810 s without input'),
    ('host-probe-no-sh', console_from_host_probe(None), 'fail',
     'idle logoff NOT examined: the console idle logoff probe could not run (no sh)'),
    ('probe-without-logind-line', console_lines(drop=('logind=',)), 'fail', 'the console idle logoff probe printed no logind'),
    ('policy-zero', idle_policy_zero, 'fail', 'console and su logins: no idle logoff (tmux_session_idle_logoff 0)'),
    ('gate-off-console-fine', gate_off, 'fail',
     'session gate disabled by tmux_session_gate: no idle logoff outside tmux'),
]


def idle_logoff_after(change):
    """tmux-idle-logoff's record for the gate-in-force fixture after CHANGE(probes, policy)."""
    probes, policy = gate_base()
    probes, policy = copy.deepcopy(probes), copy.deepcopy(policy)
    change(probes, policy)
    return tc.tmux_idle_logoff(probes, policy)


@pytest.mark.parametrize('change, status, observed', [c[1:] for c in CONSOLE_TABLE], ids=[c[0] for c in CONSOLE_TABLE])
def test_idle_logoff_console_path(change, status, observed):
    rec = idle_logoff_after(change)
    assert rec['status'] == status, rec
    assert observed in rec['observed'], rec
    assert rec['id'] == 'tmux-idle-logoff'
    if status == 'pass':
        assert 'NOT' not in rec['observed']


def test_idle_logoff_check_names_the_logind_time():
    probes, policy = gate_base()
    assert 'StopIdleSessionSec, 1810 s' in tc.tmux_idle_logoff(probes, policy)['check']
    policy = dict(policy, session_idle_logoff=0)
    assert 'StopIdleSessionSec, none' in tc.tmux_idle_logoff(probes, policy)['check']


@pytest.mark.parametrize('pam, service, expected', [
    ({'login': ['@include common-session'], 'common-session': ['session optional pam_systemd.so']}, 'login', True),
    ({'login': ['session include common-session'], 'common-session': ['-session optional pam_systemd.so']}, 'login', True),
    ({'login': ['@include common-session']}, 'login', False),
    ({'login': ['auth optional pam_systemd.so']}, 'login', False),
    ({'login': ['session optional pam_systemd_home.so']}, 'login', False),
    ({'login': ['@include login']}, 'login', False),
    ({'login': ['MISSING']}, 'login', False),
    ({}, 'su', False),
])
def test_pam_runs_systemd(pam, service, expected):
    assert tc.pam_runs_systemd(pam, service) is expected


def test_pam_runs_systemd_bad_input():
    with pytest.raises(TypeError):
        tc.pam_runs_systemd(['session optional pam_systemd.so'], 'login')


def test_lock_policy_says_why_the_lock_command_is_not_the_stigs_literal_vlock():
    probes, policy = base()
    rec = tc.tmux_lock_policy(probes, policy)
    assert 'not the STIG\'s literal "vlock" on purpose' in rec['check'], rec
    assert '~/.vlockrc' in rec['check'], rec


@pytest.mark.parametrize('command, plugin, expected', [
    ('/usr/sbin/vlock-main', 'ephi-tmux-event', '/usr/sbin/vlock-main ephi-tmux-event'),
    ('  /usr/sbin/vlock-main  ', 'ephi-tmux-event', '/usr/sbin/vlock-main ephi-tmux-event'),
    ('/usr/sbin/vlock-main all', 'ephi-tmux-event', '/usr/sbin/vlock-main all ephi-tmux-event'),
    ('/usr/sbin/vlock-main ephi-tmux-event', 'ephi-tmux-event', '/usr/sbin/vlock-main ephi-tmux-event'),
    ('/opt/bin/vlock-main', 'ephi-tmux-event', '/opt/bin/vlock-main ephi-tmux-event'),
    ('/usr/sbin/vlock-main', '', '/usr/sbin/vlock-main'),
    ('/usr/local/bin/physlock -l', 'ephi-tmux-event', '/usr/local/bin/physlock -l'),
    ('/usr/bin/vlock', 'ephi-tmux-event', '/usr/bin/vlock'),
    ('/usr/sbin/vlock-main-x', 'ephi-tmux-event', '/usr/sbin/vlock-main-x'),
    ('', 'ephi-tmux-event', ''),
])
def test_lock_command_effective(command, plugin, expected):
    assert tc.lock_command_effective(command, plugin) == expected


@pytest.mark.parametrize('command, problem', [
    ('/usr/sbin/vlock-main', ''),
    ('/usr/sbin/vlock-main ephi-tmux-event', ''),
    ('/usr/local/bin/physlock -l', ''),
    ('/usr/bin/vlock', "/usr/bin/vlock is a shell script that sources the user's ~/.vlockrc"),
    ('/usr/bin/vlock -c', "/usr/bin/vlock is a shell script that sources the user's ~/.vlockrc"),
    ('/bin/vlock', "/bin/vlock is a shell script that sources the user's ~/.vlockrc"),
    ('vlock', "vlock is looked up in the PATH of the user's tmux client"),
    ('vlock-main', "vlock-main is looked up in the PATH"),
    ('', 'the lock-command is empty'),
    ('   ', 'the lock-command is empty'),
])
def test_lock_command_problem(command, problem):
    found = tc.lock_command_problem(command)
    if problem:
        assert found.startswith(problem), found
    else:
        assert found == ''


def command_idle(policy_value, config_value='absent'):
    def apply(p, q):
        q['session_command_idle_logoff'] = policy_value
        config = p['session_gate']['config']
        if config_value == 'absent':
            config.pop('command_idle_logoff', None)
        else:
            config['command_idle_logoff'] = config_value
    return apply


@pytest.mark.parametrize('change, status, observed', [
    (command_idle(1800, 1800), 'pass', 'command sessions (no pty) after 1800 s without input or output'),
    (command_idle('1800', 1800), 'pass', 'command sessions (no pty) after 1800 s'),
    (command_idle(0, 0), 'pass', 'command sessions (no pty) never (tmux_session_command_idle_logoff 0)'),
    (command_idle(0), 'pass', 'never'),
    (command_idle(1800), 'fail', 'recorder logs command sessions off after never (0), the policy says 1800 s'),
    (command_idle(1800, 600), 'fail', 'recorder logs command sessions off after 600 s, the policy says 1800 s'),
    (command_idle(0, 600), 'fail', 'after 600 s, the policy says never (0)'),
    (command_idle(1800, '1800'), 'fail', 'command_idle_logoff 1800 in'),
    (command_idle(1800, True), 'fail', 'command_idle_logoff True in'),
    (command_idle('soon', 1800), 'fail', 'tmux_session_command_idle_logoff soon is not a whole number'),
    (command_idle(-1, 1800), 'fail', 'is not a whole number'),
], ids=['same', 'policy-as-text', 'both-never', 'key-absent-never', 'key-absent-wanted', 'differs', 'never-wanted',
        'text-in-file', 'bool-in-file', 'policy-not-a-number', 'policy-negative'])
def test_idle_logoff_command_sessions(change, status, observed):
    rec = idle_logoff_after(change)
    assert rec['status'] == status, rec
    assert observed in rec['observed'], rec


def test_idle_logoff_command_sessions_not_judged_without_the_policy_key():
    probes, policy = gate_base()
    probes, policy = copy.deepcopy(probes), copy.deepcopy(policy)
    policy.pop('session_command_idle_logoff', None)
    probes['session_gate']['config']['command_idle_logoff'] = 5
    rec = tc.tmux_idle_logoff(probes, policy)
    assert rec['status'] == 'pass', rec
    assert 'command sessions' not in rec['observed']
