# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Module tests for ephi.safeguards.oath_usersfile: files under tmp_path, results never hold a secret."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

from ansible_collections.ephi.safeguards.plugins.modules import oath_usersfile
from ansible_collections.ephi.safeguards.tests.unit.plugins.modules.utils import patch_exit_fail, run_main

SECRET = '3132333435363738393031323334353637383930'
OTHER = 'ab' * 20


def args(tmp_path, **kw):
    base = {'path': str(tmp_path / 'etc' / 'users.oath'), 'users': ['carol', 'mia'],
            'secrets': {'carol': SECRET, 'mia': OTHER}, 'handoff_dir': str(tmp_path / 'handoff'), '_ansible_diff': True}
    base.update(kw)
    return base


def test_writes_root_only_keeps_state_and_is_idempotent(tmp_path, monkeypatch):
    patch_exit_fail(monkeypatch)
    checked = run_main(oath_usersfile.main, args(tmp_path), check=True)
    assert checked['changed'] and not (tmp_path / 'etc').exists()
    result = run_main(oath_usersfile.main, args(tmp_path))
    assert result['changed'] and result['added'] == ['carol', 'mia']
    path = tmp_path / 'etc' / 'users.oath'
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(tmp_path / 'etc')).st_mode) == 0o700
    # pam_oath's state after a login is kept.
    path.write_text(path.read_text().replace(SECRET, SECRET + '\t0\t957099\t2026-12-05T15:33:09L'))
    again = run_main(oath_usersfile.main, args(tmp_path))
    assert not again['changed'] and '957099' in path.read_text()
    for res in (checked, result, again):
        dumped = json.dumps(res)
        assert SECRET not in dumped and OTHER not in dumped
    assert result['diff']['after'] == 'carol\nmia\n'


def test_removes_undeclared_users_and_fails_without_a_secret(tmp_path, monkeypatch):
    patch_exit_fail(monkeypatch)
    run_main(oath_usersfile.main, args(tmp_path))
    result = run_main(oath_usersfile.main, args(tmp_path, users=['carol'], secrets={'carol': SECRET}))
    assert result['removed'] == ['mia'] and 'mia' not in (tmp_path / 'etc' / 'users.oath').read_text()
    before = (tmp_path / 'etc' / 'users.oath').read_text()
    failed = run_main(oath_usersfile.main, args(tmp_path, users=['carol', 'noah'], secrets={}))
    assert failed['failed'] and 'no TOTP secret for noah' in failed['msg']
    assert (tmp_path / 'etc' / 'users.oath').read_text() == before
    bad = run_main(oath_usersfile.main, args(tmp_path, secrets={'carol': 'abc'}))
    assert bad['failed'] and 'abc' not in bad['msg']


def test_generates_and_hands_over_through_a_root_only_file(tmp_path, monkeypatch):
    patch_exit_fail(monkeypatch)
    result = run_main(oath_usersfile.main, args(tmp_path, users=['noah'], secrets={}, generate=True))
    assert result['generated'] == ['noah']
    handoff = tmp_path / 'handoff' / 'noah.otpauth'
    assert result['handoff_files'] == [str(handoff)]
    assert stat.S_IMODE(os.stat(str(handoff)).st_mode) == 0o600
    assert 'otpauth://totp/' in handoff.read_text()
    secret = (tmp_path / 'etc' / 'users.oath').read_text().split()[3]
    assert secret not in json.dumps(result)
    # The next run keeps the generated secret.
    again = run_main(oath_usersfile.main, args(tmp_path, users=['noah'], secrets={}, generate=True))
    assert not again['changed'] and again['generated'] == []
