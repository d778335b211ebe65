# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""plugins/action/file_set.py, controller side: templates render to the very bytes ansible.builtin.template
writes, static files are sent byte for byte, the module runs once, and bad items never reach the host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import os

import pytest

from unittest.mock import MagicMock

from ansible.parsing.dataloader import DataLoader
from ansible.plugins.action.template import ActionModule as TemplateAction
from ansible.plugins.loader import init_plugin_loader, lookup_loader
from ansible.template import Templar

from ansible_collections.ephi.safeguards.plugins.action.file_set import ActionModule

TEMPLATE = (u'# {{ ansible_managed }}\n'
            u'name={{ demo_name }} caf\u00e9\n'
            u'{% if demo_flag %}\n'
            u'flag on\n'
            u'{% endif %}\n'
            u'{% for x in demo_list %}\n'
            u'wants={{ x }}\n'
            u'{% endfor %}\n'
            u'{"json": true, "path": "{{ template_path }}", "dest": "{{ template_destpath }}"}\n'
            u'\n\n')
EXPECTED = (u'# Ansible managed\nname=ephi-x caf\u00e9\nflag on\nwants=a\nwants=b\n'
            u'{"json": true, "path": "demo.conf.j2", "dest": "/etc/demo.conf"}\n\n\n').encode('utf-8')


class FakeTask:
    """What the action plugins read of a task."""

    def __init__(self, args, search):
        self.args = args
        self._search = search
        self.async_val = 0
        self.check_mode = False
        self.diff = False
        self.no_log = False
        self.action = 'ephi.safeguards.file_set'

    def get_search_path(self):
        return list(self._search)

    def copy(self):
        return FakeTask(dict(self.args), self._search)


@pytest.fixture(autouse=True)
def plugin_loader():
    """ansible-test installs the collection loader; a plain pytest run needs it set up to find ansible.builtin."""
    if lookup_loader.get('ansible.builtin.template') is None:
        init_plugin_loader()


@pytest.fixture
def role(tmp_path):
    base = tmp_path / 'roles' / 'demo'
    (base / 'templates').mkdir(parents=True)
    (base / 'files').mkdir()
    (base / 'templates' / 'demo.conf.j2').write_text(TEMPLATE, encoding='utf-8')
    (base / 'templates' / 'looks.json.j2').write_bytes(b'{"a": [1, 2], "b": null}\n')
    (base / 'files' / 'blob').write_bytes(b'\0\xff no trailing newline')
    (base / 'files' / 'lines').write_bytes(b'kept\n\n')
    return base


def task_vars_for(role):
    return {'demo_name': 'ephi-x', 'demo_flag': True, 'demo_list': ['a', 'b'],
            'ansible_search_path': [str(role), str(role.parent.parent)], 'role_path': str(role)}


def action_for(plugin, role, args):
    loader = DataLoader()
    loader.set_basedir(str(role.parent.parent))
    connection = MagicMock()
    connection._shell.tmpdir = '/tmp/not-used'
    action = plugin(FakeTask(args, [str(role), str(role.parent.parent)]), connection, MagicMock(), loader,
                    Templar(loader=loader, variables=task_vars_for(role)), None)
    action._remove_tmp_path = MagicMock()
    return action


def builtin_template_bytes(role, src, dest):
    """What ansible.builtin.template would write for SRC at DEST (its copy step replaced by a reader)."""
    action = action_for(TemplateAction, role, {'src': src, 'dest': dest})

    class Reader:
        @staticmethod
        def run(task_vars=None):
            with open(action.copied.args['src'], 'rb') as handle:
                return {'bytes': handle.read()}

    def get(name, task=None, **kwargs):
        assert name == 'ansible.legacy.copy'
        action.copied = task
        return Reader()

    action._shared_loader_obj = MagicMock()
    action._shared_loader_obj.action_loader.get = get
    return action.run(task_vars=task_vars_for(role))['bytes']


def sent(action, role):
    """(result, module_args) of running the file_set action with the module stubbed."""
    action._execute_module = MagicMock(return_value={'changed': False, 'results': [], 'changed_paths': []})
    result = action.run(task_vars=task_vars_for(role))
    calls = action._execute_module.call_args_list
    return result, (calls[0][1] if calls else None), len(calls)


@pytest.mark.parametrize('name', ['demo.conf.j2', 'looks.json.j2'])
def test_templates_render_to_the_bytes_ansible_builtin_template_writes(role, name):
    dest = '/etc/demo.conf'
    action = action_for(ActionModule, role, {})
    path = action._find_needle('templates', name)
    ours = action.render_template(name, path, dest, task_vars_for(role)).encode('utf-8')
    assert ours == builtin_template_bytes(role, name, dest)
    if name == 'demo.conf.j2':
        assert ours == EXPECTED  # trailing newlines kept, blocks trimmed, template_* variables set
    else:
        assert ours == b'{"a": [1, 2], "b": null}\n'  # text, never turned into a dictionary


def test_one_module_run_with_every_item_base64(role):
    args = {'owner': 'root', 'mode': '0644', 'files': [
        {'path': '/etc/demo.d/', 'state': 'directory', 'mode': '0755'},
        {'dest': '/etc/demo.d/demo.conf', 'template': 'demo.conf.j2', 'validate': 'true %s'},
        {'dest': '/etc/demo.d/blob', 'src': 'blob', 'group': 'adm'},
        {'dest': '/etc/demo.d/lines', 'src': 'lines'},
        {'dest': '/etc/demo.d/literal', 'content': 'no newline added'}]}
    result, call, count = sent(action_for(ActionModule, role, args), role)
    assert count == 1 and not result.get('failed')
    assert call['module_name'] == 'ephi.safeguards.file_set'
    module_args = call['module_args']
    assert (module_args['owner'], module_args['mode']) == ('root', '0644') and 'group' not in module_args
    files = module_args['files']
    assert files[0] == {'path': '/etc/demo.d', 'state': 'directory', 'mode': '0755'}
    data = [base64.b64decode(item['content_base64']) for item in files[1:]]
    assert data[0] == EXPECTED.replace(b'/etc/demo.conf', b'/etc/demo.d/demo.conf')
    assert data[1:] == [b'\0\xff no trailing newline', b'kept\n\n', b'no newline added']
    assert [item['source'] for item in files[1:]] == ['template demo.conf.j2', 'src blob', 'src lines', 'content']
    assert files[1]['validate'] == 'true %s' and files[2]['group'] == 'adm'


class NoDeepCopy(object):
    def __deepcopy__(self, memo):
        raise AssertionError('a task variable was deep-copied')


def test_templates_get_the_task_variables_copied_shallowly(role):
    """The template lookup deep-copies its variables for every template; file_set gives it a mapping
    whose copy is shallow, as ansible.builtin.template's (issue 15). The rendering is the same."""
    args = {'files': [{'dest': '/etc/demo.d/demo.conf', 'template': 'demo.conf.j2'}]}
    action = action_for(ActionModule, role, args)
    action._execute_module = MagicMock(return_value={'changed': False, 'results': [], 'changed_paths': []})
    result = action.run(task_vars=dict(task_vars_for(role), demo_heavy=NoDeepCopy()))
    assert not result.get('failed'), result
    files = action._execute_module.call_args[1]['module_args']['files']
    assert base64.b64decode(files[0]['content_base64']) == EXPECTED.replace(b'/etc/demo.conf', b'/etc/demo.d/demo.conf')


def test_every_problem_is_reported_and_the_module_never_runs(role):
    args = {'mode': 644, 'files': [
        {'dest': '/etc/a', 'src': 'no-such-file'},
        {'dest': '/etc/b', 'template': 'demo.conf.j2', 'mode': 420},
        {'dest': '/etc/c', 'content': 'x', 'src': 'blob'},
        {'dest': '/etc/d', 'src': 'blob', 'content_base64': 'AA=='}]}
    action = action_for(ActionModule, role, args)
    result, call, count = sent(action, role)
    assert count == 0 and result['failed'] and not result['changed']
    problems = result['problems']
    assert problems[0].startswith('mode (the default for every item) must be a quoted string')
    assert any(p.startswith('files[1] (/etc/b): mode must be a quoted string') for p in problems)
    assert any(p.startswith('files[2] (/etc/c): a file item needs exactly one of src, template, content') for p in problems)
    assert any(p.startswith('files[3] (/etc/d): content_base64 is not an option of a task') for p in problems)
    assert any(p.startswith('files[0] (/etc/a): src no-such-file: not found on the controller; searched ') for p in problems)
    assert result['msg'] == '; '.join(problems)


def test_template_errors_and_directories_as_src_are_problems(role):
    (role / 'templates' / 'broken.j2').write_text(u'{{ not_defined_anywhere }}\n', encoding='utf-8')
    os.mkdir(str(role / 'files' / 'adir'))
    args = {'files': [{'dest': '/etc/a', 'template': 'broken.j2'}, {'dest': '/etc/b', 'src': 'adir'}]}
    result, call, count = sent(action_for(ActionModule, role, args), role)
    assert count == 0 and len(result['problems']) == 2
    assert result['problems'][0].startswith('files[0] (/etc/a): template broken.j2: ')
    assert 'not_defined_anywhere' in result['problems'][0]
    assert result['problems'][1].startswith('files[1] (/etc/b): src adir: ') and 'is a directory' in result['problems'][1]


def test_unknown_task_options_are_refused(role):
    action = action_for(ActionModule, role, {'files': [], 'backup': True})
    with pytest.raises(Exception, match='backup'):
        sent(action, role)


def probed_answer(paths):
    """A host_probe answer for PATHS: {path: (type, mode, sha256 or None)}, all root's."""
    answer = {}
    for path, (kind, mode, checksum) in paths.items():
        facts = {'exists': True, 'type': kind, 'uid': 0, 'gid': 0, 'owner': 'root', 'group': 'root', 'mode': mode}
        if checksum:
            facts['checksum'] = checksum
        answer[path] = facts
    return {'changed': False, 'paths': answer}


def test_a_probe_showing_the_set_in_place_spares_the_module_run(role):
    dest = '/etc/demo.d/demo.conf'
    rendered = EXPECTED.replace(b'/etc/demo.conf', dest.encode())
    files = [{'path': '/etc/demo.d', 'state': 'directory', 'mode': '0755'},
             {'dest': dest, 'template': 'demo.conf.j2', 'mode': '0644'},
             {'dest': '/etc/demo.d/blob', 'src': 'blob', 'mode': '0600'}]
    in_place = probed_answer({'/etc': ('directory', '0755', None), '/etc/demo.d': ('directory', '0755', None),
                              dest: ('file', '0644', hashlib.sha256(rendered).hexdigest()),
                              '/etc/demo.d/blob': ('file', '0600', hashlib.sha256(b'\0\xff no trailing newline').hexdigest())})
    args = {'owner': 'root', 'group': 'root', 'files': files, 'probed': in_place}
    result, call, count = sent(action_for(ActionModule, role, args), role)
    assert count == 0 and result['in_place'] is True and result['changed'] is False and not result.get('failed')
    assert result['changed_paths'] == [] and [r.get('dest') or r.get('path') for r in result['results']] == [
        '/etc/demo.d', dest, '/etc/demo.d/blob']
    # The rendering differs (another variable), a mode differs, the probe failed: the module runs.
    stale = dict(in_place, paths=dict(in_place['paths'], **{dest: dict(in_place['paths'][dest], checksum='0' * 64)}))
    loose = dict(in_place, paths=dict(in_place['paths'], **{'/etc/demo.d/blob': dict(in_place['paths']['/etc/demo.d/blob'], mode='0644')}))
    for probed in (stale, loose, dict(in_place, failed=True), {}):
        result, call, count = sent(action_for(ActionModule, role, dict(args, probed=probed)), role)
        assert count == 1 and 'in_place' not in result and 'probed' not in call['module_args']


def test_probed_must_be_a_probe_result(role):
    args = {'files': [{'dest': '/etc/a', 'content': 'x'}], 'probed': 'yes'}
    result, call, count = sent(action_for(ActionModule, role, args), role)
    assert count == 0 and result['failed'] and 'probed must be the registered result of ephi.safeguards.host_probe' in result['msg']
