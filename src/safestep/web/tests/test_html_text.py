"""Escaping for Python-drawn HTML: the same text as Django's own escaping, always."""

from __future__ import annotations

from django.utils.html import conditional_escape, escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy, override
from hypothesis import given
from hypothesis import strategies as st

from safestep.web.html_text import escape_text, escaped


@given(st.text())
def test_it_escapes_any_text_as_django_does(text: str) -> None:
    assert escaped(text) == str(conditional_escape(text))
    assert escape_text(text) == str(escape(text))


@given(st.text())
def test_it_leaves_text_marked_safe_as_it_is_unless_told_to_escape_it(text: str) -> None:
    safe = mark_safe(text)
    assert escaped(safe) == text == str(conditional_escape(safe))
    assert escape_text(safe) == str(escape(safe))


def test_it_escapes_quotes_for_attributes_and_numbers_as_text() -> None:
    assert escaped("\"<b>\" & 'x'") == "&quot;&lt;b&gt;&quot; &amp; &#x27;x&#x27;"
    assert escaped(42) == "42"


def test_it_writes_a_translation_in_the_reader_s_language() -> None:
    label = gettext_lazy("Overdue")
    with override("es"):
        spanish = escaped(label)
        assert spanish == str(conditional_escape(label))
    assert spanish != escaped(label)  # English outside the override
