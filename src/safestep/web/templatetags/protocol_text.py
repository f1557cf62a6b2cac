"""A protocol's words in the page's language: ``{{ view.step|in_language:"title" }}``.

A definition gives its titles, guidance, questions and labels in English and, optionally,
in other languages (``title: {en: ..., es: ...}``). English stays the canonical text; a
page shows the words of the language the person chose, and English where the definition
has no translation. The SS 8572 and the API never use this: they stay in English.
"""

from __future__ import annotations

from collections.abc import Mapping

from django import template
from django.utils.translation import get_language

from safestep.protocol import in_language as text_in_language

register = template.Library()


@register.filter
def in_language(item: object, attribute: str) -> str:
    """ITEM's ATTRIBUTE (``title``, ``guidance``, ``question`` ...) in the active language.

    Anything that is not a protocol object with that text (a blank, a dict of API data)
    is shown as it is, so a template never fails on it.
    """
    if isinstance(item, Mapping):
        return str(item.get(attribute, ""))
    if not isinstance(getattr(item, attribute, None), str):
        return ""
    return text_in_language(item, attribute, get_language())
