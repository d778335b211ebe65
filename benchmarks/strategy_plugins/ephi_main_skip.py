# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark prototype, NOT part of the collection and not for production: the linear strategy,
except that a task without a loop or delegation whose `when` is false for a host is skipped in
ansible-playbook's main process, with the result a worker would have sent, instead of forking a
worker per task and host to find that out. It measures what the forks of skipped tasks cost
(docs/benchmarks.md, "The per-task floor"). ansible-core 2.19 only: it uses internal types.
Anything it cannot decide (an error, a loop, delegation) goes to a worker as usual.

    ANSIBLE_STRATEGY_PLUGINS=benchmarks/strategy_plugins ANSIBLE_STRATEGY=ephi_main_skip ansible-playbook ...
    bash benchmarks/rerun_ab.sh HEAD HEAD:ephi_main_skip
"""

from __future__ import annotations

DOCUMENTATION = r'''
name: ephi_main_skip
short_description: linear, with false conditionals decided in the main process (benchmark prototype)
description:
  - Benchmarks only. Like C(linear), but a task without a loop or delegation whose C(when) is false
    for a host is reported skipped without forking a worker.
'''

from ansible import constants as C
from ansible._internal._templating._engine import TemplateEngine
from ansible.executor.task_result import _WireTaskResult
from ansible.plugins.strategy.linear import StrategyModule as LinearStrategyModule


class StrategyModule(LinearStrategyModule):

    def _skipped_in_main(self, host, task, task_vars, play_context):
        """The worker's result for a task whose conditional is false, or None (a worker decides)."""
        if not task.when or task.loop_with or task.loop is not None or task.delegate_to is not None:
            return None
        if task.action in C._ACTION_META:
            return None
        try:
            variables = dict(task_vars)
            search = task.get_search_path()
            if self._loader.get_basedir() not in search:
                search.append(self._loader.get_basedir())
            variables['ansible_search_path'] = search
            templar = TemplateEngine(loader=self._loader, variables=variables)
            context = play_context.set_task_and_variable_override(task=task, variables=variables, templar=templar)
            context.post_validate(templar=templar)
            if not context.remote_addr:
                context.remote_addr = host.address
            tempvars = dict(variables)
            context.update_vars(tempvars)
            extra = {}
            if task._resolve_conditional(task.when, tempvars, result_context=extra):
                return None
        except Exception:  # pylint: disable=broad-except
            return None
        result = dict(changed=False, skipped=True, skip_reason='Conditional result was False')
        result.update(extra)
        return result

    def _queue_task(self, host, task, task_vars, play_context):
        result = self._skipped_in_main(host, task, task_vars, play_context)
        if result is None:
            return super()._queue_task(host, task, task_vars, play_context)
        # As a worker's result: through the results queue and thread, after
        # the v2_runner_on_start callback.
        self._queued_task_cache[(host.name, task._uuid)] = {
            'host': host, 'task': task, 'task_vars': task_vars, 'play_context': play_context}
        self._tqm.send_callback('v2_runner_on_start', host, task)
        self._final_q.put(_WireTaskResult(host_name=host.name, task_uuid=task._uuid, return_data=result,
                                          task_fields=task.dump_attrs()))
        self._pending_results += 1
        return None
