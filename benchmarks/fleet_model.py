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

    wall(N, F, C) = max(ceil(N / F) * t1,  N * main + N * (work + ssh) / C)

In the lab the managed hosts are containers on the controller's own cores, so
their CPU joins the second term there:

    lab(N, F, C) = max(ceil(N / F) * t1,  N * main + N * (work + ssh + host) / C)

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


def inputs(row):
    """Per-host inputs from a one-host row."""
    return {'t1': row['wall'], 'main': row['main'], 'work': row['ctl'] - row['main'], 'ssh': row['mux'],
            'host': row['hosts_cpu']}


def fleet_wall(one, hosts, forks, cores):
    """Predicted wall time on a fleet whose hosts have their own CPU."""
    return max(math.ceil(hosts / forks) * one['t1'], hosts * one['main'] + hosts * (one['work'] + one['ssh']) / cores)


def lab_wall(one, hosts, forks, cores):
    """Predicted wall time in the lab (hosts on the controller's cores)."""
    return max(math.ceil(hosts / forks) * one['t1'],
               hosts * one['main'] + hosts * (one['work'] + one['ssh'] + one['host']) / cores)


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
    one = inputs(ones[0])
    print('one host, %s %s: t1 %.1f s, main %.2f s, workers %.2f s, ssh %.2f s, host %.2f s (CPU seconds)'
          % (args.strategy, args.run, one['t1'], one['main'], one['work'], one['ssh'], one['host']))
    print()
    print('| hosts | measured | lab model (F=%d, C=%d) | error |' % (args.forks, args.cores))
    print('|---|---|---|---|')
    for row in sorted(rows, key=lambda r: r['hosts']):
        predicted = lab_wall(one, row['hosts'], args.forks, args.cores)
        error = 100 * (predicted - row['wall']) / row['wall']
        print('| %d | %.1f s | %.1f s | %+.0f %% |' % (row['hosts'], row['wall'], predicted, error))
    print()
    print('| fleet: hosts, forks, controller cores | predicted wall | bound by |')
    print('|---|---|---|')
    for spec in args.predict:
        hosts, forks, cores = (int(x) for x in spec.split(':'))
        chain = math.ceil(hosts / forks) * one['t1']
        cpu = hosts * one['main'] + hosts * (one['work'] + one['ssh']) / cores
        wall = max(chain, cpu)
        bound = 'round trips' if chain >= cpu else 'controller CPU'
        print('| %d, %d, %d | %.0f s (%.1f min) | %s |' % (hosts, forks, cores, wall, wall / 60, bound))
    return 0


if __name__ == '__main__':
    sys.exit(main())
