# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""plugins/modules/recording_buffer.py: which recordings are candidates, that only those the log host
holds identically go, each after its prune event, and that the chain check then calls them pruned."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import time

import pytest

from ansible_collections.ephi.safeguards.plugins.module_utils import audit_chain as ac
from ansible_collections.ephi.safeguards.plugins.modules import audit_chain_verify as verify_mod
from ansible_collections.ephi.safeguards.plugins.modules import recording_buffer as mod
from ansible_collections.ephi.safeguards.tests.unit.plugins.module_utils.test_audit_chain import make
from ansible_collections.ephi.safeguards.tests.unit.plugins.modules.utils import patch_exit_fail, run_main

END = b'[9.0, "m", "ephi-end reason=exit bytes=42"]\n'
OLD = time.time() - 40 * 86400


def write(path, lines, mtime=OLD):
    path.write_bytes(b''.join(lines))
    os.utime(str(path), (mtime, mtime))
    return hashlib.sha256(b''.join(lines)).hexdigest()


@pytest.fixture
def store(tmp_path, monkeypatch):
    """tmp_path/store with bob's recordings: old-1 and old-2 closed and 40 days old, open (no end
    line), new (closed, today), a link, one owned by a user, the forwarder's dot directory, and
    a user-owned directory of old closed recordings. {rel: sha256} of old-1/2."""
    patch_exit_fail(monkeypatch)
    logged = []
    monkeypatch.setattr(mod, 'log_event', logged.append)
    root = tmp_path / 'store'
    bob = root / 'bob'
    bob.mkdir(parents=True)
    (root / '.ephi-log-forward').mkdir()
    sums = {}
    for name in ('old-1.cast', 'old-2.cast'):
        sums['bob/' + name] = write(bob / name, make(5, name=name, final=False)[0] + [END])
    write(bob / 'open.cast', make(5, name='open.cast', final=False)[0])
    write(bob / 'new.cast', make(5, name='new.cast', final=False)[0] + [END], mtime=time.time())
    write(root / '.ephi-log-forward' / 'q.cast', [END])
    os.symlink(str(bob / 'old-1.cast'), str(bob / 'link.cast'))
    write(bob / 'planted.cast', make(5, name='planted.cast', final=False)[0] + [END])
    os.chown(str(bob / 'planted.cast'), 1001, 1001)
    (root / 'eve').mkdir()
    write(root / 'eve' / 'old.cast', make(5, name='old.cast', final=False)[0] + [END])
    os.chown(str(root / 'eve'), 1001, 1001)
    return root, sums, logged


def run(args, check=False):
    return run_main(mod.main, args, check=check)


def test_lists_closed_old_recordings_only(store):
    root, sums, logged = store
    result = run({'path': str(root), 'keep_days': 30})
    assert not result['changed'] and logged == []
    assert [(c['rel'], c['sha256']) for c in result['candidates']] == sorted(sums.items())
    assert run({'path': str(root), 'keep_days': 30, 'limit': 1})['candidates'][0]['rel'] == 'bob/old-1.cast'
    assert run({'path': str(root), 'keep_days': 50})['candidates'] == []
    assert run({'path': str(root / 'missing'), 'keep_days': 30})['candidates'] == []
    assert run({'path': str(root), 'keep_days': 0}).get('failed')


def test_prunes_only_identical_copies_after_the_event(store):
    root, sums, logged = store
    confirmed = ['%s bob/old-1.cast' % sums['bob/old-1.cast'], '%s bob/old-2.cast' % ('0' * 64)]
    checked = run({'path': str(root), 'keep_days': 30, 'state': 'pruned', 'confirmed': confirmed}, check=True)
    assert checked['changed'] and checked['pruned'] == ['bob/old-1.cast'] and logged == []
    assert (root / 'bob' / 'old-1.cast').exists()
    result = run({'path': str(root), 'keep_days': 30, 'state': 'pruned', 'confirmed': confirmed})
    assert result['changed'] and result['pruned'] == ['bob/old-1.cast'] and result['kept'] == 1
    assert not (root / 'bob' / 'old-1.cast').exists() and (root / 'bob' / 'old-2.cast').exists()
    assert len(logged) == 1 and logged[0].startswith('event=pruned file=%s/bob/old-1.cast n=7 ' % root)
    # Nothing left to do: the same run again changes nothing.
    assert not run({'path': str(root), 'keep_days': 30, 'state': 'pruned', 'confirmed': confirmed})['changed']


def test_the_chain_check_calls_the_pruned_recording_pruned(store, tmp_path):
    root, sums, logged = store
    lines = make(5, name='old-1.cast', final=False)[0] + [END]
    count, size, head = ac.file_chain('old-1.cast', iter(lines))
    chain_event = ('event=chain id=1 user=bob uid=1001 file=%s/bob/old-1.cast seq=0 n=%d bytes=%d head=%s final=1'
                   % (root, count, size, head))
    confirmed = ['%s bob/old-1.cast' % sums['bob/old-1.cast']]
    run({'path': str(root), 'keep_days': 30, 'state': 'pruned', 'confirmed': confirmed})
    heads = tmp_path / 'events.log'
    heads.write_text('h ephi-session[1]: %s\n' % chain_event)
    args = {'path': str(root), 'heads_source': 'files', 'heads_files': [str(heads)], 'list_all': True}
    deleted = run_main(verify_mod.main, args, check=True)
    assert [f['status'] for f in deleted['files'] if f['path'].endswith('old-1.cast')] == ['deleted']
    heads.write_text('h ephi-session[1]: %s\nh ephi-session[2]: %s\n' % (chain_event, logged[0]))
    result = run_main(verify_mod.main, args, check=True)
    assert [f['status'] for f in result['files'] if f['path'].endswith('old-1.cast')] == ['pruned']
    assert result['summary']['pruned'] == 1
