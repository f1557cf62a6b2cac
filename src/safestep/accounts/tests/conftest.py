"""A real Chromium for the sign-in browser tests, the same browser the web tests drive,
and a real OpenID provider for the single sign-on tests.

The browser lives for one test module and is closed after it: Playwright allows one
running instance at a time, and other test folders start their own browser later in the
run. The provider (oidc-provider-mock, a complete OpenID Connect provider built on
Authlib) listens on a free local port while its test module runs; tests tell it who the
person is and what their ID token should say, and approve the sign-in on its
authorization page, as the person would.
"""

from __future__ import annotations

import json
import threading
from base64 import urlsafe_b64decode
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import oidc_provider_mock
import pytest
import werkzeug.serving
from joserfc import jwt
from joserfc.jwk import RSAKey

from safestep.testing import launched_chromium


@pytest.fixture(scope="module")
def module_chromium() -> Iterator[Any]:
    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def page(module_chromium: Any) -> Iterator[Any]:
    context = module_chromium.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    yield page
    context.close()


# --- a real OpenID provider ---------------------------------------------------------------


@contextmanager
def provider_serving(app: Callable[..., Iterable[bytes]]) -> Iterator[str]:
    """Serve the provider APP on a free port of this machine; yield its issuer URL."""
    server = werkzeug.serving.make_server("localhost", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        # The provider names itself after the host it is asked by: always ask "localhost".
        yield f"http://localhost:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


@pytest.fixture(scope="module")
def district_provider() -> Iterator[str]:
    """The district's identity provider: its issuer URL."""
    with provider_serving(oidc_provider_mock.app()) as issuer:
        yield issuer


@pytest.fixture(scope="module")
def expired_token_provider() -> Iterator[str]:
    """A provider whose ID tokens expired ten minutes before they were issued."""
    app = oidc_provider_mock.app(access_token_max_age=timedelta(minutes=-10))
    with provider_serving(app) as issuer:
        yield issuer


def _json_part(segment: str) -> dict[str, Any]:
    return json.loads(urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


class ForgedIdTokens:
    """The provider, except that its token endpoint answers with the ID token re-signed by
    another key: the same claims and key id, as someone without the provider's key would
    make it."""

    def __init__(self, provider: Callable[..., Iterable[bytes]]) -> None:
        self.provider = provider
        self.forger_key = RSAKey.generate_key(2048)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        answered: dict[str, Any] = {}

        def keep(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answered.update(status=status, headers=headers)
            return lambda data: None

        body = b"".join(self.provider(environ, keep))
        if environ["PATH_INFO"] == "/oauth2/token" and answered["status"].startswith("200"):
            tokens = json.loads(body)
            header_part, claims_part, _signature = tokens["id_token"].split(".")
            header = {
                key: value
                for key, value in _json_part(header_part).items()
                if key in {"alg", "kid"}
            }
            tokens["id_token"] = jwt.encode(header, _json_part(claims_part), self.forger_key)
            body = json.dumps(tokens).encode()
        headers = [(k, v) for k, v in answered["headers"] if k.lower() != "content-length"]
        start_response(answered["status"], [*headers, ("Content-Length", str(len(body)))])
        return [body]


@pytest.fixture(scope="module")
def forging_provider() -> Iterator[str]:
    """A provider whose ID tokens are signed by a key it does not publish."""
    app = oidc_provider_mock.app()
    app.wsgi_app = ForgedIdTokens(app.wsgi_app)
    with provider_serving(app) as issuer:
        yield issuer


@pytest.fixture(scope="module")
def impostor_provider() -> Iterator[str]:
    """A provider whose discovery document names another issuer than the one asked."""
    app = oidc_provider_mock.app()

    def named_elsewhere(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        environ["HTTP_HOST"] = "idp.elsewhere.example"
        return app(environ, start_response)

    with provider_serving(named_elsewhere) as issuer:
        yield issuer
