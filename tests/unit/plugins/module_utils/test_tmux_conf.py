# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ephi.safeguards.plugins.module_utils.tmux_conf import (
    TmuxConfError,
    Word,
    _directive_name,
    _line_end,
    _read_double_quoted,
    _read_single_quoted,
    check_binding_command,
    compute_drift,
    lex,
    option_catalog,
    parse,
    parse_list_keys_line,
    parse_show_options,
    plan,
    quote,
    render_drift,
    resolve_scopes,
    split_words,
    to_tmux_value,
    unquote,
)


def lines_of(text):
    return text.splitlines(True)


LOCK = {'lock-after-time': {'scope': 'session', 'value': '900'}}


# ---------------------------------------------------------------- values

@pytest.mark.parametrize('value, expected', [
    (True, 'on'),
    (False, 'off'),
    (900, '900'),
    (0, '0'),
    (1.0, '1'),
    ('vlock', 'vlock'),
    (None, ''),
])
def test_to_tmux_value(value, expected):
    assert to_tmux_value(value) == expected


@pytest.mark.parametrize('value, rendered', [
    ('900', '900'),
    ('on', 'on'),
    ('C-a', 'C-a'),
    ('fg=black,bg=green', 'fg=black,bg=green'),
    ('', "''"),
    ('a b', "'a b'"),
    ('$HOME', "'$HOME'"),
    ('~/x', "'~/x'"),
    ('#{session_name}', "'#{session_name}'"),
    ('-x', "'-x'"),
    ('a;b', "'a;b'"),
    ("it's", '"it\'s"'),
    ("it's $HOME", '"it\'s \\$HOME"'),
    ("~it's", '"\\~it\'s"'),
    ('a\nb', '"a\\nb"'),
    ('a\tb', '"a\\tb"'),
    ('a\x01b', '"a\\001b"'),
    ('back\\slash', "'back\\slash'"),
])
def test_quote(value, rendered):
    assert quote(value) == rendered


@pytest.mark.parametrize('value', [
    '900', '', 'a b', "it's", "it's \"q\" $HOME ~", '~/x', 'x~y', 'a\\b', 'a\nb',
    '#{?pane_in_mode,[tmux],#{pane_current_command}}', '"', "'", 'a;b', 'é', '\x01',
    '{', '}', '%if', '-',
])
def test_quote_round_trip(value):
    assert unquote(quote(value)) == value
    assert split_words('set -g @x ' + quote(value))[-1] == value


@pytest.mark.parametrize('text, expected', [
    ("'a b'", 'a b'),
    ('"a \\"b\\" \\$c"', 'a "b" $c'),
    ('a\\\\b', 'a\\b'),
    ('\\~x', '~x'),
    ('a\\tb', 'a\tb'),
    ('"a\\001b"', 'a\x01b'),
    ('"\\u00e9"', u'\xe9'),
    ("'x'\"y\"z", 'xyz'),
    ("''", ''),
])
def test_unquote(text, expected):
    assert unquote(text) == expected


@pytest.mark.parametrize('text', ["'open", 'two words'])
def test_unquote_errors(text):
    with pytest.raises(TmuxConfError):
        unquote(text)


# ---------------------------------------------------------------- parse

@pytest.mark.parametrize('line, kind, managed, name, value, dynamic', [
    ('set -g lock-after-time 900\n', 'option', True, 'lock-after-time', '900', False),
    ('set-option -g lock-after-time 900\n', 'option', True, 'lock-after-time', '900', False),
    ('  set -gq lock-after-time 900  # c\n', 'option', True, 'lock-after-time', '900', False),
    ('setw -g mode-keys vi\n', 'option', True, 'mode-keys', 'vi', False),
    ('set-window-option -g mode-keys vi\n', 'option', True, 'mode-keys', 'vi', False),
    ('set -s escape-time 0\n', 'option', True, 'escape-time', '0', False),
    ('set -g status-left "a $HOME"\n', 'option', True, 'status-left', 'a $HOME', True),
    ("set -g status-left 'a $HOME'\n", 'option', True, 'status-left', 'a $HOME', False),
    ('set -g default-shell ~/sh\n', 'option', True, 'default-shell', '~/sh', True),
    ('set -ga status-left x\n', 'option', False, 'status-left', 'x', False),
    ('set -gu lock-after-time\n', 'option', False, 'lock-after-time', None, False),
    ('set -go lock-after-time 5\n', 'option', False, 'lock-after-time', '5', False),
    ('set -gF status-left "#{host}"\n', 'option', False, 'status-left', '#{host}', False),
    ('set -t main lock-after-time 5\n', 'option', False, 'lock-after-time', '5', False),
    ('set -g mouse\n', 'option', False, 'mouse', None, False),
    ('set -g lock-after-time 5 ; set -g mouse on\n', 'other', False, None, None, False),
    ('# set -g lock-after-time 5\n', 'comment', False, None, None, False),
    ('\n', 'blank', False, None, None, False),
    ('new-session -d\n', 'other', False, None, None, False),
    ('%if 1\n', 'other', False, None, None, False),
])
def test_parse_single_line(line, kind, managed, name, value, dynamic):
    parsed = parse([line])
    assert len(parsed) == 1
    entry = parsed[0]
    assert entry.kind == kind
    assert entry.managed is managed
    if kind == 'option':
        assert entry.name == name
        assert entry.value == value
        assert entry.dynamic is dynamic


@pytest.mark.parametrize('line, managed, table, key, command', [
    ('bind X lock-session\n', True, 'prefix', 'X', ['lock-session']),
    ('bind-key -r X lock-session\n', True, 'prefix', 'X', ['lock-session']),
    ('bind-key -T prefix X lock-session\n', True, 'prefix', 'X', ['lock-session']),
    ('bind -Tprefix X lock-session\n', True, 'prefix', 'X', ['lock-session']),
    ('bind -n X lock-session\n', False, 'root', 'X', ['lock-session']),
    ('bind -T copy-mode X send -X cancel\n', False, 'copy-mode', 'X', ['send', '-X', 'cancel']),
    ('bind -N "lock it" X lock-session\n', True, 'prefix', 'X', ['lock-session']),
    ("bind '\"' split-window\n", True, 'prefix', '"', ['split-window']),
    ('bind X select-pane -L \\; resize-pane -Z\n', True, 'prefix', 'X',
     ['select-pane', '-L', ';', 'resize-pane', '-Z']),
])
def test_parse_bindings(line, managed, table, key, command):
    entry = parse([line])[0]
    assert entry.kind == 'binding'
    assert entry.managed is managed
    assert entry.table == table
    assert entry.key == key
    assert entry.command == command


def test_parse_blocks_and_continuations_are_not_managed():
    text = (
        "if-shell true {\n"
        "  set -g lock-after-time 5\n"
        "}\n"
        "%if #{==:#{host},x}\n"
        "set -g lock-after-time 6\n"
        "%endif\n"
        "set -g status-left \\\n"
        "  'abc'\n"
        "set -g status-right 'multi\n"
        "line'\n"
        "set -g lock-after-time 7\n"
    )
    parsed = parse(lines_of(text))
    managed = [p.index for p in parsed if p.managed]
    assert managed == [10]
    assert parsed[1].name == 'lock-after-time' and not parsed[1].managed
    assert parsed[4].name == 'lock-after-time' and not parsed[4].managed


# ---------------------------------------------------------------- plan

PLAN_CASES = [
    # id, original, wanted options, bindings, expected text, expected actions
    ('append-to-empty', '', LOCK, {},
     'set -g lock-after-time 900\n', ['append']),
    ('unchanged', 'set -g lock-after-time 900\n', LOCK, {},
     'set -g lock-after-time 900\n', []),
    ('unchanged-quoted', "set -g lock-after-time '900'\n", LOCK, {},
     "set -g lock-after-time '900'\n", []),
    ('replace-in-place',
     '# head\nset -g lock-after-time 0  # was off\nset -g status on\n', LOCK, {},
     '# head\nset -g lock-after-time 900  # was off\nset -g status on\n',
     ['replace']),
    ('remove-later-duplicates',
     'set -g lock-after-time 900\nset -g status on\nset -g lock-after-time 5\n'
     'set -g lock-after-time 900\n', LOCK, {},
     'set -g lock-after-time 900\nset -g status on\n', ['remove', 'remove']),
    ('replace-and-remove',
     'set -g lock-after-time 1\n# keep me\nset -g lock-after-time 2\n', LOCK, {},
     'set -g lock-after-time 900\n# keep me\n', ['replace', 'remove']),
    ('session-line-without-g-is-not-global',
     'set lock-after-time 900\n', LOCK, {},
     'set lock-after-time 900\nset -g lock-after-time 900\n', ['append']),
    ('server-option-any-flags',
     'set -g escape-time 0\n', {'escape-time': {'scope': 'server', 'value': '0'}}, {},
     'set -g escape-time 0\n', []),
    ('window-option-canonical',
     '', {'mode-keys': {'scope': 'window', 'value': 'vi'}}, {},
     'setw -g mode-keys vi\n', ['append']),
    ('append-sorted-and-no-trailing-newline',
     'set -g status on',
     {'lock-command': {'scope': 'session', 'value': 'vlock'},
      'escape-time': {'scope': 'server', 'value': 0},
      'mouse': {'scope': 'session', 'value': False}}, {},
     'set -g status on\nset -s escape-time 0\n'
     'set -g lock-command vlock\nset -g mouse off\n',
     ['append', 'append', 'append']),
    ('dynamic-value-is-replaced',
     'set -g lock-command "$LOCKER"\n',
     {'lock-command': {'scope': 'session', 'value': '$LOCKER'}}, {},
     "set -g lock-command '$LOCKER'\n", ['replace']),
    ('append-after-foreign-lines',
     'set -ga status-left x\n',
     {'status-left': {'scope': 'session', 'value': 'ab'}}, {},
     'set -ga status-left x\nset -g status-left ab\n', ['append']),
    # tmux keeps a CR as part of the last word: rewritten lines are LF only,
    # untouched lines keep their CRLF.
    ('crlf-rewritten-lines-get-lf',
     'set -g lock-after-time 0\r\nset -g status on\r\n', LOCK, {},
     'set -g lock-after-time 900\nset -g status on\r\n', ['replace']),
    ('binding-append', '# c\n', {}, {'X': 'lock-session'},
     '# c\nbind X lock-session\n', ['append']),
    ('binding-unchanged', 'bind -r X lock-session\n', {}, {'X': 'lock-session'},
     'bind -r X lock-session\n', []),
    ('binding-replace-and-dedupe',
     'bind X kill-server\nbind X lock-session\n', {}, {'X': 'lock-session'},
     'bind X lock-session\n', ['replace', 'remove']),
    ('binding-root-table-untouched',
     'bind -n X kill-server\n', {}, {'X': 'lock-session'},
     'bind -n X kill-server\nbind X lock-session\n', ['append']),
    ('binding-quoted-key', '', {}, {'"': 'split-window'},
     "bind '\"' split-window\n", ['append']),
    ('binding-quoting-differences-equal',
     "bind X confirm-before -p 'kill? (y/n)' kill-server\n", {},
     {'X': 'confirm-before -p "kill? (y/n)" kill-server'},
     "bind X confirm-before -p 'kill? (y/n)' kill-server\n", []),
]


@pytest.mark.parametrize('original, options, bindings, expected, actions',
                         [c[1:] for c in PLAN_CASES], ids=[c[0] for c in PLAN_CASES])
def test_plan(original, options, bindings, expected, actions):
    new_lines, changes = plan(lines_of(original), options, bindings)
    assert ''.join(new_lines) == expected
    assert [c['action'] for c in changes] == actions
    # Idempotent: planning again over the result changes nothing.
    again, changes2 = plan(new_lines, options, bindings)
    assert again == new_lines
    assert changes2 == []


def test_plan_preserves_unrelated_lines_byte_for_byte():
    original = ('# tmux conf\t with tab  \n\n'
                'set -g status-style "fg=black,bg=green"   \n'
                'bind -n F1 display-message "hi; there"\n'
                'if-shell "true" { set -g lock-after-time 1 }\n'
                'set -g lock-after-time 5\n'
                '   # indented comment\n')
    new_lines, dummy = plan(lines_of(original), LOCK, {})
    old = lines_of(original)
    assert new_lines[:5] == old[:5]
    assert new_lines[5] == 'set -g lock-after-time 900\n'
    assert new_lines[6] == old[6]


def test_plan_same_value_callback():
    calls = []

    def same(name, file_value, wanted):
        calls.append((name, file_value, wanted))
        return file_value == '0900'

    new_lines, changes = plan(['set -g lock-after-time 0900\n'], LOCK, {}, same)
    assert changes == []
    assert calls == [('lock-after-time', '0900', '900')]


@pytest.mark.parametrize('command', ['', 'a ; b', 'a # c', "display 'open", 'a {', 'a\nb'])
def test_bad_binding_command(command):
    with pytest.raises(TmuxConfError):
        check_binding_command('X', command)


def test_user_option_scope():
    new_lines, dummy = plan([], {'@ephi': {'scope': 'session', 'value': 'x y'}}, {})
    assert new_lines == ["set -g @ephi 'x y'\n"]
    again, changes = plan(['set -g @ephi "x y"\n', 'set -gw @ephi z\n'],
                          {'@ephi': {'scope': 'session', 'value': 'x y'}}, {})
    assert changes == []


# ---------------------------------------------------------------- tmux output

SHOW_G = '''activity-action other
lock-after-time 0
lock-command "lock -np"
status-left "[#{session_name}] "
word-separators "!\\"#$%&'()*+,-./:;<=>?@[\\\\]^`{|}~"
update-environment[0] DISPLAY
update-environment[1] KRB5CCNAME
@a "x \\$FOO ~ y"
@h a\\\\b
@q \\~x
@t a\\nb
@m ''
'''


@pytest.mark.parametrize('name, value', [
    ('activity-action', 'other'),
    ('lock-after-time', '0'),
    ('lock-command', 'lock -np'),
    ('status-left', '[#{session_name}] '),
    ('word-separators', '!"#$%&\'()*+,-./:;<=>?@[\\]^`{|}~'),
    ('update-environment[1]', 'KRB5CCNAME'),
    ('@a', 'x $FOO ~ y'),
    ('@h', 'a\\b'),
    ('@q', '~x'),
    ('@t', 'a\nb'),
    ('@m', ''),
])
def test_parse_show_options(name, value):
    assert parse_show_options(SHOW_G)[name] == value


def test_option_catalog_and_scopes():
    catalog = option_catalog({
        'server': 'escape-time 500\nterminal-overrides\ncommand-alias[0] a=b\n',
        'session': SHOW_G,
        'window': 'mode-keys emacs\n',
    })
    assert catalog['escape-time'] == {'scope': 'server', 'array': False}
    assert catalog['lock-after-time'] == {'scope': 'session', 'array': False}
    assert catalog['mode-keys'] == {'scope': 'window', 'array': False}
    assert catalog['terminal-overrides']['array'] is True
    assert catalog['update-environment']['array'] is True
    assert '@a' not in catalog
    scopes, unknown, arrays = resolve_scopes(
        ['escape-time', 'mode-keys', '@mine', 'nope', 'command-alias'], catalog)
    assert scopes == {'escape-time': 'server', 'mode-keys': 'window', '@mine': 'session'}
    assert unknown == ['nope']
    assert arrays == ['command-alias']


def test_parse_list_keys_line():
    assert parse_list_keys_line('bind-key -T prefix \\" split-window\n') == [
        'bind-key', '-T', 'prefix', '"', 'split-window']
    assert parse_list_keys_line('') == []


# ---------------------------------------------------------------- drift

WANTED = {
    'lock-after-time': {'scope': 'session', 'value': '900'},
    'mode-keys': {'scope': 'window', 'value': 'vi'},
    'escape-time': {'scope': 'server', 'value': '0'},
}


def _found(session=None, window=None, server=None, local=None):
    return {'global': {'session': session or {'lock-after-time': '900'},
                       'window': window or {'mode-keys': 'vi'},
                       'server': server or {'escape-time': '0'}},
            'local': local or []}


DRIFT_CASES = [
    ('clean', _found(), []),
    ('global-session', _found(session={'lock-after-time': '0'}),
     [('session', 'global', 'lock-after-time', '0')]),
    ('global-missing', _found(session={'other': '1'}),
     [('session', 'global', 'lock-after-time', None)]),
    ('server', _found(server={'escape-time': '500'}),
     [('server', 'global', 'escape-time', '500')]),
    ('local-session-override',
     _found(local=[{'scope': 'session', 'target': 'main', 'tid': '$0',
                    'values': {'lock-after-time': '5', 'status': 'off'}}]),
     [('session', 'main', 'lock-after-time', '5')]),
    ('local-override-equal-is-fine',
     _found(local=[{'scope': 'session', 'target': 'main', 'tid': '$0',
                    'values': {'lock-after-time': '900'}}]), []),
    ('window-and-pane-overrides',
     _found(local=[{'scope': 'window', 'target': 'main:1', 'tid': '@1',
                    'values': {'mode-keys': 'emacs'}},
                   {'scope': 'pane', 'target': 'main:1.0', 'tid': '%0',
                    'values': {'mode-keys': 'emacs'}},
                   {'scope': 'session', 'target': 'main', 'tid': '$0',
                    'values': {'mode-keys': 'emacs'}}]),
     [('window', 'main:1', 'mode-keys', 'emacs'), ('pane', 'main:1.0', 'mode-keys', 'emacs')]),
]


@pytest.mark.parametrize('found, expected', [c[1:] for c in DRIFT_CASES],
                         ids=[c[0] for c in DRIFT_CASES])
def test_compute_drift(found, expected):
    drift = compute_drift(found, WANTED)
    assert [(d['scope'], d['target'], d['option'], d['found']) for d in drift] == expected
    for item in drift:
        assert item['wanted'] == WANTED[item['option']]['value']


def test_render_drift():
    text = render_drift('/tmp/tmux-0/default', [
        {'scope': 'session', 'target': 'global', 'option': 'lock-after-time',
         'found': '0', 'wanted': '900'},
        {'scope': 'session', 'target': 'main', 'option': 'lock-after-time',
         'found': None, 'wanted': '900'}])
    assert text == ('/tmp/tmux-0/default [global session] lock-after-time: 0 -> 900\n'
                    '/tmp/tmux-0/default [session main] lock-after-time: unset -> 900\n')


# ---------------------------------------------------------------------------
# Hooks and pipes (issue #3: session capture)
# ---------------------------------------------------------------------------

from ansible_collections.ephi.safeguards.plugins.module_utils import tmux_conf as _tc  # noqa: E402

HOOK_CASES = [
    ('append-missing', ['set -g lock-after-time 900\n'],
     {'session-created': 'pipe-pane "exec cat"'},
     ['set -g lock-after-time 900\n', 'set-hook -g session-created \'pipe-pane "exec cat"\'\n'], ['append']),
    ('keep-equal', ['set-hook -g session-created \'pipe-pane "exec cat"\'\n'],
     {'session-created': 'pipe-pane "exec cat"'},
     ['set-hook -g session-created \'pipe-pane "exec cat"\'\n'], []),
    ('replace-other-command', ['set-hook -g after-split-window "display x"  # mine\n'],
     {'after-split-window': 'pipe-pane "exec cat"'},
     ['set-hook -g after-split-window \'pipe-pane "exec cat"\'  # mine\n'], ['replace']),
    ('drop-duplicate', ['set-hook -g after-new-window a\n', 'set-hook -g after-new-window b\n'],
     {'after-new-window': 'a'},
     ['set-hook -g after-new-window a\n'], ['remove']),
    ('unmanaged-session-hook-left-alone', ['set-hook after-new-window b\n'],
     {'after-new-window': 'a'},
     ['set-hook after-new-window b\n', 'set-hook -g after-new-window a\n'], ['append']),
]


@pytest.mark.parametrize('lines, hooks, expected, actions', [c[1:] for c in HOOK_CASES],
                         ids=[c[0] for c in HOOK_CASES])
def test_plan_hooks(lines, hooks, expected, actions):
    new_lines, changes = _tc.plan(lines, {}, {}, None, wanted_hooks=hooks)
    assert new_lines == expected
    assert [c['action'] for c in changes] == actions
    assert all(c['kind'] == 'hook' for c in changes)


def test_render_hook_rejects_bad_input():
    with pytest.raises(_tc.TmuxConfError):
        _tc.render_hook('Session Created', 'x')
    with pytest.raises(_tc.TmuxConfError):
        _tc.render_hook('session-created', '')


def test_parse_show_hooks_and_drift():
    text = ('after-bind-key\n'
            'session-created[0] pipe-pane "exec cat"\n'
            'after-new-window[0] display x\n'
            'after-new-window[1] display y\n')
    found = _tc.parse_show_hooks(text)
    assert found == {'session-created': 'pipe-pane "exec cat"', 'after-new-window': 'display x'}
    drift = _tc.compute_hook_drift(found, {'session-created': 'pipe-pane "exec cat"',
                                           'after-split-window': 'pipe-pane "exec cat"'})
    assert [(d['scope'], d['option'], d['found']) for d in drift] == [('hook', 'after-split-window', None)]


def test_compute_pipe_drift():
    drift = _tc.compute_pipe_drift([('%0', '1', 'main:0.0'), ('%1', '0', 'main:0.1')])
    assert [(d['tid'], d['target'], d['option'], d['found']) for d in drift] == [('%1', 'main:0.1', 'pane_pipe', '0')]


def test_plan_absent_hooks_removes_managed_lines_only():
    lines = ['set-hook -g session-created \'pipe-pane "exec cat"\'\n',
             'set-hook after-new-window b\n',            # session hook, not managed
             'set-hook -g after-new-window a\n',
             'set -g lock-after-time 900\n']
    new_lines, changes = _tc.plan(lines, {}, {}, None, wanted_hooks={'after-new-window': 'a'},
                                  absent_hooks=['session-created', 'after-new-window', 'client-attached'])
    # A hook both wanted and absent stays (wanted wins); an absent one that is not there changes nothing.
    assert new_lines == lines[1:]
    assert [(c['action'], c['name'], c['line']) for c in changes] == [('remove', 'session-created', 1)]


def test_hook_drift_for_absent_hooks():
    found = {'session-created': 'pipe-pane "exec cat"', 'after-new-window': 'display x'}
    drift = _tc.compute_hook_drift(found, {'after-new-window': 'display x'},
                                   absent=['session-created', 'after-new-window', 'client-attached'])
    assert [(d['option'], d['found'], d['wanted']) for d in drift] == [
        ('session-created', 'pipe-pane "exec cat"', '')]


# ---------------------------------------------------------------- lexer pieces

@pytest.mark.parametrize('text, i, expected', [
    (u'abc\ndef', 0, 3),
    (u'abc\ndef', 4, 7),
    (u'abc\n', 3, 3),
    (u'', 0, 0),
])
def test_line_end(text, i, expected):
    assert _line_end(text, i) == expected


@pytest.mark.parametrize('body, expected', [
    (u'%if #{x}', u'%if'),
    (u'%endif', u'%endif'),
    (u'%else  # c', u'%else'),
    (u'%', u'%'),
])
def test_directive_name(body, expected):
    assert _directive_name(body) == expected


@pytest.mark.parametrize('text, i, expected', [
    (u"'a b' c", 0, (u'a b', 5, True)),
    (u"x'a\\n$b'", 1, (u'a\\n$b', 8, True)),
    (u"'a\nb'", 0, (u'a\nb', 5, True)),
    (u"'open", 0, (u'open', 6, False)),
])
def test_read_single_quoted(text, i, expected):
    assert _read_single_quoted(text, i) == expected


@pytest.mark.parametrize('text, prefix, expected, dynamic, newlines, terminated', [
    (u'"a b" c', u'', u'a b', False, 0, True),
    (u'"a\\tb\\"c"', u'', u'a\tb"c', False, 0, True),
    (u'"$HOME"', u'', u'$HOME', True, 0, True),
    (u'"~/x"', u'', u'~/x', True, 0, True),
    (u'"~/x"', u'pre', u'pre~/x', False, 0, True),     # ~ only expands at a word's start
    (u'"a~"', u'', u'a~', False, 0, True),
    (u'"a\nb"', u'', u'a\nb', False, 1, True),
    (u'"\\u00e9\\101"', u'', u'\u00e9A', False, 0, True),
    (u'"open', u'', u'open', False, 0, False),
])
def test_read_double_quoted(text, prefix, expected, dynamic, newlines, terminated):
    word = Word(prefix)
    next_index, count, done = _read_double_quoted(text, 0, word)
    assert (word.value, word.dynamic, word.quoted) == (expected, dynamic, True)
    assert (count, done) == (newlines, terminated)
    assert next_index == (text.rindex('"') + 1 if terminated else len(text) + 1)


def _lexed(text):
    commands, info = lex(text)
    return ([(c.first_line, c.last_line, c.top_level, c.comment, c.values) for c in commands],
            sorted(info['multi']), sorted(info['directive']), info['unterminated'])


@pytest.mark.parametrize('text, expected', [
    (u'set -g a 1 # note\n', ([(0, 0, True, u'# note', [u'set', u'-g', u'a', u'1'])], [], [], False)),
    (u'  # only a comment\n\n', ([], [], [], False)),
    (u'a ; b\n', ([(0, 0, True, None, [u'a', u'']), (0, 0, True, None, [u'b'])], [0], [], False)),
    (u'set -g a \\\n  1\nb\n', ([(0, 1, True, None, [u'set', u'-g', u'a', u'1']),
                                (2, 2, True, None, [u'b'])], [], [], False)),
    (u'if -F 1 {\n  set x 1\n}\n', ([(0, 0, True, None, [u'if', u'-F', u'1']),
                                    (1, 1, False, None, [u'set', u'x', u'1'])], [0, 2], [], False)),
    (u'%if #{x}\nset a 1\n%endif\nset b 2\n',
     ([(1, 1, False, None, [u'set', u'a', u'1']), (3, 3, True, None, [u'set', u'b', u'2'])],
      [], [0, 2], False)),
    (u"set a 'x\ny'\nb\n", ([(0, 1, True, None, [u'set', u'a', u'x\ny']),
                             (2, 2, True, None, [u'b'])], [], [], False)),
    (u'set a "x\n', ([(0, 1, True, None, [u'set', u'a', u'x\n'])], [], [], True)),
    (u"set a 'x", ([(0, 0, True, None, [u'set', u'a', u'x'])], [], [], True)),
    (u'set a x\\ y\\;', ([(0, 0, True, None, [u'set', u'a', u'x y;'])], [], [], False)),
])
def test_lex_commands_lines_and_info(text, expected):
    assert _lexed(text) == expected


@pytest.mark.parametrize('text, dynamic', [
    (u'$HOME', True),
    (u'~/x', True),
    (u'a~', False),
    (u"'$HOME'", False),
    (u"''~", False),
    (u'\\$HOME', False),
])
def test_lex_marks_expanding_words(text, dynamic):
    assert lex(text)[0][0].words[0].dynamic is dynamic
