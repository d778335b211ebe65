# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""roles/tmux/files/ephi_session_gate.py: TERM choice, what it runs, the
environment it gives, exit codes, and what it does without a recorder; and
its entry point (roles/tmux/templates/ephi-session-gate.j2): which code it
imports, whatever the user's side puts in the way."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import py_compile
import subprocess
import sys

import pytest

from ansible_collections.ephi.safeguards.tests.unit.roles.session_programs import FILES, GATE_PATH, gate_argv, load

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


def entry_point(lib):
    """The entry point template rendered for the directory lib (the lines of
    Ansible's comment filters left out)."""
    with open(os.path.join(FILES, '..', 'templates', 'ephi-session-gate.j2')) as fh:
        lines = [line for line in fh if not line.startswith('{{')]
    text = ''.join(lines).replace('{{ __tmux_capture_libexec | to_json }}', json.dumps(str(lib)))
    assert '{{' not in text
    path = lib / 'ephi-session-gate'
    path.write_text(text)
    return str(path)


def run_entry(stub, cwd, env):
    """The entry point as sshd starts it: its shebang's flags (-IS)."""
    return subprocess.run([sys.executable, '-IS', stub], cwd=str(cwd), env=env, capture_output=True,
                          text=True, timeout=30, check=False)


def test_entry_point_imports_only_the_root_owned_gate(tmp_path):
    # A user puts a module of the gate's name, a sitecustomize and a usercustomize
    # where they might be picked up: the working directory, PYTHONPATH,
    # PYTHONSTARTUP, PYTHONUSERBASE. The entry point still imports the gate
    # from its own directory and nothing of theirs runs.
    lib = tmp_path / 'lib'
    lib.mkdir()
    (lib / 'ephi_session_gate.py').write_text('def main():\n    print("REAL")\n    return 0\n')
    evil = tmp_path / 'home'
    evil.mkdir()
    for name in ('ephi_session_gate.py', 'sitecustomize.py', 'usercustomize.py', 'startup.py'):
        (evil / name).write_text('print("EVIL")\ndef main():\n    print("EVIL")\n    return 0\n')
    env = dict(os.environ, PYTHONPATH=str(evil), PYTHONSTARTUP=str(evil / 'startup.py'),
               PYTHONUSERBASE=str(evil), PYTHONINSPECT='1')
    out = run_entry(entry_point(lib), evil, env)
    assert (out.returncode, out.stdout) == (0, 'REAL\n'), out


def test_entry_point_never_runs_stale_bytecode(tmp_path):
    # Root compiles the gate into a checked-hash .pyc; once the source
    # changes (an update before the recorder recompiles), the old bytecode is
    # not used.
    lib = tmp_path / 'lib'
    lib.mkdir()
    source = lib / 'ephi_session_gate.py'
    source.write_text('def main():\n    print("OLD")\n    return 0\n')
    py_compile.compile(str(source), doraise=True, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
    stub = entry_point(lib)
    assert run_entry(stub, tmp_path, dict(os.environ)).stdout == 'OLD\n'
    source.write_text('def main():\n    print("NEW")\n    return 0\n')
    assert run_entry(stub, tmp_path, dict(os.environ)).stdout == 'NEW\n'
