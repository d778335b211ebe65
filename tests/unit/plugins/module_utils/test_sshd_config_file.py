# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Issue 13 item 4: the policy's global settings in sshd_config itself
(plugins/module_utils/sshd_config_file.py) and the ssh-key-policy-config-file control."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ephi.safeguards.plugins.module_utils import ssh_key_policy_controls as controls
from ansible_collections.ephi.safeguards.plugins.module_utils import sshd_config_file as scf

INCLUDE = 'Include /etc/ssh/sshd_config.d/*.conf'
DROPIN = '/etc/ssh/sshd_config.d/00-ephi-ssh-key-policy.conf'
# The active lines of Debian 12's stock /etc/ssh/sshd_config (openssh-server 9.2), with some of its comments.
STOCK = ('# This is the sshd server system-wide configuration file.  See\n'
         '# sshd_config(5) for more information.\n'
         '\n'
         'Include /etc/ssh/sshd_config.d/*.conf\n'
         '\n'
         '#Port 22\n'
         '#HostKey /etc/ssh/ssh_host_rsa_key\n'
         'KbdInteractiveAuthentication no\n'
         'UsePAM yes\n'
         'X11Forwarding yes\n'
         'PrintMotd no\n'
         'AcceptEnv LANG LC_*\n'
         'Subsystem\tsftp\t/usr/lib/openssh/sftp-server\n'
         '#Match User anoncvs\n'
         '#\tX11Forwarding no\n')
SETTINGS = {
    'AuthorizedKeysFile': '/etc/ssh/authorized_keys/%u',
    'PubkeyAuthentication': True,
    'KbdInteractiveAuthentication': False,
    'PermitRootLogin': False,
    'MaxAuthTries': 3,
    'LogLevel': 'VERBOSE',
    'AllowUsers': '',
    'AllowGroups': 'admins ops',
    'RequiredRSASize': '',
    'HostKey': ['/etc/ssh/ssh_host_ed25519_key', '/etc/ssh/ssh_host_rsa_key'],
    'X11Forwarding': False,
    'MaxStartups': '10:30:60',
}


def active(content):
    return [line for line in content.splitlines() if line.strip() and not line.lstrip().startswith('#')]


def run(text, settings=None, extra=None):
    return scf.plan(text, SETTINGS if settings is None else settings, extra, INCLUDE, DROPIN)


def test_stock_file_gets_the_block_after_the_include_and_x11_yes_is_disabled():
    result = run(STOCK)
    lines = active(result['content'])
    assert lines[0] == INCLUDE
    block = lines[1:lines.index('UsePAM yes')]
    assert block == ['AuthorizedKeysFile /etc/ssh/authorized_keys/%u', 'PubkeyAuthentication yes',
                     'KbdInteractiveAuthentication no', 'PermitRootLogin no', 'MaxAuthTries 3', 'LogLevel VERBOSE',
                     'X11Forwarding no', 'MaxStartups 10:30:60',
                     # Debian's own line agrees with the policy: kept as it is.
                     'KbdInteractiveAuthentication no']
    assert 'X11Forwarding yes' not in lines
    assert '#X11Forwarding yes  # disabled by ephi.safeguards:ssh_key_policy: the policy sets X11Forwarding no' \
        in result['content'].splitlines()
    assert [d['line'] for d in result['disabled']] == [10]
    # The admin's other lines stay, in their order.
    assert lines[-4:] == ['UsePAM yes', 'PrintMotd no', 'AcceptEnv LANG LC_*', 'Subsystem\tsftp\t/usr/lib/openssh/sftp-server']
    assert result['changes'] == ['line 10 disabled (the policy sets X11Forwarding no): X11Forwarding yes', 'managed block added']


def test_plan_is_idempotent():
    first = run(STOCK)
    second = run(first['content'])
    assert second['content'] == first['content']
    assert second['changes'] == [] and second['disabled'] == []


def test_changed_policy_updates_the_block_in_place_and_disables_the_now_contradicting_line():
    first = run(STOCK)
    mfa = dict(SETTINGS, KbdInteractiveAuthentication=True)
    second = run(first['content'], mfa)
    lines = active(second['content'])
    assert 'KbdInteractiveAuthentication yes' in lines
    assert 'KbdInteractiveAuthentication no' not in lines
    assert second['changes'][-1] == 'managed block updated'
    assert second['content'].count(scf.BEGIN) == 1
    assert run(second['content'], mfa)['content'] == second['content']


def test_accumulating_keywords_are_not_copied_and_their_global_lines_are_disabled():
    # A second HostKey line would load and offer the key twice (measured), a
    # second AllowGroups line would add its groups to the policy's.
    text = STOCK + 'HostKey /etc/ssh/ssh_host_ecdsa_key\nAllowGroups staff\n'
    result = run(text)
    lines = active(result['content'])
    assert not [line for line in lines if line.split()[0] in ('HostKey', 'AllowGroups')]
    assert '# Only in the drop-in: AllowGroups, AllowUsers, HostKey (sshd adds up every line of these keywords).' \
        in result['content'].splitlines()
    assert sorted(d['keyword'] for d in result['disabled']) == ['AllowGroups', 'HostKey', 'X11Forwarding']


def test_block_does_not_change_with_the_values_of_accumulating_keywords():
    # AllowUsers set or not: sshd_config stays as it is (only the drop-in changes).
    first = run(STOCK)['content']
    assert run(first, dict(SETTINGS, AllowUsers='ephi-admin ephi-carol', HostKey=['/k']))['changes'] == []


def test_accumulating_extra_settings_are_not_copied_and_the_admins_lines_stay():
    result = run(STOCK, extra={'AcceptEnv': 'TZ', 'Ciphers': 'aes256-ctr'})
    lines = active(result['content'])
    assert 'AcceptEnv LANG LC_*' in lines and 'AcceptEnv TZ' not in lines
    assert 'Ciphers aes256-ctr' in lines


def test_include_is_added_first_when_missing_and_a_later_copy_is_disabled():
    text = 'Port 22\nInclude /etc/ssh/sshd_config.d/*.conf\nX11Forwarding no\n'
    result = run(text)
    lines = active(result['content'])
    assert lines[0] == INCLUDE and lines.count(INCLUDE) == 1
    assert 'Port 22' in lines and 'X11Forwarding no' in lines
    assert result['changes'][0] == 'added "%s" as the first line' % INCLUDE
    assert run(result['content'])['content'] == result['content']


def test_no_include_wanted_puts_the_block_first():
    result = scf.plan('UsePAM yes\n', {'X11Forwarding': False}, None, None, DROPIN)
    assert active(result['content']) == ['X11Forwarding no', 'UsePAM yes']


def test_admins_match_blocks_are_kept_and_contradictions_there_are_reported():
    text = STOCK + 'Match User backup\n    X11Forwarding yes\n    PermitRootLogin no\n    HostKey /x\n'
    result = run(text)
    tail = result['content'].splitlines()[-4:]
    assert tail == ['Match User backup', '    X11Forwarding yes', '    PermitRootLogin no', '    HostKey /x']
    assert [(c['keyword'], c['line'], c['match']) for c in result['match_conflicts']] == [
        ('X11Forwarding', 17, 'Match User backup')]
    # Global lines after the block stay global: the block is before the first Match.
    content = result['content']
    assert content.index(scf.END) < content.index('Match User backup')


@pytest.mark.parametrize('line', ['x11forwarding no', 'X11Forwarding=no', '  X11Forwarding   NO', 'X11Forwarding "no"'])
def test_same_value_in_another_spelling_is_no_contradiction(line):
    result = run(INCLUDE + '\n' + line + '\n')
    assert result['disabled'] == [] and line in result['content'].splitlines()


def test_paths_are_compared_case_sensitively():
    result = run(INCLUDE + '\nAuthorizedKeysFile /etc/ssh/Authorized_Keys/%u\n')
    assert [d['keyword'] for d in result['disabled']] == ['AuthorizedKeysFile']


def test_block_not_directly_after_the_include_is_moved():
    first = run(STOCK)['content']
    moved = first.replace(INCLUDE + '\n', INCLUDE + '\nPort 2222\n')
    result = run(moved)
    assert active(result['content'])[:2] == [INCLUDE, 'AuthorizedKeysFile /etc/ssh/authorized_keys/%u']
    assert result['changes'] == ['managed block moved after the Include']


def test_unterminated_block_is_refused():
    with pytest.raises(scf.SshdConfigError, match='has no'):
        run(INCLUDE + '\n' + scf.BEGIN + ': x\nX11Forwarding no\n')


def test_found_lists_active_lines_of_managed_keywords_outside_the_block():
    result = run(run(STOCK)['content'] + 'Match all\nMaxAuthTries 3\n')
    assert [(f['keyword'], f['match']) for f in result['found']] == [
        ('KbdInteractiveAuthentication', None), ('MaxAuthTries', 'Match all')]


def test_wanted_lines_renders_like_the_drop_in_template():
    assert scf.wanted_lines({'A': True, 'B': False, 'C': 0, 'D': '', 'E': None, 'F': [], 'G': ['x', 'y']},
                            {'b2': 1, 'A1': 'z', 'N': None}) == [
        ('A', 'yes'), ('B', 'no'), ('C', '0'), ('G', 'x'), ('G', 'y'), ('A1', 'z'), ('b2', '1')]


# ---------------------------------------------------------------- the control

def probe(**kwargs):
    base = {'changed': False, 'changes': [], 'disabled': [], 'match_conflicts': [], 'found': [],
            'block': [['PermitRootLogin', 'no'], ['MaxStartups', '10:30:60'], ['Ciphers', 'aes256-ctr']],
            'sshd_effective': {'permitrootlogin': ['no'], 'maxstartups': ['10:30:60'], 'ciphers': ['aes128-ctr']}}
    base.update(kwargs)
    return {'sshd_config_file': base}


POLICY = {'settings': {'PermitRootLogin': False, 'MaxStartups': '10:30:60', 'HostKey': ['/k'], 'AllowUsers': ''},
          'sshd_config_path': '/etc/ssh/sshd_config'}


def test_control_passes_when_file_and_sshd_agree():
    rec = controls.ssh_key_policy_config_file(probe(), POLICY)
    assert rec['status'] == 'pass', rec['observed']
    # Extra settings (Ciphers here) are not compared with sshd -T; HostKey is named as drop-in only.
    assert '2 global settings' in rec['observed'] and 'HostKey only in the drop-in' in rec['observed']
    assert 'AllowUsers' not in rec['observed']


def test_control_fails_naming_the_contradicting_line():
    rec = controls.ssh_key_policy_config_file(probe(changed=True, changes=['line 90 disabled (x): X11Forwarding yes'],
                                                    disabled=[{'line': 90, 'text': 'X11Forwarding yes',
                                                               'why': 'the policy sets X11Forwarding no'}]), POLICY)
    assert rec['status'] == 'fail'
    assert 'line 90 "X11Forwarding yes" contradicts the policy (the policy sets X11Forwarding no)' in rec['observed']


def test_control_fails_when_sshd_differs_from_the_file():
    rec = controls.ssh_key_policy_config_file(probe(sshd_effective={'permitrootlogin': ['yes'], 'maxstartups': ['10:30:60']}),
                                              POLICY)
    assert rec['status'] == 'fail' and 'PermitRootLogin: /etc/ssh/sshd_config says no, sshd -T yes' in rec['observed']


def test_control_fails_on_a_contradiction_in_the_admins_match_block():
    rec = controls.ssh_key_policy_config_file(probe(match_conflicts=[
        {'line': 120, 'text': 'X11Forwarding yes', 'match': 'Match User backup', 'keyword': 'X11Forwarding', 'wanted': 'no'}]),
        POLICY)
    assert rec['status'] == 'fail' and 'line 120 "X11Forwarding yes" in its own block "Match User backup"' in rec['observed']


@pytest.mark.parametrize('changed', [True, False])   # verify registers it with changed_when: false
def test_control_fails_when_the_block_is_missing(changed):
    rec = controls.ssh_key_policy_config_file(probe(changed=changed, changes=['managed block added']), POLICY)
    assert rec['status'] == 'fail' and 'managed block added' in rec['observed']


@pytest.mark.parametrize('result', [None, {'failed': True, 'msg': 'cannot read'}, {'skipped': True}, {'changed': False}])
def test_control_fails_when_the_file_was_not_examined(result):
    rec = controls.ssh_key_policy_config_file({'sshd_config_file': result}, POLICY)
    assert rec['status'] == 'fail' and rec['observed'].startswith('NOT examined')


def test_control_fails_without_sshd_t():
    rec = controls.ssh_key_policy_config_file(probe(sshd_effective={}, sshd_error='no hostkeys available'), POLICY)
    assert rec['status'] == 'fail' and 'no hostkeys available' in rec['observed']


def test_broken_value_names_the_first_value_with_a_line_break_or_nul():
    include = 'Include /etc/ssh/sshd_config.d/*.conf'
    assert scf.broken_value(include, {'MaxAuthTries': 3, 'AllowGroups': ['a', 'b']}, {'LoginGraceTime': 30}) is None
    assert scf.broken_value(include, {'Banner': '/etc/x\nPermitRootLogin yes'}) == '/etc/x\nPermitRootLogin yes'
    assert scf.broken_value(include, {'AllowGroups': ['a', 'b\x00']}) == 'b\x00'
    assert scf.broken_value(include, {}, {'X': 'y\r'}) == 'y\r'
    assert scf.broken_value(include + '\n', {}) == include + '\n'
