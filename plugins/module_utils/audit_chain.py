# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The hash chain of a session recording (issue 14, tamper evidence): pure functions.

The root recorder (roles/tmux/files/ephi-session-recorder, class ``Chain``, the
same algorithm) keeps, per recording, a chain over the exact bytes of every
line it writes:

    h_1 = SHA-256(b"ephi-chain-v1\\n" || <file name> || b"\\n" || <header line>)
    h_n = SHA-256(h_{n-1} || <line n>)

(lines with their b"\\n"; the file name is the basename, so that one
recording cannot be passed off under another's name). It logs a content-free
``chain`` event (syslog ``ephi-session``, authpriv) with ``id``, ``user``,
``uid``, ``file``, ``seq`` (0, 1, 2, ... per recording), ``n`` (lines
covered), ``bytes`` (bytes covered), ``head`` (h_n, hex) and ``final`` (0/1):
seq 0 right after the header (so a running recording has a head at once),
then at most one every 2 s while lines are added, and ``final=1`` after the
``ephi-end`` line. A missing
``seq`` is a gap (an event lost or suppressed). A head is verifiable on its
own: a verifier that trusts head k can check the lines after it without the
lines before, so every bad chunk is found, not only the first.

The verifier streams a recording (pieces of at most a readline limit: a line
longer than the limit is hashed across pieces, never loaded whole) and
compares the heads; it can only localise a change to the chunk between two
heads (the lines one event covers), which is what it reports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import posixpath
import re

from ansible_collections.ephi.safeguards.plugins.module_utils.evidence import probe_failed, text

TAG = b'ephi-chain-v1'
# The recorder's header names the scheme (a recording without it predates the chain).
HEADER_MARK = b'"chain":"ephi-chain-v1"'
HEX = re.compile(r'^[0-9a-f]{64}$')
_FIELD = re.compile(r'([A-Za-z_][\w-]*)=("(?:[^"\\]|\\.)*"|\S*)')
HEAD_KEYS = ('seq', 'n', 'bytes', 'head', 'final')
# Verdicts: which ones fail the control.
BAD = ('modified', 'truncated', 'deleted', 'gap', 'unverified', 'conflict')
GOOD = ('ok', 'open', 'legacy', 'expired', 'recent', 'pruned')
# A recording without heads that started this many seconds before the oldest
# event the heads' source holds is older than that source (expired), not unverified.
EXPIRY_SLACK = 2


def chain_start(name, header_line):
    """h_1: the head over the header line of the recording called NAME (bytes in, digest out)."""
    if not isinstance(name, bytes):
        name = name.encode('utf-8')
    digest = hashlib.sha256(TAG + b'\n' + name + b'\n')
    digest.update(header_line)
    return digest.digest()


def chain_step(head, line):
    """h_n from h_{n-1} and line n (with its newline)."""
    digest = hashlib.sha256(head)
    digest.update(line)
    return digest.digest()


def parse_fields(message):
    """``key=value`` pairs of an event (values plain or JSON-quoted, as the recorder writes them)."""
    fields = {}
    for key, value in _FIELD.findall(message or ''):
        if value.startswith('"'):
            try:
                value = json.loads(value)
            except ValueError:
                continue
        fields[key] = value
    return fields


def event_fields(message, event):
    """The fields of MESSAGE (str or bytes) when it is an ``event=EVENT`` event, else None. Only the
    part from ``event=`` on is read, so a syslog line with its date, host and tag in front works as
    well as journald's MESSAGE."""
    text = message if isinstance(message, str) else (message or b'').decode('utf-8', 'replace')
    start = text.find('event=%s ' % event)
    return None if start < 0 else parse_fields(text[start:])


def head_of(message):
    """A chain event's message -> head dict (file, name, id, seq, n, bytes, head, final); None otherwise."""
    fields = event_fields(message, 'chain')
    if fields is None:
        return None
    try:
        head = {'file': str(fields['file']), 'id': str(fields.get('id', '')),
                'seq': int(fields['seq']), 'n': int(fields['n']), 'bytes': int(fields['bytes']),
                'head': str(fields['head']), 'final': int(fields.get('final', 0)) == 1}
    except (KeyError, ValueError):
        return None
    if (not HEX.match(head['head']) or head['seq'] < 0 or head['n'] < 1 or head['bytes'] < 0
            or not head['file'] or head['file'] == '-'):
        return None
    head['name'] = posixpath.basename(head['file'])
    return head


def file_chain(name, pieces):
    """(lines, bytes, final head as hex or None) of a whole recording called NAME, chained as the
    recorder chains it (PIECES as for verify_recording)."""
    head, digest = None, None
    lines = size = 0
    for piece in pieces:
        if not piece:
            continue
        if digest is None:
            digest = hashlib.sha256(head) if lines else hashlib.sha256(TAG + b'\n' + name.encode('utf-8') + b'\n')
        digest.update(piece)
        size += len(piece)
        if piece.endswith(b'\n'):
            lines, head, digest = lines + 1, digest.digest(), None
    if digest is not None:
        lines, head = lines + 1, digest.digest()
    return lines, size, head.hex() if head is not None else None


def pruned_of(message):
    """A ``pruned`` event's message (the host deleted its copy of a recording the log host held
    identically) -> dict (file, name, n, bytes, head); None otherwise."""
    fields = event_fields(message, 'pruned')
    if fields is None:
        return None
    try:
        pruned = {'file': str(fields['file']), 'n': int(fields['n']), 'bytes': int(fields['bytes']),
                  'head': str(fields['head'])}
    except (KeyError, ValueError):
        return None
    if not HEX.match(pruned['head']) or not pruned['file'] or pruned['file'] == '-':
        return None
    pruned['name'] = posixpath.basename(pruned['file'])
    return pruned


def group_heads(heads):
    """Heads (dicts from head_of) -> {file name: [heads]} in seq order."""
    grouped = {}
    for head in heads:
        if head:
            grouped.setdefault(head['name'], []).append(head)
    for items in grouped.values():
        items.sort(key=lambda h: (h['seq'], h['n']))
    return grouped


def check_heads(heads):
    """(heads without duplicates, missing seq numbers, conflict text or None) of one recording's heads
    in seq order. A conflict: two different heads with one seq, n or bytes going back, heads after final."""
    unique, conflict = [], None
    for head in heads:
        if unique and unique[-1]['seq'] == head['seq']:
            if [unique[-1][k] for k in HEAD_KEYS] != [head[k] for k in HEAD_KEYS]:
                conflict = conflict or 'two different heads with seq %d' % head['seq']
            continue
        if unique and (head['n'] < unique[-1]['n'] or head['bytes'] < unique[-1]['bytes']):
            conflict = conflict or 'head seq %d covers less than seq %d' % (head['seq'], unique[-1]['seq'])
        if unique and unique[-1]['final']:
            conflict = conflict or 'head seq %d after the final head' % head['seq']
        unique.append(head)
    seqs = set(h['seq'] for h in unique)
    missing = [s for s in range(0, max(seqs) + 1) if s not in seqs] if seqs else []
    return unique, missing, conflict


def _result(status, **extra):
    result = {'status': status, 'line': None, 'chunk': None, 'seq': None, 'lines': 0, 'bytes': 0,
              'heads': 0, 'final': False, 'bad_chunks': 0, 'missing_seq': [], 'detail': '', 'cached': False}
    result.update(extra)
    return result


def header_time(line):
    """The ``timestamp`` (Unix seconds) of an asciicast header line, None when unreadable."""
    try:
        value = json.loads(line.decode('utf-8')).get('timestamp')
    except (ValueError, UnicodeDecodeError, AttributeError):
        return None
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def verify_recording(name, pieces, heads, heads_since=None, recent_after=None, recent_before=None):
    """Verify one recording against its heads.

    NAME: the recording's file name (basename); PIECES: its bytes as an
    iterable of pieces where a line ends only with a piece ending in b'\\n'
    (what ``readline(limit)`` returns; whole lines work); HEADS: its heads
    (head_of dicts, any order). Returns a dict: ``status`` (ok, open: no final
    head yet, the lines after the last head unchained; legacy: no heads and a
    header without the chain mark; expired: no heads, and the header's start
    time is more than EXPIRY_SLACK s before HEADS_SINCE, the time of the oldest
    event the heads' source still holds (the local journal's reach); recent: no
    heads, and the header's start time is at or after RECENT_AFTER and, when
    given, not after RECENT_BEFORE (a start in the future is not recent but
    forged or a wrong clock; heads read elsewhere may still be on their way);
    unverified: no heads; modified,
    truncated, gap, conflict), ``line`` and ``chunk`` ([first, last] line numbers, 1 is
    the header) of the first bad chunk, ``seq`` of its head, ``lines``,
    ``bytes``, ``heads``, ``final``, ``bad_chunks``, ``missing_seq`` and a
    ``detail`` text."""
    heads, missing, conflict = check_heads(sorted(heads or [], key=lambda h: (h['seq'], h['n'])))
    head = None
    lines = size = 0
    digest = None
    pending = list(heads)
    previous = 0  # n of the last head passed
    first_bad = None
    bad_chunks = 0
    marked = False
    first = b''
    for piece in pieces:
        if not piece:
            continue
        if digest is None:
            if lines == 0:
                marked = HEADER_MARK in piece
                first = piece
                digest = hashlib.sha256(TAG + b'\n' + name.encode('utf-8') + b'\n')
            else:
                digest = hashlib.sha256(head)
        digest.update(piece)
        size += len(piece)
        if not piece.endswith(b'\n'):
            continue
        lines += 1
        head = digest.digest()
        digest = None
        while pending and pending[0]['n'] == lines:
            expected = pending.pop(0)
            if expected['bytes'] != size or bytes.fromhex(expected['head']) != head:
                bad_chunks += 1
                if first_bad is None:
                    first_bad = ('modified', previous + 1, lines, expected['seq'])
                head = bytes.fromhex(expected['head'])  # go on from the trusted head
            previous = lines
    if digest is not None:  # a last line without its newline
        lines += 1
        head = digest.digest()
        while pending and pending[0]['n'] == lines:
            expected = pending.pop(0)
            if expected['bytes'] != size or bytes.fromhex(expected['head']) != head:
                bad_chunks += 1
                if first_bad is None:
                    kind = 'truncated' if expected['bytes'] > size else 'modified'
                    first_bad = (kind, previous + 1, lines, expected['seq'])
            previous = lines
    result = _result('ok', lines=lines, bytes=size, heads=len(heads), missing_seq=missing[:20])
    final = heads[-1] if heads and heads[-1]['final'] else None
    result['final'] = final is not None
    if pending:
        bad_chunks += len(pending)
        if first_bad is None:
            first_bad = ('truncated', previous + 1, pending[0]['n'], pending[0]['seq'])
    if final is not None and lines > final['n'] and not pending:
        bad_chunks += 1
        if first_bad is None:
            first_bad = ('modified', final['n'] + 1, lines, final['seq'])
    result['bad_chunks'] = bad_chunks
    if first_bad is not None:
        kind, first, last, seq = first_bad
        result.update(status=kind, line=first, chunk=[first, last], seq=seq)
        if kind == 'truncated':
            result['detail'] = ('%s: truncated: ends after line %d (%d bytes); head seq %d covers %d lines'
                                % (name, lines, size, seq, last))
        elif final is not None and first > final['n']:
            result['detail'] = '%s: modified: lines %d-%d after the final head (seq %d)' % (name, first, last, seq)
        else:
            result['detail'] = '%s: modified: chunk of lines %d-%d does not match head seq %d' % (
                name, first, last, seq)
        if bad_chunks > 1:
            result['detail'] += ' (%d bad chunks in all)' % bad_chunks
        return result
    if not heads:
        started = header_time(first) if heads_since is not None or recent_after is not None else None
        if lines and not marked:
            result.update(status='legacy', detail='%s: no chain (recorded before the chain existed)' % name)
        elif started is not None and recent_after is not None and started >= recent_after \
                and (recent_before is None or started <= recent_before):
            result.update(status='recent', detail='%s: no chain head yet (started %d, at or after %d: its heads '
                                                  'may still be on their way)' % (name, started, recent_after))
        elif started is not None and heads_since is not None and started + EXPIRY_SLACK < heads_since:
            result.update(status='expired', detail='%s: no chain head left in the source (started %d, it reaches '
                                                   'back to %d)' % (name, started, heads_since))
        else:
            result.update(status='unverified', line=1, chunk=[1, lines],
                          detail='%s: no chain head for this recording' % name)
        return result
    if conflict:
        result.update(status='conflict', detail='%s: conflicting heads: %s' % (name, conflict))
        return result
    if missing:
        seq = missing[0]
        before = [h for h in heads if h['seq'] < seq]
        after = [h for h in heads if h['seq'] > seq]
        first = before[-1]['n'] + 1 if before else 1
        result.update(status='gap', line=first, chunk=[first, after[0]['n']], seq=seq,
                      detail='%s: chain events missing: seq %s (lines %d-%d covered only by a later head)' % (
                          name, ','.join(str(s) for s in missing[:5]) + (',...' if len(missing) > 5 else ''),
                          first, after[0]['n']))
        return result
    if final is None:
        result.update(status='open', detail='%s: %d lines chained, %d after the last head (seq %d), no final head '
                                            '(session running, or its recorder stopped)' % (
                                                name, heads[-1]['n'], lines - heads[-1]['n'], heads[-1]['seq']))
        return result
    result['detail'] = '%s: %d lines match %d heads, final' % (name, lines, len(heads))
    return result


def deleted_result(name, heads):
    """The verdict of heads whose recording is not in the store."""
    heads, missing, _conflict = check_heads(sorted(heads, key=lambda h: (h['seq'], h['n'])))
    last = heads[-1]
    return _result('deleted', line=1, chunk=[1, last['n']], seq=heads[0]['seq'], heads=len(heads),
                   final=last['final'], missing_seq=missing[:20],
                   detail='%s: deleted: %d heads (last seq %d, %d lines, %d bytes) and no file' % (
                       name, len(heads), last['seq'], last['n'], last['bytes']))


def unchanged_result(name, heads, verified_at):
    """The verdict (ok) of a closed recording that the chain check's cache shows unchanged since it was
    read in full at VERIFIED_AT (Unix seconds) and found to match HEADS (module_utils/chain_cache.py)."""
    heads, missing, _conflict = check_heads(sorted(heads, key=lambda h: (h['seq'], h['n'])))
    last = heads[-1]
    return _result('ok', lines=last['n'], bytes=last['bytes'], heads=len(heads), final=True,
                   missing_seq=missing[:20], cached=True,
                   detail='%s: %d lines match %d heads, final (unchanged since read in full at %d)' % (
                       name, last['n'], len(heads), verified_at))


def pruned_result(name, heads, pruned):
    """The verdict of heads whose recording is not in the store but was pruned (PRUNED: its root
    ``pruned`` event): pruned when the event names the final head, n and bytes (the host deleted the
    whole recording as chained, after the log host showed an identical copy); deleted otherwise."""
    unique, missing, conflict = check_heads(sorted(heads, key=lambda h: (h['seq'], h['n'])))
    last = unique[-1]
    if (last['final'] and not missing and not conflict
            and (pruned['n'], pruned['bytes'], pruned['head']) == (last['n'], last['bytes'], last['head'])):
        return _result('pruned', lines=last['n'], bytes=last['bytes'], heads=len(unique), final=True,
                       detail='%s: pruned here once the log host held an identical copy (%d lines, final head '
                              'seq %d)' % (name, last['n'], last['seq']))
    result = deleted_result(name, heads)
    result['detail'] += '; its prune event names %d lines, %d bytes and another head' % (pruned['n'], pruned['bytes'])
    return result


def journal_heads(lines, unit='ephi-session-recorder.service', reach=None, pruned=None):
    """(heads, ignored) from ``journalctl -o json`` lines: a chain event counts only when journald
    says root wrote it (_UID 0, from the sender's socket credentials: the kernel's word) and, when
    journald could read it, from the recorder's unit (_SYSTEMD_UNIT; read from /proc, so missing for
    a relay that exited right after its final event - measured on Debian 12). SYSLOG_IDENTIFIER is
    the sender's claim: anyone's ``logger -t ephi-session`` has it. IGNORED counts the chain events
    that fail this. REACH, a list, gets the time (Unix seconds) of the oldest entry appended.
    PRUNED, a dict, gets {file name: pruned_of dict} of the ``pruned`` events root logged (any unit:
    the log_forward role's module, run by Ansible)."""
    oldest = None
    heads, ignored = [], 0
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        try:
            moment = int(entry['__REALTIME_TIMESTAMP']) / 1e6
            oldest = moment if oldest is None else min(oldest, moment)
        except (KeyError, ValueError, TypeError):
            pass
        message = entry.get('MESSAGE')
        if isinstance(message, list):  # journald's non-UTF-8 messages are byte arrays
            try:
                message = bytes(message).decode('utf-8', 'replace')
            except (TypeError, ValueError):
                continue
        if pruned is not None and isinstance(message, str) and entry.get('_UID') == '0':
            prune = pruned_of(message)
            if prune is not None:
                pruned[prune['name']] = prune
                continue
        if not isinstance(message, str) or 'event=chain ' not in message:
            continue
        head = head_of(message)
        if head is None:
            continue
        if entry.get('_UID') != '0' or entry.get('_SYSTEMD_UNIT', unit) != unit:
            ignored += 1
            continue
        heads.append(head)
    if reach is not None and oldest is not None:
        reach.append(oldest)
    return heads, ignored


def file_heads(lines, pruned=None):
    """Heads from lines of a heads file (syslog lines whose message is the chain event, e.g. the log
    host's per-host events.log, where the forwarder sends only root's events unmarked). A line
    marked ``from-uid=`` (an event a user other than root logged) is never a head, nor a prune.
    PRUNED, a dict, gets {file name: pruned_of dict} of the ``pruned`` events."""
    heads = []
    for line in lines:
        if isinstance(line, bytes):
            line = line.decode('utf-8', 'replace')
        if 'from-uid=' in line[:max(line.find('event=chain '), line.find('event=pruned '), 0)]:
            continue
        if pruned is not None and 'event=pruned ' in line:
            prune = pruned_of(line)
            if prune is not None:
                pruned[prune['name']] = prune
                continue
        head = head_of(line)
        if head is not None:
            heads.append(head)
    return heads


def summarize(results):
    """Counts per status, ``examined`` and ``bad`` (the statuses that fail)."""
    summary = dict((status, 0) for status in GOOD + BAD)
    for result in results:
        summary[result['status']] = summary.get(result['status'], 0) + 1
    summary['examined'] = len(results)
    summary['bad'] = sum(summary[status] for status in BAD)
    return summary


# How many bad recordings an evidence record names (the rest are counted).
CHAIN_NAMED = 5


def chain_verdict(chain, default_source, expired_label):
    """(verdict, observed) of an evidence record from audit_chain_verify's result CHAIN.

    Fails when the module did not run or failed (the recordings were not
    examined) and when a recording is bad (the first CHAIN_NAMED named with
    the first bad chunk); EXPIRED_LABEL says what an expired recording is for
    this heads source."""
    if probe_failed(chain) or chain.get('msg') or 'summary' not in chain:
        why = text(chain.get('msg')) if isinstance(chain, dict) and chain.get('msg') else 'audit_chain_verify did not run'
        return 'fail', 'recordings NOT examined: %s' % why
    summary = chain['summary']
    bad = [f for f in chain.get('files') or [] if f.get('status') not in GOOD]
    counts = '%d recording(s) examined against %d chain head(s) from %s' % (
        summary.get('examined', 0), chain.get('heads', 0), text(chain.get('source') or default_source))
    notes = []
    for status, label in (('open', 'open (no final head yet: running, or its recorder stopped)'),
                          ('legacy', 'recorded before the chain existed (not verifiable)'),
                          ('expired', expired_label),
                          ('recent', 'started moments ago, no head received yet'),
                          ('pruned', 'pruned here once the log host held an identical copy')):
        if summary.get(status):
            notes.append('%d %s' % (summary[status], label))
    if summary.get('cached'):
        notes.append('%d of the matching ones unchanged since they were read in full (the check\'s cache)'
                     % summary['cached'])
    if chain.get('ignored'):
        notes.append('%d chain event(s) not from root\'s recorder ignored' % chain['ignored'])
    if summary.get('bad') or bad:
        named = '; '.join('%s: %s from line %s (chunk %s)' % (
            text(f.get('path')), text(f.get('status')), text(f.get('line')),
            '-'.join(text(n) for n in f.get('chunk') or []) or '-') for f in bad[:CHAIN_NAMED])
        more = len(bad) - CHAIN_NAMED
        observed = '%s; %d FAIL: %s%s' % (counts, summary.get('bad', len(bad)), named,
                                          '; and %d more' % more if more > 0 else '')
        return 'fail', '; '.join([observed] + notes)
    return 'pass', '; '.join(['%s; %d match their chain' % (counts, summary.get('ok', 0))] + notes)
