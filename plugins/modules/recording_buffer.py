#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: recording_buffer
short_description: Keep a short local buffer of session recordings the log host holds identical copies of
version_added: 1.1.0
author: ephi.safeguards maintainers (@ephi-safeguards)
description:
  - A host that ships its session recordings to the central log host (role C(ephi.safeguards.log_forward))
    need not keep them for the whole retention. This module lists the closed recordings older than
    O(keep_days) in C(<path>/<user>/*.cast) with their SHA-256 (O(state=listed)), and deletes those
    whose copy on the log host has the same SHA-256 (O(state=pruned), with O(confirmed) read there by a
    delegated task). A recording is closed when its last line is the recorder's end event.
  - Before each deletion it logs a content-free root event (syslog identifier C(ephi-session), facility
    authpriv) C(event=pruned file=... n=... bytes=... head=... sha256=...) naming the recording's final
    chain head. The chain checks (M(ephi.safeguards.audit_chain_verify)) take a recording with heads, no
    file and such an event naming its final head as V(pruned) instead of V(deleted).
  - Only root's directories and files are candidates (the recorder keeps them root-owned); symbolic links
    are not followed; files are read as a stream. A missing O(path) (the encrypted
    directory not made yet, e.g. check mode on a new host) has no candidates. Supports check mode
    (reports what it would delete) and diff mode (none).
options:
  path:
    description:
      - The recordings' directory (the encrypted directory), holding C(<user>/*.cast).
    type: path
    required: true
  keep_days:
    description:
      - Recordings last written less than this many days ago stay.
    type: int
    required: true
  state:
    description:
      - V(listed) only lists the candidates (read-only, C(changed) is V(false)); V(pruned) deletes the
        candidates that O(confirmed) names with the same SHA-256.
    type: str
    choices: [listed, pruned]
    default: listed
  confirmed:
    description:
      - With O(state=pruned), lines C(<sha256> <user>/<file>.cast) computed on the log host over its copies.
    type: list
    elements: str
    default: []
  limit:
    description:
      - At most this many candidates, the oldest first (one run's work; the next run takes the next ones).
    type: int
    default: 1000
'''

EXAMPLES = r'''
- name: List the recordings older than the local buffer
  ephi.safeguards.recording_buffer:
    path: /var/log/ephi
    keep_days: 30
  register: old_recordings
'''

RETURN = r'''
candidates:
  description: The closed recordings older than O(keep_days) - C(rel) (C(<user>/<file>)), C(sha256), C(bytes).
  returned: always
  type: list
  elements: dict
pruned:
  description: The C(rel) names deleted (in check mode, those that would be).
  returned: always
  type: list
  elements: str
kept:
  description: Candidates left because the log host did not show an identical copy.
  returned: always
  type: int
'''

import os
import syslog
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.ephi.safeguards.plugins.module_utils.recording_buffer import (
    closed, digest, parse_confirmed, prune_message, rel_name)
from ansible_collections.ephi.safeguards.plugins.module_utils.recording_files import open_regular, read_pieces

TAIL = 1 << 16


def log_event(message):
    """A content-free root event, identifier ephi-session, facility authpriv (shipped like the recorder's)."""
    syslog.openlog('ephi-session', 0, syslog.LOG_AUTHPRIV)
    syslog.syslog(syslog.LOG_INFO, message)


def examine(path, name):
    """(sha256, lines, bytes, head) of the recording when it is closed, else None."""
    with os.fdopen(open_regular(path), 'rb') as fh:
        size = os.fstat(fh.fileno()).st_size
        fh.seek(max(0, size - TAIL))
        if not closed(fh.read()):
            return None
        fh.seek(0)
        return digest(name, read_pieces(fh))


def candidates(root, older_than, limit):
    """[(path, rel, (sha256, lines, bytes, head))] of the LIMIT oldest closed recordings last written
    before OLDER_THAN. Only root's: the recorder keeps every user directory and recording root-owned,
    and this runs as root, so a directory or file anyone else owns is left alone, never deleted in."""
    old = []
    with os.scandir(root) as users:
        for user in users:
            if (user.name.startswith('.') or not user.is_dir(follow_symlinks=False)
                    or user.stat(follow_symlinks=False).st_uid != 0):
                continue
            with os.scandir(user.path) as entries:
                for entry in entries:
                    rel = rel_name(user.name, entry.name)
                    if rel is None or not entry.is_file(follow_symlinks=False):
                        continue
                    info = entry.stat(follow_symlinks=False)
                    if info.st_uid == 0 and info.st_mtime < older_than:
                        old.append((info.st_mtime, entry.path, rel, entry.name))
    found = []
    for _mtime, path, rel, name in sorted(old):
        facts = examine(path, name) if len(found) < limit else None
        if facts is not None:
            found.append((path, rel, facts))
    return found


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            keep_days=dict(type='int', required=True),
            state=dict(type='str', choices=['listed', 'pruned'], default='listed'),
            confirmed=dict(type='list', elements='str', default=[]),
            limit=dict(type='int', default=1000),
        ),
        supports_check_mode=True,
    )
    params = module.params
    root = params['path']
    if params['keep_days'] < 1 or params['limit'] < 1:
        module.fail_json(msg='keep_days and limit must be at least 1, got %d and %d' % (params['keep_days'], params['limit']))
    if not os.path.lexists(root):
        module.exit_json(changed=False, candidates=[], pruned=[], kept=0)
    if not os.path.isdir(root) or os.path.islink(root):
        module.fail_json(msg='the recordings directory %s is not a directory' % root)
    try:
        found = candidates(root, time.time() - params['keep_days'] * 86400, params['limit'])
    except OSError as exc:
        module.fail_json(msg='cannot read the recordings in %s: %s' % (root, to_native(exc)))
    listed = [{'rel': rel, 'sha256': facts[0], 'bytes': facts[2]} for _path, rel, facts in found]
    if params['state'] == 'listed':
        module.exit_json(changed=False, candidates=listed, pruned=[], kept=len(listed))
    confirmed = parse_confirmed(params['confirmed'])
    pruned = []
    for path, rel, (sha256, lines, size, head) in found:
        if confirmed.get(rel) != sha256 or head is None:
            continue
        pruned.append(rel)
        if module.check_mode:
            continue
        # The event first: a recording whose deletion then failed is still
        # there and verified as usual; one deleted without its event would
        # count as deleted.
        log_event(prune_message(path, lines, size, head, sha256))
        try:
            os.unlink(path)
        except OSError as exc:
            module.fail_json(msg='cannot delete %s: %s' % (path, to_native(exc)), pruned=pruned[:-1])
    module.exit_json(changed=bool(pruned), candidates=listed, pruned=pruned, kept=len(listed) - len(pruned))


if __name__ == '__main__':
    main()
