"""A software authenticator for the passkey tests: makes passkeys and answers challenges as a browser and a
security key would (WebAuthn level 2: "none" attestation, ES256), in the JSON form browsers send.

It signs with real keys, so the server's checks (challenge, origin, relying party, signature, counter) run
exactly as for a browser; tests change the answer to see each one hold.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Passkey:
    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


@dataclass
class SoftAuthenticator:
    origin: str
    passkeys: list[Passkey] = field(default_factory=list)

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": False}).encode()

    def create(self, options: dict[str, Any]) -> str:
        """navigator.credentials.create(): a new passkey for the options' relying party and user."""
        rp_id = options["rp"]["id"]
        passkey = Passkey(
            secrets.token_bytes(32), ec.generate_private_key(ec.SECP256R1()), rp_id, unb64url(options["user"]["id"])
        )
        self.passkeys.append(passkey)
        numbers = passkey.key.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})
        attested = bytes(16) + struct.pack(">H", len(passkey.credential_id)) + passkey.credential_id + cose
        auth_data = hashlib.sha256(rp_id.encode()).digest() + bytes([0x45]) + struct.pack(">I", 0) + attested
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps(
            {
                "id": b64url(passkey.credential_id),
                "rawId": b64url(passkey.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(self._client_data("webauthn.create", options["challenge"])),
                    "attestationObject": b64url(attestation),
                    "transports": ["internal"],
                },
                "clientExtensionResults": {},
            }
        )

    def get(self, options: dict[str, Any], passkey: Passkey | None = None) -> str:
        """navigator.credentials.get(): an answer to the options' challenge with a passkey of their host."""
        passkey = passkey or next(p for p in reversed(self.passkeys) if p.rp_id == options["rpId"])
        passkey.sign_count += 1
        auth_data = (
            hashlib.sha256(options["rpId"].encode()).digest() + bytes([0x05]) + struct.pack(">I", passkey.sign_count)
        )
        client_data = self._client_data("webauthn.get", options["challenge"])
        signature = passkey.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return json.dumps(
            {
                "id": b64url(passkey.credential_id),
                "rawId": b64url(passkey.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "authenticatorData": b64url(auth_data),
                    "signature": b64url(signature),
                    "userHandle": b64url(passkey.user_handle),
                },
                "clientExtensionResults": {},
            }
        )
