#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: aide_check
short_description: Run a read-only AIDE integrity check and return the differences as data
version_added: 1.0.0
author: ephi.safeguards maintainers (@ephi-safeguards)
description:
  - Runs C(aide --check) against the AIDE database named in the configuration file and returns the
    added, removed and changed paths, with the attributes that changed, as structured data.
  - Decodes AIDE's exit status, a bit mask (1 added, 2 removed, 4 changed entries), and fails on
    AIDE's error codes (14 and above, for example 17 configuration error or 18 IO error when the
    database is missing).
  - Never changes anything, so it also runs in check mode; C(changed) is always V(false).
    Differences are reported in RV(differences), not as a failure, so the caller decides.
  - Asks AIDE for its JSON report (C(report_format=json), AIDE 0.18 and later) and falls back to
    the plain report for older versions. Both are parsed by the same code and give the same result.
options:
  limit:
    description:
      - Only check entries whose path matches this regular expression (AIDE's C(--limit); the
        expression is anchored at the start of the path).
    type: str
  report_format:
    description:
      - Report format to ask AIDE for. V(auto) tries V(json) and falls back to V(plain) when the
        installed AIDE does not know C(report_format).
    type: str
    choices: [auto, json, plain]
    default: auto
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ephi.safeguards.aide
  - ephi.safeguards.probe
attributes:
  check_mode:
    support: full
    details:
      - The check is read-only and is run in check mode too.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Requires AIDE on the managed host and read access to every watched file and the database
    (run as root, C(become=true)). Tested with AIDE 0.18.3 (Debian 12) and 0.19.1 (Debian 13).
  - A check hashes every watched file; on a large configuration it takes minutes. Use the
    C(timeout) task keyword to bound it.
  - The report is forced to C(report_level=changed_attributes) so the changed attributes are
    listed whatever the configuration says.
seealso:
  - name: aide(1) manual page
    description: Commands, options and exit status of AIDE.
    link: https://manpages.debian.org/aide.1
  - name: aide.conf(5) manual page
    description: Rules, attributes and report options.
    link: https://manpages.debian.org/aide.conf.5
  - module: ansible.builtin.command
'''

EXAMPLES = r'''
- name: Check the file system against the AIDE baseline
  ephi.safeguards.aide_check:
  become: true
  register: aide
  timeout: 1800

- name: Fail when a watched file changed
  ansible.builtin.assert:
    that: not aide.differences
    fail_msg: >-
      AIDE found {{ aide.added | length }} added, {{ aide.removed | length }} removed and
      {{ aide.changed_paths | length }} changed entries: {{ aide.changed_paths | join(', ') }}

- name: Check only the SSH configuration, also in check mode (the module is read-only)
  ephi.safeguards.aide_check:
    config: /etc/aide/aide.conf
    limit: /etc/ssh
  become: true
  check_mode: true
  register: aide_ssh
'''

RETURN = r'''
probe:
  description:
    - With O(probe), what M(ephi.safeguards.host_probe) would have returned for those options (its answers and
      C(changed)), or C(failed) and C(msg) when it could not answer. Also returned when the check fails.
  returned: when O(probe) is set
  type: dict
  sample: {"changed": false, "paths": {"/var/lib/aide/aide.db": {"exists": true, "type": "file", "checksum": "9b71d2"}}}
differences:
  description: Whether AIDE reported any added, removed or changed entry.
  returned: always
  type: bool
  sample: true
exit_status:
  description:
    - AIDE's exit status, decoded. C(added), C(removed) and C(changed) are the bits of the mask;
      C(error) names an error status (14 and above), otherwise it is null.
  returned: always
  type: dict
  sample: {"rc": 5, "added": true, "removed": false, "changed": true, "error": null,
           "differences": true}
added:
  description: Paths of added entries, sorted.
  returned: success
  type: list
  elements: str
  sample: ["/usr/local/bin/newtool"]
removed:
  description: Paths of removed entries, sorted.
  returned: success
  type: list
  elements: str
  sample: ["/etc/ssh/ssh_host_ecdsa_key.pub"]
changed_entries:
  description:
    - Changed entries, sorted by path. C(type) is AIDE's file type letter (V(f) file, V(d)
      directory, V(l) link, ...), C(summary) AIDE's change summary string (null when the
      configuration turns summaries off) and C(attributes) the names of the changed attributes,
      as in AIDE's JSON report (for example C(size), C(modify_time), C(sha512), C(perm)).
  returned: success
  type: list
  elements: dict
  sample: [{"path": "/etc/ssh/sshd_config", "type": "f", "summary": "f >.... mc..H..",
            "attributes": ["size", "modify_time", "change_time", "sha512"]}]
changed_paths:
  description: Paths of the changed entries (the C(path) of each RV(changed_entries) item).
  returned: success
  type: list
  elements: str
  sample: ["/etc/ssh/sshd_config"]
summary:
  description: Entry counts from AIDE's report.
  returned: success
  type: dict
  sample: {"total": 1523, "added": 1, "removed": 0, "changed": 1}
databases:
  description:
    - Hash sums AIDE reports for the uncompressed database content, database path to algorithm to
      base64 value. These hash the uncompressed content, not the (gzip) file on disk.
  returned: success
  type: dict
  sample: {"/var/lib/aide/aide.db": {"sha256": "WeHusi+q+JFq3gbIf3tE0hoqrPrHbNOC/9PUm2TBiMU="}}
aide_version:
  description: AIDE version that wrote the report.
  returned: success
  type: str
  sample: 0.18.3
outline:
  description: AIDE's one-line verdict.
  returned: success
  type: str
  sample: AIDE found differences between database and filesystem!!
report_format:
  description: Format of the report that was parsed (V(json) or V(plain)).
  returned: success
  type: str
  sample: json
report_warnings:
  description: Warnings AIDE printed with the report (for example entries whose attributes differ
    between database and configuration after a configuration change).
  returned: success
  type: list
  elements: str
  sample: ["Entry /etc/x in databases has different attributes: -s-c-m-i-b-n-sha256-sha512"]
cmd:
  description: The command that was run.
  returned: always
  type: list
  elements: str
  sample: ["/usr/bin/aide", "--config", "/etc/aide/aide.conf", "--check", "-A",
           "report_level=changed_attributes", "-A", "report_format=json"]
rc:
  description: AIDE's exit status.
  returned: always
  type: int
  sample: 5
stderr:
  description: AIDE's standard error (warnings and error messages).
  returned: always
  type: str
  sample: ""
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.ephi.safeguards.plugins.module_utils.aide_report import (
    AideReportError,
    check_result,
    decode_exit_status,
)
from ansible_collections.ephi.safeguards.plugins.module_utils.probe_run import attach as attach_probe

ENV = {'LANG': 'C', 'LC_ALL': 'C', 'LANGUAGE': 'C'}


def build_argv(aide_bin, config, limit, report_format):
    argv = [aide_bin, '--config', config, '--check', '-A', 'report_level=changed_attributes']
    if report_format == 'json':
        argv += ['-A', 'report_format=json']
    if limit:
        argv += ['--limit', limit]
    return argv


def format_unknown(rc, err):
    """AIDE < 0.18 rejects report_format as an unknown config option (rc 17)."""
    return rc == 17 and 'report_format' in err


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config=dict(type='path', default='/etc/aide/aide.conf'),
            aide_bin=dict(type='path'),
            limit=dict(type='str'),
            report_format=dict(type='str', default='auto', choices=['auto', 'json', 'plain']),
            probe=dict(type='dict'),
        ),
        supports_check_mode=True,
    )
    attach_probe(module)
    params = module.params
    aide_bin = params['aide_bin'] or module.get_bin_path('aide', required=True,
                                                         opt_dirs=['/usr/sbin', '/usr/bin'])
    wanted = 'json' if params['report_format'] in ('auto', 'json') else 'plain'
    argv = build_argv(aide_bin, params['config'], params['limit'], wanted)
    rc, out, err = module.run_command(argv, environ_update=ENV)
    if wanted == 'json' and params['report_format'] == 'auto' and format_unknown(rc, err):
        wanted = 'plain'
        argv = build_argv(aide_bin, params['config'], params['limit'], wanted)
        rc, out, err = module.run_command(argv, environ_update=ENV)

    result = dict(changed=False, cmd=argv, rc=rc, stderr=err)
    status = decode_exit_status(rc)
    if status['error']:
        message = (err or out).strip().splitlines()
        module.fail_json(msg='aide --check failed with exit status %d (%s): %s' % (
            rc, status['error'], ' '.join(line.strip() for line in message[-5:]) or 'no output'),
            exit_status=status, differences=False, **result)
    try:
        result.update(check_result(rc, out, wanted))
    except AideReportError as exc:
        module.fail_json(msg='cannot read the AIDE report: %s' % to_native(exc),
                         exit_status=status, differences=status['differences'],
                         stdout=out[-4000:], **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
