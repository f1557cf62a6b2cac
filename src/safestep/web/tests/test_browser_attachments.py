"""Attachments in a real browser: a counselor attaches a PDF on the case page and the
principal downloads it back, byte for byte; and the new pages (search, a student, my
account, the administration area) checked with axe-core."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from safestep.attachments.models import Attachment
from safestep.audit.models import Event
from safestep.definitions.models import ProtocolVersion
from safestep.web.tests.browser import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A small but real PDF: one empty page.
PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
    b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)


def test_it_attaches_a_pdf_and_downloads_it_back_byte_for_byte(
    people, district, open_case, tmp_path
):
    case = open_case("suspected_victim", sis_id="S-70")
    source = tmp_path / "intake form.pdf"
    source.write_bytes(PDF)

    counselor = people.page("counselor")
    counselor.goto(people.url(f"/cases/{case.pk}/"))
    section = counselor.locator("#attachments")
    expect(section).to_contain_text("No files are attached to this case.")
    assert_accessible(counselor, "case page with the attachments section")

    # A file that is not a PDF or an image is refused next to the field.
    fake = tmp_path / "photo.jpg"
    fake.write_bytes(b"#!/bin/sh\necho not a photo\n")
    section.get_by_label("File to attach").set_input_files(str(fake))
    section.get_by_role("button", name="Attach the file").click()
    expect(counselor.locator("#attachment-file-error")).to_contain_text("Only a PDF or an image")
    expect(counselor.locator("#attachment-file")).to_have_attribute("aria-invalid", "true")
    assert_accessible(counselor, "case page with a refused attachment")

    section = counselor.locator("#attachments")
    section.get_by_label("File to attach").set_input_files(str(source))
    section.get_by_role("button", name="Attach the file").click()
    expect(counselor.locator("#live")).to_contain_text("intake form.pdf is attached to the case.")
    expect(counselor.locator("#attachments")).to_contain_text("intake form.pdf")
    assert Attachment.objects.filter(case=case).count() == 1

    principal = people.page("site_admin")
    principal.goto(people.url(f"/cases/{case.pk}/"))
    row = principal.locator("#attachments tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("counselor")
    with principal.expect_download() as download_info:
        row.get_by_role("link", name="intake form.pdf").click()
    download = download_info.value
    assert download.suggested_filename == "intake form.pdf"
    assert Path(download.path()).read_bytes() == PDF
    assert Event.objects.filter(
        action="attachment.download", case_id=case.pk, actor_username="site_admin"
    ).exists()


def test_it_keeps_the_new_pages_accessible(people, district, open_case, tmp_path):
    case = open_case("suspected_victim", sis_id="S-71")

    principal = people.page("site_admin")
    principal.goto(people.url("/search/"))
    principal.get_by_label("Student's name, SIS id or case reference").fill("Lopez")
    principal.get_by_role("button", name="Search").click()
    expect(principal.get_by_role("link", name=case.reference)).to_be_visible()
    assert_accessible(principal, "search results")
    principal.get_by_role("link", name="Ana Lopez").click()
    expect(principal.get_by_role("heading", level=1)).to_have_text("Ana Lopez")
    assert_accessible(principal, "a student's page")

    principal.goto(people.url("/account/"))
    principal.get_by_label("E-mail address for reminders").fill("not an address")
    principal.get_by_role("button", name="Save").click()
    expect(principal.locator("#account-email-error")).to_be_visible()
    assert_accessible(principal, "my account with an error")

    coordinator = people.page("district_coordinator")
    coordinator.goto(people.url("/admin-area/"))
    assert_accessible(coordinator, "the administration area")
    coordinator.get_by_role("link", name="Accounts").click()
    coordinator.locator("#add-username").fill("newcounselor")
    coordinator.locator("#add-role").select_option("counselor")
    coordinator.get_by_role("button", name="Add the account").click()
    expect(coordinator.locator("#add-school-error")).to_be_visible()
    assert_accessible(coordinator, "accounts with a refused new account")
    coordinator.locator("#add-school-group").get_by_label(re.compile("Lincoln")).check()
    coordinator.get_by_role("button", name="Add the account").click()
    expect(coordinator.locator("#one-time-password")).to_be_visible()
    assert_accessible(coordinator, "a new account with its one-time password")

    coordinator.goto(people.url("/admin-area/schools/"))
    assert_accessible(coordinator, "schools")

    broken = tmp_path / "district.yaml"
    broken.write_text("protocol:\n  id: x\n  title: [unclosed\n", encoding="utf-8")
    coordinator.goto(people.url("/admin-area/protocols/"))
    coordinator.get_by_label("Definition file (YAML)").set_input_files(str(broken))
    coordinator.get_by_role("button", name="Check the file").click()
    expect(coordinator.locator("#issues")).to_contain_text("district.yaml:4:1:")
    assert_accessible(coordinator, "protocols with a file's problems")
    version = ProtocolVersion.objects.order_by("pk").first()
    assert version is not None
    coordinator.goto(people.url(f"/admin-area/protocols/{version.pk}/"))
    assert_accessible(coordinator, "a protocol version")
