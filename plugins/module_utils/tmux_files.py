# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The tmux role's file sets: which features' files one ephi.safeguards.file_set
task applies in this run (filter ephi.safeguards.tmux_file_items).

The role installs the files of several features (each with its own tag) in one
file_set task, which carries all their tags. A run limited by --tags or
--skip-tags must still change only the files of the features it selects, as
one task per feature did: otherwise their restart decisions, which run under
the feature's tag only, would miss the change (and see none in the next full
run). So every group of items names its tags, and a group is applied only
when Ansible would select a task with those tags (the rules of
ansible.playbook.taggable.Taggable.evaluate_tags). Pure functions, no I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    from collections.abc import Mapping
except ImportError:  # pragma: no cover - Python 2 is not supported by this collection
    Mapping = dict  # pylint: disable=invalid-name

from ansible.module_utils.parsing.convert_bool import boolean


def tags_selected(tags, run_tags=None, skip_tags=None):
    """Whether Ansible runs a task tagged TAGS with --tags RUN_TAGS and --skip-tags SKIP_TAGS.

    RUN_TAGS and SKIP_TAGS are ansible_run_tags and ansible_skip_tags (['all']
    and [] without options). The rules are Taggable.evaluate_tags's, for a
    task that has tags (a group always has).
    """
    tags = set(tags)
    only = set(run_tags or [])
    skip = set(skip_tags or [])
    selected = True
    if only:
        selected = ('always' in tags
                    or ('all' in only and 'never' not in tags)
                    or not tags.isdisjoint(only)
                    or ('tagged' in only and 'never' not in tags))
    if selected and skip:
        if 'all' in skip:
            selected = 'always' in tags and 'always' not in skip
        elif not tags.isdisjoint(skip) or 'tagged' in skip:
            selected = False
    return selected


def _problem(index, what):
    return ValueError('group %d %s' % (index, what))


def file_items(groups, run_tags=None, skip_tags=None):
    """The file_set items of GROUPS that this run applies, in order.

    A group is a mapping with ``tags`` (a non-empty list of the tags of its
    feature, as the role's import gives them), ``when`` (whether its feature
    is on; true when left out) and ``files`` (file_set items). A group is
    applied when ``when`` is true and ``tags_selected(tags, ...)``. An item
    equal to one already taken (the program directory that several features
    share) is taken once; any other repeated path is left for file_set to
    refuse.
    """
    if not isinstance(groups, list):
        raise ValueError('expects a list of groups, got %s' % type(groups).__name__)
    items = []
    for index, group in enumerate(groups):
        if not isinstance(group, Mapping):
            raise _problem(index, 'must be a mapping, got %s' % type(group).__name__)
        unknown = sorted(str(key) for key in group if key not in ('tags', 'when', 'files'))
        if unknown:
            raise _problem(index, 'has unknown keys %s (a group takes tags, when and files)' % ', '.join(unknown))
        tags = group.get('tags')
        if not isinstance(tags, list) or not tags or not all(isinstance(tag, str) and tag for tag in tags):
            raise _problem(index, 'needs tags, a non-empty list of tag names')
        files = group.get('files')
        if not isinstance(files, list) or not all(isinstance(item, Mapping) for item in files):
            raise _problem(index, 'needs files, a list of file_set items')
        try:
            wanted = boolean(group.get('when', True), strict=True)
        except TypeError:
            raise _problem(index, 'when must be a boolean, got %r' % (group.get('when'),))
        if not wanted or not tags_selected(tags, run_tags, skip_tags):
            continue
        for item in files:
            item = dict(item)
            if item not in items:
                items.append(item)
    return items
