# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import itertools

import pytest

from ansible.errors import AnsibleFilterError
from ansible.playbook.taggable import Taggable

from ansible_collections.ephi.safeguards.plugins.filter.tmux_policy import (
    FilterModule, tmux_autostart_uncovered, tmux_capture_mounted, tmux_controls, tmux_file_items, tmux_gate_sshd_argvs,
    tmux_gate_sshd_check, tmux_lock_command, tmux_lock_command_problem)
from ansible_collections.ephi.safeguards.plugins.module_utils.tmux_controls import build_controls
from ansible_collections.ephi.safeguards.plugins.module_utils.tmux_files import tags_selected
from ansible_collections.ephi.safeguards.plugins.module_utils.tmux_settings_run import capture_active

COVERED = ['sh', 'bash', 'dash', 'rbash', 'ksh', 'mksh']
NO_LOGIN = ['nologin', 'false', 'sync']


def entry(uid, shell):
    return ['x', str(uid), str(uid), '', '/home/u', shell]


@pytest.mark.parametrize('name, uid, shell, exempt, escapes', [
    ('alice', 1000, '/bin/bash', [], False),
    ('zed', 1001, '/usr/bin/zsh', [], True),
    ('fishy', 1002, '/usr/bin/fish', [], True),
    ('root', 0, '/usr/bin/zsh', [], True),
    ('zed', 1001, '/usr/bin/zsh', ['zed'], False),        # exempt by policy
    ('daemon', 1, '/usr/bin/zsh', [], False),             # a system account
    ('nobody', 65534, '/usr/bin/zsh', [], False),
    ('svc', 1003, '/usr/sbin/nologin', [], False),        # cannot log in
    ('blank', 1004, '', [], False),                       # empty shell field: /bin/sh (passwd(5))
])
def test_uncovered(name, uid, shell, exempt, escapes):
    found = tmux_autostart_uncovered({name: entry(uid, shell)}, exempt, COVERED, NO_LOGIN)
    assert found == (['%s (%s)' % (name, shell)] if escapes else [])


def test_sorted_and_bad_input():
    passwd = {'b': entry(1001, '/usr/bin/fish'), 'a': entry(1000, '/usr/bin/zsh')}
    assert tmux_autostart_uncovered(passwd, [], COVERED, NO_LOGIN) == ['a (/usr/bin/zsh)', 'b (/usr/bin/fish)']
    with pytest.raises(AnsibleFilterError):
        tmux_autostart_uncovered(['not', 'a', 'dict'])
    with pytest.raises(AnsibleFilterError):
        tmux_autostart_uncovered({'x': ['x', 'notanumber']})


POLICY = {'config_path': '/etc/tmux.conf', 'lock_after_time': 900, 'lock_command': '/usr/sbin/vlock-main',
          'history_limit': 5000, 'autostart': True, 'autostart_path': '/etc/profile.d/ephi-tmux-autostart.sh',
          'autostart_exempt_users': [], 'autostart_covered_shells': COVERED, 'no_login_shells': NO_LOGIN,
          'remove_from_shells': True, 'capture': True, 'capture_dir': '/var/log/ephi'}


def test_controls_filter_is_glue():
    """The filter returns build_controls' records; with no probe at all every control fails
    (the session gate is wanted by default: its four controls too; so is the
    policy enforcer, tmux_live_mode enforce: its control too; and the recordings'
    chain check, which cannot examine anything without the gate's probe)."""
    records = tmux_controls({}, POLICY)
    assert records == build_controls({}, POLICY)
    assert [r['status'] for r in records] == ['fail'] * 11


def test_controls_filter_errors():
    with pytest.raises(AnsibleFilterError, match='dicts'):
        tmux_controls([], POLICY)
    with pytest.raises(AnsibleFilterError, match='capture_dir'):
        tmux_controls({}, dict((k, v) for k, v in POLICY.items() if k != 'capture_dir'))
    host = {'changed': False, 'passwd': {'x': ['x', 'notanumber']}}
    with pytest.raises(AnsibleFilterError, match='malformed'):
        tmux_controls({'host': host}, POLICY)


def test_lock_command_filters_are_glue():
    assert {'tmux_lock_command', 'tmux_lock_command_problem'} <= set(FilterModule().filters())
    assert tmux_lock_command('/usr/sbin/vlock-main', 'ephi-tmux-event') == '/usr/sbin/vlock-main ephi-tmux-event'
    assert tmux_lock_command('/usr/sbin/vlock-main') == '/usr/sbin/vlock-main'
    assert tmux_lock_command_problem('/usr/sbin/vlock-main ephi-tmux-event') == ''
    assert '~/.vlockrc' in tmux_lock_command_problem('/usr/bin/vlock')
    for bad in (None, 1, ['/usr/sbin/vlock-main']):
        with pytest.raises(AnsibleFilterError):
            tmux_lock_command(bad, 'ephi-tmux-event')
        with pytest.raises(AnsibleFilterError):
            tmux_lock_command_problem(bad)
    with pytest.raises(AnsibleFilterError):
        tmux_lock_command('/usr/sbin/vlock-main', None)


def test_file_items_filter_is_glue():
    assert 'tmux_file_items' in FilterModule().filters()
    item = {'dest': '/etc/ephi-session.json', 'template': 'ephi-session.json.j2', 'mode': '0644'}
    groups = [{'tags': ['tmux', 'tmux_gate'], 'when': True, 'files': [item]}]
    assert tmux_file_items(groups, ['tmux_gate'], []) == [item]
    assert tmux_file_items(groups, ['tmux_autostart'], []) == []
    with pytest.raises(AnsibleFilterError, match='tmux_file_items: group 0 needs tags'):
        tmux_file_items([{'files': [item]}], ['all'], [])


FILE_SET_TAGS = [['tmux', 'tmux_gate'], ['always'], ['never', 'tmux_gate'], ['tmux_gate', 'always']]
FILE_SET_OPTIONS = [[], ['all'], ['tmux_gate'], ['tmux_config'], ['tagged'], ['untagged'], ['always'], ['never'], ['all', 'never']]


class TaggedTask(object):
    """What Taggable.evaluate_tags reads of a task that has TAGS (no parents, nothing to template)."""

    untagged = Taggable.untagged
    _loader = None
    _parent = None

    def __init__(self, tags):
        self.tags = list(tags)

    def _get_all_taggable_objects(self):
        return []


@pytest.mark.parametrize('tags, run_tags, skip_tags', list(itertools.product(FILE_SET_TAGS, FILE_SET_OPTIONS, FILE_SET_OPTIONS)))
def test_tag_selection_is_ansibles(tags, run_tags, skip_tags):
    """The same answer as Ansible's own evaluate_tags for a task with these tags."""
    expected = Taggable.evaluate_tags(TaggedTask(tags), run_tags, skip_tags, {})
    assert tags_selected(tags, run_tags, skip_tags) == expected


def test_the_gate_sshd_filters_ask_and_decide():
    sshd, gate = '/usr/sbin/sshd', '/usr/local/lib/ephi-safeguards/ephi-session-gate'
    argvs = tmux_gate_sshd_argvs(sshd, ['ansible'])
    assert argvs == [[sshd, '-T', '-C', 'user=ansible,host=localhost,addr=127.0.0.1']]
    answers = [{'argv': argvs[0], 'rc': 0, 'stderr': '',
                'stdout': 'forcecommand %s\npermituserrc no\ndisableforwarding yes\n' % gate}]
    assert tmux_gate_sshd_check(answers, sshd, ['ansible'], [], gate)['verdict'] == 'pass'
    assert tmux_gate_sshd_check([], sshd, ['ansible'], [], gate)['verdict'] == 'fail'
    assert set(FilterModule().filters()) >= {'tmux_gate_sshd_argvs', 'tmux_gate_sshd_check'}


@pytest.mark.parametrize('call', [
    lambda: tmux_gate_sshd_argvs('sshd', ['ansible']),
    lambda: tmux_gate_sshd_argvs('/usr/sbin/sshd', 'ansible'),
    lambda: tmux_gate_sshd_check({}, '/usr/sbin/sshd', ['ansible'], [], '/gate'),
    lambda: tmux_gate_sshd_check([], '/usr/sbin/sshd', ['ansible'], None, '/gate'),
])
def test_the_gate_sshd_filters_refuse_bad_input(call):
    with pytest.raises(AnsibleFilterError):
        call()


CAPTURE_DIR = '/var/log/ephi-sessions'


@pytest.mark.parametrize('probe, mounted', [
    ({'mounts': {CAPTURE_DIR: 'fuse.gocryptfs'}}, True),
    ({'mounts': {CAPTURE_DIR: 'ext4'}}, False),                       # mounted, but not encrypted
    ({'mounts': {CAPTURE_DIR: None}}, False),                         # asked, nothing mounted there
    ({'mounts': {'/elsewhere': 'fuse.gocryptfs'}}, False),            # not asked about the directory
    ({'failed': True, 'mounts': {CAPTURE_DIR: 'fuse.gocryptfs'}}, False),   # a failed answer shows nothing
    ({}, False),
    (None, False),
])
def test_the_capture_rule_is_the_session_gate_audits(probe, mounted):
    # The converge's __tmux_capture_active (this filter) and verify's settings comparison
    # (capture_active in session_gate_audit's run) decide with the same function.
    assert tmux_capture_mounted(probe, CAPTURE_DIR, ['fuse.gocryptfs']) is mounted
    capture = {'mount': CAPTURE_DIR, 'fstypes': ['fuse.gocryptfs'], 'hooks': {}, 'pipe_command': 'cat'}
    assert capture_active(capture, probe) is mounted
    assert capture_active(None, probe) is False                       # capture off
    assert 'tmux_capture_mounted' in FilterModule().filters()


def test_the_capture_rule_refuses_bad_input():
    with pytest.raises(AnsibleFilterError):
        tmux_capture_mounted({}, CAPTURE_DIR, 'fuse.gocryptfs')
