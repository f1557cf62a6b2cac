"""Addresses of SafeStep's pages: each URL pattern reversed once, then filled in per use.

Django's ``reverse`` walks the URL configuration on every call, about 40 µs on the
district's server, and the case page writes fifty addresses (each step's forms post to
their own). ``page_url`` reverses a name once with stand-in arguments, keeps the address
cut where they stood, and fills in the real arguments after that: a few µs.

It fills in only what ``reverse`` would write unchanged: whole numbers of ``int`` routes,
and text of letters, digits, ``-`` and ``_`` (a ``slug``, and any ``str`` or ``path``
route takes it too, unquoted). Anything else, and a route whose stand-ins do not come back
whole, goes through ``reverse`` itself, which checks and quotes it.
"""

from __future__ import annotations

import functools
import re

from django.urls import NoReverseMatch, get_script_prefix, reverse

# Stand-ins no real argument is: a number past any id SafeStep writes in a page, and text
# that no step or protocol id is. Each position gets its own, so they cannot be confused.
_NUMBER_STAND_IN = 918_273_645_000
_TEXT_STAND_IN = "zqxstandinzqx"
_PLAIN_TEXT = re.compile(r"[-a-zA-Z0-9_]+\Z")


def _stand_in(kind: str, position: int) -> str:
    if kind == "number":
        return str(_NUMBER_STAND_IN + position)
    return f"{_TEXT_STAND_IN}{position}"


@functools.lru_cache(maxsize=1024)
def _pieces(name: str, prefix: str, kinds: tuple[str, ...]) -> tuple[str, ...] | None:
    """The address of NAME cut where its arguments go, or None when it cannot be cut.

    PREFIX (the script prefix, for a SafeStep served under a path) is part of the key:
    ``reverse`` writes it first.
    """
    stand_ins = [_stand_in(kind, position) for position, kind in enumerate(kinds)]
    try:
        rest = reverse(name, args=stand_ins)
    except NoReverseMatch:  # a route that takes no such argument: reverse each time
        return None
    pieces = []
    for stand_in in stand_ins:
        before, found, rest = rest.partition(stand_in)
        if not found:
            return None
        pieces.append(before)
    return (*pieces, rest)


def _kind(argument: object) -> str | None:
    if isinstance(argument, int) and not isinstance(argument, bool) and argument >= 0:
        return "number"
    if isinstance(argument, str) and _PLAIN_TEXT.match(argument):
        return "text"
    return None


def page_url(name: str, *args: object) -> str:
    """The address of the page NAME with ARGS: what ``reverse(name, args=args)`` returns."""
    kinds = [_kind(argument) for argument in args]
    plain = [kind for kind in kinds if kind is not None]
    pieces = _pieces(name, get_script_prefix(), tuple(plain)) if len(plain) == len(kinds) else None
    if pieces is None:
        return reverse(name, args=args)
    parts = [pieces[0]]
    for argument, piece in zip(args, pieces[1:], strict=True):
        parts.append(str(argument))
        parts.append(piece)
    return "".join(parts)
