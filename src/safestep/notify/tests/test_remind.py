"""`safestep remind`: who is told what, once, and nothing about the child."""

from __future__ import annotations

import io
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from safestep.audit.models import Event
from safestep.cases import services
from safestep.cases.models import Case, CheckInPlan
from safestep.notify.models import Reminder, ReminderPreference
from safestep.notify.services import reminders_send
from safestep.testing import ago

BASE = "https://safestep.example.org"
STUDENT = services.StudentInput(sis_id="SIS-730041", first_name="Marisol", last_name="Quintanilla")
SUMMARY = "Picked up by an older man in a grey van after practice."


def run(**options) -> str:
    out = io.StringIO()
    call_command("remind", f"--base-url={BASE}", stdout=out, **options)
    return out.getvalue()


def sent_to() -> list[tuple[str, str]]:
    """(recipient, subject) of every e-mail sent so far, sorted."""
    return sorted((message.to[0], str(message.subject)) for message in mail.outbox)


@pytest.fixture
def staff(district):
    for username in ("site_admin", "counselor", "district_coordinator", "outsider_admin"):
        user = district[username]
        user.email = f"{username}@district.example"
        user.save()
    return district


@pytest.fixture
def due_work(staff):
    """Two cases at LIN, as the reminders see them:

    recent: suspected victim, suspicion 40 h ago: police due within a day (due soon), the
            CWS report 4 h overdue; a daily check-in plan started 2 days ago (due).
    old:    confirmed victim, suspicion 70 h ago: police due soon, CWS 34 h overdue (the
            coordinator hears of it too).
    """
    admin = staff["site_admin"]
    recent = services.case_open(
        acting_user=admin,
        pathway="suspected_victim",
        suspicion_formed_at=ago(hours=40),
        summary=SUMMARY,
        school_code="LIN",
        student=STUDENT,
    )
    services.checkin_plan_set(
        acting_user=staff["counselor"],
        case_id=recent.pk,
        every_days=1,
        assignee="counselor",
        expected_version=Case.objects.get(pk=recent.pk).version,
    )
    CheckInPlan.objects.filter(case=recent).update(started_at=ago(days=2))
    old = services.case_open(
        acting_user=admin,
        pathway="confirmed_victim",
        suspicion_formed_at=ago(hours=70),
        summary=SUMMARY,
        school_code="LIN",
        student=services.StudentInput(sis_id="SIS-2", first_name="Rosa", last_name="Benítez"),
    )
    return {"recent": Case.objects.get(pk=recent.pk), "old": Case.objects.get(pk=old.pk)}


def test_it_tells_each_person_what_they_can_act_on(due_work):
    run()
    admin, counselor, coordinator = (
        "site_admin@district.example",
        "counselor@district.example",
        "district_coordinator@district.example",
    )
    assert sent_to() == sorted(
        [
            # police involvement (site admins of the school act on it), due within a day
            (admin, "SafeStep: a task is due within 24 hours"),
            (admin, "SafeStep: a task is due within 24 hours"),
            # the CWS report, overdue: site admins and counselors of the school
            (admin, "SafeStep: a task is overdue"),
            (admin, "SafeStep: a task is overdue"),
            (counselor, "SafeStep: a task is overdue"),
            (counselor, "SafeStep: a task is overdue"),
            # more than a day overdue: the district coordinator
            (coordinator, "SafeStep: a task is more than 24 hours overdue"),
            # the check-in, to the person who keeps them
            (counselor, "SafeStep: a check-in is due"),
        ]
    )


def test_it_sends_nothing_new_when_run_again(due_work):
    first = run()
    count = len(mail.outbox)
    assert first.startswith("8 new reminder(s); sent 8 e-mail(s)")
    second = run()
    assert len(mail.outbox) == count
    assert second.startswith("0 new reminder(s); sent 0 e-mail(s)")
    assert Reminder.objects.count() == 8


def test_it_sends_a_new_reminder_when_a_new_deadline_comes(due_work, staff):
    run()
    mail.outbox.clear()
    recent = due_work["recent"]
    services.checkin_record(
        acting_user=staff["counselor"],
        case_id=recent.pk,
        occurred_at=ago(minutes=5),
        method="in_person",
        notes="Talked at lunch.",
    )
    # The next check-in is due in a day: a new due time, so one new reminder...
    run()
    assert sent_to() == [("counselor@district.example", "SafeStep: a check-in is due")]
    # ...and only one.
    mail.outbox.clear()
    run()
    assert mail.outbox == []


def test_it_keeps_the_child_and_the_case_out_of_every_e_mail(due_work, staff):
    recent = due_work["recent"]
    services.step_complete(
        acting_user=staff["site_admin"],
        case_id=recent.pk,
        step_id="police_involved",
        occurred_at=ago(hours=1),
        # School Police: the district's own officers, so no disclosure outside the district.
        details={
            "agency": "school_police",
            "officer": "Sgt. Okafor",
            "police_report_number": "PR-55",
        },
        expected_version=recent.version,
    )
    preference_for = staff["district_coordinator"]
    ReminderPreference.objects.create(
        user=preference_for, daily_digest=True, digest_hour=0, updated_at=timezone.now()
    )
    run()
    assert mail.outbox
    words = [
        STUDENT.sis_id,
        STUDENT.first_name,
        STUDENT.last_name,
        "Rosa",
        "Benítez",
        "SIS-2",
        SUMMARY,
        "grey van",
        "Sgt. Okafor",
        "PR-55",
        due_work["recent"].reference,
        due_work["old"].reference,
        "Lincoln",
    ]
    for message in mail.outbox:
        text = f"{message.subject}\n{message.body}"
        for word in words:
            assert word not in text, f"{word!r} in an e-mail to {message.to}"
    # What they do carry: the kind of task, when, and a link that needs a sign-in.
    bodies = "\n".join(str(message.body) for message in mail.outbox)
    assert "Submit a Child Welfare Services report (SS 8572)" in bodies
    assert f"{BASE}/cases/{recent.pk}/" in bodies


def test_it_sends_one_daily_digest_to_those_who_chose_it(due_work, staff):
    counselor = staff["counselor"]
    ReminderPreference.objects.create(
        user=counselor, daily_digest=True, digest_hour=0, updated_at=timezone.now()
    )
    run()
    to_counselor = [m for m in mail.outbox if m.to == ["counselor@district.example"]]
    assert len(to_counselor) == 1
    digest = to_counselor[0]
    assert digest.subject == "SafeStep: your daily list (3 tasks)"
    assert digest.body.count("Task:") == 3
    # Nothing more today, however often it runs.
    mail.outbox.clear()
    run()
    assert [m for m in mail.outbox if m.to == ["counselor@district.example"]] == []


def test_it_holds_digest_items_until_the_hour_and_drops_ones_no_longer_true(due_work, staff):
    counselor = staff["counselor"]
    ReminderPreference.objects.create(
        user=counselor, daily_digest=True, digest_hour=7, updated_at=timezone.now()
    )
    zone = ZoneInfo(settings.TIME_ZONE)
    tomorrow = (timezone.now().astimezone(zone) + timedelta(days=1)).date()
    early = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 6, 0, tzinfo=zone)
    reminders_send(acting_user=None, base_url=BASE, now=early)
    assert not [m for m in mail.outbox if m.to == ["counselor@district.example"]]
    recent = due_work["recent"]
    services.step_complete(
        acting_user=counselor,
        case_id=recent.pk,
        step_id="cws_report",
        occurred_at=ago(minutes=10),
        details={
            "agency": "cws",
            "phoned_at": ago(minutes=30).isoformat(),
            "written_submitted_at": ago(minutes=10).isoformat(),
        },
        # The CWS report was due hours ago: a late report says why.
        reason="The counselor was away until this morning.",
        expected_version=recent.version,
    )
    report = reminders_send(acting_user=None, base_url=BASE, now=early.replace(hour=7, minute=30))
    assert report.digests == 1
    assert report.withdrawn >= 1
    digest = next(m for m in mail.outbox if m.to == ["counselor@district.example"])
    # The report was filed before the digest went out: it is not in it.
    tasks = [line for line in digest.body.splitlines() if "Task:" in line]
    assert tasks.count("   Task: Submit a Child Welfare Services report (SS 8572)") == 1


def test_it_shows_a_dry_run_without_sending_or_storing(due_work):
    out = run(dry_run=True)
    assert "dry run: 8 new reminder(s); would send 8 e-mail(s)" in out
    assert out.count("would add:") == 8
    assert mail.outbox == []
    assert not Reminder.objects.exists()


def test_it_records_each_e_mail_in_the_audit_trail(due_work):
    run()
    events = Event.objects.filter(action="reminder.send")
    assert events.count() == 8
    assert {e.case_id for e in events} == {due_work["recent"].pk, due_work["old"].pk}
    assert all(e.actor is None for e in events)


def test_it_writes_mail_as_files_in_the_data_directory_by_default(due_work, settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    run()
    files = list(tmp_path.iterdir())
    assert files
    written = "".join(path.read_text() for path in files)
    assert written.count("Subject: SafeStep:") == 8
    assert STUDENT.last_name not in written


def test_it_refuses_a_bad_link_address_in_one_line(district):
    with pytest.raises(CommandError) as refused:
        call_command("remind", "--base-url=safestep.local", stdout=io.StringIO())
    assert refused.value.returncode == 2
    assert "base_url" in str(refused.value)


@pytest.mark.django_db(transaction=True)
def test_it_sends_each_reminder_once_when_two_runs_overlap(due_work):
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
    assert len(mail.outbox) == 8
    assert Reminder.objects.count() == 8
    assert Reminder.objects.filter(sent_at__isnull=True).count() == 0
