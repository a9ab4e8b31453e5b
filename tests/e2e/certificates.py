"""What make e2e --snapshot reads of a cluster's certificates, and the near-expiry snapshot it makes.

A restored cluster must have credentials of its own; these helpers read them from its nodes (the API
server's certificate, the CA's fingerprint) and, for the near-expiry case, re-date every certificate
kubeadm wrote on a running cluster before it is captured: same keys, subjects and extensions, signed
by the same CA keys, valid for only a few hours more. Nothing here prints a key.
"""

from __future__ import annotations

import base64
import datetime
import subprocess
import warnings

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.utils import CryptographyDeprecationWarning

from kindling.contract import HELPER_VAR_MOUNT

PKI = "/etc/kubernetes/pki"
KUBECONFIGS = ("admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf", "kubelet.conf")
KUBELET_CLIENT = "/var/lib/kubelet/pki/kubelet-client-current.pem"
# The CAs kubeadm makes (by file, under PKI, without .crt); every other certificate there is a leaf.
CAS = ("ca", "front-proxy-ca", "etcd/ca")


def read(node: str, path: str) -> bytes | None:
    done = subprocess.run(["docker", "exec", node, "cat", path], capture_output=True)
    return done.stdout if done.returncode == 0 else None


def write(node: str, path: str, content: bytes) -> None:
    subprocess.run(["docker", "exec", "-i", node, "sh", "-c", f"umask 077; cat > {path}"], input=content, check=True)


def certificate(pem: bytes) -> x509.Certificate:
    with warnings.catch_warnings():  # kubeadm's CAs before 1.20 have serial 0: read them all the same
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return x509.load_pem_x509_certificate(pem)


def fingerprint(pem: bytes) -> str:
    return certificate(pem).fingerprint(hashes.SHA256()).hex()


def from_image(image: str, path: str) -> bytes | None:
    """A file of a (snapshot) image, read without starting its entrypoint or any network (nor a copy of the
    image's own /var: kindling/contract.py's HELPER_VAR_MOUNT, so not a file below /var)."""
    done = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--mount", HELPER_VAR_MOUNT, "--entrypoint", "cat", image, path],
        capture_output=True,
    )
    return done.stdout if done.returncode == 0 else None


def names_and_addresses(pem: bytes) -> list[str]:
    """The DNS names and IP addresses a server certificate is for."""
    alternative = certificate(pem).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [*alternative.get_values_for_type(x509.DNSName), *map(str, alternative.get_values_for_type(x509.IPAddress))]


def days_left(pem: bytes) -> float:
    remaining = certificate(pem).not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    return remaining.total_seconds() / 86400


def redated(pem: bytes, issuer_key_pem: bytes, hours: float) -> bytes:
    """``pem`` issued again by the same issuer key, with the same key, names and extensions, valid ``hours`` more."""
    old = certificate(pem)
    key = serialization.load_pem_private_key(issuer_key_pem, password=None)
    builder = (
        x509.CertificateBuilder()
        .subject_name(old.subject)
        .issuer_name(old.issuer)
        .public_key(old.public_key())
        # kubeadm before 1.20 gave its CAs serial 0, which RFC 5280 (and cryptography) refuse in a new one.
        .serial_number(old.serial_number if old.serial_number > 0 else x509.random_serial_number())
        .not_valid_before(old.not_valid_before_utc)
        .not_valid_after(datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=hours))
    )
    for extension in old.extensions:
        builder = builder.add_extension(extension.value, extension.critical)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def leaves(node: str) -> list[str]:
    listed = subprocess.run(
        ["docker", "exec", node, "find", PKI, "-name", "*.crt"], capture_output=True, text=True, check=True
    )
    return [path for path in listed.stdout.split() if path.removeprefix(f"{PKI}/").removesuffix(".crt") not in CAS]


def expire_soon(control_plane: str, workers: list[str], hours: float) -> int:
    """Re-date every certificate kubeadm and the kubelets hold on a running cluster; returns how many."""
    keys = {name: read(control_plane, f"{PKI}/{name}.key") for name in CAS}
    by_subject = {certificate(read(control_plane, f"{PKI}/{name}.crt")).subject: name for name in CAS}
    count = 0
    for name in CAS:
        write(control_plane, f"{PKI}/{name}.crt", redated(read(control_plane, f"{PKI}/{name}.crt"), keys[name], hours))
        count += 1
    for path in leaves(control_plane):
        pem = read(control_plane, path)
        write(control_plane, path, redated(pem, keys[by_subject[certificate(pem).issuer]], hours))
        count += 1
    for conf in KUBECONFIGS:
        text = read(control_plane, f"/etc/kubernetes/{conf}")
        if text is None:
            continue
        document = yaml.safe_load(text)
        for user in document.get("users", []):
            embedded = user["user"].get("client-certificate-data")
            if embedded:
                pem = redated(base64.b64decode(embedded), keys["ca"], hours)
                user["user"]["client-certificate-data"] = base64.b64encode(pem).decode()
                count += 1
        write(control_plane, f"/etc/kubernetes/{conf}", yaml.safe_dump(document).encode())
    for node in [control_plane, *workers]:
        bundle = read(node, KUBELET_CLIENT)
        if bundle:
            cert_end = bundle.index(b"-----END CERTIFICATE-----") + len(b"-----END CERTIFICATE-----\n")
            write(node, KUBELET_CLIENT, redated(bundle[:cert_end], keys["ca"], hours) + bundle[cert_end:])
            count += 1
    return count
