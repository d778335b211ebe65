# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The evidence record and the text helpers every role's controls share."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import jinja2
import pytest

from ansible_collections.ephi.safeguards.plugins.module_utils import evidence


def test_record_keeps_the_report_order_and_refuses_unknown_statuses():
    rec = evidence.record('x-1', 'integrity', '164.312(c)(1)', 'none', 'checked', 'seen', 'pass')
    assert list(rec) == ['id', 'safeguard', 'hipaa', 'stig', 'check', 'observed', 'status']
    with pytest.raises(ValueError, match='x-1'):
        evidence.record('x-1', 'integrity', '164.312(c)(1)', 'none', 'checked', 'seen', 'ok')


@pytest.mark.parametrize('value, expected', [
    (None, 'None'), (True, 'True'), (3, '3'), (['a', 1], "['a', 1]"), ('é', 'é'),
])
def test_text_renders_like_jinja(value, expected):
    assert evidence.text(value) == expected


@pytest.mark.parametrize('value, length', [
    ('short', 200), ('x' * 205, 200), ('x' * 206, 200), ('word ' * 50, 200), ('a b' * 100, 20), ('', 5),
])
def test_truncate_is_jinjas(value, length):
    oracle = jinja2.Environment().from_string('{{ v | truncate(n) }}').render(v=value, n=length)
    assert evidence.truncate(value, length) == oracle


@pytest.mark.parametrize('result, failed', [
    ({'rc': 0}, False), ({'failed': True}, True), ({'skipped': True}, True),
    ({'unreachable': True}, True), (None, True), ('text', True),
])
def test_probe_failed(result, failed):
    assert evidence.probe_failed(result) is failed
