# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.ephi.safeguards.plugins.filter.tmux_policy import tmux_autostart_uncovered

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
