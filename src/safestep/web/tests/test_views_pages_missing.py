"""The pages people missed (issue 14, item 7): attachments on the case page, the case
search, a student's page, "My account", and the protocol choice at triage. Each is shown to
whom it should be, refused (404) to anyone whose scope does not reach it, and recorded."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from safestep.accounts.models import User
from safestep.accounts.testing import signed_in_client
from safestep.attachments.models import Attachment
from safestep.attachments.services import attachment_add
from safestep.audit.models import Event
from safestep.cases import services
from safestep.cases.models import Case
from safestep.cases.selectors import search_digest
from safestep.definitions.services import protocol_load
from safestep.testing import ago

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
HTMX = {"HTTP_HX_REQUEST": "true"}
SECOND_PROTOCOL = Path(__file__).resolve().parents[2] / "cases/tests/protocols/ca-generic.yaml"


@pytest.fixture
def as_user(district):
    clients: dict[str, Client] = {}

    def make(username: str) -> Client:
        if username not in clients:
            clients[username] = signed_in_client(district[username])
        return clients[username]

    return make


def html(response) -> str:
    return response.content.decode()


def events(action: str) -> list[Event]:
    return list(Event.objects.filter(action=action).order_by("seq"))


# --- attachments on the case page ----------------------------------------------------------


def test_it_lists_a_cases_attachments_with_name_size_who_and_when(as_user, district, open_case):
    case = open_case()
    attachment_add(
        acting_user=district["counselor"], case_id=case.pk, file_name="intake.pdf", content=PDF
    )
    page = html(as_user("site_admin").get(f"/cases/{case.pk}/"))
    assert 'id="attachments"' in page
    assert "intake.pdf" in page
    assert f"/cases/{case.pk}/attachments/" in page  # the upload form
    assert "counselor" in page
    assert f"{len(PDF)}\xa0bytes" in page


def test_it_attaches_a_pdf_without_javascript_and_redirects_back_to_the_section(as_user, open_case):
    case = open_case()
    answer = as_user("counselor").post(
        f"/cases/{case.pk}/attachments/", {"file": SimpleUploadedFile("scan.pdf", PDF)}
    )
    assert answer.status_code == 302
    assert answer["Location"] == f"/cases/{case.pk}/#attachments"
    stored = Attachment.objects.get(case=case)
    assert stored.file_name == "scan.pdf" and stored.content_type == "application/pdf"
    assert [event.case_id for event in events("attachment.add")] == [case.pk]


def test_it_attaches_with_htmx_and_answers_with_the_case_body(as_user, open_case):
    case = open_case()
    answer = as_user("counselor").post(
        f"/cases/{case.pk}/attachments/", {"file": SimpleUploadedFile("scan.pdf", PDF)}, **HTMX
    )
    assert answer.status_code == 200
    body = html(answer)
    assert "<html" not in body and 'id="case-body"' in body
    assert "scan.pdf is attached to the case." in body


def test_it_refuses_a_file_that_is_not_a_pdf_or_an_image_next_to_the_field(as_user, open_case):
    case = open_case()
    answer = as_user("counselor").post(
        f"/cases/{case.pk}/attachments/",
        {"file": SimpleUploadedFile("photo.jpg", b"#!/bin/sh\necho hi\n")},
    )
    assert answer.status_code == 400
    body = html(answer)
    assert 'id="attachment-file-error"' in body
    assert "Only a PDF or an image" in body
    assert 'aria-invalid="true"' in body
    assert not Attachment.objects.exists()


def test_it_asks_for_a_file_when_none_was_chosen(as_user, open_case):
    case = open_case()
    answer = as_user("counselor").post(f"/cases/{case.pk}/attachments/", {})
    assert answer.status_code == 400
    assert "Choose the file to attach." in html(answer)


def test_it_downloads_an_attachment_byte_for_byte_and_records_it(as_user, district, open_case):
    case = open_case()
    attachment = attachment_add(
        acting_user=district["counselor"], case_id=case.pk, file_name="scan.pdf", content=PDF
    )
    answer = as_user("site_admin").get(f"/cases/{case.pk}/attachments/{attachment.pk}/")
    assert answer.status_code == 200
    assert answer.content == PDF
    assert answer["Content-Type"] == "application/pdf"
    assert 'attachment; filename="scan.pdf"' in answer["Content-Disposition"]
    assert "sandbox" in answer["Content-Security-Policy"]
    assert "no-store" in answer["Cache-Control"]
    [download] = events("attachment.download")
    assert download.case_id == case.pk and download.actor_username == "site_admin"


def test_it_shows_the_placement_office_no_attachments_and_refuses_their_download(
    as_user, district, open_case
):
    case = open_case("confirmed_victim")  # a pathway the placement office sees
    attachment = attachment_add(
        acting_user=district["counselor"], case_id=case.pk, file_name="scan.pdf", content=PDF
    )
    office = as_user("placement_office")
    page = office.get(f"/cases/{case.pk}/")
    assert page.status_code == 200
    assert 'id="attachments"' not in html(page) and "scan.pdf" not in html(page)
    assert office.get(f"/cases/{case.pk}/attachments/{attachment.pk}/").status_code == 403
    upload = office.post(
        f"/cases/{case.pk}/attachments/", {"file": SimpleUploadedFile("x.pdf", PDF)}
    )
    assert upload.status_code == 403
    assert not events("attachment.download")


def test_it_answers_an_outsider_not_found_for_attachments(as_user, district, open_case):
    case = open_case()
    attachment = attachment_add(
        acting_user=district["counselor"], case_id=case.pk, file_name="scan.pdf", content=PDF
    )
    outsider = as_user("outsider_admin")
    assert outsider.get(f"/cases/{case.pk}/attachments/{attachment.pk}/").status_code == 404
    upload = outsider.post(
        f"/cases/{case.pk}/attachments/", {"file": SimpleUploadedFile("x.pdf", PDF)}
    )
    assert upload.status_code == 404
    assert Attachment.objects.count() == 1
    huge = as_user("site_admin").get(f"/cases/{case.pk}/attachments/{2**70}/")
    assert huge.status_code == 404


def test_it_offers_no_upload_on_a_closed_case_and_refuses_one(as_user, district, open_case):
    case = open_case()
    Case.objects.filter(pk=case.pk).update(status="closed")
    admin = as_user("site_admin")
    assert 'name="file"' not in html(admin.get(f"/cases/{case.pk}/"))
    upload = admin.post(
        f"/cases/{case.pk}/attachments/", {"file": SimpleUploadedFile("x.pdf", PDF)}
    )
    assert upload.status_code == 409


# --- the case search --------------------------------------------------------------------------


def test_it_finds_cases_by_name_sis_id_and_reference(as_user, open_case):
    case = open_case(sis_id="S-501")
    other = open_case(sis_id="S-777")
    admin = as_user("site_admin")
    by_name = html(admin.get("/search/", {"q": "ana lop"}))
    assert case.reference in by_name and other.reference in by_name
    by_sis = html(admin.get("/search/", {"q": "S-50"}))
    assert case.reference in by_sis and other.reference not in by_sis
    by_reference = html(admin.get("/search/", {"q": case.reference.lower()}))
    assert f'href="/cases/{case.pk}/"' in by_reference and other.reference not in by_reference
    assert 'href="/students/LIN/S-501/"' in by_sis


def test_it_searches_only_the_cases_the_reader_may_see(as_user, open_case):
    ours = open_case(sis_id="S-601")
    theirs = open_case(school="ROO", sis_id="S-602", by="outsider_admin")
    page = html(as_user("site_admin").get("/search/", {"q": "Lopez"}))
    assert ours.reference in page and theirs.reference not in page
    assert "1 case found" in page
    # Asking for the other school's case by its exact reference finds nothing either.
    assert "0 cases found" in html(as_user("site_admin").get("/search/", {"q": theirs.reference}))
    coordinator = html(as_user("district_coordinator").get("/search/", {"q": "Lopez"}))
    assert ours.reference in coordinator and theirs.reference in coordinator


def test_it_records_a_search_without_the_words_typed(as_user, open_case):
    case = open_case(sis_id="S-701")
    as_user("counselor").get("/search/", {"q": "Ana Lopez"})
    [event] = events("case.search")
    assert event.actor_username == "counselor"
    assert event.payload["results"] == 1 and event.payload["cases"] == [case.pk]
    assert event.payload["query_digest"] == search_digest("ana   LOPEZ")
    assert "Ana" not in str(event.payload) and "Lopez" not in str(event.payload)


def test_it_shows_the_search_form_alone_and_records_nothing_before_a_search(as_user):
    page = as_user("site_admin").get("/search/")
    assert page.status_code == 200 and 'role="search"' in html(page)
    assert not events("case.search")


def test_it_leaves_voided_cases_out_of_a_search_unless_asked(as_user, district, open_case):
    case = open_case(sis_id="S-801")
    services.case_void(
        acting_user=district["site_admin"],
        case_id=case.pk,
        reason="Wrong student.",
        expected_version=case.version,
    )
    admin = as_user("site_admin")
    assert case.reference not in html(admin.get("/search/", {"q": "S-801"}))
    assert case.reference in html(admin.get("/search/", {"q": "S-801", "voided": "1"}))


@pytest.mark.parametrize("username", ["reporter", "auditor"])
def test_it_has_no_search_for_roles_that_read_no_cases(as_user, username):
    assert as_user(username).get("/search/", {"q": "Lopez"}).status_code == 404
    assert not events("case.search")


# --- a student's page -------------------------------------------------------------------------


def _concern(district, by: str, sis_id: str, school: str = "LIN"):
    return services.concern_submit(
        acting_user=district[by],
        school_code=school,
        student=services.StudentInput(sis_id=sis_id, first_name="Ana", last_name="Lopez"),
        observed_at=timezone.now() - timedelta(hours=1),
        description="Seen with an older man.",
        indicators=[],
    )


def test_it_shows_a_students_cases_and_concerns_to_the_schools_staff(as_user, district, open_case):
    case = open_case(sis_id="S-901")
    concern = _concern(district, "counselor", "S-901")
    page = as_user("site_admin").get("/students/LIN/S-901/")
    assert page.status_code == 200
    body = html(page)
    assert "Ana Lopez" in body and "S-901" in body
    assert case.reference in body
    assert f'href="/concerns/{concern.pk}/"' in body
    [event] = events("case.student_read")
    assert event.payload["cases"] == [case.pk] and event.payload["concerns"] == [concern.pk]
    assert "Lopez" not in str(event.payload)


def test_it_lists_a_counselors_own_concern_but_none_they_may_not_see(as_user, district, open_case):
    open_case(sis_id="S-902")
    own = _concern(district, "counselor", "S-902")
    someone_elses = _concern(district, "reporter", "S-902")
    body = html(as_user("counselor").get("/students/LIN/S-902/"))
    assert f"/concerns/{own.pk}/" in body
    assert f"/concerns/{someone_elses.pk}/" not in body


def test_it_answers_not_found_for_a_student_outside_the_readers_reach(as_user, district, open_case):
    open_case(school="ROO", sis_id="S-903", by="outsider_admin")
    assert as_user("site_admin").get("/students/ROO/S-903/").status_code == 404
    # The same SIS id at the reader's own school is another student: unknown here.
    assert as_user("site_admin").get("/students/LIN/S-903/").status_code == 404
    assert as_user("outsider_admin").get("/students/ROO/S-903/").status_code == 200
    assert as_user("district_coordinator").get("/students/ROO/S-903/").status_code == 200
    assert [event.actor_username for event in events("case.student_read")] == [
        "outsider_admin",
        "district_coordinator",
    ]


@pytest.mark.parametrize("username", ["reporter", "auditor"])
def test_it_has_no_student_pages_for_those_who_only_report_or_audit(as_user, district, username):
    # The reporter reported this student: their concern page says what they typed, but the
    # school's record (perhaps spelt otherwise) is not theirs to read.
    _concern(district, "reporter", "S-904")
    assert as_user(username).get("/students/LIN/S-904/").status_code == 404


def test_it_answers_not_found_for_a_student_known_only_through_a_voided_case(
    as_user, district, open_case
):
    case = open_case(sis_id="S-905")
    services.case_void(
        acting_user=district["site_admin"],
        case_id=case.pk,
        reason="Opened for the wrong student.",
        expected_version=case.version,
    )
    assert as_user("site_admin").get("/students/LIN/S-905/").status_code == 404


def test_it_shows_a_triager_a_student_known_only_by_a_concern(as_user, district):
    _concern(district, "reporter", "S-906")
    page = as_user("site_admin").get("/students/LIN/S-906/")
    assert page.status_code == 200 and "Ana Lopez" in html(page)


# --- my account -------------------------------------------------------------------------------


def test_it_saves_my_reminder_address_and_language_and_records_the_change(as_user, district):
    client = as_user("counselor")
    page = client.get("/account/")
    assert page.status_code == 200 and 'name="email"' in html(page)
    answer = client.post("/account/", {"email": "jo.kim@example.org", "language": "es"})
    assert answer.status_code == 302 and answer["Location"] == "/account/"
    person = User.objects.get(username="counselor")
    assert (person.email, person.language) == ("jo.kim@example.org", "es")
    [event] = events("user.account")
    assert event.actor_username == "counselor"
    assert event.payload["changed"] == ["email", "language"]
    assert "jo.kim" not in str(event.payload)
    assert "Your account is saved." in html(client.get("/account/"))


def test_it_refuses_an_address_that_is_not_one_next_to_the_field(as_user):
    answer = as_user("reporter").post("/account/", {"email": "not an address", "language": "en"})
    assert answer.status_code == 400
    body = html(answer)
    assert 'id="account-email-error"' in body and 'value="not an address"' in body
    assert 'href="#account-email"' in body  # the summary links to the field
    assert User.objects.get(username="reporter").email == ""
    assert not events("user.account")


def test_it_refuses_a_language_it_does_not_offer(as_user):
    answer = as_user("reporter").post("/account/", {"email": "", "language": "fr"})
    assert answer.status_code == 400
    assert 'id="account-language-error"' in html(answer)


def test_it_records_nothing_when_nothing_changed(as_user):
    answer = as_user("reporter").post("/account/", {"email": "", "language": "en"})
    assert answer.status_code == 302
    assert not events("user.account")


def test_it_sends_anonymous_visitors_to_sign_in(client):
    for path in ("/account/", "/search/", "/students/LIN/S-1/"):
        answer = client.get(path)
        assert answer.status_code == 302 and "/signin/" in answer["Location"]


# --- the protocol a case opens on, at triage ----------------------------------------------------


def test_it_offers_no_protocol_choice_while_only_one_protocol_is_loaded(as_user, district):
    _concern(district, "reporter", "S-950")
    assert 'name="protocol"' not in html(as_user("site_admin").get("/triage/"))


def test_it_opens_a_case_on_another_loaded_protocol_chosen_at_triage(as_user, district):
    protocol_load(text=SECOND_PROTOCOL.read_text(encoding="utf-8"), source_name="ca-generic.yaml")
    concern = _concern(district, "reporter", "S-951")
    admin = as_user("site_admin")
    page = html(admin.get("/triage/"))
    assert 'name="protocol"' in page
    assert "(active)" in page and 'value="ca-generic"' in page
    answer = admin.post(
        f"/triage/{concern.pk}/open/",
        {
            "protocol": "ca-generic",
            "pathway": "abuse_suspected",
            "suspicion_formed_at": timezone.localtime(ago(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            "summary": "",
        },
    )
    assert answer.status_code == 302, html(answer)
    case = Case.objects.get(student__sis_id="S-951")
    assert case.protocol.protocol_id == "ca-generic"


def test_it_opens_a_case_on_the_active_protocol_by_default(as_user, district):
    protocol_load(text=SECOND_PROTOCOL.read_text(encoding="utf-8"), source_name="ca-generic.yaml")
    concern = _concern(district, "reporter", "S-952")
    answer = as_user("site_admin").post(
        f"/triage/{concern.pk}/open/",
        {
            "protocol": "",
            "pathway": "suspected_victim",
            "suspicion_formed_at": timezone.localtime(ago(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert answer.status_code == 302, html(answer)
    assert Case.objects.get(student__sis_id="S-952").protocol.protocol_id == "sdusd-csec"
