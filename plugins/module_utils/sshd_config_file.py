# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ssh_key_policy role's settings in /etc/ssh/sshd_config itself (issue 13 item 4).

sshd reads the policy's drop-in first (the ``Include`` is the first line of
sshd_config, and sshd keeps the first value of most keywords), but scanners
such as OpenSCAP's ssg-debian read sshd_config only. ``plan()`` makes that
file say what is in force:

- the ``Include`` of the drop-ins stays (or becomes) the first active line;
- right after it, a marked managed block holds the same global keyword lines
  as the drop-in (never its Match blocks: in sshd_config a Match block runs to
  the next Match, so global lines after one would become conditional);
- every other global line of the file that sets a managed keyword to another
  value is disabled ("#" + the line + why), so that no line contradicts the policy;
- keywords sshd adds up over every line instead of keeping the first value
  (HostKey, AllowUsers, AllowGroups, ...; ACCUMULATING, measured on OpenSSH 9.2
  and 10.0 with sshd -T) are not copied: a second copy would be a second entry
  (measured: the same HostKey in the drop-in and in sshd_config makes sshd
  offer "ssh-ed25519,ssh-ed25519"). A global line of such a policy keyword in
  the file is disabled, as it would add an entry to the policy's list;
- lines inside the admin's own Match blocks are never rewritten: a managed
  keyword there with another value is returned in ``match_conflicts`` for the
  evidence to name.

No I/O here: the module (plugins/modules/ssh_policy_sshd_config.py) reads and
writes the file and validates the candidate with ``sshd -t -f``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

MARK = 'ephi.safeguards:ssh_key_policy'
BEGIN = '# BEGIN %s' % MARK
END = '# END %s' % MARK
DISABLED = '  # disabled by %s: ' % MARK

# Keywords whose lines sshd adds up instead of keeping the first value
# (sshd -T with two lines of each, OpenSSH 9.2 and 10.0; Subsystem: per name).
ACCUMULATING = ('acceptenv', 'allowgroups', 'allowusers', 'denygroups', 'denyusers', 'hostcertificate', 'hostkey',
                'listenaddress', 'port', 'subsystem')

LINE_RE = re.compile(r'^\s*([A-Za-z][A-Za-z0-9]*)(?:\s*=\s*|\s+|$)(.*)$')


class SshdConfigError(Exception):
    """The file cannot be planned safely (e.g. a managed block without its end)."""


def render_value(value):
    """One policy value -> the values of its lines, as the drop-in template renders them."""
    if value is True:
        return ['yes']
    if value is False:
        return ['no']
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    return [str(value)]


def wanted_lines(settings, extra_settings=None):
    """[(keyword, value)] of the drop-in's global part: the policy's settings in their
    order (None, '' and [] are not rendered), then ``extra_settings`` sorted like
    Jinja's dictsort (case-insensitive; None is not rendered)."""
    lines = []
    for key, value in (settings or {}).items():
        if value is None or value == [] or (not isinstance(value, (list, tuple)) and str(value) == ''):
            continue
        lines.extend((key, item) for item in render_value(value))
    extra = extra_settings or {}
    for key in sorted(extra, key=lambda k: str(k).lower()):
        if extra[key] is not None:
            lines.extend((key, item) for item in render_value(extra[key]))
    return lines


def broken_value(include, settings, extra_settings=None):
    """The first of INCLUDE and the rendered values of SETTINGS and EXTRA_SETTINGS that holds a line
    break or NUL (it would add or cut a line of sshd_config), or None. The module refuses such a value,
    and the role's skip filter runs the module for it."""
    for value in [include] + [v for dummy, v in wanted_lines(settings, extra_settings)]:
        if any(c in u'%s' % (value,) for c in '\r\n\x00'):
            return value
    return None


def _words(value):
    """A value as sshd would compare it: words, quotes dropped, case folded unless it holds a path."""
    out = []
    for word in str(value).split():
        word = word.strip('"')
        out.append(word if '/' in word else word.lower())
    return out


def same_value(a, b):
    return _words(a) == _words(b)


def parse(text):
    """sshd_config text -> one dict per line: ``raw``, ``keyword`` (lower case, None for
    comments and blank lines), ``value``, ``match`` (the Match line the line is under,
    or None in the global part) and ``managed`` (inside the managed block)."""
    out = []
    match = None
    managed = False
    for raw in text.splitlines():
        stripped = raw.strip()
        entry = {'raw': raw, 'keyword': None, 'value': '', 'match': match, 'managed': managed}
        if stripped == END or stripped.startswith(END + ' '):
            entry['managed'] = True
            managed = False
        elif stripped == BEGIN or stripped.startswith(BEGIN + ' ') or stripped.startswith(BEGIN + ':'):
            if managed:
                raise SshdConfigError('a second "%s" line before "%s"' % (BEGIN, END))
            managed = True
            entry['managed'] = True
        elif stripped and not stripped.startswith('#'):
            found = LINE_RE.match(raw)
            if found:
                entry['keyword'] = found.group(1).lower()
                entry['value'] = found.group(2).strip()
                if entry['keyword'] == 'match':
                    match = stripped
                    entry['match'] = match
        out.append(entry)
    if managed:
        raise SshdConfigError('"%s" has no "%s" line: fix the file by hand' % (BEGIN, END))
    return out


def _same_line(a, b):
    return a.split() == b.split()


def plan(text, settings, extra_settings=None, include=None, dropin=''):
    """Plan sshd_config: the Include first, then the managed block, contradicting lines disabled.

    ``text``: the file as it is; ``settings``/``extra_settings``: the policy as the
    drop-in renders it; ``include``: the Include line of the drop-ins.
    Returns {'content', 'changes': [str], 'disabled': [{line, text, keyword, wanted}],
    'match_conflicts': [{line, text, keyword, wanted, match}], 'found': [{line,
    keyword, value, match}] (active lines of managed keywords as the file is now)}.
    Line numbers are those of ``text``.
    """
    lines = wanted_lines(settings, extra_settings)
    names = {}
    single = {}
    for key, value in lines:
        names.setdefault(key.lower(), key)
        if key.lower() not in ACCUMULATING:
            single.setdefault(key.lower(), value)
    policy_accumulating = set(k.lower() for k, v in lines if k.lower() in ACCUMULATING and k in (settings or {}))
    managed_keys = set(single) | set(k.lower() for k, v in lines if k.lower() in ACCUMULATING)

    entries = parse(text)
    found, match_conflicts = [], []
    for number, entry in enumerate(entries, 1):
        if entry['keyword'] in managed_keys and not entry['managed']:
            found.append({'line': number, 'keyword': names[entry['keyword']], 'value': entry['value'],
                          'match': entry['match']})
            if entry['match']:
                wanted = single.get(entry['keyword'])
                if wanted is not None and not same_value(entry['value'], wanted):
                    match_conflicts.append({'line': number, 'text': entry['raw'].strip(), 'keyword': names[entry['keyword']],
                                            'wanted': wanted, 'match': entry['match']})

    block = [BEGIN + ': managed by Ansible, do not edit',
             '# The global settings of %s, which sshd reads first through the' % (dropin or 'the policy drop-in'),
             '# Include above and which win (sshd keeps the first value): the same lines here show',
             '# what is in force to tools that read only this file. Lines below that contradict',
             '# them are commented out, marked "%s".' % DISABLED.strip().rstrip(':')]
    # Named whether set or empty, so that the block does not change with their values.
    skipped = sorted(set(str(k) for k in list(settings or {}) + [k for k, v in (extra_settings or {}).items() if v is not None]
                         if str(k).lower() in ACCUMULATING))
    if skipped:
        block.append('# Only in the drop-in: %s (sshd adds up every line of these keywords).' % ', '.join(skipped))
    block.extend('%s %s' % (key, value) for key, value in lines if key.lower() not in ACCUMULATING)
    block.append(END)

    changes, disabled, body = [], [], []
    include_at = None
    for number, entry in enumerate(entries, 1):
        if entry['managed']:
            continue
        raw = entry['raw']
        keyword = entry['keyword']
        if keyword is None or entry['match']:
            body.append(raw)
            continue
        if include and keyword == 'include' and _same_line(raw, include):
            if include_at is None and not [b for b in body if parse_active(b)]:
                include_at = len(body)
                body.append(raw)
                continue
            why = 'the Include of the drop-ins is the first line'
        elif keyword in policy_accumulating:
            why = 'sshd adds up every %s line; the policy\'s are in %s' % (names[keyword], dropin or 'the drop-in')
        elif keyword in single and not same_value(entry['value'], single[keyword]):
            why = 'the policy sets %s %s' % (names[keyword], single[keyword])
        else:
            body.append(raw)
            continue
        new = '#' + raw.strip() + DISABLED + why
        body.append(new)
        disabled.append({'line': number, 'text': raw.strip(), 'keyword': names.get(keyword, keyword), 'why': why})
        changes.append('line %d disabled (%s): %s' % (number, why, raw.strip()))

    if include and include_at is None:
        body.insert(0, include)
        include_at = 0
        changes.insert(0, 'added "%s" as the first line' % include)
    insert_at = include_at + 1 if include_at is not None else 0
    new_lines = body[:insert_at] + block + body[insert_at:]
    content = '\n'.join(new_lines) + '\n'
    old_block = [e['raw'] for e in entries if e['managed']]
    if old_block != block:
        changes.append('managed block %s' % ('updated' if old_block else 'added'))
    elif content != text and not changes:
        changes.append('managed block moved after the Include')
    return {'content': content, 'changes': changes, 'disabled': disabled, 'match_conflicts': match_conflicts,
            'found': found}


def parse_active(raw):
    """Is this line an active sshd directive (not blank, not a comment)?"""
    stripped = raw.strip()
    return bool(stripped) and not stripped.startswith('#')
