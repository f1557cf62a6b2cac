from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from safestep.audit.chain import read_checkpoint_file
from safestep.audit.models import Event
from safestep.audit.selectors import audit_verify
from safestep.cases.models import Case, CaseStatus, CheckIn, Note, StepRecord
from safestep.cases.selectors import case_evaluation, case_get_for_user
from safestep.definitions.selectors import definition_of
from safestep.protocol import validate_details
from safestep_bench.seed import LONG_SIS_ID, TYPICAL_SIS_ID, marked_case, seed_bench


@pytest.mark.django_db
def test_it_seeds_cases_on_every_pathway_whose_trail_verifies(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = seed_bench(cases=40, events_per_case=40, long_history_events=300)

    assert result.cases == 42  # and the two marked cases
    assert Case.objects.count() == 42
    assert set(Case.objects.values_list("pathway", flat=True)) == {
        "recruitment_by_student",
        "suspected_victim",
        "confirmed_victim",
    }
    assert set(Case.objects.values_list("status", flat=True)) == {"open", "closed"}
    assert Event.objects.exclude(action="protocol.load").count() == result.events >= 40 * 40
    verified = audit_verify()
    assert verified.ok, verified.describe()
    # A checkpoint every 1,000 events, in the database and in the file outside it.
    signed = [checkpoint.seq for checkpoint in read_checkpoint_file()]
    assert signed == list(range(1000, Event.objects.count() + 1, 1000))
    assert len(signed) >= 2


@pytest.mark.django_db
def test_it_writes_step_details_the_protocol_accepts_and_closes_only_closable_cases():
    seed_bench(cases=60, events_per_case=5, long_history_events=50)
    now = timezone.now()
    for record in StepRecord.objects.select_related("case__protocol"):
        step = definition_of(record.case.protocol).pathway(record.pathway).step(record.step_id)
        if step.recurring:
            continue  # set through a check-in plan, with the assignee's username
        _, problems = validate_details(
            step,
            record.details,
            resolution=record.resolution,  # type: ignore[arg-type]
            now=now,
        )
        assert problems == {}, (record.step_id, record.details)
    for case in Case.objects.filter(status=CaseStatus.CLOSED):
        assert case_evaluation(case).closable, case.reference


@pytest.mark.django_db
def test_it_marks_a_typical_case_and_one_with_a_long_history():
    seed_bench(cases=5, events_per_case=20, long_history_events=400)
    typical, long = marked_case(TYPICAL_SIS_ID), marked_case(LONG_SIS_ID)

    assert Event.objects.filter(case_id=long.pk).count() >= 400
    assert CheckIn.objects.filter(case=long).count() == 300
    assert Note.objects.filter(case=long).count() == 150
    assert Event.objects.filter(case_id=typical.pk).count() < 60
    # Real rows: the case reads through the ordinary selector, decrypted.
    admin = typical.school.staff.get(role="site_admin")
    assert case_get_for_user(admin, long.pk).summary


@pytest.mark.django_db
def test_it_appends_to_an_existing_trail(open_case):
    open_case()
    seed_bench(cases=3, events_per_case=10, long_history_events=20)
    seed_bench(cases=3, events_per_case=10, long_history_events=20)

    assert audit_verify().ok
    assert Case.objects.filter(school__code__startswith="BENCH").count() == 8


@pytest.mark.django_db
def test_it_refuses_to_seed_a_database_with_real_cases(open_case):
    open_case()

    with pytest.raises(CommandError, match="holds 1 real case"):
        call_command("seed-bench", "--cases", "5")


@pytest.mark.django_db(transaction=True)
def test_it_seeds_from_several_processes_a_trail_that_verifies():
    # Several processes write batches side by side on PostgreSQL (SQLite writes them one
    # after another); either way every case is there once and the chain holds.
    result = seed_bench(
        cases=40, events_per_case=12, long_history_events=60, batch_size=8, workers=2
    )

    assert result.cases == Case.objects.count() == 42
    references = list(Case.objects.values_list("reference", flat=True))
    assert len(set(references)) == len(references)
    assert Event.objects.count() == result.events + 1  # and the protocol's own load event
    verified = audit_verify(workers=1)
    assert verified.ok, verified.describe()
    signed = sorted(checkpoint.seq for checkpoint in read_checkpoint_file())
    assert signed == list(range(1000, Event.objects.count() + 1, 1000))


def test_it_refuses_a_bad_worker_count_naming_the_option():
    with pytest.raises(CommandError, match="--workers"):
        call_command("seed-bench", "--cases", "5", "--workers", "0")
