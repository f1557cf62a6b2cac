"""Addresses written with page_url are the ones Django's reverse writes."""

from __future__ import annotations

import pytest
from django.urls import NoReverseMatch, reverse, set_script_prefix
from hypothesis import given, settings
from hypothesis import strategies as st

from safestep.core.page_urls import page_url

ids = st.integers(min_value=0, max_value=2**63 - 1)
# Slugs and anything else a template might pass: text reverse would quote or refuse.
texts = st.text(min_size=1, max_size=20)


def writes_what_reverse_writes(name: str, *args: object) -> None:
    """page_url(NAME, *ARGS) is reverse's address, or refused as reverse refuses it."""
    try:
        expected = reverse(name, args=args)
    except NoReverseMatch:
        with pytest.raises(NoReverseMatch):
            page_url(name, *args)
        return
    assert page_url(name, *args) == expected


@settings(deadline=None)  # the first example loads the URL configuration
@given(case_id=ids, step_id=texts)
def test_it_writes_what_reverse_writes_for_a_step_of_a_case(case_id, step_id):
    writes_what_reverse_writes("web:step-complete", case_id, step_id)


@settings(deadline=None)
@given(case_id=ids, section=texts)
def test_it_writes_what_reverse_writes_for_a_case_and_its_history(case_id, section):
    writes_what_reverse_writes("web:case", case_id)
    writes_what_reverse_writes("web:case-history", case_id, section)


def test_it_refuses_what_reverse_refuses():
    with pytest.raises(NoReverseMatch):
        page_url("web:case", -1)
    with pytest.raises(NoReverseMatch):
        page_url("web:no-such-page")
    with pytest.raises(NoReverseMatch):
        page_url("web:case", "not-a-number")


def test_it_writes_addresses_under_the_prefix_safestep_is_served_at():
    assert page_url("web:home") == "/"
    set_script_prefix("/district/safestep/")
    try:
        assert page_url("web:case", 12) == "/district/safestep/cases/12/"
        assert page_url("web:case", 12) == reverse("web:case", args=[12])
    finally:
        set_script_prefix("/")
    assert page_url("web:case", 12) == "/cases/12/"
