"""Loading a broken definition and checking the issues it reports, for the loader tests.

Every text is loaded under the name ``test.yaml``, so an issue can be checked in full:
its position, its message and the ``PATH:LINE:COL: message`` line a person reads.

pytest rewrites the asserts of test modules only, not of this helper, so each assert
here says what it found itself.
"""

from __future__ import annotations

import pytest

from safestep.protocol import Issue, ProtocolInvalid, load_protocol_text

SOURCE = "test.yaml"


def issues_for(text: str) -> list[Issue]:
    """The issues of a definition that must not load."""
    with pytest.raises(ProtocolInvalid) as caught:
        load_protocol_text(text, SOURCE)
    return caught.value.issues


def only_issue(text: str) -> Issue:
    """The one issue of a definition broken in one place (fails listing them if more)."""
    issues = issues_for(text)
    assert len(issues) == 1, "\n".join(map(str, issues))
    return issues[0]


def assert_issue(issue: Issue, position: tuple[int, int], message: str) -> None:
    """The issue is at ``position`` (1-based line, column) and says exactly ``message``."""
    assert (issue.line, issue.column) == position, str(issue)
    assert issue.message == message, f"{issue.message!r} != {message!r}"
    # And it reads as one PATH:LINE:COL line, naming the file it was loaded from.
    line = f"{SOURCE}:{position[0]}:{position[1]}: {message}"
    assert str(issue) == line, f"{str(issue)!r} != {line!r}"
