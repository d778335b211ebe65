# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Role helpers. file_items: the items of a role's one ephi.safeguards.file_set task that this run applies,
group by group as --tags and --skip-tags select them (plugins/module_utils/tmux_files.py, unit tested there).
files_in_place: whether a host probe shows those files as the file set would leave them
(plugins/module_utils/host_probe.py). platform_vars_files: a role's vars files for the host's platform that exist."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleFilterError

from ansible_collections.ephi.safeguards.plugins.plugin_utils.lazy import lazy

_file_items = lazy('tmux_files', 'file_items')
_files_in_place = lazy('host_probe', 'files_in_place')


def file_items(groups, run_tags=None, skip_tags=None):
    """The ephi.safeguards.file_set items of the GROUPS whose feature is on and whose tags this run selects."""
    try:
        return _file_items(groups, run_tags, skip_tags)
    except ValueError as exc:
        raise AnsibleFilterError('file_items: %s' % exc)


def files_in_place(probe, paths, digests=None):
    """Whether host_probe's answer PROBE shows every one of PATHS as asked, and those of DIGESTS with that sha."""
    if not isinstance(paths, list) or not all(isinstance(path, str) for path in paths):
        raise AnsibleFilterError('files_in_place: the paths must be a list of strings, got %r' % (paths,))
    if digests is not None and not isinstance(digests, dict):
        raise AnsibleFilterError('files_in_place: the digests must be a mapping of path to hexadecimal digest')
    return _files_in_place(probe, paths, digests)


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
        return {'file_items': file_items, 'files_in_place': files_in_place, 'platform_vars_files': platform_vars_files}
