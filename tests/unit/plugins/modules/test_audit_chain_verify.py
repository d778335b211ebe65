# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""plugins/modules/audit_chain_verify.py: walking a store (both layouts), heads
from a file and from journalctl's JSON, the failures that are not verdicts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

import pytest

from ansible.module_utils import basic

from ansible_collections.ephi.safeguards.plugins.module_utils import chain_check, recording_files
from ansible_collections.ephi.safeguards.plugins.modules import audit_chain_verify as mod
from ansible_collections.ephi.safeguards.tests.unit.plugins.module_utils.test_audit_chain import make
from ansible_collections.ephi.safeguards.tests.unit.plugins.modules.utils import patch_exit_fail, run_main

NAMES = ['h-pty-%d.cast' % i for i in range(4)]


def event(head, host_path):
    return ('event=chain id=%s user=bob uid=1001 file=%s seq=%d n=%d bytes=%d head=%s final=%d' % (
        head['id'], host_path, head['seq'], head['n'], head['bytes'], head['head'], 1 if head['final'] else 0))


@pytest.fixture
def store(tmp_path, monkeypatch):
    """Four closed recordings of bob under tmp_path/store/bob and their chain events (host paths)."""
    patch_exit_fail(monkeypatch)
    root = tmp_path / 'store'
    (root / 'bob').mkdir(parents=True)
    events = []
    for name in NAMES:
        lines, heads = make(8, name=name)
        (root / 'bob' / name).write_bytes(b''.join(lines))
        events += [event(h, '%s/bob/%s' % (root, name)) for h in heads]
    return root, events


def run(args, check=True):
    return run_main(mod.main, args, check=check)


def test_heads_file_names_modified_truncated_deleted(store, tmp_path):
    root, events = store
    heads = tmp_path / 'heads.log'
    heads.write_text(''.join('Dec  5 18:00:00 h ephi-session[7]: %s\n' % e for e in events))
    bob = root / 'bob'
    data = bytearray((bob / NAMES[0]).read_bytes())
    data[-20] ^= 1
    (bob / NAMES[0]).write_bytes(bytes(data))
    (bob / NAMES[1]).write_bytes((bob / NAMES[1]).read_bytes()[:300])
    os.unlink(str(bob / NAMES[2]))
    (bob / 'unheaded.cast').write_bytes(make(2, name='unheaded.cast')[0][0])
    os.symlink(str(bob / NAMES[3]), str(bob / 'link.cast'))
    result = run({'path': str(root), 'heads_source': 'files', 'heads_files': [str(heads)]})
    assert result['changed'] is False and result['source'] == str(heads)
    by_name = dict((os.path.basename(f['path']), f) for f in result['files'])
    assert by_name[NAMES[0]]['status'] == 'modified' and by_name[NAMES[0]]['line'] > 1
    assert by_name[NAMES[1]]['status'] == 'truncated'
    assert by_name[NAMES[2]]['status'] == 'deleted' and by_name[NAMES[2]]['path'] == str(bob / NAMES[2])
    assert by_name['unheaded.cast']['status'] == 'unverified'
    assert NAMES[3] not in by_name and 'link.cast' not in by_name
    summary = result['summary']
    assert (summary['ok'], summary['bad'], summary['examined']) == (1, 4, 5), summary


def test_log_host_layout_and_list_all(store, tmp_path):
    root, events = store
    loghost = tmp_path / 'loghost'
    (loghost / 'lab-1').mkdir(parents=True)
    os.rename(str(root / 'bob'), str(loghost / 'lab-1' / 'bob'))
    heads = tmp_path / 'lab-1.log'
    heads.write_text('\n'.join(events))
    result = run({'path': str(loghost), 'heads_source': 'files', 'heads_files': [str(heads)], 'list_all': True})
    assert [f['status'] for f in result['files']] == ['ok'] * 4
    assert result['summary']['bad'] == 0


def test_heads_text_from_the_log_host(store):
    root, events = store
    bob = root / 'bob'
    (bob / NAMES[1]).write_bytes((bob / NAMES[1]).read_bytes()[:300])
    lines = ['2026-12-05T18:00:00.1+00:00 lab-1 ephi-session[7]: %s' % e for e in events]
    # A user's forged final head for a recording of its own, marked by the forwarder: not a head.
    forged = events[-1].replace('final=0', 'final=1')
    lines.append('2026-12-05T18:00:01.1+00:00 lab-1 ephi-session[9]: from-uid=1001 %s' % forged)
    result = run({'path': str(root), 'heads_source': 'text', 'heads_text': '\n'.join(lines), 'heads_label': 'loghost1'})
    assert result['source'] == 'loghost1' and result['heads'] == len(events)
    assert [(os.path.basename(f['path']), f['status']) for f in result['files']] == [(NAMES[1], 'truncated')]
    # No heads at all: every recording is unverified.
    result = run({'path': str(root), 'heads_source': 'text', 'heads_text': ''})
    assert result['summary']['unverified'] == 4 and result['source'] == 'the given heads'


def test_a_recording_without_heads_is_recent_only_within_recent_seconds(store, monkeypatch):
    root, events = store
    young, old = make(2, name='young.cast')[0], make(2, name='old.cast')[0]
    (root / 'bob' / 'young.cast').write_bytes(b''.join(young))
    (root / 'bob' / 'old.cast').write_bytes(b''.join(old))
    started = json.loads(young[0])['timestamp']
    monkeypatch.setattr(chain_check.time, 'time', lambda: started + 60)
    args = {'path': str(root), 'heads_source': 'text', 'heads_text': '\n'.join(events)}
    # Both headers carry the same start: 60 s ago.
    result = run(dict(args, recent_seconds=120))
    assert sorted(f['status'] for f in result['files']) == ['recent', 'recent'] and result['summary']['bad'] == 0
    result = run(dict(args, recent_seconds=30))
    assert sorted(f['status'] for f in result['files']) == ['unverified', 'unverified']
    # A header dated in the future (a forged recording hiding from the check) is never recent.
    monkeypatch.setattr(chain_check.time, 'time', lambda: started - 3600)
    result = run(dict(args, recent_seconds=120))
    assert sorted(f['status'] for f in result['files']) == ['unverified', 'unverified']
    result = run(args)
    assert result['summary']['unverified'] == 2


def test_journal_heads_trusted_and_forged(store, monkeypatch):
    root, events = store
    lines = [json.dumps({'MESSAGE': e, '_UID': '0', '_SYSTEMD_UNIT': 'ephi-session-recorder.service'})
             for e in events]
    # The user's `logger -t ephi-session` claiming a head for a changed file.
    lines.append(json.dumps({'MESSAGE': events[0].replace('seq=0', 'seq=99'), '_UID': '1001'}))
    lines.append(json.dumps({'MESSAGE': 'event=chain id=x file=/elsewhere/bob/x.cast seq=0 n=1 bytes=1 head=%s final=0'
                             % ('0' * 64), '_UID': '0', '_SYSTEMD_UNIT': 'ephi-session-recorder.service'}))
    calls = []

    def run_command(self, argv, **kwargs):
        calls.append(argv)
        return 0, '\n'.join(lines) + '\n', ''
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, name, required=False: '/bin/journalctl')
    result = run({'path': str(root)})
    assert len(calls) == 1 and 'SYSLOG_IDENTIFIER=ephi-session' in calls[0] and '--merge' in calls[0]
    assert result['summary']['ok'] == 4 and result['summary']['bad'] == 0, result
    assert result['ignored'] == 1 and result['heads'] == len(events) and result['source'] == 'journal'
    # A volatile journal after a reboot: no heads, and its oldest event is later than the recordings.
    lines[:] = [json.dumps({'MESSAGE': 'event=session-start id=x', '__REALTIME_TIMESTAMP': '9000000000000000'})]
    result = run({'path': str(root)})
    assert result['summary']['expired'] == 4 and result['summary']['bad'] == 0 and result['heads_since'] == 9e9
    lines[:] = []
    result = run({'path': str(root)})
    assert result['summary']['unverified'] == 4 and result['heads_since'] is None


def test_journal_unreadable_and_store_missing(store, monkeypatch, tmp_path):
    root, _events = store
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', lambda self, argv, **kw: (1, '', 'Permission denied'))
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, name, required=False: '/bin/journalctl')
    result = run({'path': str(root)})
    assert result['failed'] and 'journal could not be read' in result['msg'] and 'Permission denied' in result['msg']
    result = run({'path': str(tmp_path / 'none'), 'heads_source': 'files', 'heads_files': [str(tmp_path / 'x')]})
    assert result['failed'] and 'not a directory' in result['msg']
    result = run({'path': str(root), 'heads_source': 'files', 'heads_files': [str(tmp_path / 'x')]})
    assert result['failed'] and 'cannot read the heads file' in result['msg']
    result = run({'path': str(root), 'heads_source': 'files'})
    assert result['failed'] and 'needs heads_files' in result['msg']


def test_long_lines_are_read_in_pieces(tmp_path, monkeypatch):
    monkeypatch.setattr(recording_files, 'PIECE', 7)
    path = tmp_path / 'x.cast'
    path.write_bytes(b'0123456789abcdef\nxy\nlast')
    assert list(chain_check.pieces(str(path))) == [b'0123456', b'789abcd', b'ef\n', b'xy\n', b'last']


def journal(monkeypatch, events):
    """journalctl answering with EVENTS as root's recorder wrote them; the list can be changed later."""
    lines = [json.dumps({'MESSAGE': e, '_UID': '0', '_SYSTEMD_UNIT': 'ephi-session-recorder.service'}) for e in events]
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', lambda self, argv, **kw: (0, '\n'.join(lines) + '\n', ''))
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, name, required=False: '/bin/journalctl')
    return lines


def test_cache_skips_unchanged_recordings_and_still_names_a_changed_one(store, monkeypatch):
    root, events = store
    journal(monkeypatch, events)
    cache = root / '.ephi-chain-verified.json'
    args = {'path': str(root), 'cache': True, 'cache_rehash_runs': 1000}
    # Check mode reads everything and writes no cache.
    result = run(args)
    assert result['summary']['ok'] == 4 and result['cache']['written'] is False and not cache.exists()
    result = run(args, check=False)
    assert result['summary']['ok'] == 4 and result['summary']['cached'] == 0 and result['cache']['written']
    assert oct(os.stat(str(cache)).st_mode & 0o777) == '0o600' and os.stat(str(cache)).st_uid == os.geteuid()
    assert sorted(json.loads(cache.read_text())['entries']) == ['bob/' + n for n in NAMES]
    # Unchanged: one of them (1/1000 of 4, rounded up) read again, the rest from the cache, in check mode too.
    result = run(args)
    assert result['summary']['cached'] == 3 and result['cache']['reread'] == 1 and result['summary']['ok'] == 4
    # The store named with a trailing slash: the same entries.
    assert run(dict(args, path=str(root) + '/'))['summary']['cached'] == 3
    cached = [f for f in run(dict(args, list_all=True))['files'] if f['cached']]
    assert len(cached) == 3 and all(f['status'] == 'ok' and f['final'] and 'unchanged since' in f['detail']
                                    for f in cached)
    # Root rewrites one byte of each recording and sets its modification time back: the change time moved,
    # so every one is read again and named.
    for name in NAMES:
        path = str(root / 'bob' / name)
        st = os.lstat(path)
        data = bytearray(open(path, 'rb').read())
        data[-20] ^= 1
        time.sleep(0.02)
        with open(path, 'r+b') as fh:
            fh.write(bytes(data))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert os.lstat(path).st_size == st.st_size and os.lstat(path).st_mtime_ns == st.st_mtime_ns
    result = run(args, check=False)
    assert result['summary']['cached'] == 0 and result['summary']['modified'] == 4, result['summary']
    # A modified recording is never cached: the next check reads and names it again.
    assert json.loads(cache.read_text())['entries'] == {}
    assert run(args)['summary']['modified'] == 4


def test_cache_follows_the_heads_and_forgets_deleted_recordings(store, monkeypatch):
    root, events = store
    lines = journal(monkeypatch, events)
    cache = root / '.ephi-chain-verified.json'
    args = {'path': str(root), 'cache': True, 'cache_rehash_runs': 1000}
    run(args, check=False)
    # The journal lost the heads of NAMES[0] (rotated): read again, not taken from the cache.
    lines[:] = [line for line in lines if NAMES[0] not in line]
    result = run(dict(args, list_all=True), check=False)
    by_name = dict((os.path.basename(f['path']), f) for f in result['files'])
    assert not by_name[NAMES[0]]['cached'] and by_name[NAMES[0]]['status'] == 'unverified'
    assert 'bob/' + NAMES[0] not in json.loads(cache.read_text())['entries']
    os.unlink(str(root / 'bob' / NAMES[1]))
    run(args, check=False)
    assert sorted(json.loads(cache.read_text())['entries']) == ['bob/' + n for n in NAMES[2:]]


def test_cache_not_roots_or_writable_by_others_is_ignored_and_replaced(store, monkeypatch, tmp_path):
    root, events = store
    journal(monkeypatch, events)
    cache = root / '.ephi-chain-verified.json'
    args = {'path': str(root), 'cache': True, 'cache_rehash_runs': 1000}
    run(args, check=False)
    text = cache.read_text()
    os.chmod(str(cache), 0o666)
    result = run(args)
    assert result['summary']['cached'] == 0 and 'mode 0666' in result['cache']['ignored']
    result = run(args, check=False)
    assert result['cache']['written'] and oct(os.stat(str(cache)).st_mode & 0o777) == '0o600'
    # A link in its place: not followed, ignored, replaced by a file (the link's target untouched).
    target = tmp_path / 'elsewhere.json'
    target.write_text(text)
    os.unlink(str(cache))
    os.symlink(str(target), str(cache))
    result = run(args, check=False)
    assert result['summary']['cached'] == 0 and 'not a regular file' in result['cache']['ignored']
    assert not os.path.islink(str(cache)) and target.read_text() == text
    # Only with the local journal; a bad rotation is refused.
    result = run({'path': str(root), 'cache': True, 'heads_source': 'text', 'heads_text': '\n'.join(events)})
    assert result['failed'] and 'only with heads_source=journal' in result['msg']
    result = run(dict(args, cache_rehash_runs=0))
    assert result['failed'] and 'at least 1' in result['msg']
