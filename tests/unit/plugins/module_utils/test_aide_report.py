# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parser tests on real AIDE output.

The fixtures were captured in the lab containers (fixtures/aide/<version>/):
AIDE 0.18.3 on Debian 12 and 0.19.1 on Debian 13, from the same scenario: a
baseline of a small tree, then one file's content changed, one mode, one
owner, one symlink target, one file replaced by a directory, one file
removed and one added. ``*.json`` is ``-A report_format=json``,
``nosummary.plain.txt`` has ``report_summarize_changes`` and
``report_grouped`` off.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.ephi.safeguards.plugins.module_utils.aide_report import (
    AideReportError,
    accept_report_name,
    attribute_name,
    baseline_log_line,
    baseline_plan,
    check_result,
    decode_exit_status,
    parse_json,
    parse_plain,
    parse_report,
    update_failed,
    utc_timestamp,
)

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures', 'aide')
VERSIONS = {'0.18': '0.18.3', '0.19': '0.19.1'}

CHANGED = [
    ('/tmp/cap/w/conf', 'f', ['size', 'sha256', 'sha512']),
    ('/tmp/cap/w/link', 'l', ['link_name', 'size', 'inode']),
    ('/tmp/cap/w/owner', 'f', ['uid', 'gid']),
    ('/tmp/cap/w/perm', 'f', ['perm', 'acl']),
    ('/tmp/cap/w/type', 'd', ['file_type', 'perm', 'acl']),
]


def fixture(version, name):
    with open(os.path.join(FIXTURES, version, name)) as fh:
        return fh.read()


@pytest.mark.parametrize('version', sorted(VERSIONS))
@pytest.mark.parametrize('name', ['changes.json', 'changes.plain.txt', 'nosummary.plain.txt'])
def test_changes_are_parsed_alike_in_every_format(version, name):
    result = check_result(7, fixture(version, name))
    assert result['differences'] is True
    assert result['aide_version'] == VERSIONS[version]
    assert result['report_format'] == ('json' if name.endswith('.json') else 'plain')
    assert result['added'] == ['/tmp/cap/w/sub/new']
    assert result['removed'] == ['/tmp/cap/w/gone']
    assert result['changed_paths'] == [path for path, dummy, dummy2 in CHANGED]
    assert result['summary'] == {'total': 9, 'added': 1, 'removed': 1, 'changed': 5}
    for entry, (path, ftype, attributes) in zip(result['changed_entries'], CHANGED):
        assert entry['path'] == path
        assert entry['attributes'] == attributes
        if name != 'nosummary.plain.txt':
            assert entry['type'] == ftype
            assert entry['summary'] and entry['summary'] == entry['summary'].rstrip()
        else:
            assert entry['summary'] is None
    # The "entry has different attributes" warning printed before the report.
    assert result['report_warnings'] == [
        'Entry /tmp/cap/w/type in databases has different attributes: -s-c-m-i-b-n-sha256-sha512']


@pytest.mark.parametrize('version', sorted(VERSIONS))
def test_plain_and_json_agree_on_database_hashes(version):
    plain = parse_plain(fixture(version, 'changes.plain.txt'))
    json_report = parse_json(fixture(version, 'changes.json'))
    assert plain['databases'] == json_report['databases']
    assert list(plain['databases']) == ['/tmp/cap/aide.db']
    assert plain['databases']['/tmp/cap/aide.db']['sha512'].endswith('==')


def test_hash_sums_differ_by_version():
    # 0.19 dropped the weak and non-standard hash sums from H and added sha3.
    assert 'md5' in parse_json(fixture('0.18', 'clean.json'))['databases']['/tmp/cap/aide.db']
    hashes19 = parse_plain(fixture('0.19', 'clean.plain.txt'))['databases']['/tmp/cap/aide.db']
    assert 'md5' not in hashes19 and 'sha3_512' in hashes19


@pytest.mark.parametrize('version', sorted(VERSIONS))
@pytest.mark.parametrize('name', ['clean.json', 'clean.plain.txt'])
def test_clean_check(version, name):
    result = check_result(0, fixture(version, name))
    assert result['differences'] is False
    assert result['added'] == result['removed'] == result['changed_entries'] == []
    assert result['outline'] == 'AIDE found NO differences between database and filesystem. Looks okay!!'
    assert result['summary']['total'] == 9


@pytest.mark.parametrize('rc,bits', [
    (0, (False, False, False)),
    (1, (True, False, False)),
    (2, (False, True, False)),
    (4, (False, False, True)),
    (5, (True, False, True)),
    (7, (True, True, True)),
])
def test_exit_status_bit_mask(rc, bits):
    status = decode_exit_status(rc)
    assert (status['added'], status['removed'], status['changed']) == bits
    assert status['error'] is None
    assert status['differences'] is (rc != 0)


@pytest.mark.parametrize('rc,error', [
    (14, 'writing error'), (17, 'configuration error'), (18, 'IO error'),
    (19, 'version mismatch error'), (24, 'database error'), (99, 'unknown error'), (9, 'unknown error'),
])
def test_exit_status_errors(rc, error):
    status = decode_exit_status(rc)
    assert status['error'] == error
    assert status['differences'] is False
    assert not (status['added'] or status['removed'] or status['changed'])


def test_error_result_is_not_parsed():
    # rc 18: missing database; the output is only an error message.
    result = check_result(18, '')
    assert result['exit_status']['error'] == 'IO error'
    assert 'added' not in result


def test_report_disagreeing_with_exit_status_is_refused():
    with pytest.raises(AideReportError, match='exit status 0'):
        check_result(0, fixture('0.18', 'changes.json'))
    with pytest.raises(AideReportError, match='missing'):
        check_result(7, fixture('0.19', 'clean.plain.txt'))


@pytest.mark.parametrize('text', ['', 'random text\n', '{"not": "aide"}', '{broken'])
def test_garbage_is_refused(text):
    with pytest.raises(AideReportError):
        parse_report(text)


@pytest.mark.parametrize('label,name', [
    ('Mtime', 'modify_time'), ('Ctime', 'change_time'), ('Size (>)', 'growing_size'),
    ('File type', 'file_type'), ('SHA512', 'sha512'), ('SHA512/256', 'sha512_256'),
    ('SHA3-256', 'sha3_256'), ('STRIBOG256', 'stribog256'), ('Linkcount', 'link_count'), ('Caps', 'capabilities'),
])
def test_attribute_names_match_aide_json(label, name):
    assert attribute_name(label) == name


def test_summary_column_may_contain_colons():
    # ':' marks an ignored attribute in the summary; the path starts at ': /'.
    before = 'f =.p.. .....A.   : /tmp/cap/w/perm'
    after = 'f =.p.. ..:..A.   : /tmp/cap/w/perm'
    text = fixture('0.18', 'changes.plain.txt').replace(before, after)
    report = parse_plain(text)
    assert [e['summary'] for e in report['changed'] if e['path'] == '/tmp/cap/w/perm'] == ['f =.p.. ..:..A.']


def test_paths_with_spaces_and_colons():
    text = fixture('0.19', 'changes.plain.txt').replace('/tmp/cap/w/sub/new', '/tmp/cap/w/a b: c')
    assert parse_plain(text)['added'] == ['/tmp/cap/w/a b: c']


# The baseline module's pure parts. 1767323045 is 2026-01-02T03:04:05Z.
WHEN = 1767323045.75


@pytest.mark.parametrize('action,db_exists,plan', [
    ('init', False, 'init'),
    ('init', True, 'none'),
    ('reinit', False, 'init'),
    ('reinit', True, 'none'),
    ('accept', True, 'update'),
    ('accept', False, 'update'),
])
def test_baseline_plan(action, db_exists, plan):
    assert baseline_plan(action, db_exists) == plan


def test_baseline_plan_refuses_unknown_actions():
    with pytest.raises(ValueError):
        baseline_plan('reset', True)


def test_timestamps_are_utc():
    assert utc_timestamp(WHEN) == '2026-01-02T03:04:05Z'
    assert utc_timestamp(WHEN, compact=True) == '20260102T030405Z'
    assert accept_report_name(WHEN) == 'aide-accept-20260102T030405Z.txt'


# The lines the role's shell scripts wrote before (printf formats of the old
# tasks/baseline.yml); molecule/aide/tests read them.
@pytest.mark.parametrize('action', ['init', 'reinit'])
def test_init_log_line(action):
    assert baseline_log_line(WHEN, action, 'ephi-admin', 'root', 'ab' * 64) == (
        '2026-01-02T03:04:05Z action=%s remote_user=ephi-admin controller_user=root db_sha512=%s\n' % (action, 'ab' * 64))


def test_accept_log_line():
    report = '/var/lib/aide/ephi-safeguards/aide-accept-20260102T030400Z.txt'
    assert baseline_log_line(WHEN, 'accept', 'ephi-admin', 'root', 'cd' * 64, aide_rc=5, report=report) == (
        '2026-01-02T03:04:05Z action=accept aide_rc=5 remote_user=ephi-admin controller_user=root '
        'report=%s db_sha512=%s\n' % (report, 'cd' * 64))


@pytest.mark.parametrize('rc,failed', [(0, False), (1, False), (5, False), (7, False), (8, True), (14, True),
                                       (17, True), (18, True), (-9, True), (None, True)])
def test_update_failed(rc, failed):
    assert update_failed(rc) is failed
