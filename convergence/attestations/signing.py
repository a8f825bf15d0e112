"""The server's attestation key and the canonical form of what it signs.

The Ed25519 key is derived (HKDF-SHA256) from the settings' secret key: every server of one deployment signs
with the same key without a key file to ship, and a restart changes nothing. Changing the secret changes the
key, as it already ends every session: attestations signed before then no longer verify against the published
key, and say so. Pure: no database.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# Part of the derivation: a new label gives a new key (what a deliberate key rotation would change).
_SALT = b"convergence attestations"
_INFO = b"ed25519 signing key v1"


@lru_cache(maxsize=8)
def private_key(secret_key: str) -> Ed25519PrivateKey:
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(secret_key.encode("utf-8"))
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key(secret_key: str) -> Ed25519PublicKey:
    return private_key(secret_key).public_key()


def public_key_pem(secret_key: str) -> str:
    return public_key(secret_key).public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def key_id(secret_key: str) -> str:
    """The first 16 hex digits of SHA-256 over the raw public key: names the key an attestation was signed with."""
    raw = public_key(secret_key).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def canonical(facts: dict[str, Any]) -> str:
    """Sorted keys, no spaces, UTF-8 text as is: anyone re-serialising the facts the same way gets these bytes."""
    return json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sign(secret_key: str, text: str) -> str:
    return base64.b64encode(private_key(secret_key).sign(text.encode("utf-8"))).decode("ascii")


def verify(key: Ed25519PublicKey, text: str, signature: str) -> bool:
    try:
        key.verify(base64.b64decode(signature, validate=True), text.encode("utf-8"))
    except (InvalidSignature, ValueError):
        return False
    return True
