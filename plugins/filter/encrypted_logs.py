# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters of the encrypted_logs role: glue over module_utils/encrypted_logs.py,
where the decisions are."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.ephi.safeguards.plugins.plugin_utils.lazy import lazy

# plugins/module_utils/encrypted_logs.py, imported when a filter runs (plugin_utils/lazy.py).
mount_unit_name = lazy('encrypted_logs', 'mount_unit_name')
store_config_problems = lazy('encrypted_logs', 'store_config_problems')


def encrypted_logs_store_problems(settings):
    """['VARIABLE: message', ...] wrong with the store filesystem settings (a dict of the role's values)."""
    if not isinstance(settings, dict):
        raise AnsibleFilterError('encrypted_logs_store_problems expects a dict, got %s' % type(settings).__name__)
    try:
        problems = store_config_problems(
            settings['backend'], settings['backing_path'], settings['mount_path'], settings.get('device'),
            settings.get('fstype'), settings.get('options'), settings.get('min_free_mb', 0))
    except KeyError as exc:
        raise AnsibleFilterError('encrypted_logs_store_problems: missing %s' % exc)
    return ['%s: %s' % problem for problem in problems]


def encrypted_logs_mount_unit(path):
    """The systemd mount unit name of mount point PATH (systemd-escape --path --suffix=mount)."""
    if not isinstance(path, str) or not path.startswith('/'):
        raise AnsibleFilterError('encrypted_logs_mount_unit expects an absolute path, got %r' % (path,))
    return mount_unit_name(path)


class FilterModule(object):
    def filters(self):
        return {
            'encrypted_logs_mount_unit': encrypted_logs_mount_unit,
            'encrypted_logs_store_problems': encrypted_logs_store_problems,
        }
