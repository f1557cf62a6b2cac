"""The real browser of the web tests, for the sign-in and security-header browser tests."""

from safestep.web.tests.conftest import chromium, page  # noqa: F401
