# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet PKI's decisions: which names are allowed, when a certificate is reissued, expiry verdicts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ephi.safeguards.plugins.module_utils.fleet_pki import (
    DAY,
    expiry_verdict,
    issue_reason,
    name_problem,
)

NOW = 1800000000


def state(**kw):
    base = {'signed_by_ca': True, 'key_matches': True, 'names': ['h1'], 'want_names': ['h1'],
            'not_after': NOW + 100 * DAY}
    base.update(kw)
    return base


@pytest.mark.parametrize('name', ['h1', 'ephi-site-loghost', 'log.example.org', 'A-1.b'])
def test_good_names(name):
    assert name_problem(name) is None


@pytest.mark.parametrize('name', ['', '../ca', 'a/b', '.hidden', '-x', 'x-', 'a b', 'ca', 'CA', 'a..b', 'x' * 64, 5, None])
def test_bad_names(name):
    assert name_problem(name)


def test_valid_certificate_is_kept():
    assert issue_reason(state(), NOW, 30) is None


@pytest.mark.parametrize('st,reason', [
    (None, 'missing'),
    (state(signed_by_ca=False), 'not signed by the current CA'),
    (state(key_matches=False), 'key does not match the certificate'),
    (state(names=['h2']), 'names differ'),
    (state(not_after=NOW + 29 * DAY), 'expires within 30 days'),
    (state(not_after=NOW - DAY), 'expires within 30 days'),
])
def test_reissue_reasons(st, reason):
    assert issue_reason(st, NOW, 30) == reason


def test_name_order_does_not_matter():
    assert issue_reason(state(names=['a', 'b'], want_names=['b', 'a']), NOW, 30) is None


def test_expiry_verdicts():
    assert expiry_verdict(NOW + 100 * DAY, NOW, 30)[0] == 'pass'
    assert expiry_verdict(NOW + 10 * DAY, NOW, 30) == ('warn', 'expires in 10.0 days (warning at 30)')
    assert expiry_verdict(NOW - DAY, NOW, 30) == ('fail', 'expired 1.0 days ago')
    assert expiry_verdict(NOW, NOW, 30)[0] == 'fail'
