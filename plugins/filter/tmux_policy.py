# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters of the tmux role's evidence (decisions in Python, not in the template)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath

from ansible.errors import AnsibleFilterError

# UIDs of people: 0 and the Debian UID_MIN range; 65534 is nobody.
UID_MIN = 1000
NOBODY = 65534


def tmux_autostart_uncovered(passwd, exempt_users=None, covered_shells=None, no_login_shells=None):
    """Accounts whose login shell never runs the profile.d autostart.

    ``passwd`` is ``getent passwd`` as the getent module returns it (name ->
    [password, uid, gid, gecos, home, shell]). Returns sorted ``"name (shell)"``
    strings for root and every UID >= 1000 (not nobody, not exempt) whose shell
    is neither one that reads /etc/profile nor one that cannot log in.
    """
    if not isinstance(passwd, dict):
        raise AnsibleFilterError('tmux_autostart_uncovered expects the getent passwd mapping, got %s'
                                 % type(passwd).__name__)
    exempt = set(exempt_users or [])
    covered = set(covered_shells or [])
    no_login = set(no_login_shells or [])
    found = []
    for name, entry in passwd.items():
        try:
            uid = int(entry[1])
            shell = entry[5] or ''
        except (TypeError, ValueError, IndexError):
            raise AnsibleFilterError('tmux_autostart_uncovered: malformed passwd entry for %r' % (name,))
        if name in exempt or uid == NOBODY or not (uid == 0 or uid >= UID_MIN):
            continue
        # An empty shell field means /bin/sh (passwd(5)), which reads /etc/profile.
        base = posixpath.basename(shell) or 'sh'
        if base in covered or base in no_login:
            continue
        found.append('%s (%s)' % (name, shell))
    return sorted(found)


class FilterModule(object):
    def filters(self):
        return {'tmux_autostart_uncovered': tmux_autostart_uncovered}
