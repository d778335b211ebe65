# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Evidence of the central audit trail (roles log_forward and log_host): pure
functions of what the roles' verify entry points observed. No I/O here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import json
import time

from ansible_collections.ephi.safeguards.plugins.module_utils.audit_chain import chain_verdict
from ansible_collections.ephi.safeguards.plugins.module_utils.evidence import probe_failed, record, text
from ansible_collections.ephi.safeguards.plugins.module_utils.fleet_pki import expiry_verdict

HIPAA_AUDIT = '164.312(b)'
HIPAA_TRANSMISSION = '164.312(e)(1)'


def openssl_enddate(text):
    """Seconds since the epoch of `openssl x509 -enddate -noout` output (notAfter=Dec  5 18:54:11 2027 GMT), or None."""
    text = (text or '').strip()
    if not text.startswith('notAfter='):
        return None
    try:
        return calendar.timegm(time.strptime(' '.join(text[len('notAfter='):].split()), '%b %d %H:%M:%S %Y GMT'))
    except ValueError:
        return None


def unit_active(result):
    if probe_failed(result):
        return None
    return (result.get('status') or {}).get('ActiveState')


def lines_of(result):
    if probe_failed(result) or result.get('rc') not in (0, None):
        return None
    return [line for line in (result.get('stdout') or '').splitlines() if line.strip()]


def certificate_control(cid, safeguard, path, result, now, min_days):
    """Pass while the certificate at PATH is valid for at least MIN_DAYS more days."""
    check = 'the TLS certificate %s is valid for at least %d more days' % (path, min_days)
    lines = lines_of(result)
    not_after = openssl_enddate(lines[0]) if lines else None
    if not_after is None:
        return record(cid, safeguard, HIPAA_TRANSMISSION, '', check, 'could not read the certificate\'s expiry', 'fail')
    verdict, detail = expiry_verdict(not_after, now, min_days)
    stamp = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(not_after))
    return record(cid, safeguard, HIPAA_TRANSMISSION, '', check, 'notAfter %s: %s' % (stamp, detail),
                  'pass' if verdict == 'pass' else 'fail')


def last_delivery(result):
    """(log host's now, newest write to this host's events.log or None) from the delegated probe's
    ``ephi-delivery now=`` and ``ephi-delivery last=`` lines; None when the probe did not run."""
    if not isinstance(result, dict) or result.get('unreachable') or result.get('rc') not in (0, 1):
        return None
    now, last = None, None
    for line in (result.get('stdout') or '').splitlines():
        key, _sep, value = line.partition('=')
        if not value.isdigit():
            continue
        if key == 'ephi-delivery now':
            now = int(value)
        elif key == 'ephi-delivery last':
            last = max(last or 0, int(value))
    return None if now is None else (now, last)


def delivery_problem(probes, policy):
    """(problem or None, observation) of the last delivery the log host received from this host."""
    log_host = policy['chain_log_host']
    limit = 3 * int(policy.get('heartbeat_seconds', 60))
    seen = last_delivery(probes.get('heads'))
    if seen is None:
        return 'could not ask the log host %s for the last delivery' % log_host, 'last delivery unknown'
    now, last = seen
    if last is None:
        return 'the log host %s holds no events from this host' % log_host, 'no delivery'
    age = now - last
    observed = 'last delivery %d s ago' % age
    if age > limit:
        return 'nothing reached the log host %s for %d s (a heartbeat is due every %d s)' % (
            log_host, age, limit // 3), observed
    return None, observed


def forward_controls(probes, policy):
    """log-forward-shipping, log-forward-certificate and (with a log host to ask) log-forward-chain."""
    unit = policy['unit']
    target = '%s:%s' % (policy['server'], policy['port'])
    check = ('%s runs, has a connection to the log host %s and its disk queue is below %d MiB'
             % (unit, target, policy['queue_max_mb']))
    if policy.get('chain_log_host'):
        check += (', and the log host %s received something from it within the last %d s (three heartbeats)'
                  % (policy['chain_log_host'], 3 * int(policy.get('heartbeat_seconds', 60))))
    state = unit_active(probes.get('unit'))
    conns = lines_of(probes.get('connections'))
    queue = probes.get('queue')
    problems = []
    if state is None:
        problems.append('could not read the state of %s' % unit)
    elif state != 'active':
        problems.append('%s is %s' % (unit, state))
    if conns is None:
        problems.append('could not list the connections')
    elif not conns:
        problems.append('no connection to %s' % target)
    if probe_failed(queue):
        problems.append('could not read the disk queue')
        size = files = 0
    else:
        files = len(queue.get('files') or [])
        size = sum(f.get('size', 0) for f in queue.get('files') or [])
        if size > policy['queue_max_mb'] * 1024 * 1024 * 0.9:
            problems.append('the disk queue is nearly full')
    observed = '%s %s, %d connection(s) to %s, disk queue %d file(s), %d bytes' % (
        unit, state or 'unknown', len(conns or []), target, files, size)
    if policy.get('chain_log_host'):
        problem, seen = delivery_problem(probes, policy)
        observed += ', ' + seen
        if problem:
            problems.append(problem)
    if problems:
        observed = '; '.join(problems) + ' (' + observed + ')'
    records = [record('log-forward-shipping', 'audit trail: recordings and events shipped to the log host',
                      HIPAA_AUDIT, '', check, observed, 'fail' if problems else 'pass'),
               certificate_control('log-forward-certificate', 'audit trail: the host\'s TLS certificate',
                                   policy['cert'], probes.get('cert'), policy['now'], policy['min_days'])]
    if policy.get('chain_log_host'):
        records.append(chain_control(probes, policy))
    return records


def chain_control(probes, policy):
    """log-forward-chain: the recordings here against the chain heads held on the log host."""
    log_host = policy['chain_log_host']
    check = ('Every session recording in %s matches the SHA-256 chain heads the log host %s received from '
             'this host (root\'s events only): none modified, truncated or deleted here, no chain event '
             'missing, none without a head' % (policy['recordings'], log_host))
    heads = probes.get('heads')
    heads = heads if isinstance(heads, dict) else {'skipped': True}
    if heads.get('unreachable'):
        verdict, observed = 'fail', 'recordings NOT examined: the log host %s was unreachable' % log_host
    elif heads.get('skipped') or heads.get('rc') not in (0, 1):
        why = text(heads.get('stderr') or heads.get('msg') or 'not run').strip()[:200]
        verdict, observed = 'fail', 'recordings NOT examined: the chain heads on %s could not be read (%s)' % (log_host, why)
    else:
        verdict, observed = chain_verdict(probes.get('chain'), log_host,
                                          'without heads on the log host and older than them')
    return record('log-forward-chain', 'audit trail: recordings match the chain heads held off the host',
                  '164.312(b), 164.312(c)(1)', '', check, observed, verdict)


def host_controls(probes, policy):
    """log-host-receiving, log-host-certificate and log-host-retention."""
    unit = policy['unit']
    check = ('%s runs, listens on port %s and stores into %s on the mounted encrypted directory %s'
             % (unit, policy['port'], policy['store'], policy['encrypted_dir']))
    state = unit_active(probes.get('unit'))
    listening = lines_of(probes.get('listening'))
    mount = lines_of(probes.get('mount'))
    problems = []
    if state is None:
        problems.append('could not read the state of %s' % unit)
    elif state != 'active':
        problems.append('%s is %s' % (unit, state))
    if not listening:
        problems.append('nothing listens on port %s' % policy['port'])
    target = mount[0].split() if mount else []
    if len(target) != 2 or target[0] != policy['encrypted_dir']:
        problems.append('the store is not on the mounted encrypted directory (%s)' % (' '.join(target) or 'no mount'))
    observed = '%s %s, listening: %s, store on %s' % (
        unit, state or 'unknown', 'yes' if listening else 'no', ' '.join(target) or 'unknown')
    if problems:
        observed = '; '.join(problems) + ' (' + observed + ')'
    return [record('log-host-receiving', 'audit trail: the central log host receives into encrypted storage',
                   HIPAA_AUDIT, '', check, observed, 'fail' if problems else 'pass'),
            certificate_control('log-host-certificate', 'audit trail: the log host\'s TLS certificate',
                                policy['cert'], probes.get('cert'), policy['now'], policy['min_days']),
            retention_control(probes, policy)]


def systemctl_show(result):
    """{property: value} of `systemctl show -p ...` output; None when the probe failed."""
    if probe_failed(result) or result.get('rc') != 0:
        return None
    return dict(line.split('=', 1) for line in (result.get('stdout') or '').splitlines() if '=' in line)


def retention_control(probes, policy):
    """log-host-retention: the daily timer runs with the policy's retention, and its last run succeeded."""
    days = policy['retention_days']
    check = ('ephi-log-host-retention.timer is enabled and active, runs with %d days of retention '
             '(compression after %d), and its last run, if any, succeeded'
             % (days, policy['compress_after_days']))
    timer = systemctl_show(probes.get('retention_timer'))
    service = systemctl_show(probes.get('retention_service'))
    conf_probe = probes.get('retention_conf')
    problems = []
    if timer is None:
        problems.append('could not read the timer')
    elif (timer.get('ActiveState'), timer.get('UnitFileState')) != ('active', 'enabled'):
        problems.append('the timer is %s and %s' % (timer.get('ActiveState') or 'unknown', timer.get('UnitFileState') or 'unknown'))
    conf = None
    if not probe_failed(conf_probe) and conf_probe.get('rc') == 0:
        try:
            conf = json.loads(conf_probe.get('stdout') or '')
        except ValueError:
            conf = None
    if not isinstance(conf, dict):
        problems.append('could not read its settings')
    elif (conf.get('retention_days'), conf.get('compress_after_days')) != (days, policy['compress_after_days']):
        problems.append('it runs with %s days of retention (compression after %s)'
                        % (conf.get('retention_days'), conf.get('compress_after_days')))
    last = 'not run yet'
    if service is None:
        problems.append('could not read the retention service')
    elif service.get('ExecMainExitTimestamp'):
        last = 'last run %s: %s' % (service['ExecMainExitTimestamp'], service.get('Result', 'unknown'))
        if service.get('Result') != 'success':
            problems.append('its last run failed (%s)' % service.get('Result', 'unknown'))
    observed = 'timer %s/%s, %s days of retention, %s' % (
        (timer or {}).get('ActiveState', 'unknown'), (timer or {}).get('UnitFileState', 'unknown'),
        conf.get('retention_days') if isinstance(conf, dict) else 'unknown', last)
    if problems:
        observed = '; '.join(problems) + ' (' + observed + ')'
    return record('log-host-retention', 'audit trail: the log host keeps recordings and events for the retention period',
                  '164.312(b), 164.316(b)(2)', '', check, observed, 'fail' if problems else 'pass')
