# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The read of ephi.safeguards.ssh_policy_sshd_config: sshd_config planned against the policy
(module_utils/sshd_config_file.py) and, with ``effective``, sshd's global ``sshd -T``. The module
writes the plan; another module takes the read-only part as its option ``sshd_config`` (``attach``,
module_utils/riders.py), with ``per_spec``: ``sshd -T -C`` for every login-capable account (the
probe's passwd of the same run) from every address, as the ssh_key_policy role's verify reads them
in the key audit's run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools

from ansible.module_utils.common.text.converters import to_native, to_text

from ansible_collections.ephi.safeguards.plugins.module_utils import riders
from ansible_collections.ephi.safeguards.plugins.module_utils.ssh_keys import parse_sshd_t
from ansible_collections.ephi.safeguards.plugins.module_utils.ssh_policy import (
    ERROR_MARK,
    SPEC_MARK,
    connection_specs,
    kex_algorithms,
    parse_ssh_connection,
)
from ansible_collections.ephi.safeguards.plugins.module_utils.sshd_config_file import (
    ACCUMULATING,
    SshdConfigError,
    broken_value,
    plan,
    wanted_lines,
)

ENVIRON = {'LANGUAGE': 'C', 'LC_ALL': 'C'}

# ssh_policy_sshd_config's options that read (the module adds validate and backup, which write).
READ_SPEC = dict(
    path=dict(type='path', default='/etc/ssh/sshd_config'),
    include=dict(type='str', required=True),
    settings=dict(type='dict', required=True),
    extra_settings=dict(type='dict', default={}),
    dropin=dict(type='str', default=''),
    sshd_bin=dict(type='path'),
    effective=dict(type='bool', default=False),
)

# The option ``sshd_config`` of another module: READ_SPEC and ``per_spec``.
RIDER_SPEC = dict((name, dict(spec)) for name, spec in READ_SPEC.items())
RIDER_SPEC['per_spec'] = dict(type='dict', options=dict(
    connection=dict(type='str', default=''),
    extra_addresses=dict(type='list', elements='str', default=[]),
    keywords=dict(type='list', elements='str', required=True),
))


class SshdConfigReadError(Exception):
    """sshd_config cannot be read or planned, or sshd is missing."""


def query_kex(module, ssh_bin=None, probe=None):
    """``ssh -Q kex``'s output: the key exchange algorithms the installed OpenSSH knows ('' when it
    cannot answer; openssh-server depends on the client of its own version). PROBE: host_probe's
    answer of the same run; when it asked this very command, its answer is taken, not asked again."""
    ssh = ssh_bin or module.get_bin_path('ssh')
    if not ssh:
        return ''
    if isinstance(probe, dict) and not probe.get('failed'):
        for answer in probe.get('commands') or []:
            if answer.get('argv') == [ssh, '-Q', 'kex']:
                return (answer.get('stdout') or '') if answer.get('rc') == 0 else ''
    rc, out, dummy = module.run_command([ssh, '-Q', 'kex'], environ_update=ENVIRON)
    return out if rc == 0 else ''


def supported_kex(settings, supported):
    """``(settings, compared)``: SETTINGS (sshd keyword -> value) with their KexAlgorithms less the
    names SUPPORTED (``query_kex``'s text) lacks, in order, as the ssh_key_policy role renders the
    list (ssh_policy.kex_algorithms: all of them when SUPPORTED is empty), and that value; SETTINGS
    and None when SUPPORTED is None or they have no KexAlgorithms."""
    settings = dict(settings or {})
    value = settings.get('KexAlgorithms')
    if supported is None or value is None:
        return settings, None
    names = ','.join(value if isinstance(value, list) else [value]).split(',')
    settings['KexAlgorithms'] = ','.join(kex_algorithms([n.strip() for n in names if n.strip()], [], supported))
    return settings, settings['KexAlgorithms']


def sshd_path(module, params):
    sshd = params['sshd_bin'] or module.get_bin_path('sshd', opt_dirs=['/usr/sbin', '/sbin'])
    if not sshd:
        raise SshdConfigReadError('sshd is not installed (no sshd in PATH, /usr/sbin or /sbin)')
    return sshd


def read(module, params):
    """``(out, original, content)``: the module's result for PARAMS (READ_SPEC; ``changed``: the file
    differs from the plan, whose text is CONTENT), the file's text ORIGINAL; or SshdConfigReadError.
    MODULE runs ``sshd -T`` (with ``effective``)."""
    path = params['path']
    broken = broken_value(params['include'], params['settings'], params['extra_settings'])
    if broken is not None:
        raise SshdConfigReadError('a value contains a line break or NUL: %r' % (broken,))
    try:
        with open(path, 'rb') as handle:
            original = to_text(handle.read(), errors='surrogate_or_strict')
    except (IOError, OSError) as exc:
        raise SshdConfigReadError('cannot read %s: %s' % (path, to_native(exc)))
    try:
        result = plan(original, params['settings'], params['extra_settings'], params['include'], params['dropin'])
    except SshdConfigError as exc:
        raise SshdConfigReadError('%s: %s' % (path, to_native(exc)))
    changed = result['content'] != original
    out = dict(changed=changed, changes=result['changes'], disabled=result['disabled'],
               match_conflicts=result['match_conflicts'], found=result['found'],
               block=[[k, v] for k, v in wanted_lines(params['settings'], params['extra_settings'])
                      if k.lower() not in ACCUMULATING])
    if changed and not result['changes']:
        out['changes'] = ['line ends normalised']
    if params['effective']:
        rc, stdout, err = module.run_command([sshd_path(module, params), '-T'], environ_update=ENVIRON)
        out['sshd_effective'] = parse_sshd_t(stdout) if rc == 0 else {}
        if rc != 0:
            out['sshd_error'] = err.strip() or 'sshd -T failed (rc %d)' % rc
    return out, original, result['content']


def per_spec(module, sshd, specs, keywords):
    """``sshd -T -C SPEC`` for each of SPECS, as the text ssh_policy.parse_per_spec reads: a SPEC_MARK
    line per specification, then its lines of KEYWORDS (any case), or its output as ERROR_MARK lines
    when sshd refused it."""
    wanted = set(k.lower() for k in keywords)
    lines = []
    for spec in specs:
        lines.append(SPEC_MARK + spec)
        rc, out, err = module.run_command([sshd, '-T', '-C', spec], environ_update=ENVIRON)
        if rc == 0:
            lines.extend(line for line in out.splitlines() if line.split(' ', 1)[0].lower() in wanted and ' ' in line)
        else:
            lines.extend(ERROR_MARK + line for line in ((out + err).strip() or 'sshd -T -C failed (rc %d)' % rc).splitlines())
    return ''.join(line + '\n' for line in lines)


def compare(module, params, probe=None, kex=None):
    """The rider's work: ``read`` (never a write) of PARAMS' settings, their KexAlgorithms less the
    names KEX (``query_kex``'s text, or None) lacks, and with ``per_spec`` its answer as ``per_spec``:
    ``specs`` (every login-capable account of PROBE's passwd, host_probe's answer in the same run,
    from loopback, the client address of ``connection`` (SSH_CONNECTION's text) and
    ``extra_addresses``) and ``stdout`` (see per_spec), or ``failed`` and ``msg`` when the probe
    listed no accounts."""
    params = dict(params, settings=supported_kex(params['settings'], kex)[0])
    out = read(module, params)[0]
    wanted = params['per_spec']
    if wanted is not None:
        passwd = probe.get('passwd') if isinstance(probe, dict) and not probe.get('failed') else None
        if not isinstance(passwd, dict) or not passwd:
            # (A host has root at least: an empty list is a probe not asked for passwd.)
            out['per_spec'] = {'failed': True, 'msg': 'the accounts are not known: the probe (passwd) did not list them'}
        else:
            specs = connection_specs(passwd, parse_ssh_connection(wanted['connection']), wanted['extra_addresses'])
            out['per_spec'] = {'specs': specs, 'stdout': per_spec(module, sshd_path(module, params), specs, wanted['keywords'])}
    return out


def attach(module, probe=None, kex=None, option='sshd_config'):
    """Run the read that MODULE's option OPTION asks for (RIDER_SPEC) after PROBE (the ``probe``
    answer of the same run, for the accounts), KexAlgorithms compared less the names KEX (``ssh -Q
    kex``'s text, or None: as given) lacks, and return ssh_policy_sshd_config's result in check
    mode (no diff), with ``per_spec``, with every later exit_json and fail_json of MODULE as
    ``sshd_config`` (module_utils/riders.py); ``failed`` and ``msg`` when it could not run. Nothing
    when the option is not set."""
    return riders.attach(module, option, RIDER_SPEC, functools.partial(compare, probe=probe, kex=kex),
                         (SshdConfigReadError,), 'ssh_policy_sshd_config')
