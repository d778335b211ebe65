# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Shared by the session gate and recorder tests: the two programs of the tmux
role (roles/tmux/files, no .py suffix) loaded as modules, and run as programs
in a child process by this file itself:

    python3 session_programs.py gate CONF
    python3 session_programs.py recorder STORE CONF SOCKET

(the recorder with its mount check injected: the temporary "encrypted"
directory STORE passes, anything else fails; production code is unchanged)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.machinery
import importlib.util
import os
import sys

FILES = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', 'roles', 'tmux', 'files'))
GATE_PATH = os.path.join(FILES, 'ephi_session_gate.py')
RECORDER_PATH = os.path.join(FILES, 'ephi-session-recorder')
HERE = os.path.abspath(__file__)


def load(name, path):
    """The program at path as a module called name."""
    sys.dont_write_bytecode = True  # no __pycache__ beside the role's files
    loader = importlib.machinery.SourceFileLoader(name, path)
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def gate_argv(conf):
    """The argv that runs the gate's main() with the configuration file conf."""
    return [sys.executable, HERE, 'gate', conf]


def recorder_argv(store, conf, sock):
    """The argv that runs the recorder on sock, with store as the only encrypted directory."""
    return [sys.executable, HERE, 'recorder', store, conf, sock]


def run(argv):
    if argv[0] == 'gate':
        return load('ephi_session_gate', GATE_PATH).main(argv[1])
    store = argv[1]
    rec = load('ephi_session_recorder', RECORDER_PATH)
    rec.is_encrypted_dir = lambda path, conf: path == store
    return rec.main(['--config', argv[2], '--socket', argv[3]])


if __name__ == '__main__':
    sys.exit(run(sys.argv[1:]))
