"""Moments as pages show them: exactly what Django's date format writes, in each language."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone, translation
from django.utils.dateformat import format as django_format
from hypothesis import given
from hypothesis import strategies as st

from safestep.core.moment_text import (
    MOMENT_FORMAT,
    MomentWriter,
    local_moment_text,
    moment_text,
)

DISTRICT = ZoneInfo("America/Los_Angeles")


@given(
    moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 12, 31)),
    language=st.sampled_from(["en", "es"]),
)
def test_it_writes_what_djangos_date_format_writes(moment, language):
    local = moment.replace(tzinfo=DISTRICT)
    with translation.override(language):
        assert moment_text(local) == django_format(local, MOMENT_FORMAT)


def test_it_shows_a_moment_in_the_districts_zone_and_the_readers_language():
    moment = datetime(2026, 12, 2, 13, 5, tzinfo=UTC)  # 05:05 in San Diego
    assert local_moment_text(moment) == "Wed 2 Dec 2026, 05:05"
    with translation.override("es"):
        assert local_moment_text(moment) == "mié 2 Dic 2026, 05:05"


@given(
    moment=st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2100, 12, 31), timezones=st.just(UTC)
    ),
    language=st.sampled_from(["en", "es"]),
)
def test_it_writes_a_tables_moments_as_each_moment_alone_is_written(moment, language):
    # A table's writer looks the zone and names up once; each moment must read the same as
    # if it were written alone, in the district's zone.
    with translation.override(language):
        writer = MomentWriter()
        local = writer.local(moment)
        assert local == timezone.localtime(moment)
        assert local.utcoffset() == timezone.localtime(moment).utcoffset()
        assert writer.text(local) == django_format(timezone.localtime(moment), MOMENT_FORMAT)
