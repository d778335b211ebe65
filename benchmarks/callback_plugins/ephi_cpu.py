# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark helper (benchmarks/site.sh only, not part of the collection): at
the end of a playbook, print the CPU seconds of ansible-playbook's main process
alone, and how many tasks and host results there were. The main process runs
the strategy (host iteration, variables, results, callbacks) in one thread: its
share does not spread over the controller's cores, the workers' does (they are
not all reaped yet when this runs: site.sh takes them as GNU time's total of
the whole run minus this).

It also prints the controller CPU of each task (the main process and the
workers and ssh clients it has reaped, RUSAGE_SELF + RUSAGE_CHILDREN) as
"ephi-cpu-task <seconds> <task name>" lines, heaviest first. A worker is reaped
when the next worker starts, so a task's line holds its own workers' CPU only
approximately (some of the previous task's): read it for where the time goes,
not to the millisecond. It is the whole play's for a fleet (all hosts).

With EPHI_BENCH_HOST_CPU_FILE naming a cgroup's CPU counter (cgroup v1
cpuacct.usage in nanoseconds, or v2 cpu.stat), it also prints each task's
host CPU as "ephi-host-task <seconds> <task name>" lines: the container's CPU
between the task's start and the next's. Under the linear strategy with one
host that is the task's own work on the host (its SSH session, the gate, the
recorder, sudo, the module), give or take what a daemon does a little later.

With EPHI_BENCH_TEMPLATES naming a file (ansible-core 2.19 or newer), every
process of the run (the main process and the workers forked from it after
this callback loaded) appends one line per Jinja compilation to it (pid,
kind, milliseconds, the source's first characters): ansible-core compiles a
template or conditional anew each time it evaluates one, in every worker. At
the end the callback prints "ephi-templates" lines: the count and time of all
compilations, and the sources that cost most."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import os
import resource
import sys
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r'''
name: ephi_cpu
type: aggregate
short_description: CPU seconds of ansible-playbook's main process (benchmarks only)
description:
  - Prints one line C(ephi-cpu main=... tasks=... results=...) at the end of a playbook.
requirements:
  - enabled in the benchmark's ansible.cfg (callbacks_enabled)
'''


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'ephi_cpu'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self.tasks = 0
        self.results = 0
        self.current = None
        self.per_task = []
        self.host_file = os.environ.get('EPHI_BENCH_HOST_CPU_FILE')
        self.per_task_host = []
        self.templates_file = os.environ.get('EPHI_BENCH_TEMPLATES')
        if self.templates_file:
            open(self.templates_file, 'w').close()  # this run's compilations only
            _count_compilations(self.templates_file)

    @staticmethod
    def _cpu():
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    def _host_cpu(self):
        if not self.host_file:
            return 0.0
        with open(self.host_file) as counter:
            text = counter.read()
        if self.host_file.endswith('cpu.stat'):
            usec = [line.split()[1] for line in text.splitlines() if line.startswith('usage_usec ')]
            return int(usec[0]) / 1e6
        return int(text) / 1e9

    def _close_task(self):
        if self.current is not None:
            name, start, host_start = self.current
            self.per_task.append((self._cpu() - start, name))
            self.per_task_host.append((self._host_cpu() - host_start, name))
            self.current = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.tasks += 1
        self._close_task()
        self.current = (task.get_name(), self._cpu(), self._host_cpu())

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def _count(self, result, *args, **kwargs):
        self.results += 1

    v2_runner_on_ok = _count
    v2_runner_on_failed = _count
    v2_runner_on_skipped = _count
    v2_runner_on_unreachable = _count

    def v2_playbook_on_stats(self, stats):
        own = resource.getrusage(resource.RUSAGE_SELF)
        self._close_task()
        for seconds, name in sorted(self.per_task, reverse=True):
            self._display.display('ephi-cpu-task %.3f %s' % (seconds, name))
        if self.host_file:
            for seconds, name in sorted(self.per_task_host, reverse=True):
                self._display.display('ephi-host-task %.3f %s' % (seconds, name))
        self._display.display('ephi-cpu main=%.2f tasks=%d results=%d' % (own.ru_utime + own.ru_stime, self.tasks, self.results))
        # Every worker is a fork of this process: what it costs (page tables,
        # copy-on-write, teardown) grows with this process's memory.
        self._display.display('ephi-cpu main-memory maxrss=%d KiB user=%.2f sys=%.2f'
                              % (own.ru_maxrss, own.ru_utime, own.ru_stime))
        if self.templates_file:
            for line in _compilation_summary(self.templates_file):
                self._display.display(line)


def _count_compilations(path):
    """Wrap ansible-core's template and expression compilation (2.19 internals) to log each one to PATH."""
    from ansible._internal._templating import _engine  # pylint: disable=import-outside-toplevel

    tasks = {}

    def task_of_this_process():
        # A worker's task, found once per process on the stack (WorkerProcess and TaskExecutor hold it).
        pid = os.getpid()
        if pid not in tasks:
            tasks[pid] = 'main'
            frame = sys._getframe(2)
            while frame is not None:
                owner = frame.f_locals.get('self')
                task = getattr(owner, '_task', None)
                if task is not None and hasattr(owner, '_host'):
                    tasks[pid] = ' '.join(task.get_name().split())[:80]
                    break
                frame = frame.f_back
        return tasks[pid]

    def wrap(kind, compile_):
        def timed(self, source, options):
            start = time.perf_counter()
            try:
                return compile_(self, source, options)
            finally:
                line = '%d %s %.3f %s\t%s\n' % (os.getpid(), kind, (time.perf_counter() - start) * 1000,
                                                ' '.join(str(source).split())[:160], task_of_this_process())
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, line.encode('utf-8', 'replace'))
                finally:
                    os.close(fd)
        return timed

    engine = _engine.TemplateEngine
    engine._compile_template = wrap('template', engine._compile_template)
    engine._compile_expression = wrap('expression', engine._compile_expression)


def _compilation_summary(path, top=25):
    count, total, pids = 0, 0.0, set()
    by_source = collections.defaultdict(lambda: [0, 0.0])
    by_task = collections.defaultdict(lambda: [0, 0.0])
    with open(path, encoding='utf-8') as lines:
        for line in lines:
            head, dummy, task = line.rstrip('\n').partition('\t')
            pid, kind, ms, source = (head.split(' ', 3) + [''])[:4]
            count += 1
            total += float(ms)
            pids.add(pid)
            for table, key in ((by_source, kind + ' ' + source), (by_task, task)):
                table[key][0] += 1
                table[key][1] += float(ms)
    yield 'ephi-templates compilations=%d ms=%.0f processes=%d' % (count, total, len(pids))
    for source, (n, ms) in sorted(by_source.items(), key=lambda kv: -kv[1][1])[:top]:
        yield 'ephi-templates-top %.1f ms %d x %s' % (ms, n, source)
    for task, (n, ms) in sorted(by_task.items(), key=lambda kv: -kv[1][1])[:top]:
        yield 'ephi-templates-task %.1f ms %d x %s' % (ms, n, task)
