# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Decisions of the aide role: the evidence controls and the tamper state.

Pure functions of what the role observed (``probes``: registered task results
and the controller's record, by name) and the role's settings (``policy``).
The filters ``ephi.safeguards.aide_controls`` and ``ephi.safeguards.aide_tamper``
(plugins/filter/aide.py) are the glue to the role.

Probes (the names used by roles/aide/tasks/verify.yml and tamper.yml):

``config``
    ``aide --config CONF --path-check f:PATH``: host_probe's answer to that command (argv, rc,
    stdout, stderr; rc None when there is no aide program), or a command task's result, or None
    when the probe failed.
``host``
    ``ephi.safeguards.host_probe`` of the database (``paths``, with
    ``checksum: sha512``), the host's baseline.log (``paths``; tamper only)
    and the check timer (``units``; verify only). A failed or skipped probe
    leaves every control that reads it unexamined.
``check``
    ``ephi.safeguards.aide_check`` (failed_when false; skipped without a database). When ``host``
    says the database is missing, the check is "no baseline to check against" whatever it returned.
``record``
    The first word of the controller's record file ('' when there is none).

Policy keys: ``config_path``, ``db_path``, ``record_file``,
``controller_hash_dir``, ``watched`` (the watched paths, in order), ``timer``
(unit name), ``timer_enabled``, ``on_calendar``, ``hostname``, ``log_path``,
``accept``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.ephi.safeguards.plugins.module_utils.evidence import (
    probe_failed,
    record,
    text,
    truncate,
)

SAFEGUARD = 'integrity'
STIG_BASELINE = 'RHEL-08-010359'
STIG_CHECK = 'RHEL-08-010360'


def _as_bool(value):
    """Ansible's ``bool`` filter (non-strict)."""
    return boolean(value, strict=False)


def _mapping(value):
    return value if isinstance(value, dict) else {}


def _host_path(probes, path):
    """The host probe's facts of PATH (exists, mtime, checksum when asked for), or None when the
    probe failed, was skipped or did not look at PATH."""
    host = probes.get('host')
    if probe_failed(host):
        return None
    facts = _mapping(host.get('paths')).get(path)
    return facts if isinstance(facts, dict) else None


def _host_msg(probes, default):
    return text(_mapping(probes.get('host')).get('msg') or default)


# ---------------------------------------------------------------------------
# The tamper state: the database on the host against the controller's record.
# ---------------------------------------------------------------------------

TAMPER_STATES = ('consistent', 'tampered', 'deleted', 'lost', 'unrecorded', 'unexamined')


def tamper_state(db, recorded, log_trace, accept):
    """Compare the database with the controller record.

    ``db`` is the database's stat dict (None: it could not be examined),
    ``recorded`` the sha512 the controller recorded ('' for none),
    ``log_trace`` whether the host's baseline.log exists (a baseline was made
    before), ``accept`` whether this run accepts changes explicitly.
    """
    if db is None or (db.get('exists') and not db.get('checksum')):
        return 'unexamined'
    exists = bool(db.get('exists'))
    if exists and recorded and db['checksum'] != recorded:
        return 'tampered'
    if not exists and recorded and not accept:
        return 'deleted'
    if not exists and not recorded and log_trace and not accept:
        return 'lost'
    if exists and not recorded and not accept:
        return 'unrecorded'
    return 'consistent'


def _utc(seconds):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(seconds))


def tamper_message(state, db, recorded, log_stat, policy):
    """The message of a tamper state: '' when consistent, else what is wrong and what to do."""
    db_path = text(policy.get('db_path'))
    host = text(policy.get('hostname'))
    record_file = text(policy.get('record_file'))
    if state == 'consistent':
        return ''
    if state == 'tampered':
        return ('AIDE database %s on %s was changed behind our back: its sha512 is %s, the controller record %s says '
                '%s. The baseline can no longer be trusted; investigate before anything else. Once the cause is known, '
                'move the record away and run with aide_accept_changes=true to review the differences and adopt the '
                'database (or delete the database to re-initialise it).'
                % (db_path, host, text(db.get('checksum', '')), record_file, recorded))
    if state == 'deleted':
        return ('AIDE database %s on %s is missing, but the controller record %s says a baseline was made: it was '
                'removed behind our back. Investigate; run with aide_accept_changes=true to initialise a new baseline.'
                % (db_path, host, record_file))
    if state == 'lost':
        mtime = int(float(log_stat.get('mtime', 0) or 0))
        return ('AIDE database %s on %s is missing and the controller has no record of it (%s), but %s on the host '
                '(last written %s) shows that a baseline was made before. Refusing to re-initialise silently: a new '
                'baseline would take in whatever changed since. Investigate why both are gone (a new controller, a '
                'renamed host or an execution environment without the old aide_controller_hash_dir?). To make a new '
                'baseline deliberately, run with aide_accept_changes=true (-e aide_accept_changes=true or --tags '
                'aide_accept_changes); it is logged as action=reinit.'
                % (db_path, host, record_file, text(policy.get('log_path')), _utc(mtime)))
    if state == 'unrecorded':
        return ('AIDE database %s on %s exists, but the controller has no record of it (%s): it was not made by this '
                'role, or the record was lost. Run with aide_accept_changes=true to review the differences and adopt it.'
                % (db_path, host, record_file))
    if state == 'unexamined':
        return ('AIDE database %s on %s could not be examined (no sha512 of it could be read), so it cannot be compared '
                'with the controller record %s. Investigate before anything else.' % (db_path, host, record_file))
    raise ValueError('unknown tamper state %r' % (state,))


def tamper(probes, policy):
    """The tamper check of the role, before it changes anything.

    Probes ``host`` (the database and baseline.log) and ``record``; policy ``db_path``,
    ``record_file``, ``hostname``, ``log_path``, ``accept``. Returns ``state``
    (one of TAMPER_STATES), ``consistent`` (the run may go on), ``msg`` (what is
    wrong, or what was found when consistent) and ``init_action`` (the word
    baseline.log records when a missing database is initialised: ``reinit``
    when the record or the log shows that a baseline existed before).
    """
    db = _host_path(probes, text(policy.get('db_path')))
    recorded = text(probes.get('record') or '')
    log_stat = _mapping(_host_path(probes, text(policy.get('log_path'))))
    log_trace = _as_bool(log_stat.get('exists', False))
    state = tamper_state(db, recorded, log_trace, _as_bool(policy.get('accept', False)))
    if state == 'consistent':
        msg = (('AIDE database matches the controller record ' + text(policy.get('record_file')))
               if recorded else 'no AIDE baseline yet')
    else:
        msg = tamper_message(state, db or {}, recorded, log_stat, policy)
    return {'state': state, 'consistent': state == 'consistent', 'msg': msg,
            'init_action': 'reinit' if (recorded or log_trace) else 'init'}


# ---------------------------------------------------------------------------
# Evidence controls, in report order.
# ---------------------------------------------------------------------------

def aide_installed(probes, policy):
    """AIDE runs, its configuration is valid and the role's first watched path is in it."""
    watched = policy.get('watched') or ['']
    cfg = probes.get('config')
    shown = _mapping(cfg)
    detail = text(shown.get('stdout', '')) + ' ' + text(shown['stderr'] if 'stderr' in shown else shown.get('msg', ''))
    if cfg is None:
        detail = 'could not examine AIDE: no probe result'
    elif 'rc' in shown and shown['rc'] is None:
        detail = 'no aide program (AIDE is not installed)'
    ok = not probe_failed(cfg) and shown.get('rc', 1) == 0
    return record(
        'aide-installed', SAFEGUARD, '164.312(c)(1)', STIG_BASELINE,
        'AIDE is installed, %s is valid and watches %s' % (text(policy.get('config_path')), text(watched[0])),
        'aide --path-check: ' + truncate(detail.strip(), 200),
        'pass' if ok else 'fail')


def aide_baseline(probes, policy):
    """The database exists and its sha512 is the one the controller recorded."""
    db = _host_path(probes, text(policy.get('db_path')))
    recorded = text(probes.get('record') or '')
    check = 'Baseline %s exists and its sha512 matches the controller record %s' % (
        text(policy.get('db_path')), text(policy.get('record_file')))
    status = 'fail'
    if db is None:
        observed = 'could not examine the baseline database: %s' % _host_msg(probes, 'no probe result')
    elif not db.get('exists'):
        observed = 'no baseline database'
    elif not text(policy.get('controller_hash_dir') or ''):
        observed = 'no controller record directory (aide_controller_hash_dir) configured'
    elif not recorded:
        observed = 'no controller record for this database'
    elif not db.get('checksum'):
        observed = tamper_message('unexamined', db, recorded, {}, policy)
    elif db['checksum'] != recorded:
        observed = tamper_message('tampered', db, recorded, {}, policy)
    else:
        observed = 'sha512 %s matches the controller record' % text(db['checksum'])
        status = 'pass'
    return record('aide-baseline', SAFEGUARD, '164.312(c)(1), 164.312(c)(2)', STIG_BASELINE,
                  check, observed, status)


def aide_scheduled_check(probes, policy):
    """The role's check timer is enabled and active (not applicable when the role disables it)."""
    host = probes.get('host')
    unit = {} if probe_failed(host) else _mapping(_mapping(host.get('units')).get(text(policy.get('timer'))))
    unit_state = text(unit.get('enabled') or 'unknown')
    active = text(unit.get('active') or 'unknown')
    if not _as_bool(policy.get('timer_enabled', True)):
        status = 'not_applicable'
    elif not probe_failed(host) and unit_state == 'enabled' and active == 'active':
        status = 'pass'
    else:
        status = 'fail'
    return record(
        'aide-scheduled-check', SAFEGUARD, '164.312(c)(1), 164.308(a)(1)(ii)(D)', STIG_CHECK,
        'The scheduled check timer %s is enabled and active (OnCalendar %s)' % (
            text(policy.get('timer')), text(policy.get('on_calendar'))),
        'UnitFileState=%s, ActiveState=%s' % (text(unit_state), text(active)),
        status)


def aide_check_clean(probes, policy):
    """``aide --check`` against the baseline found no added, removed or changed entry.

    The check runs with failed_when false, so an AIDE error (a configuration,
    IO or database error: ``exit_status.error``) arrives with ``failed``
    false and ``differences`` false: it is a check that did not happen, not a
    clean one.
    """
    chk = probes.get('check')
    result = _mapping(chk)
    error = _mapping(result.get('exit_status')).get('error')
    # Only a probe that answered can say the database is missing: then AIDE's own error is no news.
    db = _host_path(probes, text(policy.get('db_path')))
    if (isinstance(chk, dict) and chk.get('skipped')) or (db is not None and db.get('exists') is False):
        observed, status = 'no baseline to check against', 'fail'
    elif probe_failed(chk) or error is not None or 'changed_paths' not in result:
        observed = text(result.get('msg') or 'the AIDE check returned no result')
        status = 'fail'
    elif not result.get('differences'):
        observed, status = 'clean', 'pass'
    else:
        added = list(result.get('added') or [])
        removed = list(result.get('removed') or [])
        changed = list(result.get('changed_paths') or [])
        observed = '%d added, %d removed, %d changed: %s' % (
            len(added), len(removed), len(changed), ', '.join(text(p) for p in (added + removed + changed)[:10]))
        status = 'fail'
    return record('aide-check-clean', SAFEGUARD, '164.312(c)(1)', STIG_CHECK,
                  'No watched file was added, removed or changed since the baseline', observed, status)


CONTROLS = (aide_installed, aide_baseline, aide_scheduled_check, aide_check_clean)


def build_controls(probes, policy):
    """The aide role's evidence records, in report order."""
    probes = probes if isinstance(probes, dict) else {}
    policy = policy if isinstance(policy, dict) else {}
    return [control(probes, policy) for control in CONTROLS]
