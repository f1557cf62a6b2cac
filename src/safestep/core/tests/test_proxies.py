"""Forwarded headers believed only from the proxies the operator named."""

from __future__ import annotations

import ipaddress

import pytest
from django.test import RequestFactory, override_settings

from safestep.audit.models import Event
from safestep.core.proxies import TrustedProxyMiddleware, forwarded_client

PROXY = "10.0.0.5"
NETWORKS = (ipaddress.ip_network("10.0.0.0/24"),)


def through(request):
    seen = {}

    def view(req):
        seen["addr"] = req.META["REMOTE_ADDR"]
        seen["secure"] = req.is_secure()
        seen["forwarded_for"] = req.META.get("HTTP_X_FORWARDED_FOR")
        return None

    TrustedProxyMiddleware(view)(request)
    return seen


def hostile(remote: str):
    return RequestFactory().get(
        "/",
        REMOTE_ADDR=remote,
        HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7",
        HTTP_X_FORWARDED_PROTO="https",
    )


@override_settings(
    TRUSTED_PROXIES=NETWORKS, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")
)
def test_it_believes_a_trusted_proxy_about_the_client_and_the_scheme():
    seen = through(hostile(PROXY))
    # The entry the proxy added, not the one the client wrote before it.
    assert seen["addr"] == "203.0.113.7"
    assert seen["secure"] is True


@override_settings(
    TRUSTED_PROXIES=NETWORKS, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")
)
def test_it_drops_forwarded_headers_from_anyone_else():
    seen = through(hostile("198.51.100.9"))
    assert seen == {"addr": "198.51.100.9", "secure": False, "forwarded_for": None}


@override_settings(TRUSTED_PROXIES=())
def test_it_believes_nobody_when_no_proxy_is_named():
    seen = through(hostile(PROXY))
    assert seen == {"addr": PROXY, "secure": False, "forwarded_for": None}


@pytest.mark.parametrize(
    ("header", "client"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("6.6.6.6, 203.0.113.7, 10.0.0.9", "203.0.113.7"),  # past a second trusted proxy
        ("10.0.0.8, 10.0.0.9", None),  # only proxies: keep the connecting address
        ("6.6.6.6, not-an-address", None),
        ("", None),
    ],
)
def test_it_reads_x_forwarded_for_from_the_right(header, client):
    assert forwarded_client(header, NETWORKS) == client


@pytest.mark.django_db
def test_it_records_the_connecting_address_when_a_stranger_claims_another(api_as, open_case):
    case = open_case()
    answer = api_as("site_admin").get(
        f"/api/v1/cases/{case.pk}", REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR="6.6.6.6"
    )
    assert answer.status_code == 200
    assert Event.objects.filter(action="case.read").latest("seq").source_ip == "198.51.100.9"


@pytest.mark.django_db
@override_settings(TRUSTED_PROXIES=NETWORKS)
def test_it_records_the_clients_address_behind_a_trusted_proxy(api_as, open_case):
    case = open_case()
    answer = api_as("site_admin").get(
        f"/api/v1/cases/{case.pk}", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.7"
    )
    assert answer.status_code == 200
    assert Event.objects.filter(action="case.read").latest("seq").source_ip == "203.0.113.7"
