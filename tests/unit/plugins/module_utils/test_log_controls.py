# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Evidence of the central audit trail: forwarding, receiving and certificate expiry."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ephi.safeguards.plugins.module_utils.log_controls import (
    forward_controls,
    host_controls,
    openssl_enddate,
)

NOW = 1800000000  # 2027-01-15T08:00:00Z
VALID = {'rc': 0, 'stdout': 'notAfter=Dec  5 18:54:11 2027 GMT\n'}
SOON = {'rc': 0, 'stdout': 'notAfter=Jan 20 08:00:00 2027 GMT\n'}
FWD_POLICY = {'unit': 'ephi-log-forward.service', 'server': 'lh', 'port': 2514, 'queue_max_mb': 1024,
              'cert': '/etc/ephi-log-forward/host.crt', 'now': NOW, 'min_days': 14}
HOST_POLICY = {'unit': 'ephi-log-host.service', 'port': 2514, 'store': '/var/log/ephi/fleet',
               'encrypted_dir': '/var/log/ephi', 'cert': '/etc/ephi-log-host/host.crt', 'now': NOW, 'min_days': 14,
               'retention_days': 2190, 'compress_after_days': 1}
TIMER_OK = {'rc': 0, 'stdout': 'ActiveState=active\nUnitFileState=enabled\n'}
NEVER_RUN = {'rc': 0, 'stdout': 'Result=success\nExecMainExitTimestamp=\n'}
RAN_OK = {'rc': 0, 'stdout': 'Result=success\nExecMainExitTimestamp=Sat 2026-12-05 00:12:01 UTC\n'}
CONF_OK = {'rc': 0, 'stdout': '{"retention_days": 2190, "compress_after_days": 1, "store": "/var/log/ephi/fleet"}'}


def fwd_probes(**kw):
    probes = {'unit': {'status': {'ActiveState': 'active'}},
              'connections': {'rc': 0, 'stdout': 'ESTAB 0 0 10.0.0.2:40000 10.0.0.5:2514\n'},
              'queue': {'files': []}, 'cert': VALID}
    probes.update(kw)
    return probes


def host_probes(**kw):
    probes = {'unit': {'status': {'ActiveState': 'active'}},
              'listening': {'rc': 0, 'stdout': 'LISTEN 0 25 0.0.0.0:2514 0.0.0.0:*\n'},
              'mount': {'rc': 0, 'stdout': '/var/log/ephi fuse.gocryptfs\n'}, 'cert': VALID,
              'retention_timer': TIMER_OK, 'retention_service': NEVER_RUN, 'retention_conf': CONF_OK}
    probes.update(kw)
    return probes


def statuses(records):
    return {r['id']: r['status'] for r in records}


def test_openssl_enddate():
    assert openssl_enddate('notAfter=Dec  5 18:54:11 2027 GMT') == 1828032851
    assert openssl_enddate('') is None
    assert openssl_enddate('notAfter=garbage') is None


def test_forwarding_passes_when_running_connected_and_valid():
    assert statuses(forward_controls(fwd_probes(), FWD_POLICY)) == {
        'log-forward-shipping': 'pass', 'log-forward-certificate': 'pass'}


def test_forwarding_fails_without_connection_or_unit_or_probe():
    for probes in (fwd_probes(connections={'rc': 0, 'stdout': ''}),
                   fwd_probes(unit={'status': {'ActiveState': 'inactive'}}),
                   fwd_probes(unit={'skipped': True}),
                   fwd_probes(queue={'failed': True}),
                   fwd_probes(queue={'files': [{'size': 1000 * 1024 * 1024}]}),
                   fwd_probes(connections={'failed': True})):
        records = forward_controls(probes, FWD_POLICY)
        assert records[0]['status'] == 'fail', records[0]


def test_forwarding_observation_names_the_problem():
    record = forward_controls(fwd_probes(connections={'rc': 0, 'stdout': ''}), FWD_POLICY)[0]
    assert record['observed'].startswith('no connection to lh:2514')


def test_certificate_fails_before_it_lapses_and_when_unreadable():
    assert forward_controls(fwd_probes(cert=SOON), FWD_POLICY)[1]['status'] == 'fail'
    assert 'expires in' in forward_controls(fwd_probes(cert=SOON), FWD_POLICY)[1]['observed']
    assert forward_controls(fwd_probes(cert={'rc': 1, 'stdout': ''}), FWD_POLICY)[1]['status'] == 'fail'


CHAIN_POLICY = dict(FWD_POLICY, chain_log_host='loghost1', recordings='/var/log/ephi')
CHAIN_OK = {'changed': False, 'summary': {'examined': 3, 'ok': 2, 'open': 1, 'bad': 0}, 'files': [], 'heads': 9,
            'source': 'loghost1:/var/log/ephi/fleet/h1/events.log', 'ignored': 0}
CHAIN_BAD = dict(CHAIN_OK, summary={'examined': 3, 'ok': 2, 'modified': 1, 'bad': 1},
                 files=[{'path': '/var/log/ephi/bob/h1-pty-1.cast', 'status': 'modified', 'line': 7, 'chunk': [5, 9]}])


def chain(records):
    return [r for r in records if r['id'] == 'log-forward-chain']


def test_chain_control_only_with_a_log_host_to_ask():
    assert chain(forward_controls(fwd_probes(), FWD_POLICY)) == []
    assert chain(forward_controls(fwd_probes(), dict(CHAIN_POLICY, chain_log_host=''))) == []


def test_chain_control_passes_and_names_the_first_bad_chunk():
    [ok] = chain(forward_controls(fwd_probes(heads={'rc': 0, 'stdout': '...'}, chain=CHAIN_OK), CHAIN_POLICY))
    assert ok['status'] == 'pass', ok
    assert ok['observed'].startswith('3 recording(s) examined against 9 chain head(s) from loghost1:'), ok
    # No heads for this host at all (grep's rc 1) is examined too: the module decides.
    [none] = chain(forward_controls(fwd_probes(heads={'rc': 1, 'stdout': ''}, chain=CHAIN_OK), CHAIN_POLICY))
    assert none['status'] == 'pass'
    [bad] = chain(forward_controls(fwd_probes(heads={'rc': 0, 'stdout': '...'}, chain=CHAIN_BAD), CHAIN_POLICY))
    assert bad['status'] == 'fail'
    assert '/var/log/ephi/bob/h1-pty-1.cast: modified from line 7 (chunk 5-9)' in bad['observed'], bad


def test_chain_control_fails_when_nothing_was_examined():
    for heads, chain_result, why in (
            ({'unreachable': True, 'msg': 'timeout'}, {'skipped': True}, 'loghost1 was unreachable'),
            ({'rc': 2, 'stderr': 'grep: /x/events.log: No such file or directory'}, {'skipped': True},
             'No such file'),
            ({'skipped': True}, {'skipped': True}, 'could not be read'),
            ({'rc': 0, 'stdout': ''}, {'failed': True, 'msg': 'the store /var/log/ephi is not a directory'},
             'is not a directory')):
        [record] = chain(forward_controls(fwd_probes(heads=heads, chain=chain_result), CHAIN_POLICY))
        assert record['status'] == 'fail' and 'NOT examined' in record['observed'] and why in record['observed'], record


def delivered(age, now=NOW):
    lines = ('ephi-delivery now=%d' % now, 'ephi-delivery last=%d' % (now - 86400), 'ephi-delivery last=%d' % (now - age),
             '2027-01-15T07:59:00+00:00 h1 ephi-session[1]: event=chain id=1 ...')
    return {'rc': 0, 'stdout': '\n'.join(lines) + '\n'}


def shipping(probes, policy=None):
    return forward_controls(probes, policy or CHAIN_POLICY)[0]


def test_shipping_wants_a_recent_delivery_on_the_log_host():
    ok = shipping(fwd_probes(heads=delivered(45)))
    assert ok['status'] == 'pass' and ok['observed'].endswith(', last delivery 45 s ago'), ok
    assert 'received something from it within the last 180 s' in ok['check']
    # Older than three heartbeats (the rotated file's older write does not count).
    late = shipping(fwd_probes(heads=delivered(181)))
    assert late['status'] == 'fail', late
    assert late['observed'].startswith('nothing reached the log host loghost1 for 181 s (a heartbeat is due every 60 s)')
    assert shipping(fwd_probes(heads=delivered(181)), dict(CHAIN_POLICY, heartbeat_seconds=300))['status'] == 'pass'
    # No events.log for this host there, an unreachable log host, a probe that did not run.
    for heads, why in (({'rc': 1, 'stdout': 'ephi-delivery now=%d\n' % NOW}, 'holds no events from this host'),
                       ({'unreachable': True, 'msg': 'timeout'}, 'could not ask the log host loghost1'),
                       ({'rc': 2, 'stdout': '', 'stderr': 'cd: no such directory'}, 'could not ask'),
                       ({'skipped': True}, 'could not ask'),
                       ({'rc': 0, 'stdout': 'ephi-delivery now=x\nephi-delivery last=1\n'}, 'could not ask')):
        record = shipping(fwd_probes(heads=heads))
        assert record['status'] == 'fail' and why in record['observed'], (heads, record)
    # Without a log host to ask, the delivery is not part of the check.
    assert 'received something' not in shipping(fwd_probes(), FWD_POLICY)['check']


def test_log_host_passes_and_fails():
    assert statuses(host_controls(host_probes(), HOST_POLICY)) == {
        'log-host-receiving': 'pass', 'log-host-certificate': 'pass', 'log-host-retention': 'pass'}
    for probes in (host_probes(listening={'rc': 0, 'stdout': ''}),
                   host_probes(mount={'rc': 1, 'stdout': ''}),
                   host_probes(mount={'rc': 0, 'stdout': '/ overlay\n'}),
                   host_probes(unit={'status': {'ActiveState': 'failed'}})):
        assert host_controls(probes, HOST_POLICY)[0]['status'] == 'fail'


def retention(probes):
    return [r for r in host_controls(probes, HOST_POLICY) if r['id'] == 'log-host-retention'][0]


def test_retention_passes_before_and_after_a_good_run():
    assert 'not run yet' in retention(host_probes())['observed']
    ran = retention(host_probes(retention_service=RAN_OK))
    assert ran['status'] == 'pass' and 'last run Sat 2026-12-05 00:12:01 UTC: success' in ran['observed'], ran


def test_retention_fails_on_a_stopped_timer_a_failed_run_or_other_settings():
    for probes, why in (
            (host_probes(retention_timer={'rc': 0, 'stdout': 'ActiveState=inactive\nUnitFileState=disabled\n'}),
             'the timer is inactive and disabled'),
            (host_probes(retention_timer={'failed': True}), 'could not read the timer'),
            (host_probes(retention_service={'rc': 0, 'stdout': 'Result=exit-code\nExecMainExitTimestamp=Sat 2026-12-05\n'}),
             'its last run failed (exit-code)'),
            (host_probes(retention_conf={'rc': 0, 'stdout': '{"retention_days": 30, "compress_after_days": 1}'}),
             'it runs with 30 days of retention'),
            (host_probes(retention_conf={'rc': 1, 'stdout': ''}), 'could not read its settings'),
            (host_probes(retention_conf={'rc': 0, 'stdout': 'not json'}), 'could not read its settings')):
        record = retention(probes)
        assert record['status'] == 'fail' and why in record['observed'], (why, record)
