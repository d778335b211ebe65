# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading a file a user controls: the pure decisions, then the real thing
on a temporary directory (FIFO, symbolic links, directories, huge and
foreign files; the privilege switch when the tests run as root)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import os
import pathlib
import shutil
import stat
import tempfile
import time

import pytest

from ansible_collections.ephi.safeguards.plugins.module_utils import safe_open
from ansible_collections.ephi.safeguards.plugins.module_utils.safe_open import (
    UnsafeFile,
    dir_problem,
    file_problem,
    file_type,
    link_target,
    may_follow,
    read_user_file,
    split_path,
)

St = collections.namedtuple('St', 'st_mode st_uid st_size')
ME = os.geteuid()
AS_ROOT = pytest.mark.skipif(ME != 0, reason='needs root (chown, privilege switch)')


def st(kind, uid=1000, size=10, perm=0o644):
    return St(kind | perm, uid, size)


# ---------------------------------------------------------------- pure decisions

@pytest.mark.parametrize('kind, name', [
    (stat.S_IFREG, 'a regular file'), (stat.S_IFDIR, 'a directory'), (stat.S_IFLNK, 'a symbolic link'),
    (stat.S_IFIFO, 'a FIFO (named pipe)'), (stat.S_IFSOCK, 'a socket'), (stat.S_IFCHR, 'a character device'),
    (stat.S_IFBLK, 'a block device'),
])
def test_file_type_names_every_kind(kind, name):
    assert file_type(kind | 0o600) == name


def test_file_problem_accepts_a_small_regular_file_of_the_user_or_root():
    assert file_problem(st(stat.S_IFREG, 1000), 1000) is None
    assert file_problem(st(stat.S_IFREG, 0), 1000) is None


@pytest.mark.parametrize('given, reason', [
    (st(stat.S_IFIFO), 'is a FIFO (named pipe), not a regular file'),
    (st(stat.S_IFLNK), 'is a symbolic link, not a regular file'),
    (st(stat.S_IFDIR), 'is a directory, not a regular file'),
    (st(stat.S_IFCHR), 'is a character device, not a regular file'),
    (st(stat.S_IFSOCK), 'is a socket, not a regular file'),
    (st(stat.S_IFREG, uid=1001), 'the file is owned by uid 1001, neither root nor uid 1000'),
    (st(stat.S_IFREG, size=safe_open.MAX_SIZE + 1), 'is 1048577 bytes, larger than the limit of 1048576'),
])
def test_file_problem_refuses(given, reason):
    assert file_problem(given, 1000) == reason


def test_file_problem_size_limit_is_a_parameter():
    assert file_problem(st(stat.S_IFREG, size=11), 1000, max_size=10) == 'is 11 bytes, larger than the limit of 10'
    assert file_problem(st(stat.S_IFREG, size=10), 1000, max_size=10) is None


def test_dir_problem():
    assert dir_problem(st(stat.S_IFDIR, 1000, perm=0o700), 1000) is None
    assert dir_problem(st(stat.S_IFDIR, 0, perm=0o755), 1000) is None
    assert dir_problem(st(stat.S_IFDIR, 1001), 1000) == 'the directory is owned by uid 1001, neither root nor uid 1000'
    assert dir_problem(st(stat.S_IFREG, 1000), 1000) == 'is a regular file, not a directory'


def test_may_follow_only_root_links_in_root_only_directories():
    root_dir = st(stat.S_IFDIR, 0, perm=0o755)
    assert may_follow(st(stat.S_IFLNK, 0, perm=0o777), root_dir)
    assert not may_follow(st(stat.S_IFLNK, 1000, perm=0o777), root_dir)
    assert not may_follow(st(stat.S_IFLNK, 0, perm=0o777), st(stat.S_IFDIR, 1000, perm=0o700))
    assert not may_follow(st(stat.S_IFLNK, 0, perm=0o777), st(stat.S_IFDIR, 0, perm=0o1777))
    assert not may_follow(st(stat.S_IFLNK, 0, perm=0o777), st(stat.S_IFDIR, 0, perm=0o775))
    assert not may_follow(st(stat.S_IFREG, 0), root_dir)


def test_split_path():
    assert split_path('/home//alice/./.ssh/authorized_keys') == ['home', 'alice', '.ssh', 'authorized_keys']
    assert split_path('/') == []
    for bad, why in (('relative/path', 'not an absolute path'), ('/home/../etc/shadow', "contains '..'"),
                     ('/a\0b', 'contains a NUL byte')):
        with pytest.raises(ValueError) as exc:
            split_path(bad)
        assert str(exc.value) == why


def test_link_target_replaces_one_component():
    parts = ['home', 'alice', '.ssh']
    assert link_target(parts, 0, '/srv/home') == ['srv', 'home', 'alice', '.ssh']
    assert link_target(parts, 0, 'srv/home') == ['srv', 'home', 'alice', '.ssh']
    assert link_target(parts, 1, '../x') == ['x', '.ssh']
    assert link_target(['a', 'b'], 1, '/') == []


# ---------------------------------------------------------------- on a real file system

USER = 4242 if ME == 0 else ME     # as root, the files belong to a made-up user who reads them


@pytest.fixture
def home(tmp_path):
    """A home directory with .ssh owned by USER. As root, in a directory of its own that USER
    can search (pytest's are 0700, and changing their modes would race with other workers)."""
    if ME != 0:
        (tmp_path / '.ssh').mkdir()
        yield tmp_path
        return
    base = tempfile.mkdtemp(prefix='ephi-safe-open-', dir='/tmp')
    os.chmod(base, 0o711)
    path = pathlib.Path(base) / 'home'
    (path / '.ssh').mkdir(parents=True)
    for owned in (path, path / '.ssh'):
        os.chown(str(owned), USER, USER)
    yield path
    shutil.rmtree(base)


def own(path):
    if ME == 0:
        os.lchown(str(path), USER, USER)
    return path


def refused(path, uid=USER, **kwargs):
    with pytest.raises(UnsafeFile) as exc:
        read_user_file(str(path), uid, **kwargs)
    return str(exc.value)


def test_reads_a_regular_file(home):
    (home / '.ssh' / 'authorized_keys').write_bytes(b'ssh-ed25519 AAAA x\n')
    own(home / '.ssh' / 'authorized_keys')
    assert read_user_file(str(home / '.ssh' / 'authorized_keys'), USER) == b'ssh-ed25519 AAAA x\n'


def test_absent_file_or_directory_is_none(home):
    assert read_user_file(str(home / '.ssh' / 'authorized_keys2'), USER) is None
    assert read_user_file(str(home / 'nothing' / 'authorized_keys'), USER) is None
    (home / 'file').write_text('x')
    # A file where a directory should be: sshd finds nothing there either (ENOTDIR).
    assert read_user_file(str(home / 'file' / 'authorized_keys'), USER) is None


def test_fifo_is_refused_at_once(home):
    fifo = home / '.ssh' / 'authorized_keys'
    os.mkfifo(str(fifo))
    own(fifo)
    start = time.monotonic()
    assert refused(fifo) == '%s is a FIFO (named pipe), not a regular file' % fifo
    assert time.monotonic() - start < 1


def test_symlink_to_a_secret_is_refused_without_content(home, tmp_path_factory):
    secret = tmp_path_factory.mktemp('secret') / 'shadow'
    secret.write_text('root:$y$j9T$SECRETHASH:19000:0:99999:7:::\n')
    link = home / '.ssh' / 'authorized_keys'
    link.symlink_to(secret)
    own(link)
    reason = refused(link)
    assert reason == '%s is a symbolic link in a directory that is not root-only; it is not followed' % link
    assert 'SECRET' not in reason


def test_symlinked_directory_on_the_way_is_refused(home, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp('elsewhere')
    (elsewhere / 'authorized_keys').write_text('secret\n')
    (home / '.ssh').rmdir()
    (home / '.ssh').symlink_to(elsewhere)
    own(home / '.ssh')
    assert refused(home / '.ssh' / 'authorized_keys') == (
        '%s is a symbolic link in a directory that is not root-only; it is not followed' % (home / '.ssh'))


def test_directory_is_refused(home):
    (home / '.ssh' / 'authorized_keys').mkdir()
    own(home / '.ssh' / 'authorized_keys')
    assert refused(home / '.ssh' / 'authorized_keys').endswith('is a directory, not a regular file')


def test_huge_file_is_refused_without_reading_it(home):
    big = home / '.ssh' / 'authorized_keys'
    with open(str(big), 'wb') as handle:
        handle.truncate(50 * 1024 * 1024)        # sparse
    own(big)
    assert refused(big).endswith('is 52428800 bytes, larger than the limit of 1048576')
    assert len(read_user_file(str(big), USER, max_size=100 * 1024 * 1024)) == 50 * 1024 * 1024


def test_dotdot_is_refused(home):
    assert "contains '..'" in refused(str(home / '.ssh') + '/../.ssh/authorized_keys')


@AS_ROOT
def test_file_owned_by_another_user_is_refused(home):
    path = home / '.ssh' / 'authorized_keys'
    path.write_text('ssh-ed25519 AAAA x\n')
    os.chown(str(path), 4343, 4343)
    assert refused(path).endswith('the file is owned by uid 4343, neither root nor uid 4242')


@AS_ROOT
def test_directory_owned_by_another_user_is_refused(home):
    (home / '.ssh' / 'authorized_keys').write_text('x\n')
    os.chown(str(home / '.ssh'), 4343, 4343)
    assert refused(home / '.ssh' / 'authorized_keys') == (
        '%s the directory is owned by uid 4343, neither root nor uid 4242' % (home / '.ssh'))


@AS_ROOT
def test_reads_with_the_users_privileges_and_restores_roots(home):
    path = home / '.ssh' / 'authorized_keys'
    path.write_text('root only\n')
    os.chmod(str(path), 0o600)                   # root's, 0600: root could read it, the user cannot
    assert refused(path, gid=USER, groups=[USER]) == '%s cannot be opened as uid 4242: Permission denied' % path
    assert (os.geteuid(), os.getegid()) == (0, 0) and os.getresuid() == (0, 0, 0)
    os.chown(str(path), USER, USER)
    assert read_user_file(str(path), USER, USER, [USER]) == b'root only\n'
    assert os.getresuid() == (0, 0, 0) and os.getresgid()[1] == 0 and USER not in os.getgroups()


def test_trusted_links_are_followed_and_checked_again(tmp_path, monkeypatch):
    # The test directory is not root-only, so trust is granted by a stand-in decision.
    real = tmp_path / 'real'
    (real / '.ssh').mkdir(parents=True)
    (real / '.ssh' / 'authorized_keys').write_text('ok\n')
    (tmp_path / 'home').symlink_to(real)
    (tmp_path / 'loop').symlink_to(tmp_path / 'loop')
    monkeypatch.setattr(safe_open, 'may_follow', lambda link, directory: True)
    assert read_user_file(str(tmp_path / 'home' / '.ssh' / 'authorized_keys'), ME) == b'ok\n'
    (real / '.ssh' / 'authorized_keys').unlink()
    (real / '.ssh' / 'authorized_keys').symlink_to(real / 'nowhere')
    assert read_user_file(str(tmp_path / 'home' / '.ssh' / 'authorized_keys'), ME) is None
    assert 'more than 8 symbolic links' in refused(tmp_path / 'loop' / 'x', uid=ME)


def test_slow_read_is_bounded(home, monkeypatch):
    path = home / '.ssh' / 'authorized_keys'
    path.write_text('x\n')
    own(path)
    real_read = os.read

    def slow_read(fd, size):
        time.sleep(3)
        return real_read(fd, size)

    monkeypatch.setattr(safe_open.os, 'read', slow_read)
    start = time.monotonic()
    assert refused(path, timeout=0.5).endswith('could not be read within 0.5 seconds')
    assert time.monotonic() - start < 2.5
