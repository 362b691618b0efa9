"""TLS certificates and signing keys for the API server, made at start-up.

Models what ``kubeadm init`` puts in ``/etc/kubernetes/pki``: a cluster CA,
a serving certificate for the API server signed by it (valid for
``127.0.0.1`` and ``localhost``), and the key that signs ServiceAccount
tokens.  Clients trust the CA through the kubeconfig's
``certificate-authority-data``.

TLS is not optional: ``kubectl`` (client-go) never sends a bearer token over
plain HTTP, so a server that wants to authenticate must speak HTTPS.

Simplified: EC P-256 keys (fast to generate; kube-apiserver accepts them, its
default is RSA), one-year certificates, no client certificates, no rotation.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class PKI:
    """PEM files written to a directory, and the token signing key."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    token_key_pem: bytes  # private key (PEM) that signs ServiceAccount tokens
    token_public_pem: bytes


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name | None,
                 issuer_key: ec.EllipticCurvePrivateKey, *, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer or name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=365))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.DNSName("kubernetes"),
            x509.DNSName("kubernetes.default.svc"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_pki(directory: str | Path) -> PKI:
    """A fresh CA, serving certificate and token key, written under ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("fromscratch-ca", ca_key, None, ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _certificate("kube-apiserver", server_key, ca.subject, ca_key, ca=False)
    token_key = ec.generate_private_key(ec.SECP256R1())
    paths = PKI(ca_cert=directory / "ca.crt", server_cert=directory / "apiserver.crt",
                server_key=directory / "apiserver.key", token_key_pem=_pem_key(token_key),
                token_public_pem=token_key.public_key().public_bytes(
                    serialization.Encoding.PEM,
                    serialization.PublicFormat.SubjectPublicKeyInfo))
    paths.ca_cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.server_cert.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths.server_key.write_bytes(_pem_key(server_key))
    paths.server_key.chmod(0o600)
    return paths
