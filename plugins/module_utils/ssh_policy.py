# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure decisions of the ssh_key_policy role's lockout protection and evidence.

- which key Ansible logged in with, read from sshd's own log (journal
  records of root-owned sshd processes, "Accepted publickey for ..."),
  and whether the new policy still contains it;
- sshd's user and group name matching (``match_pattern`` of OpenSSH's
  match.c: ``*`` and ``?`` only, case sensitive, ``user@host`` split at the
  last ``@``) and the order in which sshd applies DenyUsers, AllowUsers,
  DenyGroups and AllowGroups;
- the allow-lists of strong transport algorithms and the checks of
  ``ssh_key_policy_extra_settings`` (no line breaks: directive injection);
- the effective configuration for every account and connection address
  (``sshd -T -C`` per specification), compared with the policy.

No I/O here: callers pass text and data in.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.ephi.safeguards.plugins.module_utils.ssh_keys import effective_drift, parse_sshd_t

# ---------------------------------------------------------------- algorithm allow-lists
# Only these may be configured, so the "only strong algorithms" evidence is
# true by construction (sshd -T then proves sshd offers exactly the list).
STRONG_CIPHERS = (
    'chacha20-poly1305@openssh.com',
    'aes256-gcm@openssh.com',
    'aes128-gcm@openssh.com',
    'aes256-ctr',
    'aes192-ctr',
    'aes128-ctr',
)
STRONG_MACS = (
    'hmac-sha2-512-etm@openssh.com',
    'hmac-sha2-256-etm@openssh.com',
    'umac-128-etm@openssh.com',
)
STRONG_KEX = (
    'mlkem768x25519-sha256',
    'sntrup761x25519-sha512',
    'sntrup761x25519-sha512@openssh.com',
    'curve25519-sha256',
    'curve25519-sha256@libssh.org',
    'diffie-hellman-group16-sha512',
    'diffie-hellman-group18-sha512',
)
ALGORITHM_NAME_RE = re.compile(r'^[a-z0-9@._-]+$')


def algorithm_problems(values, allowed):
    """Why a configured algorithm list is not acceptable ([] when it is)."""
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        return ['must be a list of algorithm names']
    if not values:
        return ['must not be empty']
    problems = []
    seen = set()
    for value in values:
        if not isinstance(value, str) or not ALGORITHM_NAME_RE.match(value):
            problems.append('%r is not an algorithm name' % (value,))
            continue
        if value in seen:
            problems.append('%s is listed twice' % value)
        seen.add(value)
        if value not in allowed:
            problems.append('%s is not in the allow-list of strong algorithms (%s)' % (value, ', '.join(allowed)))
    return problems


# ---------------------------------------------------------------- extra settings

KEYWORD_RE = re.compile(r'^[A-Za-z][A-Za-z0-9]*$')
FORBIDDEN_EXTRA = ('match', 'include', 'authorizedkeyscommand', 'authorizedkeyscommanduser', 'authorizedkeysfile',
                   'authorizedprincipalsfile', 'authorizedprincipalscommand', 'authorizedprincipalscommanduser',
                   'trustedusercakeys', 'hostbasedauthentication', 'gssapiauthentication')


def _scalar_problem(value):
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        return None
    if not isinstance(value, str):
        return 'must be a string, number, boolean or a list of them'
    if any(char in value for char in '\r\n\x00'):
        return 'contains a line break or NUL (it would start a new sshd directive)'
    return None


def extra_settings_problems(settings, policy_keywords):
    """Why ``ssh_key_policy_extra_settings`` cannot be rendered safely."""
    if not isinstance(settings, dict):
        return ['must be a mapping of sshd keywords to values']
    reserved = set(k.lower() for k in policy_keywords) | set(FORBIDDEN_EXTRA)
    problems = []
    for key in sorted(settings, key=str):
        value = settings[key]
        if not isinstance(key, str) or not KEYWORD_RE.match(key):
            problems.append('%r is not an sshd keyword' % (key,))
            continue
        if key.lower() in reserved:
            problems.append('%s is set by the policy (or is another key source, Include or Match) and cannot be overridden'
                            % key)
            continue
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            problem = _scalar_problem(item)
            if problem:
                problems.append('%s: %s' % (key, problem))
                break
    return problems


# ---------------------------------------------------------------- sshd pattern matching

def match_pattern(string, pattern):
    """OpenSSH match_pattern(): ``*`` and ``?`` wildcards, everything else literal, case sensitive."""
    regex = ''.join('.*' if c == '*' else '.' if c == '?' else re.escape(c) for c in pattern)
    return re.match('^%s$' % regex, string, re.DOTALL) is not None


def match_pattern_list(string, patterns):
    """OpenSSH match_pattern_list() (dolower=0): 1 a match, -1 a negated match, 0 none."""
    found = 0
    for pattern in patterns.split(','):
        negated = pattern.startswith('!')
        if negated:
            pattern = pattern[1:]
        if match_pattern(string, pattern):
            if negated:
                return -1
            found = 1
    return found


def user_pattern_matches(user, pattern):
    """AllowUsers/DenyUsers entry: USER or USER@HOST, split at the LAST ``@`` as sshd does.

    Returns True, False, or None when it depends on the client's host or
    address (cannot be decided before the connection).
    """
    if '@' not in pattern:
        return match_pattern(user, pattern)
    user_part = pattern.rsplit('@', 1)[0]
    if not match_pattern(user, user_part):
        return False
    return None


def words(value):
    """sshd keyword value(s) -> list of words (a string is split on white space, a list item too)."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        out = []
        for item in value:
            out.extend(words(item))
        return out
    return str(value).split()


def extra_access_lists(extra_settings):
    """DenyUsers/DenyGroups/AllowUsers/AllowGroups of ``ssh_key_policy_extra_settings``, keywords in any case as sshd reads them."""
    lists = {'denyusers': [], 'denygroups': [], 'allowusers': [], 'allowgroups': []}
    for key, value in (extra_settings or {}).items():
        if str(key).lower() in lists:
            lists[str(key).lower()].extend(words(value))
    return lists


def access_problems(user, groups, allow_users=(), deny_users=(), allow_groups=(), deny_groups=()):
    """Why sshd's allowed_user() would refuse ``user`` (member of ``groups``), in sshd's order.

    A USER@HOST entry whose user part matches counts against the user in
    DenyUsers and for them in AllowUsers (the host part is checked by the
    fresh login behind the dead-man switch).
    """
    problems = []
    for pattern in deny_users or ():
        if user_pattern_matches(user, pattern) is not False:
            problems.append('%s matches DenyUsers %s' % (user, pattern))
    if allow_users and not any(user_pattern_matches(user, p) is not False for p in allow_users):
        problems.append('%s is not in ssh_key_policy_allow_users (%s)' % (user, ', '.join(allow_users)))
    groups = list(groups or [])
    for pattern in deny_groups or ():
        if any(match_pattern_list(g, pattern) == 1 for g in groups):
            problems.append('%s is in a DenyGroups group (%s)' % (user, pattern))
    if allow_groups:
        allowed = False
        for pattern in allow_groups:
            results = [match_pattern_list(g, pattern) for g in groups]
            if -1 not in results and 1 in results:
                allowed = True
        if not allowed:
            problems.append('%s (groups: %s) is in none of ssh_key_policy_allow_groups (%s)'
                            % (user, ', '.join(groups) or 'none', ', '.join(allow_groups)))
    return problems


# ---------------------------------------------------------------- the key in use

ACCEPTED_RE = re.compile(r'^Accepted (\S+) for (\S+) from (\S+) port (\d+) ssh2(?:: (\S+) (SHA256:[A-Za-z0-9+/]+))?')
SSHD_COMMS = ('sshd', 'sshd-session')


def parse_ssh_connection(value):
    """``SSH_CONNECTION`` ("client-ip client-port server-ip server-port") -> dict, or None."""
    parts = (value or '').split()
    if len(parts) != 4 or not parts[1].isdigit() or not parts[3].isdigit():
        return None
    return {'addr': parts[0], 'port': int(parts[1]), 'laddr': parts[2], 'lport': int(parts[3])}


def _journal_records(text):
    for line in (text or '').splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            yield record


def _field(record, name):
    value = record.get(name)
    if isinstance(value, list):         # journald may repeat a field
        value = value[-1] if value else None
    if isinstance(value, list):         # binary fields come as byte arrays
        return None
    return value if isinstance(value, str) else None


def key_in_use(journal_json, user, connection):
    """The key the connection ``connection`` (parse_ssh_connection()) logged in as ``user`` with.

    ``journal_json``: ``journalctl -o json`` lines. Only records written by a
    root process named sshd or sshd-session count: _UID and _COMM are set by
    journald, not by the sender, so a user cannot forge them with logger(1).
    Returns {'method', 'key_type', 'fingerprint', 'addr', 'port'} of the last
    matching "Accepted" line, or {'error': reason}.
    """
    if not connection:
        return {'error': 'the SSH connection of Ansible could not be identified (no SSH_CONNECTION)'}
    found = None
    for record in _journal_records(journal_json):
        if _field(record, '_UID') != '0' or _field(record, '_COMM') not in SSHD_COMMS:
            continue
        match = ACCEPTED_RE.match(_field(record, 'MESSAGE') or '')
        if not match:
            continue
        method, login, addr, port, key_type, fingerprint = match.groups()
        if login != user or addr != connection['addr'] or int(port) != connection['port']:
            continue
        found = {'method': method, 'key_type': key_type, 'fingerprint': fingerprint, 'addr': addr, 'port': int(port)}
    if found is None:
        return {'error': "sshd's log has no \"Accepted ... for %s from %s port %d\" line from a root sshd process "
                         '(is sshd logging to the journal at LogLevel INFO or above?)'
                         % (user, connection['addr'], connection['port'])}
    if found['method'] != 'publickey' or not found['fingerprint']:
        return dict(found, error='Ansible logged in as %s with %s, not with a public key; the policy allows public keys only'
                    % (user, found['method']))
    return found


# ---------------------------------------------------------------- lockout

def lockout_problems(login_user, validated, login_info, allow_users=(), allow_groups=(), deny_users=(), deny_groups=(),
                     in_use=None):
    """Reasons why the account Ansible connects as would be locked out by the new policy.

    ``in_use``: key_in_use()'s result for Ansible's SSH connection, or None
    when Ansible does not log in over SSH (connection local): then one of the
    keys sshd accepts for the account today (``login_info``) must be declared.
    """
    if not login_user:
        return ['the account Ansible connects as could not be determined; set ansible_user']
    if login_user == 'root':
        return ['Ansible connects as root, and the policy sets PermitRootLogin no: connect as a named admin with become']
    problems = []
    declared = (validated or {}).get('users', {}).get(login_user)
    wanted = set(k['fingerprint'] for k in (declared or {}).get('keys') or [])
    if not wanted:
        problems.append('%s (the account Ansible connects as) has no valid declared key in ssh_key_policy_users' % login_user)
    if not login_info.get('exists', True):
        problems.append('%s does not exist on the host' % login_user)
    problems.extend(access_problems(login_user, login_info.get('groups') or [], allow_users, deny_users,
                                    allow_groups, deny_groups))
    if not wanted:
        return problems
    if in_use is not None:
        if in_use.get('error'):
            problems.append('the key Ansible logged in with cannot be proven to stay declared: %s' % in_use['error'])
        elif in_use['fingerprint'] not in wanted:
            problems.append('Ansible logged in as %s with the key %s %s, which the new policy does not declare '
                            '(declared: %s): the next run could not log in'
                            % (login_user, in_use.get('key_type') or '', in_use['fingerprint'], ', '.join(sorted(wanted))))
        return problems
    current = set(login_info.get('authorized_fingerprints') or [])
    if not current:
        problems.append('no key currently authorized for %s could be read, so its access cannot be proven to survive' % login_user)
    elif not current & wanted:
        problems.append('none of the keys %s logs in with today (%s) is declared (declared: %s)'
                        % (login_user, ', '.join(sorted(current)), ', '.join(sorted(wanted))))
    return problems


# ---------------------------------------------------------------- effective configuration per connection

# Keywords a Match block can change that decide who logs in, and how.
LOGIN_KEYWORDS = ('AuthorizedKeysFile', 'AuthorizedKeysCommand', 'AuthorizedPrincipalsFile', 'AuthorizedPrincipalsCommand',
                  'TrustedUserCAKeys', 'PubkeyAuthentication', 'PasswordAuthentication', 'KbdInteractiveAuthentication',
                  'PermitEmptyPasswords', 'HostbasedAuthentication', 'GSSAPIAuthentication', 'PermitRootLogin',
                  'PubkeyAcceptedAlgorithms', 'MaxAuthTries', 'LogLevel', 'ClientAliveInterval', 'ClientAliveCountMax',
                  'AllowUsers', 'AllowGroups')
SPEC_MARK = '### '
ERROR_MARK = '!!! '


NOLOGIN_SHELLS = ('', '/usr/sbin/nologin', '/sbin/nologin', '/bin/false', '/usr/bin/false')


def login_capable_users(passwd):
    """Accounts that can get a session: ``getent passwd`` as {name: [x, uid, gid, gecos, home, shell]}."""
    users = []
    for name, fields in sorted((passwd or {}).items()):
        fields = list(fields or [])
        shell = fields[5] if len(fields) > 5 else ''
        if (shell or '').strip() not in NOLOGIN_SHELLS and ',' not in name and '=' not in name:
            users.append(name)
    return users


def connection_addresses(connection, extra):
    """Addresses to evaluate: loopback, Ansible's own client address and the configured ones, without duplicates."""
    addresses = ['127.0.0.1']
    if connection:
        addresses.append(connection['addr'])
    for addr in extra or ():
        addresses.append(str(addr))
    seen = []
    for addr in addresses:
        if addr not in seen:
            seen.append(addr)
    return seen


def connection_specs(passwd, connection, extra_addresses):
    """``sshd -T -C`` specifications: every login-capable account from every address.

    The host is the address (sshd's default UseDNS no); the local address and
    port are those of Ansible's connection when known (Match LocalAddress/LocalPort).
    """
    local = ''
    if connection:
        local = ',laddr=%s,lport=%d' % (connection['laddr'], connection['lport'])
    return ['user=%s,host=%s,addr=%s%s' % (user, addr, addr, local)
            for user in login_capable_users(passwd)
            for addr in connection_addresses(connection, extra_addresses)]


def parse_per_spec(text):
    """Output of the per-specification sshd -T loop -> {spec: {keyword: [values]}} and {spec: error}."""
    blocks, errors = {}, {}
    spec, lines = None, []

    def close():
        if spec is not None and spec not in errors:
            blocks[spec] = parse_sshd_t('\n'.join(lines))

    for line in (text or '').splitlines():
        if line.startswith(SPEC_MARK):
            close()
            spec, lines = line[len(SPEC_MARK):].strip(), []
        elif line.startswith(ERROR_MARK) and spec is not None:
            errors[spec] = (errors.get(spec, '') + ' ' + line[len(ERROR_MARK):]).strip()
        elif spec is not None:
            lines.append(line)
    close()
    return blocks, errors


def per_spec_drift(text, wanted, specs=None):
    """Compare the policy with sshd's effective configuration for every connection specification.

    ``wanted``: the policy (keyword -> value); only LOGIN_KEYWORDS are compared.
    ``specs``: what had to be evaluated; a missing or failed specification
    is an error (the control could not examine it).
    Returns {'drift': [{setting, wanted, found, spec}], 'errors': [...], 'specs': n}.
    """
    blocks, failed = parse_per_spec(text)
    subset = dict((k, v) for k, v in (wanted or {}).items() if k in LOGIN_KEYWORDS)
    errors = ['sshd -T -C %s failed: %s' % (spec, err or 'no output') for spec, err in sorted(failed.items())]
    seen_addrs = set()
    drift = []
    for spec in sorted(blocks):
        effective = blocks[spec]
        fields = dict(part.split('=', 1) for part in spec.split(',') if '=' in part)
        seen_addrs.add(fields.get('addr'))
        if not effective:
            errors.append('sshd -T -C %s printed none of the policy keywords' % spec)
            continue
        for item in effective_drift(effective, subset):
            item = dict(item, spec=spec)
            item['found'] = '%s for %s' % (' '.join(str(f) for f in item['found']) if isinstance(item['found'], list)
                                           else item['found'], spec)
            drift.append(item)
    for spec in specs or ():
        if spec not in blocks and spec not in failed:
            errors.append('no effective configuration was evaluated for %s' % spec)
    if not [a for a in seen_addrs if a and not a.startswith('127.') and a != '::1']:
        errors.append('no connection from a non-loopback address was evaluated')
    return {'drift': drift, 'errors': errors, 'specs': len(blocks) + len(failed)}
