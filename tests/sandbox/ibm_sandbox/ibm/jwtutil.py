"""Minimal JWT helpers (HS256 for IBM-style tokens, RS256 for the docker-registry bearer tokens).

Only what the sandbox needs; no third-party JWT library so the sandbox runs on any Python
that has `cryptography`.
"""

import base64
import hashlib
import hmac
import json
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


class InvalidToken(Exception):
    """The string is not a JWT we issued, or it has expired."""


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _compact(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=False).encode()


def encode_hs256(claims, key):
    signing_input = b64url(_compact({"alg": "HS256", "typ": "JWT"})) + "." + b64url(_compact(claims))
    signature = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


def decode_unverified(token):
    """Header and claims of a compact JWT, without checking anything (clients do the same)."""
    try:
        header_b64, claims_b64, _signature = token.split(".")
        return json.loads(b64url_decode(header_b64)), json.loads(b64url_decode(claims_b64))
    except (ValueError, TypeError) as exc:
        raise InvalidToken("not a JWT") from exc


def decode_hs256(token, key, now=None):
    """Claims of an HS256 JWT signed with `key`; raises InvalidToken when forged or expired.

    `exp` is optional: IBM's permanent registry tokens carry none.
    """
    header, claims = decode_unverified(token)
    if header.get("alg") != "HS256":
        raise InvalidToken("unexpected algorithm")
    signing_input, _, signature = token.rpartition(".")
    expected = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
    try:
        given = b64url_decode(signature)
    except ValueError as exc:
        raise InvalidToken("bad signature encoding") from exc
    if not hmac.compare_digest(expected, given):
        raise InvalidToken("bad signature")
    exp = claims.get("exp")
    if exp is not None and exp <= (now or time.time()):
        raise InvalidToken("expired")
    return claims


def libtrust_key_id(public_key):
    """Key id docker-registry (libtrust) derives from a public key: its `kid` lookup needs exactly this."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digits = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode("ascii").rstrip("=")
    return ":".join(digits[i:i + 4] for i in range(0, len(digits), 4))


def encode_rs256(claims, private_key, kid):
    signing_input = b64url(_compact({"typ": "JWT", "alg": "RS256", "kid": kid})) + "." + b64url(_compact(claims))
    signature = private_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(signature)
