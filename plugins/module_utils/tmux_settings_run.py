# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The work of ephi.safeguards.tmux_settings: plan the system tmux.conf in a scratch server, write it
(outside check mode), and audit or enforce the live servers, each through a client run as the socket's
owner (module_utils/tmux_live.py). The module is AnsibleModule glue around ``apply``; another module
takes tmux_settings' options as its option ``settings`` (``attach``, module_utils/riders.py): the
tmux role's verify compares the configuration and the live servers in the session gate audit's run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import os
import tempfile
import time

from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text

from ansible_collections.ephi.safeguards.plugins.module_utils import riders
from ansible_collections.ephi.safeguards.plugins.module_utils.mountinfo import probe_mounted_as
from ansible_collections.ephi.safeguards.plugins.module_utils.tmux_conf import (
    TmuxConfError,
    check_hook_name,
    plan,
    to_tmux_value,
)
from ansible_collections.ephi.safeguards.plugins.module_utils.tmux_live import (
    OwnerClient,
    examine_clients,
    find_sockets,
)
from ansible_collections.ephi.safeguards.plugins.module_utils.tmux_scratch import (
    ENV,
    ScratchError,
    ScratchServer,
    make_same_value,
    validate_hooks,
    validate_wanted,
    verify_content,
)

# tmux_settings' options (the module adds the file attributes: owner, group, mode, ...).
SETTINGS_SPEC = dict(
    path=dict(type='path', default='/etc/tmux.conf'),
    options=dict(type='dict', default={}),
    bindings=dict(type='dict', default={}),
    live=dict(type='str', default='none', choices=['none', 'audit', 'enforce']),
    backup=dict(type='bool', default=False),
    create=dict(type='bool', default=True),
    tmux_bin=dict(type='path'),
    socket_dirs=dict(type='list', elements='path', default=['/tmp/tmux-*']),
    hooks=dict(type='dict', default={}),
    absent_hooks=dict(type='list', elements='str', default=[]),
    require_pipe=dict(type='bool', default=False),
    pipe_command=dict(type='str'),
)

# The option ``settings`` of another module: tmux_settings' options for a comparison only (never a
# write, never enforce), and ``capture``: the capture hooks and pipe, wanted only when the probe
# answered in the same run that MOUNT is mounted with one of FSTYPES (the tmux role's rule for
# capture: never pipe panes into an unencrypted directory).
RIDER_SPEC = dict(
    (name, dict(spec)) for name, spec in SETTINGS_SPEC.items()
    if name not in ('backup', 'create', 'hooks', 'require_pipe', 'pipe_command'))
RIDER_SPEC['live'] = dict(type='str', default='audit', choices=['none', 'audit'])
RIDER_SPEC['capture'] = dict(type='dict', options=dict(
    mount=dict(type='path', required=True),
    fstypes=dict(type='list', elements='str', required=True),
    hooks=dict(type='dict', default={}),
    pipe_command=dict(type='str', required=True),
))


class TmuxSettingsError(ScratchError):
    """tmux_settings cannot do its work: ``msg``, and ``details`` for the module's failure result."""


def read_file(path):
    if not os.path.exists(path):
        return None
    if os.path.isdir(path):
        raise TmuxSettingsError('%s is a directory' % path)
    try:
        with open(path, 'rb') as fh:
            data = fh.read()
    except (IOError, OSError) as exc:
        raise TmuxSettingsError('cannot read %s: %s' % (path, to_native(exc)))
    return to_text(data, errors='surrogate_or_strict')


def write_file(module, path, content, unsafe_writes):
    dest_dir = os.path.dirname(path) or '.'
    if not os.path.isdir(dest_dir):
        raise TmuxSettingsError('directory %s does not exist' % dest_dir)
    fd, tmp = tempfile.mkstemp(prefix='.tmux_settings.', dir=module.tmpdir)
    try:
        with os.fdopen(fd, 'wb') as fh:
            fh.write(to_bytes(content, errors='surrogate_or_strict'))
    except (IOError, OSError) as exc:
        raise TmuxSettingsError('cannot write temporary file: %s' % to_native(exc))
    module.atomic_move(tmp, path, unsafe_writes=unsafe_writes)


def wanted_options(params):
    """O(options) as option name to tmux value string."""
    wanted = {}
    for name, value in (params['options'] or {}).items():
        name = to_text(name)
        if not name or any(c.isspace() for c in name):
            raise TmuxSettingsError('invalid tmux option name %r' % name)
        if isinstance(value, (dict, list)):
            raise TmuxSettingsError('value of tmux option %s must be a string, number or boolean' % name,
                                    option=name)
        wanted[name] = to_tmux_value(value)
    return wanted


def wanted_bindings(params):
    """O(bindings) as key to command string."""
    wanted = {}
    for key, command in (params['bindings'] or {}).items():
        if isinstance(command, (dict, list, bool)) or command is None:
            raise TmuxSettingsError('command of binding %s must be a string' % key, binding=key)
        wanted[to_text(key)] = to_text(command)
    return wanted


def wanted_hooks(params):
    """O(hooks) as hook name to command, and the checked names of O(absent_hooks)."""
    wanted = {}
    for name, command in (params['hooks'] or {}).items():
        if isinstance(command, (dict, list, bool)) or command is None or not to_text(command).strip():
            raise TmuxSettingsError('command of hook %s must be a non-empty string' % name, hook=name)
        try:
            wanted[check_hook_name(to_text(name))] = to_text(command)
        except TmuxConfError as exc:
            raise TmuxSettingsError(to_native(exc), hook=name)
    absent = []
    for name in params['absent_hooks']:
        try:
            absent.append(check_hook_name(to_text(name)))
        except TmuxConfError as exc:
            raise TmuxSettingsError(to_native(exc), hook=name)
    return wanted, absent


def plan_file(tmux_bin, runner, original, wanted, result):
    """Validate the wanted settings in a scratch server and plan the file.

    Returns ``(options, bindings, hooks, new_content, changes)``.
    """
    values, bindings, hooks, absent_hooks = wanted
    try:
        with ScratchServer(tmux_bin, runner) as scratch:
            options, canonical_bindings = validate_wanted(scratch, values, bindings)
            canonical_hooks = validate_hooks(scratch, hooks)
            try:
                new_lines, changes = plan(
                    (original or '').splitlines(True),
                    dict((n, {'scope': options[n]['scope'], 'value': values[n]}) for n in options),
                    bindings, make_same_value(scratch, options),
                    wanted_hooks=hooks, absent_hooks=absent_hooks)
            except TmuxConfError as exc:
                raise TmuxSettingsError(to_native(exc), **result)
    except ScratchError as exc:
        raise TmuxSettingsError(exc.msg, **exc.details)
    return options, canonical_bindings, canonical_hooks, ''.join(new_lines), changes


def live_diff(mode, live):
    """The diff entry for the live servers (None without drift)."""
    if not live['diff_before']:
        return None
    if mode == 'enforce':
        return {'before_header': 'live tmux servers (drift)',
                'after_header': 'live tmux servers (enforced)',
                'before': ''.join(live['diff_before']), 'after': ''.join(live['diff_after'])}
    return {'prepared': 'live tmux drift (audit only, nothing changed):\n'
                        + ''.join(live['diff_before'])}


def apply(module, params, check_mode, file_attrs=False):
    """tmux_settings' work for PARAMS (SETTINGS_SPEC): ``(result, diffs)``, or TmuxSettingsError with
    the result so far as its details. MODULE runs the commands (each tmux client as the socket's
    owner), writes the file (not in CHECK_MODE) and takes the warnings; FILE_ATTRS: PARAMS has the
    file attributes (owner, mode, ...) to set on the file."""
    path = params['path']
    tmux_bin = params['tmux_bin'] or module.get_bin_path('tmux')
    if not tmux_bin:
        raise TmuxSettingsError('tmux is not installed (no tmux in PATH)')
    if not os.access(tmux_bin, os.X_OK):
        raise TmuxSettingsError('tmux binary %s is not executable' % tmux_bin)

    values = wanted_options(params)
    bindings = wanted_bindings(params)
    hooks, absent_hooks = wanted_hooks(params)

    def runner(argv):
        return module.run_command(argv, environ_update=ENV)

    version = runner([tmux_bin, '-V'])[1]
    result = dict(changed=False, path=path, file_changed=False, changes=[], options={},
                  bindings={}, hooks={}, drift=[], fixed=[], servers=[], stale_sockets=[],
                  unexamined=[],
                  tmux_version=to_text(version).strip())

    original = read_file(path)
    if original is None and not params['create']:
        raise TmuxSettingsError('%s does not exist and create is false' % path, **result)

    options, canonical_bindings, canonical_hooks, new_content, changes = plan_file(
        tmux_bin, runner, original, (values, bindings, hooks, absent_hooks), result)
    result['options'] = options
    result['bindings'] = dict((k, ' '.join(v)) for k, v in canonical_bindings.items())
    result['hooks'] = canonical_hooks
    result['changes'] = changes
    file_changed = original is None or new_content != original

    try:
        problems, warnings = verify_content(tmux_bin, new_content, original, options,
                                            canonical_bindings, canonical_hooks, runner)
    except ScratchError as exc:
        raise TmuxSettingsError(exc.msg, **exc.details)
    for warning in warnings:
        module.warn(warning)
    if problems:
        raise TmuxSettingsError('refusing to write %s, the result would not take effect: %s'
                                % (path, ' | '.join(problems)), **result)

    diffs = [{'before_header': path if original is not None else '%s (absent)' % path,
              'after_header': path,
              'before': original or '',
              'after': new_content}]

    if file_changed and not check_mode:
        if params['backup'] and original is not None:
            result['backup_file'] = module.backup_local(path)
        write_file(module, path, new_content, params.get('unsafe_writes', False))
    result['file_changed'] = file_changed

    if file_attrs and os.path.exists(path):
        file_args = module.load_file_common_arguments(params, path=path)
        attrs_changed = module.set_fs_attributes_if_different(file_args, False)
        result['file_changed'] = result['file_changed'] or attrs_changed

    if params['live'] != 'none':
        started = time.monotonic()
        live = examine_clients([OwnerClient(tmux_bin, cand)
                                for cand in find_sockets(params['socket_dirs'])],
                               options, params['live'], hooks=canonical_hooks,
                               absent_hooks=absent_hooks,
                               require_pipe=params['require_pipe'],
                               pipe_command=params['pipe_command'],
                               check_mode=check_mode)
        result['live_seconds'] = round(time.monotonic() - started, 3)
        for key in ('servers', 'stale_sockets', 'drift', 'fixed', 'unexamined'):
            result[key] = live[key]
        for warning in live['warnings']:
            module.warn(warning)
        live_entry = live_diff(params['live'], live)
        if live_entry:
            diffs.append(live_entry)
        if live['errors']:
            result['changed'] = True
            raise TmuxSettingsError('could not enforce tmux settings in live servers: %s'
                                    % ' | '.join(live['errors']), **result)

    result['changed'] = result['file_changed'] or bool(result['fixed'])
    return result, diffs


def capture_active(capture, probe):
    """Whether the capture hooks and pipe are wanted: CAPTURE given (the role's tmux_capture on) and
    PROBE (host_probe's answer in the same run) saw its mount with one of its file system types."""
    return bool(capture) and probe_mounted_as(probe, capture['mount'], capture['fstypes'])


def compare(module, params, probe=None):
    """The rider's work: tmux_settings' result for PARAMS (RIDER_SPEC) compared only, in check mode
    whatever MODULE's own mode, with ``capture_active`` (see capture_active) and no diff."""
    capture = params['capture']
    active = capture_active(capture, probe)
    wanted = dict(params, backup=False, create=True, hooks=capture['hooks'] if active else {},
                  require_pipe=active, pipe_command=capture['pipe_command'] if active else '')
    result = apply(module, wanted, check_mode=True)[0]
    result['capture_active'] = active
    return result


def attach(module, probe=None, option='settings'):
    """Run the comparison that MODULE's option OPTION asks for (RIDER_SPEC), after PROBE (the
    ``probe`` answer of the same run, for the capture decision), and return tmux_settings' result
    with every later exit_json and fail_json of MODULE as ``settings`` (module_utils/riders.py), or
    ``failed`` true and ``msg`` when it could not run. Nothing when the option is not set."""
    return riders.attach(module, option, RIDER_SPEC, functools.partial(compare, probe=probe),
                         (TmuxSettingsError,), 'tmux_settings')
