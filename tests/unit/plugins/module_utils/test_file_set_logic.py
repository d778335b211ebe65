# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""plugins/module_utils/file_set.py: the items' checks, the plan (what differs, touching nothing) and
the application (atomic writes, validate, attributes in place, directories)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import stat
import subprocess
import sys

import pytest

from ansible_collections.ephi.safeguards.plugins.module_utils import file_set as fs

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason='changes file owners')
NOBODY = 65534


def run(argv):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def host_items(files, **defaults):
    items, problems = fs.parse_items(files, defaults, sources=fs.HOST_SOURCES)
    assert problems == []
    return items


def planned(files, want_diff=False, **defaults):
    entries, problems = fs.plan(host_items(files, **defaults), want_diff=want_diff, umask=0o022)
    assert problems == []
    return entries


def mode_of(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def tree(path):
    """{relative path: (kind, mode, bytes or None)} of everything under PATH."""
    out = {}
    for parent, dirs, files in os.walk(str(path)):
        for name in dirs + files:
            full = os.path.join(parent, name)
            info = os.lstat(full)
            data = None
            if stat.S_ISREG(info.st_mode):
                with open(full, 'rb') as handle:
                    data = handle.read()
            out[os.path.relpath(full, str(path))] = (stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode), data)
    return out


# ------------------------------------------------------------------ checks

def test_modes_must_be_quoted_octal_strings():
    assert fs.mode_problem('0644') is None and fs.mode_problem('755') is None and fs.mode_problem('4755') is None
    assert 'octal number 420' in fs.mode_problem(420)
    assert 'not the number 644' in fs.mode_problem(644)
    assert 'boolean' in fs.mode_problem(True)
    for bad in ('u+rwx', '0o644', '8644', '64', '00644', '', None, 6.44):
        assert fs.mode_problem(bad), bad


def test_every_problem_of_every_item_is_listed():
    files = [
        {'dest': '/etc/a', 'content': 'a', 'mode': 420},
        {'dest': 'relative', 'content': 'b'},
        {'dest': '/etc/c', 'content': 'c', 'src': 'c'},
        {'dest': '/etc/d'},
        {'dest': '/etc/e', 'content': 'e', 'mdoe': '0644'},
        {'dest': '/etc/a', 'content': 'again'},
        {'dest': '/etc/f', 'content': 'f', 'validate': 'visudo -cf'},
        {'path': '/etc/g', 'state': 'directory', 'validate': 'x %s'},
        {'dest': '/etc/h/', 'content': 'h'},
        {'dest': '/etc/../i', 'content': 'i'},
        {'dest': '/etc/j', 'content': {'a': 1}},
        {'dest': '/etc/k', 'content': 'k', 'owner': 'a b'},
        {'dest': '/etc/l', 'content': 'l', 'state': 'link'},
        'not a dict',
    ]
    items, problems = fs.parse_items(files, {'mode': 644, 'group': True})
    text = '\n'.join(problems)
    for expected in ('mode (the default for every item) must be a quoted string', 'group (the default for every item)',
                     'files[0] (/etc/a): mode must be a quoted string of 3 or 4 octal digits such as "0644", not the number 420',
                     "files[1] (relative): dest must be an absolute path other than /, got 'relative'",
                     'files[2] (/etc/c): a file item needs exactly one of src, template, content, got src, content',
                     'files[3] (/etc/d): a file item needs exactly one of src, template, content, got none',
                     'files[4] (/etc/e): unknown option mdoe', 'files[5] (/etc/a): /etc/a is also files[0]',
                     'files[6] (/etc/f): validate must be a command holding %s',
                     'files[7] (/etc/g): unknown option validate', 'files[8] (/etc/h/): dest must be a normalized',
                     'files[9] (/etc/../i): dest must be a normalized', 'files[10] (/etc/j): content must be a string, got a dictionary',
                     "files[11] (/etc/k): owner must be a user name or a numeric id, got 'a b'",
                     "files[12] (/etc/l): state must be file or directory, got 'link'", 'files[13] must be a dictionary, got a str'):
        assert expected in text, expected
    assert len(problems) == 16
    assert fs.parse_items({'dest': '/x'})[1] == ['files must be a list of items, got a dictionary']


def test_items_take_the_defaults_and_their_own_values():
    files = [{'dest': '/etc/a', 'content': 'caf\u00e9\n'}, {'dest': '/etc/b', 'src': 'b', 'mode': '0600', 'owner': 0},
             {'path': '/etc/d/', 'state': 'directory', 'group': 'adm'}, {'dest': '/etc/t', 'template': 't.j2', 'validate': 'v %s'}]
    items, problems = fs.parse_items(files, {'owner': 'root', 'group': 'root', 'mode': '644'})
    assert problems == []
    a, b, d, t = items
    assert (a['owner'], a['group'], a['mode'], a['data'], a['source']) == ('root', 'root', 0o644, b'caf\xc3\xa9\n', 'content')
    assert (b['owner'], b['mode'], b['data'], b['key'], b['value'], b['source']) == (0, 0o600, None, 'src', 'b', 'src b')
    assert (d['state'], d['path'], d['group'], d['mode']) == ('directory', '/etc/d', 'adm', 0o644)
    assert (t['source'], t['validate']) == ('template t.j2', 'v %s')


def test_the_controller_and_the_module_take_different_sources():
    host = [{'dest': '/etc/a', 'content_base64': base64.b64encode(b'\0\1').decode(), 'source': 'src a'}]
    items, problems = fs.parse_items(host, sources=fs.HOST_SOURCES)
    assert problems == [] and items[0]['data'] == b'\0\1' and items[0]['source'] == 'src a'
    assert 'not an option of a task' in fs.parse_items([{'dest': '/etc/a', 'content_base64': 'AA=='}])[1][0]
    assert 'unknown option source' in fs.parse_items([{'dest': '/etc/a', 'content': 'x', 'source': 'y'}])[1][0]
    problem = fs.parse_items([{'dest': '/etc/a', 'template': 'a.j2'}], sources=fs.HOST_SOURCES)[1][0]
    assert 'template is read on the controller by the action plugin' in problem
    assert 'not valid base64' in fs.parse_items([{'dest': '/etc/a', 'content_base64': '!!'}], sources=fs.HOST_SOURCES)[1][0]


# ------------------------------------------------------------------ plan

def test_plan_new_same_differing_and_attribute_only(tmp_path):
    same, differs, mode_only = tmp_path / 'same', tmp_path / 'differs', tmp_path / 'mode-only'
    for path in (same, differs, mode_only):
        path.write_bytes(b'old\n')
        os.chmod(str(path), 0o644)
    os.chmod(str(mode_only), 0o600)
    entries = planned([{'dest': str(tmp_path / 'new'), 'content': 'new\n'},
                       {'dest': str(same), 'content': 'old\n'},
                       {'dest': str(differs), 'content': 'new\n'},
                       {'dest': str(mode_only), 'content': 'old\n'}], mode='0644')
    results, changed = fs.results(entries)
    assert changed == [str(tmp_path / 'new'), str(differs), str(mode_only)]
    assert [(r['changed'], r['created'], r['content'], r['attributes']) for r in results] == [
        (True, True, True, []), (False, False, False, []), (True, False, True, []), (True, False, False, ['mode'])]
    assert results[0] == {'dest': str(tmp_path / 'new'), 'state': 'file', 'changed': True, 'created': True,
                          'content': True, 'attributes': []}
    assert sorted(os.listdir(str(tmp_path))) == ['differs', 'mode-only', 'same']  # planning wrote nothing


def test_a_different_size_is_a_change_without_reading(tmp_path, monkeypatch):
    path = tmp_path / 'f'
    path.write_bytes(b'longer old content\n')
    monkeypatch.setattr(fs, 'read_regular', lambda *args: pytest.fail('read a file whose size differs'))
    assert planned([{'dest': str(path), 'content': 'new\n'}])[0]['content']


@needs_root
def test_plan_owner_and_group_only(tmp_path):
    path = tmp_path / 'f'
    path.write_bytes(b'x')
    os.chown(str(path), NOBODY, NOBODY)
    entry = planned([{'dest': str(path), 'content': 'x', 'owner': 'root', 'group': '0'}])[0]
    assert fs.results([entry])[0][0]['attributes'] == ['owner', 'group'] and not entry['content']
    fs.apply([entry], run)
    info = os.lstat(str(path))
    assert (info.st_uid, info.st_gid) == (0, 0)
    assert fs.results(planned([{'dest': str(path), 'content': 'x', 'owner': 'root', 'group': 'root'}]))[1] == []


@needs_root
def test_a_chown_keeps_the_setuid_bit_it_would_clear(tmp_path):
    path = tmp_path / 'prog'
    path.write_bytes(b'#!/bin/sh\n')
    os.chown(str(path), NOBODY, NOBODY)
    os.chmod(str(path), 0o4755)
    fs.apply(planned([{'dest': str(path), 'content': '#!/bin/sh\n', 'owner': 'root'}]), run)
    assert (os.lstat(str(path)).st_uid, mode_of(path)) == (0, 0o4755)


def test_what_is_not_a_regular_file_is_refused_and_never_followed(tmp_path):
    target = tmp_path / 'target'
    target.write_bytes(b'keep')
    os.symlink(str(target), str(tmp_path / 'link'))
    (tmp_path / 'dir').mkdir()
    os.mkfifo(str(tmp_path / 'fifo'))
    os.symlink(str(tmp_path / 'dir'), str(tmp_path / 'dirlink'))
    files = [{'dest': str(tmp_path / 'ok'), 'content': 'fine'},
             {'dest': str(tmp_path / 'link'), 'content': 'x'},
             {'dest': str(tmp_path / 'dir'), 'content': 'x'},
             {'dest': str(tmp_path / 'fifo'), 'content': 'x'},
             {'path': str(tmp_path / 'dirlink'), 'state': 'directory'},
             {'path': str(target), 'state': 'directory'}]
    entries, problems = fs.plan(fs.parse_items(files, sources=fs.HOST_SOURCES)[0])
    assert [p.split(': ', 1)[1] for p in problems] == [
        '%s exists and is a symbolic link, not a regular file (file_set neither follows nor replaces it)' % (tmp_path / 'link'),
        '%s exists and is a directory, not a regular file (file_set neither follows nor replaces it)' % (tmp_path / 'dir'),
        '%s exists and is a FIFO, not a regular file (file_set neither follows nor replaces it)' % (tmp_path / 'fifo'),
        '%s exists and is a symbolic link, not a directory (file_set neither follows nor replaces it)' % (tmp_path / 'dirlink'),
        '%s exists and is a regular file, not a directory (file_set neither follows nor replaces it)' % target]
    assert target.read_bytes() == b'keep' and not (tmp_path / 'ok').exists()


def test_a_missing_parent_is_an_error_unless_an_earlier_item_makes_it(tmp_path):
    deep = tmp_path / 'a' / 'b'
    files = [{'dest': str(deep / 'f'), 'content': 'x'}, {'path': str(deep), 'state': 'directory'}]
    entries, problems = fs.plan(host_items(files))
    assert len(problems) == 2 and 'the parent directory %s does not exist' % deep in problems[0]
    assert 'the parent directory %s does not exist' % (tmp_path / 'a') in problems[1]
    files = [{'path': str(tmp_path / 'a'), 'state': 'directory', 'mode': '0750'},
             {'path': str(deep), 'state': 'directory', 'mode': '0700'},
             {'dest': str(deep / 'f'), 'content': 'x', 'mode': '0640'}]
    entries = planned(files)
    assert fs.results(entries)[1] == [str(tmp_path / 'a'), str(deep), str(deep / 'f')]
    fs.apply(entries, run)
    assert tree(tmp_path) == {'a': (stat.S_IFDIR, 0o750, None), 'a/b': (stat.S_IFDIR, 0o700, None),
                              'a/b/f': (stat.S_IFREG, 0o640, b'x')}
    assert fs.results(planned(files))[1] == []


def test_a_parent_another_user_can_change_is_refused(tmp_path):
    """Root never writes a temporary file, renames or makes a directory inside
    a directory a user owns or anyone may write: the whole set is refused."""
    shared = tmp_path / 'shared'
    shared.mkdir()
    os.chmod(str(shared), 0o777)
    files = [{'dest': str(tmp_path / 'ok'), 'content': 'x'}, {'dest': str(shared / 'f'), 'content': 'x'},
             {'path': str(shared / 'd'), 'state': 'directory'}]
    _entries, problems = fs.plan(host_items(files))
    assert len(problems) == 2 and all('%s is writable by others' % shared in p for p in problems)
    assert not (tmp_path / 'ok').exists() and os.listdir(str(shared)) == []
    st = os.stat(str(tmp_path))
    assert fs.parent_problem(st, euid=st.st_uid) is None
    assert fs.parent_problem(st, euid=st.st_uid + 1) == ('is owned by %s' % fs.user_name(st.st_uid)
                                                         if st.st_uid != 0 else None)


@pytest.mark.skipif(not ROOT, reason='chown to another user needs root')
def test_root_refuses_a_parent_a_user_owns(tmp_path):
    home = tmp_path / 'home'
    home.mkdir()
    os.chown(str(home), NOBODY, NOBODY)
    _entries, problems = fs.plan(host_items([{'dest': str(home / '.profile'), 'content': 'x'}]))
    assert len(problems) == 1 and 'is owned by' in problems[0]
    assert os.listdir(str(home)) == []


def test_parents_through_a_symbolic_link_are_fine(tmp_path):
    (tmp_path / 'real').mkdir()
    os.symlink('real', str(tmp_path / 'lib'))  # like /lib -> usr/lib on merged /usr
    fs.apply(planned([{'dest': str(tmp_path / 'lib' / 'f'), 'content': 'x'}]), run)
    assert (tmp_path / 'real' / 'f').read_bytes() == b'x'


def test_unknown_users_and_groups_are_errors(tmp_path):
    entries, problems = fs.plan(host_items([{'dest': str(tmp_path / 'f'), 'content': 'x', 'owner': 'no-such-user-ephi'},
                                            {'dest': str(tmp_path / 'g'), 'content': 'x', 'group': 'no-such-group-ephi'},
                                            {'dest': str(tmp_path / 'h'), 'content': 'x', 'owner': '4242', 'group': 4242}]))
    assert problems == ['files[0] (%s): owner no-such-user-ephi is not a user on this host' % (tmp_path / 'f'),
                        'files[1] (%s): group no-such-group-ephi is not a group on this host' % (tmp_path / 'g')]
    assert (entries[0]['uid'], entries[0]['gid']) == (4242, 4242)


# ------------------------------------------------------------------ apply

def test_apply_writes_atomically_with_mode_and_keeps_what_is_unset(tmp_path):
    keep = tmp_path / 'keep'
    keep.write_bytes(b'old')
    os.chmod(str(keep), 0o640)
    inode = os.lstat(str(keep)).st_ino
    entries = planned([{'dest': str(tmp_path / 'new'), 'content': 'n\n'}, {'dest': str(keep), 'content': 'changed'},
                       {'dest': str(tmp_path / 'bin'), 'content_base64': base64.b64encode(b'\0\xff').decode(), 'mode': '0755'}])
    fs.apply(entries, run)
    assert tree(tmp_path) == {'new': (stat.S_IFREG, 0o644, b'n\n'), 'keep': (stat.S_IFREG, 0o640, b'changed'),
                              'bin': (stat.S_IFREG, 0o755, b'\0\xff')}
    assert os.lstat(str(keep)).st_ino != inode  # renamed over, not rewritten in place
    assert all(entry['applied'] for entry in entries)


def test_backup_keeps_the_replaced_file_itself_and_only_when_the_content_changes(tmp_path):
    conf, same, new = tmp_path / 'conf', tmp_path / 'same', tmp_path / 'new'
    conf.write_bytes(b'old\n')
    os.chmod(str(conf), 0o600)
    same.write_bytes(b'same')
    inode = os.lstat(str(conf)).st_ino
    entries = planned([{'dest': str(conf), 'content': 'new\n', 'mode': '0644', 'backup': True},
                       {'dest': str(same), 'content': 'same', 'mode': '0640', 'backup': True},
                       {'dest': str(new), 'content': 'x', 'backup': True}])
    fs.apply(entries, run)
    results = fs.results(entries)[0]
    kept = results[0]['backup_file']
    assert kept.startswith(str(conf) + '.%d.' % os.getpid()) and kept.endswith('~')
    # The old inode itself, with its own mode, under the backup's name.
    assert (os.lstat(kept).st_ino, mode_of(kept), open(kept, 'rb').read()) == (inode, 0o600, b'old\n')
    assert (conf.read_bytes(), mode_of(conf)) == (b'new\n', 0o644)
    assert 'backup_file' not in results[1] and 'backup_file' not in results[2]
    assert sorted(os.listdir(str(tmp_path))) == sorted(['conf', os.path.basename(kept), 'same', 'new'])


def test_backup_must_be_a_boolean():
    problems = fs.parse_items([{'dest': '/etc/x', 'content': 'x', 'backup': 'yes'}], sources=fs.HOST_SOURCES)[1]
    assert problems == ["files[0] (/etc/x): backup must be true or false, got 'yes'"]


def test_the_backup_name_is_the_one_ansible_gives():
    assert fs.backup_name('/etc/aide/x', pid=42, now=0).startswith('/etc/aide/x.42.19')
    assert fs.backup_name('/etc/aide/x', pid=42, now=0).endswith('~')


def test_attributes_only_are_fixed_in_place(tmp_path):
    path = tmp_path / 'f'
    path.write_bytes(b'same')
    os.chmod(str(path), 0o600)
    inode = os.lstat(str(path)).st_ino
    fs.apply(planned([{'dest': str(path), 'content': 'same', 'mode': '0644'}]), run)
    assert (os.lstat(str(path)).st_ino, mode_of(path), path.read_bytes()) == (inode, 0o644, b'same')


def test_a_failing_validate_leaves_dest_untouched_and_no_temporary_file(tmp_path):
    good, dest = tmp_path / 'first', tmp_path / 'conf.json'
    dest.write_bytes(b'{"old": 1}\n')
    check = '%s -m json.tool %%s' % sys.executable
    entries = planned([{'dest': str(good), 'content': '{}\n', 'validate': check},
                       {'dest': str(dest), 'content': '{not json\n', 'validate': check},
                       {'dest': str(tmp_path / 'never'), 'content': 'x'}])
    with pytest.raises(fs.FileSetError) as failure:
        fs.apply(entries, run)
    message = str(failure.value)
    assert message.startswith('files[1] (%s): validate failed (rc 1): ' % dest) and message.endswith('%s left unchanged' % dest)
    assert 'not json' not in message or 'Expecting' in message
    assert sorted(os.listdir(str(tmp_path))) == ['conf.json', 'first']
    assert dest.read_bytes() == b'{"old": 1}\n'
    results, changed = fs.results(entries, applied_only=True)
    assert changed == [str(good)] and [r['changed'] for r in results] == [True, False, False]


def test_validate_runs_on_the_final_temporary_file_without_a_shell(tmp_path):
    seen = []

    def spy(argv):
        info = os.lstat(argv[2])
        with open(argv[2], 'rb') as handle:
            seen.append((argv[0], argv[1], os.path.dirname(argv[2]), os.path.basename(argv[2]).startswith('.f.'),
                         stat.S_IMODE(info.st_mode), handle.read(), argv[3]))
        return 0, '', ''

    path = tmp_path / 'f'
    fs.apply(planned([{'dest': str(path), 'content': 'data', 'mode': '0600', 'validate': "check 'a b' %s $HOME;x"}]), spy)
    assert seen == [('check', 'a b', str(tmp_path), True, 0o600, b'data', '$HOME;x')]
    problem = fs.plan(host_items([{'dest': str(path), 'content': 'other', 'validate': '/no/such/program %s'}]))[0]
    with pytest.raises(fs.FileSetError, match='cannot run the validate command /no/such/program'):
        fs.apply(problem, run)
    assert os.listdir(str(tmp_path)) == ['f'] and path.read_bytes() == b'data'


def test_directories_are_made_and_fixed(tmp_path):
    existing = tmp_path / 'existing'
    existing.mkdir()
    os.chmod(str(existing), 0o777)
    entries = planned([{'path': str(existing), 'state': 'directory', 'mode': '0755'},
                       {'path': str(tmp_path / 'new'), 'state': 'directory'},
                       {'path': str(tmp_path / 'sticky'), 'state': 'directory', 'mode': '1777'}])
    assert [r['attributes'] for r in fs.results(entries)[0]] == [['mode'], [], []]
    fs.apply(entries, run)
    assert (mode_of(existing), mode_of(tmp_path / 'new'), mode_of(tmp_path / 'sticky')) == (0o755, 0o755, 0o1777)


# ------------------------------------------------------------------ diff

def test_the_diff_is_a_list_of_before_after_entries(tmp_path):
    text, binary, attrs = tmp_path / 'text', tmp_path / 'binary', tmp_path / 'attrs'
    text.write_bytes(b'one\ntwo\n')
    binary.write_bytes(b'\0\1\2')
    attrs.write_bytes(b'same\n')
    os.chmod(str(attrs), 0o600)
    os.chmod(str(text), 0o644)
    files = [{'dest': str(text), 'content': 'one\nthree\n', 'mode': '0640'},
             {'dest': str(binary), 'content_base64': base64.b64encode(b'\0\1\3').decode(), 'source': 'src blob'},
             {'dest': str(attrs), 'content': 'same\n', 'mode': '0644'},
             {'dest': str(tmp_path / 'new'), 'content': 'hello\n'},
             {'dest': str(tmp_path / 'big'), 'content': 'x' * (fs.DIFF_LIMIT + 1)},
             {'path': str(tmp_path / 'd'), 'state': 'directory', 'mode': '0750', 'owner': 'root'},
             {'dest': str(tmp_path / 'unchanged'), 'content': 'x'}]
    (tmp_path / 'unchanged').write_bytes(b'x')
    diffs = fs.diffs(planned(files, want_diff=True))
    assert isinstance(diffs, list) and len(diffs) == 6
    assert all(sorted(d) == ['after', 'after_header', 'before', 'before_header'] for d in diffs)
    assert diffs[0] == {'before_header': str(text), 'after_header': '%s (content; mode 0644 -> 0640)' % text,
                        'before': 'one\ntwo\n', 'after': 'one\nthree\n'}
    assert diffs[1]['after_header'] == '%s (src blob)' % binary
    assert diffs[1]['before'].startswith('(3 bytes, sha256 ') and 'not shown' in diffs[1]['before']
    assert diffs[1]['before'] != diffs[1]['after'] and diffs[1]['after'].endswith('\n') and '\n' not in diffs[1]['after'][:-1]
    assert diffs[2] == {'before_header': str(attrs), 'after_header': str(attrs),
                        'before': {'path': str(attrs), 'mode': '0600'}, 'after': {'path': str(attrs), 'mode': '0644'}}
    assert diffs[3] == {'before_header': '%s (absent)' % (tmp_path / 'new'), 'after_header': '%s (content)' % (tmp_path / 'new'),
                        'before': '', 'after': 'hello\n'}
    assert diffs[4]['before'] == '' and diffs[4]['after'].startswith('(%d bytes, sha256' % (fs.DIFF_LIMIT + 1))
    assert diffs[5]['before'] == {'path': str(tmp_path / 'd'), 'state': 'absent'}
    assert diffs[5]['after'] == {'path': str(tmp_path / 'd'), 'state': 'directory', 'mode': '0750', 'owner': 'root'}


def test_the_logged_parameters_hold_no_content():
    params = {'files': [{'dest': '/etc/a', 'content_base64': 'c2VjcmV0', 'source': 'src a'},
                        {'dest': '/etc/b', 'content': 'secret'}, {'path': '/etc/d', 'state': 'directory'}], 'mode': '0644'}
    shown = fs.redacted(params)
    assert 'secret' not in repr(shown) and 'c2VjcmV0' not in repr(shown)
    assert shown['files'][0] == {'dest': '/etc/a', 'content_base64': 'NOT_SHOWN (8 characters)', 'source': 'src a'}
    assert shown['files'][2] == {'path': '/etc/d', 'state': 'directory'} and shown['mode'] == '0644'
    assert params['files'][0]['content_base64'] == 'c2VjcmV0'  # the module's own parameters are left alone
