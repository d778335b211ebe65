# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Role helpers. file_items: the items of a role's one ephi.safeguards.file_set task that this run applies,
group by group as --tags and --skip-tags select them (plugins/module_utils/tmux_files.py, unit tested there).
file_set_probe_paths: the host_probe paths with which file_set's probed option can spare its module run
(plugins/module_utils/file_set.py). platform_vars_files: a role's vars files for the host's platform that exist."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleFilterError

from ansible_collections.ephi.safeguards.plugins.plugin_utils.lazy import lazy

_file_items = lazy('tmux_files', 'file_items')
_probe_wants = lazy('file_set', 'probe_wants')


def file_items(groups, run_tags=None, skip_tags=None):
    """The ephi.safeguards.file_set items of the GROUPS whose feature is on and whose tags this run selects."""
    try:
        return _file_items(groups, run_tags, skip_tags)
    except ValueError as exc:
        raise AnsibleFilterError('file_items: %s' % exc)


def file_set_probe_paths(wants, *files):
    """WANTS (a host_probe paths list) with what file_set's probed option needs of the FILES lists' items."""
    if not isinstance(wants, list):
        raise AnsibleFilterError('file_set_probe_paths: the input must be a list of host_probe paths, got %s' % type(wants).__name__)
    items = []
    for index, group in enumerate(files):
        if not isinstance(group, list):
            raise AnsibleFilterError('file_set_probe_paths: argument %d must be a list of file_set items, got %s'
                                     % (index + 1, type(group).__name__))
        items.extend(group)
    return _probe_wants(items, wants)


def platform_vars_files(role_path, facts):
    """The files <ROLE_PATH>/vars/<os_family>.yml, <distribution>.yml and
    <distribution>_<distribution_major_version>.yml that exist, most general first, each once; none
    while the facts lack one of the three (not gathered yet: the roles gather them first, and
    ansible-core 2.16 evaluates this even where an 'or' before it is already true)."""
    if not isinstance(facts, dict):
        raise AnsibleFilterError('platform_vars_files: the facts must be a mapping (ansible_facts)')
    try:
        names = [facts['os_family'], facts['distribution'],
                 '%s_%s' % (facts['distribution'], facts['distribution_major_version'])]
    except KeyError:
        return []
    found = []
    for name in names:
        path = os.path.join(str(role_path), 'vars', '%s.yml' % name)
        if path not in found and os.path.isfile(path):
            found.append(path)
    return found


class FilterModule(object):
    def filters(self):
        return {'file_items': file_items, 'file_set_probe_paths': file_set_probe_paths, 'platform_vars_files': platform_vars_files}
