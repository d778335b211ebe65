# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The decisions of host_probe: each errs towards 'not in place', so a skipped task never hides work."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import stat

import pytest

from ansible_collections.ephi.safeguards.plugins.module_utils.host_probe import (
    block_in_place, installed_packages, line_in_place, line_matches, missing_packages, parse_units, path_conforms, path_facts,
    unit_running, unit_stale, unit_stopped)

St = collections.namedtuple('St', 'st_mode st_uid st_gid st_size st_mtime')
DIR = path_facts(St(stat.S_IFDIR | 0o700, 0, 0, 4096, 0.0), 'root', 'root')


@pytest.mark.parametrize('want, conforms', [
    ({}, True),
    ({'state': 'directory', 'owner': 'root', 'group': 'root', 'mode': '0700'}, True),
    ({'owner': '0', 'group': '0', 'mode': '700'}, True),
    ({'state': 'file'}, False),
    ({'owner': 'nobody'}, False),
    ({'group': 'adm'}, False),
    ({'mode': '0755'}, False),
    ({'mode': '0o700'}, False),
])
def test_a_path_conforms_only_to_what_it_is(want, conforms):
    assert path_conforms(DIR, want) is conforms


def test_a_missing_path_or_a_link_never_conforms():
    assert path_conforms(path_facts(None, '', ''), {}) is False
    link = path_facts(St(stat.S_IFLNK | 0o777, 0, 0, 4, 0.0), 'root', 'root')
    assert link['type'] == 'link'
    assert path_conforms(link, {'owner': 'root'}) is False


def test_executable_is_a_file_with_an_execute_bit():
    assert path_facts(St(stat.S_IFREG | 0o750, 0, 0, 1, 0.0), 'root', 'root')['executable'] is True
    assert path_facts(St(stat.S_IFREG | 0o644, 0, 0, 1, 0.0), 'root', 'root')['executable'] is False
    assert DIR['executable'] is False


def test_only_installed_packages_count_and_odd_names_are_always_missing():
    out = 'tmux\tii \nvlock\trc \naide\thi \npython3-pyte\tun \n'
    installed = installed_packages(out)
    assert installed == {'tmux', 'aide'}
    wanted = ['tmux', 'vlock', 'aide', 'python3-pyte', 'sudo', 'tmux=3.3a-3', 'tmux:amd64', 'tmux', 'Tmux']
    assert missing_packages(wanted, installed | {'sudo'}) == ['vlock', 'python3-pyte', 'tmux=3.3a-3', 'tmux:amd64', 'Tmux']


def test_units_are_running_only_when_loaded_active_and_enabled():
    out = ('Id=a.socket\nLoadState=loaded\nActiveState=active\nSubState=listening\nUnitFileState=enabled\n\n'
           'Id=b.timer\nLoadState=loaded\nActiveState=active\nSubState=waiting\nUnitFileState=disabled\n\n'
           'Id=c.service\nLoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\n')
    units = parse_units(out, ['a.socket', 'b.timer', 'c.service'])
    assert [name for name in units if unit_running(units[name])] == ['a.socket']
    assert not any(unit_stopped(facts) for facts in units.values())
    assert unit_stopped({'load': 'loaded', 'active': 'inactive', 'enabled': 'disabled'})
    assert not unit_stopped({'load': 'loaded', 'active': 'failed', 'enabled': 'disabled'})
    assert units['b.timer'] == {'load': 'loaded', 'active': 'active', 'sub': 'waiting', 'enabled': 'disabled',
                                'need_reload': False, 'active_since_us': 0}


def test_unit_reload_and_activation_time_are_read():
    out = ('Id=a.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n'
           'NeedDaemonReload=yes\nActiveEnterTimestampMonotonic=123456789\n\n'
           'Id=b.service\nLoadState=loaded\nActiveState=inactive\nSubState=dead\nUnitFileState=enabled\n'
           'NeedDaemonReload=no\nActiveEnterTimestampMonotonic=0\n')
    units = parse_units(out, ['a.service', 'b.service'])
    assert (units['a.service']['need_reload'], units['a.service']['active_since_us']) == (True, 123456789)
    assert (units['b.service']['need_reload'], units['b.service']['active_since_us']) == (False, 0)


# The unit became active at monotonic 1000.0 s, which is 5000.0 on the files' clock (now 5100, monotonic 1100).
ACTIVE = {'active': 'active', 'need_reload': False, 'active_since_us': 1000 * 10 ** 6}


@pytest.mark.parametrize('facts, mtimes, stale', [
    (ACTIVE, [4000.0, None], False),                   # every file older than the start, one missing
    (ACTIVE, [4999.9], False),                         # written just before the restart
    (ACTIVE, [4000.0, 5000.2], True),                  # one written after it: a restart is due
    (dict(ACTIVE, need_reload=True), [], True),        # its unit file changed and systemd was not told
    (dict(ACTIVE, active='failed'), [6000.0], False),  # not running: the start task runs anyway
    (dict(ACTIVE, active_since_us=0), [6000.0], False),
])
def test_a_unit_is_stale_when_it_does_not_run_what_is_on_disk(facts, mtimes, stale):
    assert unit_stale(facts, mtimes, 5100.0, 1100.0) is stale


def test_units_whose_blocks_cannot_be_matched_are_not_running():
    out = 'Id=a.socket\nLoadState=loaded\nActiveState=active\nSubState=listening\nUnitFileState=enabled\n'
    units = parse_units(out, ['a.socket', 'b.timer'])
    assert not any(unit_running(facts) for facts in units.values())
    assert not unit_running(parse_units('', ['a.socket'])['a.socket'])


def test_line_matches_like_lineinfile():
    assert line_matches('/bin/sh\n/usr/bin/tmux\n', r'^/(usr/)?bin/tmux$') is True
    assert line_matches('/bin/sh\n', r'tmux') is False
    assert line_matches(None, r'tmux') is None


def test_a_block_errs_towards_not_in_place():
    hook = b'# BEGIN m\nexec /gate\n# END m\n'
    assert block_in_place(hook, '# {mark} m', 'exec /gate') is True
    assert block_in_place(hook, '# {mark} m', 'exec /gate\n') is True
    assert block_in_place(None, '# {mark} m', 'exec /gate') is None
    # An empty block: blockinfile would remove the markers.
    assert block_in_place(hook, '# {mark} m', '') is False
    # Other marks than blockinfile's defaults.
    assert block_in_place(b'# <<< m\nexec /gate\n# >>> m\n', '# {mark} m', 'exec /gate', begin='<<<', end='>>>') is True
    # A form feed is a line break for str.splitlines, not for blockinfile.
    assert block_in_place(b'# BEGIN m\nexec /gate\x0c\n# END m\n', '# {mark} m', 'exec /gate\x0c') is True


def test_a_line_errs_towards_not_in_place():
    line = '@@x_include /d ^x$'
    assert line_in_place(b'@@x_include /d ^x$\n', r'^@@x_include\s+/d(\s|$)', line) is True
    assert line_in_place(b'@@x_include /d ^x$\n@@x_include /d ^y$\n', r'^@@x_include\s+/d(\s|$)', line) is False
    assert line_in_place(b'@@x_include /d ^x$', r'^@@x_include\s+/d(\s|$)', line) is False
    assert line_in_place(None, r'x', line) is None
    # No line matches the regexp: the last line that is LINE decides, as in lineinfile.
    assert line_in_place(b'@@x_include /d ^x$\n', r'^nothing', line) is True
    assert line_in_place(b'@@x_include /d ^x$\r\n', r'^nothing', line) is False
    assert line_in_place(b'', r'x', line) is False
