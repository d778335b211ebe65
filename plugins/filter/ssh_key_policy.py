# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters of the ssh_key_policy role: declared-key validation, lockout checks and evidence.

They run on the controller and are thin wrappers around
plugins/module_utils/ssh_keys.py, ssh_policy.py and ssh_key_policy_controls.py
(unit tested there).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.ephi.safeguards.plugins.plugin_utils.lazy import lazy, lazy_value

# plugins/module_utils/ssh_key_policy_controls.py, ssh_keys.py, ssh_mfa.py and ssh_policy.py, imported when a
# filter runs (plugin_utils/lazy.py); their constants are read in the filters that need them.
build_controls = lazy('ssh_key_policy_controls', 'build_controls')
validate_declared = lazy('ssh_keys', 'validate_declared')
exempt_blocks = lazy('ssh_mfa', 'exempt_blocks')
methods_for = lazy('ssh_mfa', 'methods_for')
mfa_problems = lazy('ssh_mfa', 'mfa_problems')
mfa_users = lazy('ssh_mfa', 'mfa_users')
pam_sshd = lazy('ssh_mfa', 'pam_sshd')
account_groups = lazy('ssh_policy', 'account_groups')
algorithm_problems = lazy('ssh_policy', 'algorithm_problems')
banner_file_text = lazy('ssh_policy', 'banner_file_text')
banner_problems = lazy('ssh_policy', 'banner_problems')
connection_specs = lazy('ssh_policy', 'connection_specs')
extra_access_lists = lazy('ssh_policy', 'extra_access_lists')
extra_settings_problems = lazy('ssh_policy', 'extra_settings_problems')
forwarding_blocks = lazy('ssh_policy', 'forwarding_blocks')
forwarding_groups_problems = lazy('ssh_policy', 'forwarding_groups_problems')
kex_algorithms = lazy('ssh_policy', 'kex_algorithms')
kex_problems = lazy('ssh_policy', 'kex_problems')
key_in_use = lazy('ssh_policy', 'key_in_use')
lockout_problems = lazy('ssh_policy', 'lockout_problems')
max_startups_problems = lazy('ssh_policy', 'max_startups_problems')
max_startups_value = lazy('ssh_policy', 'max_startups_value')
parse_ssh_connection = lazy('ssh_policy', 'parse_ssh_connection')
per_spec_drift = lazy('ssh_policy', 'per_spec_drift')
sshd_config_plan = lazy('sshd_config_file', 'plan')
sshd_config_broken_value = lazy('sshd_config_file', 'broken_value')


def _plain(value):
    """Deep-copy templated data into plain Python types (2.19 data tagging)."""
    if isinstance(value, dict):
        return dict((to_native(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        return value
    return to_native(value)


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def ssh_key_policy_validate(users, allowed_types=None, rsa_min_bits=3072, allow_shared_keys=False, emergency_user=None):
    if users is None:
        users = []
    try:
        policy = {
            'allowed_types': _plain(allowed_types) if allowed_types else list(lazy_value('ssh_keys', 'STRONG_KEY_TYPES')),
            'rsa_min_bits': int(rsa_min_bits),
            'allow_shared_keys': bool(allow_shared_keys),
        }
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError('ssh_key_policy_validate: bad policy: %s' % to_native(exc))
    return validate_declared(_plain(users), policy, _utcnow(), emergency_user=_plain(emergency_user) or None)


def ssh_key_policy_lockout(validated, login_user, login_info, allow_users=None, allow_groups=None,
                           deny_users=None, deny_groups=None, key_in_use=None, extra_settings=None, mfa=None):
    """``mfa``: {enabled, exempt, ssh_connection} (Ansible's SSH_CONNECTION, '' when not over SSH)."""
    extra = extra_access_lists(_plain(extra_settings or {}))
    mfa = _plain(mfa) if mfa else None
    if mfa:
        connection = parse_ssh_connection(mfa.get('ssh_connection') or '')
        mfa['client_addr'] = connection['addr'] if connection else ''
    return lockout_problems(_plain(login_user), _plain(validated), _plain(login_info or {}),
                            _plain(allow_users or []) + extra['allowusers'], _plain(allow_groups or []) + extra['allowgroups'],
                            _plain(deny_users or []) + extra['denyusers'], _plain(deny_groups or []) + extra['denygroups'],
                            in_use=_plain(key_in_use) if key_in_use else None, mfa=mfa)


def ssh_key_policy_key_in_use(journal_json, user, ssh_connection):
    return key_in_use(_plain(journal_json or ''), _plain(user), parse_ssh_connection(_plain(ssh_connection or '')))


def ssh_key_policy_input_problems(settings, policy_keywords=None):
    """``settings``: {ciphers, macs, kex_algorithms, kex_classical_algorithms, extra_settings,
    forwarding_groups, banner, max_startups} -> ['variable: problem', ...]."""
    settings = _plain(settings or {})
    problems = []
    for name, allowed in (('ciphers', lazy_value('ssh_policy', 'STRONG_CIPHERS')), ('macs', lazy_value('ssh_policy', 'STRONG_MACS')),
                          ('kex_algorithms', lazy_value('ssh_policy', 'PQ_KEX'))):
        if name in settings:
            problems.extend('ssh_key_policy_%s: %s' % (name, p) for p in algorithm_problems(settings[name], allowed))
    if settings.get('kex_classical_algorithms'):
        problems.extend('ssh_key_policy_kex_classical_algorithms: %s' % p
                        for p in algorithm_problems(settings['kex_classical_algorithms'], lazy_value('ssh_policy', 'CLASSICAL_KEX')))
    checks = (('forwarding_groups', forwarding_groups_problems), ('banner', banner_problems),
              ('max_startups', max_startups_problems))
    for name, check in checks:
        if name in settings:
            problems.extend('ssh_key_policy_%s: %s' % (name, p) for p in check(settings[name]))
    if 'extra_settings' in settings:
        problems.extend('ssh_key_policy_extra_settings: %s' % p
                        for p in extra_settings_problems(settings['extra_settings'], _plain(policy_keywords or [])))
    return problems


def ssh_key_policy_connection_specs(passwd, ssh_connection, extra_addresses=None):
    return connection_specs(_plain(passwd or {}), parse_ssh_connection(_plain(ssh_connection or '')),
                            _plain(extra_addresses or []))


def ssh_key_policy_per_spec(text, wanted, specs=None, error=None):
    return per_spec_drift(_plain(text or ''), _plain(wanted or {}), specs=_plain(specs or []), error=_plain(error or ''))


def ssh_key_policy_controls(probes, policy):
    """Named probes + the role's policy -> the evidence records (plugins/module_utils/ssh_key_policy_controls.py).

    A probe ``accounts`` ({passwd, group}: getent's facts) becomes ``account_groups`` ({user: [groups]}).
    """
    probes = _plain(probes or {})
    accounts = probes.pop('accounts', None)
    if isinstance(accounts, dict) and isinstance(accounts.get('passwd'), dict) and isinstance(accounts.get('group'), dict):
        probes['account_groups'] = account_groups(accounts['passwd'], accounts['group'])
    return build_controls(probes, _plain(policy or {}))


def ssh_key_policy_kex(configured, classical=None, supported=''):
    """The KexAlgorithms to render: the post-quantum list, then the classical one, less what ``ssh -Q kex`` lacks."""
    return kex_algorithms(_plain(configured or []), _plain(classical or []), _plain(supported or ''))


def ssh_key_policy_rendered(settings):
    """{banner, max_startups, forwarding_groups, kex_algorithms, mfa, mfa_exempt} -> what the role writes:
    {banner (file text), max_startups (start:rate:full), forwarding_blocks, kex_problems, mfa_blocks}."""
    settings = _plain(settings or {})
    return {
        'banner': banner_file_text(settings.get('banner', '')),
        'max_startups': max_startups_value(settings.get('max_startups', '')),
        'forwarding_blocks': forwarding_blocks(settings.get('forwarding_groups') or []),
        'kex_problems': kex_problems(settings.get('kex_algorithms') or [], []),
        'mfa_blocks': exempt_blocks(settings.get('mfa_exempt') or []) if settings.get('mfa') else [],
    }


def ssh_key_policy_mfa_problems(settings, declared_users=None):
    """{mfa, exempt, secrets, generate, deny, unlock_time, usersfile, handoff_dir} -> ['variable: problem'] (no secret quoted)."""
    return mfa_problems(_plain(settings or {}), _plain(declared_users or []))


def ssh_key_policy_mfa_users(declared_users, exempt=None):
    """Declared accounts that need a TOTP secret (all but those exempt from every address)."""
    return mfa_users(_plain(declared_users or []), _plain(exempt or []))


def ssh_key_policy_mfa_methods(user, addr, mfa, exempt=None):
    """The AuthenticationMethods sshd should apply to USER from ADDR."""
    return methods_for(_plain(user), _plain(addr), bool(mfa), _plain(exempt or []))


def ssh_key_policy_pam_sshd(text, mfa, usersfile, deny=5, unlock_time=900):
    """/etc/pam.d/sshd with (or, for a managed file, without) the key + TOTP auth stack."""
    return pam_sshd(_plain(text or ''), bool(mfa), _plain(usersfile), int(deny), int(unlock_time))


def ssh_key_policy_store_files(users, store_dir, template='authorized_keys.j2'):
    """The ephi.safeguards.file_set items of the central key store: one file per declared user (the keys of
    ssh_key_policy_validate's ``users``, in their order), rendered from TEMPLATE, which reads the user's name from
    ``template_destpath`` (file_set renders every template item with the same variables)."""
    store_dir = _plain(store_dir)
    return [{'dest': '%s/%s' % (store_dir, user), 'template': _plain(template)} for user in _plain(users or {})]


def ssh_key_policy_planned(changed_paths, dropin, pam, store_files):
    """What the plan (a check-mode file_set of the drop-in, the PAM stack and the key store) found to differ:
    {dropin: bool, pam: bool, store: [the items of STORE_FILES that differ]} from its ``changed_paths``."""
    changed = set(_plain(changed_paths or []))
    return {
        'dropin': _plain(dropin) in changed,
        'pam': _plain(pam) in changed,
        'store': [item for item in _plain(store_files or []) if item.get('dest') in changed],
    }


def ssh_key_policy_sshd_config_stale(text, settings, extra_settings=None, include=None, dropin=''):
    """False only when sshd_config's TEXT (host_probe's read of it) is already what the
    ssh_policy_sshd_config module would leave (the same plan() of module_utils/sshd_config_file.py),
    so that the role's check-mode run of that module can be skipped. Errs towards True (run the
    module, which then decides or fails clearly): no text (a missing or unread file), text that was
    not valid UTF-8 (host_probe replaced it), a value the module refuses, a plan error."""
    if text is None:
        return True
    text = to_native(text)
    settings, extra_settings, include = _plain(settings), _plain(extra_settings or {}), _plain(include)
    if u'\ufffd' in text or sshd_config_broken_value(include, settings, extra_settings) is not None:
        return True
    try:
        return sshd_config_plan(text, settings, extra_settings, include, _plain(dropin))['content'] != text
    except (lazy_value('sshd_config_file', 'SshdConfigError'), TypeError, ValueError):
        return True


class FilterModule(object):
    def filters(self):
        return {
            'ssh_key_policy_validate': ssh_key_policy_validate,
            'ssh_key_policy_lockout': ssh_key_policy_lockout,
            'ssh_key_policy_key_in_use': ssh_key_policy_key_in_use,
            'ssh_key_policy_input_problems': ssh_key_policy_input_problems,
            'ssh_key_policy_connection_specs': ssh_key_policy_connection_specs,
            'ssh_key_policy_per_spec': ssh_key_policy_per_spec,
            'ssh_key_policy_controls': ssh_key_policy_controls,
            'ssh_key_policy_kex': ssh_key_policy_kex,
            'ssh_key_policy_rendered': ssh_key_policy_rendered,
            'ssh_key_policy_mfa_problems': ssh_key_policy_mfa_problems,
            'ssh_key_policy_mfa_users': ssh_key_policy_mfa_users,
            'ssh_key_policy_mfa_methods': ssh_key_policy_mfa_methods,
            'ssh_key_policy_pam_sshd': ssh_key_policy_pam_sshd,
            'ssh_key_policy_store_files': ssh_key_policy_store_files,
            'ssh_key_policy_planned': ssh_key_policy_planned,
            'ssh_key_policy_sshd_config_stale': ssh_key_policy_sshd_config_stale,
        }
