# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Functions of the collection's libraries imported on their first call, for the filter plugins.

ansible-core looks a collection's filter up by loading every file of its plugins/filter
directory (each file may hold several filters), in every worker process, which is forked
anew for each task and host, and it compiles collection code from source each time. A filter
file that imports its libraries at the top makes every task that uses any ephi.safeguards
filter pay for all of them (about 30 ms per task and host, issue 15). With these stand-ins a
filter file costs only its own few lines until one of its filters runs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib

PACKAGE = 'ansible_collections.ephi.safeguards.plugins.'


def lazy(module, name, package='module_utils'):
    """A function that imports plugins/PACKAGE/MODULE when it is first called and calls its NAME."""
    path = PACKAGE + package + '.' + module

    def call(*args, **kwargs):
        return getattr(importlib.import_module(path), name)(*args, **kwargs)

    call.__name__ = name
    call.__doc__ = 'plugins/%s/%s.py: %s (imported on the first call)' % (package, module, name)
    return call


def lazy_value(module, name, package='module_utils'):
    """The value of NAME in plugins/PACKAGE/MODULE, importing it now (for a filter's body, not its file's top)."""
    return getattr(importlib.import_module(PACKAGE + package + '.' + module), name)
