"""Security headers on every response: pages, API answers and errors, static files."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from safestep.accounts.testing import sign_in_client

STRICT_DIRECTIVES = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
]


def directives(policy: str) -> dict[str, str]:
    return {
        part.strip().split(" ", 1)[0]: part.strip() for part in policy.split(";") if part.strip()
    }


def assert_common_headers(response) -> None:
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Strict-Transport-Security"] == "max-age=31536000"
    assert "Content-Security-Policy" in response


@pytest.fixture
def responses(district, open_case, api_as):
    case = open_case()
    signed_in = sign_in_client(Client(), district["site_admin"])
    api = api_as("site_admin")
    return {
        "sign-in page": Client().get("/signin/"),
        "signed-in page": signed_in.get(f"/cases/{case.pk}/"),
        "page 404": signed_in.get("/cases/999999/"),
        "redirect": Client().get("/"),
        "API answer": api.get(f"/api/v1/cases/{case.pk}"),
        "API 401": Client().get("/api/v1/cases"),
        "API 404": api.get("/api/v1/cases/999999"),
        "API 400": api.post("/api/v1/concerns", {}, format="json"),
        "API schema": Client().get("/api/schema/"),
        "health check": Client().get("/healthz"),
        "static file": Client().get("/static/web/safestep.css"),
    }


def test_it_sends_the_security_headers_on_every_kind_of_response(responses):
    for name, response in responses.items():
        assert response.status_code < 500, name
        try:
            assert_common_headers(response)
        except AssertionError as error:
            raise AssertionError(f"{name}: {error}") from None


def test_it_sends_a_strict_content_security_policy_without_inline_script(responses):
    for name, response in responses.items():
        policy = response["Content-Security-Policy"]
        found = directives(policy)
        for expected in STRICT_DIRECTIVES:
            assert found[expected.split(" ", 1)[0]] == expected, (name, policy)
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, name


def test_it_keeps_case_pages_and_api_answers_out_of_caches(responses):
    for name in ("signed-in page", "API answer", "page 404"):
        assert "no-store" in responses[name]["Cache-Control"], name
    assert "no-store" not in responses["static file"]["Cache-Control"]


def test_it_relaxes_styles_and_images_for_the_api_documentation_page_only(db):
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    assert_common_headers(response)
    found = directives(response["Content-Security-Policy"])
    assert found["script-src"] == "script-src 'self'"
    assert "'unsafe-inline'" in found["style-src"]
    assert "data:" in found["img-src"]
    page = response.content.decode()
    # Swagger UI starts from a script file of its own, never an inline script.
    assert re.findall(r"<script>", page) == []
    match = re.search(r'<script src="([^"]*script[^"]*)"', page)
    assert match is not None
    script = match.group(1)
    start = Client().get(script.replace("&amp;", "&"))
    assert start.status_code == 200
    assert "SwaggerUIBundle" in start.content.decode()


def test_it_sends_hsts_only_outside_debug():
    code = "from safestep import settings; print(settings.SECURE_HSTS_SECONDS)"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "safestep.settings"}
    values = {}
    for debug in ("true", "false"):
        done = subprocess.run(
            [sys.executable, "-c", code],
            env={**env, "SAFESTEP_DEBUG": debug},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        values[debug] = int(done.stdout.strip())
    assert values == {"true": 0, "false": 31_536_000}


def project_templates() -> list[Path]:
    root = Path(__file__).resolve().parents[2]
    return sorted(root.glob("*/templates/**/*.html"))


def test_it_puts_a_csrf_token_in_every_form_that_posts():
    missing = []
    for template in project_templates():
        text = template.read_text(encoding="utf-8")
        for form in re.finditer(r"<form\b[^>]*>(.*?)</form>", text, flags=re.S | re.I):
            opening = form.group(0)[: form.group(0).index(">") + 1]
            if re.search(r"method=[\"']?post", opening, re.I) and "csrf_token" not in form.group(1):
                missing.append(f"{template.name}: {opening}")
    assert project_templates(), "no templates found"
    assert missing == []


def test_it_uses_no_inline_script_or_style_in_any_template():
    offenders = []
    for template in project_templates():
        text = template.read_text(encoding="utf-8")
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text, re.I):
            offenders.append(f"{template.name}: inline <script>")
        if re.search(r"<style\b", text, re.I) or re.search(r"\sstyle=", text, re.I):
            offenders.append(f"{template.name}: inline style")
        if re.search(r"\son[a-z]+=", text, re.I):
            offenders.append(f"{template.name}: inline event handler")
    assert offenders == []
