# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The evidence controls of the ssh_key_policy role: one function per control id.

Each control is a pure function ``control(probes, policy)`` returning one
``evidence.record``.

``probes`` (what the role observed on the host, registered by name):

- ``ssh_key_audit``: the result of the ``ephi.safeguards.ssh_key_audit``
  module (check mode): ``sshd_effective`` (``sshd -T``, lower-case keyword ->
  list of values), ``sshd_drift``, ``host_keys``, ``active_keys``,
  ``weak_keys``, ``invalid_lines``, ``ignored_keys``, ``store_users``,
  ``authorized_keys_files``; or ``failed`` and ``msg``.
- ``sshd_per_spec``: the ``ssh_key_policy_per_spec`` filter over ``sshd -T -C``
  for every login-capable account and address: ``drift`` (``setting``,
  ``found``), ``errors`` (what could not be evaluated) and ``specs`` (how many
  were).

``policy`` (the role's variables, without the ``ssh_key_policy_`` prefix):
``key_types``, ``rsa_min_bits``, ``max_auth_tries``, ``login_grace_time``,
``client_alive_interval``, ``client_alive_count_max``, ``host_key_types``,
``store_dir``, ``emergency_user``, and ``validated`` (the
``ssh_key_policy_validate`` filter over ``ssh_key_policy_users``); for the
side channel, banner and key exchange controls also ``forwarding_groups``,
``banner_text``, ``banner_files``, ``kex_classical_algorithms``,
``max_sessions`` and ``max_startups``.

More probes: ``account_groups`` ({user: [groups]}, from ``getent``), ``banner_files``
(host_probe's result with the banner files' sha256 checksums, or the registered ``sha256sum``
of them) and ``pam_sshd`` (host_probe's result with /etc/pam.d/sshd in ``contents``, or the
registered slurp of it).

A control that could not examine its object fails: the audit failed, was
skipped or missing, ``sshd -T`` printed nothing, or an account/address
combination could not be evaluated.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib

from ansible_collections.ephi.safeguards.plugins.module_utils.evidence import probe_failed, record, text
from ansible_collections.ephi.safeguards.plugins.module_utils.ssh_keys import effective_drift
from ansible_collections.ephi.safeguards.plugins.module_utils.sshd_config_file import ACCUMULATING
from ansible_collections.ephi.safeguards.plugins.module_utils.ssh_mfa import (exempt_blocks, methods_for, mfa_users,
                                                                              pam_stack_problems)
from ansible_collections.ephi.safeguards.plugins.module_utils.ssh_policy import (CLASSICAL_KEX, PQ_KEX, SPEC_KEYWORDS,
                                                                                 banner_file_text, max_startups_value)

KEY_SOURCE_KEYWORDS = ('AuthorizedKeysFile', 'AuthorizedKeysCommand', 'TrustedUserCAKeys', 'AuthorizedPrincipalsFile',
                       'AuthorizedPrincipalsCommand')


def _list(value):
    return list(value) if isinstance(value, (list, tuple)) else []


def _audit(probes):
    audit = (probes or {}).get('ssh_key_audit')
    return audit if isinstance(audit, dict) else {}


def _broken(probes):
    """Why the audit cannot be used, or None: it failed, was skipped, or ``sshd -T`` printed nothing."""
    audit = (probes or {}).get('ssh_key_audit')
    if probe_failed(audit) or 'sshd_effective' not in audit:
        return text(audit.get('msg', 'ssh_key_audit failed')) if isinstance(audit, dict) else 'ssh_key_audit failed'
    if not audit['sshd_effective']:
        # The module reports a failed `sshd -T` as drift of the pseudo-setting 'sshd -T'.
        why = [d.get('found') for d in _list(audit.get('sshd_drift')) if d.get('setting') == 'sshd -T']
        return 'sshd -T printed no effective configuration' + (': %s' % text(why[0]) if why and why[0] else '')
    return None


def _with_reason(observed, probes):
    """OBSERVED, plus why the audit could not be used when it could not: the
    key controls then say what they did not examine, not only '0 keys'."""
    why = _broken(probes)
    return '%s; NOT examined: %s' % (observed, why) if why else observed


def _per_spec(probes):
    """The per account/address evaluation; a missing one is an error (never a pass)."""
    per_spec = (probes or {}).get('sshd_per_spec')
    if not isinstance(per_spec, dict):
        return {'drift': [], 'errors': ['the per account/address evaluation (sshd -T -C) did not run'], 'specs': 0}
    return {'drift': _list(per_spec.get('drift')), 'errors': _list(per_spec.get('errors')),
            'specs': per_spec.get('specs', 0)}


def _drift(probes):
    """Global drift, then per account/address drift of settings that did not already drift globally."""
    global_drift = _list(_audit(probes).get('sshd_drift'))
    seen = set(d.get('setting') for d in global_drift)
    return global_drift + [d for d in _per_spec(probes)['drift'] if d.get('setting') not in seen]


def _drift_of(probes, names):
    return [d for d in _drift(probes) if d.get('setting') in names]


def _differs(drift):
    return '; '.join('%s is %s' % (text(d.get('setting')), text(d.get('found'))) for d in drift)


def _unique(values):
    """Jinja's ``unique`` (case-insensitive for strings, first occurrence kept)."""
    out, seen = [], set()
    for value in values:
        folded = value.lower() if isinstance(value, str) else value
        if folded not in seen:
            seen.add(folded)
            out.append(value)
    return out


def declared_fingerprints(validated):
    """User -> declared fingerprints; nothing is declared while the declaration has errors."""
    validated = validated if isinstance(validated, dict) else {}
    if validated.get('errors') or not isinstance(validated.get('users'), dict):
        return {}
    return dict((user, [k.get('fingerprint') for k in _list((spec or {}).get('keys'))])
                for user, spec in validated['users'].items())


def _sshd_record(cid, safeguard, hipaa, stig, check, names, probes):
    """A control over sshd keywords: their effective values, or the drift from the policy.

    Keywords sshd applies per connection (SPEC_KEYWORDS) are also checked for
    every account and address (Match blocks).
    """
    broken = _broken(probes)
    drift = _drift_of(probes, names)
    per_spec = _per_spec(probes)
    login = bool(set(names) & set(SPEC_KEYWORDS))
    unexamined = per_spec['errors'] if login else []
    if broken:
        observed = broken
    else:
        effective = _audit(probes)['sshd_effective']
        if drift:
            observed = 'differs from the policy: ' + _differs(drift)
        else:
            observed = 'sshd -T: ' + '; '.join('%s %s' % (name.lower(), ' '.join(text(v) for v in _list(effective[name.lower()])))
                                               for name in names if name.lower() in effective)
        if unexamined:
            observed += '; NOT examined: ' + '; '.join(text(e) for e in unexamined)
        elif login and not drift:
            observed += '; the same for %s account/address combinations (sshd -T -C)' % text(per_spec['specs'])
    status = 'fail' if broken or drift or unexamined else 'pass'
    return record(cid, safeguard, hipaa, stig, check, observed, status)


def ssh_key_policy_keys_only(probes, policy):
    names = ('PubkeyAuthentication', 'PasswordAuthentication', 'KbdInteractiveAuthentication', 'PermitEmptyPasswords',
             'HostbasedAuthentication', 'GSSAPIAuthentication', 'KerberosAuthentication')
    if not policy.get('mfa'):
        return _sshd_record(
            'ssh-key-policy-keys-only', 'person_or_entity_authentication', '164.312(d)', 'RHEL-08-020330',
            'sshd accepts public keys only: PasswordAuthentication, KbdInteractiveAuthentication and PermitEmptyPasswords no',
            names, probes)
    # MFA: keyboard-interactive is on, for the second factor only; that is
    # still "no password" only when sshd's PAM auth stack cannot ask one.
    base = _sshd_record(
        'ssh-key-policy-keys-only', 'person_or_entity_authentication', '164.312(d)', 'RHEL-08-020330',
        'sshd accepts public keys (plus the TOTP second factor) only: PasswordAuthentication and PermitEmptyPasswords no; '
        'KbdInteractiveAuthentication yes for the second factor, with a PAM auth stack for sshd that cannot ask the '
        'Unix password (no @include common-auth, no pam_unix, no nullok; pam_oath)', names, probes)
    pam, why = _pam_text(probes)
    observed = base['observed']
    failed = base['status'] == 'fail'
    if why:
        observed += '; NOT examined: ' + why
        failed = True
    else:
        bad = [p for p in pam_stack_problems(pam, policy.get('mfa_usersfile'), policy.get('mfa_deny', 5),
                                             policy.get('mfa_unlock_time', 900))
               if 'faillock' not in p]
        if bad:
            observed += '; the PAM stack of sshd: ' + '; '.join(bad)
            failed = True
        else:
            observed += '; the PAM auth stack of sshd asks a TOTP code only (pam_oath), never the Unix password'
    return record(base['id'], base['safeguard'], base['hipaa'], base['stig'], base['check'], observed,
                  'fail' if failed else 'pass')


def ssh_key_policy_no_root_login(probes, policy):
    return _sshd_record(
        'ssh-key-policy-no-root-login', 'unique_user_identification', '164.312(a)(2)(i)', 'RHEL-08-010550',
        'PermitRootLogin no: administrators log in as themselves', ('PermitRootLogin',), probes)


def ssh_key_policy_strong_keys(probes, policy):
    check = 'PubkeyAcceptedAlgorithms is limited to %s; RequiredRSASize %s; MaxAuthTries %s; LoginGraceTime %s' % (
        ', '.join(text(t) for t in _list(policy.get('key_types'))), text(policy.get('rsa_min_bits')),
        text(policy.get('max_auth_tries')), text(policy.get('login_grace_time')))
    return _sshd_record(
        'ssh-key-policy-strong-keys', 'person_or_entity_authentication', '164.312(d)', 'RHEL-08-010290', check,
        ('PubkeyAcceptedAlgorithms', 'RequiredRSASize', 'MaxAuthTries', 'LoginGraceTime', 'AllowUsers', 'AllowGroups'),
        probes)


def ssh_key_policy_transport(probes, policy):
    return _sshd_record(
        'ssh-key-policy-transport', 'transmission_security', '164.312(e)(1), 164.312(e)(2)(i), 164.312(e)(2)(ii)',
        'RHEL-08-010291, RHEL-08-010290', 'Only strong ciphers, etm MACs and key exchange algorithms are offered',
        ('Ciphers', 'MACs', 'KexAlgorithms'), probes)


def ssh_key_policy_idle_logoff(probes, policy):
    # ClientAlive only drops dead links: a connected, idle client answers the
    # keepalives, so this is no automatic logoff (HIPAA 164.312(a)(2)(iii)).
    # The idle logoff of a live session is the tmux role's tmux-idle-logoff.
    check = ('sshd drops dead connections (a client that stops answering): ClientAliveInterval %s, '
             'ClientAliveCountMax %s. Not an idle logoff: a connected idle client answers the keepalives '
             '(automatic logoff is tmux-idle-logoff)' % (
                 text(policy.get('client_alive_interval')), text(policy.get('client_alive_count_max'))))
    return _sshd_record(
        'ssh-key-policy-idle-logoff', 'access_control', '164.312(a)(1)', 'RHEL-08-010200, RHEL-08-010201', check,
        ('ClientAliveInterval', 'ClientAliveCountMax'), probes)


def ssh_key_policy_login_audit(probes, policy):
    return _sshd_record(
        'ssh-key-policy-login-audit', 'audit_controls', '164.312(b), 164.308(a)(5)(ii)(C)', 'RHEL-08-010070',
        'LogLevel VERBOSE: every login is logged with the fingerprint of the key used', ('LogLevel',), probes)


def ssh_key_policy_host_keys(probes, policy):
    host_keys = [k for k in _list(_audit(probes).get('host_keys')) if isinstance(k, dict)]
    observed = '; '.join('%s %s %s %s' % (text(k.get('path')), text(k.get('type')), text(k.get('bits')),
                                          'WEAK' if k.get('weak') else 'ok') for k in host_keys) or 'no host key reported'
    observed = _with_reason(observed, probes)
    failed = (_broken(probes) or any(k.get('weak') for k in host_keys)
              or 'ssh-ed25519' not in [k.get('type') for k in host_keys]
              or _drift_of(probes, ('HostKey', 'HostKeyAlgorithms')))
    return record(
        'ssh-key-policy-host-keys', 'transmission_security', '164.312(e)(1)', 'RHEL-08-010290',
        'sshd loads only strong host keys (%s), including an Ed25519 key'
        % ', '.join(text(t) for t in _list(policy.get('host_key_types'))),
        observed, 'fail' if failed else 'pass')


def ssh_key_policy_central_store(probes, policy):
    audit = _audit(probes)
    declared = declared_fingerprints(policy.get('validated'))
    active = [k for k in _list(audit.get('active_keys')) if isinstance(k, dict)]
    undeclared = ['%s %s' % (text(k.get('user')), text(k.get('fingerprint'))) for k in active
                  if k.get('fingerprint') not in declared.get(k.get('user'), [])]
    # In the module's (sorted) order: the old template's set difference had no stable order.
    stale_users = []
    for user in _list(audit.get('store_users')):
        if user not in declared and user not in stale_users:
            stale_users.append(user)
    other_sources = _drift_of(probes, KEY_SOURCE_KEYWORDS)
    errors = _per_spec(probes)['errors']
    observed = '%d key(s) can log in for %s; AuthorizedKeysFile %s' % (
        len(active), ', '.join(text(u) for u in _unique([k.get('user') for k in active])) or 'nobody',
        ' '.join(text(p) for p in _list(audit.get('authorized_keys_files'))))
    if undeclared:
        observed += '; undeclared: ' + ', '.join(undeclared)
    if stale_users:
        observed += '; store files of undeclared users: ' + ', '.join(text(u) for u in stale_users)
    if other_sources:
        observed += '; other key sources: ' + _differs(other_sources)
    if errors:
        observed += '; NOT examined: ' + '; '.join(text(e) for e in errors)
    observed = _with_reason(observed, probes)
    failed = _broken(probes) or undeclared or stale_users or other_sources or errors
    return record(
        'ssh-key-policy-central-store', 'access_control', '164.312(a)(1)', 'RHEL-08-010500',
        'Only keys in the root-owned store %s can log in, and exactly the declared ones' % text(policy.get('store_dir')),
        observed, 'fail' if failed else 'pass')


def ssh_key_policy_no_weak_or_planted_keys(probes, policy):
    audit = _audit(probes)
    weak = [k for k in _list(audit.get('weak_keys')) + _list(audit.get('invalid_lines')) if isinstance(k, dict)]
    planted = [k for k in _list(audit.get('ignored_keys')) if isinstance(k, dict) and not k.get('declared')]
    found = ['%s %s%s' % (text(k.get('path')), text(k['fingerprint']) if 'fingerprint' in k else '?',
                          ' (%s)' % ', '.join(text(p) for p in _list(k.get('problems'))) if _list(k.get('problems')) else '')
             for k in weak + planted]
    observed = '%d weak/invalid, %d undeclared key(s) in ignored files' % (len(weak), len(planted))
    if found:
        observed += ': ' + '; '.join(found)
    observed = _with_reason(observed, probes)
    failed = _broken(probes) or weak or planted
    return record(
        'ssh-key-policy-no-weak-or-planted-keys', 'person_or_entity_authentication', '164.312(d)', 'RHEL-08-010040',
        "No weak, expired or unparseable key in files sshd reads, and no undeclared key lying in users' own authorized_keys",
        observed, 'fail' if failed else 'pass')


def ssh_key_policy_emergency_access(probes, policy):
    user = policy.get('emergency_user')
    check = 'Break-glass account %s has only expiring keys, logged by fingerprint' % (text(user) if user else '(none)')
    if not user:
        return record('ssh-key-policy-emergency-access', 'emergency_access', '164.312(a)(2)(ii)', '', check,
                      'no emergency account configured', 'not_applicable')
    keys = [k for k in _list(_audit(probes).get('active_keys')) if isinstance(k, dict) and k.get('user') == user]
    observed = '%d key(s) usable, expiring %s' % (len(keys), ', '.join(text(k.get('expiry_time')) for k in keys))
    observed = _with_reason(observed, probes)
    failed = _broken(probes) or not keys or any(k.get('expiry_time') is None for k in keys)
    return record('ssh-key-policy-emergency-access', 'emergency_access', '164.312(a)(2)(ii)', '', check,
                  observed, 'fail' if failed else 'pass')


# ---------------------------------------------------------------- issue 13: side channels, banner, PQ key exchange

SIDE_CHANNEL_KEYWORDS = ('AllowTcpForwarding', 'AllowAgentForwarding', 'AllowStreamLocalForwarding', 'X11Forwarding',
                         'PermitTunnel', 'GatewayPorts', 'PermitUserRC', 'PermitUserEnvironment', 'IgnoreRhosts',
                         'IgnoreUserKnownHosts', 'HostbasedAuthentication')


def allowed_forwarding(groups, forwarding_groups):
    """What an account in GROUPS may forward through the opt-ins, and through which groups."""
    kinds, through = set(), []
    for entry in _list(forwarding_groups):
        if isinstance(entry, dict) and entry.get('group') in (groups or []):
            kinds |= set(_list(entry.get('forward')))
            through.append(text(entry.get('group')))
    return kinds, through


def ssh_key_policy_side_channels(probes, policy):
    """No forwarding, tunnels, user rc/environment or rhosts for anyone; each account's
    forwarding (sshd -T -C) within what its opted-in groups allow."""
    opt_ins = [e for e in _list(policy.get('forwarding_groups')) if isinstance(e, dict)]
    check = ('No TCP, agent, unix-socket or X11 forwarding, tunnels, GatewayPorts, ~/.ssh/rc, user environment, '
             'rhosts or host-based trust; per account (sshd -T -C) nothing beyond the opt-ins: %s' % (
                 '; '.join('%s may forward %s (%s)' % (text(e.get('group')), ', '.join(text(k) for k in _list(e.get('forward'))),
                                                       text(e.get('reason'))) for e in opt_ins) or 'none'))
    base = _sshd_record('ssh-key-policy-side-channels', 'audit_controls', '164.312(b), 164.312(a)(1)',
                        'RHEL-08-040340, RHEL-08-010830', check, SIDE_CHANNEL_KEYWORDS, probes)
    per_spec = (probes or {}).get('sshd_per_spec')
    forwarding = per_spec.get('forwarding') if isinstance(per_spec, dict) else None
    groups_of = (probes or {}).get('account_groups')
    notes, beyond, unexamined = [], [], []
    if not isinstance(forwarding, dict) or not forwarding:
        unexamined.append('what each account can forward was not evaluated (sshd -T -C)')
    elif not isinstance(groups_of, dict):
        unexamined.append('the accounts\' groups could not be read (getent group)')
    else:
        for user in sorted(forwarding):
            caps = forwarding[user]
            if caps is None:
                unexamined.append('the forwarding of %s (sshd -T -C printed no forwarding keywords)' % text(user))
                continue
            kinds, through = allowed_forwarding(groups_of.get(user) or [], opt_ins)
            extra = [c for c in caps if c not in kinds]
            if extra:
                beyond.append('%s can forward %s' % (text(user), ', '.join(extra)))
            elif caps:
                notes.append('%s: %s (opted in through %s)' % (text(user), ', '.join(caps), ', '.join(through)))
            elif through:
                notes.append('%s: nothing although opted in through %s (DisableForwarding, e.g. the session gate)'
                             % (text(user), ', '.join(through)))
    observed = base['observed']
    if beyond:
        observed += '; beyond the opt-ins: ' + '; '.join(beyond)
    observed += '; accounts that can forward: ' + ('; '.join(notes) if notes else 'none')
    if unexamined:
        observed += '; NOT examined: ' + '; '.join(unexamined)
    status = 'fail' if base['status'] == 'fail' or beyond or unexamined else 'pass'
    return record(base['id'], base['safeguard'], base['hipaa'], base['stig'], base['check'], observed, status)


def ssh_key_policy_connection_limits(probes, policy):
    check = 'CIS limits: MaxStartups %s, MaxSessions %s, LoginGraceTime %s' % (
        text(max_startups_value(policy.get('max_startups'))), text(policy.get('max_sessions')), text(policy.get('login_grace_time')))
    return _sshd_record('ssh-key-policy-connection-limits', 'access_control', '164.312(a)(1)', 'RHEL-08-010200', check,
                        ('MaxStartups', 'MaxSessions', 'LoginGraceTime'), probes)


BANNER_FILES = ('/etc/issue', '/etc/issue.net')
PAM_SSHD = '/etc/pam.d/sshd'


def _banner_sums(result):
    """{path: sha256} of the banner files, or a reason it cannot be used: from host_probe's ``paths``
    (each with its sha256 checksum; none for a missing file, a link or anything not a regular file),
    or from the registered ``sha256sum`` of the files."""
    if isinstance(result, dict) and 'paths' in result and not probe_failed(result):
        paths = result['paths'] if isinstance(result['paths'], dict) else {}
        sums = dict((p, paths[p]['checksum']) for p in BANNER_FILES
                    if isinstance(paths.get(p), dict) and paths[p].get('checksum'))
        missing = [p for p in BANNER_FILES if p not in sums]
        if missing:
            return None, 'could not read %s (missing, or not a regular file)' % ', '.join(missing)
        return sums, None
    if not isinstance(result, dict) or probe_failed(result) or 'stdout' not in result:
        return None, 'the banner files were not read'
    sums = {}
    for line in text(result.get('stdout') or '').splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2:
            sums[parts[1].lstrip('*')] = parts[0]
    missing = [p for p in BANNER_FILES if p not in sums]
    if missing:
        return None, 'could not read %s%s' % (', '.join(missing), (': ' + text(result.get('stderr')).strip()) if result.get('stderr') else '')
    return sums, None


def ssh_key_policy_banner(probes, policy):
    check = ('A legal notice (authorized use only, activity recorded and monitored, no expectation of privacy) is '
             'shown before authentication: Banner %s, and the same text in %s' % (BANNER_FILES[1], ', '.join(BANNER_FILES)))
    base = _sshd_record('ssh-key-policy-banner', 'security_awareness', '164.308(a)(5)(ii)(A)', 'RHEL-08-010040', check,
                        ('Banner',), probes)
    banner = policy.get('banner_text')
    sums, why = _banner_sums((probes or {}).get('banner_files'))
    observed = base['observed']
    failed = base['status'] == 'fail'
    if not isinstance(banner, (list, tuple)) or not ''.join(text(line) for line in banner).strip():
        observed += '; no banner text is configured'
        failed = True
    elif why:
        observed += '; NOT examined: ' + why
        failed = True
    else:
        want = hashlib.sha256(banner_file_text(banner).encode('utf-8')).hexdigest()
        differ = [p for p in BANNER_FILES if sums[p] != want]
        if differ:
            observed += '; not the configured text: ' + ', '.join(differ)
            failed = True
        else:
            observed += '; %s hold the configured text (sha256 %s)' % (', '.join(BANNER_FILES), want[:16])
    return record(base['id'], base['safeguard'], base['hipaa'], base['stig'], base['check'], observed,
                  'fail' if failed else 'pass')


def ssh_key_policy_post_quantum_kex(probes, policy):
    classical = [a for a in _list(policy.get('kex_classical_algorithms')) if a in CLASSICAL_KEX]
    check = ('Key exchange is post-quantum hybrid only (%s, as the installed OpenSSH has them)%s' % (
        ', '.join(PQ_KEX), '; classical algorithms allowed for old clients: ' + ', '.join(classical) if classical else ''))
    broken = _broken(probes)
    hipaa = '164.312(e)(1), 164.312(e)(2)(ii)'
    if broken:
        return record('ssh-key-policy-post-quantum-kex', 'transmission_security', hipaa, '', check, broken, 'fail')
    offered = []
    for value in _list(_audit(probes)['sshd_effective'].get('kexalgorithms')):
        offered.extend(a for a in text(value).split(',') if a)
    pq = [a for a in offered if a in PQ_KEX]
    other = [a for a in offered if a not in PQ_KEX and a not in classical]
    observed = 'sshd -T kexalgorithms %s' % (','.join(offered) or '(none)')
    if other:
        observed += '; not post-quantum and not declared for old clients: ' + ', '.join(other)
    if not pq:
        observed += '; no post-quantum algorithm is offered'
    return record('ssh-key-policy-post-quantum-kex', 'transmission_security', hipaa, '', check, observed,
                  'fail' if other or not pq or not offered else 'pass')


# ---------------------------------------------------------------- issue 13: what scanners see

def ssh_key_policy_config_file(probes, policy):
    """sshd_config itself says what is in force: the probe ``sshd_config_file`` is the
    ``ssh_policy_sshd_config`` module in check mode with ``effective`` (global ``sshd -T``)."""
    path = text(policy.get('sshd_config_path') or '/etc/ssh/sshd_config')
    check = ('What scanners read is what is in force: %s holds the policy\'s global settings right after the Include '
             'of the drop-ins, each the same as sshd -T (global); no other line of it contradicts them, in its global '
             'part or in its own Match blocks' % path)
    args = ('ssh-key-policy-config-file', 'audit_controls', '164.312(b), 164.312(a)(1)', '', check)
    result = (probes or {}).get('sshd_config_file')
    if probe_failed(result) or 'found' not in result:
        why = text(result.get('msg', 'not read')) if isinstance(result, dict) else 'not read'
        return record(*(args + ('NOT examined: %s could not be read (%s)' % (path, why), 'fail')))
    effective = result.get('sshd_effective') if isinstance(result.get('sshd_effective'), dict) else {}
    if not effective:
        return record(*(args + ('NOT examined: sshd -T printed no effective configuration: %s'
                                % text(result.get('sshd_error') or 'not run'), 'fail')))
    settings = policy.get('settings') if isinstance(policy.get('settings'), dict) else {}
    problems = []
    if result.get('changed') or _list(result.get('changes')):
        for item in _list(result.get('disabled')):
            problems.append('line %s "%s" contradicts the policy (%s)'
                            % (text(item.get('line')), text(item.get('text')), text(item.get('why'))))
        others = [c for c in _list(result.get('changes')) if not text(c).startswith('line ')]
        if others:
            problems.append('not the policy\'s: %s' % '; '.join(text(c) for c in others))
    for item in _list(result.get('match_conflicts')):
        problems.append('line %s "%s" in its own block "%s" contradicts the policy (%s %s)' % (
            text(item.get('line')), text(item.get('text')), text(item.get('match')), text(item.get('keyword')),
            text(item.get('wanted'))))
    block = [b for b in _list(result.get('block')) if isinstance(b, (list, tuple)) and len(b) == 2]
    compared = [(k, v) for k, v in block if k in settings]
    for key, value in compared:
        for item in effective_drift(effective, {key: value}):
            problems.append('%s: %s says %s, sshd -T %s' % (text(key), path, text(value),
                                                            text(' '.join(text(f) for f in _list(item.get('found')))
                                                                 if isinstance(item.get('found'), list) else item.get('found'))))
    if not compared:
        problems.append('no policy setting was compared (the managed block is empty)')
    elsewhere = sorted(set(text(k) for k, v in settings.items()
                           if k.lower() in ACCUMULATING and v not in (None, '', [])))
    if problems:
        observed = '; '.join(problems)
    else:
        observed = ('%s: %d global settings of the policy, each the same as sshd -T (%s); no contradicting line'
                    % (path, len(compared), ', '.join(text(k) for k, v in compared)))
        if elsewhere:
            observed += '; %s only in the drop-in (sshd adds up every line of them) and in no line of %s' % (
                ', '.join(elsewhere), path)
    return record(*(args + (observed, 'fail' if problems else 'pass')))


# ---------------------------------------------------------------- issue 13: multi-factor authentication

def _pam_text(probes):
    """The text of /etc/pam.d/sshd from host_probe's ``contents`` or the registered slurp, or (None,
    why it cannot be used)."""
    result = (probes or {}).get('pam_sshd')
    if not probe_failed(result) and isinstance(result.get('contents'), dict):
        pam = result['contents'].get(PAM_SSHD)
        return (pam, None) if isinstance(pam, str) else (None, PAM_SSHD + ' could not be read')
    if probe_failed(result) or 'content' not in result:
        return None, '/etc/pam.d/sshd could not be read'
    try:
        return base64.b64decode(result['content']).decode('utf-8', 'replace'), None
    except (TypeError, ValueError):
        return None, '/etc/pam.d/sshd could not be decoded'


def _oath_users(probes):
    """Users with a line in pam_oath's users file, and the file's mode/owner, from the registered listing."""
    result = (probes or {}).get('oath_users')
    if probe_failed(result) or 'stdout' not in result or result.get('rc', 1) != 0:
        return None, None, 'the TOTP users file could not be read%s' % (
            (': ' + text(result.get('stderr')).strip()) if isinstance(result, dict) and result.get('stderr') else '')
    lines = text(result['stdout']).splitlines()
    return lines[0].strip() if lines else '', [u.strip() for u in lines[1:] if u.strip()], None


MFA_OFF = ('ssh_key_policy_mfa is false: sshd asks for a key only, no second factor; a stolen private key is a '
           'full login')


def _exemptions(policy):
    blocks = exempt_blocks(policy.get('mfa_exempt'))
    return '; '.join('%s (%s) %s' % (text(b['user']), text(b['reason']),
                                     'from ' + b['match'].split(' Address ', 1)[1] if ' Address ' in b['match']
                                     else 'from any address') for b in blocks) or 'none'


def ssh_key_policy_mfa(probes, policy):
    """Key + TOTP for every account but the explicit exemptions: per account and address (sshd -T -C),
    the PAM stack of sshd, and a secret for everyone who needs one."""
    cid, safeguard, hipaa = 'ssh-key-policy-mfa', 'person_or_entity_authentication', '164.312(d)'
    check = ('People log in with a key plus a TOTP code (AuthenticationMethods publickey,keyboard-interactive; '
             'pam_oath with the root-only secrets in %s); key alone only for the exemptions: %s'
             % (text(policy.get('mfa_usersfile')), _exemptions(policy)))
    if not policy.get('mfa'):
        return record(cid, safeguard, hipaa, '', check, MFA_OFF, 'not_applicable')
    base = _sshd_record(cid, safeguard, hipaa, '', check, ('KbdInteractiveAuthentication', 'UsePAM'), probes)
    observed, failed = [base['observed']], base['status'] == 'fail'
    per_spec = (probes or {}).get('sshd_per_spec')
    methods = per_spec.get('methods') if isinstance(per_spec, dict) else None
    exempt = _list(policy.get('mfa_exempt'))
    if not isinstance(methods, dict) or not methods:
        observed.append('NOT examined: the methods per account and address (sshd -T -C)')
        failed = True
    else:
        wrong, key_only = [], []
        for spec in sorted(methods):
            fields = dict(part.split('=', 1) for part in spec.split(',') if '=' in part)
            want = methods_for(fields.get('user'), fields.get('addr'), True, exempt)
            got = text(methods[spec])
            if got != want:
                wrong.append('%s from %s: %s (policy: %s)' % (text(fields.get('user')), text(fields.get('addr')), got, want))
            elif got == 'publickey':
                key_only.append('%s from %s' % (text(fields.get('user')), text(fields.get('addr'))))
        if wrong:
            observed.append('methods differ: ' + '; '.join(wrong))
            failed = True
        else:
            observed.append('%d account/address combinations need key + TOTP (sshd -T -C); key alone: %s'
                            % (len(methods) - len(key_only), ', '.join(key_only) or 'nobody'))
    pam, why = _pam_text(probes)
    if why:
        observed.append('NOT examined: ' + why)
        failed = True
    else:
        bad = pam_stack_problems(pam, policy.get('mfa_usersfile'), policy.get('mfa_deny', 5), policy.get('mfa_unlock_time', 900))
        if bad:
            observed.append('PAM stack of sshd: ' + '; '.join(bad))
            failed = True
        else:
            observed.append('PAM auth of sshd: pam_faillock + pam_oath, no password, no nullok')
    mode, present, why = _oath_users(probes)
    validated = policy.get('validated') if isinstance(policy.get('validated'), dict) else {}
    need = mfa_users(list((validated.get('users') or {}).keys()), exempt)
    if why:
        observed.append('NOT examined: ' + why)
        failed = True
    else:
        missing = [u for u in need if u not in present]
        if mode != '600 root':
            observed.append('the users file is %s, not 600 root' % (mode or 'unreadable'))
            failed = True
        if missing:
            observed.append('no TOTP secret for %s' % ', '.join(missing))
            failed = True
        else:
            observed.append('a TOTP secret for each of %s' % (', '.join(need) or 'nobody'))
    observed.append('exempt (key only): ' + _exemptions(policy))
    return record(cid, safeguard, hipaa, '', check, '; '.join(observed), 'fail' if failed else 'pass')


def ssh_key_policy_mfa_lockout(probes, policy):
    """Repeated wrong second factors lock the account for a while (pam_faillock in sshd's stack)."""
    cid, safeguard, hipaa = 'ssh-key-policy-mfa-lockout', 'person_or_entity_authentication', '164.312(d), 164.308(a)(5)(ii)(C)'
    check = ('%s wrong TOTP codes in a row lock the account for %s s (pam_faillock preauth/authfail around pam_oath '
             'in the sshd PAM stack, failures and locks logged to the journal)'
             % (text(policy.get('mfa_deny')), text(policy.get('mfa_unlock_time'))))
    if not policy.get('mfa'):
        return record(cid, safeguard, hipaa, 'RHEL-08-020010', check, MFA_OFF, 'not_applicable')
    pam, why = _pam_text(probes)
    if why:
        return record(cid, safeguard, hipaa, 'RHEL-08-020010', check, 'NOT examined: ' + why, 'fail')
    bad = [p for p in pam_stack_problems(pam, policy.get('mfa_usersfile'), policy.get('mfa_deny', 5),
                                         policy.get('mfa_unlock_time', 900)) if 'faillock' in p]
    if bad:
        return record(cid, safeguard, hipaa, 'RHEL-08-020010', check, 'PAM stack of sshd: ' + '; '.join(bad), 'fail')
    return record(cid, safeguard, hipaa, 'RHEL-08-020010', check,
                  'PAM stack of sshd: pam_faillock preauth and authfail deny=%s unlock_time=%s around pam_oath, '
                  'pam_faillock in account' % (text(policy.get('mfa_deny')), text(policy.get('mfa_unlock_time'))), 'pass')


CONTROLS = (
    ssh_key_policy_keys_only,
    ssh_key_policy_no_root_login,
    ssh_key_policy_strong_keys,
    ssh_key_policy_transport,
    ssh_key_policy_idle_logoff,
    ssh_key_policy_login_audit,
    ssh_key_policy_host_keys,
    ssh_key_policy_central_store,
    ssh_key_policy_no_weak_or_planted_keys,
    ssh_key_policy_emergency_access,
    ssh_key_policy_side_channels,
    ssh_key_policy_connection_limits,
    ssh_key_policy_banner,
    ssh_key_policy_post_quantum_kex,
    ssh_key_policy_config_file,
    ssh_key_policy_mfa,
    ssh_key_policy_mfa_lockout,
)


def build_controls(probes, policy):
    """The evidence records of the role, in report order."""
    probes = probes if isinstance(probes, dict) else {}
    policy = policy if isinstance(policy, dict) else {}
    return [control(probes, policy) for control in CONTROLS]
