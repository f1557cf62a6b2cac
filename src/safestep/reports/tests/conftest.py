"""The browser fixtures of the web tests, for the dashboard's browser test."""

from safestep.web.tests.conftest import chromium, people

__all__ = ["chromium", "people"]
