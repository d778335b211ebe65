# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read a file that a user controls, as root, without being turned against root.

A module running as root that opens ``~user/.ssh/authorized_keys`` with a
plain ``open()`` follows the user's symbolic links (to ``/etc/shadow``),
blocks for ever on the user's FIFO and reads with root's privileges. Here:

* the path is walked from ``/`` one component at a time with
  ``openat(O_NOFOLLOW)``: a symbolic link anywhere on the way is refused,
  unless root owns both the link and the directory it lies in (``/home``
  linked to ``/srv/home`` by the administrator); every directory on the way
  must be owned by root or the user;
* the file is opened ``O_NONBLOCK|O_NOFOLLOW|O_NOCTTY`` and checked with
  ``fstat`` on the open descriptor: a regular file, owned by the user or
  root, not larger than a bound; it is read up to that bound only;
* all of it is done with the user's effective uid, gid and supplementary
  groups (the real and saved uid stay 0, so the user can neither signal nor
  trace the process meanwhile, and a FUSE mount of the user's refuses it),
  which is what sshd itself does before it opens an ``AuthorizedKeysFile``;
  privileges are restored before anything else happens;
* an alarm bounds the time spent on one file.

Refusals raise :class:`UnsafeFile` with a reason that names the path and
what is wrong with it, never any content. The decisions (``dir_problem``,
``file_problem``, ``may_follow``, ``split_path``) are pure functions.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import os
import posixpath
import signal
import stat

MAX_SIZE = 1024 * 1024
TIMEOUT = 5.0
MAX_LINKS = 8

_TYPES = (
    (stat.S_ISDIR, 'a directory'),
    (stat.S_ISLNK, 'a symbolic link'),
    (stat.S_ISFIFO, 'a FIFO (named pipe)'),
    (stat.S_ISSOCK, 'a socket'),
    (stat.S_ISCHR, 'a character device'),
    (stat.S_ISBLK, 'a block device'),
)


class UnsafeFile(Exception):
    """A file that was refused, or could not be read as its user.

    ``str(exc)`` names the path and the reason; it never contains file content.
    """


def file_type(mode):
    """Human name of the type of an ``st_mode`` ('a regular file', 'a FIFO (named pipe)', ...)."""
    if stat.S_ISREG(mode):
        return 'a regular file'
    for test, name in _TYPES:
        if test(mode):
            return name
    return 'an unknown kind of file'


def _owner_problem(st, uid, what):
    if st.st_uid not in (0, uid):
        return '%s is owned by uid %d, neither root nor uid %d' % (what, st.st_uid, uid)
    return None


def dir_problem(st, uid):
    """Why a directory on the way to a user's file may not be entered (None: it may)."""
    if not stat.S_ISDIR(st.st_mode):
        return 'is %s, not a directory' % file_type(st.st_mode)
    return _owner_problem(st, uid, 'the directory')


def file_problem(st, uid, max_size=MAX_SIZE):
    """Why a user's file may not be read (None: it may): its type, owner and size."""
    if not stat.S_ISREG(st.st_mode):
        return 'is %s, not a regular file' % file_type(st.st_mode)
    owner = _owner_problem(st, uid, 'the file')
    if owner:
        return owner
    if st.st_size > max_size:
        return 'is %d bytes, larger than the limit of %d' % (st.st_size, max_size)
    return None


def may_follow(link_st, dir_st):
    """A symbolic link is followed only if root made it where only root can write."""
    return (stat.S_ISLNK(link_st.st_mode) and link_st.st_uid == 0 and dir_st.st_uid == 0
            and not dir_st.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def split_path(path):
    """Components of an absolute path; '..' is refused (ValueError), '.' and '//' dropped."""
    if not isinstance(path, str) or not path.startswith('/'):
        raise ValueError('not an absolute path')
    if '\0' in path:
        raise ValueError('contains a NUL byte')
    parts = [p for p in path.split('/') if p not in ('', '.')]
    if '..' in parts:
        raise ValueError("contains '..'")
    return parts


def link_target(parts, index, target):
    """Components of the path after replacing component ``index`` by a link's ``target``."""
    base = '/' + '/'.join(parts[:index])
    joined = posixpath.normpath(posixpath.join(base, target))
    return [p for p in joined.split('/') if p] + list(parts[index + 1:])


# ---------------------------------------------------------------- I/O

_O_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
# Directories are opened O_PATH: searching them needs x, not r, as for sshd's open().
_DIR_FLAGS = getattr(os, 'O_PATH', os.O_RDONLY) | os.O_DIRECTORY | os.O_NOFOLLOW | _O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | _O_CLOEXEC
_ABSENT = (errno.ENOENT, errno.ENOTDIR)


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


@contextlib.contextmanager
def _time_limit(seconds):
    """Raise _Timeout in the block after ``seconds`` (main thread only; elsewhere unbounded)."""
    try:
        previous = signal.signal(signal.SIGALRM, _alarm)
    except ValueError:          # not the main thread
        yield
        return
    if previous is None:        # installed outside Python: put the default back
        previous = signal.SIG_DFL
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def as_user(uid, gid, groups):
    """Effective uid, gid and supplementary groups of a user for the block (root only).

    The real and saved uid stay root's, so the switch back cannot fail and the
    user cannot signal or ptrace the process meanwhile (the kernel also marks it
    non-dumpable). Without root, or for root itself, nothing changes.
    """
    if os.geteuid() != 0 or uid == 0:
        yield
        return
    saved_groups = os.getgroups()
    saved_egid = os.getegid()
    os.setgroups(list(groups))
    try:
        os.setresgid(-1, gid, -1)
        try:
            os.setresuid(-1, uid, -1)
            try:
                yield
            finally:
                os.setresuid(-1, 0, -1)
        finally:
            os.setresgid(-1, saved_egid, -1)
    finally:
        os.setgroups(saved_groups)


def _fail(path, reason):
    raise UnsafeFile('%s %s' % (path, reason))


def _walk_and_read(path, uid, max_size):
    try:
        parts = split_path(path)
    except ValueError as exc:
        _fail(path, 'is refused: %s' % exc)
    if not parts:
        _fail(path, 'is the root directory')
    fds = []
    try:
        fd = os.open('/', _DIR_FLAGS)
        fds.append(fd)
        dir_st = os.fstat(fd)
        links = 0
        index = 0
        while True:
            name = parts[index]
            shown = '/' + '/'.join(parts[:index + 1])
            last = index == len(parts) - 1
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except OSError as exc:
                if exc.errno in _ABSENT:
                    return None
                _fail(shown, 'cannot be examined as uid %d: %s' % (uid, os.strerror(exc.errno)))
            if stat.S_ISLNK(st.st_mode):
                if not may_follow(st, dir_st):
                    _fail(shown, 'is a symbolic link in a directory that is not root-only; it is not followed')
                links += 1
                if links > MAX_LINKS:
                    _fail(path, 'has more than %d symbolic links on the way' % MAX_LINKS)
                parts = link_target(parts, index, os.readlink(name, dir_fd=fd))
                if not parts:
                    _fail(path, 'resolves to the root directory')
                for old in fds:
                    os.close(old)
                fds = []
                fd = os.open('/', _DIR_FLAGS)
                fds.append(fd)
                dir_st = os.fstat(fd)
                index = 0
                continue
            if not last and not stat.S_ISDIR(st.st_mode):
                return None             # ENOTDIR: sshd finds nothing there either
            problem = file_problem(st, uid, max_size) if last else dir_problem(st, uid)
            if problem:
                _fail(shown, problem)
            try:
                nfd = os.open(name, _FILE_FLAGS if last else _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in _ABSENT:
                    return None
                if exc.errno == errno.ELOOP:
                    _fail(shown, 'was replaced by a symbolic link while it was being opened')
                _fail(shown, 'cannot be opened as uid %d: %s' % (uid, os.strerror(exc.errno)))
            fds.append(nfd)
            nst = os.fstat(nfd)
            if (nst.st_dev, nst.st_ino) != (st.st_dev, st.st_ino):
                _fail(shown, 'was replaced while it was being opened')
            problem = file_problem(nst, uid, max_size) if last else dir_problem(nst, uid)
            if problem:
                _fail(shown, problem)
            if last:
                chunks, size = [], 0
                while size <= max_size:
                    try:
                        chunk = os.read(nfd, min(65536, max_size + 1 - size))
                    except OSError as exc:
                        if exc.errno == errno.EAGAIN:
                            _fail(shown, 'would block')
                        _fail(shown, 'cannot be read as uid %d: %s' % (uid, os.strerror(exc.errno)))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
                if size > max_size:
                    _fail(shown, 'grew beyond the limit of %d bytes while it was being read' % max_size)
                return b''.join(chunks)
            fd, dir_st = nfd, nst
            index += 1
    finally:
        for old in fds:
            os.close(old)


def read_user_file(path, uid, gid=None, groups=None, max_size=MAX_SIZE, timeout=TIMEOUT):
    """Content (bytes) of a file that uid may control, read safely as that uid; None if absent.

    ``gid``/``groups``: the user's primary and supplementary groups (defaults:
    ``gid`` only / none). Raises UnsafeFile when the file, or a directory on
    the way, is refused, cannot be read as the user, or takes longer than
    ``timeout`` seconds.
    """
    if gid is None:
        gid = uid
    groups = list(groups) if groups is not None else [gid]
    try:
        with as_user(uid, gid, groups):
            with _time_limit(timeout):
                return _walk_and_read(path, uid, max_size)
    except _Timeout:
        raise UnsafeFile('%s could not be read within %s seconds' % (path, timeout))
    except OSError as exc:
        raise UnsafeFile('%s cannot be read as uid %d: %s' % (path, uid, os.strerror(exc.errno or errno.EIO)))
