# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Module tests for ephi.safeguards.ssh_policy_sshd_config: check mode writes nothing,
a candidate sshd -t refuses is never written, and no temporary file is left behind.
sshd is a stand-in script that records its arguments and exits with a given status."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.ephi.safeguards.plugins.modules import ssh_policy_sshd_config as mod
from ansible_collections.ephi.safeguards.tests.unit.plugins.modules.utils import patch_exit_fail, run_main

STOCK = 'Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\nX11Forwarding yes\n'


@pytest.fixture
def setup(tmp_path, monkeypatch):
    patch_exit_fail(monkeypatch)
    path = tmp_path / 'sshd_config'
    path.write_text(STOCK)
    os.chmod(str(path), 0o644)
    log = tmp_path / 'sshd.log'

    def sshd(rc):
        script = tmp_path / 'sshd'
        script.write_text('#!/bin/sh\nprintf "%%s\\n" "$*" >> %s\ncat "$3" >> %s 2>/dev/null\necho refused >&2\nexit %d\n'
                          % (log, log, rc))
        os.chmod(str(script), 0o700)
        return str(script)

    def args(rc=0, **more):
        base = {'path': str(path), 'include': 'Include /etc/ssh/sshd_config.d/*.conf',
                'settings': {'X11Forwarding': False, 'HostKey': ['/k']}, 'sshd_bin': sshd(rc)}
        base.update(more)
        return base

    return path, log, args


def leftovers(path):
    return [n for n in os.listdir(str(path.parent)) if n.startswith('.sshd_config.ephi-')]


def test_check_mode_validates_and_writes_nothing(setup):
    path, log, args = setup
    result = run_main(mod.main, args(), check=True)
    assert result['changed'] is True and not result.get('failed')
    assert path.read_text() == STOCK
    assert '-t -f' in log.read_text() and 'X11Forwarding no' in log.read_text()
    assert leftovers(path) == []


def test_apply_writes_keeps_the_mode_and_is_idempotent(setup):
    path, log, args = setup
    result = run_main(mod.main, args())
    assert result['changed'] is True
    content = path.read_text()
    assert content.splitlines()[0] == 'Include /etc/ssh/sshd_config.d/*.conf'
    assert 'X11Forwarding no' in content and '\nX11Forwarding yes' not in content
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o644
    assert result['block'] == [['X11Forwarding', 'no']]
    assert run_main(mod.main, args())['changed'] is False
    assert leftovers(path) == []


def test_candidate_refused_by_sshd_is_not_written(setup):
    path, log, args = setup
    result = run_main(mod.main, args(rc=255))
    assert result['failed'] and 'sshd -t refuses' in result['msg'] and 'refused' in result['msg']
    assert path.read_text() == STOCK
    assert leftovers(path) == []


def test_line_break_in_a_value_is_refused_before_reading(setup):
    path, log, args = setup
    result = run_main(mod.main, args(extra_settings={'Banner': '/x\nPermitRootLogin yes'}))
    assert result['failed'] and 'line break' in result['msg']
    assert path.read_text() == STOCK and not log.exists()


def test_effective_returns_global_sshd_t(setup):
    path, log, args = setup
    script = path.parent / 'sshd-T'
    script.write_text('#!/bin/sh\n[ "$1" = -T ] && printf "x11forwarding no\\nhostkey /k\\n"\nexit 0\n')
    os.chmod(str(script), 0o700)
    result = run_main(mod.main, args(sshd_bin=str(script), effective=True), check=True)
    assert not result.get('failed') and result['changed'] is True
    assert result['sshd_effective'] == {'x11forwarding': ['no'], 'hostkey': ['/k']}


def test_the_probe_is_answered_in_the_same_run(setup, tmp_path):
    # host_probe's questions in this module's run (option probe), a command here; the file is not written.
    path, log, args = setup
    sshd = tmp_path / 'sshd-t'
    sshd.write_text('#!/bin/sh\nprintf "port 22\\nx11forwarding no\\n"\n')
    os.chmod(str(sshd), 0o700)
    argv = [str(sshd), '-T', '-C', 'user=erin,host=localhost,addr=127.0.0.1']
    result = run_main(mod.main, args(sshd_bin=str(sshd), validate=False, probe={'commands': [argv]}), check=True)
    assert path.read_text() == STOCK and result['changed'] is True
    answer = result['probe']['commands'][0]
    assert answer['argv'] == argv and answer['rc'] == 0
    assert answer['stdout'].splitlines() == ['port 22', 'x11forwarding no']
