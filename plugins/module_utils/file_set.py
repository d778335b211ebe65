# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ephi.safeguards.file_set: a whole set of files and directories in one module run.

The items are checked first (:func:`parse_items`, run by the action plugin on
the controller and again by the module on the host), then planned on the host
(:func:`plan`: what differs, nothing changed, every problem of every item
reported at once), then applied in order (:func:`apply`).

A file whose content differs is written to a temporary file in its directory
(owner, group and mode set on the open file, fsync'ed, validated), renamed over
the destination (atomic) and the directory fsync'ed; the temporary file is
removed on any failure. A file whose owner, group or mode only differ is fixed
in place through a descriptor opened with O_NOFOLLOW. Symbolic links, devices,
FIFOs and directories in place of a file are refused, never followed or
replaced. No message or result holds file content, except the diff.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import errno
import grp
import hashlib
import os
import posixpath
import pwd
import re
import shlex
import stat
import tempfile
import time

try:
    from collections.abc import Mapping
except ImportError:  # pragma: no cover - Python 2 is not supported by this collection
    Mapping = dict  # pylint: disable=invalid-name

from ansible_collections.ephi.safeguards.plugins.module_utils.host_probe import path_conforms
from ansible_collections.ephi.safeguards.plugins.module_utils.names import group_name, user_name

DIFF_LIMIT = 64 * 1024
STATES = ('file', 'directory')
# The sources of a file's bytes: the task's (controller side) and those the
# action plugin sends to the module (host side; content for a direct call).
TASK_SOURCES = ('src', 'template', 'content')
HOST_SOURCES = ('content', 'content_base64')
ALL_SOURCES = ('src', 'template', 'content', 'content_base64')
ATTRIBUTES = ('owner', 'group', 'mode')
_FILE_KEYS = ('dest', 'state', 'owner', 'group', 'mode', 'validate', 'backup')
_DIR_KEYS = ('path', 'state', 'owner', 'group', 'mode')
_MODE = re.compile(r'^[0-7]{3,4}$')
_NAME = re.compile(r'^[^\s:/]+$')
_TYPES = (
    (stat.S_ISLNK, 'a symbolic link'),
    (stat.S_ISDIR, 'a directory'),
    (stat.S_ISREG, 'a regular file'),
    (stat.S_ISFIFO, 'a FIFO'),
    (stat.S_ISSOCK, 'a socket'),
    (stat.S_ISCHR, 'a character device'),
    (stat.S_ISBLK, 'a block device'),
)


class FileSetError(Exception):
    """A problem of one item, or a failure while applying it. str() names the item, never content."""


def kind_of(st_mode):
    """'a symbolic link', 'a directory', ... of an lstat mode."""
    for test, name in _TYPES:
        if test(st_mode):
            return name
    return 'an unknown file type'


def mode_problem(value):
    """None when VALUE is a mode string of 3 or 4 octal digits, else what is wrong with it."""
    if isinstance(value, bool):
        return 'must be a quoted string of 3 or 4 octal digits such as "0644", not the boolean %s' % value
    if isinstance(value, int):
        return ('must be a quoted string of 3 or 4 octal digits such as "0644", not the number %d '
                '(YAML reads an unquoted 0644 as the octal number 420 and 644 as the decimal number 644)' % value)
    if not isinstance(value, str) or not _MODE.match(value):
        return 'must be a string of 3 or 4 octal digits such as "0644", got %r' % (value,)
    return None


def name_problem(value, what):
    """None when VALUE can name a user or group (a name, or a numeric id), else what is wrong with it."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return 'must be a %s name or a numeric id, got %r' % (what, value)
    if isinstance(value, int):
        return None if value >= 0 else 'must not be negative, got %d' % value
    return None if _NAME.match(value) else 'must be a %s name or a numeric id, got %r' % (what, value)


def path_problem(value):
    """None when VALUE is an absolute, normalized path other than /, else what is wrong with it."""
    if not isinstance(value, str) or not value:
        return 'must be an absolute path, got %r' % (value,)
    if '\0' in value:
        return 'must not contain a NUL character'
    if not value.startswith('/') or value == '/':
        return 'must be an absolute path other than /, got %r' % (value,)
    if posixpath.normpath(value) != value or value.startswith('//'):
        return 'must be a normalized absolute path (no //, /./, /../ or trailing /), got %r' % (value,)
    return None


def type_name(value):
    """'a dictionary', 'a list', 'a bool', ... of VALUE for a message (never its value)."""
    if isinstance(value, Mapping):
        return 'a dictionary'
    if isinstance(value, (list, tuple)):
        return 'a list'
    return 'a %s' % type(value).__name__


def mode_text(mode):
    return '%04o' % mode


def _label(index, path):
    return 'files[%d] (%s)' % (index, path) if isinstance(path, str) and path else 'files[%d]' % index


def _check_defaults(defaults, problems):
    for key in ATTRIBUTES:
        value = defaults.get(key)
        if value is None:
            continue
        why = mode_problem(value) if key == 'mode' else name_problem(value, 'user' if key == 'owner' else 'group')
        if why:
            problems.append('%s (the default for every item) %s' % (key, why))


def _source_of(raw, label, sources, problems):
    """(key, value) of the one source of a file item, or (None, None) after adding the problem."""
    given = [key for key in ALL_SOURCES if raw.get(key) is not None]
    foreign = [key for key in given if key not in sources]
    if foreign:
        if set(foreign) <= set(TASK_SOURCES):
            problems.append('%s: %s is read on the controller by the action plugin ephi.safeguards.file_set; the module '
                            'itself takes %s' % (label, ' and '.join(foreign), ' or '.join(sources)))
        else:
            problems.append('%s: %s is not an option of a task (set only by the action plugin); use %s'
                            % (label, ' and '.join(foreign), ', '.join(sources)))
        return None, None
    if len(given) != 1:
        problems.append('%s: a file item needs exactly one of %s, got %s'
                        % (label, ', '.join(sources), ', '.join(given) if given else 'none'))
        return None, None
    return given[0], raw[given[0]]


def _data_of(key, value, label, problems):
    """The bytes of a content or content_base64 source (None for src and template, read on the controller)."""
    if key in ('src', 'template'):
        if not isinstance(value, str) or not value:
            problems.append('%s: %s must be a file name, got %r' % (label, key, value))
        return None
    if not isinstance(value, str):
        problems.append('%s: %s must be a string, got %s (use e.g. "{{ data | to_nice_json }}", and mind that '
                        'ansible-core before 2.19 turns a templated string that looks like a list or dictionary '
                        'into one)' % (label, key, type_name(value)))
        return None
    if key == 'content':
        try:
            return value.encode('utf-8')
        except UnicodeError:
            problems.append('%s: content is not valid text (UTF-8)' % label)
            return None
    try:
        return base64.b64decode(value.encode('ascii'), validate=True)
    except (binascii.Error, ValueError, UnicodeError):
        problems.append('%s: content_base64 is not valid base64' % label)
        return None


def parse_items(files, defaults=None, sources=TASK_SOURCES):
    """(items, problems) of the task's FILES with the DEFAULTS owner/group/mode.

    SOURCES are the accepted sources of a file's bytes: TASK_SOURCES on the
    controller, HOST_SOURCES in the module. Every problem of every item is
    listed; items are only meaningful when there is none. An item is a dict:
    index, state ('file'/'directory'), path, owner, group (name, id or None),
    mode (int or None), validate (str or None), source (label such as
    'template x.j2'), key and value (of the source), data (bytes, or None
    for src/template until the controller reads them).
    """
    problems = []
    defaults = defaults or {}
    _check_defaults(defaults, problems)
    if not isinstance(files, list):
        return [], problems + ['files must be a list of items, got %s' % type_name(files)]
    items = []
    seen = {}
    for index, raw in enumerate(files):
        if not isinstance(raw, Mapping):
            problems.append('files[%d] must be a dictionary, got %s' % (index, type_name(raw)))
            continue
        state = raw.get('state') if raw.get('state') is not None else 'file'
        path_key = 'path' if state == 'directory' else 'dest'
        path = raw.get(path_key)
        if isinstance(path, str) and state == 'directory' and len(path) > 1 and path.endswith('/'):
            path = path[:-1]
        label = _label(index, path)
        if state not in STATES:
            problems.append('%s: state must be file or directory, got %r' % (label, state))
            continue
        if state == 'file':
            known = _FILE_KEYS + ALL_SOURCES + (('source',) if 'content_base64' in sources else ())
        else:
            known = _DIR_KEYS
        unknown = sorted(str(key) for key in raw if key not in known)
        if unknown:
            hint = ('a file item takes dest, one of %s, owner, group, mode, validate, backup' % '/'.join(sources) if state == 'file'
                    else 'a directory item takes path, state, owner, group, mode')
            problems.append('%s: unknown option%s %s (%s)' % (label, 's' if len(unknown) > 1 else '', ', '.join(unknown), hint))
        why = path_problem(path) if path is not None else 'needs %s' % path_key
        if why:
            problems.append('%s: %s %s' % (label, path_key, why) if path is not None else '%s: %s' % (label, why))
        elif path in seen:
            problems.append('%s: %s is also files[%d]; each path may appear once' % (label, path, seen[path]))
        else:
            seen[path] = index
        item = {'index': index, 'state': state, 'path': path, 'label': label, 'validate': None, 'backup': False,
                'source': None, 'key': None, 'value': None, 'data': None}
        for key in ATTRIBUTES:
            own = raw.get(key)
            value = own if own is not None else defaults.get(key)
            why = None
            if value is not None:
                why = mode_problem(value) if key == 'mode' else name_problem(value, 'user' if key == 'owner' else 'group')
            if why:
                if own is not None:  # a bad default is reported once, by _check_defaults
                    problems.append('%s: %s %s' % (label, key, why))
                value = None
            elif key == 'mode' and value is not None:
                value = int(value, 8)
            item[key] = value
        if state == 'file':
            validate = raw.get('validate')
            if validate is not None and (not isinstance(validate, str) or '%s' not in validate):
                problems.append('%s: validate must be a command holding %%s (the temporary file), got %r' % (label, validate))
            elif validate is not None:
                try:
                    if not shlex.split(validate):
                        raise ValueError('empty command')
                except ValueError as exc:
                    problems.append('%s: validate cannot be split into a command: %s' % (label, exc))
                item['validate'] = validate
            backup = raw.get('backup')
            if backup is not None and not isinstance(backup, bool):
                problems.append('%s: backup must be true or false, got %r' % (label, backup))
            item['backup'] = backup is True
            key, value = _source_of(raw, label, sources, problems)
            if key is not None:
                item['key'], item['value'] = key, value
                item['data'] = _data_of(key, value, label, problems)
                label_of = raw.get('source') if isinstance(raw.get('source'), str) else None
                item['source'] = label_of or ('%s %s' % (key, value) if key in ('src', 'template') else 'content')
        items.append(item)
    return items, problems


# ---------------------------------------------------------------- host side

def _user_id(value, cache):
    if isinstance(value, int):
        return value
    if value not in cache:
        try:
            cache[value] = pwd.getpwnam(value).pw_uid
        except KeyError:
            cache[value] = int(value) if value.isdigit() else None
    return cache[value]


def _group_id(value, cache):
    if isinstance(value, int):
        return value
    if value not in cache:
        try:
            cache[value] = grp.getgrnam(value).gr_gid
        except KeyError:
            cache[value] = int(value) if value.isdigit() else None
    return cache[value]


def current_umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _lstat(path, label):
    try:
        return os.lstat(path)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise FileSetError('%s: cannot examine %s: %s' % (label, path, exc.strerror))


def _open_flags(directory=False):
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, 'O_CLOEXEC', 0) | getattr(os, 'O_NOCTTY', 0)
    return flags | os.O_DIRECTORY if directory else flags


def _same_file(before, now):
    return (before.st_dev, before.st_ino) == (now.st_dev, now.st_ino)


def read_regular(path, expected):
    """The bytes of the regular file PATH, which must still be the file lstat gave as EXPECTED."""
    fd = os.open(path, _open_flags())
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode) or not _same_file(expected, now):
            raise OSError(errno.EAGAIN, 'the file was replaced while it was read')
        pieces = []
        while True:
            piece = os.read(fd, 1 << 20)
            if not piece:
                return b''.join(pieces)
            pieces.append(piece)
    finally:
        os.close(fd)


def _attribute_changes(item, entry, st):
    """The names of the attributes of the existing ST that differ from the item's, with before/after values."""
    changes = []
    if entry['uid'] is not None and st.st_uid != entry['uid']:
        changes.append(('owner', user_name(st.st_uid), item['owner']))
    if entry['gid'] is not None and st.st_gid != entry['gid']:
        changes.append(('group', group_name(st.st_gid), item['group']))
    if item['mode'] is not None and stat.S_IMODE(st.st_mode) != item['mode']:
        changes.append(('mode', mode_text(stat.S_IMODE(st.st_mode)), mode_text(item['mode'])))
    return changes


def _parent_unsafe(uid, mode, euid):
    """'owner' or 'others' when a directory owned by UID with MODE is no place for EUID to write in, else None."""
    if uid not in (0, euid):
        return 'owner'
    return 'others' if mode & stat.S_IWOTH else None


def parent_problem(st, euid=None):
    """Why a parent directory with stat st is no place for this process to write
    in (None when it is): owned by another user than this process's (root: by a
    user), or writable by others. The temporary file, the rename and mkdir happen
    there, and whoever may change the directory could race them."""
    why = _parent_unsafe(st.st_uid, st.st_mode, os.geteuid() if euid is None else euid)
    if why == 'owner':
        return 'is owned by %s' % user_name(st.st_uid)
    return 'is writable by others' if why else None


def _plan_item(item, created, want_diff, ids, umask):
    label, path = item['label'], item['path']
    entry = {'item': item, 'exists': False, 'content': False, 'changes': [], 'before': None, 'size': None,
             'st': None, 'uid': None, 'gid': None, 'applied': False, 'backup_file': None}
    if item['owner'] is not None:
        entry['uid'] = _user_id(item['owner'], ids[0])
        if entry['uid'] is None:
            raise FileSetError('%s: owner %s is not a user on this host' % (label, item['owner']))
    if item['group'] is not None:
        entry['gid'] = _group_id(item['group'], ids[1])
        if entry['gid'] is None:
            raise FileSetError('%s: group %s is not a group on this host' % (label, item['group']))
    parent = posixpath.dirname(path)
    if parent not in created and not os.path.isdir(parent):
        raise FileSetError('%s: the parent directory %s does not exist or is not a directory (file_set creates no '
                           'parent directory: add a directory item for it before this one)' % (label, parent))
    if parent not in created:
        why = parent_problem(os.stat(parent))
        if why:
            raise FileSetError('%s: the parent directory %s %s: file_set does not write inside a directory another '
                               'user can change' % (label, parent, why))
    st = None if parent in created else _lstat(path, label)
    entry['st'] = st
    if item['state'] == 'directory':
        if st is not None and not stat.S_ISDIR(st.st_mode):
            raise FileSetError('%s: %s exists and is %s, not a directory (file_set neither follows nor replaces it)'
                               % (label, path, kind_of(st.st_mode)))
        entry['mode'] = item['mode'] if item['mode'] is not None else 0o777 & ~umask
    else:
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise FileSetError('%s: %s exists and is %s, not a regular file (file_set neither follows nor replaces it)'
                               % (label, path, kind_of(st.st_mode)))
        data = item['data']
        if st is None:
            entry['content'] = True
            entry['mode'] = item['mode'] if item['mode'] is not None else 0o666 & ~umask
        else:
            entry['mode'] = item['mode'] if item['mode'] is not None else stat.S_IMODE(st.st_mode)
            entry['size'] = st.st_size
            if st.st_size == len(data) or (want_diff and st.st_size <= DIFF_LIMIT):
                try:
                    entry['before'] = read_regular(path, st)
                except OSError as exc:
                    raise FileSetError('%s: cannot read %s: %s' % (label, path, exc.strerror))
                entry['content'] = entry['before'] != data
            else:
                entry['content'] = True
    if st is not None:
        entry['exists'] = True
        entry['changes'] = _attribute_changes(item, entry, st)
    entry['changed'] = not entry['exists'] or entry['content'] or bool(entry['changes'])
    return entry


def plan(items, want_diff=False, umask=None):
    """(entries, problems): what each item would change, in order, touching nothing.

    A directory item that creates a directory makes it a valid parent for
    the items after it. Every problem of every item is listed.
    """
    umask = current_umask() if umask is None else umask
    entries, problems, created, ids = [], [], set(), ({}, {})
    for item in items:
        try:
            entry = _plan_item(item, created, want_diff, ids, umask)
        except FileSetError as exc:
            problems.append(str(exc))
            continue
        if item['state'] == 'directory' and not entry['exists']:
            created.add(item['path'])
        entries.append(entry)
    return entries, problems


def _fsync_dir(path):
    """Flush a directory (after a rename or mkdir in it). PATH may be reached through a symbolic link."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | getattr(os, 'O_CLOEXEC', 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _owner_ids(entry):
    """(uid, gid) to give a written file: the item's, else the existing file's, else -1 (unchanged)."""
    st = entry['st']
    uid = entry['uid'] if entry['uid'] is not None else (st.st_uid if st is not None else -1)
    gid = entry['gid'] if entry['gid'] is not None else (st.st_gid if st is not None else -1)
    return uid, gid


def validate_argv(command, tmp_path):
    """The argv of a validate COMMAND (shell-like split, no shell) with each %s replaced by TMP_PATH."""
    return [arg.replace('%s', tmp_path) for arg in shlex.split(command)]


def backup_name(path, pid=None, now=None):
    """The name of PATH's backup, as ansible.builtin.copy and template name theirs:
    PATH.PID.YYYY-MM-DD@HH:MM:SS~ (local time)."""
    return '%s.%s.%s' % (path, os.getpid() if pid is None else pid,
                         time.strftime('%Y-%m-%d@%H:%M:%S~', time.localtime(now)))


def _keep_backup(entry, path):
    """Keep the file that is about to be replaced under backup_name(PATH): a second name of the
    very file that was planned (a hard link, so owner, mode and times are its own), never a copy of
    something put there since."""
    name = backup_name(path)
    os.link(path, name, follow_symlinks=False)
    if not _same_file(entry['st'], os.lstat(name)):
        os.unlink(name)
        raise OSError(errno.EAGAIN, 'it was replaced since it was examined')
    return name


def _write(entry, run):
    item = entry['item']
    label, path = item['label'], item['path']
    parent, base = posixpath.split(path)
    uid, gid = _owner_ids(entry)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix='.%s.' % base[:100], suffix='.tmp', dir=parent)
        try:
            _write_all(fd, item['data'])
            if uid != -1 or gid != -1:
                os.fchown(fd, uid, gid)
            os.fchmod(fd, entry['mode'])
            os.fsync(fd)
        finally:
            os.close(fd)
        if item['validate']:
            argv = validate_argv(item['validate'], tmp)
            try:
                rc, out, err = run(argv)
            except OSError as exc:
                raise FileSetError('%s: cannot run the validate command %s: %s; %s left unchanged'
                                   % (label, argv[0], exc.strerror or exc, path))
            if rc != 0:
                said = (err or out or '').strip()
                raise FileSetError('%s: validate failed (rc %s)%s; %s left unchanged'
                                   % (label, rc, ': ' + said[-2000:] if said else '', path))
        if item['backup'] and entry['st'] is not None:
            entry['backup_file'] = _keep_backup(entry, path)
        os.rename(tmp, path)
        tmp = None
    except OSError as exc:
        raise FileSetError('%s: cannot write %s: %s' % (label, path, exc.strerror or exc))
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    entry['applied'] = True
    _flush_parent(entry, parent)


def _flush_parent(entry, parent):
    try:
        _fsync_dir(parent)
    except OSError as exc:
        raise FileSetError('%s: %s was changed but its directory could not be flushed to disk: %s'
                           % (entry['item']['label'], entry['item']['path'], exc.strerror or exc))


def _fix_in_place(entry, fd):
    """Owner, group and mode of the open file or directory FD (the one planned, checked with fstat)."""
    item = entry['item']
    now = os.fstat(fd)
    if entry['st'] is not None and not _same_file(entry['st'], now):
        raise OSError(errno.EAGAIN, 'it was replaced since it was examined')
    uid = entry['uid'] if entry['uid'] is not None and entry['uid'] != now.st_uid else -1
    gid = entry['gid'] if entry['gid'] is not None and entry['gid'] != now.st_gid else -1
    if uid != -1 or gid != -1:
        os.fchown(fd, uid, gid)
    # chown clears the setuid and setgid bits: the mode is set again after it.
    if uid != -1 or gid != -1 or stat.S_IMODE(now.st_mode) != entry['mode']:
        os.fchmod(fd, entry['mode'])


def _attributes(entry):
    item = entry['item']
    label, path = item['label'], item['path']
    directory = item['state'] == 'directory'
    try:
        fd = os.open(path, _open_flags(directory=directory))
    except OSError as exc:
        raise FileSetError('%s: cannot open %s: %s' % (label, path, exc.strerror))
    try:
        if not directory and not stat.S_ISREG(os.fstat(fd).st_mode):
            raise FileSetError('%s: %s is no longer a regular file' % (label, path))
        _fix_in_place(entry, fd)
    except OSError as exc:
        raise FileSetError('%s: cannot set the owner, group or mode of %s: %s' % (label, path, exc.strerror or exc))
    finally:
        os.close(fd)


def _make_directory(entry):
    item = entry['item']
    label, path = item['label'], item['path']
    try:
        os.mkdir(path, 0o700)
        entry['applied'] = True  # it exists now, even if what follows fails
        fd = os.open(path, _open_flags(directory=True))
        try:
            entry['st'] = os.fstat(fd)
            _fix_in_place(entry, fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise FileSetError('%s: cannot create the directory %s: %s' % (label, path, exc.strerror or exc))
    entry['applied'] = True
    _flush_parent(entry, posixpath.dirname(path))


def apply(entries, run):
    """Apply the planned ENTRIES in order. RUN(argv) -> (rc, stdout, stderr) runs a validate command.

    Raises FileSetError at the first failure. The entries that changed the
    host have 'applied' set: those before it, and the failed one when it did
    change something (a directory made whose owner could not be set, a file
    renamed whose directory could not be flushed).
    """
    for entry in entries:
        if not entry['changed']:
            continue
        item = entry['item']
        if item['state'] == 'directory' and not entry['exists']:
            _make_directory(entry)
        elif item['state'] == 'file' and entry['content']:
            _write(entry, run)
        else:
            _attributes(entry)
        entry['applied'] = True


def results(entries, applied_only=False):
    """(results, changed_paths): one result per entry, in order, and the paths that changed."""
    out, paths = [], []
    for entry in entries:
        item = entry['item']
        changed = entry['applied'] if applied_only else entry['changed']
        result = {'dest' if item['state'] == 'file' else 'path': item['path'], 'state': item['state'],
                  'changed': changed, 'created': changed and not entry['exists'],
                  'content': changed and entry['content'],
                  'attributes': [name for name, _before, _after in entry['changes']] if changed else []}
        if entry['backup_file']:
            result['backup_file'] = entry['backup_file']
        out.append(result)
        if changed:
            paths.append(item['path'])
    return out, paths


def probe_wants(files, wants=None):
    """The ``paths`` option of ephi.safeguards.host_probe with which :func:`probed_in_place` can decide
    about FILES (a file_set task's items, unchecked): WANTS (the probe's own entries, kept first and
    as asked, a dictionary given ``checksum: sha256`` when an item is that file), then each item's
    path (a file with its sha256) and its parent directory, each path once. An item without a
    usable path is left out (the file_set task reports it)."""
    out, index = [], {}

    def add(path, checksum):
        if path in index:
            want = out[index[path]]
            if checksum and not isinstance(want, Mapping):
                out[index[path]] = {'path': path, 'checksum': 'sha256'}
            elif checksum and not want.get('checksum'):
                out[index[path]] = dict(want, checksum='sha256')
            return
        index[path] = len(out)
        out.append({'path': path, 'checksum': 'sha256'} if checksum else path)

    for want in wants or []:
        path = want.get('path') if isinstance(want, Mapping) else want
        if isinstance(path, str) and path not in index:
            index[path] = len(out)
            out.append(want)
    for raw in files or []:
        if not isinstance(raw, Mapping):
            continue
        state = raw.get('state') if raw.get('state') is not None else 'file'
        path = raw.get('path' if state == 'directory' else 'dest')
        if isinstance(path, str) and state == 'directory' and len(path) > 1 and path.endswith('/'):
            path = path[:-1]
        if state not in STATES or path_problem(path) is not None:
            continue
        add(posixpath.dirname(path), False)
        add(path, state == 'file')
    return out


def _probed_parent_ok(facts):
    """Whether a parent directory host_probe saw as FACTS is one plan() accepts for root (parent_problem's
    rule, with root's euid): a directory, not a link, owned by root and not writable by others."""
    return (isinstance(facts, Mapping) and path_conforms(facts, {'state': 'directory'})
            and _parent_unsafe(facts['uid'], int(facts['mode'], 8), 0) is None)


def _probed_item_ok(item, facts):
    """Whether host_probe's FACTS show ITEM as plan() would find it unchanged (host_probe's path_conforms,
    asked with the item's type, owner, group, mode and, for a file, the sha256 of its data)."""
    want = {'state': item['state'], 'owner': item['owner'], 'group': item['group'],
            'mode': None if item['mode'] is None else mode_text(item['mode'])}
    if item['state'] == 'file':
        if not isinstance(item['data'], bytes):
            return False
        want['digest'] = hashlib.sha256(item['data']).hexdigest()
    return isinstance(facts, Mapping) and path_conforms(facts, want)


def probed_in_place(items, answers):
    """Whether ANSWERS (the ``paths`` of an ephi.safeguards.host_probe answer asked with
    :func:`probe_wants`) show every one of ITEMS (parse_items', each file's data read) as plan()
    would find it unchanged, so that a run as root would change nothing: each item there, of its
    type (never a link), with its owner, group and mode where the item sets them and a file with
    the sha256 of its data, and each parent directory one plan() accepts. Anything the answers do
    not show, or show otherwise, is not in place (the module then runs and decides)."""
    if not isinstance(answers, Mapping) or not items:
        return False
    try:
        return all(_probed_parent_ok(answers.get(posixpath.dirname(item['path'])))
                   and _probed_item_ok(item, answers.get(item['path'])) for item in items)
    except (KeyError, TypeError, ValueError):  # not facts as host_probe gives them
        return False


def unchanged_results(items):
    """(results, changed_paths) of ITEMS when nothing changes: results() of entries that change nothing."""
    return results([{'item': item, 'changed': False, 'exists': True, 'content': False, 'changes': [], 'backup_file': None}
                    for item in items])


def _text(data):
    """DATA as text for a diff, or None when it is binary or too large."""
    if data is None or len(data) > DIFF_LIMIT or b'\0' in data:
        return None
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError:
        return None


def _placeholder(data, size):
    if data is None:
        return '(%d bytes, not shown: binary or larger than %d bytes)\n' % (size, DIFF_LIMIT)
    return '(%d bytes, sha256 %s, not shown: binary or larger than %d bytes)\n' % (
        len(data), hashlib.sha256(data).hexdigest(), DIFF_LIMIT)


def _attribute_dicts(path, entry):
    before, after = {'path': path}, {'path': path}
    for name, was, will in entry['changes']:
        before[name] = was
        after[name] = will
    return before, after


def diffs(entries):
    """The diff of each entry that changes, as a list of {before_header, after_header, before, after}."""
    out = []
    for entry in entries:
        if not entry['changed']:
            continue
        item = entry['item']
        path = item['path']
        if item['state'] == 'directory' and not entry['exists']:
            after = {'path': path, 'state': 'directory', 'mode': mode_text(entry['mode'])}
            for key in ('owner', 'group'):
                if item[key] is not None:
                    after[key] = item[key]
            out.append({'before_header': path, 'after_header': path, 'before': {'path': path, 'state': 'absent'},
                        'after': after})
        elif item['state'] == 'file' and entry['content']:
            notes = ', '.join('%s %s -> %s' % change for change in entry['changes'])
            before_header = path if entry['exists'] else '%s (absent)' % path
            after_header = '%s (%s%s)' % (path, item['source'] or 'content', '; ' + notes if notes else '')
            before, after = _text(entry['before']) if entry['exists'] else '', _text(item['data'])
            if before is None or after is None:
                before = _placeholder(entry['before'], entry['size']) if entry['exists'] else ''
                after = _placeholder(item['data'], len(item['data']))
            out.append({'before_header': before_header, 'after_header': after_header, 'before': before, 'after': after})
        else:
            before, after = _attribute_dicts(path, entry)
            out.append({'before_header': path, 'after_header': path, 'before': before, 'after': after})
    return out


def redacted(params):
    """The module's parameters without the files' contents (for its logged invocation and its result)."""
    shown = dict(params)
    files = []
    for raw in params.get('files') or []:
        if isinstance(raw, Mapping):
            raw = dict(raw)
            for key in HOST_SOURCES:
                if isinstance(raw.get(key), str):
                    raw[key] = 'NOT_SHOWN (%d characters)' % len(raw[key])
        files.append(raw)
    shown['files'] = files
    return shown
