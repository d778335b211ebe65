# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters of the ssh_key_policy role: declared-key validation and lockout checks.

They run on the controller, before anything changes on a host, and are thin
wrappers around plugins/module_utils/ssh_keys.py (unit tested there).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.ephi.safeguards.plugins.module_utils.ssh_keys import (
    STRONG_KEY_TYPES,
    lockout_problems,
    validate_declared,
)


def _plain(value):
    """Deep-copy templated data into plain Python types (2.19 data tagging)."""
    if isinstance(value, dict):
        return dict((to_native(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        return value
    return to_native(value)


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def ssh_key_policy_validate(users, allowed_types=None, rsa_min_bits=3072, allow_shared_keys=False, emergency_user=None):
    if users is None:
        users = []
    try:
        policy = {
            'allowed_types': _plain(allowed_types) if allowed_types else list(STRONG_KEY_TYPES),
            'rsa_min_bits': int(rsa_min_bits),
            'allow_shared_keys': bool(allow_shared_keys),
        }
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError('ssh_key_policy_validate: bad policy: %s' % to_native(exc))
    return validate_declared(_plain(users), policy, _utcnow(), emergency_user=_plain(emergency_user) or None)


def ssh_key_policy_lockout(validated, login_user, login_info, allow_users=None, allow_groups=None,
                           deny_users=None, deny_groups=None):
    return lockout_problems(_plain(login_user), _plain(validated), _plain(login_info or {}),
                            _plain(allow_users or []), _plain(allow_groups or []),
                            _plain(deny_users or []), _plain(deny_groups or []))


class FilterModule(object):
    def filters(self):
        return {
            'ssh_key_policy_validate': ssh_key_policy_validate,
            'ssh_key_policy_lockout': ssh_key_policy_lockout,
        }
