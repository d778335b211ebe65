# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.ephi.safeguards.plugins.filter.var_checks import failed_checks


def test_every_failing_rule_is_named_in_order():
    checks = [{'var': 'a', 'ok': True, 'msg': 'fine'},
              {'var': 'b', 'ok': False, 'msg': 'must be a number'},
              {'var': 'c', 'ok': 'True', 'msg': 'text true (ansible-core < 2.19)'},
              {'var': 'd', 'ok': 'False', 'msg': 'text false (ansible-core < 2.19)'},
              {'var': 'e', 'ok': False}]
    assert failed_checks(checks) == ['b: must be a number', 'd: text false (ansible-core < 2.19)', 'e: invalid']


@pytest.mark.parametrize('value', [None, '', 'maybe', '{{ x }}', 0, 1, [], {}])
def test_anything_but_true_fails_closed(value):
    assert failed_checks([{'var': 'x', 'ok': value, 'msg': 'm'}]) == ['x: m']


def test_an_empty_list_has_no_problems():
    assert failed_checks([]) == []


@pytest.mark.parametrize('checks', ['a', {'var': 'a'}, [{'ok': True}], [{'var': 'a'}], ['a']])
def test_malformed_rules_are_an_error(checks):
    with pytest.raises(AnsibleFilterError):
        failed_checks(checks)
