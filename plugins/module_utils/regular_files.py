# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading root's regular files on the managed host without following a symbolic link in the
last component: ephi.safeguards.host_probe (settings files, blocks, checksums) and
ephi.safeguards.aide_baseline (the sha512 of the AIDE database it installs, the one the aide
role's tamper check compares with the probe's)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import hashlib
import os
import stat

from ansible.module_utils.common.text.converters import to_bytes

# The most host_probe reads of a file it returns or compares whole.
MAX_READ = 65536


def open_regular(path):
    """An fd of the regular file PATH, or None when it is missing or anything else (a link is not followed)."""
    try:
        fd = os.open(to_bytes(path, errors='surrogate_or_strict'), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            return None
        raise
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        os.close(fd)
        raise
    if not regular:
        os.close(fd)
        return None
    return fd


def read_bytes(path):
    """The bytes of PATH (at most MAX_READ + 1 of them: more than MAX_READ means a larger file), or
    None when it is missing or not a regular file."""
    fd = open_regular(path)
    if fd is None:
        return None
    data = b''
    try:
        while len(data) <= MAX_READ:
            chunk = os.read(fd, MAX_READ + 1 - len(data))
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    return data


def file_digest(path, algorithm):
    """The hex digest of the regular file PATH (a link is not followed), or None when it is no
    longer a regular file."""
    fd = open_regular(path)
    if fd is None:
        return None
    digest = hashlib.new(algorithm)
    try:
        while True:
            chunk = os.read(fd, 1048576)
            if not chunk:
                break
            digest.update(chunk)
    finally:
        os.close(fd)
    return digest.hexdigest()
