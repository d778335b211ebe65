# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The mount table (/proc/self/mountinfo), without I/O: parsed, the mount at or holding a path, and
whether host_probe's answer shows a path mounted with a given file system type.

A module of its own so that modules needing only this (ephi.safeguards.host_probe, in every
role) do not carry encrypted_logs.py in their payload (issue 15)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

_OCTAL_ESCAPE = re.compile(r'\\([0-7]{3})')


def unescape_mount_field(field):
    """Undo the kernel's octal escapes (space, tab, newline, backslash) of /proc/*/mountinfo."""
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text):
    """Entries of /proc/self/mountinfo, in order (later entries are mounted on top).

    Each entry: dict(mount_id, parent_id, major, minor, root, mount_point,
    fstype, source). Malformed lines raise ValueError: a mount table that
    cannot be read is not evidence.
    """
    mounts = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = line.split(' ')
        try:
            sep = fields.index('-', 6)
            major, minor = fields[2].split(':')
            mounts.append({
                'mount_id': int(fields[0]),
                'parent_id': int(fields[1]),
                'major': int(major),
                'minor': int(minor),
                'root': unescape_mount_field(fields[3]),
                'mount_point': unescape_mount_field(fields[4]),
                'fstype': fields[sep + 1],
                'source': unescape_mount_field(fields[sep + 2]),
            })
        except (ValueError, IndexError):
            raise ValueError('malformed mountinfo line: %r' % line[:200])
    return mounts


def mount_at(mounts, path):
    """The visible (topmost, last listed) mount whose mount point is exactly path, or None."""
    found = None
    for entry in mounts:
        if entry['mount_point'] == path:
            found = entry
    return found


def mount_containing(mounts, path):
    """The mount that holds path (longest mount point prefix, topmost), as findmnt --target."""
    best = None
    for entry in mounts:
        point = entry['mount_point']
        if path == point or point == '/' or path.startswith(point.rstrip('/') + '/'):
            if best is None or len(point) >= len(best['mount_point']):
                best = entry
    return best


def probe_mounted_as(probe, path, fstypes):
    """Whether PROBE (host_probe's answer, whose ``mounts`` maps the mount points it was asked about
    to their file system types) shows PATH mounted with one of FSTYPES. A failed or missing answer
    shows nothing mounted."""
    if not isinstance(probe, dict) or probe.get('failed'):
        return False
    return (probe.get('mounts') or {}).get(path) in fstypes
