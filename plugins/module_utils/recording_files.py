# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading session recordings safely, for the modules that run as root over
a store (audit_chain_verify, recording_buffer): a regular file opened without
following a link, read as a stream of lines (a line longer than PIECE in
several pieces, never loaded whole).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

PIECE = 1 << 20


def open_regular(path):
    """A read-only descriptor of the regular file PATH; a link or anything else raises OSError."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError('%s is not a regular file' % path)
    return fd


def read_pieces(fh):
    """The lines of the open binary file FH from its position, in pieces of at most PIECE bytes."""
    while True:
        piece = fh.readline(PIECE)
        if not piece:
            return
        yield piece


def pieces(path):
    """The lines of the recording at PATH (see read_pieces), opened with open_regular."""
    with os.fdopen(open_regular(path), 'rb') as fh:
        yield from read_pieces(fh)
