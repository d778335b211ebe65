# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""roles/log_host/files/ephi-log-host-retention: idle recordings compressed
(late lines appended as another gzip member), event logs rotated and
compressed, nothing compressed while rsyslog still has it open, expired files
deleted."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gzip
import os

from ansible_collections.ephi.safeguards.tests.unit.roles.session_programs import load

RETENTION = load('ephi_log_host_retention', os.path.abspath(os.path.join(
    os.path.dirname(__file__), '..', '..', '..', 'roles', 'log_host', 'files', 'ephi-log-host-retention')))
NOW = 1800000000.0
DAY = 86400


def write(path, data, age_days):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(str(path), (NOW - age_days * DAY, NOW - age_days * DAY))
    return path


def setup(tmp_path):
    store, work = tmp_path / 'fleet', tmp_path / '.ephi-log-host'
    work.mkdir()
    conf = {'store': str(store), 'work_dir': str(work), 'pid_file': str(tmp_path / 'none.pid'),
            'compress_after_days': 1, 'retention_days': 2190}
    return store, work, conf


def run(conf, busy=(), hups=None, pid=0):
    """A pass at NOW; BUSY: paths rsyslog holds open (by inode, as /proc shows them)."""
    inodes = set()
    for path in busy:
        st = os.stat(str(path))
        inodes.add((st.st_dev, st.st_ino))
    hups = [] if hups is None else hups
    return RETENTION.run(conf, now=NOW, inodes=lambda pid: inodes, hup=lambda: hups.append(1),
                         sleep=lambda s: None, wait=0, pid=pid)


def test_idle_recordings_compressed_fresh_ones_left_and_late_lines_appended(tmp_path):
    store, _work, conf = setup(tmp_path)
    user = store / 'lab-1' / 'erin'
    write(user / 'old.cast', b'header\nline 1\n', 2)
    write(user / 'fresh.cast', b'header\n', 0)
    counts = run(conf)
    assert counts['compressed'] == 1 and counts['deferred'] == 0, counts
    assert gzip.decompress((user / 'old.cast.gz').read_bytes()) == b'header\nline 1\n'
    assert not (user / 'old.cast').exists() and (user / 'fresh.cast').read_bytes() == b'header\n'
    assert os.stat(str(user / 'old.cast.gz')).st_mtime == NOW - 2 * DAY
    # A host that was away delivers the rest later: rsyslog makes a new old.cast.
    write(user / 'old.cast', b'line 2\n', 1.5)
    run(conf)
    assert gzip.decompress((user / 'old.cast.gz').read_bytes()) == b'header\nline 1\nline 2\n'
    assert sorted(os.listdir(str(user))) == ['fresh.cast', 'old.cast.gz']


def test_event_logs_rotated_and_compressed_own_logs_too(tmp_path):
    store, work, conf = setup(tmp_path)
    write(store / 'lab-1' / 'events.log', b'e1\n', 0)
    write(store / 'lab-1' / 'user-events.log', b'', 0)
    write(work / 'rsyslogd.log', b'r1\n', 0)
    hups = []
    counts = run(conf, hups=hups, pid=4242)
    assert hups == [1] and counts['renamed'] == 2 and counts['compressed'] == 2, counts
    host = sorted(os.listdir(str(store / 'lab-1')))
    assert host == ['events.log-20270115T080000Z.gz', 'user-events.log'], host
    assert gzip.decompress((store / 'lab-1' / 'events.log-20270115T080000Z.gz').read_bytes()) == b'e1\n'
    assert sorted(os.listdir(str(work))) == ['rsyslogd.log-20270115T080000Z.gz']


def test_a_stale_pid_file_is_not_signalled(tmp_path):
    # This test's own process is no rsyslogd.
    (tmp_path / 'stale.pid').write_text('%d\n' % os.getpid())
    assert RETENTION.read_pid(str(tmp_path / 'stale.pid')) == 0
    assert RETENTION.read_pid(str(tmp_path / 'missing.pid')) == 0


def test_nothing_is_compressed_while_rsyslog_holds_it_open(tmp_path):
    store, _work, conf = setup(tmp_path)
    rec = write(store / 'lab-1' / 'erin' / 'old.cast', b'header\n', 2)
    events = write(store / 'lab-1' / 'events.log', b'e1\n', 0)
    # The renamed files keep their inodes: rsyslog still writing to them.
    counts = run(conf, busy=[rec, events], pid=4242)
    assert counts['compressed'] == 0 and counts['deferred'] == 2, counts
    assert (store / 'lab-1' / 'erin' / 'old.cast.compressing').read_bytes() == b'header\n'
    # Closed by the next run: compressed then, nothing lost.
    counts = run(conf, pid=4242)
    assert counts['compressed'] == 2 and counts['deferred'] == 0, counts
    assert gzip.decompress((store / 'lab-1' / 'erin' / 'old.cast.gz').read_bytes()) == b'header\n'


def test_expired_files_are_deleted(tmp_path):
    store, work, conf = setup(tmp_path)
    user = store / 'lab-1' / 'erin'
    write(user / 'ancient.cast.gz', gzip.compress(b'x'), 2191)
    write(user / 'kept.cast.gz', gzip.compress(b'x'), 2189)
    write(store / 'lab-1' / 'events.log-20210101T000000Z.gz', gzip.compress(b'x'), 2191)
    write(work / 'rsyslogd.log-20210101T000000Z.gz', gzip.compress(b'x'), 2191)
    # Not the retention's: left alone whatever their age.
    write(store / 'lab-1' / 'notes.txt.gz', b'x', 3000)
    counts = run(conf)
    assert counts['deleted'] == 3, counts
    assert sorted(os.listdir(str(user))) == ['kept.cast.gz']
    assert sorted(os.listdir(str(store / 'lab-1'))) == ['erin', 'notes.txt.gz']
    assert os.listdir(str(work)) == []


def test_a_recording_symlink_is_not_followed(tmp_path):
    store, _work, conf = setup(tmp_path)
    outside = write(tmp_path / 'outside.cast', b'secret\n', 5)
    (store / 'lab-1' / 'erin').mkdir(parents=True)
    os.symlink(str(outside), str(store / 'lab-1' / 'erin' / 'link.cast'))
    os.utime(str(store / 'lab-1' / 'erin' / 'link.cast'), (NOW - 5 * DAY, NOW - 5 * DAY), follow_symlinks=False)
    counts = run(conf)
    assert counts['compressed'] == 0 and outside.read_bytes() == b'secret\n'
    assert os.path.islink(str(store / 'lab-1' / 'erin' / 'link.cast'))


def test_main_refuses_a_missing_store(tmp_path, monkeypatch):
    _store, _work, conf = setup(tmp_path)
    path = tmp_path / 'conf.json'
    path.write_text('{"store": "%s/none", "work_dir": "%s", "pid_file": "x", "compress_after_days": 1, '
                    '"retention_days": 1}' % (tmp_path, tmp_path))
    monkeypatch.setattr(RETENTION.syslog, 'syslog', lambda *a: None)
    assert RETENTION.main(['x', str(path)]) == 1
    assert RETENTION.main(['x']) == 2
