# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""roles/tmux/files/ephi-audit: header and tail parsing, filters, the
rendering of hostile output (nothing recorded can hide a line from show and
search, nothing recorded reaches the auditor's terminal as a control
sequence), the sanitised asciicast export, and the store's path checks
(no symlink followed, nothing outside the store)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import os
import re
import tempfile

import pytest

from ansible_collections.ephi.safeguards.tests.unit.roles.session_programs import FILES, load

AUDIT = load('ephi_audit', os.path.join(FILES, 'ephi-audit'))
SID = 'ab12cd34ef567890'
HEADER = {'version': 2, 'width': 40, 'height': 5, 'timestamp': 1700000000, 'env': {'TERM': 'xterm'},
          'ephi': {'id': SID, 'kind': 'pty', 'user': 'erin', 'uid': 1001, 'host': 'lab-1',
                   'source': '127.0.0.1 5000', 'command': None}}


def cast(events, header=None):
    return [json.dumps(header or HEADER)] + [json.dumps(event) for event in events]


def shown(events, header=None):
    """Every line show prints (transcript and final screen), as the auditor reads it."""
    renderer, _info = AUDIT.render(cast(events, header))
    return [AUDIT.safe_text(line) for _t, _f, line in renderer.finish()] + \
        [AUDIT.safe_text(line) for line in renderer.display()]


def test_header_parsing_takes_the_ephi_fields_and_rejects_other_files():
    info = AUDIT.parse_header(json.dumps(HEADER).encode())
    assert (info['id'], info['user'], info['uid'], info['host'], info['kind'], info['start']) == \
        (SID, 'erin', 1001, 'lab-1', 'pty', 1700000000)
    assert (info['width'], info['height']) == (40, 5)
    for bad in ('{"version": 1, "width": 80, "height": 24}', '[1, "o", "x"]', 'not json',
                '{"version": 2, "width": "80", "height": 24}', '{"version": 2, "width": 0, "height": 24}'):
        with pytest.raises(ValueError):
            AUDIT.parse_header(bad)
    # Fields of the wrong type are dropped, not trusted.
    odd = dict(HEADER, ephi={'id': ['x'], 'user': {'a': 1}, 'uid': True})
    info = AUDIT.parse_header(json.dumps(odd))
    assert (info['id'], info['user'], info['uid']) == (None, None, None)


def test_tail_gives_the_duration_and_the_end_marker():
    data = b'partial line"]\n[1.5, "o", "x"]\n[2.25, "m", "ephi-end reason=exit bytes=42"]\n'
    assert AUDIT.parse_tail(data) == (2.25, {'reason': 'exit', 'bytes': '42'})
    assert AUDIT.parse_tail(b'xx"]\n[3.0, "o", "still going"]\n') == (3.0, None)
    assert AUDIT.parse_tail(b'[1.0, "o", "cut in the midd') == (None, None)


def test_filters_by_user_host_kind_and_overlapping_time():
    entry = {'user': 'erin', 'host': 'lab-1', 'kind': 'pty', 'start': 1000, 'duration': 100.0,
             'end': {'reason': 'exit'}}
    assert AUDIT.matches(entry, user='erin', host='lab-1', kind='pty', since=1050, until=1060, now=5000)
    assert not AUDIT.matches(entry, user='frank')
    assert not AUDIT.matches(entry, host='lab-2')
    assert not AUDIT.matches(entry, kind='command')
    assert not AUDIT.matches(entry, since=1101, now=5000)
    assert not AUDIT.matches(entry, until=999, now=5000)
    # An open session lasts until now.
    assert AUDIT.matches(dict(entry, end=None), since=4000, now=5000)
    assert not AUDIT.matches(dict(entry, start=None), since=0, now=5000)


def test_time_arguments():
    assert AUDIT.parse_time('2023-11-14T22:13:20') == 1700000000
    assert AUDIT.parse_time('2023-11-14T22:13:20Z') == 1700000000
    assert AUDIT.parse_time('2023-11-14T23:13:20+01:00') == 1700000000
    assert AUDIT.parse_time('2h', now=10000) == 10000 - 7200
    with pytest.raises(Exception):
        AUDIT.parse_time('yesterday')


@pytest.mark.parametrize('hide', [
    'secret-1\r\x1b[2K$ ',                     # overwritten at once on the same line
    'secret-1\r\x1b[K',
    'secret-1\x1b[2J\x1b[H',                   # screen cleared
    'secret-1\b\b\b\b\b\b\b\b        \r',      # backspaced over
    '\x1b[?1049hsecret-1\x1b[2J\x1b[?1049l',   # in the alternate screen
    '\x1b[8msecret-1\x1b[0m',                  # concealed
    '\x1b[30;40msecret-1\x1b[0m',              # black on black
    '\u200bsecret-1',                          # a zero-width character first (pyte would drop the rest)
    '\x85secret-1',                            # a C1 control first
    '\x1b)0\x0esecret-1\x0f',                  # DEC line drawing
    '\x1b[1;1Hsecret-1\x1b[1;1H\x1b[1M',       # the line deleted
    'secret-1\x1b[5;1H\r\n\r\n\r\n\r\n\r\n\r\n',  # scrolled away
])
def test_a_hidden_line_is_still_shown(hide):
    lines = shown([[0.5, 'o', '$ echo ok\r\nok\r\n'], [1.0, 'o', hide], [1.5, 'o', 'after\r\n']])
    assert any('secret-1' in line for line in lines), lines
    assert any('after' in line for line in lines), lines


def test_a_shrunk_window_does_not_hide_later_text():
    lines = shown([[0.1, 'o', '1\r\n2\r\n3\r\n4\r\n'], [0.2, 'r', '40x2'], [0.3, 'o', 'secret-2']])
    assert 'secret-2' in lines[-2:], lines


def test_text_is_kept_in_order_with_its_time():
    renderer, _info = AUDIT.render(cast([[0.25, 'o', 'one\r\n'], [0.5, 'o', 'two\r\x1b[Kthree\r\n']]))
    assert renderer.finish() == [
        (0.25, '|', 'one'), (0.5, '~', 'two'), (0.5, '|', 'three')]


def test_printed_text_never_holds_a_control_or_format_character():
    hostile = ('\x1b]0;owned\x07\x1b]52;c;Y2F0IC9ldGMvc2hhZG93\x07\x1b[6n\x1bP+q544e\x1b\\'
               'a\u202eb\u2066c\u200bd\x9b31m\x1b[21t\r\n')
    for line in shown([[0.1, 'o', hostile]]):
        assert not re.search(r'[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]', line), repr(line)
    assert AUDIT.safe_text('a\x1b[2Jb\u202ec\\') == 'a\\u001b[2Jb\\u202ec\\\\'


def test_the_sanitizer_keeps_screen_drawing_and_drops_what_reaches_beyond_the_screen():
    clean = AUDIT.Sanitizer()
    text = clean.feed('\x1b[1;31mred\x1b[0m\r\n\x1b[2J\x1b[H\x1b[?1049h\x1b[?25l\x1b[5;10r\x1b7\x1b8')
    assert text == '\x1b[1;31mred\x1b[0m\r\n\x1b[2J\x1b[H\x1b[?1049h\x1b[?25l\x1b[5;10r\x1b7\x1b8'
    dropped = ['\x1b]0;title\x07', '\x1b]52;c;eA==\x1b\\', '\x1bP1$r\x1b\\', '\x1b[6n', '\x1b[c', '\x1b[>c',
               '\x1b[21t', '\x1b[?1000h', '\x1b[?1006h', '\x9b6n', '\x9d0;t\x9c', '\x1b(0', '\x0e', '\x1b_apc\x1b\\',
               '\x1b[2$p', '\x1bc', '\x00', '\x7f']
    for seq in dropped:
        assert AUDIT.Sanitizer().feed('a' + seq + 'b') == 'ab', repr(seq)
    # A sequence split across two events is still recognised.
    clean = AUDIT.Sanitizer()
    assert clean.feed('x\x1b]0;ti') + clean.feed('tle\x07y\x1b[') + clean.feed('6nz') == 'xyz'


def test_export_is_asciicast_v2_with_a_note_and_sanitised_output():
    events = [[0.1, 'o', 'hi \x1b]0;t\x07there\r\n'], [0.2, 'r', '100x30'], [0.3, 'm', 'ephi-end reason=exit bytes=9']]
    out = list(AUDIT.export_lines(cast(events) + ['not an event'], note={'by': 'audra'}))
    head = json.loads(out[0])
    assert head['version'] == 2 and head['ephi']['id'] == SID and head['ephi_export'] == {'by': 'audra'}
    body = [json.loads(line) for line in out[1:]]
    assert body == [[0.1, 'o', 'hi there\r\n'], [0.2, 'r', '100x30'], [0.3, 'm', 'ephi-end reason=exit bytes=9']]
    raw = [json.loads(line) for line in list(AUDIT.export_lines(cast(events), raw=True))[1:]]
    assert raw[0] == events[0]
    with pytest.raises(ValueError):
        list(AUDIT.export_lines(['{"version": 1}']))


def test_events_are_content_free_key_values():
    text = AUDIT.format_event('audit-show', [('auditor', 'audra'), ('auditor_uid', 1002), ('file', 'erin/a b.cast')])
    assert text == 'event=audit-show auditor=audra auditor_uid=1002 file="erin/a b.cast"'


@pytest.fixture
def store():
    with tempfile.TemporaryDirectory() as root:
        os.mkdir(os.path.join(root, 'erin'))
        name = 'lab-1-pty-20231114T221320.000000Z-%s.cast' % SID
        with open(os.path.join(root, 'erin', name), 'w', encoding='utf-8') as handle:
            handle.write('\n'.join(cast([[0.5, 'o', 'hello\r\n'], [1.0, 'm', 'ephi-end reason=exit bytes=7']])) + '\n')
        with open(os.path.join(root, 'outside.cast'), 'w', encoding='utf-8') as handle:
            handle.write(json.dumps(HEADER) + '\n')
        os.symlink(os.path.join(root, 'outside.cast'), os.path.join(root, 'erin', 'planted.cast'))
        os.symlink(root, os.path.join(root, 'linked'))
        yield AUDIT.Store(root), root, 'erin/' + name


def test_store_lists_recordings_and_resolves_ids_names_and_paths(store):
    st, root, rel = store
    assert st.walk() == [rel]
    entry = st.entry(rel)
    assert (entry['id'], entry['user'], entry['duration'], entry['end']) == (SID, 'erin', 1.0, {'reason': 'exit', 'bytes': '7'})
    assert st.relative(SID) == rel
    assert st.relative(rel.split('/')[1]) == rel
    assert st.relative(os.path.join(root, rel)) == rel
    with st.open(rel) as handle:
        assert handle.readline().startswith(b'{"version": 2')


@pytest.mark.parametrize('ref', ['../outside.cast', 'erin/../outside.cast', '/etc/shadow', 'outside.cast/x',
                                 'erin/planted.cast', 'linked/erin/x.cast', '/etc/../etc/passwd',
                                 'erin/x.log', 'erin', '0000000000000000'])
def test_store_refuses_paths_outside_it_and_symlinks(store, ref):
    st, root, _rel = store
    with pytest.raises(AUDIT.AuditError):
        st.open(st.relative(ref.replace('/etc/../', root + '/../') if ref.startswith('/etc/..') else ref))


def test_list_prints_no_control_characters_from_a_header(store, monkeypatch):
    st, root, _rel = store
    evil = dict(HEADER, ephi=dict(HEADER['ephi'], user='erin\x1b[2K', host='h\u202e', id='1111222233334444'))
    with open(os.path.join(root, 'erin', 'x-pty-1-1111222233334444.cast'), 'w', encoding='utf-8') as handle:
        handle.write(json.dumps(evil) + '\n')
    monkeypatch.setattr(AUDIT, 'log_event', lambda *args: None)
    args = AUDIT.parser().parse_args(['list'])
    out = io.StringIO()
    AUDIT.cmd_list(st, args, ('audra', 1002, 'sudo'), out)
    assert 'erin\\u001b[2K' in out.getvalue() and '\x1b' not in out.getvalue() and '\u202e' not in out.getvalue()


def test_stream_search_text_drops_escapes_but_misses_what_only_the_screen_assembles():
    events = [[0.1, 'o', 'he\x1b[31mllo\x1b]0;t\x07 wor'], [0.2, 'o', 'ld\r\nnext\x1b[K\r\n'], [0.3, 'o', '\x1b[3Gcret\x1b[1Gse']]
    got = list(AUDIT.stream_lines(cast(events)))
    assert got == [(0.1, ' ', 'hello world'), (0.2, ' ', 'next'), (0.3, ' ', 'cretse')]
    assert 'secret' in shown(events)[-5:]


def test_fleet_configuration_must_exist(tmp_path, monkeypatch):
    """--fleet reads the log host's own configuration; without it the tool
    refuses instead of falling back to the host's recordings."""
    monkeypatch.setattr(AUDIT, 'FLEET_CONF', str(tmp_path / 'ephi-audit-fleet.json'))
    with pytest.raises(AUDIT.AuditError, match='no fleet store'):
        AUDIT.load_conf(AUDIT.FLEET_CONF)
    (tmp_path / 'ephi-audit-fleet.json').write_text(json.dumps({'store': '/srv/fleet', 'layout': 'central'}))
    conf = AUDIT.load_conf(AUDIT.FLEET_CONF)
    assert (conf['store'], conf['layout']) == ('/srv/fleet', 'central')
