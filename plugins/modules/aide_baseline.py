#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: aide_baseline
short_description: Make the AIDE baseline once, or accept changes into it, and log who did it
version_added: 1.1.0
author: ephi.safeguards maintainers (@ephi-safeguards)
description:
  - Makes and replaces the AIDE database (the baseline) the way the C(ephi.safeguards.aide) role does, and returns
    the sha512 of the new database so that the caller can keep it off the host (tamper evidence).
  - With O(action=init) or O(action=reinit) it runs C(aide --init) only when the database does not exist, moves the
    new database into place and appends a line to the baseline log. The two differ only in the word logged
    (V(reinit) says that a baseline existed before).
  - With O(action=accept) it runs C(aide --update), saves AIDE's report in O(report_dir) as
    C(aide-accept-<UTC timestamp>.txt), moves the new database into place and appends a line to the baseline log with
    AIDE's exit status and the report's path. It always changes the database; decide beforehand (for example with
    M(ephi.safeguards.aide_check)) whether there is anything to accept.
  - Each baseline log line starts with the UTC time and names the action, the remote and controller users and the
    database's sha512, for example C(2026-01-02T03:04:05Z action=init remote_user=deploy controller_user=alice
    db_sha512=...).
  - Files are created with umask 077 (the database, the report and the log are readable by root only).
options:
  action:
    description:
      - V(init) or V(reinit), make the database when there is none (nothing to do when it exists).
      - V(accept), update the database with the current state of the watched files.
    type: str
    required: true
    choices: [init, reinit, accept]
  database:
    description:
      - The database AIDE checks against (C(database_in) of the configuration).
    type: path
    default: /var/lib/aide/aide.db
  database_new:
    description:
      - The database AIDE writes (C(database_out) of the configuration); it is moved to O(database).
    type: path
    default: /var/lib/aide/aide.db.new
  report_dir:
    description:
      - Directory for the saved reports of acceptance runs (created with mode 0700 when missing).
    type: path
    default: /var/lib/aide/ephi-safeguards
  log:
    description:
      - The baseline log. Defaults to C(baseline.log) in O(report_dir).
    type: path
  remote_user:
    description:
      - The user Ansible connected as, written to the baseline log.
    type: str
    default: unknown
  controller_user:
    description:
      - The user who ran Ansible on the controller, written to the baseline log.
    type: str
    default: unknown
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ephi.safeguards.aide
attributes:
  check_mode:
    support: full
    details:
      - Reports what it would do (V(changed) when it would make or update the database) and changes nothing; AIDE is not
        run.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Requires AIDE on the managed host and root (C(become=true)).
  - C(aide --init) and C(--update) hash every watched file; on a large configuration they take minutes. Run the task
    with C(async) to bound it (AIDE ignores SIGTERM; the async wrapper kills it). The role does so with its
    C(aide_timeout).
  - Nothing secret is passed or returned, so the module needs no C(no_log).
  - Tested with AIDE 0.18.3 (Debian 12) and 0.19.1 (Debian 13).
seealso:
  - module: ephi.safeguards.aide_check
  - name: aide(1) manual page
    description: Commands, options and exit status of AIDE.
    link: https://manpages.debian.org/aide.1
'''

EXAMPLES = r'''
- name: Make the AIDE baseline once
  ephi.safeguards.aide_baseline:
    action: init
    remote_user: "{{ ansible_user }}"
    controller_user: "{{ lookup('ansible.builtin.pipe', 'id -un') }}"
  become: true
  async: 3600
  poll: 2
  register: aide_init

- name: Keep the sha512 of the new database on the controller
  ansible.builtin.copy:
    dest: "/srv/aide-baselines/{{ inventory_hostname }}.aide.db.sha512"
    content: "{{ aide_init.db_sha512 }}  {{ inventory_hostname }}:{{ aide_init.database }}\n"
    mode: "0600"
  delegate_to: localhost
  become: false
  when: aide_init is changed

- name: Accept the reviewed changes into the baseline
  ephi.safeguards.aide_baseline:
    action: accept
  become: true
  async: 3600
  poll: 2
'''

RETURN = r'''
action:
  description: The action that was asked for.
  returned: always
  type: str
  sample: init
database:
  description: The database path.
  returned: always
  type: str
  sample: /var/lib/aide/aide.db
db_sha512:
  description:
    - The sha512 of the database file (hex), after the change; of the existing database when there was nothing to do.
      Not returned in check mode when the database would be made or replaced.
  returned: when the database exists after the run
  type: str
  sample: 3c9909afec25354d551dae21590bb26e38d53f2173b8d3dc3eee4c047e7ab1c1eb8b85103e3be7ba613b31bb5c9c36214dc9f14a42fd7a2fdb84856bca5c44c2
log:
  description: The baseline log.
  returned: always
  type: str
  sample: /var/lib/aide/ephi-safeguards/baseline.log
log_line:
  description: The line appended to the baseline log (without the newline).
  returned: changed and not check mode
  type: str
  sample: "2026-01-02T03:04:05Z action=init remote_user=deploy controller_user=alice db_sha512=3c99..."
report:
  description: The saved report of an acceptance run (also when AIDE failed).
  returned: O(action=accept) and not check mode
  type: str
  sample: /var/lib/aide/ephi-safeguards/aide-accept-20260102T030405Z.txt
aide_rc:
  description: AIDE's exit status; for C(--update) the bit mask of the differences it took in (1 added, 2 removed,
    4 changed).
  returned: when AIDE ran
  type: int
  sample: 5
cmd:
  description: The AIDE command that was run.
  returned: when AIDE ran
  type: list
  elements: str
  sample: ["/usr/bin/aide", "--config", "/etc/aide/aide.conf", "--init"]
stderr:
  description: AIDE's standard error.
  returned: when AIDE ran
  type: str
  sample: ""
msg:
  description: What was done, or would be done in check mode.
  returned: always
  type: str
  sample: initialised the AIDE database /var/lib/aide/aide.db
'''

import errno
import os
import shutil
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native

from ansible_collections.ephi.safeguards.plugins.module_utils.regular_files import file_digest
from ansible_collections.ephi.safeguards.plugins.module_utils.aide_report import (
    accept_report_name,
    baseline_log_line,
    baseline_plan,
    update_failed,
)

ENV = {'LANG': 'C', 'LC_ALL': 'C', 'LANGUAGE': 'C'}


def sha512_file(path):
    """The database's sha512, read as the tamper check's probe reads it (host_probe, the same
    helper): a symbolic link or anything but a regular file is an error, never followed."""
    digest = file_digest(path, 'sha512')
    if digest is None:
        raise OSError(errno.EINVAL, '%s is not a regular file' % path)
    return digest


def write_file(path, data, append=False):
    """Write (or append) bytes to a root-only file (0600 when it is created)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, 'wb') as fh:
        fh.write(data)


def move(src, dest):
    """mv -f: rename, or copy and remove across file systems."""
    try:
        os.rename(src, dest)
    except OSError:
        shutil.move(src, dest)


def tail(text, lines=5):
    return ' '.join(line.strip() for line in (text or '').strip().splitlines()[-lines:])


class Baseline(object):
    """The module's I/O: run AIDE, move its database, save the report, append to the log."""

    def __init__(self, module):
        self.module = module
        params = module.params
        self.action = params['action']
        self.config = params['config']
        self.database = params['database']
        self.database_new = params['database_new']
        self.report_dir = params['report_dir']
        self.log = params['log'] or os.path.join(self.report_dir, 'baseline.log')
        self.remote_user = params['remote_user']
        self.controller_user = params['controller_user']
        self.result = {'changed': False, 'action': self.action, 'database': self.database, 'log': self.log}

    def fail(self, msg, **extra):
        self.result.update(extra)
        self.module.fail_json(msg=msg, **self.result)

    def aide(self, command):
        aide_bin = self.module.params['aide_bin'] or self.module.get_bin_path(
            'aide', required=True, opt_dirs=['/usr/sbin', '/usr/bin'])
        argv = [aide_bin, '--config', self.config, command]
        if os.path.lexists(self.database_new):
            os.unlink(self.database_new)
        rc, out, err = self.module.run_command(argv, environ_update=ENV)
        self.result.update(cmd=argv, aide_rc=rc, stderr=err)
        return rc, out, err

    def install(self):
        """Move the database AIDE wrote into place and log it; returns its sha512."""
        if not os.path.isfile(self.database_new):
            self.fail('AIDE did not write %s (is it the database_out of %s?)' % (self.database_new, self.config))
        move(self.database_new, self.database)
        digest = sha512_file(self.database)
        self.result.update(changed=True, db_sha512=digest)
        return digest

    def record(self, line):
        write_file(self.log, to_bytes(line), append=True)
        self.result['log_line'] = line.rstrip('\n')

    def init(self):
        rc, dummy, err = self.aide('--init')
        if rc != 0:
            self.fail('aide --init failed with exit status %d: %s' % (rc, tail(err) or 'no output'))
        digest = self.install()
        self.record(baseline_log_line(time.time(), self.action, self.remote_user, self.controller_user, digest))
        self.result['msg'] = 'initialised the AIDE database %s' % self.database

    def accept(self):
        report = os.path.join(self.report_dir, accept_report_name(time.time()))
        rc, out, err = self.aide('--update')
        # The report as AIDE printed it: the differences taken in, then its warnings and errors.
        write_file(report, to_bytes(out) + to_bytes(err))
        self.result['report'] = report
        if update_failed(rc):
            self.fail('aide --update failed with exit status %s; see %s' % (rc, report))
        digest = self.install()
        self.record(baseline_log_line(time.time(), 'accept', self.remote_user, self.controller_user, digest,
                                      aide_rc=rc, report=report))
        self.result['msg'] = 'accepted the changes into the AIDE database %s (report %s)' % (self.database, report)

    def run(self):
        plan = baseline_plan(self.action, os.path.lexists(self.database))
        if plan == 'none':
            digest = file_digest(self.database, 'sha512')
            if digest is not None:
                self.result['db_sha512'] = digest
            self.result['msg'] = 'the AIDE database %s exists; nothing to initialise' % self.database
            return self.result
        if self.module.check_mode:
            self.result.update(changed=True, msg=(
                'would initialise the AIDE database %s (aide --init) and log it in %s' % (self.database, self.log)
                if plan == 'init' else
                'would accept the changes into the AIDE database %s (aide --update), saving the report in %s'
                % (self.database, self.report_dir)))
            return self.result
        os.umask(0o077)
        for directory in (self.report_dir, os.path.dirname(self.log)):
            if directory and not os.path.isdir(directory):
                os.makedirs(directory, 0o700)
        if plan == 'init':
            self.init()
        else:
            self.accept()
        return self.result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            action=dict(type='str', required=True, choices=['init', 'reinit', 'accept']),
            config=dict(type='path', default='/etc/aide/aide.conf'),
            database=dict(type='path', default='/var/lib/aide/aide.db'),
            database_new=dict(type='path', default='/var/lib/aide/aide.db.new'),
            report_dir=dict(type='path', default='/var/lib/aide/ephi-safeguards'),
            log=dict(type='path'),
            remote_user=dict(type='str', default='unknown'),
            controller_user=dict(type='str', default='unknown'),
            aide_bin=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    baseline = Baseline(module)
    try:
        module.exit_json(**baseline.run())
    except (IOError, OSError) as exc:
        baseline.fail('cannot %s the AIDE baseline: %s' % (baseline.action, to_native(exc)))


if __name__ == '__main__':
    main()
