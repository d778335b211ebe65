# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""main() of ephi.safeguards.host_probe on real files in a temporary directory, dpkg-query and
systemctl mocked."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os

import pytest

from ansible.module_utils import basic

from ansible_collections.ephi.safeguards.plugins.module_utils import probe_run
from ansible_collections.ephi.safeguards.plugins.modules import host_probe as mod
from ansible_collections.ephi.safeguards.tests.unit.plugins.modules.utils import patch_exit_fail, run_main

SHOW = ('Id=ephi-capture.socket\nLoadState=loaded\nActiveState=active\nSubState=listening\nUnitFileState=enabled\n\n'
        'Id=ephi-tmux-enforcer.service\nLoadState=loaded\nActiveState=failed\nSubState=failed\nUnitFileState=enabled\n')


@pytest.fixture
def host(tmp_path, monkeypatch):
    patch_exit_fail(monkeypatch)
    calls = []

    def run_command(module, args, **kwargs):
        calls.append(list(args))
        if args[0].endswith('dpkg-query'):
            return 1, 'tmux\tii \nvlock\tun \n', 'dpkg-query: no packages found matching sudo\n'
        return 0, SHOW, ''

    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda module, name, *a, **k: '/usr/bin/' + name)
    mountinfo = tmp_path / 'mountinfo'
    mountinfo.write_text('22 1 8:1 / / rw - ext4 /dev/sda1 rw\n'
                         '40 22 0:35 / /var/log/ephi rw - fuse.gocryptfs /var/lib/ephi/cipher rw\n')
    monkeypatch.setattr(probe_run, 'MOUNTINFO', str(mountinfo))
    return tmp_path, calls


def test_one_run_answers_every_question(host):
    tmp, calls = host
    keys = tmp / 'keys'
    keys.mkdir(mode=0o700)
    os.chmod(str(keys), 0o700)
    (tmp / 'backend').write_text('gocryptfs\n')
    (tmp / 'shells').write_text('/bin/sh\n/usr/bin/tmux\n')
    os.symlink(str(tmp / 'backend'), str(tmp / 'link'))
    uid = os.getuid()
    result = run_main(mod.main, {
        'paths': [{'path': str(keys), 'state': 'directory', 'owner': uid, 'mode': '0700'},
                  str(tmp / 'absent')],
        'read': [str(tmp / 'backend'), str(tmp / 'absent'), str(tmp / 'link'), str(tmp)],
        'mounts': ['/var/log/ephi', '/var/log'],
        'packages': ['tmux', 'vlock', 'sudo'],
        'units': ['ephi-capture.socket', 'ephi-tmux-enforcer.service'],
        'groups': ['root', 'no-such-group-here'],
        'passwd': True,
        'lines': [{'path': str(tmp / 'shells'), 'regexp': 'tmux$'}, {'path': str(tmp / 'absent'), 'regexp': 'x'}],
    }, check=True)
    assert not result.get('failed') and result['changed'] is False
    assert result['paths'][str(keys)]['conforms'] is True
    assert result['paths'][str(tmp / 'absent')] == {'exists': False, 'conforms': False}
    assert result['contents'] == {str(tmp / 'backend'): 'gocryptfs\n', str(tmp / 'absent'): None,
                                  str(tmp / 'link'): None, str(tmp): None}
    assert result['mounts'] == {'/var/log/ephi': 'fuse.gocryptfs', '/var/log': ''}
    assert result['packages_missing'] == ['vlock', 'sudo']
    assert result['units_running'] == ['ephi-capture.socket']
    assert result['groups'] == {'root': 0, 'no-such-group-here': None}
    assert result['passwd']['root'][:2] == ['x', '0'] and all(len(f) == 6 for f in result['passwd'].values())
    assert [entry['matched'] for entry in result['lines']] == [True, None]
    assert [args[1:3] for args in calls] == [['-W', '-f'], ['show', '--property=' + probe_run.UNIT_PROPERTIES]]
    assert result['units_stale'] == []


def test_a_unit_whose_file_changed_after_its_start_is_stale(host, monkeypatch):
    tmp, calls = host
    program = tmp / 'program'
    program.write_text('new\n')
    # Active since monotonic 100 s; the probe runs at monotonic 200 s, so it started 100 s before now.
    show = ('Id=x.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n'
            'NeedDaemonReload=no\nActiveEnterTimestampMonotonic=100000000\n')
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', lambda module, args, **kw: (0, show, ''))
    monkeypatch.setattr(probe_run.time, 'monotonic', lambda: 200.0)
    now = os.stat(str(program)).st_mtime
    for age, stale in ((50, ['x.service']), (150, [])):
        monkeypatch.setattr(probe_run.time, 'time', lambda: now + age)
        result = run_main(mod.main, {'unit_files': {'x.service': [str(program), str(tmp / 'absent')]}})
        assert result['units_stale'] == stale, age
        assert result['units_running'] == [] and list(result['units']) == ['x.service']


@pytest.mark.parametrize('files', ['/etc/x', ['etc/x'], [1]])
def test_unit_files_must_be_lists_of_absolute_paths(host, files):
    result = run_main(mod.main, {'unit_files': {'x.service': files}})
    assert result['failed'] and 'unit_files: x.service must name a list of absolute paths' in result['msg']


def test_nothing_asked_runs_no_command(host):
    tmp, calls = host
    result = run_main(mod.main, {})
    assert result['packages_missing'] == [] and result['units'] == {} and result['passwd'] == {} and calls == []


def test_without_dpkg_every_package_is_missing(host, monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda module, name, *a, **k: None)
    result = run_main(mod.main, {'packages': ['tmux'], 'units': ['a.service']})
    assert result['packages_missing'] == ['tmux']
    assert result['units_running'] == []


@pytest.mark.parametrize('args, message', [
    ({'paths': [{'path': '/etc', 'mode': '755x'}]}, 'mode of /etc must be'),
    ({'paths': [{'path': '/etc', 'mode': 755}]}, 'mode of /etc must be a quoted string'),
    ({'paths': ['etc']}, 'must be an absolute path'),
    ({'paths': [{'path': '/etc', 'state': 'link'}]}, 'must be file or directory'),
    ({'paths': [{'path': '/etc', 'owner': True}]}, 'owner of /etc must be a name'),
    ({'paths': [{'path': '/etc', 'mdoe': '0700'}]}, 'unknown keys mdoe'),
    ({'paths': [['/etc']]}, 'absolute path or a dictionary'),
    ({'paths': [{'path': '/etc', 'checksum': 'md5'}]}, 'checksum of /etc must be one of sha256, sha512'),
    ({'lines': [{'path': '/etc/shells', 'regexp': '('}]}, 'not a regular expression'),
])
def test_bad_input_is_refused_before_anything_is_read(host, args, message):
    result = run_main(mod.main, args)
    assert result['failed'] and message in result['msg']
    assert host[1] == []


def test_a_file_too_large_to_be_a_setting_fails(host):
    big = host[0] / 'big'
    big.write_bytes(b'x' * (probe_run.MAX_READ + 1))
    result = run_main(mod.main, {'read': [str(big)]})
    assert result['failed'] and 'larger than' in result['msg']


def test_a_checksum_is_of_a_regular_file_only_and_never_through_a_link(host):
    tmp = host[0]
    data = b'aide database\n' * 200000  # larger than one read
    (tmp / 'aide.db').write_bytes(data)
    os.symlink(str(tmp / 'aide.db'), str(tmp / 'link'))
    result = run_main(mod.main, {'paths': [{'path': str(tmp / name), 'checksum': 'sha512'}
                                           for name in ('aide.db', 'link', 'absent')]})
    paths = result['paths']
    assert paths[str(tmp / 'aide.db')]['checksum'] == hashlib.sha512(data).hexdigest()
    assert paths[str(tmp / 'aide.db')]['mtime'] == os.stat(str(tmp / 'aide.db')).st_mtime
    assert paths[str(tmp / 'link')]['type'] == 'link' and 'checksum' not in paths[str(tmp / 'link')]
    assert paths[str(tmp / 'absent')] == {'exists': False, 'conforms': False}


MARKER = '# {mark} ephi hook'
BLOCK = 'if [ -n "$X" ]; then\n  exec /gate\nfi\n'
HOOK = b'# BEGIN ephi hook\nif [ -n "$X" ]; then\n  exec /gate\nfi\n# END ephi hook\n'


def test_a_block_in_no_file_a_link_or_a_large_file_is_not_known_to_be_in_place(host):
    tmp = host[0]
    (tmp / 'real').write_bytes(HOOK)
    os.symlink(str(tmp / 'real'), str(tmp / 'link'))
    (tmp / 'large').write_bytes(HOOK + b'#' * probe_run.MAX_READ)
    result = run_main(mod.main, {'blocks': [{'path': str(tmp / name), 'marker': MARKER, 'block': BLOCK}
                                            for name in ('absent', 'link', 'large', 'real')]})
    assert [entry['in_place'] for entry in result['blocks']] == [None, None, None, True]


def test_commands_run_without_a_shell_and_a_missing_program_is_no_answer(host, monkeypatch):
    tmp, calls = host
    found = {'ssh': '/usr/bin/ssh'}

    def run_command(module, args, **kwargs):
        calls.append((list(args), kwargs))
        return 0, 'curve25519-sha256\nsntrup761x25519-sha512\n', ''

    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda module, name, *a, **k: found.get(name))
    monkeypatch.setattr(probe_run.os, 'access', lambda path, how: path == '/usr/bin/ssh')
    result = run_main(mod.main, {'commands': [['ssh', '-Q', 'kex'], ['aide', '--version'], ['/usr/bin/true;id']]},
                      check=True)
    assert result['changed'] is False
    assert result['commands'] == [
        {'argv': ['ssh', '-Q', 'kex'], 'rc': 0, 'stdout': 'curve25519-sha256\nsntrup761x25519-sha512\n', 'stderr': ''},
        {'argv': ['aide', '--version'], 'rc': None, 'stdout': '', 'stderr': ''},
        {'argv': ['/usr/bin/true;id'], 'rc': None, 'stdout': '', 'stderr': ''},
    ]
    # One run, the argument list as given (no shell), the program's path resolved.
    assert [(args, kwargs.get('use_unsafe_shell', False)) for args, kwargs in calls] == [(['/usr/bin/ssh', '-Q', 'kex'], False)]


@pytest.mark.parametrize('commands', [[[]], ['ssh -Q kex'], [['ssh', 1]], [['', '-Q']]])
def test_a_command_that_is_not_a_list_of_strings_is_refused(host, commands):
    result = run_main(mod.main, {'commands': commands})
    assert result['failed'] and 'non-empty list of strings' in result['msg'] and host[1] == []


def test_the_group_database_as_getent_lists_it(host):
    result = run_main(mod.main, {'group_db': True})
    assert result['group_db']['root'][1] == '0'
    assert all(len(fields) == 3 and all(isinstance(f, str) for f in fields) for fields in result['group_db'].values())
    assert run_main(mod.main, {})['group_db'] == {}


def test_a_line_in_place_as_lineinfile_would_leave_it(host):
    tmp = host[0]
    conf = tmp / 'aide.conf'
    conf.write_bytes(b'@@x_include /etc/aide/aide.conf.d ^[a-zA-Z0-9_-]+$\n')
    (tmp / 'big').write_bytes(b'#\n' * probe_run.MAX_READ)
    regexp = r'^@@x_include\s+/etc/aide/aide\.conf\.d(\s|$)'
    entries = [{'path': str(tmp / name), 'regexp': regexp, 'line': '@@x_include /etc/aide/aide.conf.d ^[a-zA-Z0-9_-]+$'}
               for name in ('aide.conf', 'big', 'absent')]
    entries.append({'path': str(conf), 'regexp': regexp, 'line': '@@x_include /etc/aide/aide.conf.d ^[0-9]+_ephi_safeguards$'})
    result = run_main(mod.main, {'lines': entries})
    assert [(entry['matched'], entry['in_place']) for entry in result['lines']] == [
        (True, True), (None, None), (None, None), (True, False)]


def test_a_digest_makes_the_content_part_of_conforming(host):
    tmp = host[0]
    banner = 'Authorized use only.\n'
    (tmp / 'issue').write_text(banner)
    os.chmod(str(tmp / 'issue'), 0o644)
    os.symlink(str(tmp / 'issue'), str(tmp / 'link'))
    want = {'checksum': 'sha256', 'digest': hashlib.sha256(banner.encode()).hexdigest().upper(), 'mode': '0644'}

    def conforms(name, **changes):
        path = str(tmp / name)
        return run_main(mod.main, {'paths': [dict(want, path=path, **changes)]})['paths'][path]['conforms']

    assert conforms('issue') is True
    assert conforms('issue', digest='0' * 64) is False
    assert conforms('link') is False and conforms('absent') is False
    os.chmod(str(tmp / 'issue'), 0o666)
    assert conforms('issue') is False


@pytest.mark.parametrize('want', [{'digest': 'ab'}, {'checksum': 'sha256', 'digest': 'xyz'},
                                  {'checksum': 'sha256', 'digest': 12}])
def test_a_digest_needs_a_checksum_and_hexadecimal_digits(host, want):
    result = run_main(mod.main, {'paths': [dict(want, path='/etc/issue')]})
    assert result['failed'] and 'digest of /etc/issue must be the hexadecimal' in result['msg']


def test_a_listing_names_the_regular_files_as_the_key_audit_counts_store_users(host):
    tmp = host[0]
    store = tmp / 'store'
    store.mkdir()
    for user in ('ephi-dave', 'ephi-admin'):
        (store / user).write_text('ssh-ed25519 AAAA\n')
    (store / 'subdir').mkdir()
    os.symlink(str(store / 'ephi-dave'), str(store / 'linked'))   # a link to a regular file counts
    os.symlink(str(tmp / 'nowhere'), str(store / 'dangling'))     # a dangling link does not
    result = run_main(mod.main, {'listings': [str(store), str(tmp / 'absent'), str(store / 'ephi-dave')]})
    assert result['listings'] == {str(store): ['ephi-admin', 'ephi-dave', 'linked'],
                                  str(tmp / 'absent'): None, str(store / 'ephi-dave'): None}
    assert sorted(n for n in os.listdir(str(store)) if os.path.isfile(os.path.join(str(store), n))) == \
        result['listings'][str(store)]
    assert run_main(mod.main, {})['listings'] == {}
