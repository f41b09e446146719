"""Ed25519 signatures over evidence manifests.

A manifest is signed over its *canonical JSON*: keys sorted, no whitespace (``","`` and
``":"`` separators), non-ASCII characters written as themselves, encoded as UTF-8. Anyone can
re-create those bytes from the JSON document and check the signature with the public key; no
other library of ours is needed (``manage.py verify_manifest`` does it, so does a ten-line script
with any Ed25519 implementation).

The private key lives in one file (``settings.MANIFEST_SIGNING_KEY_FILE``), PEM/PKCS#8, created
with mode 0600 the first time it is needed or by ``manage.py generate_signing_key``.
"""

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

ALGORITHM = "Ed25519"
CANONICALIZATION = "JSON: keys sorted, no whitespace, UTF-8"


class SignatureError(Exception):
    """The signature does not verify, or the signed document is malformed. Message is for people."""


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short fingerprint: the first 16 hex digits of the SHA-256 of the raw 32-byte key."""
    return hashlib.sha256(_raw_public(public_key)).hexdigest()[:16]


@dataclass(frozen=True)
class PublicKeyInfo:
    key_id: str
    raw_base64: str  # the 32 raw bytes, base64
    pem: str


def describe(public_key: Ed25519PublicKey) -> PublicKeyInfo:
    pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
    return PublicKeyInfo(key_id(public_key), base64.b64encode(_raw_public(public_key)).decode("ascii"), pem)


def key_path() -> Path:
    return Path(settings.MANIFEST_SIGNING_KEY_FILE)


def generate_key_file(path: Path | None = None) -> Ed25519PrivateKey:
    """Write a new private key to ``path`` with mode 0600. Refuses to overwrite (FileExistsError):
    replacing the key makes every manifest signed so far unverifiable with the published key."""
    path = path or key_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # O_EXCL: two processes creating the key at once cannot both win; the loser reads the winner's.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def load_private_key(path: Path | None = None, *, create: bool = True) -> Ed25519PrivateKey:
    path = path or key_path()
    if not path.exists():
        if not create:
            raise FileNotFoundError(f"No signing key at {path}.")
        try:
            return generate_key_file(path)
        except FileExistsError:
            pass  # created by another process in the meantime
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key.")
    return key


def server_public_key() -> PublicKeyInfo:
    return describe(load_private_key().public_key())


def sign(document: dict[str, Any], private_key: Ed25519PrivateKey | None = None) -> dict[str, Any]:
    """``{"manifest": document, "signature": {...}}``; the signature covers canonical_json(document)."""
    private_key = private_key or load_private_key()
    info = describe(private_key.public_key())
    value = private_key.sign(canonical_json(document))
    return {
        "manifest": document,
        "signature": {
            "algorithm": ALGORITHM,
            "canonicalization": CANONICALIZATION,
            "key_id": info.key_id,
            "public_key": info.raw_base64,
            "value": base64.b64encode(value).decode("ascii"),
        },
    }


def load_public_key(text: str | bytes) -> Ed25519PublicKey:
    """A public key from PEM (SubjectPublicKeyInfo) or the 32 raw bytes in base64."""
    data = text.encode("ascii", "replace") if isinstance(text, str) else text
    data = data.strip()
    try:
        if data.startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(data)
            if not isinstance(key, Ed25519PublicKey):
                raise SignatureError("The public key is not an Ed25519 key.")
            return key
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(data, validate=True))
    except (ValueError, TypeError) as exc:
        raise SignatureError(f"The public key cannot be read: {exc}") from None


def verify(signed: Any, public_key: Ed25519PublicKey | None = None) -> PublicKeyInfo:
    """Check ``signed`` (as made by :func:`sign`). Without ``public_key`` the key embedded in the
    document is used — which proves integrity, not origin; pass the server's published key to
    prove both. Returns the key that verified; raises SignatureError otherwise."""
    if not isinstance(signed, dict) or not isinstance(signed.get("manifest"), dict):
        raise SignatureError("This is not a signed manifest: no 'manifest' object.")
    signature = signed.get("signature")
    if not isinstance(signature, dict):
        raise SignatureError("The manifest carries no 'signature' object.")
    if signature.get("algorithm") != ALGORITHM:
        raise SignatureError(f"Unknown signature algorithm {signature.get('algorithm')!r}; expected Ed25519.")
    embedded = load_public_key(str(signature.get("public_key", "")))
    if public_key is not None and _raw_public(public_key) != _raw_public(embedded):
        raise SignatureError(
            f"The manifest was signed with key {key_id(embedded)}, "
            f"not with the given key {key_id(public_key)}."
        )
    try:
        value = base64.b64decode(str(signature.get("value", "")), validate=True)
    except ValueError:
        raise SignatureError("The signature value is not base64.") from None
    try:
        embedded.verify(value, canonical_json(signed["manifest"]))
    except InvalidSignature:
        raise SignatureError(
            "The signature does not match the manifest: the manifest was changed after it was signed."
        ) from None
    return describe(embedded)
