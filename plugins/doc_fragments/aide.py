# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The options every module that runs AIDE takes (aide_check, aide_baseline)."""

    DOCUMENTATION = r'''
options:
  config:
    description:
      - AIDE configuration file, passed as C(--config).
    type: path
    default: /etc/aide/aide.conf
  aide_bin:
    description:
      - Path of the aide binary. Defaults to C(aide) found in E(PATH) or C(/usr/sbin), C(/usr/bin).
    type: path
'''
