# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""module_utils/audit_chain.py: the chain, the heads, the verdicts; and that the
recorder's own Chain (roles/tmux/files/ephi-session-recorder) makes the heads
this verifier accepts, through a real Session writing a real file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import os

import pytest

from ansible_collections.ephi.safeguards.plugins.module_utils import audit_chain as ac
from ansible_collections.ephi.safeguards.tests.unit.roles.session_programs import RECORDER_PATH, load

rec = load('ephi_session_recorder', RECORDER_PATH)

NAME = 'lab-1-pty-20261205T180000.000000Z-0011223344556677.cast'
HEADER = b'{"version":2,"width":80,"height":24,"timestamp":1,"env":{"TERM":"xterm"},' \
         b'"ephi":{"id":"0011223344556677","chain":"ephi-chain-v1"}}\n'


def make(count, name=NAME, every=3, final=True, header=HEADER):
    """(lines, heads): a recording of COUNT output lines with a head every EVERY lines (seq 0 after the header)."""
    lines = [header] + [('[%d.5, "o", "line %d\\r\\n"]\n' % (i, i)).encode() for i in range(count)]
    heads = []
    head = ac.chain_start(name, header)
    size = len(header)

    def emit(n, last=False):
        heads.append({'file': '/var/log/ephi/bob/' + name, 'name': name, 'id': '0011223344556677',
                      'seq': len(heads), 'n': n, 'bytes': size, 'head': head.hex(), 'final': last})
    emit(1)
    for number, line in enumerate(lines[1:], 2):
        head = ac.chain_step(head, line)
        size += len(line)
        if number % every == 0 and number != len(lines):
            emit(number)
    if final:
        emit(len(lines), True)
    return lines, heads


def verify(lines, heads, name=NAME):
    return ac.verify_recording(name, iter(lines), heads)


def test_chain_start_binds_the_name_and_step_chains():
    assert ac.chain_start('a.cast', b'h\n') != ac.chain_start('b.cast', b'h\n')
    assert ac.chain_start(b'a.cast', b'h\n') == ac.chain_start('a.cast', b'h\n')
    first = ac.chain_start('a.cast', b'h\n')
    assert ac.chain_step(first, b'x\n') != ac.chain_step(first, b'y\n')
    assert len(ac.chain_step(first, b'x\n')) == 32


def test_untouched_recording_is_ok():
    lines, heads = make(10)
    result = verify(lines, heads)
    assert result['status'] == 'ok', result
    assert (result['lines'], result['bytes'], result['final']) == (11, sum(map(len, lines)), True)
    assert result['line'] is None and result['bad_chunks'] == 0


def test_pieces_of_a_long_line_are_one_line():
    lines, heads = make(4, every=100)
    pieces = [lines[0]] + [p for line in lines[1:] for p in (line[:5], line[5:])]
    assert ac.verify_recording(NAME, iter(pieces), heads)['status'] == 'ok'


def test_one_byte_changed_names_the_chunk():
    lines, heads = make(10)
    lines[4] = lines[4].replace(b'line 3', b'line X')
    result = verify(lines, heads)
    assert result['status'] == 'modified', result
    # Heads at n=1,3,6,9,11: line 5 is in the chunk 4-6 of seq 2.
    assert (result['line'], result['chunk'], result['seq'], result['bad_chunks']) == (4, [4, 6], 2, 1)
    assert NAME in result['detail'] and '4-6' in result['detail']


def test_later_chunks_are_checked_from_the_trusted_head():
    lines, heads = make(10)
    lines[4] = lines[4].replace(b'line 3', b'line X')
    lines[9] = lines[9].replace(b'line 8', b'line Y')
    result = verify(lines, heads)
    assert (result['status'], result['line'], result['bad_chunks']) == ('modified', 4, 2), result


def test_header_changed_or_file_renamed():
    lines, heads = make(5)
    lines[0] = lines[0].replace(b'"width":80', b'"width":81')
    assert (verify(lines, heads)['status'], verify(lines, heads)['line']) == ('modified', 1)
    lines, heads = make(5)
    other = verify(lines, heads, name='lab-1-pty-other.cast')
    assert (other['status'], other['chunk']) == ('modified', [1, 1]), other


def test_truncated_whole_lines_and_mid_line():
    lines, heads = make(10)
    result = verify(lines[:7], heads)
    assert (result['status'], result['line'], result['chunk'], result['seq']) == ('truncated', 7, [7, 9], 3), result
    cut = lines[:6] + [lines[6][:4]]
    result = verify(cut, heads)
    assert result['status'] == 'truncated', result
    assert result['line'] == 7, result
    empty = verify([], heads)
    assert (empty['status'], empty['line']) == ('truncated', 1), empty


def test_lines_after_the_final_head():
    lines, heads = make(5)
    result = verify(lines + [b'[9.0, "o", "forged"]\n'], heads)
    assert (result['status'], result['line'], result['chunk']) == ('modified', 7, [7, 7]), result
    assert 'after the final head' in result['detail']


def test_open_recording_without_final():
    lines, heads = make(10, final=False)
    result = verify(lines, heads)
    assert result['status'] == 'open' and not result['final'], result
    assert '2 after the last head' in result['detail'], result


def test_gap_between_events():
    lines, heads = make(10)
    del heads[2]
    result = verify(lines, heads)
    assert (result['status'], result['seq'], result['chunk'], result['missing_seq']) == ('gap', 2, [4, 9], [2])
    lines, heads = make(10)
    result = verify(lines, heads[1:])
    assert (result['status'], result['line'], result['missing_seq']) == ('gap', 1, [0]), result


def test_modified_beats_gap():
    lines, heads = make(10)
    del heads[1]
    lines[8] = b'[0, "o", "x"]\n'
    assert verify(lines, heads)['status'] == 'modified'


def test_no_heads_unverified_or_legacy():
    lines, heads = make(3)
    result = verify(lines, [])
    assert (result['status'], result['line']) == ('unverified', 1), result
    old = [b'{"version":2,"ephi":{"id":"x"}}\n', b'[0.1, "o", "x"]\n']
    assert verify(old, [])['status'] == 'legacy'


def test_no_heads_older_than_the_source_expired():
    lines, heads = make(3)  # header timestamp 1
    assert verify(lines, [])['status'] == 'unverified'
    assert ac.verify_recording(NAME, iter(lines), [], heads_since=100)['status'] == 'expired'
    assert ac.verify_recording(NAME, iter(lines), [], heads_since=2)['status'] == 'unverified'  # within the slack
    assert ac.verify_recording(NAME, iter(lines), heads, heads_since=100)['status'] == 'ok'
    assert ac.header_time(b'{"timestamp": 5}\n') == 5 and ac.header_time(b'[1]\n') is None
    assert ac.header_time(b'{"timestamp": true}\n') is None and ac.header_time(b'\xff') is None


def test_conflicting_heads():
    lines, heads = make(10)
    twin = dict(heads[2], head='0' * 64)
    assert verify(lines, heads + [twin])['status'] in ('modified', 'conflict')
    assert verify(lines, heads + [dict(heads[2])])['status'] == 'ok'  # the same event twice
    result = ac.check_heads([heads[0], dict(heads[1], n=0), heads[2]])
    assert 'covers less' in result[2]
    after = dict(heads[-1], seq=heads[-1]['seq'] + 1)
    assert 'after the final' in ac.check_heads(heads + [after])[2]


def test_deleted():
    _lines, heads = make(4)
    result = ac.deleted_result(NAME, heads)
    assert (result['status'], result['line'], result['heads'], result['final']) == ('deleted', 1, len(heads), True)
    assert NAME in result['detail'] and 'no file' in result['detail']


EVENT = ('event=chain id=0011223344556677 user=bob uid=1001 file=/var/log/ephi/bob/%s seq=3 n=40 bytes=5000 '
         'head=%s final=1' % (NAME, 'ab' * 32))


def test_head_of_and_parse_fields():
    head = ac.head_of(EVENT)
    assert head == {'file': '/var/log/ephi/bob/' + NAME, 'name': NAME, 'id': '0011223344556677', 'seq': 3,
                    'n': 40, 'bytes': 5000, 'head': 'ab' * 32, 'final': True}
    syslog_line = '2026-12-05T18:00:00+00:00 lab-1 ephi-session[123]: ' + EVENT
    assert ac.head_of(syslog_line) == head
    assert ac.head_of(syslog_line.encode()) == head
    assert ac.head_of('event=session-start id=1') is None
    assert ac.head_of(EVENT.replace('ab' * 32, 'zz')) is None
    assert ac.head_of(EVENT.replace('seq=3', 'seq=x')) is None
    assert ac.head_of(EVENT.replace('file=/var/log/ephi/bob/' + NAME, 'file=-')) is None
    assert ac.parse_fields('a=1 b="x y" c=') == {'a': '1', 'b': 'x y', 'c': ''}
    assert ac.parse_fields('a="bad\\') == {'a': '"bad\\'} or 'a' not in ac.parse_fields('a="bad\\')


def test_group_heads_by_file_name():
    one = ac.head_of(EVENT)
    two = ac.head_of(EVENT.replace('seq=3', 'seq=1'))
    other = ac.head_of(EVENT.replace(NAME, 'x.cast'))
    grouped = ac.group_heads([one, two, other, None])
    assert [h['seq'] for h in grouped[NAME]] == [1, 3] and len(grouped['x.cast']) == 1


def journal_line(message, uid='0', unit='ephi-session-recorder.service'):
    entry = {'MESSAGE': message, 'SYSLOG_IDENTIFIER': 'ephi-session', '_UID': uid}
    if unit:
        entry['_SYSTEMD_UNIT'] = unit
    return json.dumps(entry)


def test_journal_heads_trusts_only_roots_recorder():
    lines = [journal_line(EVENT), journal_line(EVENT.replace('seq=3', 'seq=4'), uid='1001', unit=None),
             journal_line(EVENT.replace('seq=3', 'seq=5'), unit='user@1001.service'),
             journal_line(EVENT.replace('seq=3', 'seq=6'), uid='0', unit='cron.service'),
             journal_line('event=session-start id=1'), '', 'not json', '[1]',
             json.dumps({'MESSAGE': list(EVENT.encode()), '_UID': '0',
                         '_SYSTEMD_UNIT': 'ephi-session-recorder.service'})]
    # Root's relay that exited right after its final event: journald has no unit for it.
    lines.append(journal_line(EVENT.replace('seq=3', 'seq=7'), unit=None))
    lines.append(json.dumps({'MESSAGE': 'event=session-start id=1', '__REALTIME_TIMESTAMP': '1700000000500000'}))
    lines.append(json.dumps({'MESSAGE': 'event=session-end id=1', '__REALTIME_TIMESTAMP': '1700000009000000'}))
    reach = []
    heads, ignored = ac.journal_heads(lines, reach=reach)
    assert [h['seq'] for h in heads] == [3, 3, 7] and ignored == 3 and reach == [1700000000.5]


def test_file_heads():
    lines = [b'Dec  5 18:00:00 lab-1 ephi-session[1]: ' + EVENT.encode(), 'lab-1 other: event=session-end x=1', '']
    assert [h['seq'] for h in ac.file_heads(lines)] == [3]

    # A user's forged head, marked by the forwarder, is not a head.
    forged = '2026-12-05T18:00:00+00:00 lab-1 ephi-session[9]: from-uid=1001 ' + EVENT
    assert ac.file_heads([forged]) == []


def test_file_chain_is_the_final_head():
    lines, heads = make(7)
    assert ac.file_chain(NAME, iter(lines)) == (heads[-1]['n'], heads[-1]['bytes'], heads[-1]['head'])
    # A last line without its newline counts; nothing at all has no head.
    assert ac.file_chain(NAME, iter([HEADER, b'[1', b'.0, "o"]']))[:2] == (2, len(HEADER) + 10)
    assert ac.file_chain(NAME, iter([])) == (0, 0, None)


def prune_event(heads, **change):
    fields = dict(n=heads[-1]['n'], bytes=heads[-1]['bytes'], head=heads[-1]['head'])
    fields.update(change)
    return ('event=pruned file=/var/log/ephi/bob/%s n=%d bytes=%d head=%s sha256=%s'
            % (NAME, fields['n'], fields['bytes'], fields['head'], 'cd' * 32))


def test_pruned_only_with_the_final_head():
    lines, heads = make(7)
    pruned = ac.pruned_of('2026-12-05T18:00:00+00:00 lab-1 ephi-session[1]: ' + prune_event(heads))
    assert pruned['name'] == NAME and pruned['n'] == len(lines)
    result = ac.pruned_result(NAME, heads, pruned)
    assert result['status'] == 'pruned' and 'pruned here' in result['detail']
    # Another head, fewer lines, or a recording that never got its final head: deleted.
    for event, some in ((prune_event(heads, head='ef' * 32), heads), (prune_event(heads, n=3), heads),
                        (prune_event(heads[:-1]), heads[:-1])):
        result = ac.pruned_result(NAME, some, ac.pruned_of(event))
        assert result['status'] == 'deleted', result
    assert 'another head' in ac.pruned_result(NAME, heads, ac.pruned_of(prune_event(heads, n=3)))['detail']
    assert ac.pruned_of('event=pruned file=- n=1 bytes=1 head=' + 'ab' * 32) is None
    assert ac.pruned_of(prune_event(heads, head='zz')) is None
    assert ac.pruned_of('event=chain x=1') is None


def test_prune_events_from_root_only():
    _lines, heads = make(4)
    event = prune_event(heads)
    pruned = {}
    ac.file_heads(['2026-12-05T18:00:00+00:00 lab-1 ephi-session[9]: from-uid=1001 ' + event], pruned)
    assert pruned == {}
    ac.file_heads(['2026-12-05T18:00:00+00:00 lab-1 ephi-session[9]: ' + event, EVENT], pruned)
    assert list(pruned) == [NAME]
    pruned = {}
    ac.journal_heads([journal_line(event, uid='1001', unit=None)], pruned=pruned)
    assert pruned == {}
    # Root's, from any unit (the log_forward role's module runs under Ansible's session).
    heads_found, _ignored = ac.journal_heads([journal_line(event, unit='session-4.scope'), journal_line(EVENT)],
                                             pruned=pruned)
    assert list(pruned) == [NAME] and len(heads_found) == 1


def test_summarize():
    summary = ac.summarize([{'status': 'ok'}, {'status': 'open'}, {'status': 'modified'}, {'status': 'deleted'}])
    assert summary['examined'] == 4 and summary['bad'] == 2 and summary['ok'] == 1 and summary['truncated'] == 0


# ---------------------------------------------------------------- the recorder's chain

def test_recorder_chain_matches_the_verifier():
    chain = rec.Chain(NAME, HEADER)
    assert chain.head == ac.chain_start(NAME, HEADER)
    chain.add(b'')
    chain.add(b'[0.1, "o", "a"]\n')
    chain.add(b'[0.2, "o", "b"]\n[0.2, "m", "ephi-end reason=exit bytes=2"]\n')
    expected = ac.chain_step(ac.chain_start(NAME, HEADER), b'[0.1, "o", "a"]\n')
    expected = ac.chain_step(expected, b'[0.2, "o", "b"]\n')
    expected = ac.chain_step(expected, b'[0.2, "m", "ephi-end reason=exit bytes=2"]\n')
    assert (chain.head, chain.lines) == (expected, 4)
    fields = dict(chain.fields(True))
    assert fields == {'seq': 0, 'n': 4, 'bytes': chain.bytes, 'head': expected.hex(), 'final': 1}
    assert chain.seq == 1 and not chain.dirty


@pytest.fixture
def session(monkeypatch, tmp_path):
    """A recorder Session recording into tmp_path (mount check and chown lifted), its events."""
    events = []
    monkeypatch.setattr(rec, 'log', lambda priority, event, fields: events.append(
        (event, rec.format_event(event, fields))))
    monkeypatch.setattr(rec, 'is_encrypted_dir', lambda path, conf: True)
    monkeypatch.setattr(os, 'fchown', lambda fd, uid, gid: None)
    store = tmp_path / 'store'
    store.mkdir()
    conf = dict(rec.DEFAULTS, dir=str(store), group='root')
    sess = rec.Session(conf, None, (os.getuid(), 'bob'),
                       {'kind': 'command', 'command': 'x', 'term': 'xterm', 'ssh_connection': None})
    if os.getuid() != 0:
        monkeypatch.setattr(os, 'fstat', lambda fd, real=os.fstat: _root_owned(real(fd)))
    return sess, events


def _root_owned(info):
    return os.stat_result((info.st_mode, info.st_ino, info.st_dev, info.st_nlink, 0, 0) + tuple(info)[6:])


def heads_of(events):
    return [ac.head_of(text) for event, text in events if event == 'chain']


def test_recorder_session_chain_events_verify(session):
    sess, events = session
    assert sess.begin(True) is None
    assert heads_of(events)[0]['seq'] == 0 and heads_of(events)[0]['n'] == 1  # at once, the header alone
    for i in range(5):
        sess.record(sess.cast.output(sess.start + i, b'out %d\n' % i), 6)
    sess.chain_tick(sess.start + 0.5)  # before CHAIN_INTERVAL: no event
    assert len(heads_of(events)) == 1
    sess.chain_tick(sess.start + rec.CHAIN_INTERVAL)
    sess.chain_tick(sess.start + rec.CHAIN_INTERVAL * 3)  # nothing new: no event
    sess.record(sess.cast.output(sess.start + 6, b'\xe2\x82'), 2)  # half a character: nothing written yet
    sess.record(sess.cast.output(sess.start + 7, b'\xac last\n'), 6)
    sess.reason = 'exit'
    sess.finish()
    heads = heads_of(events)
    assert [(h['seq'], h['final']) for h in heads] == [(0, False), (1, False), (2, True)], events
    assert heads[1]['n'] == 6
    names = [event for event, _text in events]
    assert names.index('chain') < names.index('session-end') and names[-1] == 'session-end'
    with open(sess.path, 'rb') as fh:
        data = fh.read()
    assert data.endswith(b'ephi-end reason=exit bytes=0"]\n')
    name = os.path.basename(sess.path)
    assert ac.verify_recording(name, io.BytesIO(data), heads)['status'] == 'ok'
    assert heads[-1]['n'] == data.count(b'\n') and heads[-1]['bytes'] == len(data)
    forged = data.replace(b'out 3', b'out 9')
    result = ac.verify_recording(name, io.BytesIO(forged), heads)
    assert (result['status'], result['chunk']) == ('modified', [2, 6]), result


def test_recorder_short_session_logs_its_start_and_final_heads(session):
    sess, events = session
    assert sess.begin(True) is None
    sess.record(sess.cast.output(sess.start + 0.1, b'quick\n'), 6)
    sess.chain_tick(sess.start + 0.2)
    sess.reason = 'exit'
    sess.finish()
    heads = heads_of(events)
    assert [(h['seq'], h['n'], h['final']) for h in heads] == [(0, 1, False), (1, 3, True)], events
    with open(sess.path, 'rb') as fh:
        assert ac.verify_recording(os.path.basename(sess.path), fh, heads)['status'] == 'ok'


def test_recorder_write_failure_cuts_back_to_the_chain(session, monkeypatch):
    sess, events = session
    sess.conf['unrecordable'] = 'allow'
    assert sess.begin(True) is None
    sess.record(sess.cast.output(sess.start + 1, b'kept\n'), 5)
    real_write = os.write

    def half_then_fail(fd, data):
        if fd == sess.rec_fd and len(data) > 4:
            real_write(fd, data[:4])
            raise OSError(28, 'No space left on device')
        return real_write(fd, data)
    monkeypatch.setattr(os, 'write', half_then_fail)
    assert sess.record(sess.cast.output(sess.start + 2, b'lost\n'), 5) is True
    monkeypatch.setattr(os, 'write', real_write)
    sess.reason = 'exit'
    sess.finish()
    heads = heads_of(events)
    with open(sess.path, 'rb') as fh:
        data = fh.read()
    assert b'lost' not in data and data.count(b'\n') == 2
    assert heads[-1]['final'] and heads[-1]['n'] == 2
    assert ac.verify_recording(os.path.basename(sess.path), io.BytesIO(data), heads)['status'] == 'ok'
