"""API token authentication against hashed tokens.

The header is DRF's: ``Authorization: Token <key>``. Only the key's SHA-256 digest is
stored (``safestep.accounts.tokens``), so the key is checked by digest in constant time.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from safestep.accounts.models import ApiToken, User
from safestep.accounts.tokens import token_for_key


class HashedTokenAuthentication(TokenAuthentication):
    keyword = "Token"
    model = ApiToken

    def authenticate_credentials(self, key: str) -> tuple[User, Any]:
        token = token_for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return token.user, token
