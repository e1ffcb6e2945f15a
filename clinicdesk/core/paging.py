"""Paging for list pages: one size for the product, and page links that keep the list's filters."""

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

PAGE_SIZE = 50


def page_of(request: HttpRequest, rows, *, size: int = PAGE_SIZE) -> tuple[Page, str]:
    """The page of `rows` the request asks for (the last one past the end), and the request's query string without
    `page` and `format`, for the page links (a CSV export is never a page link)."""
    page = Paginator(rows, size).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return page, query.urlencode()
