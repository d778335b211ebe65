# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Effective tmux settings, computed by tmux itself in a scratch server.

The module never guesses what a value, a binding, a hook or a whole
configuration file does: it loads them into a private tmux server (started
with ``-f /dev/null`` on a socket in a fresh temporary directory, always
killed afterwards) and reads back what tmux made of them.

* :class:`ScratchServer` is that server; every tmux command goes through a
  ``runner`` (``argv -> (rc, out, err)`` as text; the module passes its
  ``run_command``, :func:`run_command` is the stand-alone default).
* :func:`validate_wanted` and :func:`validate_hooks` detect each option's
  scope and turn every wanted value into the canonical one tmux reports;
  :func:`make_same_value` compares a value found in the file with the wanted
  one through tmux; :func:`verify_content` loads a rendered file and lists
  what would not take effect.

Failures raise :class:`ScratchError` with the message and the extra result
keys (``option``, ``binding``, ``hook``, ``tmux_error``, ``unknown_options``,
``rc``) the module fails with.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess
import tempfile

from ansible_collections.ephi.safeguards.plugins.module_utils.tmux_conf import (
    SCOPE_SHOW_FLAGS,
    TmuxConfError,
    option_catalog,
    parse_list_keys_line,
    parse_show_hooks,
    quote,
    render_binding,
    render_hook,
    render_option,
    resolve_scopes,
)

# Added to the environment of every tmux command (messages are parsed).
ENV = {'LANG': 'C', 'LC_ALL': 'C'}


class ScratchError(Exception):
    """A check in the scratch server failed; ``details`` are extra result keys."""

    def __init__(self, msg, **details):
        super(ScratchError, self).__init__(msg)
        self.msg = msg
        self.details = details


def run_command(argv):
    """Run ``argv`` with :data:`ENV` added; return ``(rc, out, err)`` as text."""
    env = dict(os.environ)
    env.update(ENV)
    # Not AnsibleModule.run_command: this I/O layer has no module (unit-tested
    # with a fake runner), and the scratch server needs its own environment.
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,  # pylint: disable=ansible-bad-function
                            stderr=subprocess.PIPE, env=env)
    out, err = proc.communicate()
    return (proc.returncode, out.decode('utf-8', 'surrogateescape'),
            err.decode('utf-8', 'surrogateescape'))


class ScratchServer(object):
    """A private tmux server on a socket in a fresh temporary directory.

    Started with ``-f /dev/null`` (no config at all) and always killed and
    removed by :meth:`stop` (also used as a context manager).
    """

    def __init__(self, tmux_bin, runner=None):
        self.tmux_bin = tmux_bin
        self.runner = runner or run_command
        self.tmpdir = None
        self.socket = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def run(self, args, check=False):
        rc, out, err = self.runner([self.tmux_bin, '-S', self.socket] + list(args))
        if check and rc != 0:
            self.stop()
            raise ScratchError('tmux %s failed in scratch server: %s' % (
                ' '.join(args), (err or out).strip()), rc=rc)
        return rc, out, err

    def start(self):
        # Short path in the system temp dir: unix socket paths are limited
        # to ~100 bytes, the module's tmpdir may be longer.
        self.tmpdir = tempfile.mkdtemp(prefix='ephi-tmux-')
        self.socket = os.path.join(self.tmpdir, 's')
        rc, out, err = self.runner(
            [self.tmux_bin, '-S', self.socket, '-f', '/dev/null', 'new-session', '-d',
             '-s', 'ephi-scratch', '-x', '80', '-y', '24', 'cat'])
        if rc != 0:
            self.stop()
            raise ScratchError('could not start a scratch tmux server: %s' % (
                (err or out).strip()), rc=rc)

    def stop(self):
        if self.socket and os.path.exists(self.socket):
            self.runner([self.tmux_bin, '-S', self.socket, 'kill-server'])
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        self.socket = None
        self.tmpdir = None

    def source_text(self, text):
        """Source ``text`` as a config file; return ``(ok, messages)``.

        tmux 3.3a: ``source-file`` exits 1 when the file has errors.  Parse
        (syntax) errors are printed on *stdout* as ``FILE:LINE: syntax error``
        and nothing of the file is executed; command errors (invalid option,
        invalid value) are printed on *stderr* without file/line and the other
        commands of the file are still executed.
        """
        path = os.path.join(self.tmpdir, 'snippet.conf')
        with open(path, 'wb') as fh:
            fh.write(text.encode('utf-8', 'surrogateescape'))
        rc, out, err = self.run(['source-file', path])
        messages = [line.replace(path, '<config>') for line in (out + err).splitlines()
                    if line.strip()]
        return rc == 0 and not messages, messages

    def show_value(self, name, scope):
        """The global value of option ``name`` in ``scope``, None if unset or unknown."""
        rc, out, dummy = self.run(['show-options', SCOPE_SHOW_FLAGS[scope] + 'v', name])
        if rc != 0:
            return None
        return out[:-1] if out.endswith('\n') else out

    def hook_value(self, name):
        """The command of global hook ``name``, None if unset."""
        rc, out, dummy = self.run(['show-hooks', '-g', name])
        if rc != 0:
            return None
        return parse_show_hooks(out).get(name)

    def binding_words(self, key):
        """The ``list-keys`` words of ``key`` in the prefix table ([] if unbound)."""
        rc, out, dummy = self.run(['list-keys', '-T', 'prefix', key])
        if rc != 0:
            return []
        return parse_list_keys_line(out)


def validate_wanted(scratch, wanted_values, wanted_bindings):
    """Detect scopes, check and canonicalise every wanted value and binding.

    Returns ``(options, bindings)``: option name to ``{'scope', 'value'}``
    (the value as tmux reports it) and key to the ``list-keys`` words.
    """
    shows = {}
    for scope, flags in SCOPE_SHOW_FLAGS.items():
        shows[scope] = scratch.run(['show-options', flags], check=True)[1]
    scopes, unknown, arrays = resolve_scopes(list(wanted_values), option_catalog(shows))
    if unknown:
        raise ScratchError('unknown tmux option(s) for this tmux version: %s' % (
            ', '.join(unknown)), unknown_options=unknown)
    if arrays:
        raise ScratchError('array tmux option(s) are not supported: %s' % ', '.join(arrays))

    options = {}
    for name in sorted(wanted_values):
        options[name] = {'scope': scopes[name],
                         'value': _canonical_value(scratch, name, scopes[name],
                                                   wanted_values[name])}
    bindings = {}
    for key in sorted(wanted_bindings):
        bindings[key] = _canonical_binding(scratch, key, wanted_bindings[key])
    return options, bindings


def _canonical_value(scratch, name, scope, value):
    ok, messages = scratch.source_text(render_option(name, scope, value) + '\n')
    if not ok:
        raise ScratchError('tmux rejected option %s value %s: %s' % (
            name, quote(value), '; '.join(messages)), option=name, tmux_error=messages)
    canonical = scratch.show_value(name, scope)
    if canonical is None:
        raise ScratchError('cannot read back option %s from tmux' % name, option=name)
    return canonical


def _canonical_binding(scratch, key, command):
    try:
        line = render_binding(key, command)
    except TmuxConfError as exc:
        raise ScratchError(str(exc), binding=key)
    ok, messages = scratch.source_text(line + '\n')
    words = scratch.binding_words(key) if ok else []
    if not ok or not words:
        raise ScratchError('tmux rejected binding %s (%s): %s' % (
            key, command, '; '.join(messages) or 'binding not created'),
            binding=key, tmux_error=messages)
    return words


def validate_hooks(scratch, wanted_hooks):
    """Check every wanted hook in the scratch server; return name -> canonical command."""
    hooks = {}
    for name in sorted(wanted_hooks):
        try:
            line = render_hook(name, wanted_hooks[name])
        except TmuxConfError as exc:
            raise ScratchError(str(exc), hook=name)
        ok, messages = scratch.source_text(line + '\n')
        canonical = scratch.hook_value(name) if ok else None
        if not ok or canonical is None:
            raise ScratchError('tmux rejected hook %s (%s): %s' % (
                name, wanted_hooks[name], '; '.join(messages) or 'hook not set'),
                hook=name, tmux_error=messages)
        hooks[name] = canonical
    return hooks


def make_same_value(scratch, options):
    """Return ``same_value(name, file_value, wanted_value)`` for :func:`tmux_conf.plan`.

    A value found in the file counts as the wanted one when tmux makes the
    same canonical value of it (``02000`` is ``2000``, ``no`` is ``off``).
    """
    cache = {}

    def same_value(name, file_value, wanted_value):
        if file_value is None:
            return False
        if file_value == wanted_value:
            return True
        key = (name, file_value)
        if key not in cache:
            scope = options[name]['scope']
            ok, dummy = scratch.source_text(render_option(name, scope, file_value) + '\n')
            cache[key] = ok and scratch.show_value(name, scope) == options[name]['value']
        return cache[key]
    return same_value


def verify_content(tmux_bin, content, original, options, bindings, hooks=None, runner=None):
    """Load ``content`` in a fresh scratch server and check its effect.

    Errors tmux already reported for ``original`` are not held against
    ``content``. Returns ``(problems, warnings)``, two lists of messages;
    ``content`` is fine when ``problems`` is empty.
    """
    problems = []
    warnings = []
    old_messages = []
    if original:
        with ScratchServer(tmux_bin, runner) as old:
            old_messages = old.source_text(original)[1]
    with ScratchServer(tmux_bin, runner) as scratch:
        messages = scratch.source_text(content)[1]
        new_errors = [m for m in messages if m not in old_messages]
        if new_errors:
            problems.append('tmux reports errors for the rendered configuration: %s'
                            % '; '.join(new_errors))
        elif messages:
            warnings.append('the configuration file already had tmux errors (kept): %s'
                            % '; '.join(messages))
        problems.extend(_effect_problems(scratch, options, bindings, hooks or {}))
    return problems, warnings


def _effect_problems(scratch, options, bindings, hooks):
    """Wanted options, bindings and hooks that the loaded file does not produce."""
    problems = []
    for name in sorted(options):
        effective = scratch.show_value(name, options[name]['scope'])
        if effective != options[name]['value']:
            problems.append(
                'option %s would be %s instead of %s: another line in the file '
                '(e.g. set -a/-u/-o, a block, %%if or a later command) overrides it'
                % (name, quote(effective) if effective is not None else 'unset',
                   quote(options[name]['value'])))
    for key in sorted(bindings):
        words = scratch.binding_words(key)
        if words != bindings[key]:
            problems.append('binding %s would be %r instead of %r' % (
                key, ' '.join(words) or 'unbound', ' '.join(bindings[key])))
    for name in sorted(hooks):
        effective = scratch.hook_value(name)
        if effective != hooks[name]:
            problems.append('hook %s would be %r instead of %r' % (
                name, effective or 'unset', hooks[name]))
    return problems
