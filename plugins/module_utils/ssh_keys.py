# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure logic for the SSH key policy (``ephi.safeguards.ssh_key_policy``).

Parses OpenSSH public keys and ``authorized_keys`` lines (options such as
``expiry-time="YYYYMMDD[HHMM[SS]][Z]"`` and ``from="..."``), reads the key type
and size from the wire format (RFC 4253 section 6.6, RFC 5656, RFC 8709),
computes SHA256 fingerprints like ``ssh-keygen -l``, and takes the policy
decisions: is a key acceptable, are the declared keys valid, would the
account Ansible connects as still be able to log in, and does the effective
``sshd -T`` configuration match the policy.

No I/O and no AnsibleModule here: callers pass text and data in.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import datetime
import fnmatch
import hashlib
import re
import struct

# Public key algorithm name -> key family.
KEY_FAMILIES = {
    'ssh-ed25519': 'ed25519',
    'sk-ssh-ed25519@openssh.com': 'ed25519-sk',
    'ecdsa-sha2-nistp256': 'ecdsa',
    'ecdsa-sha2-nistp384': 'ecdsa',
    'ecdsa-sha2-nistp521': 'ecdsa',
    'sk-ecdsa-sha2-nistp256@openssh.com': 'ecdsa-sk',
    'ssh-rsa': 'rsa',
    'ssh-dss': 'dsa',
}
CERT_SUFFIX = '-cert-v01@openssh.com'
ECDSA_BITS = {'nistp256': 256, 'nistp384': 384, 'nistp521': 521}

# Key types a policy may allow; RSA keys sign with rsa-sha2-256/512 (the
# SHA-1 "ssh-rsa" signature is what OpenSSH >= 8.8 disables, not the key type).
STRONG_KEY_TYPES = (
    'ssh-ed25519',
    'sk-ssh-ed25519@openssh.com',
    'ecdsa-sha2-nistp256',
    'ecdsa-sha2-nistp384',
    'ecdsa-sha2-nistp521',
    'sk-ecdsa-sha2-nistp256@openssh.com',
    'ssh-rsa',
)

# Flag options a declared key may carry besides expiry-time and from.
FLAG_OPTIONS = ('restrict', 'no-agent-forwarding', 'no-port-forwarding', 'no-pty', 'no-user-rc',
                'no-x11-forwarding', 'port-forwarding', 'pty')

USER_RE = re.compile(r'^[a-z_][a-z0-9_.-]{0,31}$')
FROM_RE = re.compile(r'^!?[A-Za-z0-9.:*?/_%\[\]-]+$')
EXPIRY_RE = re.compile(r'^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(?:(\d{2}))?)?(Z?)$')
OPTION_NAME_RE = re.compile(r'[A-Za-z0-9-]+')


# sshd -T prints these one word per line; the policy may give them as one line.
WORD_LISTS = ('allowusers', 'allowgroups', 'denyusers', 'denygroups')


class SSHKeyError(ValueError):
    """A key or an authorized_keys line that cannot be parsed.

    ``str(exc)`` may quote the offending text (useful for keys the
    administrator declared); ``exc.reason`` never does, and is what a report
    about a file root read on a user's behalf may show.
    """

    def __init__(self, message, reason=None):
        super(SSHKeyError, self).__init__(message)
        self.reason = reason or message


# ---------------------------------------------------------------- wire format

def _read_string(blob, offset):
    if offset + 4 > len(blob):
        raise SSHKeyError('truncated key data')
    (length,) = struct.unpack('>I', blob[offset:offset + 4])
    start = offset + 4
    end = start + length
    if end > len(blob):
        raise SSHKeyError('truncated key data')
    return blob[start:end], end


def _mpint_bits(data):
    return int(binascii.hexlify(data), 16).bit_length() if data else 0


def inspect_blob(blob):
    """Return (key type, size in bits) read from a public key blob.

    The size is the modulus size for RSA, p for DSA, the curve size for
    ECDSA and 256 for Ed25519, as ``ssh-keygen -l`` reports it.
    """
    name, offset = _read_string(blob, 0)
    try:
        name = name.decode('ascii')
    except UnicodeDecodeError:
        raise SSHKeyError('key type in the key data is not ASCII')
    family = KEY_FAMILIES.get(name)
    if family is None:
        raise SSHKeyError('unsupported key type %s' % name, 'unsupported key type in the key data')
    if family == 'rsa':
        dummy, offset = _read_string(blob, offset)          # e
        n, offset = _read_string(blob, offset)
        bits = _mpint_bits(n)
    elif family == 'dsa':
        p, offset = _read_string(blob, offset)
        for dummy in range(3):                              # q, g, y
            dummy, offset = _read_string(blob, offset)
        bits = _mpint_bits(p)
    elif family in ('ecdsa', 'ecdsa-sk'):
        curve, offset = _read_string(blob, offset)
        curve = curve.decode('ascii', 'replace')
        if not name.endswith(curve) and curve not in name:
            raise SSHKeyError('curve %s does not match key type %s' % (curve, name), 'the curve does not match the key type')
        point, offset = _read_string(blob, offset)
        if not point or point[0:1] != b'\x04':
            raise SSHKeyError('invalid ECDSA public point')
        bits = ECDSA_BITS.get(curve, 0)
        if family == 'ecdsa-sk':
            dummy, offset = _read_string(blob, offset)      # application
    else:                                                   # ed25519, ed25519-sk
        pk, offset = _read_string(blob, offset)
        if len(pk) != 32:
            raise SSHKeyError('Ed25519 public key is %d bytes, not 32' % len(pk))
        bits = 256
        if family == 'ed25519-sk':
            dummy, offset = _read_string(blob, offset)
    if offset != len(blob):
        raise SSHKeyError('trailing bytes after the key data')
    return name, bits


def fingerprint(blob):
    """SHA256 fingerprint as printed by ``ssh-keygen -l``."""
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode('ascii').rstrip('=')
    return 'SHA256:' + digest


def decode_key_data(text):
    """Decode the base64 key field strictly."""
    if not re.match(r'^[A-Za-z0-9+/]+={0,2}$', text or '') or len(text) % 4:
        raise SSHKeyError('key data is not valid base64')
    try:
        return base64.b64decode(text.encode('ascii'))
    except (binascii.Error, TypeError, ValueError):
        raise SSHKeyError('key data is not valid base64')


# ---------------------------------------------------------------- authorized_keys lines

def parse_options(text):
    """Split the options prefix of an authorized_keys line.

    Returns (options, rest) where options is a list of (name, value) pairs
    (value None for flags) and rest the text after the options.
    """
    options = []
    pos = 0
    while True:
        match = OPTION_NAME_RE.match(text, pos)
        if not match:
            raise SSHKeyError('bad option syntax at %r' % text[pos:pos + 20], 'bad option syntax')
        name = match.group(0).lower()
        pos = match.end()
        value = None
        if text[pos:pos + 1] == '=':
            if text[pos + 1:pos + 2] != '"':
                raise SSHKeyError('option %s: value must be in double quotes' % name, 'an option value is not in double quotes')
            pos += 2
            chars = []
            while True:
                if pos >= len(text):
                    raise SSHKeyError('option %s: missing closing quote' % name, 'an option value has no closing quote')
                char = text[pos]
                if char == '\\' and text[pos + 1:pos + 2] == '"':
                    chars.append('"')
                    pos += 2
                    continue
                if char == '"':
                    pos += 1
                    break
                chars.append(char)
                pos += 1
            value = ''.join(chars)
        options.append((name, value))
        if text[pos:pos + 1] == ',':
            pos += 1
            continue
        if pos >= len(text) or text[pos] in ' \t':
            return options, text[pos:].lstrip(' \t')
        raise SSHKeyError('bad option syntax at %r' % text[pos:pos + 20], 'bad option syntax')


def parse_line(line):
    """Parse one authorized_keys line (or a bare public key).

    Returns None for blank lines and comments, otherwise a dict with
    ``options`` (list of (name, value)), ``type``, ``data`` (base64 text),
    ``comment``, ``blob`` (bytes), ``blob_type`` and ``bits``.
    Raises SSHKeyError for a line sshd would not accept.
    """
    text = line.strip()
    if not text or text.startswith('#'):
        return None
    options = []
    first = text.split(None, 1)[0]
    if first not in KEY_FAMILIES and not first.endswith(CERT_SUFFIX):
        options, text = parse_options(text)
    fields = text.split(None, 2)
    if len(fields) < 2:
        raise SSHKeyError('expected "<type> <base64 key> [comment]"')
    key_type, data = fields[0], fields[1]
    if key_type.endswith(CERT_SUFFIX):
        raise SSHKeyError('certificates (%s) are not supported in the key store' % key_type,
                          'certificates are not supported in the key store')
    if key_type not in KEY_FAMILIES:
        raise SSHKeyError('unknown key type %s' % key_type, 'unknown key type')
    blob = decode_key_data(data)
    blob_type, bits = inspect_blob(blob)
    if blob_type != key_type:
        raise SSHKeyError('key type %s does not match the key data (%s)' % (key_type, blob_type),
                          'the key type does not match the key data')
    return {
        'options': options,
        'type': key_type,
        'data': data,
        'comment': fields[2].strip() if len(fields) > 2 else '',
        'blob': blob,
        'bits': bits,
        'fingerprint': fingerprint(blob),
    }


def option_value(options, name):
    for key, value in options:
        if key == name:
            return value
    return None


def parse_expiry(value):
    """Parse an expiry-time value into a naive UTC datetime.

    sshd reads YYYYMMDD[HHMM[SS]] in the host's local time zone unless it
    ends with Z; this policy treats both as UTC (hosts here run UTC), which
    is off by at most the zone offset.
    """
    match = EXPIRY_RE.match(str(value).strip())
    if not match:
        raise SSHKeyError('expiry %r is not YYYYMMDD[HHMM[SS]][Z]' % (value,))
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups()[:6])
    try:
        return datetime.datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise SSHKeyError('expiry %r is not a valid date: %s' % (value, exc))


def key_problems(parsed, policy, now):
    """Policy problems of one parsed key: disallowed type, short RSA, expired."""
    problems = []
    allowed = policy.get('allowed_types', STRONG_KEY_TYPES)
    if parsed['type'] not in allowed:
        problems.append('key type %s is not allowed (allowed: %s)' % (parsed['type'], ', '.join(allowed)))
    if parsed['type'] == 'ssh-rsa' and parsed['bits'] < int(policy.get('rsa_min_bits', 3072)):
        problems.append('RSA key has %d bits, fewer than %d' % (parsed['bits'], int(policy.get('rsa_min_bits', 3072))))
    if parsed['type'] == 'ssh-dss':
        problems.append('DSA keys are broken (1024 bits, SHA-1) and removed from OpenSSH 10')
    expiry = option_value(parsed['options'], 'expiry-time')
    if expiry is not None:
        try:
            if parse_expiry(expiry) <= now:
                problems.append('expired on %s' % expiry)
        except SSHKeyError as exc:
            problems.append(str(exc))
    return problems


def describe(parsed):
    """Structured record of a parsed key, for reports."""
    return {
        'type': parsed['type'],
        'bits': parsed['bits'],
        'fingerprint': parsed['fingerprint'],
        'comment': parsed['comment'],
        'expiry_time': option_value(parsed['options'], 'expiry-time'),
        'from': option_value(parsed['options'], 'from'),
    }


def _quote_option(value):
    return '"%s"' % value.replace('"', '\\"')


def render_line(parsed, expires=None, sources=None, flags=None, comment=''):
    options = []
    if expires:
        options.append('expiry-time=%s' % _quote_option(str(expires)))
    if sources:
        options.append('from=%s' % _quote_option(','.join(sources)))
    options.extend(flags or [])
    parts = [','.join(options)] if options else []
    parts.extend([parsed['type'], parsed['data']])
    if comment:
        parts.append(comment)
    return ' '.join(parts)


# ---------------------------------------------------------------- declared keys

def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def validate_declared(users, policy, now, emergency_user=None):
    """Check every declared key before anything changes on a host.

    ``users``: list of {name, keys: [{key, owner, comment?, expires?, from?, options?}]}.
    ``policy``: {allowed_types, rsa_min_bits, allow_shared_keys}.
    Keys of ``emergency_user`` must have an expiry.

    Returns {'errors': [...], 'users': {name: {'lines': [...], 'keys': [records]}}}
    where each error names the user and the key (comment and fingerprint).
    """
    errors = []
    result = {}
    seen = {}
    if not isinstance(users, (list, tuple)):
        return {'errors': ['ssh_key_policy_users must be a list of {name, keys}'], 'users': {}}
    for index, user in enumerate(users):
        if not isinstance(user, dict) or not isinstance(user.get('name'), str):
            errors.append('entry %d: must be a mapping with a user name in "name"' % index)
            continue
        name = user['name']
        if not USER_RE.match(name):
            errors.append('user %r: not a valid user name' % name)
            continue
        if name == 'root':
            errors.append('user root: root logins are refused by this policy (PermitRootLogin no); declare keys for named users')
            continue
        if name in result:
            errors.append('user %s: declared twice' % name)
            continue
        unknown = sorted(set(user) - set(['name', 'keys']))
        if unknown:
            errors.append('user %s: unknown field(s) %s' % (name, ', '.join(unknown)))
        entry = {'lines': [], 'keys': []}
        result[name] = entry
        keys = user.get('keys', [])
        if not isinstance(keys, (list, tuple)):
            errors.append('user %s: keys must be a list' % name)
            continue
        for kindex, key in enumerate(keys):
            label = 'user %s, key %d' % (name, kindex + 1)
            if isinstance(key, str):
                key = {'key': key}
            if not isinstance(key, dict) or not isinstance(key.get('key'), str):
                errors.append('%s: must be a mapping with the public key in "key"' % label)
                continue
            unknown = sorted(set(key) - set(['key', 'owner', 'comment', 'expires', 'from', 'options']))
            if unknown:
                errors.append('%s: unknown field(s) %s' % (label, ', '.join(unknown)))
                continue
            try:
                parsed = parse_line(key['key'])
                if parsed is None:
                    raise SSHKeyError('empty key')
                if parsed['options']:
                    raise SSHKeyError('give options as expires/from/options fields, not in the key string')
            except SSHKeyError as exc:
                errors.append('%s (%s): %s' % (label, key['key'][:40], exc))
                continue
            comment = str(key.get('comment') or parsed['comment'] or '').strip()
            owner = key.get('owner')
            label = 'user %s, key %s %s' % (name, comment or '(no comment)', parsed['fingerprint'])
            if not isinstance(owner, str) or not owner.strip():
                errors.append('%s: every key needs an "owner" (the person or system it belongs to)' % label)
                continue
            if '\n' in comment or '\n' in owner:
                errors.append('%s: comment and owner must be single lines' % label)
                continue
            expires = key.get('expires')
            expires = str(expires).strip() if expires not in (None, '') else None
            sources = [str(s) for s in _as_list(key.get('from'))]
            flags = [str(f).lower() for f in _as_list(key.get('options'))]
            problems = []
            if expires:
                try:
                    parse_expiry(expires)
                except SSHKeyError as exc:
                    problems.append(str(exc))
            elif name == emergency_user:
                problems.append('emergency access keys must have an expiry ("expires")')
            bad_sources = [s for s in sources if not FROM_RE.match(s)]
            if bad_sources:
                problems.append('from: not an address pattern: %s' % ', '.join(bad_sources))
            bad_flags = [f for f in flags if f not in FLAG_OPTIONS]
            if bad_flags:
                problems.append('options: not supported: %s (allowed: %s)' % (', '.join(bad_flags), ', '.join(FLAG_OPTIONS)))
            if not problems:
                parsed['options'] = [('expiry-time', expires)] if expires else []
                problems.extend(key_problems(parsed, policy, now))
            previous = seen.get(parsed['fingerprint'])
            if previous == name:
                problems.append('declared twice for this user')
            elif previous and not policy.get('allow_shared_keys', False):
                problems.append('also declared for user %s (shared keys break unique user identification, 164.312(a)(2)(i))' % previous)
            seen.setdefault(parsed['fingerprint'], name)
            if problems:
                errors.extend('%s: %s' % (label, p) for p in problems)
                continue
            full_comment = '%s (owner: %s)' % (comment, owner.strip()) if comment else 'owner: %s' % owner.strip()
            entry['lines'].append(render_line(parsed, expires, sources, flags, full_comment))
            record = describe(parsed)
            record.update({'comment': comment, 'owner': owner.strip(), 'expiry_time': expires,
                           'from': ','.join(sources) or None})
            entry['keys'].append(record)
    return {'errors': errors, 'users': result}


# ---------------------------------------------------------------- lockout protection

def _match_user_pattern(pattern, user):
    # AllowUsers takes USER or USER@HOST patterns; only the user part can be
    # decided here, so a host part is treated as matching (conservative: the
    # new-connection test after the reload catches the rest).
    return fnmatch.fnmatchcase(user, pattern.split('@', 1)[0])


def lockout_problems(login_user, validated, login_info, allow_users, allow_groups, deny_users=None, deny_groups=None):
    """Reasons why the account Ansible connects as would be locked out.

    ``validated`` is validate_declared()'s result; ``login_info`` is what
    ssh_key_audit reports about that account (exists, groups,
    authorized_fingerprints: the keys sshd accepts for it right now).
    An empty list means the policy keeps the account's access.
    """
    problems = []
    if not login_user:
        return ['the account Ansible connects as could not be determined; set ansible_user']
    if login_user == 'root':
        return ['Ansible connects as root, and the policy sets PermitRootLogin no: connect as a named admin with become']
    declared = validated.get('users', {}).get(login_user)
    if not declared or not declared.get('keys'):
        problems.append('%s (the account Ansible connects as) has no valid declared key in ssh_key_policy_users' % login_user)
    groups = list(login_info.get('groups') or [])
    if not login_info.get('exists', True):
        problems.append('%s does not exist on the host' % login_user)
    if allow_users and not any(_match_user_pattern(p, login_user) for p in allow_users):
        problems.append('%s is not in ssh_key_policy_allow_users (%s)' % (login_user, ', '.join(allow_users)))
    if allow_groups and not any(fnmatch.fnmatchcase(g, p) for p in allow_groups for g in groups):
        problems.append('%s (groups: %s) is in none of ssh_key_policy_allow_groups (%s)'
                        % (login_user, ', '.join(groups) or 'none', ', '.join(allow_groups)))
    if deny_users and any(_match_user_pattern(p, login_user) for p in deny_users):
        problems.append('%s matches DenyUsers' % login_user)
    if deny_groups and any(fnmatch.fnmatchcase(g, p) for p in deny_groups for g in groups):
        problems.append('%s is in a DenyGroups group' % login_user)
    if declared and declared.get('keys'):
        current = set(login_info.get('authorized_fingerprints') or [])
        wanted = set(k['fingerprint'] for k in declared['keys'])
        if not current:
            problems.append('no key currently authorized for %s could be read, so the key Ansible connects with cannot '
                            'be proven to be declared' % login_user)
        elif not current & wanted:
            problems.append('none of the keys %s logs in with today (%s) is declared (declared: %s)'
                            % (login_user, ', '.join(sorted(current)), ', '.join(sorted(wanted))))
    return problems


# ---------------------------------------------------------------- sshd -T

def parse_sshd_t(text):
    """``sshd -T`` output -> {lower-case keyword: [values in order]}."""
    effective = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        parts = line.split(None, 1)
        effective.setdefault(parts[0].lower(), []).append(parts[1] if len(parts) > 1 else '')
    return effective


def _norm(value):
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    return str(value).strip()


def effective_drift(effective, wanted):
    """Settings whose effective value differs from the policy.

    ``wanted`` maps sshd keywords (any case) to a value or a list of values
    (repeated keywords, e.g. HostKey). List values that sshd prints on one
    line (AllowUsers) are compared as space separated words.
    """
    drift = []
    for key, value in sorted(wanted.items(), key=lambda kv: kv[0].lower()):
        if value is None or value == '' or value == []:
            continue
        name = key.lower()
        found = effective.get(name, [])
        if name in WORD_LISTS and not isinstance(value, (list, tuple)):
            value = str(value).split()
        if isinstance(value, (list, tuple)):
            want = [_norm(v) for v in value]
            if name in WORD_LISTS:
                got = ' '.join(found).split()
            else:
                got = found
            ok = sorted(got) == sorted(want)
        else:
            want = _norm(value)
            got = found[0] if len(found) == 1 else found
            ok = got == want or (isinstance(got, str) and got.lower() == want.lower())
        if not ok:
            drift.append({'setting': key, 'wanted': want, 'found': got})
    return drift


def expand_authorized_keys_file(pattern, user, home, uid):
    """Expand the AuthorizedKeysFile tokens %%, %u, %h, %U for one user."""
    out = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == '%' and index + 1 < len(pattern):
            token = pattern[index + 1]
            out.append({'%': '%', 'u': user, 'h': home, 'U': str(uid)}.get(token, '%' + token))
            index += 2
            continue
        out.append(char)
        index += 1
    path = ''.join(out)
    if not path.startswith('/'):
        path = home.rstrip('/') + '/' + path
    return path
