# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""plugins/modules/file_set.py: main() as the action plugin calls it (contents base64), check and
diff mode, errors before any change, and no content in its logged invocation or its result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import stat
import sys

import pytest

from ansible.module_utils import basic

from ansible_collections.ephi.safeguards.plugins.modules import file_set as mod
from ansible_collections.ephi.safeguards.tests.unit.plugins.modules.utils import patch_exit_fail, run_main

SECRET = b'{"token": "s3cr3t-value"}\n'


def b64(data):
    return base64.b64encode(data).decode('ascii')


@pytest.fixture
def logged(monkeypatch):
    patch_exit_fail(monkeypatch)
    lines = []
    monkeypatch.setattr(basic.AnsibleModule, 'log', lambda self, msg, log_args=None: lines.append((msg, log_args)))
    return lines


def the_set(root):
    return {
        'owner': 'root' if os.geteuid() == 0 else None, 'mode': '0644',
        'files': [
            {'path': str(root / 'etc'), 'state': 'directory', 'mode': '0755'},
            {'dest': str(root / 'etc' / 'gate'), 'content_base64': b64(b'#!/bin/sh\n'), 'source': 'src gate', 'mode': '0755'},
            {'dest': str(root / 'etc' / 'token.json'), 'content_base64': b64(SECRET), 'source': 'template token.json.j2',
             'validate': '%s -m json.tool %%s' % sys.executable},
            {'dest': str(root / 'etc' / 'plain'), 'content': 'plain text\n'},
        ],
    }


def run(args, check=False, diff=False):
    args = dict((key, value) for key, value in args.items() if value is not None)
    if diff:
        args['_ansible_diff'] = True
    return run_main(mod.main, args, check=check)


def test_applies_the_set_then_changes_nothing(tmp_path, logged):
    first = run(the_set(tmp_path))
    assert first['changed'] and not first.get('failed')
    etc = tmp_path / 'etc'
    assert first['changed_paths'] == [str(etc), str(etc / 'gate'), str(etc / 'token.json'), str(etc / 'plain')]
    assert [r['created'] for r in first['results']] == [True] * 4
    assert (etc / 'token.json').read_bytes() == SECRET and (etc / 'plain').read_bytes() == b'plain text\n'
    assert stat.S_IMODE(os.lstat(str(etc / 'gate')).st_mode) == 0o755
    assert stat.S_IMODE(os.lstat(str(etc / 'plain')).st_mode) == 0o644
    second = run(the_set(tmp_path))
    assert not second['changed'] and second['changed_paths'] == []
    assert [r['changed'] for r in second['results']] == [False] * 4 and 'diff' not in second


def test_check_mode_reports_and_touches_nothing(tmp_path, logged):
    result = run(the_set(tmp_path), check=True, diff=True)
    assert result['changed'] and len(result['changed_paths']) == 4
    assert os.listdir(str(tmp_path)) == []
    assert isinstance(result['diff'], list) and len(result['diff']) == 4
    assert result['diff'][2]['after'] == SECRET.decode() and result['diff'][2]['before'] == ''


def test_diff_mode_lists_what_changed(tmp_path, logged):
    run(the_set(tmp_path))
    os.chmod(str(tmp_path / 'etc' / 'gate'), 0o700)
    (tmp_path / 'etc' / 'plain').write_bytes(b'edited\n')
    result = run(the_set(tmp_path), diff=True)
    assert result['changed_paths'] == [str(tmp_path / 'etc' / 'gate'), str(tmp_path / 'etc' / 'plain')]
    gate, plain = result['diff']
    assert gate['before'] == {'path': str(tmp_path / 'etc' / 'gate'), 'mode': '0700'}
    assert gate['after'] == {'path': str(tmp_path / 'etc' / 'gate'), 'mode': '0755'}
    assert (plain['before'], plain['after']) == ('edited\n', 'plain text\n')
    assert [r['attributes'] for r in result['results']] == [[], ['mode'], [], []]
    assert [r['content'] for r in result['results']] == [False, False, False, True]


def test_argument_errors_fail_before_anything_changes(tmp_path, logged):
    args = the_set(tmp_path)
    args['files'].append({'dest': str(tmp_path / 'etc' / 'bad'), 'content': 'x', 'mode': 420})
    args['files'].append({'dest': str(tmp_path / 'etc' / 'tpl'), 'template': 'x.j2'})
    result = run(args)
    assert result['failed'] and not result['changed'] and len(result['problems']) == 2
    assert 'files[4] (%s): mode must be a quoted string' % (tmp_path / 'etc' / 'bad') in result['msg']
    assert 'template is read on the controller by the action plugin' in result['msg']
    assert os.listdir(str(tmp_path)) == []
    assert run({'files': [], 'mode': 644})['failed']


def test_a_refused_destination_fails_the_whole_set_first(tmp_path, logged):
    (tmp_path / 'etc').mkdir()
    os.symlink('/etc/hostname', str(tmp_path / 'etc' / 'plain'))
    result = run(the_set(tmp_path))
    assert result['failed'] and 'is a symbolic link' in result['msg']
    assert sorted(os.listdir(str(tmp_path / 'etc'))) == ['plain']


def test_a_failing_validate_reports_what_changed_before_it(tmp_path, logged):
    args = the_set(tmp_path)
    args['files'][2]['content_base64'] = b64(b'{not json\n')
    result = run(args)
    assert result['failed'] and 'validate failed (rc 1)' in result['msg']
    etc = tmp_path / 'etc'
    assert result['changed'] and result['changed_paths'] == [str(etc), str(etc / 'gate')]
    assert sorted(os.listdir(str(etc))) == ['gate']


def test_no_content_in_the_logged_invocation_or_the_result(tmp_path, logged):
    result = run(the_set(tmp_path), diff=False)
    shown = json.dumps(result) + repr(logged)
    assert b64(SECRET) not in shown and 's3cr3t' not in shown
    assert any('Invoked with' in msg for msg, _args in logged)
    module_args = result['invocation']['module_args']
    assert module_args['files'][2]['content_base64'] == 'NOT_SHOWN (%d characters)' % len(b64(SECRET))
