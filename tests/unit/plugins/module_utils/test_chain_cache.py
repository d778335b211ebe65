# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""plugins/module_utils/chain_cache.py: when a cached verdict may stand, which entries are read again."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.ephi.safeguards.plugins.module_utils import chain_cache as cc
from ansible_collections.ephi.safeguards.tests.unit.plugins.module_utils.test_audit_chain import make


class Stat(object):
    def __init__(self, ino=7, size=0, mtime_ns=10, ctime_ns=20):
        self.st_ino, self.st_size, self.st_mtime_ns, self.st_ctime_ns = ino, size, mtime_ns, ctime_ns


def closed(count=8):
    lines, heads = make(count)
    return Stat(size=len(b''.join(lines))), heads


def test_an_entry_stands_only_for_the_same_stat_heads_and_final_size():
    st, heads = closed()
    entry = cc.entry_for(st, heads, 100.0)
    assert cc.reusable(entry, st, heads)
    assert cc.reusable(entry, st, list(reversed(heads)))  # the journal's order does not matter
    assert not cc.reusable(None, st, heads)
    for changed in (dict(ino=8), dict(mtime_ns=11), dict(ctime_ns=21)):
        other = Stat(**dict(dict(ino=7, size=st.st_size, mtime_ns=10, ctime_ns=20), **changed))
        assert not cc.reusable(entry, other, heads), changed
    # A head added, changed or lost (a rotated journal) reads the file again.
    assert not cc.reusable(entry, st, heads[1:])
    assert not cc.reusable(entry, st, heads + [dict(heads[-1], head='0' * 64)])
    assert not cc.reusable(entry, st, [dict(h, head='1' * 64) if h['seq'] == 1 else h for h in heads])
    # No final head (an open recording), or a size the final head does not cover: never from the cache.
    open_heads = [dict(h, final=False) for h in heads]
    assert not cc.reusable(cc.entry_for(st, open_heads, 100.0), st, open_heads)
    grown = Stat(size=st.st_size + 1)
    assert not cc.reusable(cc.entry_for(grown, heads, 100.0), grown, heads)
    assert not cc.reusable(entry, st, [])


def test_due_reads_the_oldest_share_so_each_is_read_within_runs_checks():
    entries = dict(('u/%02d.cast' % i, {'key': [i, 0, 0, 0], 'heads': 'x', 'at': 1000.0 - i}) for i in range(10))
    assert cc.due(entries, 3) == {'u/09.cast', 'u/08.cast', 'u/07.cast', 'u/06.cast'}  # ceil(10 / 3)
    assert cc.due(entries, 30) == {'u/09.cast'}
    assert cc.due(entries, 1) == set(entries)
    assert cc.due({}, 30) == set()
    # Rotating: read again, an entry gets a new time and the next run takes the next oldest ones.
    seen = set()
    now = 2000.0
    for _run in range(5):
        picked = cc.due(entries, 5)
        seen |= picked
        for rel in picked:
            entries[rel]['at'] = now
            now += 1
    assert seen == set(entries)


def test_parse_and_dump_round_trip_and_anything_else_is_empty():
    st, heads = closed()
    entries = {'bob/a.cast': cc.entry_for(st, heads, 5.5)}
    assert cc.parse(cc.dump(entries)) == entries
    for text in ('', 'not json', '[]', '{"version": 2, "entries": {}}', '{"version": 1, "entries": []}'):
        assert cc.parse(text) == {}, text
    # Entries of the wrong shape are dropped one by one.
    bad = '{"version": 1, "entries": {"a": {"key": [1, 2, 3], "heads": "x", "at": 1}, ' \
          '"b": {"key": [1, 2, 3, true], "heads": "x", "at": 1}, "c": {"key": [1, 2, 3, 4], "heads": 5, "at": 1}, ' \
          '"d": {"key": [1, 2, 3, 4], "heads": "x", "at": 1}}}'
    assert list(cc.parse(bad)) == ['d']


def test_a_rewrite_with_its_modification_time_set_back_still_changes_the_key(tmp_path):
    path = str(tmp_path / 'x.cast')
    with open(path, 'wb') as fh:
        fh.write(b'abc\n')
    st = os.lstat(path)
    before = cc.stat_key(st)
    time.sleep(0.05)  # past the kernel's coarse clock tick
    with open(path, 'r+b') as fh:
        fh.write(b'abd\n')  # same size, same inode
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = cc.stat_key(os.lstat(path))
    assert after[:3] == before[:3] and after[3] != before[3], (before, after)
