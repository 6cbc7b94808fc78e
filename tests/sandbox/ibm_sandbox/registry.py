"""Debian's docker-registry (CNCF distribution 2.8) behind the IBM registry front: its config and
the RS256 certificate whose key signs the bearer tokens of the sandbox token service.
"""

import datetime
import json
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

SERVICE = "registry"


def ensure_signing_cert(registry_dir):
    """RSA key + self-signed cert (the registry's whole rootcertbundle); made once per sandbox dir."""
    key_path = os.path.join(registry_dir, "signing.key")
    cert_path = os.path.join(registry_dir, "signing.crt")
    if os.path.exists(key_path) and os.path.exists(cert_path):
        return key_path, cert_path
    os.makedirs(registry_dir, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sandbox registry token signer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with open(cert_path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def storage_dir(registry_dir):
    return os.path.join(registry_dir, "storage")


def write_config(registry_dir, backend_port, realm, issuer):
    """Config for `docker-registry serve`: plain HTTP on loopback (only the TLS front talks to it)."""
    path = os.path.join(registry_dir, "config.yml")
    cert_path = os.path.join(registry_dir, "signing.crt")
    # Written as JSON, which is YAML too: no quoting pitfalls for paths.
    config = {
        "version": 0.1,
        "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": storage_dir(registry_dir)}, "delete": {"enabled": True},
                    "cache": {"blobdescriptor": "inmemory"}},
        "http": {"addr": f"127.0.0.1:{backend_port}", "secret": "sandbox-upload-state-secret",
                 "headers": {"X-Content-Type-Options": ["nosniff"]}},
        "auth": {"token": {"realm": realm, "service": SERVICE, "issuer": issuer, "rootcertbundle": cert_path}},
    }
    with open(path, "w") as handle:
        json.dump(config, handle, indent=1)
    return path


def has_image(registry_dir, reference):
    """True when `repo:tag` is already in the registry's filesystem storage (a restart keeps it)."""
    repository, _, tag = reference.rpartition(":")
    link = os.path.join(storage_dir(registry_dir), "docker", "registry", "v2", "repositories", repository,
                        "_manifests", "tags", tag, "current", "link")
    return os.path.exists(link)
