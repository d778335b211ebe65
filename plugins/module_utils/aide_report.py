# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure logic for the ``ephi.safeguards.aide_check`` and ``aide_baseline`` modules.

Nothing in here performs I/O or imports AnsibleModule.

AIDE (0.18 on Debian 12, 0.19 on Debian 13) reports a check in two formats:

* ``report_format=json`` (AIDE >= 0.18): one JSON document with ``added``,
  ``removed`` and ``changed`` (path to summary string) and ``details`` (path to
  attribute name to old/new values).
* ``plain`` (every version): sections ``Added entries:``, ``Removed entries:``,
  ``Changed entries:`` (``SUMMARY: /path`` lines, or ``added: /path`` lines
  when ``report_summarize_changes`` is off) and ``Detailed information about
  changes:`` (``File: /path`` headers, `` Label : old | new`` lines).

Both are turned into the same structure by :func:`parse_report`.  The exit
status of ``aide --check`` is a bit mask (1 added, 2 removed, 4 changed);
14 and above are errors (:func:`decode_exit_status`).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import time

# aide(1) EXIT STATUS (0.18 and 0.19; 24 and 25 are new in 0.19).
ERROR_CODES = {
    14: 'writing error',
    15: 'invalid argument error',
    16: 'unimplemented function error',
    17: 'configuration error',
    18: 'IO error',
    19: 'version mismatch error',
    20: 'EXEC error',
    21: 'file lock error',
    22: 'memory allocation error',
    23: 'thread error',
    24: 'database error',
    25: 'received SIGINT, SIGTERM or SIGHUP',
}

# Report label (plain format) to attribute name (JSON format), from AIDE's
# src/attributes.c; the JSON names are the ones this module returns.
LABEL_TO_ATTRIBUTE = {
    'Lname': 'link_name',
    'Perm': 'perm',
    'Uid': 'uid',
    'Gid': 'gid',
    'Size': 'size',
    'Size (>)': 'growing_size',
    'Atime': 'access_time',
    'Ctime': 'change_time',
    'Mtime': 'modify_time',
    'Inode': 'inode',
    'Bcount': 'block_count',
    'Linkcount': 'link_count',
    'ACL': 'acl',
    'SELinux': 'selinux',
    'XAttrs': 'xattrs',
    'File type': 'file_type',
    'E2FSAttrs': 'e2fsattrs',
    'Caps': 'capabilities',
}

SECTION_RE = re.compile(r'^(Added entries|Removed entries|Changed entries|'
                        r'Added, removed and changed entries|'
                        r'Detailed information about changes|'
                        r'The attributes of the \(uncompressed\) database\(s\)):$')
GROUPED_ENTRY_RE = re.compile(r'^(added|removed|changed): (/.*)$')
DETAIL_HEADER_RE = re.compile(r'^([A-Z][A-Za-z ]*): (/.*)$')
DETAIL_ATTR_RE = re.compile(r'^ ([^ :][^:]*?)\s*: (.*)$')
SUMMARY_COUNT_RE = re.compile(r'^\s+(Total number of entries|Added entries|Removed entries|'
                              r'Changed entries):\s*(\d+)\s*$')
VERSION_RE = re.compile(r'\(AIDE ([0-9][0-9.]*[0-9a-z.-]*)\)')
OUTLINE_RE = re.compile(r'^AIDE (found|successfully) .*$')


class AideReportError(Exception):
    """The output cannot be read as an AIDE report."""


def decode_exit_status(rc):
    """Decode the exit status of ``aide --check``/``--update``.

    Returns a dict with the three change bits, ``error`` (None or the name of
    the error) and ``differences``.
    """
    result = {'rc': rc, 'added': False, 'removed': False, 'changed': False,
              'error': None, 'differences': False}
    if rc is None or rc < 0:
        result['error'] = 'killed by signal %s' % (-rc if rc is not None else '?')
    elif rc >= 14 or rc in (8, 9, 10, 11, 12, 13):
        result['error'] = ERROR_CODES.get(rc, 'unknown error')
    else:
        result['added'] = bool(rc & 1)
        result['removed'] = bool(rc & 2)
        result['changed'] = bool(rc & 4)
        result['differences'] = rc != 0
    return result


def attribute_name(label):
    """Map a plain-report label (``Mtime``, ``SHA512``) to the JSON name."""
    label = label.strip()
    if label in LABEL_TO_ATTRIBUTE:
        return LABEL_TO_ATTRIBUTE[label]
    # Hash sums: SHA512 -> sha512, SHA512/256 -> sha512_256, SHA3-256 -> sha3_256.
    return re.sub(r'[^a-z0-9]+', '_', label.lower()).strip('_')


def _json_name(name):
    # AIDE 0.19's JSON spells the new hash sums sha512-256, sha3-256: use the
    # config names (sha512_256, sha3_256) like the rest of the result.
    return re.sub(r'[^a-z0-9]+', '_', name.lower()).strip('_')


def _empty():
    return {'format': None, 'aide_version': None, 'outline': None,
            'summary': {'total': None, 'added': 0, 'removed': 0, 'changed': 0},
            'added': [], 'removed': [], 'changed': [], 'databases': {}, 'warnings': []}


def _finish(report):
    report['added'] = sorted(set(report['added']))
    report['removed'] = sorted(set(report['removed']))
    report['changed'] = sorted(report['changed'], key=lambda e: e['path'])
    return report


def parse_json(text):
    """Parse a ``report_format=json`` report."""
    start = text.find('{')
    if start < 0:
        raise AideReportError('no JSON document in the output')
    try:
        data = json.loads(text[start:])
    except ValueError as exc:
        raise AideReportError('invalid JSON report: %s' % exc)
    if not isinstance(data, dict) or 'outline' not in data:
        raise AideReportError('JSON document is not an AIDE report')
    report = _empty()
    report['format'] = 'json'
    report['aide_version'] = data.get('aide_version')
    report['outline'] = data.get('outline')
    counts = data.get('number_of_entries') or {}
    report['summary'] = {'total': counts.get('total'), 'added': counts.get('added', 0),
                         'removed': counts.get('removed', 0), 'changed': counts.get('changed', 0)}
    report['added'] = list(data.get('added') or {})
    report['removed'] = list(data.get('removed') or {})
    details = data.get('details') or {}
    for path, summary in (data.get('changed') or {}).items():
        report['changed'].append({
            'path': path,
            'type': summary[:1] if summary else None,
            'summary': summary.rstrip() if summary else None,
            'attributes': [_json_name(name) for name in details.get(path) or {}],
        })
    for path, hashes in (data.get('databases') or {}).items():
        report['databases'][path] = dict((_json_name(k), v) for k, v in hashes.items())
    for path, attrs in (data.get('different_attributes') or {}).items():
        report['warnings'].append('Entry %s in databases has different attributes: %s' % (path, attrs))
    return _finish(report)


def _split_summary_line(line):
    """``'f >.... mc..H..   : /etc/x'`` -> ``('f >.... mc..H..', '/etc/x')``.

    The summary column may itself contain ``:`` (an ignored attribute) but
    never ``/``, so the first ``': /'`` separates it from the path.
    """
    idx = line.find(': /')
    if idx < 0:
        return None, None
    return line[:idx].rstrip(), line[idx + 2:]


def parse_plain(text):
    """Parse the plain (human readable) report."""
    report = _empty()
    report['format'] = 'plain'
    section = None
    changed = {}
    order = []
    details = {}
    current = None
    db_path = None
    seen_report = False
    for line in text.splitlines():
        if not seen_report:
            if line.startswith('Start timestamp:') or OUTLINE_RE.match(line):
                seen_report = True
            elif line.strip():
                report['warnings'].append(line.strip())
                continue
        match = VERSION_RE.search(line) if line.startswith('Start timestamp:') else None
        if match:
            report['aide_version'] = match.group(1)
            continue
        if OUTLINE_RE.match(line):
            report['outline'] = line.strip()
            continue
        match = SUMMARY_COUNT_RE.match(line)
        if match and section is None:
            key = {'Total number of entries': 'total', 'Added entries': 'added',
                   'Removed entries': 'removed', 'Changed entries': 'changed'}[match.group(1)]
            report['summary'][key] = int(match.group(2))
            continue
        if line.startswith('Number of entries:') and section is None:
            report['summary']['total'] = int(line.split(':', 1)[1].strip())
            continue
        match = SECTION_RE.match(line)
        if match:
            section = match.group(1)
            current = None
            continue
        if not line.strip() or line.startswith('-----'):
            continue
        if section in ('Added entries', 'Removed entries', 'Changed entries'):
            summary, path = _split_summary_line(line)
            if path is None:
                continue
            if section == 'Added entries':
                report['added'].append(path)
            elif section == 'Removed entries':
                report['removed'].append(path)
            else:
                changed[path] = summary
                order.append(path)
        elif section == 'Added, removed and changed entries':
            match = GROUPED_ENTRY_RE.match(line)
            if match:
                kind, path = match.groups()
                if kind == 'added':
                    report['added'].append(path)
                elif kind == 'removed':
                    report['removed'].append(path)
                else:
                    changed[path] = None
                    order.append(path)
        elif section == 'Detailed information about changes':
            match = DETAIL_HEADER_RE.match(line)
            if match:
                current = match.group(2)
                details.setdefault(current, [])
                continue
            match = DETAIL_ATTR_RE.match(line)
            if match and current is not None and '|' in match.group(2):
                name = attribute_name(match.group(1))
                if name not in details[current]:
                    details[current].append(name)
        elif section == 'The attributes of the (uncompressed) database(s)':
            if line.startswith('/'):
                db_path = line.strip()
                report['databases'][db_path] = {}
                continue
            match = DETAIL_ATTR_RE.match(line)
            if match and db_path:
                report['databases'][db_path][attribute_name(match.group(1))] = match.group(2).strip()
                current = (db_path, attribute_name(match.group(1)))
            elif db_path and line.startswith('   ') and isinstance(current, tuple):
                report['databases'][current[0]][current[1]] += line.strip()
    if not seen_report or report['outline'] is None:
        raise AideReportError('no AIDE report in the output')
    for path in order:
        summary = changed[path]
        report['changed'].append({
            'path': path,
            'type': summary[:1] if summary else None,
            'summary': summary,
            'attributes': details.get(path, []),
        })
    return _finish(report)


def parse_report(text, report_format='auto'):
    """Parse AIDE's report in ``json``, ``plain`` or ``auto``-detected format."""
    if report_format == 'json':
        return parse_json(text)
    if report_format == 'plain':
        return parse_plain(text)
    stripped = text.lstrip()
    if stripped.startswith('{') or re.search(r'^\{\s*$', text, re.M):
        return parse_json(text)
    return parse_plain(text)


def check_result(rc, stdout, report_format='auto'):
    """Combine exit status and report into the module's result fields."""
    status = decode_exit_status(rc)
    result = {'exit_status': status, 'differences': status['differences']}
    if status['error']:
        return result
    report = parse_report(stdout, report_format)
    result.update({
        'report_format': report['format'],
        'aide_version': report['aide_version'],
        'outline': report['outline'],
        'summary': report['summary'],
        'added': report['added'],
        'removed': report['removed'],
        'changed_entries': report['changed'],
        'changed_paths': [e['path'] for e in report['changed']],
        'databases': report['databases'],
        'report_warnings': report['warnings'],
    })
    # The exit status is authoritative; a report that disagrees with it is
    # not one we understood (for example a truncated report).
    found = {'added': bool(report['added']), 'removed': bool(report['removed']),
             'changed': bool(report['changed'])}
    for key in found:
        if found[key] != status[key]:
            raise AideReportError('report does not match exit status %s: %s entries %s' % (
                rc, key, 'missing' if status[key] else 'unexpected'))
    return result


# The baseline (ephi.safeguards.aide_baseline): what to do, and the lines and
# names it writes. baseline.log has one line per initialisation or acceptance:
#   2026-01-02T03:04:05Z action=init remote_user=U controller_user=C db_sha512=HEX
#   2026-01-02T03:04:05Z action=accept aide_rc=5 remote_user=U controller_user=C report=PATH db_sha512=HEX
BASELINE_ACTIONS = ('init', 'reinit', 'accept')


def baseline_plan(action, db_exists):
    """What the baseline module does: ``'init'``, ``'update'`` or ``'none'``.

    ``init`` and ``reinit`` make a database only when there is none (they
    differ in the word logged); ``accept`` always updates it.
    """
    if action not in BASELINE_ACTIONS:
        raise ValueError('unknown baseline action %r' % (action,))
    if action == 'accept':
        return 'update'
    return 'none' if db_exists else 'init'


def utc_timestamp(seconds, compact=False):
    """``2026-01-02T03:04:05Z`` (``compact``: ``20260102T030405Z``) of epoch seconds."""
    fmt = '%Y%m%dT%H%M%SZ' if compact else '%Y-%m-%dT%H:%M:%SZ'
    return time.strftime(fmt, time.gmtime(seconds))


def accept_report_name(seconds):
    """File name of the saved report of an acceptance run."""
    return 'aide-accept-%s.txt' % utc_timestamp(seconds, compact=True)


def baseline_log_line(seconds, action, remote_user, controller_user, db_sha512, aide_rc=None, report=None):
    """One line of baseline.log, newline included."""
    if action == 'accept':
        return '%s action=accept aide_rc=%s remote_user=%s controller_user=%s report=%s db_sha512=%s\n' % (
            utc_timestamp(seconds), aide_rc, remote_user, controller_user, report, db_sha512)
    return '%s action=%s remote_user=%s controller_user=%s db_sha512=%s\n' % (
        utc_timestamp(seconds), action, remote_user, controller_user, db_sha512)


def update_failed(rc):
    """``aide --update`` exits with the differences it took in (bits 1, 2, 4); 8 and above are errors."""
    return rc is None or rc < 0 or rc >= 8
