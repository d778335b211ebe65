# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Shared harness for the module tests: run main() with given arguments and
catch what it would have returned (exit_json) or failed with (fail_json)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

try:
    from ansible.module_utils.testing import patch_module_args  # pylint: disable=unused-import
except ImportError:  # ansible-core < 2.19
    @contextlib.contextmanager
    def patch_module_args(args=None):
        args = dict(args or {})
        args.setdefault('_ansible_remote_tmp', '/tmp')
        args.setdefault('_ansible_keep_remote_files', False)
        old = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = old


class ExitJson(Exception):
    pass


class FailJson(Exception):
    pass


def patch_exit_fail(monkeypatch):
    """Make AnsibleModule.exit_json/fail_json raise ExitJson/FailJson with the result."""

    def exit_json(self, **kwargs):
        kwargs.setdefault('changed', False)
        raise ExitJson(kwargs)

    def fail_json(self, **kwargs):
        kwargs['failed'] = True
        raise FailJson(kwargs)

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)


def run_main(main, args, check=False):
    """Run a module's main() with ARGS (check mode if asked); return its result.

    Needs patch_exit_fail in effect. The result of fail_json has failed=True.
    """
    args = dict(args)
    if check:
        args['_ansible_check_mode'] = True
    with patch_module_args(args):
        try:
            main()
        except (ExitJson, FailJson) as exc:
            return exc.args[0]
    raise AssertionError('module did not exit')
