#!/usr/bin/env bash
# Time to verify the hash chains of N session recordings (default 10 000):
# synthetic asciicast v2 recordings written by this script with the recorder's
# chain (module_utils/audit_chain.py, the same algorithm as the recorder's
# Chain class) in <tmp>/store/<user>/, their chain events as journalctl -o json
# lines, then timed: reading the heads from that JSON (journal_heads) and the
# module's walk + streaming verify of every file (cast_files, pieces,
# verify_recording), as ephi.safeguards.audit_chain_verify runs them; then a
# verify with the module's cache (verify_files, tmux_verify_chain_cache) after
# one that wrote it, the page cache dropped again in between.
# Sizes: 70 % command sessions of ~3 KiB, 25 % pty sessions of ~40 KiB, 5 % of
# ~400 KiB (lines of ~100 bytes; a chain event every 64 lines, seq 0 after the
# header, a final one after the last line). Prints the figures and the load.
# Not part of CI; runs on the controller:  bash benchmarks/audit_chain.sh [N]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
ephi_venv >/dev/null
ephi_collection_path >/dev/null
n=${1:-10000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
PYTHONPATH=$EPHI_ROOT/.cache/collections python - "$tmp" "$n" <<'PY'
import json, os, random, sys, time
from ansible_collections.ephi.safeguards.plugins.module_utils import audit_chain as ac
from ansible_collections.ephi.safeguards.plugins.module_utils import chain_cache as cc
from ansible_collections.ephi.safeguards.plugins.modules import audit_chain_verify as mod

tmp, count = sys.argv[1], int(sys.argv[2])
store = os.path.join(tmp, 'store')
rng = random.Random(14)
t0 = time.monotonic()
journal, total_bytes, total_heads = [], 0, 0
for i in range(count):
    user = 'user%02d' % (i % 50)
    os.makedirs(os.path.join(store, user), exist_ok=True)
    roll = rng.random()
    size = 3 * 1024 if roll < 0.70 else 40 * 1024 if roll < 0.95 else 400 * 1024
    sid = '%016x' % i
    name = 'lab-1-%s-20261205T180000.%06dZ-%s.cast' % ('command' if roll < 0.70 else 'pty', i % 1000000, sid)
    header = ('{"version":2,"width":80,"height":24,"timestamp":1764957600,"env":{"TERM":"xterm"},"ephi":'
              '{"id":"%s","kind":"pty","user":"%s","uid":1001,"host":"lab-1","source":"192.0.2.1",'
              '"command":null,"chain":"ephi-chain-v1"}}\n' % (sid, user)).encode()
    path = os.path.join(store, user, name)
    head, nbytes, lines, seq = ac.chain_start(name, header), len(header), 1, 0
    parts = [header]

    def event(final):
        return json.dumps({'MESSAGE': 'event=chain id=%s user=%s uid=1001 file=/var/log/ephi/%s/%s seq=%d n=%d '
                                      'bytes=%d head=%s final=%d' % (sid, user, user, name, seq, lines, nbytes,
                                                                     head.hex(), final),
                           '_UID': '0', '_SYSTEMD_UNIT': 'ephi-session-recorder.service'})
    journal.append(event(0))
    seq += 1
    while nbytes < size:
        line = ('[%.6f, "o", "%s\\r\\n"]\n' % (lines * 0.01, 'x' * rng.randint(40, 120))).encode()
        head = ac.chain_step(head, line)
        parts.append(line)
        nbytes += len(line)
        lines += 1
        if lines % 64 == 0:
            journal.append(event(0))
            seq += 1
    journal.append(event(1))
    total_heads += seq + 1
    with open(path, 'wb') as fh:
        fh.write(b''.join(parts))
    total_bytes += nbytes
generated = time.monotonic() - t0
try:
    with open('/proc/sys/vm/drop_caches', 'w') as fh:
        fh.write('3\n')
    caches = 'page cache dropped before the run'
except OSError:
    caches = 'page cache NOT dropped (not permitted): files read warm'
load = open('/proc/loadavg').read().split()[0]
t1 = time.monotonic()
cpu1 = time.process_time()
heads, ignored = ac.journal_heads(journal)
grouped = ac.group_heads([dict(h, file=h['file'].replace('/var/log/ephi', store)) for h in heads])
t2 = time.monotonic()
results = []
for path, name in mod.cast_files(store):
    results.append(ac.verify_recording(name, mod.pieces(path), grouped.get(name, [])))
t3 = time.monotonic()
cpu = time.process_time() - cpu1
summary = ac.summarize(results)
assert summary['ok'] == count and summary['bad'] == 0, summary


def with_cache(entries, runs=30):
    """The module's walk and verify with its cache (tmux_verify_chain_cache): (seconds, CPU, entries, counters)."""
    counters = {'used': 0, 'reread': 0}
    t, c = time.monotonic(), time.process_time()
    found = mod.cast_files(store)
    res, kept = mod.verify_files(store, found, grouped, entries, cc.due(entries, runs), counters, (None, None, None),
                                 time.time())
    text = cc.dump(kept)  # what the module writes
    assert ac.summarize(res)['ok'] == count and len(kept) == count
    return time.monotonic() - t, time.process_time() - c, cc.parse(text), counters, len(text)


_s, _c, entries, _n, _size = with_cache({})  # the first verify with the cache: reads all, writes the cache
try:
    with open('/proc/sys/vm/drop_caches', 'w') as fh:
        fh.write('3\n')
except OSError:
    pass
warm = with_cache(entries)
print('audit_chain benchmark: %d recordings, %.1f MiB, %d chain heads (generated in %.1f s)'
      % (count, total_bytes / 1048576.0, total_heads, generated))
print('  heads from %d journal JSON lines: %.2f s' % (len(journal), t2 - t1))
print('  walk + verify of every file: %.2f s (%.0f files/s, %.0f MiB/s)' % (
    t3 - t2, count / (t3 - t2), total_bytes / 1048576.0 / (t3 - t2)))
print('  total %.2f s wall, %.2f s CPU; load average before: %s; %s; all %d ok' % (
    t3 - t1, cpu, load, caches, summary['ok']))
print('  with the cache, a later verify: walk + stat + verify %.2f s wall, %.2f s CPU (%d from the cache, %d read '
      'again by the 1/30 rotation; the cache file %.1f MiB)' % (warm[0], warm[1], warm[3]['used'], warm[3]['reread'],
                                                              warm[4] / 1048576.0))
PY
