# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The type-and-shape tests of the roles' input checks, directly and through Jinja."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import jinja2
import pytest

from ansible.errors import AnsibleError

from ansible_collections.ephi.safeguards.plugins.test import ephi_types

TESTS = ephi_types.TestModule().tests()
PATH_RE = '^/[^\\s*]*[*]?$'


def test_tests_are_exported():
    assert sorted(TESTS) == ['keys_matching', 'list_matching', 'list_of_mappings', 'list_within', 'string_matching', 'whole_number']


@pytest.mark.parametrize('value, expected', [
    ([], True),
    (['/etc', '/usr/bin'], True),
    (('/etc',), True),
    (['/srv/ephi-*'], True),
    (['/etc', 'bin'], False),
    (['/etc/my file'], False),
    (['/etc\n'], False),
    ('/etc', False),
    ({'/etc': 1}, False),
    (None, False),
    (5, False),
])
def test_list_matching(value, expected):
    assert TESTS['list_matching'](value, PATH_RE) is expected


def test_list_matching_without_a_pattern_only_tests_the_type():
    assert TESTS['list_matching']([1, {'a': 1}, None])
    assert not TESTS['list_matching']('abc')
    assert not TESTS['list_matching']((x for x in []))


@pytest.mark.parametrize('value, expected', [
    ([], True),
    (['sha512'], True),
    (['sha512', 'sha256'], True),
    (['md5'], False),
    (['sha512', 'crc32'], False),
    ('sha512', False),
    ({'sha512': 1}, False),
    (None, False),
])
def test_list_within(value, expected):
    assert TESTS['list_within'](value, ['sha512', 'sha256']) is expected


def test_list_within_compares_as_strings():
    assert TESTS['list_within']([1, 2], ['1', '2', '3'])
    assert not TESTS['list_within'](['a'], 'abc')


@pytest.mark.parametrize('value, expected', [
    ([], True),
    ([{'path': '/opt'}], True),
    ([{'path': '/opt'}, '/srv'], False),
    ('/opt', False),
    ({'path': '/opt'}, False),
])
def test_list_of_mappings(value, expected):
    assert TESTS['list_of_mappings'](value) is expected


@pytest.mark.parametrize('value, expected', [
    ({}, True),
    ({'status-interval': 5, '@plugin': 'x'}, True),
    ({'Not An Option': 1}, False),
    ({'status\n': 1}, False),
    (['status'], False),
    ('status', False),
])
def test_keys_matching(value, expected):
    assert TESTS['keys_matching'](value, '^@?[a-z][a-z0-9-]*$') is expected


@pytest.mark.parametrize('value, expected', [
    ('daily', True),
    ('*-*-* 03:00:00', True),
    ('daily\n', False),
    ('daily\nExecStartPre=/bin/sh', False),
    ('daily\r', False),
    ('', False),
    (5, False),
    (['daily'], False),
    (None, False),
])
def test_string_matching(value, expected):
    assert TESTS['string_matching'](value, '^[A-Za-z0-9 *:,./~+-]+$') is expected


def test_string_matching_matches_from_the_start_only():
    assert TESTS['string_matching']('/usr/bin/vlock -a', '^/[^\\s]+')
    assert not TESTS['string_matching']('x/usr/bin/vlock', '/')


@pytest.mark.parametrize('value, bounds, expected', [
    (0, (), True),
    ('0', (), True),
    (3600, (60,), True),
    ('3600', (60,), True),
    (60, (60,), True),
    (59, (60,), False),
    (3, (1, 6), True),
    (7, (1, 6), False),
    ('006', (1, 6), True),
    (-5, (), False),
    ('-5', (), False),
    (1.5, (), False),
    ('1.5', (), False),
    ('3600\n', (), False),
    (' 5', (), False),
    ('abc', (), False),
    ('', (), False),
    (True, (), False),
    (None, (), False),
])
def test_whole_number(value, bounds, expected):
    assert TESTS['whole_number'](value, *bounds) is expected


def test_a_bad_pattern_is_an_error():
    with pytest.raises(AnsibleError, match='invalid regular expression'):
        TESTS['string_matching']('a', '(')


@pytest.fixture
def render():
    env = jinja2.Environment()
    env.tests.update(dict(('ephi.safeguards.' + name, test) for name, test in TESTS.items()))

    def run(expression, **values):
        return env.from_string('{{ ' + expression + ' }}').render(**values)

    return run


def test_the_checks_read_as_one_line(render):
    assert render("x is ephi.safeguards.list_matching('^/')", x=['/etc']) == 'True'
    assert render("x is not ephi.safeguards.list_of_mappings", x='/opt') == 'True'
    assert render("x is ephi.safeguards.whole_number(1, 6)", x='7') == 'False'
    assert render("x | map(attribute='path') | list is ephi.safeguards.list_matching('^/')", x=[{'path': '/opt'}]) == 'True'
