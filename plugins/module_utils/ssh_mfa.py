# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure decisions of the ssh_key_policy role's multi-factor authentication (key + TOTP).

- the input checks of ``ssh_key_policy_mfa*`` (exemptions, secrets, lockout);
- who needs the second factor, from which address (``Match User ... Address``
  exemptions, ``AuthenticationMethods publickey``), and the lockout check for
  the account Ansible connects as;
- the pam_oath users file (``HOTP/T30 user - hexsecret [counter otp time]``):
  the wanted lines, keeping the state fields pam_oath writes after each login
  (the last one-time password and its time: that is what refuses a replay);
- the sshd PAM stack: Debian's ``/etc/pam.d/sshd`` with ``@include common-auth``
  (which asks the Unix password) replaced by pam_faillock + pam_oath;
- the evidence of the effective PAM stack and methods.

No I/O here: callers pass text and data in. Secrets are never part of a
returned message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import ipaddress
import re

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover - Python 2
    from urllib import quote  # type: ignore

USER_RE = re.compile(r'^[a-z_][a-z0-9_.-]{0,31}$')
HEX_RE = re.compile(r'^[0-9a-fA-F]+$')
MIN_SECRET_BYTES = 20          # RFC 4226 section 4: at least 128 bits, 160 recommended
MFA_METHODS = 'publickey,keyboard-interactive'
KEY_ONLY_METHODS = 'publickey'
TOTP_TYPE = 'HOTP/T30'
PAM_BEGIN = '# BEGIN ephi.safeguards ssh_key_policy MFA (key + TOTP); managed, do not edit'
PAM_END = '# END ephi.safeguards ssh_key_policy MFA'


def _one_line(value):
    return isinstance(value, str) and value.strip() != '' and not any(c in value for c in '\r\n\x00')


def address_problem(value):
    """Why VALUE is not an IPv4/IPv6 address or CIDR network sshd's Match Address takes (None when it is)."""
    if not isinstance(value, str) or not value or value != value.strip():
        return '%r is not an address or CIDR network' % (value,)
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        return '%s is not an address or CIDR network with no host bits set (%s)' % (value, exc)
    return None


def secret_problem(value):
    """Why a TOTP secret is not usable (None when it is). The message never quotes the secret."""
    if not isinstance(value, str):
        return 'must be a string of hexadecimal digits'
    value = value.strip()
    if not HEX_RE.match(value) or len(value) % 2:
        return 'must be an even number of hexadecimal digits (the hex form of the key, as oathtool takes it)'
    if len(value) // 2 < MIN_SECRET_BYTES:
        return 'must be at least %d bytes (%d hex digits; RFC 4226 recommends 160 bits)' % (MIN_SECRET_BYTES, 2 * MIN_SECRET_BYTES)
    return None


def exempt_problems(exempt, declared_users, login_user=None):
    """Why ``ssh_key_policy_mfa_exempt`` cannot be rendered ([] when it can)."""
    if not isinstance(exempt, (list, tuple)):
        return ['must be a list of {user, reason, from}']
    problems, seen = [], set()
    for index, entry in enumerate(exempt):
        where = 'entry %d' % (index + 1)
        if not isinstance(entry, dict):
            problems.append('%s: must be a mapping {user, reason, from}' % where)
            continue
        unknown = sorted(set(entry) - set(('user', 'reason', 'from')))
        if unknown:
            problems.append('%s: unknown key(s) %s' % (where, ', '.join(str(u) for u in unknown)))
        user = entry.get('user')
        if not isinstance(user, str) or not USER_RE.match(user):
            problems.append('%s: user %r is not a plain account name (no patterns, no spaces)' % (where, user))
        elif user in seen:
            problems.append('%s: user %s is listed twice' % (where, user))
        else:
            where = 'user %s' % user
            seen.add(user)
            if user not in (declared_users or ()):
                problems.append('%s is not declared in ssh_key_policy_users' % where)
        if not _one_line(entry.get('reason')):
            problems.append('%s: reason must be a non-empty line saying why the account logs in with a key alone' % where)
        if 'from' in entry:
            addrs = entry.get('from')
            if not isinstance(addrs, (list, tuple)) or not addrs:
                problems.append('%s: from must be a non-empty list of addresses or CIDR networks (or be left out)' % where)
            else:
                for addr in addrs:
                    problem = address_problem(addr)
                    if problem:
                        problems.append('%s: from: %s' % (where, problem))
    return problems


def exempt_entry(exempt, user):
    for entry in exempt if isinstance(exempt, (list, tuple)) else []:
        if isinstance(entry, dict) and entry.get('user') == user:
            return entry
    return None


def address_in(addr, networks):
    """Is ADDR in one of NETWORKS (addresses or CIDR)? False for anything unparsable."""
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    for net in networks or ():
        try:
            if ip in ipaddress.ip_network(net, strict=False):
                return True
        except ValueError:
            continue
    return False


def methods_for(user, addr, mfa, exempt):
    """The AuthenticationMethods sshd should apply to USER connecting from ADDR."""
    if not mfa:
        return KEY_ONLY_METHODS
    entry = exempt_entry(exempt, user)
    if entry is None:
        return MFA_METHODS
    if 'from' not in entry or address_in(addr, entry.get('from')):
        return KEY_ONLY_METHODS
    return MFA_METHODS


def mfa_users(declared_users, exempt):
    """Declared accounts that need a TOTP secret: all but those exempt from every address."""
    out = []
    for user in sorted(declared_users or ()):
        entry = exempt_entry(exempt, user)
        if entry is None or 'from' in entry:
            out.append(user)
    return out


def mfa_problems(settings, declared_users):
    """The input checks of the MFA variables, as ['variable: problem'] (secrets never quoted).

    ``settings``: {mfa, exempt, secrets, generate, deny, unlock_time, usersfile, handoff_dir}.
    """
    problems = []
    exempt = settings.get('exempt', [])
    problems.extend('ssh_key_policy_mfa_exempt: %s' % p for p in exempt_problems(exempt, declared_users))
    secrets = settings.get('secrets', {})
    if not isinstance(secrets, dict):
        problems.append('ssh_key_policy_mfa_secrets: must be a mapping of user to hex secret')
        secrets = {}
    for user in sorted(secrets, key=str):
        problem = secret_problem(secrets[user])
        if problem:
            problems.append('ssh_key_policy_mfa_secrets: the secret of %s %s' % (user, problem))
        elif user not in (declared_users or ()):
            problems.append('ssh_key_policy_mfa_secrets: %s is not declared in ssh_key_policy_users' % user)
    for name, low, high in (('deny', 1, 20), ('unlock_time', 1, 86400)):
        value = settings.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems.append('ssh_key_policy_mfa_%s: must be a whole number from %d to %d' % (name, low, high))
    for name in ('usersfile', 'handoff_dir'):
        value = settings.get(name)
        if not isinstance(value, str) or not re.match(r'^/[A-Za-z0-9_./-]+$', value) or '..' in value:
            problems.append('ssh_key_policy_mfa_%s: must be an absolute path (letters, digits, _ . / -)' % name)
    if settings.get('mfa') and not settings.get('generate'):
        missing = [u for u in mfa_users(declared_users, exempt if isinstance(exempt, list) else []) if u not in secrets]
        if missing:
            problems.append('ssh_key_policy_mfa_secrets: no TOTP secret for %s, who must use MFA (give one, from Ansible '
                            'Vault, set ssh_key_policy_mfa_generate, or exempt the account in ssh_key_policy_mfa_exempt)'
                            % ', '.join(missing))
    return problems


def exempt_blocks(exempt):
    """``ssh_key_policy_mfa_exempt`` -> [{user, reason, match}] for ``Match User`` blocks."""
    blocks = []
    for entry in exempt if isinstance(exempt, (list, tuple)) else []:
        if not isinstance(entry, dict):
            continue
        match = 'User %s' % entry.get('user')
        if entry.get('from'):
            match += ' Address %s' % ','.join(str(a) for a in entry['from'])
        blocks.append({'user': entry.get('user'), 'reason': ' '.join(str(entry.get('reason', '')).split()), 'match': match})
    return blocks


def lockout_problems(login_user, client_addr, mfa, exempt):
    """Why the candidate policy would demand a second factor from the account Ansible connects as.

    ``client_addr``: Ansible's client address (SSH_CONNECTION), '' when not over SSH.
    """
    if not mfa or not login_user:
        return []
    entry = exempt_entry(exempt, login_user)
    if entry is None:
        return ['ssh_key_policy_mfa would demand a second factor (TOTP) from %s, the account Ansible connects as, '
                'which cannot answer it: exempt it in ssh_key_policy_mfa_exempt (with a reason, ideally from its '
                'addresses only)' % login_user]
    if 'from' in entry and client_addr and not address_in(client_addr, entry.get('from')):
        return ['ssh_key_policy_mfa_exempt exempts %s, the account Ansible connects as, only from %s, but Ansible '
                'connects from %s: the next login would need a second factor'
                % (login_user, ', '.join(str(a) for a in entry.get('from')), client_addr)]
    return []


# ---------------------------------------------------------------- pam_oath users file

def parse_usersfile(text):
    """pam_oath users file -> [{type, user, pin, secret, rest, raw}] (comment and blank lines dropped)."""
    entries = []
    for raw in (text or '').splitlines():
        fields = raw.split()
        if not fields or fields[0].startswith('#') or len(fields) < 4:
            continue
        entries.append({'type': fields[0], 'user': fields[1], 'pin': fields[2], 'secret': fields[3],
                        'rest': fields[4:], 'raw': raw})
    return entries


def usersfile_plan(text, users, secrets, generated=None):
    """The wanted users file.

    ``users``: who must have a line; ``secrets``: {user: hex} given (Vault);
    ``generated``: {user: hex} made on the host for users with neither a given
    secret nor a line. A line whose type and secret are unchanged is kept as
    it is (with pam_oath's counter, last OTP and time); a changed secret
    starts a fresh line. Returns {text, added, updated, removed, kept,
    missing} - user names only, never a secret.
    """
    generated = generated or {}
    current = {}
    for entry in parse_usersfile(text):
        current.setdefault(entry['user'], entry)
    lines, added, updated, kept, missing = [], [], [], [], []
    for user in sorted(set(users or ())):
        entry = current.get(user)
        secret = secrets.get(user) or generated.get(user)
        if secret is None and entry is not None and entry['type'] == TOTP_TYPE and entry['pin'] == '-' \
                and secret_problem(entry['secret']) is None:
            secret = entry['secret']
        if secret is None:
            missing.append(user)
            continue
        secret = secret.strip().lower()
        if entry is not None and entry['type'] == TOTP_TYPE and entry['pin'] == '-' and entry['secret'].lower() == secret:
            lines.append(entry['raw'])
            kept.append(user)
        else:
            lines.append('\t'.join((TOTP_TYPE, user, '-', secret)))
            (updated if entry is not None else added).append(user)
    removed = sorted(u for u in current if u not in set(users or ()))
    new_text = ''.join(line + '\n' for line in lines)
    # Duplicate or malformed lines also make the file differ.
    return {'text': new_text, 'added': added, 'updated': updated, 'removed': removed, 'kept': kept,
            'missing': missing, 'changed': new_text != (text or '')}


def otpauth_uri(user, host, secret_hex, issuer='ephi.safeguards'):
    """The otpauth:// URI an authenticator app imports (Key Uri Format; base32 secret, TOTP, SHA1, 6 digits, 30 s)."""
    secret = base64.b32encode(bytes(bytearray.fromhex(secret_hex))).decode('ascii').rstrip('=')
    label = quote('%s:%s@%s' % (issuer, user, host), safe='@:')
    return 'otpauth://totp/%s?secret=%s&issuer=%s&algorithm=SHA1&digits=6&period=30' % (label, secret, quote(issuer, safe=''))


# ---------------------------------------------------------------- the sshd PAM stack

def pam_auth_block(usersfile, deny, unlock_time):
    """The auth lines that replace ``@include common-auth``: faillock around pam_oath, nothing that asks a password.

    preauth is requisite: a locked account gets no prompt (and burns no code).
    pam_oath: success skips the authfail line; any other result (wrong code,
    replayed code, user without a secret) records a failure and ends the stack.
    """
    opts = 'deny=%d unlock_time=%d' % (int(deny), int(unlock_time))
    return [
        PAM_BEGIN,
        'auth       requisite    pam_faillock.so preauth audit %s' % opts,
        'auth       [success=1 default=ignore] pam_oath.so usersfile=%s window=3 digits=6' % usersfile,
        'auth       [default=die] pam_faillock.so authfail audit %s' % opts,
        'auth       sufficient   pam_faillock.so authsucc audit %s' % opts,
        'auth       requisite    pam_deny.so',
        PAM_END,
    ]


PAM_ACCOUNT_MANAGED = 'account    required     pam_faillock.so # ephi.safeguards ssh_key_policy MFA'


def _strip_managed(lines):
    """Lines without the managed blocks; the index where the first one started (or None)."""
    out, start, inside = [], None, False
    for line in lines:
        if line.strip() == PAM_BEGIN:
            inside = True
            if start is None:
                start = len(out)
            continue
        if inside:
            if line.strip() == PAM_END:
                inside = False
            continue
        out.append(line)
    return out, start


def _is_include(line, name):
    fields = line.split()
    return len(fields) == 2 and fields[0] == '@include' and fields[1] == name


def pam_sshd(text, mfa, usersfile, deny=5, unlock_time=900):
    """Debian's /etc/pam.d/sshd with MFA: ``@include common-auth`` replaced by the managed auth block,
    pam_faillock's account line before ``@include common-account``. With MFA off, a managed file gets
    ``@include common-auth`` back and an unmanaged one stays as it is. Idempotent; returns the text."""
    lines = (text or '').splitlines()
    lines, start = _strip_managed(lines)
    without = [line for line in lines if line.strip() != PAM_ACCOUNT_MANAGED]
    had_account = len(without) != len(lines)
    lines = without
    if not mfa:
        if start is None and not had_account:
            return text
        if start is not None:
            lines.insert(start, '@include common-auth')
        return '\n'.join(lines) + '\n'
    if start is None:
        found = [i for i, line in enumerate(lines) if _is_include(line, 'common-auth')]
        if found:
            start = found[0]
        else:
            firsts = [i for i, line in enumerate(lines) if line.split()[:1] == ['auth']]
            start = firsts[0] if firsts else len(lines)
    lines = [line for line in lines if not _is_include(line, 'common-auth')]
    lines[start:start] = pam_auth_block(usersfile, deny, unlock_time)
    account = [i for i, line in enumerate(lines) if line.split()[:1] == ['account'] or _is_include(line, 'common-account')]
    at = account[0] if account else len(lines)
    lines.insert(at, PAM_ACCOUNT_MANAGED)
    return '\n'.join(lines) + '\n'


def pam_stack_problems(text, usersfile, deny, unlock_time):
    """What makes the effective sshd auth stack unfit for key + TOTP ([] when it is fit).

    Looks at the auth and account lines (includes are reported, not followed:
    the managed stack includes nothing in auth).
    """
    auth = []
    account = []
    for raw in (text or '').splitlines():
        line = raw.split('#', 1)[0].strip()
        fields = line.split()
        if not fields:
            continue
        if fields[0] == '@include':
            if len(fields) > 1 and fields[1] in ('common-auth',):
                auth.append(fields)
            continue
        kind = fields[0].lstrip('-')
        if kind == 'auth':
            auth.append(fields)
        elif kind == 'account':
            account.append(fields)
    problems = []
    modules = [' '.join(f) for f in auth]
    if [f for f in auth if f[0] == '@include']:
        problems.append('@include common-auth (asks the Unix password)')
    if [m for m in modules if 'pam_unix' in m]:
        problems.append('pam_unix in auth (asks the Unix password)')
    if [m for m in modules if 'nullok' in m]:
        problems.append('nullok (an empty secret or password passes)')
    oath = [f for f in auth if any('pam_oath' in x for x in f)]
    if not oath:
        problems.append('no pam_oath in auth')
    elif not [x for x in oath[0] if x == 'usersfile=%s' % usersfile]:
        problems.append('pam_oath does not read %s' % usersfile)
    want = ['deny=%d' % int(deny), 'unlock_time=%d' % int(unlock_time)]
    for step in ('preauth', 'authfail'):
        lines = [f for f in auth if any('pam_faillock' in x for x in f) and step in f]
        if not lines:
            problems.append('no pam_faillock %s in auth' % step)
        elif [w for w in want if w not in lines[0]]:
            problems.append('pam_faillock %s is not %s' % (step, ' '.join(want)))
    if not [f for f in account if any('pam_faillock' in x for x in f)]:
        problems.append('no pam_faillock in account')
    return problems
