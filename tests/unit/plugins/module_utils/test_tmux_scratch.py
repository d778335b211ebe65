# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The scratch tmux server: first with a recording fake runner (what is run,
how failures and tmux's messages are turned into results), then against the
real tmux binary (skipped when it is not installed)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

import pytest

from ansible_collections.ephi.safeguards.plugins.module_utils.tmux_scratch import (
    ScratchError,
    ScratchServer,
    make_same_value,
    run_command,
    validate_hooks,
    validate_wanted,
    verify_content,
)

TMUX = shutil.which('tmux')
needs_tmux = pytest.mark.skipif(TMUX is None, reason='tmux binary not installed on this host')


class FakeRunner(object):
    """Records every argv; answers from ``replies`` (tmux sub-command -> (rc, out, err))."""

    def __init__(self, replies=None):
        self.calls = []
        self.replies = replies or {}

    def __call__(self, argv):
        self.calls.append(list(argv))
        args = argv[3:]
        if args[:2] == ['-f', '/dev/null']:
            # new-session: make the socket exist as a real server would.
            open(argv[2], 'w').close()
            return self.replies.get('new-session', (0, '', ''))
        return self.replies.get(args[0], (0, '', ''))


# ---------------------------------------------------------------- fake runner

def test_start_and_stop_clean_up():
    runner = FakeRunner()
    with ScratchServer('/x/tmux', runner) as scratch:
        tmpdir, sock = scratch.tmpdir, scratch.socket
        assert os.path.isdir(tmpdir)
        assert sock == os.path.join(tmpdir, 's')
    assert runner.calls[0] == ['/x/tmux', '-S', sock, '-f', '/dev/null', 'new-session', '-d',
                               '-s', 'ephi-scratch', '-x', '80', '-y', '24', 'cat']
    assert runner.calls[-1] == ['/x/tmux', '-S', sock, 'kill-server']
    assert not os.path.exists(tmpdir)
    assert scratch.socket is None and scratch.tmpdir is None


def test_start_failure_raises_and_removes_the_directory():
    runner = FakeRunner({'new-session': (1, '', 'no server\n')})
    scratch = ScratchServer('/x/tmux', runner)
    with pytest.raises(ScratchError) as info:
        scratch.start()
    assert info.value.msg == 'could not start a scratch tmux server: no server'
    assert info.value.details == {'rc': 1}
    assert scratch.tmpdir is None


def test_checked_command_failure_stops_the_server():
    runner = FakeRunner({'show-options': (1, '', 'boom\n')})
    scratch = ScratchServer('/x/tmux', runner)
    scratch.start()
    tmpdir = scratch.tmpdir
    assert scratch.run(['show-options', '-g'])[0] == 1     # unchecked: just the result
    with pytest.raises(ScratchError) as info:
        scratch.run(['show-options', '-g'], check=True)
    assert info.value.msg == 'tmux show-options -g failed in scratch server: boom'
    assert info.value.details == {'rc': 1}
    assert not os.path.exists(tmpdir)


def test_source_text_names_the_snippet_config():
    # tmux 3.3a: syntax errors on stdout with the file name, command errors on stderr.
    runner = FakeRunner()
    with ScratchServer('/x/tmux', runner) as scratch:
        path = os.path.join(scratch.tmpdir, 'snippet.conf')
        runner.replies['source-file'] = (1, '%s:2: syntax error\n' % path, 'invalid option: x\n\n')
        ok, messages = scratch.source_text(u'set -g x 1\n"\n')
        with open(path) as fh:
            assert fh.read() == u'set -g x 1\n"\n'
        runner.replies['source-file'] = (0, '', '')
        assert scratch.source_text(u'') == (True, [])
    assert ok is False
    assert messages == ['<config>:2: syntax error', 'invalid option: x']


@pytest.mark.parametrize('reply, expected', [
    ((0, '900\n', ''), '900'),
    ((0, '', ''), ''),
    ((0, 'a b', ''), 'a b'),
    ((1, '', 'invalid option: x\n'), None),
])
def test_show_value(reply, expected):
    runner = FakeRunner({'show-options': reply})
    with ScratchServer('/x/tmux', runner) as scratch:
        assert scratch.show_value('lock-after-time', 'window') == expected
        assert runner.calls[-1][3:] == ['show-options', '-gwv', 'lock-after-time']


def test_hook_value_and_binding_words():
    runner = FakeRunner({
        'show-hooks': (0, 'session-created[0] pipe-pane "exec logger"\n', ''),
        'list-keys': (0, 'bind-key    -T prefix X lock-session\n', '')})
    with ScratchServer('/x/tmux', runner) as scratch:
        assert scratch.hook_value('session-created') == 'pipe-pane "exec logger"'
        assert scratch.hook_value('session-closed') is None
        assert scratch.binding_words('X') == ['bind-key', '-T', 'prefix', 'X', 'lock-session']
        runner.replies['show-hooks'] = (1, '', 'invalid hook')
        runner.replies['list-keys'] = (1, '', 'unknown key')
        assert scratch.hook_value('session-created') is None
        assert scratch.binding_words('X') == []


def test_run_command_adds_the_c_locale(monkeypatch):
    monkeypatch.setenv('LC_ALL', 'de_DE.UTF-8')
    rc, out, err = run_command(['sh', '-c', 'echo "$LC_ALL $LANG"; echo oops >&2; exit 3'])
    assert (rc, out, err) == (3, 'C C\n', 'oops\n')


# ---------------------------------------------------------------- real tmux

@pytest.fixture
def scratch():
    if TMUX is None:
        pytest.skip('tmux binary not installed on this host')
    with ScratchServer(TMUX) as server:
        yield server


def test_validate_wanted_detects_scopes_and_canonical_values(scratch):
    options, bindings = validate_wanted(
        scratch, {'lock-after-time': '900', 'mode-keys': 'vi', 'escape-time': '0',
                  'mouse': 'no', 'history-limit': '02000', '@ephi': 'x y'},
        {'X': 'lock-session'})
    assert options == {'lock-after-time': {'scope': 'session', 'value': '900'},
                       'mode-keys': {'scope': 'window', 'value': 'vi'},
                       'escape-time': {'scope': 'server', 'value': '0'},
                       'mouse': {'scope': 'session', 'value': 'off'},
                       'history-limit': {'scope': 'session', 'value': '2000'},
                       '@ephi': {'scope': 'session', 'value': 'x y'}}
    assert bindings == {'X': ['bind-key', '-T', 'prefix', 'X', 'lock-session']}


@pytest.mark.parametrize('values, bindings, msg, details', [
    ({'lock-after-tmie': '1', 'nope': '2'}, {},
     'unknown tmux option(s) for this tmux version: lock-after-tmie, nope',
     {'unknown_options': ['lock-after-tmie', 'nope']}),
    ({'update-environment': 'X'}, {}, 'array tmux option(s) are not supported: update-environment',
     {}),
    ({'lock-after-time': 'abc'}, {}, 'tmux rejected option lock-after-time value abc: ',
     {'option': 'lock-after-time'}),
    ({}, {'X': 'no-such-command'}, 'tmux rejected binding X (no-such-command): ',
     {'binding': 'X'}),
    ({}, {'X': 'a\nb'}, 'binding X: ', {'binding': 'X'}),
])
def test_validate_wanted_failures(scratch, values, bindings, msg, details):
    with pytest.raises(ScratchError) as info:
        validate_wanted(scratch, values, bindings)
    assert info.value.msg.startswith(msg)
    tmux_error = info.value.details.pop('tmux_error', None)
    assert info.value.details == details
    if 'rejected' in msg:
        assert tmux_error and tmux_error[0] in info.value.msg


def test_validate_hooks(scratch):
    hooks = validate_hooks(scratch, {'session-created': "pipe-pane 'exec logger'"})
    assert hooks == {'session-created': 'pipe-pane "exec logger"'}
    with pytest.raises(ScratchError) as info:
        validate_hooks(scratch, {'session-created': 'no-such-command'})
    assert info.value.details['hook'] == 'session-created'
    assert info.value.msg.startswith('tmux rejected hook session-created (no-such-command): ')
    with pytest.raises(ScratchError) as info:
        validate_hooks(scratch, {'session-created': 'a\nb'})
    assert info.value.details == {'hook': 'session-created'}


def test_make_same_value_asks_tmux_once_per_value(scratch):
    options = {'history-limit': {'scope': 'session', 'value': '2000'},
               'mouse': {'scope': 'session', 'value': 'off'}}
    calls = []
    real = scratch.source_text

    def counting(text):
        calls.append(text)
        return real(text)

    scratch.source_text = counting
    same = make_same_value(scratch, options)
    assert same('history-limit', None, '2000') is False
    assert same('history-limit', '2000', '2000') is True
    assert calls == []
    assert same('history-limit', '02000', '2000') is True
    assert same('history-limit', '02000', '2000') is True
    assert same('mouse', 'no', 'off') is True
    assert same('mouse', 'on', 'off') is False
    assert same('mouse', 'maybe', 'off') is False
    assert len(calls) == 4


@needs_tmux
def test_verify_content_accepts_a_good_file():
    options = {'lock-after-time': {'scope': 'session', 'value': '900'}}
    bindings = {'X': ['bind-key', '-T', 'prefix', 'X', 'lock-session']}
    hooks = {'session-created': 'pipe-pane "exec logger"'}
    content = (u'set -g lock-after-time 900\nbind X lock-session\n'
               u"set-hook -g session-created 'pipe-pane \"exec logger\"'\n")
    assert verify_content(TMUX, content, None, options, bindings, hooks) == ([], [])


@needs_tmux
def test_verify_content_reports_what_would_not_take_effect():
    options = {'lock-after-time': {'scope': 'session', 'value': '900'},
               'mode-keys': {'scope': 'window', 'value': 'vi'}}
    bindings = {'X': ['bind-key', '-T', 'prefix', 'X', 'lock-session']}
    hooks = {'session-created': 'pipe-pane "exec logger"'}
    content = u'set -g lock-after-time 900\nif-shell true { set -g lock-after-time 5 }\n'
    problems, warnings = verify_content(TMUX, content, None, options, bindings, hooks)
    assert warnings == []
    assert problems == [
        'option lock-after-time would be 5 instead of 900: another line in the file '
        '(e.g. set -a/-u/-o, a block, %if or a later command) overrides it',
        "option mode-keys would be emacs instead of vi: another line in the file "
        "(e.g. set -a/-u/-o, a block, %if or a later command) overrides it",
        "binding X would be 'unbound' instead of 'bind-key -T prefix X lock-session'",
        "hook session-created would be 'unset' instead of 'pipe-pane \"exec logger\"'",
    ]


@needs_tmux
def test_verify_content_keeps_old_errors_as_warnings_and_reports_new_ones():
    options = {'lock-after-time': {'scope': 'session', 'value': '900'}}
    original = u'set -g no-such-option 1\n'
    problems, warnings = verify_content(
        TMUX, original + u'set -g lock-after-time 900\n', original, options, {})
    assert problems == []
    assert warnings == ['the configuration file already had tmux errors (kept): '
                        'invalid option: no-such-option']
    problems, warnings = verify_content(
        TMUX, u'set -g lock-after-time 900\nset -g other-bad 1\n', original, options, {})
    assert problems == ['tmux reports errors for the rendered configuration: '
                        'invalid option: other-bad']
    assert warnings == []
