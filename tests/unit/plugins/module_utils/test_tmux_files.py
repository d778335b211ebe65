# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""module_utils/tmux_files.py: which groups of the tmux role's file sets a run applies (the tag rules
against Ansible's own: tests/unit/plugins/filter/test_tmux_policy.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ephi.safeguards.plugins.module_utils.tmux_files import file_items

LIBEXEC = {'path': '/usr/local/lib/ephi-safeguards', 'state': 'directory', 'mode': '0755'}
GATE = {'dest': '/usr/local/lib/ephi-safeguards/ephi-session-gate', 'src': 'ephi-session-gate', 'mode': '0755'}
ENFORCER = {'dest': '/usr/local/lib/ephi-safeguards/ephi-tmux-enforcer', 'src': 'ephi-tmux-enforcer', 'mode': '0755'}
AUTOSTART = {'dest': '/etc/profile.d/ephi-tmux-autostart.sh', 'template': 'ephi-tmux-autostart.sh.j2', 'mode': '0644',
             'validate': '/bin/sh -n %s'}


def groups(enforce=True, autostart=True, gate=True):
    return [
        {'tags': ['tmux', 'tmux_config', 'tmux_enforcer'], 'when': enforce, 'files': [LIBEXEC, ENFORCER]},
        {'tags': ['tmux', 'tmux_autostart'], 'when': autostart, 'files': [AUTOSTART]},
        {'tags': ['tmux', 'tmux_gate'], 'when': gate, 'files': [LIBEXEC, GATE]},
    ]


@pytest.mark.parametrize('run_tags, skip_tags, expected', [
    (['all'], [], [LIBEXEC, ENFORCER, AUTOSTART, GATE]),   # no --tags: everything, the shared directory once
    (['tmux'], [], [LIBEXEC, ENFORCER, AUTOSTART, GATE]),
    (['tmux_gate'], [], [LIBEXEC, GATE]),                   # the gate's files only
    (['tmux_config'], [], [LIBEXEC, ENFORCER]),
    (['tmux_enforcer', 'tmux_autostart'], [], [LIBEXEC, ENFORCER, AUTOSTART]),
    (['all'], ['tmux_enforcer'], [AUTOSTART, LIBEXEC, GATE]),
    (['all'], ['tmux'], []),
    (['tmux_install'], [], []),                             # another feature's tag
    (['tagged'], [], [LIBEXEC, ENFORCER, AUTOSTART, GATE]),
    (['all'], ['tagged'], []),
    (['always'], [], []),
    ([], [], [LIBEXEC, ENFORCER, AUTOSTART, GATE]),
])
def test_groups_follow_the_run_tags(run_tags, skip_tags, expected):
    assert file_items(groups(), run_tags, skip_tags) == expected


def test_features_that_are_off_install_nothing():
    assert file_items(groups(enforce=False, gate=False), ['all'], []) == [AUTOSTART]
    assert file_items(groups(enforce=False, autostart=False, gate=False), ['all'], []) == []


@pytest.mark.parametrize('when', ['True', 'yes', 1, True])
def test_when_takes_what_ansible_reads_as_true(when):
    assert file_items([{'tags': ['tmux'], 'when': when, 'files': [GATE]}], ['all'], []) == [GATE]


def test_when_left_out_is_true_and_items_are_copies():
    taken = file_items([{'tags': ['tmux'], 'files': [GATE]}], ['all'], [])
    assert taken == [GATE] and taken[0] is not GATE


def test_a_repeated_path_that_differs_is_left_for_file_set_to_refuse():
    other = dict(LIBEXEC, mode='0700')
    assert file_items([{'tags': ['a'], 'files': [LIBEXEC]}, {'tags': ['b'], 'files': [other]}], ['all'], []) == [LIBEXEC, other]


@pytest.mark.parametrize('bad, message', [
    ({}, 'needs tags'),
    ({'tags': [], 'files': []}, 'needs tags'),
    ({'tags': 'tmux', 'files': []}, 'needs tags'),
    ({'tags': ['tmux']}, 'needs files'),
    ({'tags': ['tmux'], 'files': [['x']]}, 'needs files'),
    ({'tags': ['tmux'], 'files': [], 'when': 'maybe'}, 'when must be a boolean'),
    ({'tags': ['tmux'], 'files': [], 'if': True}, 'unknown keys if'),
    (['tmux'], 'must be a mapping'),
])
def test_bad_groups_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        file_items([bad], ['all'], [])


def test_groups_must_be_a_list():
    with pytest.raises(ValueError, match='expects a list'):
        file_items({'tags': ['tmux']}, ['all'], [])
