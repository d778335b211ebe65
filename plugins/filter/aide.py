# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters of the aide role: glue to plugins/module_utils/aide_controls.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.ephi.safeguards.plugins.plugin_utils.lazy import lazy

# plugins/module_utils/aide_controls.py, imported when a filter runs (plugin_utils/lazy.py).
build_controls = lazy('aide_controls', 'build_controls')
tamper = lazy('aide_controls', 'tamper')


def _check_args(name, probes, policy):
    if not isinstance(probes, dict):
        raise AnsibleFilterError('%s expects a dict of probes, got %s' % (name, type(probes).__name__))
    if not isinstance(policy, dict):
        raise AnsibleFilterError('%s expects a dict of policy settings, got %s' % (name, type(policy).__name__))


def aide_controls(probes, policy):
    """The aide role's evidence records (aide-installed, aide-baseline, aide-scheduled-check, aide-check-clean)."""
    _check_args('aide_controls', probes, policy)
    return build_controls(probes, policy)


def aide_tamper(probes, policy):
    """The AIDE database compared with the controller's record: state, consistent, msg, init_action."""
    _check_args('aide_tamper', probes, policy)
    return tamper(probes, policy)


class FilterModule(object):
    def filters(self):
        return {'aide_controls': aide_controls, 'aide_tamper': aide_tamper}
