"""Sandbox PKI: one CA and one loopback server certificate shared by every sandbox service.

The files live in the sandbox directory and are made at first start; a restart reuses them,
so a CA path handed to a client stays valid for the life of the directory.
"""

import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

VALIDITY = datetime.timedelta(days=825)


def _write(path, data, mode=0o600):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _issue_ca(now):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ibm_dedicated.registry sandbox CA")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _issue_server(ca_key, ca_cert, now):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def ensure_pki(directory):
    """Create (once) and return the sandbox PKI paths.

    Returns a dict with absolute paths: ``ca_cert`` (PEM), ``server_cert``, ``server_key``
    (EC P-256, PKCS#8) and ``cert_dir`` (a folder holding only ``ca.crt``, the layout that
    skopeo's ``--cert-dir`` expects).
    """
    pki_dir = os.path.abspath(os.path.join(directory, "pki"))
    paths = {
        "ca_cert": os.path.join(pki_dir, "ca.crt"),
        "server_cert": os.path.join(pki_dir, "server.crt"),
        "server_key": os.path.join(pki_dir, "server.key"),
        "cert_dir": os.path.join(pki_dir, "certs.d"),
    }
    if all(os.path.exists(p) for p in paths.values()):
        return paths
    os.makedirs(paths["cert_dir"], exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, ca_cert = _issue_ca(now)
    key, cert = _issue_server(ca_key, ca_cert, now)
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    _write(paths["server_key"], _key_pem(key))
    _write(paths["server_cert"], cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(os.path.join(paths["cert_dir"], "ca.crt"), ca_pem, 0o644)
    _write(paths["ca_cert"], ca_pem, 0o644)
    return paths
