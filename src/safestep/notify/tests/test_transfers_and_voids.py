"""A case that moves to another school, or is voided as opened in error: who hears of it,
and where its check-in reminders go until someone at the new school keeps them."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from safestep.accounts.access import check_in_assignable
from safestep.accounts.models import School
from safestep.audit.models import Event
from safestep.cases import services
from safestep.cases.models import Case, CheckInPlan, Concern
from safestep.notify.models import Notice, NoticeKind, Reminder, ReminderKind
from safestep.notify.selectors import People, checkin_keeper_away
from safestep.notify.services import notice_reporter_duty_stands, reminders_send
from safestep.testing import ago, complete

BASE = "https://safestep.example.org"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
SIS_ID, FIRST, LAST = "SIS-730041", "Marisol", "Quintanilla"
DESCRIPTION = "Picked up by an older man in a grey van after practice."
SUMMARY = "Older adult picks the student up after school."

LIN_ADMIN = "site_admin@district.example"
LIN_COUNSELOR = "counselor@district.example"
ROO_ADMIN = "outsider_admin@district.example"
ROO_COUNSELOR = "outsider_counselor@district.example"
COORDINATOR = "district_coordinator@district.example"
REPORTER = "reporter@district.example"

MOVED = "SafeStep: a case moved to your school"
VOIDED = "SafeStep: the case opened from a concern you reported was voided"
CHECK_IN = "SafeStep: a check-in is due"
CHECK_IN_UNKEPT = "SafeStep: a check-in is due and nobody at the school keeps it"


@pytest.fixture
def staff(district, monkeypatch):
    """Everyone in the district fixture can be e-mailed; links point at BASE."""
    for user in district.users.values():
        user.email = f"{user.username}@district.example"
        user.save()
    monkeypatch.setenv("SAFESTEP_BASE_URL", BASE)
    return district


@pytest.fixture
def smtp_down(settings):
    """A real SMTP backend pointed at a local port nothing listens on."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = 1
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    return settings


def sent_to() -> list[tuple[str, str]]:
    """(recipient, subject) of every e-mail sent so far, sorted."""
    return sorted((message.to[0], str(message.subject)) for message in mail.outbox)


def remind() -> str:
    out = io.StringIO()
    call_command("remind", f"--base-url={BASE}", stdout=out)
    return out.getvalue()


def fresh(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


def case_from_concern(staff, *, sis_id: str = SIS_ID, keeper: str = "counselor") -> Case:
    """A concern reported at LIN and triaged into a confirmed-victim case, whose daily
    check-ins LIN's counselor keeps; the next check-in is due now."""
    observed = ago(hours=3)
    concern = services.concern_submit(
        acting_user=staff["reporter"],
        school_code="LIN",
        students=[services.StudentInput(sis_id=sis_id, first_name=FIRST, last_name=LAST)],
        observed_at=observed,
        description=DESCRIPTION,
        indicators=[],
    )
    case = services.case_open(
        acting_user=staff["site_admin"],
        pathway="confirmed_victim",
        suspicion_formed_at=observed,
        summary=SUMMARY,
        concern_id=concern.pk,
        student_sis_id=sis_id,
    )
    services.checkin_plan_set(
        acting_user=staff["site_admin"],
        case_id=case.pk,
        every_days=1,
        assignee=keeper,
        expected_version=fresh(case).version,
    )
    CheckInPlan.objects.filter(case=case).update(started_at=ago(days=1, minutes=5))
    return fresh(case)


def transfer_to_roo(staff, case: Case) -> Case:
    """The placement review decides a transfer to ROO, and the coordinator records it done."""
    complete(
        staff,
        case,
        "placement_review",
        {
            "decision": "transfer",
            "reason": "A fresh start away from the group.",
            "new_school": "ROO",
        },
        by="placement_office",
        hours_ago=1,
    )
    return services.case_transfer(
        acting_user=staff["district_coordinator"],
        case_id=case.pk,
        school_code="ROO",
        completed_at=ago(minutes=30),
        expected_version=fresh(case).version,
    )


def void(staff, case: Case) -> Case:
    return services.case_void(
        acting_user=staff["site_admin"],
        case_id=case.pk,
        reason="Opened for the wrong student.",
        expected_version=fresh(case).version,
    )


def check_in_reminders() -> list[tuple[str, str]]:
    return sorted(
        (reminder.recipient.username, reminder.kind)
        for reminder in Reminder.objects.filter(step_id="").select_related("recipient")
    )


# --- the new school hears of a transfer -------------------------------------------------


def test_it_tells_the_new_schools_site_admin_and_not_the_old_ones(
    staff, django_capture_on_commit_callbacks
):
    case = case_from_concern(staff)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        transfer_to_roo(staff, case)
    assert sent_to() == [(ROO_ADMIN, MOVED)]
    body = mail.outbox[0].body
    assert "A case was transferred to a school you look after." in body
    assert f"{BASE}/cases/{case.pk}/" in body
    for word in (SIS_ID, FIRST, LAST, DESCRIPTION, SUMMARY, case.reference, "Lincoln", "Roosevelt"):
        assert word not in f"{mail.outbox[0].subject}\n{body}", word
    notice = Notice.objects.get(kind=NoticeKind.CASE_TRANSFERRED)
    assert notice.case_id == case.pk
    assert notice.key == (
        f"case:{case.pk}:transfer-{notice.transfer_id}:user:{staff['outsider_admin'].pk}"
    )
    (event,) = [
        event
        for event in Event.objects.filter(action="notice.send")
        if event.payload["kind"] == NoticeKind.CASE_TRANSFERRED
    ]
    assert event.case_id == case.pk
    assert event.payload["to"] == "outsider_admin"
    # The next sweep sends nothing more about it.
    mail.outbox.clear()
    remind()
    assert [item for item in sent_to() if item[1] == MOVED] == []


def test_it_tells_the_district_when_the_new_school_has_no_site_admin_to_e_mail(
    staff, django_capture_on_commit_callbacks
):
    outsider = staff["outsider_admin"]
    outsider.email = ""
    outsider.save()
    case = case_from_concern(staff)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        transfer_to_roo(staff, case)
    assert sent_to() == [(COORDINATOR, MOVED)]


def test_it_withdraws_an_unsent_transfer_notice_once_the_case_is_voided(
    staff, smtp_down, django_capture_on_commit_callbacks
):
    case = case_from_concern(staff)
    with django_capture_on_commit_callbacks(execute=True):
        transfer_to_roo(staff, case)  # the mail server is down: it waits in the outbox
    assert Notice.objects.get(kind=NoticeKind.CASE_TRANSFERRED).sent_at is None
    services.case_void(
        acting_user=staff["outsider_admin"],
        case_id=case.pk,
        reason="Opened for the wrong student.",
        expected_version=fresh(case).version,
    )
    smtp_down.EMAIL_BACKEND = LOCMEM
    remind()
    assert MOVED not in [subject for _to, subject in sent_to()]
    assert Notice.objects.get(kind=NoticeKind.CASE_TRANSFERRED).withdrawn_at is not None


# --- a voided case ----------------------------------------------------------------------


def test_it_tells_the_reporter_once_that_their_duty_stands_when_the_case_is_voided(
    staff, django_capture_on_commit_callbacks
):
    case = case_from_concern(staff)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        void(staff, case)
    to_reporter = [message for message in mail.outbox if message.to == [REPORTER]]
    assert [message.subject for message in to_reporter] == [VOIDED]
    body = to_reporter[0].body
    assert "voided: it was opened in error" in body
    assert "Your own duty to report stands" in body
    assert "Penal Code 11166" in body
    concern = Concern.objects.get()
    assert f"{BASE}/concerns/{concern.pk}/" in body
    for word in (SIS_ID, FIRST, LAST, DESCRIPTION, SUMMARY, case.reference):
        assert word not in f"{to_reporter[0].subject}\n{body}", word
    notice = Notice.objects.get(kind=NoticeKind.CASE_VOIDED)
    assert (notice.concern_id, notice.case_id) == (concern.pk, case.pk)
    # Once, however often it is asked for or the sweep runs.
    with django_capture_on_commit_callbacks(execute=True):
        notice_reporter_duty_stands(concern=concern, kind="case_voided")
    remind()
    assert [message.subject for message in mail.outbox if message.to == [REPORTER]] == [VOIDED]
    assert Notice.objects.filter(kind=NoticeKind.CASE_VOIDED).count() == 1


def test_it_reminds_nobody_of_a_voided_case(staff):
    case = case_from_concern(staff)
    # Open as it is, the case has a check-in and steps due: the sweep would remind of them.
    dry = reminders_send(acting_user=None, base_url=BASE, dry_run=True)
    assert {item.case_id for item in dry.planned} == {case.pk}
    void(staff, case)
    mail.outbox.clear()
    later = timezone.now() + timedelta(days=3)  # everything would be long overdue by now
    report = reminders_send(acting_user=None, base_url=BASE, now=later)
    assert report.created == 0
    assert not Reminder.objects.filter(case=case).exists()
    assert [
        subject for _to, subject in sent_to() if "task" in subject or "check-in" in subject
    ] == []


# --- check-ins after a transfer ---------------------------------------------------------


def test_it_sends_check_ins_to_the_new_schools_site_admin_until_someone_there_keeps_them(
    staff,
):
    case = case_from_concern(staff)
    remind()
    assert check_in_reminders() == [("counselor", ReminderKind.CHECK_IN_DUE)]
    assert (LIN_COUNSELOR, CHECK_IN) in sent_to()

    # The counselor works only at LIN; the case moves to ROO.
    case = transfer_to_roo(staff, fresh(case))
    assert checkin_keeper_away(fresh(case))
    mail.outbox.clear()
    remind()
    check_ins = [item for item in sent_to() if "check-in" in item[1]]
    assert check_ins == [(ROO_ADMIN, CHECK_IN_UNKEPT)]
    body = next(m.body for m in mail.outbox if m.subject == CHECK_IN_UNKEPT)
    assert "Give the check-ins to someone at the school." in body
    assert f"{BASE}/cases/{case.pk}/" in body
    assert SIS_ID not in body and LAST not in body
    # Once for this due time.
    mail.outbox.clear()
    remind()
    assert [item for item in sent_to() if "check-in" in item[1]] == []

    # ROO's site admin gives the check-ins to ROO's counselor: the keeper hears again.
    services.checkin_plan_set(
        acting_user=staff["outsider_admin"],
        case_id=case.pk,
        every_days=1,
        assignee="outsider_counselor",
        expected_version=fresh(case).version,
    )
    assert not checkin_keeper_away(fresh(case))
    remind()
    assert [item for item in sent_to() if "check-in" in item[1]] == [(ROO_COUNSELOR, CHECK_IN)]
    assert check_in_reminders() == sorted(
        [
            ("counselor", ReminderKind.CHECK_IN_DUE),
            ("outsider_admin", ReminderKind.CHECK_IN_UNKEPT),
            ("outsider_counselor", ReminderKind.CHECK_IN_DUE),
        ]
    )


def test_it_sends_check_ins_to_the_keeper_again_once_they_work_at_the_new_school(staff):
    case = transfer_to_roo(staff, case_from_concern(staff))
    counselor = staff["counselor"]
    counselor.schools.add(staff.roo)
    assert not checkin_keeper_away(fresh(case))
    remind()
    assert [item for item in sent_to() if "check-in" in item[1]] == [(LIN_COUNSELOR, CHECK_IN)]


def test_it_counts_the_coordinator_as_working_at_every_school(staff):
    case = transfer_to_roo(staff, case_from_concern(staff, keeper="district_coordinator"))
    assert not checkin_keeper_away(fresh(case))
    remind()
    assert [item for item in sent_to() if "check-in" in item[1]] == [(COORDINATOR, CHECK_IN)]


def test_it_withdraws_the_site_admins_unsent_check_in_once_someone_keeps_them(staff, smtp_down):
    case = transfer_to_roo(staff, case_from_concern(staff))
    with pytest.raises(CommandError, match="could not send e-mail"):
        remind()
    waiting = Reminder.objects.get(step_id="", sent_at__isnull=True)
    assert waiting.kind == ReminderKind.CHECK_IN_UNKEPT
    services.checkin_plan_set(
        acting_user=staff["outsider_admin"],
        case_id=case.pk,
        every_days=1,
        assignee="outsider_counselor",
        expected_version=fresh(case).version,
    )
    smtp_down.EMAIL_BACKEND = LOCMEM
    remind()
    assert [item for item in sent_to() if "check-in" in item[1]] == [(ROO_COUNSELOR, CHECK_IN)]
    waiting.refresh_from_db()
    assert waiting.withdrawn_at is not None and waiting.sent_at is None


def test_it_says_nothing_is_away_for_a_case_without_a_plan_or_no_longer_open(staff, open_case):
    assert not checkin_keeper_away(open_case())
    case = transfer_to_roo(staff, case_from_concern(staff, sis_id="SIS-2"))
    assert checkin_keeper_away(fresh(case))
    services.case_void(
        acting_user=staff["outsider_admin"],
        case_id=case.pk,
        reason="Opened for the wrong student.",
        expected_version=fresh(case).version,
    )
    assert not checkin_keeper_away(fresh(case))


def test_it_judges_who_keeps_check_ins_as_the_access_rules_do(staff):
    """The sweep's in-memory answer agrees with ``check_in_assignable`` for everyone."""
    staff["counselor"].schools.add(staff.roo)
    left = staff["outsider_counselor"]
    left.is_active = False
    left.save()
    people = People()
    for user in staff.users.values():
        user.refresh_from_db()
        for school in School.objects.all():
            assert people.keeps_check_ins(user.pk, school.pk) == check_in_assignable(
                user, school.pk
            ), (user.username, school.code)


def test_it_reads_transferred_cases_check_ins_in_a_fixed_number_of_queries(staff):
    def queries_for_a_dry_run() -> int:
        with CaptureQueriesContext(connection) as queries:
            reminders_send(acting_user=None, base_url=BASE, dry_run=True)
        return len(queries)

    for number in range(2):
        transfer_to_roo(staff, case_from_concern(staff, sis_id=f"A-{number}"))
    few = queries_for_a_dry_run()
    for number in range(6):
        transfer_to_roo(staff, case_from_concern(staff, sis_id=f"B-{number}"))
    assert queries_for_a_dry_run() == few
    planned = reminders_send(acting_user=None, base_url=BASE, dry_run=True).planned
    assert sum(1 for item in planned if item.kind == ReminderKind.CHECK_IN_UNKEPT) == 8
