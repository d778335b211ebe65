# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The I/O of ephi.safeguards.host_probe, its options and their checks, so
that another read-only module can answer the same questions in its own run
(its option ``probe``, see ``attach`` and module_utils/riders.py) instead of
a module run of their own. The decisions are in
module_utils/host_probe.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import grp
import os
import pwd
import re
import time

from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.ephi.safeguards.plugins.module_utils import riders
from ansible_collections.ephi.safeguards.plugins.module_utils.mountinfo import mount_at, parse_mountinfo
from ansible_collections.ephi.safeguards.plugins.module_utils.names import group_name, user_name
from ansible_collections.ephi.safeguards.plugins.module_utils.regular_files import MAX_READ, file_digest, read_bytes
from ansible_collections.ephi.safeguards.plugins.module_utils.host_probe import (
    block_in_place, line_in_place,
    installed_packages, line_matches, missing_packages, parse_units, path_conforms, path_facts, path_want_problem,
    plain_package_names, unit_running, unit_stale, unit_stopped, UNIT_PROPERTIES)

MOUNTINFO = '/proc/self/mountinfo'

# host_probe's options; another module takes them as its option ``probe`` (a dict).
PROBE_SPEC = dict(
    paths=dict(type='list', elements='raw', default=[]),
    read=dict(type='list', elements='path', default=[]),
    mounts=dict(type='list', elements='path', default=[]),
    packages=dict(type='list', elements='str', default=[]),
    units=dict(type='list', elements='str', default=[]),
    unit_files=dict(type='dict', default={}),
    groups=dict(type='list', elements='str', default=[]),
    passwd=dict(type='bool', default=False),
    listings=dict(type='list', elements='path', default=[]),
    lines=dict(type='list', elements='dict', default=[], options=dict(
        path=dict(type='path', required=True),
        regexp=dict(type='str', required=True),
        line=dict(type='str'),
    )),
    commands=dict(type='list', elements='raw', default=[]),
    group_db=dict(type='bool', default=False),
    blocks=dict(type='list', elements='dict', default=[], options=dict(
        path=dict(type='path', required=True),
        marker=dict(type='str', required=True),
        block=dict(type='str', required=True),
    )),
)


class ProbeError(Exception):
    """The probe could not answer: invalid options, a program it needs failed or a file it cannot read."""


def _lstat(path):
    try:
        return os.lstat(to_bytes(path, errors='surrogate_or_strict'))
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise


def read_small(path):
    """The text of PATH, or None when it is missing or not a regular file (a link is not followed);
    larger than MAX_READ bytes is an error (a setting file that large is not what the role expects)."""
    data = read_bytes(path)
    if data is not None and len(data) > MAX_READ:
        raise ValueError('%s is larger than %d bytes' % (path, MAX_READ))
    return None if data is None else to_text(data, errors='surrogate_or_replace')


def read_or_none(path):
    """The bytes of PATH, or None when it is missing, not a regular file or larger than MAX_READ bytes
    (blocks and lines with a line: an answer of null lets the real task decide)."""
    data = read_bytes(path)
    return None if data is not None and len(data) > MAX_READ else data


def mtime_or_none(path):
    """When PATH (not followed if a link) was last modified, or None when there is no such file."""
    lst = _lstat(path)
    return lst.st_mtime if lst else None


def regular_file_names(path):
    """The names of the regular files in directory PATH, sorted (a symbolic link to a regular file counts, as
    ``os.path.isfile`` says: ssh_key_audit's ``store_users``), or None when PATH cannot be listed."""
    directory = to_bytes(path, errors='surrogate_or_strict')
    try:
        names = os.listdir(directory)
    except OSError:
        return None
    return sorted(to_text(name, errors='surrogate_or_strict') for name in names
                  if os.path.isfile(os.path.join(directory, name)))


def probe(module, params):
    result = {'paths': {}, 'contents': {}, 'mounts': {}, 'packages_missing': [], 'units': {},
              'units_running': [], 'units_stopped': [], 'units_stale': [], 'groups': {}, 'passwd': {}, 'group_db': {}, 'lines': [],
              'blocks': [], 'commands': [], 'listings': {}}
    for want in params['paths']:
        lst = _lstat(want['path'])
        facts = path_facts(lst, user_name(lst.st_uid), group_name(lst.st_gid)) if lst else path_facts(None, '', '')
        if want.get('checksum') and facts.get('type') == 'file':
            facts['checksum'] = file_digest(want['path'], want['checksum'])
        facts['conforms'] = path_conforms(facts, want)
        result['paths'][want['path']] = facts
    for path in params['read']:
        result['contents'][path] = read_small(path)
    for path in params['listings']:
        result['listings'][path] = regular_file_names(path)
    for entry in params['blocks']:
        data = read_or_none(entry['path'])
        result['blocks'].append({'path': entry['path'], 'in_place': block_in_place(data, entry['marker'], entry['block'])})
    for entry in params['lines']:
        answer = {'path': entry['path'], 'regexp': entry['regexp']}
        if entry.get('line') is None:
            answer['matched'] = line_matches(read_small(entry['path']), entry['regexp'])
        else:
            data = read_or_none(entry['path'])
            text = None if data is None else to_text(data, errors='surrogate_or_replace')
            answer.update(matched=line_matches(text, entry['regexp']),
                          in_place=line_in_place(data, entry['regexp'], entry['line']))
        result['lines'].append(answer)
    for argv in params['commands']:
        program = argv[0] if argv[0].startswith('/') else module.get_bin_path(argv[0])
        answer = {'argv': argv, 'rc': None, 'stdout': '', 'stderr': ''}
        if program and os.access(program, os.X_OK):
            answer['rc'], answer['stdout'], answer['stderr'] = module.run_command([program] + argv[1:])
        result['commands'].append(answer)
    if params['mounts']:
        with open(MOUNTINFO) as handle:
            mounts = parse_mountinfo(handle.read())
        for path in params['mounts']:
            entry = mount_at(mounts, path)
            result['mounts'][path] = entry['fstype'] if entry else ''
    if params['packages']:
        installed = set()
        dpkg_query = module.get_bin_path('dpkg-query')
        names = plain_package_names(params['packages'])
        if dpkg_query and names:
            # rc 1 when one of the names is unknown; the known ones are still listed.
            rc, out, err = module.run_command([dpkg_query, '-W', '-f', '${Package}\\t${db:Status-Abbrev}\\n'] + names)
            if rc not in (0, 1):
                raise ProbeError('dpkg-query failed (rc %d): %s' % (rc, err.strip()))
            installed = installed_packages(out)
        result['packages_missing'] = missing_packages(params['packages'], installed)
    units = params['units'] + [name for name in params['unit_files'] if name not in params['units']]
    if units:
        systemctl = module.get_bin_path('systemctl')
        out = ''
        if systemctl:
            rc, out, err = module.run_command([systemctl, 'show', '--property=' + UNIT_PROPERTIES, '--'] + units)
            if rc != 0:
                out = ''
        now, now_monotonic = time.time(), time.monotonic()
        result['units'] = parse_units(out, units)
        result['units_running'] = [name for name in params['units'] if unit_running(result['units'][name])]
        result['units_stopped'] = [name for name in params['units'] if unit_stopped(result['units'][name])]
        result['units_stale'] = [name for name, files in params['unit_files'].items()
                                 if unit_stale(result['units'][name], [mtime_or_none(path) for path in files],
                                               now, now_monotonic)]
    if params['passwd']:
        for entry in pwd.getpwall():
            result['passwd'].setdefault(entry.pw_name, [entry.pw_passwd, str(entry.pw_uid), str(entry.pw_gid),
                                                        entry.pw_gecos, entry.pw_dir, entry.pw_shell])
    if params['group_db']:
        for entry in grp.getgrall():
            result['group_db'].setdefault(entry.gr_name, [entry.gr_passwd, str(entry.gr_gid), ','.join(entry.gr_mem)])
    for name in params['groups']:
        try:
            result['groups'][name] = grp.getgrnam(name).gr_gid
        except KeyError:
            result['groups'][name] = None
    return result


def checked_params(params):
    """PARAMS (host_probe's options, validated against PROBE_SPEC) with each path made a dict, or a
    ProbeError naming the first problem."""
    wants = []
    for want in params['paths']:
        want = {'path': want} if isinstance(want, str) else want
        problem = path_want_problem(want)
        if problem:
            raise ProbeError('paths: %s' % problem)
        wants.append(want)
    for entry in params['lines']:
        try:
            re.compile(entry['regexp'])
        except re.error as exc:
            raise ProbeError('lines: the regexp for %s is not a regular expression: %s' % (entry['path'], exc))
    for unit, files in params['unit_files'].items():
        if not isinstance(files, list) or not all(isinstance(path, str) and path.startswith('/') for path in files):
            raise ProbeError('unit_files: %s must name a list of absolute paths, got %r' % (unit, files))
    for argv in params['commands']:
        if not isinstance(argv, list) or not argv or not all(isinstance(arg, str) for arg in argv) or not argv[0]:
            raise ProbeError('commands: each entry must be a non-empty list of strings, got %r' % (argv,))
    return dict(params, paths=wants)


def run_probe(module, params):
    """The probe's answers for PARAMS, or ProbeError (also for a file it cannot read)."""
    try:
        return probe(module, checked_params(params))
    except (OSError, ValueError) as exc:
        raise ProbeError(to_text(exc))


def attach(module, option='probe'):
    """Run the probe that MODULE's option OPTION asks for (host_probe's options as a dict), before
    the module's own work, and return its answers with every later exit_json and fail_json of MODULE
    as ``probe``, the way a registered host_probe result looks (module_utils/riders.py): its answers
    with ``changed`` false, or ``failed`` true and ``msg`` when it could not answer (invalid options
    too). Nothing when the option is not set."""
    return riders.attach(module, option, PROBE_SPEC, run_probe, (ProbeError,), 'host_probe')
