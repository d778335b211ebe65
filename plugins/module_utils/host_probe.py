# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Decisions of ephi.safeguards.host_probe, without I/O: what a role's later tasks would find
already in place, so that they can be skipped without a module run of their own.

Every decision errs towards "not in place": anything unknown, unreadable or
ambiguous lets the real task run and decide, so a skip can only save time,
never hide a change that was needed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import stat

# dpkg's package names; anything else (a version, an architecture, a glob, a
# virtual package) is never reported as installed, so its task runs.
_PACKAGE = re.compile(r'^[a-z0-9][a-z0-9+.-]+$')
_MODE = re.compile(r'^[0-7]{3,4}$')


def file_type(st_mode):
    """'file', 'directory', 'link' or 'other' of an lstat mode."""
    if stat.S_ISLNK(st_mode):
        return 'link'
    if stat.S_ISDIR(st_mode):
        return 'directory'
    return 'file' if stat.S_ISREG(st_mode) else 'other'


def path_facts(lst, owner, group):
    """The facts of one path from its lstat result and its owner's and group's names."""
    if lst is None:
        return {'exists': False}
    mode = stat.S_IMODE(lst.st_mode)
    return {
        'exists': True,
        'type': file_type(lst.st_mode),
        'uid': lst.st_uid,
        'gid': lst.st_gid,
        'owner': owner,
        'group': group,
        'mode': '%04o' % mode,
        'size': lst.st_size,
        'mtime': lst.st_mtime,
        'executable': stat.S_ISREG(lst.st_mode) and bool(mode & 0o111),
    }


_WANT_KEYS = ('path', 'state', 'owner', 'group', 'mode', 'checksum', 'digest')
_HEX = re.compile(r'^[0-9a-fA-F]+$')
# The digests a path's checksum may ask for (hashlib names).
CHECKSUMS = ('sha256', 'sha512')


def path_want_problem(want):
    """None when WANT (an entry of the paths option, a dictionary) is well formed, else what is wrong with it."""
    if not isinstance(want, dict):
        return 'each entry must be an absolute path or a dictionary with path, got %s' % type(want).__name__
    unknown = sorted(set(want) - set(_WANT_KEYS))
    if unknown:
        return 'unknown keys %s (known: %s)' % (', '.join(unknown), ', '.join(_WANT_KEYS))
    path = want.get('path')
    if not isinstance(path, str) or not path.startswith('/'):
        return 'path must be an absolute path, got %r' % (path,)
    if want.get('state') not in (None, 'file', 'directory'):
        return 'the state of %s must be file or directory, got %r' % (path, want['state'])
    for key in ('owner', 'group'):
        value = want.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int)) or str(value) == ''):
            return 'the %s of %s must be a name or a numeric id, got %r' % (key, path, value)
    mode = want.get('mode')
    if mode is not None and (not isinstance(mode, str) or not _MODE.match(mode)):
        return 'the mode of %s must be a quoted string of 3 or 4 octal digits, got %r' % (path, mode)
    if want.get('checksum') not in (None,) + CHECKSUMS:
        return 'the checksum of %s must be one of %s, got %r' % (path, ', '.join(CHECKSUMS), want['checksum'])
    digest = want.get('digest')
    if digest is not None and (not want.get('checksum') or not isinstance(digest, str) or not _HEX.match(digest)):
        return 'the digest of %s must be the hexadecimal %s of its content, with checksum set' % (
            path, want.get('checksum') or 'checksum')
    return None


def path_conforms(facts, want):
    """True when FACTS (path_facts) shows the path already as WANT says: its type ('file' or
    'directory', never a link), owner and group (a name or a numeric id, compared with both),
    mode (octal text) and content (WANT's digest, the hexadecimal checksum FACTS must have).
    Keys WANT leaves out are not compared."""
    if not facts.get('exists'):
        return False
    if want.get('state') and facts['type'] != want['state']:
        return False
    if facts['type'] == 'link':
        return False
    for key, id_key in (('owner', 'uid'), ('group', 'gid')):
        value = want.get(key)
        if value is None:
            continue
        if str(value) not in (facts[key], str(facts[id_key])):
            return False
    mode = want.get('mode')
    if mode is not None:
        if not isinstance(mode, str) or not _MODE.match(mode) or int(mode, 8) != int(facts['mode'], 8):
            return False
    digest = want.get('digest')
    if digest is not None and (not isinstance(facts.get('checksum'), str) or facts['checksum'] != str(digest).lower()):
        return False
    return True


def installed_packages(dpkg_output):
    """The names dpkg-query -W -f '${Package}\\t${db:Status-Abbrev}\\n' reports as installed
    (the second letter of the status is i: installed, also when held)."""
    found = set()
    for line in (dpkg_output or '').splitlines():
        name, sep, status = line.partition('\t')
        if sep and len(status) >= 2 and status[1] == 'i':
            found.add(name.strip())
    return found


def missing_packages(wanted, installed):
    """The packages of WANTED (in order, once each) that are not in INSTALLED. A name that is not
    a plain dpkg package name (a version pin, an architecture, a glob) is always missing."""
    missing = []
    for name in wanted:
        if name not in missing and (not _PACKAGE.match(name) or name not in installed):
            missing.append(name)
    return missing


def plain_package_names(wanted):
    """The names of WANTED that dpkg-query can be asked about."""
    return [name for name in wanted if _PACKAGE.match(name)]


# What host_probe asks systemctl about each unit (parse_units reads it).
UNIT_PROPERTIES = 'Id,LoadState,ActiveState,SubState,UnitFileState,NeedDaemonReload,ActiveEnterTimestampMonotonic'


def parse_units(show_output, names):
    """{unit: {load, active, sub, enabled, need_reload, active_since_us}} of `systemctl show
    --property=UNIT_PROPERTIES UNIT...` output, whose blocks (separated by empty lines) come in the
    order of NAMES. need_reload: the unit's file changed since systemd loaded it; active_since_us:
    when it last became active (CLOCK_MONOTONIC, microseconds; 0 when never). A unit without a block
    of its own gets empty values."""
    blocks, current = [], {}
    for line in (show_output or '').splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
            current = {}
            continue
        key, sep, value = line.partition('=')
        if sep:
            current.setdefault(key.strip(), value.strip())
    if current:
        blocks.append(current)
    units = {}
    for index, name in enumerate(names):
        block = blocks[index] if index < len(blocks) and len(blocks) == len(names) else {}
        since = block.get('ActiveEnterTimestampMonotonic', '')
        units[name] = {
            'load': block.get('LoadState', ''),
            'active': block.get('ActiveState', ''),
            'sub': block.get('SubState', ''),
            'enabled': block.get('UnitFileState', ''),
            'need_reload': block.get('NeedDaemonReload', '') == 'yes',
            'active_since_us': int(since) if since.isdigit() else 0,
        }
    return units


def unit_stale(facts, mtimes, now, now_monotonic):
    """True when an active unit does not run what is on disk: systemd has not re-read its changed
    unit file, or one of the files it runs (MTIMES, their modification times, None for a missing
    one) changed after it last became active. NOW and NOW_MONOTONIC are time.time() and
    time.monotonic() read together: they turn the unit's monotonic time into the files' clock.
    A run that wrote such files and stopped before the restart (a failed check between them) leaves
    the unit stale; the role's next run restarts it instead of finding nothing changed."""
    if facts.get('active') != 'active':
        return False
    if facts.get('need_reload'):
        return True
    since = facts.get('active_since_us') or 0
    if not since:
        return False
    started = now - (now_monotonic - since / 1e6)
    return any(mtime is not None and mtime > started for mtime in mtimes)


def unit_running(facts):
    """True when a unit is loaded, active and enabled: what systemd_service with enabled: true and
    state: started would leave as it is."""
    return (facts.get('load'), facts.get('active'), facts.get('enabled')) == ('loaded', 'active', 'enabled')


def unit_stopped(facts):
    """True when a unit is loaded, inactive and disabled: what systemd_service with enabled: false and
    state: stopped would leave as it is."""
    return (facts.get('load'), facts.get('active'), facts.get('enabled')) == ('loaded', 'inactive', 'disabled')


def line_matches(text, regexp):
    """True when a line of TEXT matches REGEXP (re.search, as ansible.builtin.lineinfile), None
    when TEXT is None (no such file)."""
    if text is None:
        return None
    pattern = re.compile(regexp)
    return any(pattern.search(line) for line in text.splitlines())


def line_in_place(data, regexp, line):
    """True when ansible.builtin.lineinfile (state present, REGEXP and LINE, no backrefs, the other
    options at their defaults) would leave DATA (the file's bytes) as it is: the last line that
    REGEXP finds (re.search over each line with its newline), or else the last line that is LINE,
    is exactly LINE and a newline. None when DATA is None (no such file, or one the probe does not
    read).

    Lines are split as lineinfile reads them (readlines: at \\n only), so a CRLF line is not in
    place (lineinfile would rewrite its ending)."""
    if data is None:
        return None
    raw = line.encode('utf-8', 'surrogateescape')
    wanted = raw
    if not wanted.endswith(b'\n'):
        wanted += b'\n'
    lines = [part + b'\n' for part in data.split(b'\n')]
    lines[-1] = lines[-1][:-1]  # what follows the last newline
    if not lines[-1]:
        lines.pop()
    pattern = re.compile(regexp.encode('utf-8', 'surrogateescape'))
    found = None
    for current in lines:
        if pattern.search(current):
            found = current
    if found is None:
        for current in lines:
            if current.rstrip(b'\r\n') == raw:
                found = current
    return found == wanted


def block_in_place(data, marker, block, begin='BEGIN', end='END'):
    """True when ansible.builtin.blockinfile (state present) with MARKER (holding {mark}) and BLOCK
    would leave DATA (the file's bytes) as it is: both marker lines are there, the BEGIN line
    before the END line (the last of each, as blockinfile finds them), around exactly BLOCK's
    lines. None when DATA is None (no such file, or one the probe does not read); False for an
    empty BLOCK (blockinfile would remove the markers).

    Lines are split as blockinfile splits bytes (\\n, \\r\\n, \\r), not as str.splitlines."""
    if data is None:
        return None
    if not block:
        return False
    first = (marker.replace('{mark}', begin) + '\n').encode('utf-8')
    last = (marker.replace('{mark}', end) + '\n').encode('utf-8')
    body = block.encode('utf-8')
    if not body.endswith(b'\n'):
        body += b'\n'
    wanted = [first] + body.splitlines(True) + [last]
    lines = data.splitlines(True)
    n0 = n1 = None
    for index, line in enumerate(lines):
        if line == first:
            n0 = index
        if line == last:
            n1 = index
    if n0 is None or n1 is None or n0 > n1:
        return False
    return lines[n0:n1 + 1] == wanted
