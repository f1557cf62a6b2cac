"""The API's output shapes: the domain's own, so the pages and the API answer alike.

How a case, a step, a concern or a review reads for a user is built in
:mod:`safestep.cases.outputs`, a protocol version in :mod:`safestep.definitions.outputs`.
"""

from __future__ import annotations

from safestep.cases.outputs import (
    WITHHELD_REPORTER,
    case_output,
    case_summary_output,
    check_in_output,
    concern_output,
    iso,
    note_output,
    reporter_name_for,
    review_output,
    review_summary_output,
)
from safestep.definitions.outputs import protocol_output

__all__ = [
    "WITHHELD_REPORTER",
    "case_output",
    "case_summary_output",
    "check_in_output",
    "concern_output",
    "iso",
    "note_output",
    "protocol_output",
    "reporter_name_for",
    "review_output",
    "review_summary_output",
]
