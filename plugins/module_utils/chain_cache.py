# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The chain check's cache of closed recordings found intact (audit_chain_verify's ``cache``): pure functions.

Without it every verify reads every recording of the store again (1 200-2 200
recordings a second here), and a store grows for as long as the host records.
An entry says: the recording at this path (relative to the store), with this
inode, size, modification and change time (nanoseconds), matched these chain
heads (a digest of them), with a final head, when it was last read. A later
check takes the entry's verdict (ok) without reading the file only when all of
that is still true: the same stat, the same heads from the same source, and
the size the final head covers. Anything else, or an entry chosen for its
rotating re-read, reads the file as before.

What it trusts, and why that is enough only for the local check: writing a
file changes its modification and change time, and only root (or the kernel's
clock, set by root) can set a change time back; only root can write the store
and the cache (the module refuses a cache that is not its own or that others
may write). Root is not an adversary this check can catch anyway (it reads the
heads from this host's journal, which root can rewrite). A check whose heads
come from elsewhere (the log host) is there to catch root on this host, so it
takes no cache. What a stat cannot show, a block that rots on the disk with
its times unchanged, the rotating re-read finds: every verify reads again the
entries read longest ago, a 1/cache_rehash_runs share of them (due()), so
every cached recording is read in full at least once in that many checks.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

VERSION = 1
# The cache's file name in the store's top directory (the chain check reads only *.cast files one and two
# levels below it).
CACHE_NAME = '.ephi-chain-verified.json'


def stat_key(st):
    """The part of an os.stat_result that changes when a file's content is written."""
    return [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def heads_digest(heads):
    """A digest of a recording's chain heads (head_of dicts, any order, duplicates kept)."""
    rows = sorted('%d %d %d %s %d %s' % (h['seq'], h['n'], h['bytes'], h['head'], 1 if h['final'] else 0, h.get('file', ''))
                  for h in heads)
    return hashlib.sha256('\n'.join(rows).encode('utf-8', 'surrogateescape')).hexdigest()


def parse(text):
    """{relative path: entry} of a cache file's TEXT; {} for anything that is not this version's cache."""
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(data, dict) or data.get('version') != VERSION or not isinstance(data.get('entries'), dict):
        return {}
    entries = {}
    for rel, entry in data['entries'].items():
        if isinstance(entry, dict) and isinstance(entry.get('key'), list) and len(entry['key']) == 4 \
                and all(isinstance(v, int) and not isinstance(v, bool) for v in entry['key']) \
                and isinstance(entry.get('heads'), str) and isinstance(entry.get('at'), (int, float)):
            entries[rel] = {'key': entry['key'], 'heads': entry['heads'], 'at': entry['at']}
    return entries


def dump(entries):
    """The text of a cache file holding ENTRIES."""
    return json.dumps({'version': VERSION, 'entries': entries}, sort_keys=True, separators=(',', ':'))


def due(entries, runs):
    """The relative paths of ENTRIES this check reads again although unchanged: the ceil(len / RUNS)
    read longest ago (ties by path), so that each is read at least once in RUNS checks."""
    if not entries:
        return set()
    count = -(-len(entries) // max(int(runs), 1))
    return set(sorted(entries, key=lambda rel: (entries[rel]['at'], rel))[:count])


def final_head(heads):
    """The head of HEADS with the highest seq when it is final, else None."""
    if not heads:
        return None
    last = max(heads, key=lambda h: (h['seq'], h['n']))
    return last if last['final'] else None


def reusable(entry, st, heads):
    """Whether ENTRY's verdict (ok) holds for a file with stat ST and chain HEADS without reading it."""
    final = final_head(heads)
    return (entry is not None and final is not None and entry['key'] == stat_key(st)
            and final['bytes'] == st.st_size and entry['heads'] == heads_digest(heads))


def entry_for(st, heads, now):
    """The entry for a recording with stat ST (taken before it was read) that the check found ok with HEADS."""
    return {'key': stat_key(st), 'heads': heads_digest(heads), 'at': now}
