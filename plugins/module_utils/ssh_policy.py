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
  (``sshd -T -C`` per specification), compared with the policy;
- side channels: the per-group forwarding opt-ins (validated, rendered as
  ``Match Group`` blocks) and what each account can really forward;
- the post-quantum key exchange list the installed OpenSSH can offer, the
  login banner's text and ``MaxStartups``.

No I/O here: callers pass text and data in.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.ephi.safeguards.plugins.module_utils.ssh_keys import effective_drift, parse_sshd_t
from ansible_collections.ephi.safeguards.plugins.module_utils.ssh_mfa import lockout_problems as mfa_lockout_problems

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
# Post-quantum hybrid key exchange: the only kind ssh_key_policy_kex_algorithms
# may hold ("record now, decrypt later" is the threat for ePHI kept for years).
PQ_KEX = (
    'mlkem768x25519-sha256',
    'sntrup761x25519-sha512',
    'sntrup761x25519-sha512@openssh.com',
)
# Classical key exchange for old clients, only through
# ssh_key_policy_kex_classical_algorithms (ssh-audit warns: not post-quantum).
CLASSICAL_KEX = (
    'curve25519-sha256',
    'curve25519-sha256@libssh.org',
    'diffie-hellman-group16-sha512',
    'diffie-hellman-group18-sha512',
)
STRONG_KEX = PQ_KEX + CLASSICAL_KEX
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
                     in_use=None, mfa=None):
    """Reasons why the account Ansible connects as would be locked out by the new policy.

    ``in_use``: key_in_use()'s result for Ansible's SSH connection, or None
    when Ansible does not log in over SSH (connection local): then one of the
    keys sshd accepts for the account today (``login_info``) must be declared.
    ``mfa``: {enabled, exempt, client_addr}: the candidate policy must not
    demand a second factor from that account (Ansible cannot answer one) from
    the address it connects from.
    """
    if not login_user:
        return ['the account Ansible connects as could not be determined; set ansible_user']
    if login_user == 'root':
        return ['Ansible connects as root, and the policy sets PermitRootLogin no: connect as a named admin with become']
    problems = []
    if mfa:
        problems.extend(mfa_lockout_problems(login_user, mfa.get('client_addr') or '', bool(mfa.get('enabled')),
                                             mfa.get('exempt') or []))
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
# Further keywords a Match block can change that must be the policy's for
# every account and address (the forwarding keywords differ for opted-in
# groups by design: forwarding_of() judges them).
SPEC_KEYWORDS = LOGIN_KEYWORDS + ('Banner', 'PermitTunnel', 'GatewayPorts', 'PermitUserRC', 'IgnoreRhosts', 'MaxSessions')
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


def per_spec_drift(text, wanted, specs=None, error=None):
    """Compare the policy with sshd's effective configuration for every connection specification.

    ``wanted``: the policy (keyword -> value); only SPEC_KEYWORDS are compared.
    ``specs``: what had to be evaluated; a missing or failed specification
    is an error (the control could not examine it).
    ``error``: why no specification could be evaluated at all (the reader's
    failed answer), named first among the errors.
    Returns {'drift': [{setting, wanted, found, spec}], 'errors': [...], 'specs': n,
    'forwarding': {user: [what sshd lets that account forward, from any address]
    or None when sshd -T did not print the forwarding keywords]}, 'methods': {spec: AuthenticationMethods}}.
    """
    blocks, failed = parse_per_spec(text)
    subset = dict((k, v) for k, v in (wanted or {}).items() if k in SPEC_KEYWORDS)
    forwarding = {}
    errors = ['sshd -T -C per account was not run: %s' % error] if error else []
    errors += ['sshd -T -C %s failed: %s' % (spec, err or 'no output') for spec, err in sorted(failed.items())]
    seen_addrs = set()
    drift = []
    methods = {}
    for spec in sorted(blocks):
        effective = blocks[spec]
        fields = dict(part.split('=', 1) for part in spec.split(',') if '=' in part)
        seen_addrs.add(fields.get('addr'))
        user = fields.get('user')
        if user:
            caps = forwarding_of(effective) if effective else None
            if caps is None or forwarding.get(user, []) is None:
                forwarding[user] = None
            else:
                forwarding[user] = sorted(set(forwarding.get(user, [])) | set(caps))
        if not effective:
            errors.append('sshd -T -C %s printed none of the policy keywords' % spec)
            continue
        if effective.get('authenticationmethods'):
            methods[spec] = ' '.join(str(v) for v in effective['authenticationmethods'])
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
    for spec in failed:
        fields = dict(part.split('=', 1) for part in spec.split(',') if '=' in part)
        if fields.get('user'):
            forwarding[fields['user']] = None
    return {'drift': drift, 'errors': errors, 'specs': len(blocks) + len(failed), 'forwarding': forwarding,
            'methods': methods}


# ---------------------------------------------------------------- post-quantum key exchange

def kex_algorithms(configured, classical, supported_text):
    """The KexAlgorithms to render: ``configured`` (post-quantum) then ``classical``,
    without the names the installed OpenSSH does not know.

    ``supported_text``: ``ssh -Q kex`` on the host (openssh-server depends on
    the openssh-client of the same version). Empty when it could not be read:
    then the lists are kept as they are (``sshd -t`` refuses unknown names
    before anything goes live).
    """
    supported = set((supported_text or '').split())
    wanted = []
    for name in list(configured or []) + list(classical or []):
        if name not in wanted and (not supported or name in supported):
            wanted.append(name)
    return wanted


def kex_problems(effective, classical):
    """Why the rendered key exchange list cannot be used: no post-quantum algorithm left."""
    if not [a for a in effective or [] if a in PQ_KEX]:
        return ['none of the post-quantum key exchange algorithms of ssh_key_policy_kex_algorithms is known to the '
                'installed OpenSSH (%s need OpenSSH 8.5, 9.9 or Debian 12, and 9.9/10.0 for mlkem768x25519-sha256)'
                % ', '.join(PQ_KEX)]
    return []


# ---------------------------------------------------------------- side channels

# What an opted-in group may forward, and the sshd keywords that grant it.
FORWARD_KINDS = ('tcp-local', 'tcp-remote', 'streamlocal-local', 'streamlocal-remote', 'agent', 'x11')
GROUP_NAME_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_.-]{0,31}[$]?$')


def forwarding_groups_problems(groups):
    """Why ``ssh_key_policy_forwarding_groups`` cannot be rendered ([] when it can)."""
    if not isinstance(groups, (list, tuple)):
        return ['must be a list of {group, forward, reason}']
    problems, seen = [], set()
    for index, entry in enumerate(groups):
        where = 'entry %d' % (index + 1)
        if not isinstance(entry, dict):
            problems.append('%s: must be a mapping {group, forward, reason}' % where)
            continue
        unknown = sorted(set(entry) - set(('group', 'forward', 'reason')))
        if unknown:
            problems.append('%s: unknown key(s) %s' % (where, ', '.join(str(u) for u in unknown)))
        group = entry.get('group')
        if not isinstance(group, str) or not GROUP_NAME_RE.match(group):
            problems.append('%s: group %r is not a plain group name (no patterns, no spaces, no line breaks)' % (where, group))
        elif group in seen:
            problems.append('%s: group %s is listed twice' % (where, group))
        else:
            where = 'group %s' % group
            seen.add(group)
        forward = entry.get('forward')
        if not isinstance(forward, (list, tuple)) or not forward:
            problems.append('%s: forward must be a non-empty list of %s' % (where, ', '.join(FORWARD_KINDS)))
        else:
            for kind in forward:
                if kind not in FORWARD_KINDS:
                    problems.append('%s: %r is not one of %s' % (where, kind, ', '.join(FORWARD_KINDS)))
        reason = entry.get('reason')
        if not isinstance(reason, str) or not reason.strip() or any(c in reason for c in '\r\n\x00'):
            problems.append('%s: reason must be a non-empty line saying why the group needs forwarding' % where)
    return problems


def _pair(kinds, prefix):
    local, remote = prefix + '-local' in kinds, prefix + '-remote' in kinds
    if local and remote:
        return 'yes'
    if local:
        return 'local'
    if remote:
        return 'remote'
    return None


def forwarding_blocks(groups):
    """``ssh_key_policy_forwarding_groups`` -> [{group, reason, settings: [[keyword, value]]}] for Match Group blocks."""
    blocks = []
    for entry in groups if isinstance(groups, (list, tuple)) else []:
        if not isinstance(entry, dict):
            continue
        forward = entry.get('forward')
        kinds = set(k for k in forward if isinstance(k, str)) if isinstance(forward, (list, tuple)) else set()
        settings = []
        tcp, streamlocal = _pair(kinds, 'tcp'), _pair(kinds, 'streamlocal')
        if tcp:
            settings.append(['AllowTcpForwarding', tcp])
        if streamlocal:
            settings.append(['AllowStreamLocalForwarding', streamlocal])
        if 'agent' in kinds:
            settings.append(['AllowAgentForwarding', 'yes'])
        if 'x11' in kinds:
            settings.append(['X11Forwarding', 'yes'])
        blocks.append({'group': entry.get('group'), 'reason': ' '.join(str(entry.get('reason', '')).split()),
                       'settings': settings})
    return blocks


def _first(effective, keyword):
    values = effective.get(keyword) or []
    return str(values[0]).lower() if values else None


FORWARDING_KEYWORDS = ('disableforwarding', 'allowtcpforwarding', 'allowstreamlocalforwarding', 'allowagentforwarding',
                       'x11forwarding', 'permittunnel', 'gatewayports')


def forwarding_of(effective):
    """What sshd lets a connection forward, from its ``sshd -T -C`` keywords; None when one is missing.

    DisableForwarding yes overrides every other forwarding keyword (sshd_config(5)).
    PermitTunnel and GatewayPorts are never opted in: 'tunnel' and 'gatewayports' always count against.
    """
    values = dict((k, _first(effective, k)) for k in FORWARDING_KEYWORDS)
    if None in values.values():
        return None
    caps = []
    if values['permittunnel'] != 'no':
        caps.append('tunnel')
    if values['disableforwarding'] == 'yes':
        return caps
    for prefix, keyword in (('tcp', 'allowtcpforwarding'), ('streamlocal', 'allowstreamlocalforwarding')):
        value = values[keyword]
        if value in ('yes', 'all', 'local'):
            caps.append(prefix + '-local')
        if value in ('yes', 'all', 'remote'):
            caps.append(prefix + '-remote')
    if values['allowagentforwarding'] == 'yes':
        caps.append('agent')
    if values['x11forwarding'] == 'yes':
        caps.append('x11')
    if values['gatewayports'] != 'no':
        caps.append('gatewayports')
    return caps


def account_groups(passwd, group):
    """``getent passwd`` and ``getent group`` (as the getent module returns them) -> {user: [groups]}."""
    gid_names = {}
    members = {}
    for name, fields in (group or {}).items():
        fields = list(fields or [])
        if len(fields) > 1:
            gid_names.setdefault(str(fields[1]), name)
        for member in (fields[2] if len(fields) > 2 and fields[2] else '').split(','):
            if member:
                members.setdefault(member, set()).add(name)
    out = {}
    for user, fields in (passwd or {}).items():
        fields = list(fields or [])
        names = set(members.get(user, set()))
        if len(fields) > 2 and str(fields[2]) in gid_names:
            names.add(gid_names[str(fields[2])])
        out[user] = sorted(names)
    return out


# ---------------------------------------------------------------- banner and limits

BANNER_MAX = 4096


def banner_problems(lines):
    """Why the login banner cannot be used: it must be a list of lines of printable text, not all blank.

    No backslash: agetty expands backslash escapes in /etc/issue (e.g. backslash-n, backslash-l).
    """
    if isinstance(lines, str) or not isinstance(lines, (list, tuple)):
        return ['must be a list of lines']
    if [line for line in lines if not isinstance(line, str)]:
        return ['every line must be a string']
    if not ''.join(lines).strip():
        return ['must not be empty: systems holding ePHI show a legal notice before login']
    problems = []
    if sum(len(line) + 1 for line in lines) > BANNER_MAX:
        problems.append('is longer than %d characters' % BANNER_MAX)
    bad = sorted(set(c for line in lines for c in line if not c.isprintable() or c == '\\'))
    if bad:
        problems.append('contains characters that are not printable text on one line (or a backslash, which agetty '
                        'expands in /etc/issue): %s' % ', '.join(repr(c) for c in bad))
    return problems


def banner_file_text(lines):
    """The content of /etc/issue, /etc/issue.net and the Banner: the lines without trailing blanks,
    leading and trailing blank lines dropped, one final newline."""
    lines = [str(line).rstrip() for line in (lines if isinstance(lines, (list, tuple)) else [lines])]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return '\n'.join(lines) + '\n'


MAX_STARTUPS_RE = re.compile(r'^([0-9]{1,4})(?::([0-9]{1,3}):([0-9]{1,4}))?$')


def max_startups_problems(value, limit_start=10, limit_full=60):
    """Why a MaxStartups value is not start[:rate:full] at the CIS value (10:30:60) or stricter."""
    match = MAX_STARTUPS_RE.match(str(value)) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if not match:
        return ['must be "start:rate:full" (e.g. 10:30:60) or a number']
    start = int(match.group(1))
    rate = int(match.group(2)) if match.group(2) else 100
    full = int(match.group(3)) if match.group(3) else start
    problems = []
    if not 1 <= start <= limit_start:
        problems.append('start must be from 1 to %d (CIS: 10:30:60 or stricter)' % limit_start)
    if not 1 <= rate <= 100:
        problems.append('rate must be from 1 to 100 (percent)')
    if not start <= full <= limit_full:
        problems.append('full must be from start to %d (CIS: 10:30:60 or stricter)' % limit_full)
    return problems


def max_startups_value(value):
    """MaxStartups as sshd -T prints it (start:rate:full), for the drop-in and the comparison."""
    match = MAX_STARTUPS_RE.match(str(value))
    if not match:
        return str(value)
    start = int(match.group(1))
    if not match.group(2):
        return '%d:100:%d' % (start, start)
    return '%d:%d:%d' % (start, int(match.group(2)), int(match.group(3)))
