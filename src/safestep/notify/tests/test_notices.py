"""Notices: one-off e-mails about concerns and reviews that must reach the right people once,
even when the mail server is down, and never say anything about the child."""

from __future__ import annotations

import io
import logging
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from safestep.accounts.models import Role, User
from safestep.audit.models import Event
from safestep.cases import services as case_services
from safestep.cases.models import (
    Concern,
    ConcernStatus,
    ConcernStudent,
    Review,
    ReviewDecision,
    ReviewKind,
    ReviewStatus,
    Student,
)
from safestep.core.moment_text import moment_text
from safestep.notify.models import Notice, NoticeKind
from safestep.notify.services import (
    notice_concern_submitted,
    notice_reporter_duty_stands,
    notice_review_opened,
    reminders_send,
)
from safestep.testing import complete

BASE = "https://safestep.example.org"
SIS_ID = "SIS-730041"
FIRST, LAST = "Marisol", "Quintanilla"
DESCRIPTION = "Picked up by an older man in a grey van after practice."
REVIEW_REASON = "Counselor spoke to the aunt, who explained the grey van."
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"

ADMIN = "site_admin@district.example"
COORDINATOR = "district_coordinator@district.example"
REPORTER = "reporter@district.example"

SUBMITTED = "SafeStep: a concern at your school waits for triage"
WAITING_SOON = "SafeStep: a concern waits for triage and its report is due within 24 hours"
WAITING_OVERDUE = "SafeStep: a concern waits for triage and its report is overdue"
WAITING_COORDINATOR = "SafeStep: a concern's report is overdue and it waits for triage"
OWN_REPORT_DUE = "SafeStep: your written child abuse report is due within 24 hours"
NOT_OPENED = "SafeStep: a concern you reported was not opened as a case"
WAIVED = "SafeStep: the school will not make the report for a concern you reported"
REVIEW = "SafeStep: a decision needs your review"


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


def concern_at(
    district,
    *,
    observed_hours_ago: float = 2,
    submitted_hours_ago: float | None = None,
    school: str = "LIN",
    own_report: dict[str, str] | None = None,
    status: str = ConcernStatus.SUBMITTED,
) -> Concern:
    """A concern as concern_submit leaves it: due 36 hours after it was observed."""
    now = timezone.now()
    observed = now - timedelta(hours=observed_hours_ago)
    submitted = (
        now - timedelta(hours=submitted_hours_ago)
        if submitted_hours_ago is not None
        else min(observed + timedelta(minutes=30), now)
    )
    home = district.lin if school == "LIN" else district.roo
    student, _ = Student.objects.get_or_create(
        school=home, sis_id=SIS_ID, defaults={"first_name": FIRST, "last_name": LAST}
    )
    concern = Concern.objects.create(
        submitted_by=district["reporter"],
        submitted_at=submitted,
        school=home,
        observed_at=observed,
        description=DESCRIPTION,
        indicators=[],
        own_report=own_report,
        report_due_at=observed + timedelta(hours=36),
        status=status,
    )
    ConcernStudent.objects.create(concern=concern, student=student, position=0)
    return concern


def review_of(concern: Concern, opened_by: User) -> Review:
    return Review.objects.create(
        concern=concern,
        kind=ReviewKind.CONCERN_DISMISSED,
        reason=REVIEW_REASON,
        opened_at=timezone.now(),
        opened_by=opened_by,
    )


def sent_to() -> list[tuple[str, str]]:
    """(recipient, subject) of every e-mail sent so far, sorted."""
    return sorted((message.to[0], str(message.subject)) for message in mail.outbox)


def remind(**options) -> str:
    out = io.StringIO()
    call_command("remind", f"--base-url={BASE}", stdout=out, **options)
    return out.getvalue()


def local_time(moment: datetime) -> str:
    """MOMENT as an English e-mail writes it, in the district's zone ("Wed 2 Dec 2026, 05:05")."""
    return moment_text(moment.astimezone(ZoneInfo(django_settings.TIME_ZONE)))


# --- at once, after the change commits --------------------------------------------------


def test_it_tells_the_schools_site_admins_at_once_when_a_concern_is_submitted(
    staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        concern = case_services.concern_submit(
            acting_user=staff["reporter"],
            school_code="LIN",
            students=[case_services.StudentInput(sis_id=SIS_ID, first_name=FIRST, last_name=LAST)],
            observed_at=timezone.now() - timedelta(hours=2),
            description=DESCRIPTION,
            indicators=[],
        )
    # Only the site admin of LIN: not ROO's site admin, not the counselor, not the district.
    assert sent_to() == [(ADMIN, SUBMITTED)]
    body = mail.outbox[0].body
    concern.refresh_from_db()
    assert concern.report_due_at is not None
    assert f"is due by {local_time(concern.report_due_at)}" in body
    assert f"{BASE}/triage/" in body
    event = Event.objects.get(action="notice.send")
    assert event.actor is None
    assert event.payload["kind"] == NoticeKind.CONCERN_SUBMITTED
    assert event.payload["to"] == "site_admin"


def test_it_tells_the_district_when_the_school_has_no_site_admin_to_e_mail(
    staff, django_capture_on_commit_callbacks
):
    outsider = staff["outsider_admin"]
    outsider.email = ""
    outsider.save()
    concern = concern_at(staff, school="ROO")
    with django_capture_on_commit_callbacks(execute=True):
        notice_concern_submitted(concern=concern)
    assert sent_to() == [(COORDINATOR, SUBMITTED)]


def test_it_skips_people_it_cannot_e_mail(staff, django_capture_on_commit_callbacks):
    left = staff["site_admin"]
    left.is_active = False
    left.save()
    no_address = User.objects.create_user(username="no_address", role=Role.SITE_ADMIN)
    reachable = User.objects.create_user(
        username="deputy", role=Role.SITE_ADMIN, email="deputy@district.example"
    )
    for user in (no_address, reachable):
        user.schools.set([staff.lin])
    concern = concern_at(staff)
    with django_capture_on_commit_callbacks(execute=True):
        notice_concern_submitted(concern=concern)
    assert sent_to() == [("deputy@district.example", SUBMITTED)]
    assert list(Notice.objects.values_list("recipient__username", flat=True)) == ["deputy"]


def test_it_tells_every_coordinator_that_a_review_waits(staff, django_capture_on_commit_callbacks):
    second = User.objects.create_user(
        username="coordinator_two",
        role=Role.DISTRICT_COORDINATOR,
        email="coordinator_two@district.example",
    )
    review = review_of(concern_at(staff), staff["site_admin"])
    with django_capture_on_commit_callbacks(execute=True):
        notice_review_opened(review=review)
    assert sent_to() == sorted([(COORDINATOR, REVIEW), (second.email, REVIEW)])
    body = mail.outbox[0].body
    assert "Decision: Concern dismissed without a case" in body
    assert f"{BASE}/reviews/" in body


@pytest.mark.parametrize(
    ("kind", "subject"),
    [("concern_not_opened", NOT_OPENED), ("report_waived", WAIVED)],
)
def test_it_tells_the_reporter_once_that_their_own_duty_stands(
    staff, django_capture_on_commit_callbacks, kind, subject
):
    concern = concern_at(staff, status=ConcernStatus.DISMISSED)
    with django_capture_on_commit_callbacks(execute=True):
        notice_reporter_duty_stands(concern=concern, kind=kind)
        notice_reporter_duty_stands(concern=concern, kind=kind)
    assert sent_to() == [(REPORTER, subject)]
    body = mail.outbox[0].body
    assert "Your own duty to report stands" in body
    assert "Penal Code 11166" in body
    assert f"{BASE}/concerns/{concern.pk}/" in body
    assert Notice.objects.count() == 1
    # ...and later calls, in later transactions, add nothing either.
    with django_capture_on_commit_callbacks(execute=True):
        notice_reporter_duty_stands(concern=concern, kind=kind)
    assert len(mail.outbox) == 1


def test_it_gives_the_reporter_no_deadline_once_their_written_report_is_in(
    staff, django_capture_on_commit_callbacks
):
    written = phoned(20, written_submitted_at=timezone.now().isoformat())
    concern = concern_at(staff, status=ConcernStatus.DISMISSED, own_report=written)
    with django_capture_on_commit_callbacks(execute=True):
        notice_reporter_duty_stands(concern=concern, kind="concern_not_opened")
    body = mail.outbox[0].body
    assert "Your own duty to report stands" in body
    assert "due by" not in body


def test_it_refuses_a_duty_notice_of_an_unknown_kind(staff):
    with pytest.raises(ValueError, match="concern_not_opened"):
        notice_reporter_duty_stands(concern=concern_at(staff), kind="dismissed")
    assert not Notice.objects.exists()


def test_it_writes_and_sends_nothing_when_the_change_is_refused(
    staff, django_capture_on_commit_callbacks
):
    concern = concern_at(staff)

    def refused_change() -> None:
        with transaction.atomic():
            notice_concern_submitted(concern=concern)
            raise RuntimeError("the service refused the change after all")

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
    ):
        refused_change()
    assert callbacks == []
    assert not Notice.objects.exists()
    assert mail.outbox == []


def test_it_keeps_a_notice_the_mail_server_refused_and_the_next_remind_sends_it(
    staff, smtp_down, django_capture_on_commit_callbacks, caplog
):
    concern = concern_at(staff)
    with (
        caplog.at_level(logging.WARNING, logger="safestep.notify"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        notice_concern_submitted(concern=concern)  # must not raise: the change is saved
    assert "safestep remind" in caplog.text
    notice = Notice.objects.get()
    assert notice.sent_at is None
    assert not Event.objects.filter(action="notice.send").exists()

    smtp_down.EMAIL_BACKEND = LOCMEM
    out = remind()
    assert "0 new notice(s); sent 1 notice e-mail(s); 0 withdrawn" in out
    assert sent_to() == [(ADMIN, SUBMITTED)]
    assert Event.objects.filter(action="notice.send").count() == 1
    # Sent once: the next run has nothing to send.
    assert "sent 0 notice e-mail(s)" in remind()
    assert len(mail.outbox) == 1


def test_it_fails_a_remind_run_in_one_line_when_the_mail_server_is_down(staff, smtp_down):
    concern_at(staff, observed_hours_ago=40, submitted_hours_ago=39)
    with pytest.raises(CommandError, match="could not send e-mail"):
        remind()
    # The reminders are in the outbox, unsent, for the next run.
    assert Notice.objects.filter(sent_at__isnull=True).count() == 2
    smtp_down.EMAIL_BACKEND = LOCMEM
    assert "0 new notice(s); sent 2 notice e-mail(s)" in remind()


# --- reminders while a concern waits ----------------------------------------------------


def test_it_reminds_the_school_and_then_the_district_as_a_concern_waits(staff):
    concern = concern_at(staff, observed_hours_ago=2, submitted_hours_ago=1)
    due = concern.report_due_at
    assert due is not None

    def run_at(moment: datetime) -> list[tuple[str, str]]:
        mail.outbox.clear()
        reminders_send(acting_user=None, base_url=BASE, now=moment)
        return sent_to()

    assert run_at(due - timedelta(hours=30)) == []
    assert run_at(due - timedelta(hours=20)) == [(ADMIN, WAITING_SOON)]
    assert run_at(due - timedelta(hours=19)) == []
    assert run_at(due + timedelta(minutes=5)) == sorted(
        [(ADMIN, WAITING_OVERDUE), (COORDINATOR, WAITING_COORDINATOR)]
    )
    assert run_at(due + timedelta(hours=30)) == []


def test_it_leaves_a_later_runs_reminders_alone_when_two_runs_overlap(staff, smtp_down):
    concern = concern_at(staff, observed_hours_ago=2, submitted_hours_ago=1)
    due = concern.report_due_at
    assert due is not None
    # A run that began just after the due time adds the overdue reminders, but the mail
    # server fails it...
    with pytest.raises(OSError):
        reminders_send(acting_user=None, base_url=BASE, now=due + timedelta(minutes=1))
    # ...while a run that began a moment earlier, before the due time, carries on.
    smtp_down.EMAIL_BACKEND = LOCMEM
    earlier = reminders_send(acting_user=None, base_url=BASE, now=due - timedelta(minutes=1))
    assert earlier.notices_withdrawn == 0
    assert sent_to() == [(ADMIN, WAITING_SOON)]
    mail.outbox.clear()
    reminders_send(acting_user=None, base_url=BASE, now=due + timedelta(minutes=5))
    assert sent_to() == sorted([(ADMIN, WAITING_OVERDUE), (COORDINATOR, WAITING_COORDINATOR)])


def test_it_sends_each_concern_reminder_once(staff):
    concern_at(staff, observed_hours_ago=20, submitted_hours_ago=19)
    concern_at(staff, observed_hours_ago=40, submitted_hours_ago=39)
    first = remind()
    assert "3 new notice(s); sent 3 notice e-mail(s); 0 withdrawn" in first
    assert sent_to() == sorted(
        [(ADMIN, WAITING_OVERDUE), (ADMIN, WAITING_SOON), (COORDINATOR, WAITING_COORDINATOR)]
    )
    second = remind()
    assert "0 new notice(s); sent 0 notice e-mail(s); 0 withdrawn" in second
    assert len(mail.outbox) == 3
    assert Notice.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_it_sends_each_concern_reminder_once_when_two_runs_overlap(staff):
    concern_at(staff, observed_hours_ago=20, submitted_hours_ago=19)
    concern_at(staff, observed_hours_ago=40, submitted_hours_ago=39)
    results: list[object] = []

    def sweep() -> None:
        try:
            results.append(reminders_send(acting_user=None, base_url=BASE))
        except Exception as error:  # reported below; a thread cannot fail the test itself
            results.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(mail.outbox) == 3
    assert Notice.objects.filter(sent_at__isnull=False).count() == 3
    assert Event.objects.filter(action="notice.send").count() == 3


def test_it_does_not_repeat_the_submission_notice_as_a_reminder(staff):
    # Seen 30 hours ago, reported just now: the submission notice gave the due time.
    concern = concern_at(staff, observed_hours_ago=30, submitted_hours_ago=0.01)
    remind()
    assert mail.outbox == []
    # Once overdue, the school hears again and the district for the first time.
    assert concern.report_due_at is not None
    reminders_send(
        acting_user=None, base_url=BASE, now=concern.report_due_at + timedelta(minutes=1)
    )
    assert sent_to() == sorted([(ADMIN, WAITING_OVERDUE), (COORDINATOR, WAITING_COORDINATOR)])


def test_it_reminds_nobody_of_a_concern_already_triaged_or_dismissed(staff):
    concern_at(staff, observed_hours_ago=40, status=ConcernStatus.TRIAGED)
    concern_at(staff, observed_hours_ago=20, status=ConcernStatus.DISMISSED)
    assert "0 new notice(s)" in remind()
    assert mail.outbox == []


def test_it_withdraws_what_waits_for_a_concern_once_it_is_triaged(
    staff, smtp_down, django_capture_on_commit_callbacks
):
    concern = concern_at(staff, observed_hours_ago=40, submitted_hours_ago=39)
    with django_capture_on_commit_callbacks(execute=True):
        notice_concern_submitted(concern=concern)
    with pytest.raises(CommandError, match="could not send e-mail"):
        remind()
    assert Notice.objects.filter(sent_at__isnull=True).count() == 3
    Concern.objects.filter(pk=concern.pk).update(status=ConcernStatus.TRIAGED)
    smtp_down.EMAIL_BACKEND = LOCMEM
    assert "0 new notice(s); sent 0 notice e-mail(s); 3 withdrawn" in remind()
    assert mail.outbox == []
    assert not Notice.objects.filter(withdrawn_at__isnull=True).exists()


def test_it_withdraws_a_review_notice_once_the_review_is_decided(
    staff, smtp_down, django_capture_on_commit_callbacks
):
    review = review_of(concern_at(staff, status=ConcernStatus.DISMISSED), staff["site_admin"])
    with django_capture_on_commit_callbacks(execute=True):
        notice_review_opened(review=review)
    Review.objects.filter(pk=review.pk).update(
        status=ReviewStatus.DECIDED,
        decision=ReviewDecision.UPHELD,
        decided_at=timezone.now(),
        decided_by=staff["district_coordinator"],
    )
    smtp_down.EMAIL_BACKEND = LOCMEM
    assert "sent 0 notice e-mail(s); 1 withdrawn" in remind()
    assert mail.outbox == []


# --- the reporter's own written report --------------------------------------------------


def phoned(hours_ago: float, **more: str) -> dict[str, str]:
    moment = timezone.now() - timedelta(hours=hours_ago)
    return {"agency": "cws", "phoned_at": moment.isoformat(), **more}


def test_it_reminds_the_reporter_that_their_written_report_is_due(staff):
    concern = concern_at(
        staff,
        observed_hours_ago=20,
        status=ConcernStatus.TRIAGED,  # whatever the school does, the reporter's duty is theirs
        own_report=phoned(19),
    )
    remind()
    assert sent_to() == [(REPORTER, OWN_REPORT_DUE)]
    body = mail.outbox[0].body
    assert concern.report_due_at is not None
    due = local_time(concern.report_due_at)
    assert f"Your written child abuse report (SS 8572) is due by {due}" in body
    assert f"{BASE}/concerns/{concern.pk}/" in body
    mail.outbox.clear()
    remind()
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("observed_hours_ago", "own_report"),
    [
        (20, None),  # nothing phoned in: nothing to remind of
        (20, phoned(19, written_submitted_at=timezone.now().isoformat())),  # already written
        (2, phoned(1)),  # due in 34 hours: not yet
        (40, phoned(39)),  # already past due
    ],
)
def test_it_does_not_remind_the_reporter_otherwise(staff, observed_hours_ago, own_report):
    concern_at(
        staff,
        observed_hours_ago=observed_hours_ago,
        status=ConcernStatus.TRIAGED,
        own_report=own_report,
    )
    remind()
    assert [to for to, _subject in sent_to() if to == REPORTER] == []


def test_it_withdraws_the_written_report_reminder_once_it_is_recorded(staff, smtp_down):
    concern = concern_at(
        staff, observed_hours_ago=20, status=ConcernStatus.TRIAGED, own_report=phoned(19)
    )
    with pytest.raises(CommandError, match="could not send e-mail"):
        remind()
    assert Notice.objects.get().kind == NoticeKind.OWN_REPORT_DUE
    Concern.objects.filter(pk=concern.pk).update(
        own_report=phoned(19, written_submitted_at=timezone.now().isoformat())
    )
    smtp_down.EMAIL_BACKEND = LOCMEM
    assert "sent 0 notice e-mail(s); 1 withdrawn" in remind()
    assert mail.outbox == []


# --- what the e-mails hold, dry runs, and speed -----------------------------------------


def test_it_keeps_the_child_the_case_and_the_reporter_out_of_every_notice(
    staff, django_capture_on_commit_callbacks, open_case
):
    waiting = concern_at(staff, observed_hours_ago=40, submitted_hours_ago=39)
    soon = concern_at(staff, observed_hours_ago=20, submitted_hours_ago=19, own_report=phoned(19))
    dismissed = concern_at(staff, status=ConcernStatus.DISMISSED)
    moved = open_case("confirmed_victim", sis_id="SIS-2")
    complete(
        staff,
        moved,
        "placement_review",
        {"decision": "transfer", "reason": "A fresh start.", "new_school": "ROO"},
        hours_ago=1,
    )
    moved.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        notice_concern_submitted(concern=waiting)
        notice_review_opened(review=review_of(dismissed, staff["site_admin"]))
        notice_reporter_duty_stands(concern=dismissed, kind="concern_not_opened")
        notice_reporter_duty_stands(concern=soon, kind="report_waived")
        notice_reporter_duty_stands(concern=soon, kind="case_voided")
        case_services.case_transfer(
            acting_user=staff["district_coordinator"],
            case_id=moved.pk,
            school_code="ROO",
            completed_at=timezone.now() - timedelta(minutes=30),
            expected_version=moved.version,
        )
    remind()
    kinds = set(Notice.objects.filter(sent_at__isnull=False).values_list("kind", flat=True))
    assert kinds == set(NoticeKind.values)
    words = (SIS_ID, FIRST, LAST, DESCRIPTION, "grey van", REVIEW_REASON, "Lincoln", "Roosevelt")
    for message in mail.outbox:
        text = f"{message.subject}\n{message.body}"
        for word in (*words, "Lopez", moved.reference):
            assert word not in text, f"{word!r} in an e-mail to {message.to}"
        if message.to != [REPORTER]:
            # A reporter may have asked that school staff not learn who reported.
            assert "reporter" not in text, f"the reporter named in an e-mail to {message.to}"


def test_it_shows_concern_reminders_in_a_dry_run_without_sending_or_storing(staff):
    concern = concern_at(staff, observed_hours_ago=40, submitted_hours_ago=39)
    out = remind(dry_run=True)
    assert f"would add: concern_waiting notice, concern {concern.pk}" in out
    assert "would add: concern_waiting_coordinator notice" in out
    assert "dry run: 2 new notice(s); would send 2 notice e-mail(s)" in out
    assert mail.outbox == []
    assert not Notice.objects.exists()


def test_it_reads_waiting_concerns_in_a_fixed_number_of_queries(staff):
    def queries_for_a_dry_run() -> int:
        with CaptureQueriesContext(connection) as queries:
            reminders_send(acting_user=None, base_url=BASE, dry_run=True)
        return len(queries)

    for _ in range(3):
        concern_at(staff, observed_hours_ago=20, submitted_hours_ago=19, own_report=phoned(19))
        concern_at(staff, observed_hours_ago=40, submitted_hours_ago=39)
    few = queries_for_a_dry_run()
    for _ in range(30):
        concern_at(staff, observed_hours_ago=20, submitted_hours_ago=19, own_report=phoned(19))
        concern_at(staff, observed_hours_ago=40, submitted_hours_ago=39)
    assert queries_for_a_dry_run() == few
