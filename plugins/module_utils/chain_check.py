# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The I/O of ephi.safeguards.audit_chain_verify: walking a store, reading the chain heads and
the recordings, the cache file, and its options, so that another read-only module can run the
same check in its own run (its option ``chain``, see ``attach`` and module_utils/riders.py)
instead of a module run of its own. The judgments are in module_utils/audit_chain.py and
module_utils/chain_cache.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import time

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.ephi.safeguards.plugins.module_utils import chain_cache, riders
from ansible_collections.ephi.safeguards.plugins.module_utils.audit_chain import (
    deleted_result, file_heads, group_heads, journal_heads, pruned_result, summarize, unchanged_result,
    verify_recording)
from ansible_collections.ephi.safeguards.plugins.module_utils.recording_files import open_regular, pieces

# audit_chain_verify's options; another module takes them as its option ``chain`` (a dict).
CHAIN_SPEC = dict(
    path=dict(type='path', required=True),
    heads_source=dict(type='str', choices=['journal', 'files', 'text'], default='journal'),
    heads_files=dict(type='list', elements='path', default=[]),
    heads_text=dict(type='str', default=''),
    heads_label=dict(type='str', default='the given heads'),
    recent_seconds=dict(type='int', default=0),
    recorder_unit=dict(type='str', default='ephi-session-recorder.service'),
    list_all=dict(type='bool', default=False),
    cache=dict(type='bool', default=False),
    cache_rehash_runs=dict(type='int', default=30),
)


class ChainCheckError(Exception):
    """The check could not run: an invalid option, a store or heads it cannot read, a recording it cannot read."""


def cast_files(root):
    """[(path, name)] of the *.cast regular files at <root>/<a>/ and <root>/<a>/<b>/ (no links followed)."""
    found = []
    level = [root]
    for depth in (1, 2, 3):
        deeper = []
        for directory in level:
            with os.scandir(directory) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        if depth < 3:
                            deeper.append(entry.path)
                    elif depth > 1 and entry.name.endswith('.cast') and entry.is_file(follow_symlinks=False):
                        found.append((entry.path, entry.name))
        level = deeper
    return sorted(found)


def read_heads(module, params, pruned):
    """(heads, ignored, source label, oldest time the source holds); PRUNED gets the prune events."""
    if params['heads_source'] == 'text':
        return file_heads(params['heads_text'].splitlines(), pruned), 0, params['heads_label'], None
    if params['heads_source'] == 'files':
        if not params['heads_files']:
            raise ChainCheckError('heads_source=files needs heads_files')
        heads = []
        for path in params['heads_files']:
            try:
                with open(path, 'rb') as fh:
                    heads.extend(file_heads(fh, pruned))
            except (IOError, OSError) as exc:
                raise ChainCheckError('cannot read the heads file %s: %s' % (path, to_native(exc)))
        return heads, 0, ', '.join(params['heads_files']), None
    journalctl = module.get_bin_path('journalctl')
    if not journalctl:
        raise ChainCheckError('journalctl was not found: the heads cannot be read from the journal')
    # --merge: every journal file in the journal directories, also those of an
    # earlier machine id (a container's restart gave it a new one in the lab).
    argv = [journalctl, '--no-pager', '-q', '--merge', '-o', 'json', '--output-fields=MESSAGE,_UID,_SYSTEMD_UNIT',
            'SYSLOG_IDENTIFIER=ephi-session']
    rc, out, err = module.run_command(argv)
    if rc != 0:
        raise ChainCheckError('the journal could not be read (journalctl rc=%d): %s' % (rc, err.strip()[:300]))
    reach = []
    heads, ignored = journal_heads(out.splitlines(), params['recorder_unit'], reach, pruned)
    prefix = params['path'].rstrip('/') + '/'
    heads = [h for h in heads if h['file'].startswith(prefix)]
    return heads, ignored, 'journal', reach[0] if reach else None


class RecordingError(Exception):
    """A recording could not be read: (path, reason)."""


def verify_files(root, files, grouped, entries, reread, cache, times, now):
    """(results, cache entries to keep) of the recordings FILES ([(path, name)] under ROOT) against their
    heads GROUPED (by name). ENTRIES: the cache's entries (None: no cache, the files are not even
    stat'ed); REREAD: those read again although unchanged; CACHE: the counters used and reread are
    added to; TIMES: (heads_since, recent_after, recent_before) for verify_recording."""
    kept, results = {}, []
    # cast_files' paths are os.path.join(root, ...): the part after root is the path in the store.
    skip = len(root) if root.endswith('/') else len(root) + 1
    for path, name in files:
        own = grouped.get(name, [])
        rel = path[skip:]
        try:
            # The stat is taken before the file is read: a write during the read changes it for the next check.
            st = os.lstat(path) if entries is not None else None
            entry = entries.get(rel) if entries is not None else None
            if entry is not None and rel not in reread and chain_cache.reusable(entry, st, own):
                result = unchanged_result(name, own, entry['at'])
                kept[rel] = entry
                cache['used'] += 1
            else:
                result = verify_recording(name, pieces(path), own, *times)
                cache['reread'] += entry is not None and rel in reread
                if st is not None and result['status'] == 'ok' and result['final']:
                    kept[rel] = chain_cache.entry_for(st, own, now)
        except (IOError, OSError) as exc:
            raise RecordingError(path, to_native(exc))
        result['path'] = path
        results.append(result)
    return results, kept


def load_cache(path):
    """(entries, why it was ignored or None) of the cache file PATH (see the option cache)."""
    try:
        fd = open_regular(path)
    except OSError as exc:
        if not os.path.lexists(path):
            return {}, None
        return {}, 'not a regular file: %s' % to_native(exc)
    with os.fdopen(fd, 'rb') as fh:
        st = os.fstat(fh.fileno())
        if st.st_uid != os.geteuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return {}, 'owned by uid %d with mode %04o (must be uid %d, not writable by others)' % (
                st.st_uid, stat.S_IMODE(st.st_mode), os.geteuid())
        try:
            return chain_cache.parse(fh.read().decode('utf-8')), None
        except UnicodeDecodeError:
            return {}, 'not a cache file'


def write_cache(path, entries):
    """Write ENTRIES to the cache file PATH atomically, mode 0600 (a temporary file beside it, renamed)."""
    tmp = '%s.%d.tmp' % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, 'wb') as fh:
            fh.write(chain_cache.dump(entries).encode('utf-8'))
            fh.flush()
            os.fsync(fh.fileno())
        os.rename(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def check(module, params):
    """audit_chain_verify's result (without ``changed``) for PARAMS (see CHAIN_SPEC), or ChainCheckError.
    MODULE runs journalctl; the cache is written only outside MODULE's check mode."""
    root = params['path']
    if params['cache'] and params['heads_source'] != 'journal':
        raise ChainCheckError('cache works only with heads_source=journal: heads held elsewhere are there to catch '
                              'root on this host, who could rewrite a recording and the cache together')
    if params['cache_rehash_runs'] < 1:
        raise ChainCheckError('cache_rehash_runs must be at least 1, not %d' % params['cache_rehash_runs'])
    if not os.path.isdir(root) or os.path.islink(root):
        raise ChainCheckError('the store %s is not a directory' % root)
    try:
        files = cast_files(root)
    except OSError as exc:
        raise ChainCheckError('cannot read the store %s: %s' % (root, to_native(exc)))
    pruned = {}
    heads, ignored, source, since = read_heads(module, params, pruned)
    now = time.time()
    recent_after = now - params['recent_seconds'] if params['recent_seconds'] > 0 else None
    # A header dated in the future (beyond a minute of clock skew) is never recent.
    recent_before = now + 60
    grouped = group_heads(heads)
    cache_path = os.path.join(root, chain_cache.CACHE_NAME)
    cache = {'path': cache_path, 'entries': 0, 'used': 0, 'reread': 0, 'written': False, 'ignored': None,
             'error': None}
    entries = {}
    if params['cache']:
        entries, cache['ignored'] = load_cache(cache_path)
        cache['entries'] = len(entries)
    try:
        results, kept = verify_files(root, files, grouped, entries if params['cache'] else None,
                                     chain_cache.due(entries, params['cache_rehash_runs']), cache,
                                     (since, recent_after, recent_before), now)
    except RecordingError as exc:
        raise ChainCheckError('cannot read the recording %s: %s' % exc.args)
    seen = set(name for _path, name in files)
    if params['cache'] and not module.check_mode and (kept != entries or cache['ignored']):
        try:
            write_cache(cache_path, kept)
            cache['written'] = True
        except (IOError, OSError) as exc:
            # The verdicts stand (every file not taken from the cache was read); the next check reads more.
            cache['error'] = 'cannot write the cache: %s' % to_native(exc)
    for name in sorted(set(grouped) - seen):
        if name in pruned:
            result = pruned_result(name, grouped[name], pruned[name])
        else:
            result = deleted_result(name, grouped[name])
        result['path'] = grouped[name][-1]['file']
        results.append(result)
    listed = [r for r in results if params['list_all'] or r['status'] != 'ok']
    summary = summarize(results)
    summary['cached'] = cache['used']
    return dict(summary=summary, files=listed, heads=len(heads), ignored=ignored, source=source,
                heads_since=since, cache=cache)


def attach(module, option='chain'):
    """Run the chain check that MODULE's option OPTION asks for (audit_chain_verify's options as a dict)
    and return its result with every later exit_json and fail_json of MODULE as ``chain``, the way a
    registered audit_chain_verify result looks (module_utils/riders.py): its result with ``changed``
    false, or ``failed`` true and ``msg`` when it could not run. Nothing when the option is not set."""
    return riders.attach(module, option, CHAIN_SPEC, check, (ChainCheckError,), 'audit_chain_verify')
