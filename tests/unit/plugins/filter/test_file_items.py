# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""file_items, the aide role's file set by tags: glue over module_utils/tmux_files.py's file_items
(whose tag rules are tested against ansible-core's own in test_tmux_policy.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.ephi.safeguards.plugins.filter.file_items import FilterModule

FILE_ITEMS = FilterModule().filters()['file_items']
DROPIN = {'dest': '/etc/aide/aide.conf.d/90_ephi_safeguards', 'template': 'aide-ephi-safeguards.conf.j2'}
TIMER = {'dest': '/etc/systemd/system/ephi-aide-check.timer', 'template': 'ephi-aide-check.timer.j2'}
GROUPS = [{'tags': ['aide', 'aide_config'], 'when': True, 'files': [DROPIN]},
          {'tags': ['aide', 'aide_schedule'], 'files': [TIMER]}]


@pytest.mark.parametrize('run_tags, skip_tags, expected', [
    (['all'], [], [DROPIN, TIMER]),
    (['aide'], [], [DROPIN, TIMER]),
    (['aide_schedule'], [], [TIMER]),
    (['aide_config'], [], [DROPIN]),
    (['all'], ['aide_config'], [TIMER]),
    (['aide_baseline'], [], []),
])
def test_each_group_by_the_tags_the_run_selects(run_tags, skip_tags, expected):
    assert FILE_ITEMS(GROUPS, run_tags, skip_tags) == expected


def test_a_group_that_is_off_is_left_out_and_bad_groups_are_filter_errors():
    assert FILE_ITEMS([dict(GROUPS[0], when=False), GROUPS[1]], ['all'], []) == [TIMER]
    with pytest.raises(AnsibleFilterError, match='file_items: group 0 needs tags'):
        FILE_ITEMS([{'files': [DROPIN]}], ['all'], [])


PLATFORM_VARS_FILES = FilterModule().filters()['platform_vars_files']
DEBIAN_13 = {'os_family': 'Debian', 'distribution': 'Debian', 'distribution_major_version': '13'}


def test_platform_vars_files_existing_most_general_first_each_once(tmp_path):
    (tmp_path / 'vars').mkdir()
    assert PLATFORM_VARS_FILES(str(tmp_path), DEBIAN_13) == []
    for name in ('main.yml', 'Debian_12.yml', 'Debian_13.yml', 'Debian.yml'):
        (tmp_path / 'vars' / name).write_text('---\n')
    assert PLATFORM_VARS_FILES(str(tmp_path), DEBIAN_13) == [str(tmp_path / 'vars' / 'Debian.yml'),
                                                             str(tmp_path / 'vars' / 'Debian_13.yml')]
    ubuntu = {'os_family': 'Debian', 'distribution': 'Ubuntu', 'distribution_major_version': '24'}
    (tmp_path / 'vars' / 'Ubuntu_24.yml').write_text('---\n')
    assert PLATFORM_VARS_FILES(str(tmp_path), ubuntu) == [str(tmp_path / 'vars' / 'Debian.yml'),
                                                          str(tmp_path / 'vars' / 'Ubuntu_24.yml')]


def test_platform_vars_files_without_the_facts_is_empty(tmp_path):
    (tmp_path / 'vars').mkdir()
    (tmp_path / 'vars' / 'Debian.yml').write_text('---\n')
    assert PLATFORM_VARS_FILES(str(tmp_path), {'os_family': 'Debian', 'distribution': 'Debian'}) == []
    assert PLATFORM_VARS_FILES(str(tmp_path), {}) == []
    with pytest.raises(AnsibleFilterError, match='mapping'):
        PLATFORM_VARS_FILES('/nonexistent', None)


def test_file_set_probe_paths_adds_the_sets_paths_after_the_roles_own():
    probe_paths = FilterModule().filters()['file_set_probe_paths']
    early = [{'path': '/usr/local/libexec/ephi', 'state': 'directory', 'mode': '0755'},
             {'dest': '/usr/local/libexec/ephi/tool', 'src': 'tool', 'mode': '0755'}]
    late = [{'path': '/usr/local/libexec/ephi', 'state': 'directory', 'mode': '0755'},
            {'dest': '/etc/tool.json', 'template': 'tool.json.j2'}]
    assert probe_paths(['/etc/tool.json', '/usr/bin/vlock'], early, late) == [
        {'path': '/etc/tool.json', 'checksum': 'sha256'}, '/usr/bin/vlock', '/usr/local/libexec',
        '/usr/local/libexec/ephi', {'path': '/usr/local/libexec/ephi/tool', 'checksum': 'sha256'}, '/etc']
    assert probe_paths([]) == []


def test_file_set_probe_paths_refuses_what_is_not_a_list():
    probe_paths = FilterModule().filters()['file_set_probe_paths']
    with pytest.raises(AnsibleFilterError, match='input must be a list'):
        probe_paths('/etc/x', [])
    with pytest.raises(AnsibleFilterError, match='argument 2 must be a list'):
        probe_paths([], [], {'dest': '/etc/x'})
