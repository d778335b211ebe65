# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters of the tmux role (its evidence, its lock-command, its file sets, the session gate's sshd
check and whether the capture directory is mounted): glue over module_utils/tmux_controls.py,
tmux_files.py, session_gate.py and mountinfo.py, where the decisions are."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.ephi.safeguards.plugins.plugin_utils.lazy import lazy

# plugins/module_utils/tmux_controls.py, tmux_files.py, session_gate.py and mountinfo.py, imported when a filter runs
# (plugin_utils/lazy.py).
autostart_uncovered = lazy('tmux_controls', 'autostart_uncovered')
build_controls = lazy('tmux_controls', 'build_controls')
lock_command_effective = lazy('tmux_controls', 'lock_command_effective')
lock_command_problem = lazy('tmux_controls', 'lock_command_problem')
file_items = lazy('tmux_files', 'file_items')
probe_mounted_as = lazy('mountinfo', 'probe_mounted_as')
sshd_check_argvs = lazy('session_gate', 'sshd_check_argvs')
sshd_check_of_probe = lazy('session_gate', 'sshd_check_of_probe')


def tmux_autostart_uncovered(passwd, exempt_users=None, covered_shells=None, no_login_shells=None):
    """Accounts whose login shell never runs the profile.d autostart (sorted "name (shell)")."""
    try:
        return autostart_uncovered(passwd, exempt_users, covered_shells, no_login_shells)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError('tmux_autostart_uncovered: %s' % exc)


def tmux_controls(probes, policy):
    """The tmux role's evidence records from its named probes and its policy."""
    if not isinstance(probes, dict) or not isinstance(policy, dict):
        raise AnsibleFilterError('tmux_controls expects the probes and the policy as dicts, got %s and %s'
                                 % (type(probes).__name__, type(policy).__name__))
    try:
        return build_controls(probes, policy)
    except KeyError as exc:
        raise AnsibleFilterError('tmux_controls: the policy lacks %s' % exc)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError('tmux_controls: %s' % exc)


def tmux_lock_command(command, plugin=''):
    """The lock-command tmux runs: COMMAND plus the vlock event plugin PLUGIN when COMMAND runs vlock-main."""
    if not isinstance(command, str) or not isinstance(plugin, str):
        raise AnsibleFilterError('tmux_lock_command expects strings, got %s and %s'
                                 % (type(command).__name__, type(plugin).__name__))
    return lock_command_effective(command, plugin)


def tmux_lock_command_problem(command):
    """Why COMMAND is not a safe tmux lock-command ('' when it is)."""
    if not isinstance(command, str):
        raise AnsibleFilterError('tmux_lock_command_problem expects a string, got %s' % type(command).__name__)
    return lock_command_problem(command)


def tmux_file_items(groups, run_tags=None, skip_tags=None):
    """The ephi.safeguards.file_set items of the GROUPS whose feature is on and whose tags this run selects."""
    try:
        return file_items(groups, run_tags, skip_tags)
    except ValueError as exc:
        raise AnsibleFilterError('tmux_file_items: %s' % exc)


def _strings(name, value):
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise AnsibleFilterError('%s expects a list of names, got %r' % (name, value))
    return value


def tmux_gate_sshd_argvs(sshd, users):
    """The sshd -T argument lists (one per account of USERS) that host_probe asks for the gate's sshd check."""
    if not isinstance(sshd, str) or not sshd.startswith('/'):
        raise AnsibleFilterError('tmux_gate_sshd_argvs expects the absolute path of sshd, got %r' % (sshd,))
    return sshd_check_argvs(sshd, _strings('tmux_gate_sshd_argvs', users))


def tmux_gate_sshd_check(commands, sshd, users, exempt_users, gate):
    """The session gate's sshd check (as session_gate_audit's sshd_check) from host_probe's answers COMMANDS."""
    if not isinstance(commands, list):
        raise AnsibleFilterError('tmux_gate_sshd_check expects host_probe\'s commands (a list), got %s'
                                 % type(commands).__name__)
    return sshd_check_of_probe(commands, sshd, _strings('tmux_gate_sshd_check', users),
                               _strings('tmux_gate_sshd_check', exempt_users), gate)


def tmux_capture_mounted(probe, mount, fstypes):
    """Whether host_probe's answer PROBE shows MOUNT mounted with one of FSTYPES: the rule that
    session_gate_audit's settings comparison applies to its own probe (capture_active)."""
    if not isinstance(mount, str) or not isinstance(fstypes, list):
        raise AnsibleFilterError('tmux_capture_mounted expects a path and a list of file system types, got %s and %s'
                                 % (type(mount).__name__, type(fstypes).__name__))
    return probe_mounted_as(probe, mount, fstypes)


class FilterModule(object):
    def filters(self):
        return {
            'tmux_autostart_uncovered': tmux_autostart_uncovered,
            'tmux_capture_mounted': tmux_capture_mounted,
            'tmux_controls': tmux_controls,
            'tmux_file_items': tmux_file_items,
            'tmux_gate_sshd_argvs': tmux_gate_sshd_argvs,
            'tmux_gate_sshd_check': tmux_gate_sshd_check,
            'tmux_lock_command': tmux_lock_command,
            'tmux_lock_command_problem': tmux_lock_command_problem,
        }
