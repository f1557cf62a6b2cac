"""API token authentication against hashed tokens.

The header is DRF's: ``Authorization: Token <key>``. Only the key's SHA-256 digest is
stored (``safestep.accounts.tokens``), so the key is checked by digest in constant time.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.request import Request

from safestep.accounts.models import ApiToken, User
from safestep.accounts.tokens import token_for_key
from safestep.core.language import use_readers_language


class HashedTokenAuthentication(TokenAuthentication):
    keyword = "Token"
    model = ApiToken

    def authenticate(self, request: Request) -> tuple[User, Any] | None:
        found = super().authenticate(request)
        if found is not None and "HTTP_ACCEPT_LANGUAGE" not in request.META:
            # A client that names a language gets it (an integration sets the header on
            # purpose, unlike a browser); one that does not gets its user's choice. The
            # token's user is known only now, after every middleware has run.
            use_readers_language(request._request, found[0])
        return found

    def authenticate_credentials(self, key: str) -> tuple[User, Any]:
        token = token_for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return token.user, token
