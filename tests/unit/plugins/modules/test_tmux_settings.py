# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Module tests for ephi.safeguards.tmux_settings against the real tmux binary.

Every tmux server started here uses a private socket in a fresh temporary
directory and is killed in a finalizer.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import socket
import subprocess
import tempfile

import pytest

from ansible_collections.ephi.safeguards.plugins.module_utils import probe_run
from ansible_collections.ephi.safeguards.plugins.modules import session_gate_audit, tmux_settings
from ansible_collections.ephi.safeguards.tests.unit.plugins.modules.utils import ExitJson, FailJson, patch_exit_fail, patch_module_args, run_main

TMUX = shutil.which('tmux') if hasattr(shutil, 'which') else None

pytestmark = pytest.mark.skipif(TMUX is None, reason='tmux binary not installed on this host')


@pytest.fixture(autouse=True)
def patch_exit(monkeypatch):
    patch_exit_fail(monkeypatch)


def run_module(args, check=False, diff=False):
    args = dict(args)
    if check:
        args['_ansible_check_mode'] = True
    if diff:
        args['_ansible_diff'] = True
    args.setdefault('socket_dirs', [])
    with patch_module_args(args):
        try:
            tmux_settings.main()
        except ExitJson as exc:
            return exc.args[0]
        except FailJson as exc:
            return exc.args[0]
    raise AssertionError('module did not exit')


@pytest.fixture
def conf(tmp_path):
    path = tmp_path / 'tmux.conf'
    path.write_text(u'# site tmux config\nset -g status on   # keep\nset -g lock-after-time 0\n')
    return path


WANTED = {'lock-after-time': 900, 'mode-keys': 'vi', 'escape-time': 0, 'mouse': False,
          'status-left': u"it's $HOME ~ #{session_name}"}


def test_check_mode_predicts_without_writing(conf):
    before = conf.read_text()
    res = run_module({'path': str(conf), 'options': WANTED}, check=True, diff=True)
    assert not res.get('failed'), res
    assert res['changed'] is True
    assert res['file_changed'] is True
    assert conf.read_text() == before
    assert res['diff'][0]['before'] == before
    assert res['diff'][0]['after'] != before
    assert 'set -g lock-after-time 900' in res['diff'][0]['after']


def test_apply_then_idempotent(conf):
    res = run_module({'path': str(conf), 'options': WANTED,
                      'bindings': {'X': 'lock-session'}, 'backup': True}, diff=True)
    assert not res.get('failed'), res
    assert res['changed'] is True
    assert os.path.exists(res['backup_file'])
    text = conf.read_text()
    assert text.startswith(u'# site tmux config\nset -g status on   # keep\n'
                           u'set -g lock-after-time 900\n')
    assert u'setw -g mode-keys vi\n' in text
    assert u'set -s escape-time 0\n' in text
    assert u'bind X lock-session\n' in text
    assert res['options']['escape-time'] == {'scope': 'server', 'value': '0'}
    assert res['options']['mode-keys'] == {'scope': 'window', 'value': 'vi'}
    assert res['options']['mouse'] == {'scope': 'session', 'value': 'off'}
    assert res['options']['status-left']['value'] == u"it's $HOME ~ #{session_name}"

    res2 = run_module({'path': str(conf), 'options': WANTED,
                       'bindings': {'X': 'lock-session'}}, check=True)
    assert res2['changed'] is False, res2
    res3 = run_module({'path': str(conf), 'options': WANTED,
                       'bindings': {'X': 'lock-session'}})
    assert res3['changed'] is False, res3
    assert conf.read_text() == text


def test_equivalent_value_is_unchanged(tmp_path):
    path = tmp_path / 'tmux.conf'
    path.write_text(u'set -g history-limit 02000\nset -g mouse no\n')
    res = run_module({'path': str(path), 'options': {'history-limit': 2000, 'mouse': 'off'}})
    assert res['changed'] is False, res


def test_create_missing_file(tmp_path):
    path = tmp_path / 'new.conf'
    res = run_module({'path': str(path), 'options': {'lock-after-time': 600}, 'mode': '0644'})
    assert res['changed'] is True, res
    assert path.read_text() == u'set -g lock-after-time 600\n'
    assert oct(os.stat(str(path)).st_mode & 0o777) == oct(0o644)


def test_create_false_fails(tmp_path):
    path = tmp_path / 'missing.conf'
    res = run_module({'path': str(path), 'options': {'lock-after-time': 600}, 'create': False})
    assert res['failed'] is True
    assert not path.exists()


def test_unknown_option_fails_and_leaves_file(conf):
    before = conf.read_text()
    wanted = {'lock-after-tmie': 900, 'lock-after-time': 900}
    res = run_module({'path': str(conf), 'options': wanted})
    assert res['failed'] is True
    assert 'lock-after-tmie' in res['msg']
    assert conf.read_text() == before


@pytest.mark.parametrize('name, value', [
    ('lock-after-time', -1),
    ('lock-after-time', 'abc'),
    ('history-limit', 'xyz'),
    ('mouse', 'maybe'),
])
def test_bad_value_fails_and_leaves_file(conf, name, value):
    before = conf.read_text()
    res = run_module({'path': str(conf), 'options': {name: value}})
    assert res['failed'] is True
    assert name in res['msg']
    assert conf.read_text() == before


def test_bad_binding_fails(conf):
    before = conf.read_text()
    res = run_module({'path': str(conf), 'bindings': {'X': 'no-such-command'}})
    assert res['failed'] is True
    assert 'X' in res['msg']
    assert conf.read_text() == before


def test_overriding_line_is_detected(tmp_path):
    path = tmp_path / 'tmux.conf'
    original = u'set -g lock-after-time 0\nif-shell true { set -g lock-after-time 5 }\n'
    path.write_text(original)
    res = run_module({'path': str(path), 'options': {'lock-after-time': 900}})
    assert res['failed'] is True
    assert 'lock-after-time' in res['msg']
    assert path.read_text() == original


# ---------------------------------------------------------------- live servers

@pytest.fixture
def live_server():
    """A real tmux server on a private socket dir, drifted on purpose."""
    sockdir = tempfile.mkdtemp(prefix='ephi-t-')
    socket_path = os.path.join(sockdir, 'default')
    env = dict(os.environ, LANG='C', LC_ALL='C')
    env.pop('TMUX', None)

    def tmux(*args):
        return subprocess.run([TMUX, '-S', socket_path] + list(args), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              check=True, universal_newlines=True).stdout

    def cleanup():
        subprocess.call([TMUX, '-S', socket_path, 'kill-server'], env=env,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        shutil.rmtree(sockdir, ignore_errors=True)

    tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'main s', 'cat')
    try:
        tmux('new-window', '-d', '-t', '=main s:', 'cat')
        tmux('set-option', '-g', 'lock-after-time', '0')
        tmux('set-option', '-t', '=main s:', 'lock-after-time', '5')
        tmux('set-option', '-w', '-t', '=main s:1', 'mode-keys', 'emacs')
        # A dead socket: bound but nobody listening.
        stale = socket.socket(socket.AF_UNIX)
        stale.bind(os.path.join(sockdir, 'stale'))
        stale.close()
        yield sockdir, socket_path, tmux
    finally:
        cleanup()


def test_live_audit_enforce_reaudit(tmp_path, live_server):
    sockdir, socket_path, tmux = live_server
    path = tmp_path / 'tmux.conf'
    path.write_text(u'set -g lock-after-time 900\nsetw -g mode-keys vi\n')
    args = {'path': str(path), 'options': {'lock-after-time': 900, 'mode-keys': 'vi'},
            'socket_dirs': [sockdir]}

    audit = run_module(dict(args, live='audit'), diff=True)
    assert not audit.get('failed'), audit
    assert audit['changed'] is False
    found = sorted((d['scope'], d['target'], d['option'], d['found']) for d in audit['drift'])
    assert found == [('session', 'global', 'lock-after-time', '0'),
                     ('session', 'main s', 'lock-after-time', '5'),
                     ('window', 'global', 'mode-keys', 'emacs'),
                     ('window', 'main s:1', 'mode-keys', 'emacs')]
    assert audit['stale_sockets'] == [os.path.join(sockdir, 'stale')]
    statuses = dict((s['socket'], s['status']) for s in audit['servers'])
    assert statuses[socket_path] == 'running'
    assert audit['drift'][0]['uid'] == os.getuid()
    assert any('prepared' in d for d in audit['diff'])
    # The time the live part took, measured in the module.
    assert isinstance(audit['live_seconds'], float) and 0 <= audit['live_seconds'] < 30
    assert tmux('show-options', '-gv', 'lock-after-time').strip() == '0'

    check = run_module(dict(args, live='enforce'), check=True)
    assert check['changed'] is True
    assert len(check['fixed']) == 4
    assert tmux('show-options', '-gv', 'lock-after-time').strip() == '0'

    enforce = run_module(dict(args, live='enforce'), diff=True)
    assert not enforce.get('failed'), enforce
    assert enforce['changed'] is True
    assert enforce['file_changed'] is False
    assert len(enforce['fixed']) == 4
    assert enforce['diff'][1]['before'] != enforce['diff'][1]['after']
    assert tmux('show-options', '-gv', 'lock-after-time').strip() == '900'
    assert tmux('show-options', '-t', '=main s:', 'lock-after-time').strip() == ''

    again = run_module(dict(args, live='audit'))
    assert again['drift'] == []
    assert again['changed'] is False
    enforce2 = run_module(dict(args, live='enforce'))
    assert enforce2['changed'] is False
    assert enforce2['fixed'] == []
    assert 'live_seconds' not in run_module(dict(args, live='none'))


# The tmux role's verify compares tmux.conf and the live servers in the session gate audit's run
# (its option settings, module_utils/tmux_settings_run.py), after its probe, which decides capture.
MOUNTINFO = ('22 1 8:1 / / rw - ext4 /dev/sda1 rw\n'
             '40 22 0:35 / /var/log/ephi rw - %s /var/lib/ephi/cipher rw\n')
CAPTURE = {'mount': '/var/log/ephi', 'fstypes': ['fuse.gocryptfs'], 'pipe_command': 'cat >/dev/null',
           'hooks': {'session-created': 'display-message hello'}}


def gate_audit(tmp_path, monkeypatch, settings, fstype='fuse.gocryptfs', check=False, probe=True):
    mountinfo = tmp_path / 'mountinfo'
    mountinfo.write_text(MOUNTINFO % fstype)
    monkeypatch.setattr(probe_run, 'MOUNTINFO', str(mountinfo))
    args = {'audit': False, 'settings': settings}
    if probe:
        args['probe'] = {'mounts': ['/var/log/ephi']}
    return run_main(session_gate_audit.main, args, check)


@pytest.mark.parametrize('check', [False, True])
def test_the_session_gate_audit_compares_in_its_run_and_never_writes(conf, tmp_path, monkeypatch, live_server, check):
    sockdir = live_server[0]
    before = conf.read_text()
    wanted = {'path': str(conf), 'options': WANTED, 'bindings': {'X': 'lock-session'}, 'socket_dirs': [sockdir]}
    own = run_module(dict(wanted, live='audit'), check=True)
    result = gate_audit(tmp_path, monkeypatch, dict(wanted, capture=None), check=check)
    answer = result['settings']
    assert not result.get('failed') and result['probe']['mounts'] == {'/var/log/ephi': 'fuse.gocryptfs'}
    # tmux_settings' own answer in check mode, the live drift too, and nothing written in either mode.
    for key in ('file_changed', 'changes', 'options', 'bindings', 'hooks', 'servers', 'stale_sockets', 'unexamined'):
        assert answer[key] == own[key], key
    assert answer['file_changed'] is True and answer['changes']
    assert sorted((d['target'], d['option']) for d in answer['drift']) == sorted(
        (d['target'], d['option']) for d in own['drift']) and answer['drift']
    assert answer['changed'] is False and answer['capture_active'] is False and 'diff' not in answer
    assert conf.read_text() == before


def test_capture_is_wanted_only_on_an_encrypted_mount(conf, tmp_path, monkeypatch, live_server):
    sockdir = live_server[0]
    wanted = {'path': str(conf), 'options': WANTED, 'socket_dirs': [sockdir], 'capture': CAPTURE}
    answer = gate_audit(tmp_path, monkeypatch, wanted)['settings']
    # Mounted with gocryptfs: the hooks are part of the policy, and every pane must pipe.
    assert answer['capture_active'] is True and list(answer['hooks']) == ['session-created']
    assert [c for c in answer['changes'] if c.get('kind') == 'hook']
    assert [d for d in answer['drift'] if d.get('scope') == 'pane']
    # Not encrypted, or the probe not asked: no hooks, no pipe, whatever capture says.
    for kwargs in ({'fstype': 'ext4'}, {'probe': False}):
        answer = gate_audit(tmp_path, monkeypatch, wanted, **kwargs)['settings']
        assert answer['capture_active'] is False and answer['hooks'] == {}
        assert not [c for c in answer['changes'] if c.get('kind') == 'hook']
        assert not [d for d in answer['drift'] if d.get('scope') in ('hook', 'pane')]
    # Capture off: the same.
    answer = gate_audit(tmp_path, monkeypatch, dict(wanted, capture=None))['settings']
    assert answer['capture_active'] is False and answer['hooks'] == {}


def test_a_comparison_that_cannot_run_is_a_failed_answer(conf, tmp_path, monkeypatch):
    for settings, why in (({'path': str(conf), 'options': {'bad name': 1}}, "tmux_settings: invalid tmux option name"),
                          ({'path': str(conf), 'live': 'enforce'}, 'tmux_settings: value of live must be one of'),
                          ({'path': str(tmp_path)}, 'tmux_settings: %s is a directory' % tmp_path)):
        result = gate_audit(tmp_path, monkeypatch, dict(settings, socket_dirs=[]))
        assert result['settings']['failed'] is True and result['settings']['msg'].startswith(why), result
        # The gate audit's own work and its probe are there anyway.
        assert not result.get('failed') and result['probe']['mounts']
    assert 'settings' not in gate_audit(tmp_path, monkeypatch, None)
