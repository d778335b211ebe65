#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: audit_chain_verify
short_description: Verify the hash chains of session recordings against their chain heads
version_added: 1.1.0
author: ephi.safeguards maintainers (@ephi-safeguards)
description:
  - The tmux role's root session recorder keeps a SHA-256 chain over every line of each recording
    (asciicast v2) and logs its heads as content-free C(event=chain) events (syslog identifier
    C(ephi-session)). This module compares the recordings in a store with those heads and names
    every recording that was modified, truncated or deleted, whose chain has a gap (a missing
    event), or that has no head at all.
  - Walks O(path) for C(*.cast) files in C(<path>/<user>/) (a host's store) and in
    C(<path>/<host>/<user>/) (the log host's layout); symbolic links are not followed. Files are
    read as a stream, never whole.
  - Takes the heads from the local journal (one C(journalctl --merge -o json) call, all journal files,
    also those of an earlier machine id; only events that
    journald says root wrote (from O(recorder_unit)), so a user's C(logger -t ephi-session) is
    ignored and counted in RV(ignored); C(_UID) comes from the kernel, and C(_SYSTEMD_UNIT), when journald
    could still read it, must be O(recorder_unit)), from O(heads_files) on this host, or from O(heads_text)
    (lines whose message is the chain event, as the log host stores them in C(<store>/<host>/events.log);
    such lines are trusted, except those marked C(from-uid=), which the forwarder gives the events of
    users other than root).
  - A recording with heads and no file is V(deleted), unless a C(event=pruned) event from the same
    source (root's, in the journal) names its final head, lines and bytes - the log_forward role's
    module M(ephi.safeguards.recording_buffer) deleted it after the log host showed an identical copy - then
    it is V(pruned), which passes.
  - Read-only, also in check mode, except for its cache (O(cache)); C(changed) is always V(false). It fails
    when the store or the heads cannot be read. The logic is in the collection's C(module_utils/chain_check.py),
    C(module_utils/audit_chain.py) and C(module_utils/chain_cache.py).
  - M(ephi.safeguards.session_gate_audit) runs the same check in its own run (its option C(chain)).
options:
  path:
    description:
      - The store directory (the recorder's C(dir), e.g. the encrypted directory's mount point).
    type: path
    required: true
  heads_source:
    description:
      - Where the chain heads come from - V(journal) (the local journal), V(files) (O(heads_files)) or
        V(text) (O(heads_text), e.g. read from the log host by a delegated task).
    type: str
    choices: [journal, files, text]
    default: journal
  heads_files:
    description:
      - With O(heads_source=files), the files holding the chain events, one event per line; each
        line's text from C(event=chain) on is read, what comes before (syslog date, host, tag) is
        ignored.
    type: list
    elements: path
    default: []
  heads_text:
    description:
      - With O(heads_source=text), the chain events, one a line (as in O(heads_files)). Content-free.
    type: str
    default: ''
  heads_label:
    description:
      - With O(heads_source=text), where the text came from, returned as RV(source).
    type: str
    default: the given heads
  recent_seconds:
    description:
      - A recording without any head that started at most this many seconds ago is V(recent) (counted, not a
        failure) instead of V(unverified) - with heads read elsewhere (the log host) a moment before, a session that
        has just begun (this module's own, through a session gate) has none there yet. A start more than a minute in
        the future is not recent. V(0) - off.
    type: int
    default: 0
  recorder_unit:
    description:
      - With O(heads_source=journal), the systemd unit whose root processes wrote the heads. An event
        counts when journald's C(_UID) is 0 and its C(_SYSTEMD_UNIT) is this unit or absent (journald
        cannot read the unit of a process that has already exited, as a relay has right after its
        final event; C(_UID) comes with the message itself). With O(heads_source=journal) heads whose
        C(file) is not under O(path) are ignored.
    type: str
    default: ephi-session-recorder.service
  list_all:
    description:
      - Return every recording in RV(files), not only those that are not V(ok).
    type: bool
    default: false
  cache:
    description:
      - Keep a cache of the closed recordings found intact in C(<path>/.ephi-chain-verified.json) (root's, mode
        C(0600), inside the store, so inside the encrypted directory), and take an entry's verdict (V(ok)) without
        reading the file again when the file's inode, size, modification and change time, and its chain heads
        from the journal, are all as they were when it was read in full. A file that was written since (even with
        its modification time set back, as the change time moves) or whose heads changed is read again.
      - Every check also reads again the cached recordings read longest ago, a 1/O(cache_rehash_runs) share of
        them, so each is read in full at least once in that many checks (a block that rots on the disk keeps its
        times).
      - Only with O(heads_source=journal), the local check, whose adversaries are users and accidents (a user can
        write neither the store nor the cache). A check against heads held elsewhere (the log host) is there to catch
        root on this host, who could rewrite a recording and the cache together, so it takes no cache.
      - A cache file that is a link, not a regular file, not owned by the module's user or writable by others is
        ignored (and replaced). Written (atomically) only outside check mode; read in check mode too.
    type: bool
    default: false
  cache_rehash_runs:
    description:
      - With O(cache), each cached recording is read in full again at least once in this many checks.
    type: int
    default: 30
notes:
  - A head localises a change only to the lines one chain event covers (a chunk of at most a few
    seconds of output); the C(line) of an entry in RV(files) is the first line of the first bad chunk.
'''

EXAMPLES = r'''
- name: Verify the recordings of this host against the heads in its journal
  ephi.safeguards.audit_chain_verify:
    path: /var/log/ephi
  register: chain

- name: On the log host, against the events it received
  ephi.safeguards.audit_chain_verify:
    path: /srv/ephi-logs/sessions
    heads_source: files
    heads_files: [/srv/ephi-logs/events/lab-1.log, /srv/ephi-logs/events/lab-2.log]
- name: On a host, against its heads held on the log host (read there by a delegated task)
  ephi.safeguards.audit_chain_verify:
    path: /var/log/ephi
    heads_source: text
    heads_text: "{{ heads_on_the_log_host.stdout }}"
    heads_label: loghost1
'''

RETURN = r'''
summary:
  description: Counts per status (ok, open, legacy, expired, recent, pruned, modified, truncated, deleted, gap,
    unverified, conflict), C(examined) (files and deleted recordings), C(bad) (those that fail) and C(cached)
    (the V(ok) ones taken from the cache, not read).
  returned: always
  type: dict
cache:
  description:
    - With O(cache), C(path), C(entries) (found in the cache file), C(used) (recordings not read), C(reread)
      (cached recordings read again by the rotation), C(written) (bool), C(ignored) (why the cache file
      was not used, or null) and C(error) (why it could not be written, or null; the verdicts stand).
  returned: always
  type: dict
files:
  description:
    - The recordings that are not V(ok) (all with O(list_all)), in path order. C(status) is
      V(ok), V(open) (no final head yet; the lines after the last head are not chained yet),
      V(legacy) (no head, and the header predates the chain), V(recent) (no head, started within O(recent_seconds)),
      V(expired) (no head, journal only - the
      recording started before the oldest C(ephi-session) event the journal still holds, so its heads
      are gone with the journal's rotation or a volatile journal's reboot), V(modified), V(truncated),
      V(deleted) (heads and no file; C(path) is the recorder's path), V(pruned) (heads and no file, and a
      prune event naming the final head), V(gap) (a chain event
      missing), V(unverified) (no head at all) or V(conflict) (contradicting heads).
    - C(line) and C(chunk) (first and last line, the header is line 1) name the first bad chunk;
      C(seq) its head; C(detail) says it in words.
  returned: always
  type: list
  elements: dict
heads:
  description: The number of trusted chain heads read.
  returned: always
  type: int
ignored:
  description: Chain events in the journal not written by root from O(recorder_unit) (forged or foreign).
  returned: always
  type: int
source:
  description: Where the heads came from (C(journal), the files, or O(heads_label)).
  returned: always
  type: str
heads_since:
  description: With the journal, the time (Unix seconds) of the oldest C(ephi-session) event it holds; null otherwise.
  returned: always
  type: float
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.ephi.safeguards.plugins.module_utils.chain_check import CHAIN_SPEC, ChainCheckError, check


def main():
    module = AnsibleModule(argument_spec=CHAIN_SPEC, supports_check_mode=True)
    try:
        result = check(module, module.params)
    except ChainCheckError as exc:
        module.fail_json(msg=to_native(exc))
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
