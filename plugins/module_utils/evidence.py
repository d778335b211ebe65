# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The evidence record every control of every role returns, and small text
helpers the controls share.

A control is one pure function of named probes (what the role observed on the
host) and the policy (the role's variables) that returns one record. A
control that could not examine its object fails: it never passes on a probe
that is missing, failed or was skipped.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

STATUSES = ('pass', 'fail', 'not_applicable')


def record(cid, safeguard, hipaa, stig, check, observed, status):
    """One evidence record, keys in the order the reports show them."""
    if status not in STATUSES:
        raise ValueError('control %s: status %r is not one of %s' % (cid, status, ', '.join(STATUSES)))
    return {'id': cid, 'safeguard': safeguard, 'hipaa': hipaa, 'stig': stig,
            'check': check, 'observed': observed, 'status': status}


def text(value):
    """str() as Jinja's ``string`` filter and ``~`` render a value (None -> 'None')."""
    if isinstance(value, bool):
        return 'True' if value else 'False'
    return str(value)


def truncate(value, length=255, end='...', leeway=5):
    """Jinja's ``truncate`` filter with its defaults (killwords false, leeway 5)."""
    value = text(value)
    if len(value) <= length + leeway:
        return value
    return value[:length - len(end)].rsplit(' ', 1)[0] + end


def probe_failed(result):
    """True when a registered task result says the probe did not run or failed."""
    if not isinstance(result, dict):
        return True
    return bool(result.get('failed') or result.get('skipped') or result.get('unreachable'))
