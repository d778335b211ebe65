# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The verify playbook's report filters: evidence_html and evidence_junit."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.ephi.safeguards.plugins.filter.evidence_report import FilterModule

FILTERS = FilterModule().filters()
HTML = FILTERS['evidence_html']
JUNIT = FILTERS['evidence_junit']
HOSTILE = '<script>alert("x")</script> & \'q\' {{ lookup("pipe", "id") }} \x1b[31m\x00'


def record(cid, safeguard, hipaa, status, observed='ok', stig='RHEL-08-010030'):
    return {'id': cid, 'safeguard': safeguard, 'hipaa': hipaa, 'stig': stig,
            'check': 'what %s checks' % cid, 'observed': observed, 'status': status}


def evidence():
    return {
        'web-1': [
            record('tmux-lock-policy', 'automatic_logoff', '164.312(a)(2)(iii)', 'pass'),
            record('encrypted-logs-mounted', 'encryption_at_rest', '164.312(a)(2)(iv)', 'fail', observed=HOSTILE),
            record('ssh-key-policy-transport', 'transmission_security', '164.312(e)(1), 164.312(e)(2)(i)', 'pass'),
            record('ssh-key-policy-emergency-access', 'emergency_access', '164.312(a)(2)(ii)', 'not_applicable',
                   observed='no emergency account configured', stig=''),
        ],
        'web-2': [
            record('tmux-lock-policy', 'automatic_logoff', '164.312(a)(2)(iii)', 'pass'),
            record('aide-check-clean', 'integrity', '164.312(c)(1)', 'pass'),
        ],
        'db-down': [],
    }


class Elements(HTMLParser):
    """Tags, attributes and text of an HTML document, as a browser's tokenizer sees them."""

    def __init__(self):
        HTMLParser.__init__(self)
        self.tags = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(document):
    parser = Elements()
    parser.feed(document)
    parser.close()
    return parser


def test_filters_are_exported():
    assert sorted(FILTERS) == ['evidence_by_host', 'evidence_html', 'evidence_junit']


def test_html_escapes_every_value():
    page = HTML(evidence(), title='<b>Fleet</b> & co')
    parsed = parse(page)
    assert [tag for tag, attrs in parsed.tags if tag == 'script'] == []
    assert '<script>alert' not in page
    assert '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;q&#x27;' in page
    assert '<b>Fleet</b>' not in page and '&lt;b&gt;Fleet&lt;/b&gt; &amp; co' in page
    # Controls and NUL are shown as escapes, never passed through.
    assert '\x1b' not in page and '\x00' not in page and '\\x1b[31m\\x00' in page
    # The text a browser shows is the original value.
    assert any('<script>alert("x")</script>' in text for text in parsed.text)


def test_html_is_self_contained():
    page = HTML(evidence())
    for tag, attrs in parse(page).tags:
        assert tag not in ('script', 'link', 'img', 'iframe', 'object', 'embed'), tag
        assert not set(attrs) & set(['src', 'href', 'action']), (tag, attrs)
        assert not any(name.startswith('on') for name in attrs), (tag, attrs)
    assert "default-src 'none'" in page
    assert not re.search(r'url\(|@import|https?://', page.split('</style>', maxsplit=1)[0])


def test_html_summary_counts_and_time():
    page = HTML(evidence(), generated='2025-01-02T03:04:05Z')
    assert '3 host(s), 6 control(s), 1 failure(s), 1 not applicable, 1 host(s) without evidence.' in page
    assert '<time>2025-01-02T03:04:05Z</time>' in page
    when = datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    assert '<time>2025-01-02 03:04:05 UTC</time>' in HTML(evidence(), generated=when)
    assert re.search(r'<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</time>', HTML(evidence()))


def matrix_cells(page):
    """{host: [(cell class, cell text start)]} from the matrix rows."""
    body = page.split('<table class="matrix">', 1)[1].split('</table>', 1)[0]
    rows = {}
    for row in re.findall(r'<tr><th class="host" scope="row">(.*?)</tr>', body, re.S):
        host = row.split('<small>', 1)[0]
        rows[host] = re.findall(r'<td class="([^"]+)"[^>]*>(?:<details><summary[^>]*>)?([^<]*)', row)
    return rows


def test_html_matrix_columns_follow_the_regulation():
    page = HTML(evidence())
    head = page.split('<table class="matrix">', 1)[1].split('</thead>', 1)[0]
    columns = re.findall(r'<th class="col" scope="col">([^<]+)<span class="cite">([^<]*)</span>', head)
    assert columns == [
        ('Emergency access', '\u00a7164.312(a)(2)(ii)'),
        ('Automatic logoff', '\u00a7164.312(a)(2)(iii)'),
        ('Encryption at rest', '\u00a7164.312(a)(2)(iv)'),
        ('Integrity', '\u00a7164.312(c)(1)'),
        ('Transmission security', '\u00a7164.312(e)(1)'),
    ]


def test_html_cells_show_status_in_words_and_colour():
    rows = matrix_cells(HTML(evidence()))
    assert rows['web-1'] == [
        ('s-not_applicable', '\u2013 N/A'), ('s-pass', '\u2713 PASS'), ('s-fail', '\u2717 FAIL'),
        ('s-missing', ''), ('s-pass', '\u2713 PASS'),
    ]
    assert rows['web-2'][3] == ('s-pass', '\u2713 PASS')
    assert rows['web-2'][0][0] == 's-missing'
    # A host without evidence is one cell across the row, and a finding.
    assert rows['db-down'] == [('s-missing nodata', '')]
    assert 'no evidence records' in HTML(evidence()).split('db-down', 1)[1]


def test_html_failing_cell_lists_its_controls():
    page = HTML(evidence())
    cell = re.search(r'<td class="s-fail"><details>.*?</details></td>', page, re.S).group(0)
    assert '<code>encrypted-logs-mounted</code>' in cell
    assert '164.312(a)(2)(iv)' in cell and 'RHEL-08-010030' in cell
    assert 'what encrypted-logs-mounted checks' in cell and '&lt;script&gt;' in cell
    # The host with a failure is open in the per-host tables, the passing one is not.
    assert re.search(r'<details class="hostsec" open><summary>web-1 ', page)
    assert re.search(r'<details class="hostsec"><summary>web-2 ', page)


def test_html_all_pass_and_empty_inputs():
    good = evidence()
    del good['db-down']
    good['web-1'][1]['status'] = 'pass'
    assert '\u2713 All pass' in HTML(good)
    assert 'No hosts' in HTML({}) and 'No hosts' in HTML(None)
    assert '0 host(s), 0 control(s)' in HTML({})


def test_unknown_status_is_an_error_not_a_pass():
    data = {'h': [record('x-1', 'integrity', '164.312(c)(1)', 'maybe')]}
    page = HTML(data)
    assert matrix_cells(page)['h'] == [('s-error', '! ERROR')]
    assert '1 failure(s)' in page
    suite = ET.fromstring(JUNIT(data)).find('testsuite')
    assert suite.get('errors') == '1' and suite.get('failures') == '0'
    assert "unknown status 'maybe'" in suite.find('testcase/error').get('message')


def test_missing_fields_and_odd_types_do_not_break_the_report():
    data = {'h': [{'id': 'only-an-id', 'status': 'pass'},
                  {'id': 7, 'safeguard': None, 'hipaa': '164.312(b)', 'observed': {'k': [1, 2]}, 'status': 'FAIL'}]}
    page = HTML(data)
    assert 'only-an-id' in page and '{&quot;k&quot;: [1, 2]}' in page
    assert '\u00a7164.312(b)' in page  # no safeguard: the citation names the column
    root = ET.fromstring(JUNIT(data))
    assert root.get('tests') == '2' and root.get('failures') == '1'


def test_bad_input_is_refused():
    with pytest.raises(AnsibleFilterError, match='expected a dict'):
        HTML(['web-1'])
    with pytest.raises(AnsibleFilterError, match='not a list'):
        JUNIT({'web-1': 'pass'})
    with pytest.raises(AnsibleFilterError, match='not a dict'):
        JUNIT({'web-1': ['pass']})


def test_junit_parses_with_the_right_counts():
    document = JUNIT(evidence(), title='Fleet <1>', generated='2025-01-02T03:04:05')
    assert document.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(document.encode('utf-8'))
    assert root.tag == 'testsuites' and root.get('name') == 'Fleet <1>'
    assert [(s.get('name'), s.get('tests'), s.get('failures'), s.get('errors'), s.get('skipped'))
            for s in root.findall('testsuite')] == [
        ('web-1', '4', '1', '0', '1'),
        ('web-2', '2', '0', '0', '0'),
        ('db-down', '1', '0', '1', '0'),
    ]
    assert (root.get('tests'), root.get('failures'), root.get('errors'), root.get('skipped')) == ('7', '1', '1', '1')
    for suite in root.findall('testsuite'):
        cases = suite.findall('testcase')
        assert int(suite.get('tests')) == len(cases)
        assert int(suite.get('failures')) == len(suite.findall('testcase/failure'))
        assert int(suite.get('errors')) == len(suite.findall('testcase/error'))
        assert int(suite.get('skipped')) == len(suite.findall('testcase/skipped'))
        assert suite.get('timestamp') == '2025-01-02T03:04:05'
        assert all(case.get('classname') == suite.get('name') for case in cases)


def test_junit_failure_skipped_and_missing_host():
    root = ET.fromstring(JUNIT(evidence()))
    web1 = root.find("testsuite[@name='web-1']")
    assert [c.get('name') for c in web1.findall('testcase')] == [
        'tmux-lock-policy', 'encrypted-logs-mounted', 'ssh-key-policy-transport', 'ssh-key-policy-emergency-access']
    failure = web1.find("testcase[@name='encrypted-logs-mounted']/failure")
    # The observed value is the message, intact but for the characters XML cannot carry.
    assert failure.get('message') == HOSTILE.replace('\x1b', '\\x1b').replace('\x00', '\\x00')
    assert 'HIPAA: 164.312(a)(2)(iv)' in failure.text
    skipped = web1.find("testcase[@name='ssh-key-policy-emergency-access']/skipped")
    assert skipped.get('message') == 'no emergency account configured'
    assert web1.find("testcase[@name='tmux-lock-policy']/failure") is None
    props = dict((p.get('name'), p.get('value')) for p in web1.findall("testcase[@name='ssh-key-policy-transport']/properties/property"))
    assert props == {'safeguard': 'transmission_security', 'hipaa': '164.312(e)(1), 164.312(e)(2)(i)', 'stig': 'RHEL-08-010030'}
    down = root.find("testsuite[@name='db-down']/testcase")
    assert down.get('name') == 'evidence' and 'no evidence records' in down.find('error').get('message')


def test_junit_empty_input():
    root = ET.fromstring(JUNIT({}))
    assert root.findall('testsuite') == [] and root.get('tests') == '0'


def test_surrogates_and_c1_controls_are_escaped():
    data = {'h\udcff': [record('id', 'integrity', '164.312(c)(1)', 'fail', observed='a\udc80b\x85c\ufffe')]}
    root = ET.fromstring(JUNIT(data).encode('utf-8'))
    assert root.find('testsuite').get('name') == 'h\\udcff'
    assert root.find('testsuite/testcase/failure').get('message') == 'a\\udc80b\\x85c\\ufffe'
    HTML(data).encode('utf-8')


def test_html_host_tables_list_failures_first():
    page = HTML(evidence())
    web1 = page.split('<summary>web-1 ', 1)[1].split('</table>', 1)[0]
    assert re.findall(r'<td class="id"><code>([^<]+)</code>', web1) == [
        'encrypted-logs-mounted', 'tmux-lock-policy', 'ssh-key-policy-transport', 'ssh-key-policy-emergency-access']
    assert page.endswith('</html>')
    assert '<small>no evidence</small>' in page


# evidence_by_host: what verify.yml reports, collected without naming roles.
BY_HOST = FILTERS['evidence_by_host']


def test_evidence_by_host_lists_every_host_and_empties_failed_ones():
    ok = [record('a-1', 'integrity', '164.312(c)(1)', 'pass')]
    partial = [record('b-1', 'integrity', '164.312(c)(1)', 'pass')]
    hostvars = {'good': {'ephi_verify_controls': ok}, 'failed': {'ephi_verify_controls': partial},
                'unreachable': {}, 'no-role-ran': {}}
    got = BY_HOST(hostvars, ['good', 'failed', 'unreachable', 'no-role-ran'], ['good', 'no-role-ran'])
    assert got == {'good': ok, 'failed': [], 'unreachable': [], 'no-role-ran': []}
    assert list(got) == ['good', 'failed', 'unreachable', 'no-role-ran']


def test_evidence_by_host_rejects_what_is_not_hostvars():
    with pytest.raises(AnsibleFilterError, match='evidence_by_host'):
        BY_HOST(None, ['a'], ['a'])
