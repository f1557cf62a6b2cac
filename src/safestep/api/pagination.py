"""Pages of the case list: the page's rows and the list's count in one query."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from rest_framework.pagination import PageNumberPagination

from safestep.cases.selectors import ListedCases


class ListedCasePaginator(Paginator):
    """Django's paginator over ``ListedCases``, reading a page and the count together.

    Django's own reads the count first, to check the page number, and then the page: two
    queries, each compiled from the ORM, where the count can ride along with the rows
    (``ListedCases.page_with_count``). The answers are Django's: the same pages, and the
    same errors for a page that is not a number, below 1 or past the end.
    """

    def page(self, number: Any) -> Page:
        whole = _whole_number(number)
        known = "count" in self.__dict__  # asked for already (the "last" page)
        if whole is None or known or self.orphans or not isinstance(self.object_list, ListedCases):
            return super().page(number)  # Django's own answers, its errors included
        bottom = (whole - 1) * self.per_page
        rows, count = self.object_list.page_with_count(bottom, bottom + self.per_page)
        self.__dict__["count"] = count  # Django's cached property, now known
        return Page(rows, self.validate_number(whole), self)


def _whole_number(number: Any) -> int | None:
    """NUMBER as a page number from 1 up, or None for Django to refuse as it does."""
    if isinstance(number, float) and not number.is_integer():
        return None
    try:
        whole = int(number)
    except (TypeError, ValueError):
        return None
    return whole if whole >= 1 else None


class CasePagination(PageNumberPagination):
    django_paginator_class = ListedCasePaginator
