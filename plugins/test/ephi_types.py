# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Type-and-shape tests for the roles' input checks (tasks/check_vars.yml).

One test per shape, so that each check is one line:
``aide_watch_config is ephi.safeguards.list_matching(__aide_path_re)``.

- ``list_matching(pattern)``: a list (not a string, not a mapping) whose items,
  as strings, all match ``pattern`` (from the start, like Jinja's ``match``).
- ``list_within(allowed)``: a list whose items, as strings, are all in ``allowed``.
- ``list_of_mappings``: a list whose items are all mappings.
- ``keys_matching(pattern)``: a mapping whose keys, as strings, all match ``pattern``.
- ``string_matching(pattern)``: a string (not a number, list or mapping) that matches ``pattern``.
- ``whole_number(minimum, maximum)``: an integer, or a string of decimal digits only
  (not a boolean, a float or a number with a sign, spaces or a line break), within the bounds given.

A text with a line break never matches a pattern: every value these checks see
ends up in a configuration file or a unit, and ``$`` alone would let a
trailing line break through.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections.abc import Mapping

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text

DIGITS = re.compile(r'[0-9]+\Z')


def _text(value):
    """As Jinja's ``string`` filter renders a value."""
    return to_text(value, errors='surrogate_or_strict')


def _regex(pattern):
    try:
        return re.compile(_text(pattern))
    except re.error as exc:
        raise AnsibleError('invalid regular expression %r: %s' % (pattern, exc))


def _matches(regex, value):
    value = _text(value)
    return '\n' not in value and '\r' not in value and regex.match(value) is not None


def _is_list(value):
    """What the checks called ``x is sequence and x is not string and x is not mapping``."""
    if isinstance(value, (str, bytes, Mapping)):
        return False
    try:
        len(value)
        value.__getitem__  # pylint: disable=pointless-statement
    except (TypeError, AttributeError):
        return False
    return True


def list_matching(value, pattern=''):
    if not _is_list(value):
        return False
    regex = _regex(pattern)
    return all(_matches(regex, item) for item in value)


def list_within(value, allowed):
    if not _is_list(value) or not _is_list(allowed):
        return False
    allowed = [_text(a) for a in allowed]
    return all(_text(item) in allowed for item in value)


def list_of_mappings(value):
    return _is_list(value) and all(isinstance(item, Mapping) for item in value)


def keys_matching(value, pattern=''):
    if not isinstance(value, Mapping):
        return False
    regex = _regex(pattern)
    return all(_matches(regex, key) for key in value)


def string_matching(value, pattern=''):
    return isinstance(value, str) and _matches(_regex(pattern), value)


def whole_number(value, minimum=None, maximum=None):
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        number = value
        if number < 0:
            return False
    elif isinstance(value, str) and DIGITS.match(value):
        number = int(value)
    else:
        return False
    if minimum is not None and number < int(minimum):
        return False
    if maximum is not None and number > int(maximum):
        return False
    return True


class TestModule(object):
    def tests(self):
        return {
            'list_matching': list_matching,
            'list_within': list_within,
            'list_of_mappings': list_of_mappings,
            'keys_matching': keys_matching,
            'string_matching': string_matching,
            'whole_number': whole_number,
        }
