# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters of the verify playbook: the evidence of every host, and the report as HTML and as
JUnit XML. They are plugins/plugin_utils/evidence_report.py, imported when one of them runs:
ansible-core loads every filter file of the collection for any ephi.safeguards filter a task
uses (plugins/plugin_utils/lazy.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ephi.safeguards.plugins.plugin_utils.lazy import lazy

FILTERS = ('evidence_by_host', 'evidence_html', 'evidence_junit')


class FilterModule(object):
    def filters(self):
        return dict((name, lazy('evidence_report', name, package='plugin_utils')) for name in FILTERS)
