# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""failed_checks: the roles' check_vars rules judged in one task (a loop item
costs the controller as much as a small task)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

TRUE = frozenset(['true', 'yes', 'on', '1'])


def is_true(value):
    """A rule's C(ok) as templated: a bool (native templating) or its text
    (ansible-core before 2.19 renders nested values as strings). Anything
    else, such as a rule that did not render, is not true: it fails closed."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in TRUE
    return False


def failed_checks(checks):
    """"<var>: <msg>" for every rule {var, ok, msg} whose ok is not true, in order."""
    if not isinstance(checks, list):
        raise AnsibleFilterError('failed_checks expects a list of {var, ok, msg}, got %s' % type(checks).__name__)
    problems = []
    for check in checks:
        if not isinstance(check, dict) or 'var' not in check or 'ok' not in check:
            raise AnsibleFilterError('failed_checks: each rule needs var and ok, got %r' % (check,))
        if not is_true(check['ok']):
            problems.append('%s: %s' % (check['var'], check.get('msg') or 'invalid'))
    return problems


class FilterModule(object):
    def filters(self):
        return {'failed_checks': failed_checks}
