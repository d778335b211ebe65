# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""file_items: the items of a role's one ephi.safeguards.file_set task that this run applies, group by
group as --tags and --skip-tags select them (plugins/module_utils/tmux_files.py, unit tested there)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.ephi.safeguards.plugins.plugin_utils.lazy import lazy

_file_items = lazy('tmux_files', 'file_items')


def file_items(groups, run_tags=None, skip_tags=None):
    """The ephi.safeguards.file_set items of the GROUPS whose feature is on and whose tags this run selects."""
    try:
        return _file_items(groups, run_tags, skip_tags)
    except ValueError as exc:
        raise AnsibleFilterError('file_items: %s' % exc)


class FilterModule(object):
    def filters(self):
        return {'file_items': file_items}
