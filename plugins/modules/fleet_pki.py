#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the ephi.safeguards project
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: fleet_pki
short_description: A small certificate authority on the controller for the fleet's RELP over TLS
version_added: 1.2.0
author: ephi.safeguards maintainers (@ephi-safeguards)
description:
  - Runs on the controller (delegated to localhost, once per play). Keeps a CA and one certificate per host in O(dir)
    for the mutual TLS between the hosts (C(ephi.safeguards.log_forward)) and the log host
    (C(ephi.safeguards.log_host)).
  - Makes O(dir) (mode 0700) when missing, the CA key C(ca.key) and certificate C(ca.crt) when missing, and for each
    of O(names) C(<name>.key) and C(<name>.crt) when missing, not signed by the current CA, not matching their key,
    naming other names or expiring within O(renew_days).
  - Keys are ECDSA P-256, written with mode 0600 and never returned. For a PKI of your own, do not use this module; give
    the roles the paths of your files instead.
options:
  dir:
    description: Directory on the controller for the CA and the host certificates.
    type: path
    required: true
  names:
    description: Host names to issue certificates for (the name peers address the host by; it is also the file name).
    type: list
    elements: str
    required: true
  ca_common_name:
    description: Common name of a new CA.
    type: str
    default: ephi.safeguards fleet CA
  days:
    description: Validity of a new host certificate in days.
    type: int
    default: 397
  ca_days:
    description: Validity of a new CA certificate in days.
    type: int
    default: 3650
  renew_days:
    description: Reissue a host certificate that expires within this many days.
    type: int
    default: 30
requirements:
  - cryptography (a dependency of ansible-core)
notes:
  - Supports check mode (reports what it would issue) and diff mode is not applicable.
'''

EXAMPLES = r'''
- name: Issue the fleet's certificates
  ephi.safeguards.fleet_pki:
    dir: /home/alice/ephi-pki
    names: "{{ groups['all'] }}"
  delegate_to: localhost
  run_once: true
  become: false
'''

RETURN = r'''
ca_cert:
  description: Path of the CA certificate.
  returned: always
  type: str
issued:
  description: Names (re)issued in this run, with the reason.
  returned: always
  type: dict
  sample: {host1: missing}
not_after:
  description: Expiry (UTC, ISO 8601) of each host certificate after this run (absent in check mode for new ones).
  returned: always
  type: dict
'''

import datetime
import os
import tempfile
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.ephi.safeguards.plugins.module_utils.fleet_pki import issue_reason, name_problem

CRYPTO_IMPORT_ERROR = None
try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:
    CRYPTO_IMPORT_ERROR = traceback.format_exc()


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def not_after_of(cert):
    value = getattr(cert, 'not_valid_after_utc', None)
    return value if value is not None else cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def write_private(path, data):
    """Write DATA to PATH atomically, mode 0600 from the start."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.tmp-')
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
        os.close(fd)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def new_key():
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def load(path, loader):
    try:
        with open(path, 'rb') as fh:
            return loader(fh.read())
    except (IOError, OSError, ValueError):
        return None


def make_ca(params):
    key = new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, params['ca_common_name'])])
    now = utcnow()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=params['ca_days']))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_host(name, ca_key, ca_cert, days):
    key = new_key()
    now = utcnow()
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def host_state(name, ca_cert, cert, key):
    if cert is None or key is None:
        return None
    try:
        ca_cert.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        signed = cert.issuer == ca_cert.subject
    except Exception:  # pylint: disable=broad-except
        signed = False
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    matches = (cert.public_key().public_bytes(serialization.Encoding.PEM, pub)
               == key.public_key().public_bytes(serialization.Encoding.PEM, pub))
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    return {'signed_by_ca': signed, 'key_matches': matches, 'names': names, 'want_names': [name],
            'not_after': not_after_of(cert).timestamp()}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dir=dict(type='path', required=True),
            names=dict(type='list', elements='str', required=True),
            ca_common_name=dict(type='str', default='ephi.safeguards fleet CA'),
            days=dict(type='int', default=397),
            ca_days=dict(type='int', default=3650),
            renew_days=dict(type='int', default=30),
        ),
        supports_check_mode=True,
    )
    if CRYPTO_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib('cryptography'), exception=CRYPTO_IMPORT_ERROR)
    params = module.params
    problems = [p for p in (name_problem(n) for n in params['names']) if p]
    if problems:
        module.fail_json(msg='names: ' + '; '.join(problems))
    if min(params['days'], params['ca_days']) < 1 or params['renew_days'] < 0 or params['renew_days'] >= params['days']:
        module.fail_json(msg='days and ca_days must be positive, renew_days between 0 and days - 1')
    pki = params['dir']
    issued = {}
    not_after = {}
    changed = False
    if not os.path.isdir(pki):
        changed = True
        if not module.check_mode:
            os.makedirs(pki, 0o700)
    elif os.stat(pki).st_mode & 0o077:
        changed = True
        if not module.check_mode:
            os.chmod(pki, 0o700)
    ca_key_path = os.path.join(pki, 'ca.key')
    ca_crt_path = os.path.join(pki, 'ca.crt')
    ca_key = load(ca_key_path, lambda d: serialization.load_pem_private_key(d, None))
    ca_cert = load(ca_crt_path, x509.load_pem_x509_certificate)
    if ca_key is None or ca_cert is None:
        if os.path.exists(ca_key_path) or os.path.exists(ca_crt_path):
            module.fail_json(msg='%s has an unreadable or incomplete CA (ca.key, ca.crt): fix or remove both' % pki)
        changed = True
        issued['ca'] = 'missing'
        if module.check_mode:
            module.exit_json(changed=True, ca_cert=ca_crt_path, issued=dict(issued, **{n: 'missing' for n in params['names']}),
                             not_after={})
        ca_key, ca_cert = make_ca(params)
        write_private(ca_key_path, key_pem(ca_key))
        write_private(ca_crt_path, ca_cert.public_bytes(serialization.Encoding.PEM))
    now = utcnow().timestamp()
    for name in sorted(set(params['names'])):
        crt_path = os.path.join(pki, name + '.crt')
        key_path = os.path.join(pki, name + '.key')
        cert = load(crt_path, x509.load_pem_x509_certificate)
        key = load(key_path, lambda d: serialization.load_pem_private_key(d, None))
        reason = issue_reason(host_state(name, ca_cert, cert, key), now, params['renew_days'])
        if reason is None:
            not_after[name] = not_after_of(cert).isoformat()
            continue
        issued[name] = reason
        changed = True
        if module.check_mode:
            continue
        key, cert = make_host(name, ca_key, ca_cert, params['days'])
        write_private(key_path, key_pem(key))
        write_private(crt_path, cert.public_bytes(serialization.Encoding.PEM))
        not_after[name] = not_after_of(cert).isoformat()
    module.exit_json(changed=changed, ca_cert=ca_crt_path, issued=issued, not_after=not_after)


if __name__ == '__main__':
    main()
