"""Escaping for the HTML that SafeStep draws in Python (form controls, steps, table rows).

The same escaping as Django's ``escape`` and ``conditional_escape`` (both are
``html.escape``), without their first step: they look through every argument for lazy
translations, and at some thousand values a case page that check cost a tenth of its
drawing (docs/performance.md). Callers pass text, numbers or translations already made
into text.
"""

from __future__ import annotations

import html

from django.utils.safestring import SafeData


def escaped(value: object) -> str:
    """VALUE as a template's ``{{ value }}`` shows it: escaped unless it is marked safe."""
    if isinstance(value, SafeData):
        return str(value)
    return html.escape(str(value))


def escape_text(value: object) -> str:
    """VALUE escaped, even if marked safe, as ``django.utils.html.escape`` does."""
    return html.escape(str(value))
