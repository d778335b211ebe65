# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters of the log_forward and log_host roles: glue to plugins/module_utils/log_controls.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.ephi.safeguards.plugins.plugin_utils.lazy import lazy

# plugins/module_utils/log_controls.py, imported when a filter runs (plugin_utils/lazy.py).
forward_controls = lazy('log_controls', 'forward_controls')
host_controls = lazy('log_controls', 'host_controls')


def _check_args(name, probes, policy):
    if not isinstance(probes, dict):
        raise AnsibleFilterError('%s expects a dict of probes, got %s' % (name, type(probes).__name__))
    if not isinstance(policy, dict):
        raise AnsibleFilterError('%s expects a dict of policy settings, got %s' % (name, type(policy).__name__))


def log_forward_controls(probes, policy):
    """The log_forward role's evidence records (log-forward-shipping, log-forward-certificate, log-forward-chain)."""
    _check_args('log_forward_controls', probes, policy)
    return forward_controls(probes, policy)


def log_host_controls(probes, policy):
    """The log_host role's evidence records (log-host-receiving, log-host-certificate, log-host-retention)."""
    _check_args('log_host_controls', probes, policy)
    return host_controls(probes, policy)


class FilterModule(object):
    def filters(self):
        return {'log_forward_controls': log_forward_controls, 'log_host_controls': log_host_controls}
