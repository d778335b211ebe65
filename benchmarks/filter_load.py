# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the first ephi.safeguards filter costs a process that has not used one yet, as every
Ansible worker is (one is forked per task and host): ansible-core then loads every file of the
collection's plugins/filter directory, compiling collection code from source (plugins/plugin_utils/lazy.py).

Each measurement is a fresh Python process with ansible-core's templating already imported, as in a
worker: the CPU milliseconds of templating one expression with the first ephi.safeguards filter
(failed_checks: its file sorts last, so every filter file is loaded before it is found), then one of
another file (tmux_lock_command, which imports its library on the call), then the first again.
Prints the medians. Run from the checkout, after the README's set-up (its virtualenv):

    python3 benchmarks/filter_load.py [runs]          default 9 runs
    EPHI_BENCH_COLLECTIONS=DIR python3 benchmarks/filter_load.py     another copy (DIR/ansible_collections/ephi/safeguards),
                                                                     such as an older revision's git archive
"""

import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r'''
import json, time
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader()
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
templar = Templar(loader=DataLoader(), variables={'checks': [], 'cmd': 'vlock -a'})
templar.template(trust_as_template('{{ checks | length }}'))  # the core filters, loaded in the parent already

def ms(expression):
    start = time.process_time()
    templar.template(trust_as_template(expression))
    return (time.process_time() - start) * 1000

print(json.dumps({
    'first ephi.safeguards filter (failed_checks)': ms('{{ checks | ephi.safeguards.failed_checks }}'),
    'a filter of another file (tmux_lock_command)': ms("{{ cmd | ephi.safeguards.tmux_lock_command('vlock') }}"),
    'the first filter again': ms('{{ checks | ephi.safeguards.failed_checks }}'),
}))
'''


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    collections = os.environ.get('EPHI_BENCH_COLLECTIONS') or os.path.join(ROOT, '.cache', 'collections')
    if not os.path.isdir(collections):
        sys.exit('%s is missing: run the README set-up first' % collections)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, PYTHONWARNINGS='ignore')
    samples = []
    for dummy in range(runs):
        out = subprocess.run([sys.executable, '-c', CHILD], env=env, capture_output=True, text=True, check=True).stdout
        samples.append(json.loads(out.strip().splitlines()[-1]))
    print('CPU ms, median of %d fresh processes (min-max):' % runs)
    for key in samples[0]:
        values = [s[key] for s in samples]
        print('  %-48s %6.1f  (%.1f-%.1f)' % (key, statistics.median(values), min(values), max(values)))


if __name__ == '__main__':
    main()
