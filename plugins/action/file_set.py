# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller side of ephi.safeguards.file_set: check every item, read the static files, render the
templates with the builtin template lookup, and run the module once with all the bytes (base64)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import re

from ansible.errors import AnsibleError, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import lookup_loader
from ansible.release import __version__ as ansible_core_version
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.ephi.safeguards.plugins.module_utils.file_set import parse_items, probed_in_place, unchanged_results

MODULE = 'ephi.safeguards.file_set'
# convert_data is needed before 2.19 (else a rendered text that looks like a
# list or dictionary comes back as one); 2.19 deprecated the option (unused).
CORE = tuple(int(part) for part in re.findall(r'\d+', ansible_core_version)[:2])


class _ShallowVars(dict):
    """The task's variables as the template lookup takes them. The lookup deep-copies every variable
    (facts, hostvars, the roles' variables) for each template it renders, where ansible.builtin.template
    copies them shallowly: in a py-spy profile of an idempotent site.yml re-run those copies were most of
    file_set's rendering; alternating re-runs took about 0.5 controller CPU-s less per host without them
    (docs/benchmarks.md, issue 15). A copy of this mapping is shallow, as the template action's: the
    rendering is the lookup's own, on the same values."""

    def __deepcopy__(self, memo):
        return dict(self)


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('files', 'owner', 'group', 'mode', 'probed'))
    _supports_check_mode = True
    _supports_async = False

    def render_template(self, name, path, dest, task_vars):
        """The text of the template at PATH (found for NAME) as lookup('ansible.builtin.template', NAME) renders it,
        with the template variables ansible.builtin.template sets (template_path is NAME, template_destpath DEST)."""
        lookup = lookup_loader.get('ansible.builtin.template', loader=self._loader, templar=self._templar)
        if lookup is None:
            raise AnsibleError('the lookup plugin ansible.builtin.template could not be loaded')
        options = {'template_vars': {'template_path': wrap_var(name), 'template_destpath': wrap_var(dest)}}
        if CORE < (2, 19):
            options['convert_data'] = False
        text = lookup.run([path], variables=task_vars, **options)[0]
        # A template that is one expression can render to a list or dictionary
        # (2.19); ansible.builtin.template then writes its str(), and so do we.
        return text if isinstance(text, str) else to_text(text)

    def read_bytes(self, item, task_vars):
        """The bytes of ITEM's src or template, read (and rendered) on the controller."""
        key, name = item['key'], item['value']
        try:
            path = self._find_needle('files' if key == 'src' else 'templates', name)
        except AnsibleFileNotFound as exc:
            if not exc.paths:
                raise
            raise AnsibleError('not found on the controller; searched %s' % ', '.join(to_text(p) for p in exc.paths))
        if os.path.isdir(path):
            raise AnsibleError('%s is a directory; file_set copies single files only' % path)
        if key == 'template':
            return to_bytes(self.render_template(name, path, item['path'], task_vars), encoding='utf-8', errors='surrogate_or_strict')
        real = self._loader.get_real_file(path, decrypt=True)
        try:
            with open(to_bytes(real, errors='surrogate_or_strict'), 'rb') as handle:
                return handle.read()
        finally:
            self._loader.cleanup_tmp_file(real)

    def wire_items(self, items, task_vars):
        """(module items, problems): each item as the module takes it, its bytes base64-encoded."""
        wire, problems = [], []
        task_vars = _ShallowVars(task_vars)
        for item in items:
            if item['state'] == 'directory':
                entry = {'path': item['path'], 'state': 'directory'}
            else:
                data = item['data']
                if data is None and item['key'] in ('src', 'template') and isinstance(item['value'], str) and item['value']:
                    try:
                        data = self.read_bytes(item, task_vars)
                    except (AnsibleError, OSError, UnicodeError) as exc:
                        problems.append('%s: %s %s: %s' % (item['label'], item['key'], item['value'], to_native(exc)))
                        continue
                if data is None:  # a source that parse_items refused
                    continue
                item['data'] = data
                entry = {'dest': item['path'], 'content_base64': base64.b64encode(data).decode('ascii'), 'source': item['source']}
                if item['validate'] is not None:
                    entry['validate'] = item['validate']
                if item['backup']:
                    entry['backup'] = True
            for key in ('owner', 'group', 'mode'):
                value = self._task.args['files'][item['index']].get(key)
                if value is not None:
                    entry[key] = value
            wire.append(entry)
        return wire, problems

    def run(self, tmp=None, task_vars=None):
        if task_vars is None:
            task_vars = {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # tmp no longer has any effect

        args = self._task.args
        defaults = dict((key, args.get(key)) for key in ('owner', 'group', 'mode'))
        if args.get('files') is None:
            items, problems = [], ['files is required']
        else:
            items, problems = parse_items(args.get('files'), defaults)
        # The sources of the items that have one are read (templates rendered)
        # even when other items are wrong, so that every problem shows at once.
        wire, read_problems = self.wire_items(items, task_vars)
        problems.extend(read_problems)
        probed = args.get('probed')
        if probed is not None and not isinstance(probed, dict):
            problems.append('probed must be the registered result of ephi.safeguards.host_probe (a dictionary), got %s'
                            % type(probed).__name__)
        if problems:
            result.update(failed=True, changed=False, msg='; '.join(problems), problems=problems)
            return result

        # The probe's answer shows every item as the module would leave it:
        # nothing to change, so no module run (issue 15).
        if probed and not probed.get('failed') and probed_in_place(items, probed.get('paths')):
            done, changed_paths = unchanged_results(items)
            result.update(changed=False, results=done, changed_paths=changed_paths, in_place=True)
            return result

        module_args = {'files': wire}
        module_args.update((key, value) for key, value in defaults.items() if value is not None)
        try:
            result.update(self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
