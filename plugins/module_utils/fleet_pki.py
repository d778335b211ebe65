# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure decisions for the ``ephi.safeguards.fleet_pki`` module (the fleet's
small certificate authority for RELP over TLS). Nothing in here performs I/O
or imports a third-party library.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# A certificate name is a host name as the peers address it (DNS labels), and a
# file name in the PKI directory: no slashes, no leading dot, no white space.
NAME_RE = re.compile(r'^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$')
RESERVED = ('ca',)
DAY = 86400


def name_problem(name):
    """Why NAME cannot name a certificate, or None."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        return 'not a host name (letters, digits, hyphens and dots): %r' % (name,)
    if name.lower() in RESERVED:
        return '%r is reserved for the CA files' % (name,)
    return None


def issue_reason(state, now, renew_days):
    """Why a certificate must be (re)issued, or None when the one on disk serves.

    STATE is None (no certificate or no key on disk) or a dict with
    ``signed_by_ca`` (bool: the certificate verifies against the current CA),
    ``key_matches`` (bool: the key on disk is the certificate's),
    ``names`` (the DNS names in the certificate), ``want_names`` and
    ``not_after`` (seconds since the epoch). NOW is seconds since the epoch.
    """
    if state is None:
        return 'missing'
    if not state['signed_by_ca']:
        return 'not signed by the current CA'
    if not state['key_matches']:
        return 'key does not match the certificate'
    if sorted(state['names']) != sorted(state['want_names']):
        return 'names differ'
    if state['not_after'] - now < renew_days * DAY:
        return 'expires within %d days' % renew_days
    return None


def expiry_verdict(not_after, now, warn_days):
    """('pass'|'warn'|'fail', detail) for a certificate valid until NOT_AFTER."""
    left = (not_after - now) / float(DAY)
    if left <= 0:
        return 'fail', 'expired %.1f days ago' % -left
    if left < warn_days:
        return 'warn', 'expires in %.1f days (warning at %d)' % (left, warn_days)
    return 'pass', 'valid for %.0f more days' % left
