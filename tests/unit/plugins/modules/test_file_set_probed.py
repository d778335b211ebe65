# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""file_set's skip on a probe's answer (probe_wants, probed_in_place) against the module's own plan: on
real files, host_probe's real answer to the wants probe_wants gives must call the set in place exactly
when plan() finds nothing to change and nothing to refuse (run as root, as the roles run file_set)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.ephi.safeguards.plugins.module_utils import file_set as fs
from ansible_collections.ephi.safeguards.plugins.modules import host_probe as probe_module
from ansible_collections.ephi.safeguards.tests.unit.plugins.modules.utils import patch_exit_fail, run_main

NOBODY = 65534
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='file_set runs as root in the roles; the parent rule is root\'s')


def task_files(base):
    return [{'path': base + '/sub/', 'state': 'directory', 'mode': '0750'},
            {'dest': base + '/sub/a.conf', 'content': 'alpha\n', 'mode': '0644'},
            {'dest': base + '/b.bin', 'content': 'beta', 'group': 0},
            {'path': base + '/keep', 'state': 'directory'}]


def host_items(files):
    items, problems = fs.parse_items(files, {'owner': 'root'}, sources=fs.TASK_SOURCES)
    assert problems == []
    for item in items:
        if item['state'] == 'file':
            item['data'] = item['value'].encode('utf-8')
    return items


def apply_set(files):
    items = host_items(files)
    entries, problems = fs.plan(items)
    assert problems == []
    fs.apply(entries, lambda argv: (0, '', ''))


def verdicts(monkeypatch, files, answer=None):
    """(probed_in_place, plan finds nothing to change or refuse) for FILES as the host is now."""
    items = host_items(files)
    if answer is None:
        patch_exit_fail(monkeypatch)
        answer = run_main(probe_module.main, {'paths': fs.probe_wants(files)})
    entries, problems = fs.plan(items)
    unchanged = not problems and not fs.results(entries)[1]
    return fs.probed_in_place(items, answer.get('paths') if isinstance(answer, dict) else None), unchanged


def chmod(path, mode):
    os.chmod(path, mode)


def chown(path, uid):
    os.chown(path, uid, -1)


def rewrite(path, data):
    with open(path, 'w') as handle:
        handle.write(data)


def swap_for_link(path, _unused):
    os.rename(path, path + '.real')
    os.symlink(path + '.real', path)


CHANGES = [
    ('nothing', None, None, None),
    ('content of the same size', rewrite, 'sub/a.conf', 'alpho\n'),
    ('content longer', rewrite, 'b.bin', 'beta!'),
    ('mode of a file', chmod, 'sub/a.conf', 0o600),
    ('mode of a directory', chmod, 'sub', 0o755),
    ('owner of a file', chown, 'b.bin', NOBODY),
    ('owner of a directory', chown, 'keep', NOBODY),
    ('a file missing', lambda path, _: os.unlink(path), 'sub/a.conf', None),
    ('a link to the same content', swap_for_link, 'sub/a.conf', None),
    ('a parent writable by others', chmod, '', 0o757),
    ('a parent owned by a user', chown, '', NOBODY),
    ('the mode of a directory that sets none', chmod, 'keep', 0o700),
]


@pytest.mark.parametrize('label,change,target,value', CHANGES, ids=[c[0] for c in CHANGES])
def test_in_place_exactly_when_plan_changes_and_refuses_nothing(tmp_path, monkeypatch, label, change, target, value):
    base = str(tmp_path / 'set')
    os.mkdir(base, 0o755)
    files = task_files(base)
    apply_set(files)
    assert verdicts(monkeypatch, files) == (True, True)
    if change is None:
        return
    change(os.path.join(base, target) if target else base, value)
    in_place, unchanged = verdicts(monkeypatch, files)
    assert in_place == unchanged
    # Only the mode of a directory item that sets no mode is left as it is.
    assert in_place is (label == 'the mode of a directory that sets none')


def test_an_answer_without_the_checksums_or_the_parents_is_not_in_place(tmp_path, monkeypatch):
    base = str(tmp_path / 'set')
    os.mkdir(base, 0o755)
    files = task_files(base)
    apply_set(files)
    patch_exit_fail(monkeypatch)
    plain = run_main(probe_module.main, {'paths': [w['path'] if isinstance(w, dict) else w for w in fs.probe_wants(files)]})
    assert verdicts(monkeypatch, files, plain)[0] is False
    no_parents = run_main(probe_module.main, {'paths': [w for w in fs.probe_wants(files) if w != base]})
    assert verdicts(monkeypatch, files, no_parents)[0] is False
    for answer in ({}, {'paths': None}, 'text'):
        assert verdicts(monkeypatch, files, answer)[0] is False
    assert fs.probed_in_place([], {}) is False


def test_probe_wants_keeps_the_roles_own_wants_and_adds_checksums():
    own = ['/etc/a.conf', {'path': '/etc/ssh/x.conf', 'owner': 'root', 'mode': '0600'}, '/srv']
    files = [{'dest': '/etc/a.conf', 'template': 'a.j2'},
             {'dest': '/etc/ssh/x.conf', 'content': 'x'},
             {'path': '/srv/d/', 'state': 'directory'},
             {'dest': '/srv/d/f', 'src': 'f'},
             {'dest': 'relative', 'content': 'x'}, 'not a mapping', {'path': '/x', 'state': 'link'}]
    assert fs.probe_wants(files, own) == [
        {'path': '/etc/a.conf', 'checksum': 'sha256'},
        {'path': '/etc/ssh/x.conf', 'owner': 'root', 'mode': '0600', 'checksum': 'sha256'},
        '/srv', '/etc', '/etc/ssh', '/srv/d', {'path': '/srv/d/f', 'checksum': 'sha256'}]
    assert own[1] == {'path': '/etc/ssh/x.conf', 'owner': 'root', 'mode': '0600'}  # not changed in place


def test_answers_not_shaped_like_host_probe_facts_are_not_in_place():
    items = host_items([{'dest': '/etc/x.conf', 'content': 'x\n', 'mode': '0644'}])
    parent = {'exists': True, 'type': 'directory', 'uid': 0, 'gid': 0, 'owner': 'root', 'group': 'root', 'mode': '0755'}
    for answers in ({'/etc': parent, '/etc/x.conf': {'exists': True, 'type': 'file'}},      # no owner, mode, checksum
                    {'/etc': dict(parent, mode='rwx'), '/etc/x.conf': {}},
                    {'/etc': 'a directory', '/etc/x.conf': 'a file'}):
        assert fs.probed_in_place(items, answers) is False
