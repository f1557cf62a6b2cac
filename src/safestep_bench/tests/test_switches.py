from __future__ import annotations

import pytest

from safestep.audit.models import Event
from safestep.cases.selectors import case_get_for_user
from safestep_bench.switches import auditing_disabled


@pytest.mark.django_db
def test_it_turns_auditing_off_only_inside_the_block(district, open_case):
    case = open_case()
    before = Event.objects.count()

    with auditing_disabled():
        case_get_for_user(district["site_admin"], case.pk)
    assert Event.objects.count() == before

    case_get_for_user(district["site_admin"], case.pk)
    assert Event.objects.filter(action="case.read").count() == 1
