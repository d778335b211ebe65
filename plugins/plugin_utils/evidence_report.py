# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The filters of the verify playbook (plugins/filter/evidence_report.py loads
this file when one of them runs): the evidence of every host, and the report
as HTML and as JUnit XML.

Both take what playbooks/verify.yml writes to evidence.json, a dict of host
name to the list of control records of that host (id, safeguard, hipaa, stig,
check, observed, status), and return a document as one string. They run on
the controller. Every value came from a managed host and is treated as
hostile: it is escaped, and characters that XML cannot carry are replaced by
a visible escape.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import re
import xml.etree.ElementTree as ET
from html import escape

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

DEFAULT_TITLE = 'HIPAA technical safeguards evidence (45 CFR 164.312)'
NO_EVIDENCE = 'no evidence records: the host failed or was unreachable before the report'
STATUS_TEXT = {'pass': 'PASS', 'fail': 'FAIL', 'error': 'ERROR', 'not_applicable': 'N/A', 'missing': 'NO DATA'}
STATUS_MARK = {'pass': '\u2713', 'fail': '\u2717', 'error': '!', 'not_applicable': '\u2013', 'missing': '?'}
# Characters XML 1.0 cannot carry, and other controls that only confuse a reader.
_BAD_CHARS = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]')
_ROMAN = {'i': 1, 'v': 5, 'x': 10, 'l': 50}


def _visible_escape(match):
    code = ord(match.group())
    return '\\x%02x' % code if code < 0x100 else '\\u%04x' % code


def _text(value):
    """Any record value as text that is safe in XML and HTML once escaped."""
    if value is None:
        value = ''
    elif isinstance(value, (dict, list, tuple)):
        value = json.dumps(value, sort_keys=True, default=to_text)
    else:
        value = to_text(value, errors='surrogate_or_replace')
    return _BAD_CHARS.sub(_visible_escape, value)


def _status(value):
    status = _text(value).strip().lower()
    if status in ('pass', 'fail', 'not_applicable'):
        return status
    return 'error'


def _roman(token):
    total = 0
    for char, following in zip(token, token[1:] + ' '):
        value = _ROMAN[char]
        total += -value if _ROMAN.get(following, 0) > value else value
    return total


def _citation_key(citation):
    """A sort key in paragraph order: 164.312(a)(2)(iv) sorts as 164.312, a, 2, 4 (roman numerals as numbers)."""
    match = re.match(r'\s*([0-9.]+)((?:\([0-9A-Za-z]+\))*)', citation)
    if not match or not match.group(1):
        return ((2, citation),)
    key = [match.group(1)]
    for level, token in enumerate(re.findall(r'\(([0-9A-Za-z]+)\)', match.group(2))):
        if token.isdigit():
            key.append(int(token))
        elif level == 2 and set(token) <= set(_ROMAN):
            key.append(_roman(token))
        else:
            key.append(token)
    # Tagged with their kind, so that a number and a letter at one level still compare.
    return tuple((0, part) if isinstance(part, int) else (1, part) for part in key)


def _citations(record):
    return [c.strip() for c in record['hipaa'].split(',') if c.strip()]


def _label(safeguard):
    text = safeguard.replace('_', ' ').strip()
    return text[:1].upper() + text[1:]


def _timestamp(generated):
    """(display text, ISO 8601 text) of the report time; now (UTC) by default."""
    if generated is None or generated == '':
        generated = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    if isinstance(generated, datetime.datetime):
        if generated.tzinfo is not None:
            generated = generated.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return generated.strftime('%Y-%m-%d %H:%M:%S UTC'), generated.strftime('%Y-%m-%dT%H:%M:%S')
    text = _text(generated)
    return text, text


def _normalise(evidence):
    """The input as an ordered list of (host, [record]) with every field a plain string."""
    if evidence is None:
        evidence = {}
    if not isinstance(evidence, dict):
        raise AnsibleFilterError('evidence report: expected a dict of host name to a list of control records, got %s'
                                 % type(evidence).__name__)
    hosts = []
    for host, records in evidence.items():
        if records is None:
            records = []
        if not isinstance(records, (list, tuple)):
            raise AnsibleFilterError('evidence report: the records of host %s are not a list' % _text(host))
        plain = []
        for record in records:
            if not isinstance(record, dict):
                raise AnsibleFilterError('evidence report: a record of host %s is not a dict' % _text(host))
            item = dict((field, _text(record.get(field)))
                        for field in ('id', 'safeguard', 'hipaa', 'stig', 'check', 'observed'))
            item['status'] = _status(record.get('status'))
            item['raw_status'] = _text(record.get('status'))
            if not item['safeguard']:
                item['safeguard'] = (_citations(item) or ['other'])[0]
            plain.append(item)
        hosts.append((_text(host), plain))
    return hosts


def _columns(hosts):
    """[(safeguard, citation)] in 164.312 paragraph order: the matrix columns."""
    cites = {}
    for dummy, records in hosts:
        for record in records:
            found = cites.setdefault(record['safeguard'], [])
            for citation in _citations(record)[:1] or ['']:
                if citation not in found:
                    found.append(citation)
    columns = []
    for safeguard, found in cites.items():
        # The lowest 164.312 paragraph among the records' first citations heads the column.
        own = sorted((c for c in found if c.startswith('164.312')), key=_citation_key)
        citation = (own or sorted(found, key=_citation_key) or [''])[0]
        columns.append((safeguard, citation))
    return sorted(columns, key=lambda column: (_citation_key(column[1]) if column[1] else ((3, ''),), column[0]))


def _cell_status(records):
    statuses = set(r['status'] for r in records)
    if not records:
        return 'missing'
    for status in ('error', 'fail', 'pass'):
        if status in statuses:
            return status
    return 'not_applicable'


def _counts(records):
    counts = dict((status, 0) for status in ('pass', 'fail', 'error', 'not_applicable'))
    for record in records:
        counts[record['status']] += 1
    return counts


_CSS = """
:root{--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#f6f8fa;
--pass:#116329;--pass-bg:#dafbe1;--fail:#a40e26;--fail-bg:#ffebe9;--na:#59636e;--na-bg:#eef1f4;
--miss:#7d4e00;--miss-bg:#fff8c5}
*{box-sizing:border-box}
body{margin:0;padding:28px 32px;font:14px/1.45 "Segoe UI","Helvetica Neue",Arial,"DejaVu Sans",sans-serif;color:var(--ink);background:#fff}
header{border-bottom:1px solid var(--line);padding-bottom:14px;margin-bottom:18px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:26px 0 10px}
.meta{color:var(--muted);margin:0}
.summary{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0 10px;padding:0;list-style:none}
.summary li{border:1px solid var(--line);border-radius:8px;padding:7px 14px;background:var(--bg);min-width:104px}
.summary span{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.summary b{display:block;font-size:20px}
.summary li.s-pass{background:var(--pass-bg);border-color:#aceebb;color:var(--pass)}
.summary li.s-fail{background:var(--fail-bg);border-color:#ffcecb;color:var(--fail)}
.summary li.s-pass span,.summary li.s-fail span{color:inherit}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid var(--line);padding:6px 8px;vertical-align:top;text-align:left}
thead th{background:var(--bg);font-weight:600}
.matrix th.col{min-width:112px}
.cite,.ref{display:block;white-space:nowrap}
.matrix th.col .cite{font-weight:400;color:var(--muted);font-size:12px}
.matrix th.host{white-space:nowrap;background:#fff}
.matrix th.host small{display:block;font-weight:400;color:var(--muted)}
.matrix td{padding:0}
.matrix td>details>summary,.matrix td>.empty{display:block;padding:9px 10px;font-weight:700;white-space:nowrap}
summary{cursor:pointer;list-style:none}
summary::-webkit-details-marker{display:none}
summary .n{font-weight:400;margin-left:6px;font-size:12px}
.s-pass{background:var(--pass-bg);color:var(--pass)}
.s-fail,.s-error{background:var(--fail-bg);color:var(--fail)}
.s-not_applicable{background:var(--na-bg);color:var(--na)}
.s-missing{background:var(--miss-bg);color:var(--miss)}
.matrix td.s-fail,.matrix td.s-error{box-shadow:inset 4px 0 0 var(--fail)}
.matrix td.s-missing{box-shadow:inset 4px 0 0 #d4a72c}
.matrix td.s-missing .empty{font-weight:400}
.matrix td.nodata{padding:9px 10px;font-weight:600}
.matrix details[open]{min-width:320px}
.controls{list-style:none;margin:0;padding:0 8px 8px;color:var(--ink)}
.controls li{color:var(--ink);background:#fff;border:1px solid var(--line);border-radius:6px;padding:6px 8px;margin-top:6px}
.controls li.s-fail,.controls li.s-error{background:#fff;border-color:#ff8182}
.controls li.s-pass,.controls li.s-not_applicable{background:#fff}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;white-space:nowrap}
dl{margin:4px 0 0;display:grid;grid-template-columns:max-content 1fr;gap:1px 8px;font-size:12px}
dt{color:var(--muted)}
dd{margin:0;overflow-wrap:anywhere}
code,.obs{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12px}
.obs{white-space:pre-wrap;overflow-wrap:anywhere}
.hostsec{margin-bottom:6px}
.hostsec>summary{font-size:15px;font-weight:600;padding:6px 0}
.hostsec>summary::before{content:"\\25b8";display:inline-block;width:1.1em;color:var(--muted)}
.hostsec[open]>summary::before{content:"\\25be"}
.detail{font-size:13px;margin-bottom:8px}
.detail td.status,.detail td.id{white-space:nowrap;font-weight:600}
.detail td.status.s-pass,.detail td.status.s-not_applicable{background:none}
.detail tr.row-fail td,.detail tr.row-error td{background:var(--fail-bg)}
.detail tr.row-not_applicable td{color:var(--na)}
footer{margin-top:26px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);padding-top:10px}
@media print{body{padding:0}.matrix .controls{display:none}.hostsec{break-inside:avoid-page}}
"""


def _badge(status, text=None):
    return '<span class="badge s-%s">%s %s</span>' % (status, STATUS_MARK[status], escape(text or STATUS_TEXT[status]))


def _lines(value, css):
    """A comma-separated list (citations, STIG ids) as one unbreakable span per item."""
    items = [item.strip() for item in value.split(',') if item.strip()] or ['none']
    return ''.join('<span class="%s">%s</span>' % (css, escape(item)) for item in items)


def _control_item(record):
    status = record['status']
    shown = STATUS_TEXT[status] if status != 'error' else 'status %r' % record['raw_status']
    return ''.join([
        '<li class="s-%s">' % status,
        '<code>%s</code> %s' % (escape(record['id']), _badge(status, shown)),
        '<dl><dt>HIPAA</dt><dd>%s</dd>' % _lines(record['hipaa'], 'cite'),
        '<dt>STIG/CIS</dt><dd>%s</dd>' % _lines(record['stig'], 'ref'),
        '<dt>Checked</dt><dd>%s</dd>' % escape(record['check']),
        '<dt>Observed</dt><dd class="obs">%s</dd></dl>' % escape(record['observed']),
        '</li>',
    ])


def _summary(hosts, all_records, totals, empty_hosts):
    failing = totals['fail'] + totals['error']
    findings = failing + len(empty_hosts)
    if not hosts:
        verdict = ('s-fail', 'No hosts')
    elif findings:
        verdict = ('s-fail', '\u2717 %d finding%s' % (findings, '' if findings == 1 else 's'))
    else:
        verdict = ('s-pass', '\u2713 All pass')
    cards = [
        (verdict[0], 'Result', verdict[1]),
        ('', 'Hosts', len(hosts)),
        ('', 'Controls', len(all_records)),
        ('s-pass' if totals['pass'] else '', 'Pass', totals['pass']),
        ('s-fail' if failing else '', 'Fail', failing),
        ('', 'Not applicable', totals['not_applicable']),
    ]
    if empty_hosts:
        cards.append(('s-fail', 'Hosts without evidence', len(empty_hosts)))
    line = '%d host(s), %d control(s), %d failure(s), %d not applicable, %d host(s) without evidence.' % (
        len(hosts), len(all_records), failing, totals['not_applicable'], len(empty_hosts))
    return ''.join(['<ul class="summary">']
                   + ['<li class="%s"><span>%s</span><b>%s</b></li>' % (css, escape(name), escape(str(value)))
                      for css, name, value in cards]
                   + ['</ul>\n<p class="meta" id="summary-line">%s</p>\n' % escape(line)])


def _matrix(hosts, columns):
    out = ['<h2>Hosts \u00d7 safeguards</h2>\n<div class="table-wrap"><table class="matrix">\n<thead><tr><th>Host</th>']
    for safeguard, citation in columns:
        out.append('<th class="col" scope="col">%s<span class="cite">%s</span></th>' % (
            escape(_label(safeguard)), escape(('\u00a7' + citation) if citation else '')))
    out.append('</tr></thead>\n<tbody>\n')
    for host, records in hosts:
        counts = _counts(records)
        out.append('<tr><th class="host" scope="row">%s<small>%s</small></th>' % (
            escape(host), '%d control(s), %d failing' % (len(records), counts['fail'] + counts['error'])
            if records else 'no evidence'))
        if not records:
            out.append('<td class="s-missing nodata" colspan="%d">%s %s</td></tr>\n' % (
                max(len(columns), 1), _badge('missing'), escape(NO_EVIDENCE)))
            continue
        for safeguard, dummy in columns:
            cell = [r for r in records if r['safeguard'] == safeguard]
            if not cell:
                out.append('<td class="s-missing"><span class="empty">\u2014 no control</span></td>')
                continue
            status = _cell_status(cell)
            passed = sum(1 for r in cell if r['status'] == 'pass')
            applicable = sum(1 for r in cell if r['status'] != 'not_applicable')
            out.append('<td class="s-%s"><details><summary title="%s">%s %s<span class="n">%s</span></summary>'
                       '<ul class="controls">%s</ul></details></td>' % (
                           status, escape('%d of %d applicable control(s) pass; %d do not apply'
                                          % (passed, applicable, len(cell) - applicable)),
                           STATUS_MARK[status], STATUS_TEXT[status],
                           escape('%d/%d' % (passed, applicable) if applicable else '%d n/a' % len(cell)),
                           ''.join(_control_item(r) for r in cell)))
        out.append('</tr>\n')
    out.append('</tbody></table></div>\n')
    return out


def _host_tables(hosts):
    out = ['<h2>Controls by host</h2>\n']
    for host, records in hosts:
        counts = _counts(records)
        failing = counts['fail'] + counts['error']
        if not records:
            badge = _badge('missing')
        elif failing:
            badge = _badge('fail', '%d failing' % failing)
        else:
            badge = _badge('pass', 'all %d pass or do not apply' % len(records))
        out.append('<details class="hostsec"%s><summary>%s %s</summary>\n' % (
            ' open' if failing or not records else '', escape(host), badge))
        if not records:
            out.append('<p>%s</p></details>\n' % escape(NO_EVIDENCE))
            continue
        out.append('<div class="table-wrap"><table class="detail"><thead><tr><th>Status</th><th>Control</th>'
                   '<th>Safeguard</th><th>HIPAA</th><th>STIG/CIS</th><th>What was checked</th><th>Observed</th>'
                   '</tr></thead><tbody>\n')
        # Failures first, then the rest in the order the roles report them.
        for record in sorted(records, key=lambda r: r['status'] not in ('fail', 'error')):
            status = record['status']
            out.append('<tr class="row-%s"><td class="status s-%s">%s %s</td><td class="id"><code>%s</code></td>'
                       '<td>%s</td><td>%s</td><td>%s</td><td>%s</td><td class="obs">%s</td></tr>\n' % (
                           status, status, STATUS_MARK[status], escape(STATUS_TEXT[status]), escape(record['id']),
                           escape(_label(record['safeguard'])), _lines(record['hipaa'], 'cite'),
                           _lines(record['stig'], 'ref'), escape(record['check']), escape(record['observed'])))
        out.append('</tbody></table></div></details>\n')
    return out


def evidence_by_host(hostvars, all_hosts, active_hosts):
    """Host name -> that host's control records, for every host of the play.

    Each role's verify entry point appends its records to the host variable
    ``ephi_verify_controls``; the playbook never names the roles. A host that
    is not among ``active_hosts`` (it failed or was unreachable) gets an empty
    list even if some roles had recorded evidence before it failed: the report
    shows it as a host without evidence, never as a partial pass.
    """
    try:
        active = set(active_hosts)
        return dict((host, list(hostvars[host].get('ephi_verify_controls') or []) if host in active else [])
                    for host in all_hosts)
    except (TypeError, KeyError, AttributeError) as exc:
        raise AnsibleFilterError('evidence_by_host expects hostvars and two lists of host names: %s' % to_text(exc))


def evidence_html(evidence, title=DEFAULT_TITLE, generated=None):
    """A self-contained HTML page: the hosts x safeguards matrix, then every control of every host."""
    hosts = _normalise(evidence)
    title = _text(title) or DEFAULT_TITLE
    shown_time, dummy = _timestamp(generated)
    all_records = [r for dummy, records in hosts for r in records]
    empty_hosts = [host for host, records in hosts if not records]
    out = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        # Nothing is fetched and nothing runs, even if a value escaped its escaping.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        '<meta name="generator" content="ephi.safeguards.evidence_html">\n',
        '<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n' % (escape(title), _CSS),
        '<header>\n<h1>%s</h1>\n' % escape(title),
        '<p class="meta">Generated <time>%s</time> by <code>ephi.safeguards.verify</code>. Each cell shows the worst '
        'status among the controls of one safeguard on one host; open a cell for its controls.</p>\n' % escape(shown_time),
        _summary(hosts, all_records, _counts(all_records), empty_hosts),
        '</header>\n',
    ]
    out.extend(_matrix(hosts, _columns(hosts)))
    out.extend(_host_tables(hosts))
    out.append('<footer>Evidence for the technical safeguards of 45 CFR 164.312, read from each host by the '
               'ephi.safeguards verify playbook (read-only). The same records are in evidence.json and '
               'evidence.junit.xml.</footer>\n</body>\n</html>')
    return ''.join(out)


def evidence_junit(evidence, title=DEFAULT_TITLE, generated=None):
    """JUnit XML: one testsuite per host, one testcase per control."""
    hosts = _normalise(evidence)
    dummy, iso_time = _timestamp(generated)
    root = ET.Element('testsuites', name=_text(title) or DEFAULT_TITLE)
    totals = dict(tests=0, failures=0, errors=0, skipped=0)
    for host, records in hosts:
        suite = ET.SubElement(root, 'testsuite', name=host, hostname=host, timestamp=iso_time, time='0')
        counts = dict(tests=0, failures=0, errors=0, skipped=0)
        if not records:
            case = ET.SubElement(suite, 'testcase', classname=host, name='evidence', time='0')
            ET.SubElement(case, 'error', message=NO_EVIDENCE, type='no_evidence')
            counts['tests'] += 1
            counts['errors'] += 1
        for record in records:
            case = ET.SubElement(suite, 'testcase', classname=host, name=record['id'], time='0')
            properties = ET.SubElement(case, 'properties')
            for name in ('safeguard', 'hipaa', 'stig'):
                ET.SubElement(properties, 'property', name=name, value=record[name])
            detail = 'safeguard: %s\nHIPAA: %s\nSTIG/CIS: %s\nchecked: %s\nobserved: %s\nstatus: %s\n' % (
                record['safeguard'], record['hipaa'], record['stig'] or 'none', record['check'], record['observed'],
                record['raw_status'])
            counts['tests'] += 1
            if record['status'] == 'fail':
                ET.SubElement(case, 'failure', message=record['observed'], type='fail').text = detail
                counts['failures'] += 1
            elif record['status'] == 'error':
                ET.SubElement(case, 'error', message='unknown status %r: %s' % (record['raw_status'], record['observed']),
                              type='unknown_status').text = detail
                counts['errors'] += 1
            elif record['status'] == 'not_applicable':
                ET.SubElement(case, 'skipped', message=record['observed'])
                counts['skipped'] += 1
            ET.SubElement(case, 'system-out').text = detail
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    root.set('time', '0')
    root.set('timestamp', iso_time)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding='unicode')
