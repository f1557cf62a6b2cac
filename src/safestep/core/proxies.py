"""Believe X-Forwarded-For and X-Forwarded-Proto only from the proxies the operator named.

Behind a TLS-terminating proxy every request reaches SafeStep from the proxy's address, over
plain HTTP. The proxy says who the client was (``X-Forwarded-For``) and that the browser
used HTTPS (``X-Forwarded-Proto``), but anyone can send those headers too. So:

- from an address in ``SAFESTEP_TRUSTED_PROXIES`` (``settings.TRUSTED_PROXIES``), the
  client's address becomes ``REMOTE_ADDR`` (the lockout and the audit trail then count
  the person, not the proxy), and Django reads ``X-Forwarded-Proto`` through
  ``SECURE_PROXY_SSL_HEADER`` (set only when proxies are named);
- from any other address the forwarded headers are removed before anything reads them.

The client's address is found by reading ``X-Forwarded-For`` from the right (the entry the
nearest proxy added) past every trusted proxy: entries further left were written by
whoever sent the request and cannot be believed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_FORWARDED",
)
# Where the proxy's own address is kept once REMOTE_ADDR names the client.
PROXY_ADDR_KEY = "SAFESTEP_PROXY_ADDR"


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def is_trusted(address: str, networks: Iterable[Network]) -> bool:
    parsed = _address(address)
    return parsed is not None and any(parsed in network for network in networks)


def forwarded_client(header: str, networks: Iterable[Network]) -> str | None:
    """The client X-Forwarded-For names, read from the right past the trusted proxies."""
    trusted = tuple(networks)
    for entry in reversed(header.split(",")[-20:]):
        parsed = _address(entry)
        if parsed is None:
            return None
        if not any(parsed in network for network in trusted):
            return str(parsed)
    return None


class TrustedProxyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        networks: tuple[Network, ...] = tuple(getattr(settings, "TRUSTED_PROXIES", ()))
        meta = request.META
        peer = str(meta.get("REMOTE_ADDR", ""))
        if networks and is_trusted(peer, networks):
            client = forwarded_client(str(meta.get("HTTP_X_FORWARDED_FOR", "")), networks)
            if client is not None:
                meta[PROXY_ADDR_KEY] = peer
                meta["REMOTE_ADDR"] = client
        else:
            for key in FORWARDED_HEADERS:
                meta.pop(key, None)
        return self.get_response(request)
