"""API token keys: made, hashed and checked here, and nowhere else.

A key is 160 random bits as 40 hex digits. The database keeps its first eight characters
(to find the row; too few to be of use) and the SHA-256 digest of the whole key. A key
this random needs no slow hash: nobody can guess one from its digest, so a copy of the
database yields no working token. A presented key is checked by comparing digests in
constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from safestep.accounts.models import ApiToken, User

KEY_BYTES = 20


def new_key() -> str:
    return secrets.token_hex(KEY_BYTES)


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def prefix_of(key: str) -> str:
    return key[: ApiToken.PREFIX_LENGTH]


def token_for_key(key: str) -> ApiToken | None:
    """The stored token whose key is KEY, or None. Every candidate is compared in full."""
    if len(key) < ApiToken.PREFIX_LENGTH or len(key) > 200:
        return None
    wanted = digest_of(key)
    found = None
    for token in ApiToken.objects.select_related("user").filter(prefix=prefix_of(key)):
        if hmac.compare_digest(token.digest, wanted):
            found = token
    return found


def user_for_key(key: str) -> User | None:
    token = token_for_key(key)
    return token.user if token is not None else None


def issue_key(user: User) -> str:
    """Give USER a new key, replacing any they had, and return it (the only time it is seen).

    Callers write the audit event; this only stores the digest.
    """
    key = new_key()
    ApiToken.objects.filter(user=user).delete()
    ApiToken.objects.create(user=user, prefix=prefix_of(key), digest=digest_of(key))
    return key
