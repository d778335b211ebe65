# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure logic for the ``ephi.safeguards.tmux_settings`` module.

Nothing in here performs I/O or imports AnsibleModule, so every function can
be unit tested with plain data.

Lexing follows the tmux 3.x configuration grammar closely enough to be
*conservative*:

* single quotes are literal (no escapes, no expansion) and may span lines;
* double quotes process backslash escapes and expand ``$VAR``/``${VAR}`` and a
  leading ``~``; unquoted text does the same;
* an unquoted ``#`` at the start of a word starts a comment;
* an unquoted ``;`` separates commands, ``{``/``}`` at the start of a word
  open/close a command block, ``%if``/``%endif`` are directives, and a
  backslash before a newline continues the command on the next line.

Only *simple* lines (one command, completely on one line, outside any
block or ``%if``) are ever rewritten.  Everything else is preserved
byte-for-byte and the effective result is verified by the module in a
scratch tmux server.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

SCOPES = ('server', 'session', 'window')

# Canonical rendering of a global "set" per scope: the short forms the DISA
# STIG and scanners' checks quote literally (``set -g lock-after-time 900``,
# ``bind X lock-session``).
SCOPE_PREFIX = {
    'server': 'set -s',
    'session': 'set -g',
    'window': 'setw -g',
}

# ``show-options`` flags per scope (global values).
SCOPE_SHOW_FLAGS = {
    'server': '-s',
    'session': '-g',
    'window': '-gw',
}

SET_COMMANDS = ('set', 'set-option', 'setw', 'set-window-option')
BIND_COMMANDS = ('bind', 'bind-key')
# Global hooks (tmux >= 3.0 stores them as array options, NAME[0]).
HOOK_COMMANDS = ('set-hook',)
_HOOK_NAME = re.compile(r'^[a-z][a-z-]*$')

# Flags of set-option that keep a line a plain "set the global value" line.
_SET_SAFE_FLAGS = set('gswq')
# Flags of set-option that take an argument.
_SET_ARG_FLAGS = set('t')
# Flags of bind-key that take an argument.
_BIND_ARG_FLAGS = set('NT')

_SAFE_WORD = re.compile(r'^[A-Za-z0-9_+=.,:/@%^-]+$')

_ESCAPES = {
    'a': '\a', 'b': '\b', 'e': '\033', 'f': '\f', 'n': '\n', 'r': '\r',
    's': ' ', 't': '\t', 'v': '\v',
}


class TmuxConfError(Exception):
    """Raised for input the pure logic cannot handle."""


# ---------------------------------------------------------------------------
# Value normalisation and quoting
# ---------------------------------------------------------------------------

def to_tmux_value(value):
    """Normalise a user supplied value (str/int/bool) into a tmux string."""
    if isinstance(value, bool):
        return 'on' if value else 'off'
    if value is None:
        return ''
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def quote(value):
    """Render ``value`` as one tmux config word that parses back to ``value``.

    Plain words are left bare, values without a single quote or control
    character use single quotes (no escapes, no ``$``/``~`` expansion in
    tmux), everything else uses double quotes with ``\\``, ``"``, ``$`` and a
    leading ``~`` escaped and control characters written as escapes.
    """
    value = to_tmux_value(value)
    if value and _SAFE_WORD.match(value) and not value.startswith(('-', '%')):
        return value
    has_ctrl = any(ord(c) < 0x20 or ord(c) == 0x7f for c in value)
    if "'" not in value and not has_ctrl:
        return "'%s'" % value
    out = []
    for i, char in enumerate(value):
        if char in ('\\', '"', '$'):
            out.append('\\' + char)
        elif char == '~' and i == 0:
            out.append('\\~')
        elif char == '\n':
            out.append('\\n')
        elif char == '\t':
            out.append('\\t')
        elif char == '\r':
            out.append('\\r')
        elif ord(char) < 0x20 or ord(char) == 0x7f:
            out.append('\\%03o' % ord(char))
        else:
            out.append(char)
    return '"%s"' % ''.join(out)


class Word(object):
    """One lexed word: its value and whether tmux would expand something."""

    __slots__ = ('value', 'dynamic', 'quoted')

    def __init__(self, value='', dynamic=False, quoted=False):
        self.value = value
        self.dynamic = dynamic
        self.quoted = quoted

    def __repr__(self):
        return 'Word(%r, dynamic=%r)' % (self.value, self.dynamic)


class Command(object):
    """One lexed command with the physical lines it occupies."""

    __slots__ = ('words', 'first_line', 'last_line', 'top_level', 'comment')

    def __init__(self, first_line, top_level):
        self.words = []
        self.first_line = first_line
        self.last_line = first_line
        self.top_level = top_level
        self.comment = None

    @property
    def values(self):
        return [w.value for w in self.words]


def _read_escape(text, i):
    """Decode the escape starting after the backslash at ``text[i]``.

    Returns ``(decoded, new_index)``.
    """
    if i >= len(text):
        return '\\', i
    char = text[i]
    if char in _ESCAPES:
        return _ESCAPES[char], i + 1
    if char in '01234567':
        digits = re.match(r'[0-7]{1,3}', text[i:]).group(0)
        return chr(int(digits, 8)), i + len(digits)
    if char in ('u', 'U'):
        width = 4 if char == 'u' else 8
        digits = text[i + 1:i + 1 + width]
        if len(digits) == width and re.match(r'^[0-9A-Fa-f]+$', digits):
            try:
                return chr(int(digits, 16)), i + 1 + width
            except (ValueError, OverflowError):
                pass
        return char, i + 1
    return char, i + 1


def _line_end(text, i):
    """Index of the newline that ends the line holding ``text[i]`` (or ``len(text)``)."""
    end = text.find('\n', i)
    return len(text) if end < 0 else end


def _directive_name(body):
    """The directive (``%if``, ``%endif``, ...) a line starting with ``%`` holds."""
    return body.split(None, 1)[0] if body.strip() else '%'


def _read_single_quoted(text, i):
    """Read the single-quoted part opened by ``text[i]`` (literal, may span lines).

    Returns ``(chunk, next_index, terminated)``.
    """
    end = text.find("'", i + 1)
    if end < 0:
        return text[i + 1:], len(text) + 1, False
    return text[i + 1:end], end + 1, True


def _read_double_quoted(text, i, word):
    """Append the double-quoted part opened by ``text[i]`` to ``word``.

    Backslash escapes are decoded; ``$`` anywhere and ``~`` as the first
    character of the word mark it dynamic. Returns ``(next_index, newlines,
    terminated)``; ``newlines`` counts the literal newlines inside the quotes.
    """
    n = len(text)
    j = i + 1
    start_of_word = not word.value
    newlines = 0
    while j < n and text[j] != '"':
        char = text[j]
        if char == '\\':
            decoded, j = _read_escape(text, j + 1)
            word.value += decoded
            continue
        if char == '$' or (char == '~' and start_of_word and j == i + 1):
            word.dynamic = True
        if char == '\n':
            newlines += 1
        word.value += char
        j += 1
    word.quoted = True
    return j + 1, newlines, j < n


class _Lexer(object):
    """The state of one :func:`lex` run, one method per kind of character."""

    def __init__(self, text):
        self.text = text
        self.i = 0
        self.line = 0
        self.depth = 0
        self.if_depth = 0
        self.cmd = None
        self.word = None
        self.at_line_start = True
        self.unterminated = False
        self.commands = []
        self.multi = set()
        self.directive_lines = set()
        self.lines_with_cmd = {}

    def run(self):
        while self.i < len(self.text):
            self.step(self.text[self.i])
        self.end_word()
        self.end_command()
        for ln, count in self.lines_with_cmd.items():
            if count > 1:
                self.multi.add(ln)
        return self.commands, {'multi': self.multi, 'directive': self.directive_lines,
                               'unterminated': self.unterminated}

    def step(self, char):
        """Consume the character at ``self.i`` (and whatever it starts)."""
        if self.at_line_start and self.word is None and self.line_start(char):
            return
        if char == '\n':
            self.newline()
        elif char in ' \t':
            self.end_word()
            self.i += 1
        elif char == '\\' and self.text[self.i + 1:self.i + 2] == '\n':
            self.continuation()
        else:
            if self.cmd is None:
                self.cmd = Command(self.line, self.depth == 0 and self.if_depth == 0)
            if self.word is None and self.word_start(char):
                return
            self.in_word(char)

    def end_word(self):
        if self.word is not None and self.cmd is not None:
            self.cmd.words.append(self.word)
        self.word = None

    def end_command(self):
        cmd = self.cmd
        if cmd is not None and cmd.words:
            cmd.last_line = self.line
            self.commands.append(cmd)
            for ln in range(cmd.first_line, cmd.last_line + 1):
                self.lines_with_cmd[ln] = self.lines_with_cmd.get(ln, 0) + 1
        self.cmd = None

    def line_start(self, char):
        """Skip indentation and directives; return True if ``char`` was consumed."""
        if char in ' \t':
            self.i += 1
            return True
        self.at_line_start = False
        if char == '%' and (self.cmd is None or not self.cmd.words):
            self.directive()
            return True
        return False

    def directive(self):
        end = _line_end(self.text, self.i)
        name = _directive_name(self.text[self.i:end])
        if name == '%if':
            self.if_depth += 1
        elif name == '%endif':
            self.if_depth = max(0, self.if_depth - 1)
        self.directive_lines.add(self.line)
        self.i = end

    def newline(self):
        self.end_word()
        self.end_command()
        self.line += 1
        self.i += 1
        self.at_line_start = True

    def continuation(self):
        """A backslash before a newline: the command goes on on the next line."""
        self.end_word()
        self.line += 1
        self.i += 2
        self.at_line_start = False

    def word_start(self, char):
        """Handle a comment or a block brace; else open a word (returns False)."""
        if char == '#':
            end = _line_end(self.text, self.i)
            self.cmd.comment = self.text[self.i:end]
            self.i = end
            return True
        if char in '{}':
            self.end_command()
            self.depth = self.depth + 1 if char == '{' else max(0, self.depth - 1)
            self.multi.add(self.line)
            self.i += 1
            return True
        self.word = Word()
        return False

    def in_word(self, char):
        word = self.word
        if char == ';':
            self.separator()
        elif char == "'":
            chunk, self.i, terminated = _read_single_quoted(self.text, self.i)
            self.unterminated = self.unterminated or not terminated
            self.line += chunk.count('\n')
            word.value += chunk
            word.quoted = True
        elif char == '"':
            self.i, newlines, terminated = _read_double_quoted(self.text, self.i, word)
            self.unterminated = self.unterminated or not terminated
            self.line += newlines
        elif char == '\\':
            decoded, self.i = _read_escape(self.text, self.i + 1)
            word.value += decoded
        else:
            if char == '$' or (char == '~' and not word.value and not word.quoted):
                word.dynamic = True
            word.value += char
            self.i += 1

    def separator(self):
        """An unquoted ``;`` ends the command."""
        self.end_word()
        if self.cmd is not None and self.cmd.words:
            self.multi.add(self.line)
        self.end_command()
        self.i += 1


def lex(text):
    """Lex tmux configuration text.

    Returns ``(commands, info)`` where ``commands`` is a list of
    :class:`Command` and ``info`` a dict with line numbers (0-based) that hold
    more than one command (``multi``), directives (``directive``) and
    whether the text ended inside a quote (``unterminated``).
    """
    return _Lexer(text).run()


def unquote(text):
    """Return the string value of a single tmux word (quotes/escapes removed).

    Several adjacent quoted parts are concatenated like tmux does.  Raises
    :class:`TmuxConfError` if ``text`` is not exactly one word.
    """
    commands, info = lex(text)
    if info['unterminated']:
        raise TmuxConfError('unterminated quote in %r' % text)
    if not commands:
        return ''
    if len(commands) != 1 or len(commands[0].words) != 1:
        raise TmuxConfError('not a single word: %r' % text)
    return commands[0].words[0].value


def split_words(text):
    """Split one command line into word values (no expansion performed)."""
    commands, dummy = lex(text)
    words = []
    for cmd in commands:
        words.extend(cmd.values)
    return words


# ---------------------------------------------------------------------------
# Config file parsing
# ---------------------------------------------------------------------------

class ConfLine(object):
    """Classification of one physical config line.

    ``kind`` is one of ``blank``, ``comment``, ``option``, ``binding``,
    ``other``.  ``managed`` is True only for simple lines that plainly set a
    global option (flags limited to ``-g``/``-s``/``-w``/``-q``) or bind a key
    in the prefix table; only such lines are ever rewritten.
    """

    __slots__ = ('index', 'text', 'kind', 'managed', 'name', 'value', 'flags',
                 'dynamic', 'key', 'command', 'table', 'comment', 'indent',
                 'eol')

    def __init__(self, index, text):
        self.index = index
        self.text = text
        body = text.rstrip('\r\n')
        self.eol = text[len(body):]
        self.indent = body[:len(body) - len(body.lstrip(' \t'))]
        stripped = body.strip()
        if not stripped:
            self.kind = 'blank'
        elif stripped.startswith('#'):
            self.kind = 'comment'
        else:
            self.kind = 'other'
        self.managed = False
        self.name = None
        self.value = None
        self.flags = ''
        self.dynamic = False
        self.key = None
        self.command = None
        self.table = None
        self.comment = None

    def as_dict(self):
        return dict((k, getattr(self, k)) for k in self.__slots__)


def _split_flags(words, arg_flags):
    """Split leading getopt style flags.

    Returns ``(flag_chars, flag_args, rest)``; ``flag_args`` maps a flag that
    takes an argument to its value.  ``--`` ends the flags.
    """
    flags = ''
    flag_args = {}
    idx = 0
    while idx < len(words):
        word = words[idx]
        if word == '--':
            idx += 1
            break
        if not word.startswith('-') or word == '-':
            break
        pos = 1
        while pos < len(word):
            char = word[pos]
            flags += char
            if char in arg_flags:
                if pos + 1 < len(word):
                    flag_args[char] = word[pos + 1:]
                else:
                    idx += 1
                    flag_args[char] = words[idx] if idx < len(words) else ''
                break
            pos += 1
        idx += 1
    return flags, flag_args, words[idx:]


def _classify(conf_line, cmd, simple):
    words = cmd.values
    verb = words[0]
    if verb in SET_COMMANDS:
        flags, flag_args, rest = _split_flags(words[1:], _SET_ARG_FLAGS)
        if not rest:
            return
        conf_line.kind = 'option'
        conf_line.flags = flags
        conf_line.name = rest[0]
        conf_line.value = rest[1] if len(rest) > 1 else None
        conf_line.dynamic = any(w.dynamic for w in cmd.words[1:])
        if verb in ('setw', 'set-window-option'):
            conf_line.flags += 'w'
        conf_line.managed = (
            simple and set(flags) <= _SET_SAFE_FLAGS and not flag_args
            and len(rest) == 2)
    elif verb in BIND_COMMANDS:
        flags, flag_args, rest = _split_flags(words[1:], _BIND_ARG_FLAGS)
        if not rest:
            return
        conf_line.kind = 'binding'
        conf_line.flags = flags
        conf_line.table = 'root' if 'n' in flags else flag_args.get('T', 'prefix')
        conf_line.key = rest[0]
        conf_line.command = rest[1:]
        conf_line.dynamic = any(w.dynamic for w in cmd.words[1:])
        conf_line.managed = (simple and conf_line.table == 'prefix'
                             and bool(conf_line.command))
    elif verb in HOOK_COMMANDS:
        flags, flag_args, rest = _split_flags(words[1:], _SET_ARG_FLAGS)
        if not rest:
            return
        conf_line.kind = 'hook'
        conf_line.flags = flags
        conf_line.name = rest[0]
        conf_line.value = rest[1] if len(rest) > 1 else None
        conf_line.dynamic = any(w.dynamic for w in cmd.words[1:])
        conf_line.managed = (simple and flags == 'g' and not flag_args
                             and len(rest) == 2)


def parse(lines):
    """Classify every physical line of a config file.

    ``lines`` is a list of strings *with* their line endings (as produced by
    ``str.splitlines(True)``).  Returns one :class:`ConfLine` per input line.
    """
    result = [ConfLine(i, text) for i, text in enumerate(lines)]
    commands, info = lex(''.join(lines))
    per_line = {}
    for cmd in commands:
        for ln in range(cmd.first_line, cmd.last_line + 1):
            per_line.setdefault(ln, []).append(cmd)
    for ln, cmds in per_line.items():
        if ln >= len(result):
            continue
        conf_line = result[ln]
        if len(cmds) != 1:
            conf_line.kind = 'other'
            continue
        cmd = cmds[0]
        if cmd.first_line != ln:
            conf_line.kind = 'other'   # continuation of a previous line
            continue
        simple = (cmd.top_level and cmd.first_line == cmd.last_line
                  and ln not in info['multi'])
        conf_line.comment = cmd.comment
        _classify(conf_line, cmd, simple)
    for ln in info['directive']:
        if ln < len(result):
            result[ln].kind = 'other'
    return result


def line_scope(conf_line, scope):
    """Return True if ``conf_line`` sets the *global* value for ``scope``.

    tmux 3.x derives the table of a known option from its name, so ``-s`` and
    ``-w`` are irrelevant for known options; ``-g`` is needed for session and
    window options (without it the current session/window is targeted).
    Server options are global with or without ``-g``.  User options
    (``@name``) are managed as global session options (``-g`` without
    ``-s``/``-w``).
    """
    flags = set(conf_line.flags)
    if conf_line.name.startswith('@'):
        return 'g' in flags and not flags & set('sw')
    if scope == 'server':
        return True
    return 'g' in flags


# ---------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------

def render_option(name, scope, value):
    """Canonical line (without line ending) for a global option."""
    if name.startswith('@'):
        prefix = 'set -g'
    else:
        prefix = SCOPE_PREFIX[scope]
    return '%s %s %s' % (prefix, name, quote(value))


def check_binding_command(key, command):
    """Raise :class:`TmuxConfError` unless ``command`` is one plain command.

    Several commands must be chained with an escaped ``\\;`` (as in tmux
    itself); an unescaped ``;``, a block, a comment or an unterminated quote
    would make the rendered line something other than one ``bind-key``.
    """
    command = (command or '').strip()
    if not command:
        raise TmuxConfError('binding %s: empty command' % key)
    commands, info = lex(command)
    if (info['unterminated'] or len(commands) != 1 or info['multi']
            or commands[0].comment is not None or '\n' in command):
        raise TmuxConfError(
            'binding %s: command must be a single tmux command on one line '
            '(chain commands with an escaped "\\;"): %r' % (key, command))
    return command


def render_binding(key, command):
    """Canonical ``bind-key`` line; ``command`` is a tmux command string."""
    return 'bind %s %s' % (quote(key), check_binding_command(key, command))


def check_hook_name(name):
    """Return ``name`` if it looks like a tmux hook name, else raise."""
    if not _HOOK_NAME.match(name or ''):
        raise TmuxConfError('invalid tmux hook name %r' % (name,))
    return name


def render_hook(name, command):
    """Canonical ``set-hook -g`` line; ``command`` is a tmux command string."""
    if not command or '\n' in command:
        raise TmuxConfError('command of hook %s must be a non-empty single line' % name)
    return 'set-hook -g %s %s' % (check_hook_name(name), quote(command))


def _default_same(name, file_value, wanted_value):
    return file_value == wanted_value


def _with_comment(conf_line, body):
    text = conf_line.indent + body
    if conf_line.comment:
        original = conf_line.text.rstrip('\r\n')
        pos = original.rfind(conf_line.comment)
        gap = original[len(original[:pos].rstrip()):pos] if pos > 0 else ''
        text += (gap or ' ') + conf_line.comment
    # Always LF: tmux 3.x does not strip a CR before the newline, a CRLF line
    # would make the CR part of the last word (and usually an invalid value).
    return text + '\n'


def _rewrite(lines, new_lines, removed, changes, kind, name, matches, rendered, stale):
    """Rewrite the first line that sets NAME (when STALE) and drop later duplicates.

    Updates NEW_LINES, the REMOVED index set and the CHANGES list in place.
    """
    first = matches[0]
    if stale:
        new_text = _with_comment(first, rendered)
        new_lines[first.index] = new_text
        changes.append({'action': 'replace', 'kind': kind, 'name': name,
                        'line': first.index + 1,
                        'old': lines[first.index].rstrip('\r\n'),
                        'new': new_text.rstrip('\r\n')})
    for dup in matches[1:]:
        removed.add(dup.index)
        changes.append({'action': 'remove', 'kind': kind, 'name': name,
                        'line': dup.index + 1,
                        'old': lines[dup.index].rstrip('\r\n'), 'new': None})


def plan(lines, wanted_options, wanted_bindings=None, same_value=None, wanted_hooks=None,
         absent_hooks=None):
    """Compute the new file content.

    :arg lines: current file lines (with line endings).
    :arg wanted_options: dict ``name -> {'scope': scope, 'value': str}``.
    :arg wanted_bindings: dict ``key -> command string`` (prefix table).
    :arg same_value: optional callable ``(name, file_value, wanted_value)``
        returning True when an existing value is equivalent (used by the
        module to compare through tmux's own normalisation).
    :arg wanted_hooks: dict ``hook name -> command string`` (``set-hook -g``).
    :arg absent_hooks: hook names whose ``set-hook -g`` lines are removed (a
        feature switched off takes its hooks with it).
    :returns: ``(new_lines, changes)``; ``changes`` is a list of dicts with
        ``action`` (``replace``/``remove``/``append``), ``kind``
        (``option``/``binding``/``hook``), ``name``, ``line`` (1-based line number in
        the *old* file, None for appends), ``old`` and ``new`` text.
    """
    wanted_bindings = wanted_bindings or {}
    same_value = same_value or _default_same
    parsed = parse(lines)
    new_lines = list(lines)
    removed = set()
    changes = []
    append_texts = []

    for name in sorted(wanted_options):
        spec = wanted_options[name]
        scope = spec['scope']
        value = to_tmux_value(spec['value'])
        rendered = render_option(name, scope, value)
        matches = [pl for pl in parsed
                   if pl.kind == 'option' and pl.managed and pl.name == name
                   and line_scope(pl, scope)]
        if not matches:
            append_texts.append(('option', name, rendered))
            continue
        stale = matches[0].dynamic or not same_value(name, matches[0].value, value)
        _rewrite(lines, new_lines, removed, changes, 'option', name, matches, rendered, stale)

    for key in sorted(wanted_bindings):
        command = check_binding_command(key, wanted_bindings[key])
        rendered = render_binding(key, command)
        wanted_words = split_words(command)
        matches = [pl for pl in parsed
                   if pl.kind == 'binding' and pl.managed and pl.key == key]
        if not matches:
            append_texts.append(('binding', key, rendered))
            continue
        stale = matches[0].dynamic or matches[0].command != wanted_words
        _rewrite(lines, new_lines, removed, changes, 'binding', key, matches, rendered, stale)

    for name in sorted(wanted_hooks or {}):
        command = wanted_hooks[name]
        rendered = render_hook(name, command)
        matches = [pl for pl in parsed
                   if pl.kind == 'hook' and pl.managed and pl.name == name]
        if not matches:
            append_texts.append(('hook', name, rendered))
            continue
        stale = matches[0].dynamic or matches[0].value != command
        _rewrite(lines, new_lines, removed, changes, 'hook', name, matches, rendered, stale)

    for name in sorted(set(absent_hooks or ()) - set(wanted_hooks or {})):
        for pl in parsed:
            if pl.kind == 'hook' and pl.managed and pl.name == name and pl.index not in removed:
                removed.add(pl.index)
                changes.append({'action': 'remove', 'kind': 'hook', 'name': name,
                                'line': pl.index + 1,
                                'old': lines[pl.index].rstrip('\r\n'), 'new': None})

    result = [text for idx, text in enumerate(new_lines) if idx not in removed]
    if append_texts:
        if result and not result[-1].endswith('\n'):
            result[-1] += '\n'
        for kind, name, text in append_texts:
            result.append(text + '\n')
            changes.append({'action': 'append', 'kind': kind, 'name': name,
                            'line': None, 'old': None, 'new': text})
    return result, changes


# ---------------------------------------------------------------------------
# tmux output parsing
# ---------------------------------------------------------------------------

_ARRAY_RE = re.compile(r'^([^\s\[]+)\[(\d+)\]$')


def parse_show_options(text):
    """Parse ``show-options`` output into ``{name: value}``.

    Values are unescaped (tmux prints them quoted/escaped).  Array members are
    returned as ``name[idx]``; an array with no members is printed by tmux as
    a bare name and is returned with value None.
    """
    result = {}
    for raw in text.splitlines():
        if not raw.strip():
            continue
        parts = raw.split(None, 1)
        name = parts[0]
        if len(parts) == 1:
            result[name] = None
            continue
        try:
            result[name] = unquote(parts[1])
        except TmuxConfError:
            result[name] = parts[1]
    return result


def option_catalog(show_outputs):
    """Build ``{name: {'scope': scope, 'array': bool}}``.

    ``show_outputs`` maps scope -> raw ``show-options`` text for that scope
    (``-s``, ``-g``, ``-gw``).  The first scope wins if a name shows up twice.
    """
    catalog = {}
    for scope in SCOPES:
        text = show_outputs.get(scope) or ''
        for name, value in parse_show_options(text).items():
            match = _ARRAY_RE.match(name)
            is_array = bool(match) or value is None
            base = match.group(1) if match else name
            if base.startswith('@'):
                continue
            if base in catalog:
                catalog[base]['array'] = catalog[base]['array'] or is_array
                continue
            catalog[base] = {'scope': scope, 'array': is_array}
    return catalog


def resolve_scopes(names, catalog):
    """Return ``(scopes, unknown, arrays)`` for the wanted option ``names``.

    User options (``@name``) are always managed as session options.
    """
    scopes = {}
    unknown = []
    arrays = []
    for name in names:
        if name.startswith('@') and len(name) > 1:
            scopes[name] = 'session'
        elif name in catalog:
            if catalog[name]['array']:
                arrays.append(name)
            else:
                scopes[name] = catalog[name]['scope']
        else:
            unknown.append(name)
    return scopes, sorted(unknown), sorted(arrays)


def compute_drift(found, wanted):
    """Compare live values against wanted values.

    :arg found: dict with keys ``global`` (``{scope: {name: value}}``) and
        ``local`` (list of ``{'scope': scope, 'target': str, 'tid': str,
        'values': {name: value}}``) -- local entries hold only locally set
        values (``show-options -t`` without ``-g``).
    :arg wanted: ``{name: {'scope': scope, 'value': canonical_value}}``.
    :returns: list of dicts ``scope``, ``target``, ``tid``, ``option``,
        ``found``, ``wanted``; global items have target ``global``.
    """
    drift = []
    glob = found.get('global') or {}
    for name in sorted(wanted):
        scope = wanted[name]['scope']
        want = wanted[name]['value']
        current = (glob.get(scope) or {}).get(name)
        if current != want:
            drift.append({'scope': scope, 'target': 'global', 'tid': None,
                          'option': name, 'found': current, 'wanted': want})
        for local in found.get('local') or []:
            if local['scope'] != scope and not (
                    scope == 'window' and local['scope'] == 'pane'):
                continue
            values = local.get('values') or {}
            if name in values and values[name] != want:
                drift.append({'scope': local['scope'], 'target': local['target'],
                              'tid': local.get('tid'), 'option': name,
                              'found': values[name], 'wanted': want})
    return drift


def render_drift(server, drift_items):
    """Human readable text of the drift of one server (for diff output)."""
    out = []
    for item in drift_items:
        if item['target'] == 'global':
            target = 'global %s' % item['scope']
        else:
            target = '%s %s' % (item['scope'], item['target'])
        out.append('%s [%s] %s: %s -> %s\n' % (
            server, target, item['option'],
            'unset' if item['found'] is None else quote(item['found']),
            quote(item['wanted'])))
    return ''.join(out)


def parse_list_keys_line(text):
    """Return the words of the first ``list-keys`` line (or [] if none)."""
    for raw in text.splitlines():
        if raw.strip():
            return split_words(raw)
    return []


def parse_show_hooks(text):
    """Parse ``show-hooks -g`` output into ``{name: command}``.

    Only the first member (``NAME[0]``) of each hook is returned, as tmux
    prints it (its canonical form); hooks with no command are left out.
    """
    result = {}
    for raw in text.splitlines():
        parts = raw.strip().split(None, 1)
        if len(parts) != 2:
            continue
        match = _ARRAY_RE.match(parts[0])
        if match and match.group(2) == '0':
            result[match.group(1)] = parts[1]
    return result


def compute_hook_drift(found, wanted, absent=()):
    """Drift items for global hooks: ``found``/``wanted`` map name -> command.

    Hooks named in ``absent`` must not be set at all (``wanted`` is ``''``).
    """
    items = [{'scope': 'hook', 'target': 'global', 'tid': None, 'option': name,
              'found': found.get(name), 'wanted': wanted[name]}
             for name in sorted(wanted) if found.get(name) != wanted[name]]
    items.extend({'scope': 'hook', 'target': 'global', 'tid': None, 'option': name,
                  'found': found[name], 'wanted': ''}
                 for name in sorted(set(absent) - set(wanted)) if found.get(name))
    return items


def compute_pipe_drift(panes):
    """Drift items for panes whose output is not piped.

    ``panes`` is a list of ``(pane_id, pane_pipe, target)`` from
    ``list-panes -a -F '#{pane_id} #{pane_pipe} #{session_name}:#{window_index}.#{pane_index}'``.
    """
    return [{'scope': 'pane', 'target': target, 'tid': tid, 'option': 'pane_pipe',
             'found': piped, 'wanted': '1'}
            for tid, piped, target in panes if piped != '1']
