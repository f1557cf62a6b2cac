"""Pages of the case list: one query for a page and its count, with Django's answers."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.paginator import InvalidPage, Paginator

from safestep.api.pagination import ListedCasePaginator
from safestep.cases.selectors import CaseListing, case_list_for_user


def _answer(paginator: Paginator, number: Any) -> tuple[str, Any]:
    """What a paginator answers for NUMBER: the page's rows and links, or its error."""
    try:
        page = paginator.page(number)
    except InvalidPage as refused:
        return type(refused).__name__, str(refused)
    return "page", (
        [row.pk for row in page],
        page.number,
        page.has_next(),
        page.has_previous(),
        paginator.count,
        paginator.num_pages,
    )


# "\uff11" is a full-width 1, which int() reads as Django's paginator does.
@pytest.mark.parametrize(
    "number", [1, 2, 3, 4, 0, -1, "2", 2.0, 1.5, "x", None, "99", "\uff11", " 2", 2**63]
)
def test_it_answers_every_page_number_as_djangos_paginator_does(district, open_case, number):
    for index in range(5):
        open_case(sis_id=f"S-{index}")
    reader = district["site_admin"]
    ours = ListedCasePaginator(CaseListing(reader), 2)
    djangos = Paginator(list(case_list_for_user(reader)), 2)
    assert _answer(ours, number) == _answer(djangos, number)


def test_it_reads_a_page_and_the_count_in_one_query(district, open_case, django_assert_num_queries):
    for index in range(3):
        open_case(sis_id=f"S-{index}")
    open_case(school="ROO", sis_id="R-1", by="outsider_admin")  # outside the reader's scope
    cases = CaseListing(district["site_admin"])
    with django_assert_num_queries(1):
        rows, count = cases.page_with_count(0, 2)
    assert count == 3 and [row.student_sis_id for row in rows] == ["S-2", "S-1"]
    # Past the end there are no rows to carry the count: it is read on its own.
    with django_assert_num_queries(2):
        assert cases.page_with_count(4, 6) == ([], 3)


def test_it_counts_an_empty_list_as_an_empty_first_page(district):
    paginator = ListedCasePaginator(CaseListing(district["site_admin"]), 2)
    page = paginator.page(1)
    assert list(page) == [] and paginator.count == 0 and paginator.num_pages == 1


def test_it_answers_a_page_past_the_end_with_a_problem(api_as, open_case):
    open_case()
    client = api_as("site_admin")
    first = client.get("/api/v1/cases?page=1").json()
    assert first["count"] == 1 and first["next"] is None and len(first["results"]) == 1
    assert client.get("/api/v1/cases?page=last").json()["results"] == first["results"]
    # Past the end by far: a page whose offset no database could read is past the end too.
    for number in ("2", "0", "x", "9223372036854775807", "99999999999999999999"):
        answer = client.get(f"/api/v1/cases?page={number}")
        assert answer.status_code == 404, number
        assert answer["Content-Type"] == "application/problem+json"
