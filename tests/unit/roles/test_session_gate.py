# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""roles/tmux/files/ephi-session-gate: TERM choice, what it runs, the
environment it gives, exit codes, and what it does without a recorder."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import subprocess

import pytest

from ansible_collections.ephi.safeguards.tests.unit.roles.session_programs import GATE_PATH, gate_argv, load

gate = load('ephi_session_gate', GATE_PATH)
CONF = dict(gate.DEFAULTS)


def known(term):
    return term in ('xterm', 'xterm-256color', 'tmux-256color')


@pytest.mark.parametrize('term, expected', [
    ('xterm-256color', 'xterm-256color'),
    ('tmux-256color', 'tmux-256color'),
    ('dumb', 'xterm'),
    ('unknown', 'xterm'),
    ('', 'xterm'),
    (None, 'xterm'),
    ('no-such-terminal', 'xterm'),
])
def test_choose_term(term, expected):
    assert gate.choose_term(term, 'xterm', known) == expected


def test_has_terminfo(tmp_path):
    (tmp_path / 'x').mkdir()
    (tmp_path / 'x' / 'xterm').write_text('')
    (tmp_path / '66').mkdir()
    (tmp_path / '66' / 'foot').write_text('')
    dirs = (str(tmp_path),)
    assert gate.has_terminfo('xterm', dirs)
    assert gate.has_terminfo('foot', dirs)
    assert not gate.has_terminfo('vt100', dirs)
    for bad in ('../x/xterm', 'x/xterm', '', '-x', 'a' * 100):
        assert not gate.has_terminfo(bad, dirs)


def test_pty_argv():
    conf = dict(CONF, tmux='/usr/bin/tmux', tmux_conf='/etc/tmux.conf', session_name='main')
    assert gate.pty_argv(conf, None, 'abc') == ['/usr/bin/tmux', '-f', '/etc/tmux.conf', 'new-session', '-A',
                                                '-s', 'main']
    assert gate.pty_argv(conf, 'top -d 1', 'abc') == ['/usr/bin/tmux', '-f', '/etc/tmux.conf', 'new-session',
                                                      '-s', 'main-abc', '--', 'top -d 1']


def test_command_argv():
    conf = dict(CONF, sftp_server='/usr/lib/openssh/sftp-server')
    assert gate.command_argv(conf, 'ls -l', '/bin/bash') == ['/bin/bash', '-c', 'ls -l']
    assert gate.command_argv(conf, '', '/bin/bash') == ['/bin/bash']
    sftp = ['/usr/lib/openssh/sftp-server', '-l', 'INFO', '-f', 'AUTHPRIV']
    assert gate.command_argv(conf, '/usr/lib/openssh/sftp-server', '/bin/bash') == sftp
    assert gate.command_argv(conf, 'internal-sftp', '/bin/bash') == sftp
    assert gate.is_sftp('/usr/lib/sftp-server -e')
    assert not gate.is_sftp('sftp host')


def test_child_env():
    env = gate.child_env({'TMUX': '/tmp/x,1,0', 'TMUX_PANE': '%1', 'HOME': '/h', 'TERM': 'dumb'}, 'xterm', 'id1')
    assert env == {'HOME': '/h', 'TERM': 'xterm', 'EPHI_SESSION_ID': 'id1'}
    assert gate.child_env({'TERM': 'x'}, None, None) == {'TERM': 'x'}


def test_exit_code():
    assert gate.exit_code(3 << 8) == 3
    assert gate.exit_code(9) == 137
    assert gate.exit_code(1) == 129


def test_event_format():
    assert gate.format_event('session-refused', [('user', 'bob'), ('uid', 1001),
                                                 ('reason', 'no-recorder: No such file')]) == \
        'event=session-refused user=bob uid=1001 reason="no-recorder: No such file"'


def write_conf(tmp_path, **fields):
    conf = dict(CONF, socket=str(tmp_path / 'absent.sock'))
    conf.update(fields)
    path = tmp_path / 'conf.json'
    path.write_text(json.dumps(conf))
    return str(path)


def test_no_recorder_refuses(tmp_path):
    path = write_conf(tmp_path)
    out = subprocess.run(gate_argv(path), input=b'', capture_output=True,
                         env={'PATH': '/usr/bin:/bin', 'SSH_ORIGINAL_COMMAND': 'echo secret'}, timeout=30, check=False)
    assert out.returncode == 1
    assert out.stdout == b''
    assert b'cannot be recorded' in out.stderr


def test_no_recorder_allow_runs_unrecorded(tmp_path):
    path = write_conf(tmp_path, unrecordable='allow')
    out = subprocess.run(gate_argv(path), input=b'', capture_output=True,
                         env={'PATH': '/usr/bin:/bin', 'SSH_ORIGINAL_COMMAND': 'echo fine; exit 2'}, timeout=30,
                         check=False)
    assert (out.returncode, out.stdout) == (2, b'fine\n')


def test_missing_config_means_refuse(tmp_path):
    out = subprocess.run(gate_argv(str(tmp_path / 'none.json')), input=b'',
                         capture_output=True, env={'PATH': '/usr/bin:/bin', 'SSH_ORIGINAL_COMMAND': 'echo x'},
                         timeout=30, check=False)
    assert out.returncode == 1
    assert out.stdout == b''
