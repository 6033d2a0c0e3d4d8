"""Encryption of Zoho tokens at rest: Fernet with a key derived from ALIX_SECRET_KEY."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from alix.errors import AlixError


class TokenUnreadable(AlixError):
    """A stored token cannot be decrypted (ALIX_SECRET_KEY changed since it was stored)."""


class TokenCipher:
    """Implements the client's Cipher protocol; one derived key per purpose."""

    def __init__(self, secret_key: str, *, purpose: bytes = b"alix zoho-crm tokens") -> None:
        # HKDF separates this key from the session-cookie signing key built on the same secret.
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
            secret_key.encode("utf-8")
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise TokenUnreadable(
                "A stored Zoho token cannot be decrypted: ALIX_SECRET_KEY changed since the "
                "connection was made. Disconnect and connect Zoho CRM again."
            ) from exc
