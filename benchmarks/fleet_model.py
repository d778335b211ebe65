# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet model of docs/benchmarks.md: the wall time of a site.yml or verify.yml
run on N hosts with F forks and C controller cores, from what one host costs.

Inputs, per host and per run (benchmarks/site.sh measures them; its results.txt
has one line per run: strategy hosts run wall changed load controller_cpu
hosts_cpu main_cpu mux_cpu):

    t1     wall time of the run on one host (the chain of round trips)
    main   CPU seconds of ansible-playbook's main process (one thread: serial)
    work   CPU seconds of the workers (controller CPU minus main): spread over cores
    ssh    CPU seconds of the SSH multiplexers (also spread over cores)
    host   CPU seconds on the managed host

With the linear strategy every task waits for all hosts, at most F at a time,
so the chain of round trips repeats ceil(N / F) times; the main process does
its share for every host in one thread; the workers and multiplexers share C
cores. A run takes as long as the slowest of these:

    wall(N, F, C) = max(ceil(N / F) * t1,  fixed + N * main + N * (work + ssh) / C)

In the lab the managed hosts are containers on the controller's own cores, so
their CPU joins the second term there:

    lab(N, F, C) = max(ceil(N / F) * t1,  fixed + N * main + N * (work + ssh + host) / C)

fixed is the controller's CPU per run that does not grow with the hosts (taken
from the slope between the one-host run and the next larger one, when the
results have one; else 0 and everything counts per host).

Usage:
    python3 benchmarks/fleet_model.py RESULTS [--strategy linear] [--run rerun]
                                      [--forks 8] [--cores 2] [--predict N:F:C ...]
Prints the one-host inputs, the lab prediction against every measured host
count in RESULTS, and the fleet predictions asked for."""

from __future__ import absolute_import, division, print_function

import argparse
import math
import sys


def read_results(path):
    rows = []
    with open(path) as handle:
        for line in handle:
            parts = line.split()
            if len(parts) < 10:
                continue
            strategy, hosts, run, wall, _changed, _load, ctl, hosts_cpu, main, mux = parts[:10]
            rows.append({'strategy': strategy, 'hosts': int(hosts), 'run': run, 'wall': float(wall),
                         'ctl': float(ctl), 'hosts_cpu': float(hosts_cpu), 'main': float(main), 'mux': float(mux)})
    return rows


def inputs(row, other=None):
    """Per-host inputs from a one-host row. With a row of more hosts (other), the
    controller's CPU is split into a per-run part (fixed: the run_once tasks, the
    report, the playbook's parsing) and a per-host part (the slope between the two);
    the main process's share of the per-host part is its share in the one-host run."""
    ctl, fixed = row['ctl'], 0.0
    host = row['hosts_cpu']
    if other is not None:
        slope = (other['ctl'] - row['ctl']) / (other['hosts'] - 1)
        fixed, ctl = max(row['ctl'] - slope, 0.0), min(slope, row['ctl'])
        host = (other['hosts_cpu'] - row['hosts_cpu']) / (other['hosts'] - 1)
    share = row['main'] / row['ctl'] if row['ctl'] else 0.0
    return {'t1': row['wall'], 'fixed': fixed, 'main': share * ctl, 'work': (1 - share) * ctl, 'ssh': row['mux'],
            'host': host}


def bounds(one, hosts, forks, cores, lab=False):
    """(chain, cpu): the two bounds of a run on hosts hosts. The prediction is
    their maximum (they overlap perfectly); their sum is the pessimistic end
    (a round trip waits for a busy CPU as long as the CPU is busy)."""
    chain = math.ceil(hosts / forks) * one['t1']
    spread = one['work'] + one['ssh'] + (one['host'] if lab else 0.0)
    return chain, one['fixed'] + hosts * one['main'] + hosts * spread / cores


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('results')
    parser.add_argument('--strategy', default='linear')
    parser.add_argument('--run', default='rerun')
    parser.add_argument('--forks', type=int, default=8)
    parser.add_argument('--cores', type=int, default=2)
    parser.add_argument('--predict', nargs='*', default=['1000:50:16', '1000:200:16'])
    args = parser.parse_args(argv)
    rows = [r for r in read_results(args.results) if r['strategy'] == args.strategy and r['run'] == args.run]
    ones = [r for r in rows if r['hosts'] == 1]
    if not ones:
        sys.exit('no one-host %s %s run in %s' % (args.strategy, args.run, args.results))
    more = sorted((r for r in rows if r['hosts'] > 1), key=lambda r: r['hosts'])
    one = inputs(ones[0], more[0] if more else None)
    print('inputs, %s %s: t1 %.1f s; CPU seconds per run %.2f, per host: main %.2f, workers %.2f, ssh %.2f, host %.2f%s'
          % (args.strategy, args.run, one['t1'], one['fixed'], one['main'], one['work'], one['ssh'], one['host'],
             ' (per-host parts from the %d-host run)' % more[0]['hosts'] if more else ''))
    print()
    print('| hosts | measured | lab model max .. sum (F=%d, C=%d) | error of max, of sum |' % (args.forks, args.cores))
    print('|---|---|---|---|')
    for row in sorted(rows, key=lambda r: r['hosts']):
        chain, cpu = bounds(one, row['hosts'], args.forks, args.cores, lab=True)
        low, high = max(chain, cpu), (chain + cpu if row['hosts'] > 1 else max(chain, cpu))
        print('| %d | %.1f s | %.1f .. %.1f s | %+.0f %%, %+.0f %% |' % (
            row['hosts'], row['wall'], low, high, 100 * (low - row['wall']) / row['wall'],
            100 * (high - row['wall']) / row['wall']))
    print()
    print('| fleet: hosts, forks, controller cores | predicted wall, max .. sum | bound by |')
    print('|---|---|---|')
    for spec in args.predict:
        hosts, forks, cores = (int(x) for x in spec.split(':'))
        chain, cpu = bounds(one, hosts, forks, cores)
        bound = 'round trips' if chain >= cpu else 'controller CPU'
        low, high = max(chain, cpu) / 60, (chain + cpu) / 60
        print('| %d, %d, %d | %.1f .. %.1f min | %s |' % (hosts, forks, cores, low, high, bound))
    return 0


if __name__ == '__main__':
    sys.exit(main())
