# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ansible-core loads every filter file of the collection, in every worker, for any one of its
filters (plugins/plugin_utils/lazy.py): loading them must not import the libraries behind them.
The libraries are imported when a filter runs, and the filter gives what the library gives."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

FILTERS = ('aide', 'encrypted_logs', 'evidence_report', 'file_items', 'log_controls', 'ssh_key_policy', 'tmux_policy',
           'var_checks')

CHILD = r'''
import importlib, json, sys
names = %r
for name in names:
    importlib.import_module('ansible_collections.ephi.safeguards.plugins.filter.' + name).FilterModule().filters()
loaded = sorted(m for m in sys.modules if m.startswith('ansible_collections.ephi.safeguards.plugins.')
                and '.filter.' not in m and not m.endswith('.plugin_utils.lazy'))
from ansible_collections.ephi.safeguards.plugins.filter.tmux_policy import FilterModule
command = FilterModule().filters()['tmux_lock_command']('/usr/bin/vlock', 'ephi-tmux-event')
after = sorted(m for m in sys.modules if m.startswith('ansible_collections.ephi.safeguards.plugins.module_utils.'))
print(json.dumps({'loaded': loaded, 'command': command, 'after': after}))
'''


def test_loading_every_filter_file_imports_no_library_until_a_filter_runs():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, '-c', CHILD % (FILTERS,)], env=env, capture_output=True, text=True,
                         check=True, timeout=120).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert [m for m in result['loaded'] if not m.endswith(('.plugins', '.plugin_utils', '.filter'))] == []
    # The filter ran: its library (and what that imports) is loaded now, and the answer is the library's.
    assert 'ansible_collections.ephi.safeguards.plugins.module_utils.tmux_controls' in result['after']
    from ansible_collections.ephi.safeguards.plugins.module_utils.tmux_controls import lock_command_effective
    assert result['command'] == lock_command_effective('/usr/bin/vlock', 'ephi-tmux-event')
