# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The option of the read-only modules that answer ephi.safeguards.host_probe's questions in their own run."""

    DOCUMENTATION = r'''
options:
  probe:
    description:
      - The options of M(ephi.safeguards.host_probe), as a dictionary. Its questions are answered in this
        module's run, before its own work, and returned as RV(probe), one module run instead of two (each
        module run costs the host a Python start and the compilation of the modules' libraries).
      - Invalid options, or a probe that cannot answer, make RV(probe) a failed result (C(failed) and
        C(msg)); this module's own work is done either way.
    type: dict
'''
