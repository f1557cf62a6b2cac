"""The API's JSON parser: bounded in size and depth, so no body can make it fail with a 500.

Python's ``json`` recurses once per level of nesting, so ``[[[[...]]]]`` a hundred
thousand levels deep raised ``RecursionError``, which nothing turned into an answer. DRF's
own parser also reads a JSON body from the stream without Django's
``DATA_UPLOAD_MAX_MEMORY_SIZE`` limit, which only guards ``request.body`` and forms.

Here a body larger than that limit is refused with 413 before it is read in full, and one
nested deeper than :data:`MAX_DEPTH` with 400, found by a linear scan before ``json`` sees
it. JSON can also write half of a UTF-16 surrogate pair (``"\\ud800"``), which Python
reads into a string that UTF-8 cannot write: stored, or repeated in an error (an unknown
key), it failed with 500. Such a body is refused with 400 too. All three answers are
problem+json (``safestep.api.errors``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext, gettext_lazy
from rest_framework import exceptions
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

# Deeper than any input SafeStep takes (step details are two levels), far below Python's
# recursion limit.
MAX_DEPTH = 32

# The escape of a surrogate (\ud800-\udfff): only a body holding one needs its strings checked.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")

# A JSON string (skipped whole, so brackets inside it do not count) or a bracket.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = gettext_lazy("The request body is too large.")
    default_code = "request_too_large"


def body_limit() -> int | None:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return int(limit) if limit is not None else None


def too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(
        gettext("The request body is larger than %(limit)s bytes.") % {"limit": limit}
    )


def nesting_depth(text: str, *, stop_after: int = MAX_DEPTH) -> int:
    """How deeply TEXT's arrays and objects nest (stops counting past STOP_AFTER)."""
    depth = deepest = 0
    for token in _TOKENS.finditer(text):
        mark = token.group()
        if mark in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop_after:
                    break
        elif mark in "]}":
            depth -= 1
    return deepest


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser with a size limit (413) and a depth limit (400)."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        context = parser_context or {}
        limit = body_limit()
        request = context.get("request")
        meta = getattr(request, "META", {}) if request is not None else {}
        try:
            declared = int(meta.get("CONTENT_LENGTH") or 0)
        except (TypeError, ValueError):
            declared = 0
        if limit is not None and declared > limit:
            raise too_large(limit)
        raw = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(raw) > limit:
            raise too_large(limit)
        encoding = context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding) if isinstance(raw, bytes) else str(raw)
        except (UnicodeDecodeError, LookupError):
            raise exceptions.ParseError(
                gettext("JSON parse error - the body is not %(encoding)s.") % {"encoding": encoding}
            ) from None
        if nesting_depth(text) > MAX_DEPTH:
            raise exceptions.ParseError(
                gettext("JSON parse error - nested more than %(limit)s levels deep.")
                % {"limit": MAX_DEPTH}
            )
        parse_constant = json.strict_constant if self.strict else None
        try:
            data = json.loads(text, parse_constant=parse_constant)
        except RecursionError:  # belt and braces: the scan above should make this impossible
            raise exceptions.ParseError(gettext("JSON parse error - nested too deeply.")) from None
        except ValueError as error:
            raise exceptions.ParseError(
                gettext("JSON parse error - %(error)s") % {"error": error}
            ) from None
        if _SURROGATE_ESCAPE.search(text) and not _writable(data):
            raise exceptions.ParseError(
                gettext("JSON parse error - a string holds half of a UTF-16 surrogate pair.")
            )
        return data


def _writable(value: Any) -> bool:
    """Whether every string in VALUE (keys too) can be written as UTF-8: a surrogate pair
    escaped in JSON reads as one character, half of one as a character UTF-8 refuses."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_writable(key) and _writable(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_writable(item) for item in value)
    return True
