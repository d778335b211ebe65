# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The hosts' short local buffer of session recordings (issue 14): which
recordings may go once the log host holds an identical copy. Pure functions;
the module ephi.safeguards.recording_buffer does the I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

from ansible_collections.ephi.safeguards.plugins.module_utils.audit_chain import file_chain

# <user>/<file>.cast as the log host accepts them (roles/log_host's rsyslog rules).
REL = re.compile(r'^[a-z_][a-z0-9_.-]{0,31}/[A-Za-z0-9][A-Za-z0-9_.:+-]{0,200}[.]cast$')
HEX = re.compile(r'^[0-9a-f]{64}$')
# The recorder's last line: [<t>, "m", "ephi-end reason=... bytes=..."].
END = re.compile(br'^\[[0-9.e+-]+, "m", "ephi-end reason=[^"]*"\]$')


def closed(tail):
    """Whether TAIL (the file's last bytes) ends with the recorder's end line: the session is over."""
    lines = tail.rstrip(b'\n').rsplit(b'\n', 1)
    return tail.endswith(b'\n') and bool(END.match(lines[-1]))


def rel_name(user, name):
    """'<user>/<name>' when both are names the log host stores, else None."""
    rel = '%s/%s' % (user, name)
    return rel if REL.match(rel) and '..' not in rel else None


def parse_confirmed(lines):
    """{'<user>/<name>': sha256} from the log host's '<sha256> <user>/<name>' lines (others ignored)."""
    confirmed = {}
    for line in lines or []:
        parts = line.split()
        if len(parts) == 2 and HEX.match(parts[0]) and REL.match(parts[1]):
            confirmed[parts[1]] = parts[0]
    return confirmed


def digest(name, pieces):
    """(sha256 hex of the bytes, lines, bytes, final chain head hex) of the recording NAME in one pass."""
    whole = hashlib.sha256()

    def fed():
        for piece in pieces:
            whole.update(piece)
            yield piece
    lines, size, head = file_chain(name, fed())
    return whole.hexdigest(), lines, size, head


def prune_message(path, lines, size, head, sha256):
    """The content-free event logged (as root, identifier ephi-session) before a recording is deleted."""
    return 'event=pruned file=%s n=%d bytes=%d head=%s sha256=%s' % (path, lines, size, head, sha256)
