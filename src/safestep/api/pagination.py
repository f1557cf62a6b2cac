"""Pages of the case list: the page's rows and the list's count in one query."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.views import APIView

from safestep.cases.selectors import MAX_ROW_ID, CaseListing, ListedCase


class ListedCasePaginator(Paginator):
    """Django's paginator over a ``CaseListing``, reading a page and the count together.

    Django's own reads the count first, to check the page number, and then the page: two
    queries, each compiled from the ORM, where the count can ride along with the rows
    (``CaseListing.page_with_count``). The answers are Django's: the same pages, and the
    same errors for a page that is not a number, below 1 or past the end.
    """

    def __init__(self, listing: CaseListing, per_page: int) -> None:
        super().__init__(listing, per_page)  # type: ignore[arg-type]
        self.listing = listing

    def page(self, number: Any) -> Page:
        whole = _whole_number(number)
        if whole is None or whole > MAX_ROW_ID // self.per_page - 1:
            # Django's own error: not a whole number, below 1, or (a page past any list
            # the database can hold, whose offset it could not read) past the end.
            return super().page(number)
        bottom = (whole - 1) * self.per_page
        rows, count = self.listing.page_with_count(bottom, bottom + self.per_page)
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

    def paginate_listing(
        self, listing: CaseListing, request: Request, view: APIView
    ) -> list[ListedCase]:
        """The requested page of LISTING (DRF's ``paginate_queryset``, typed for a listing)."""
        # DRF types its argument as a queryset; a listing pages through the same calls.
        page: list[ListedCase] | None
        page = self.paginate_queryset(listing, request, view=view)  # type: ignore[arg-type]
        return list(page or [])
