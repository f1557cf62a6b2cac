"""Attachments through the API: what is accepted, how it is stored, who may fetch it."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from safestep.attachments.models import Attachment
from safestep.attachments.storage import sanitize_file_name, sniff
from safestep.audit.models import Event

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(40)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(40)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(40)
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(40)
HTML = b"<!doctype html><script>alert(1)</script>"
EXE = b"MZ\x90\x00" + bytes(60)


def upload(client, case_id: int, name: str, content: bytes, content_type: str = "image/png"):
    file = SimpleUploadedFile(name, content, content_type=content_type)
    return client.post(f"/api/v1/cases/{case_id}/attachments", {"file": file}, format="multipart")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (PDF, "application/pdf"),
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (WEBP, "image/webp"),
        (HEIC, "image/heic"),
    ],
)
def test_it_accepts_pdfs_and_images_by_their_content(api_as, open_case, content, expected):
    case = open_case()
    # The name and the browser's claimed type are deliberately wrong.
    answer = upload(api_as("counselor"), case.pk, "scan.txt", content, "text/plain")
    assert answer.status_code == 201, answer.json()
    assert answer.json()["content_type"] == expected


@pytest.mark.parametrize(
    ("name", "content"),
    [("photo.jpg", HTML), ("form.pdf", EXE), ("notes.png", b"just words")],
)
def test_it_refuses_anything_else_whatever_its_name_says(api_as, open_case, name, content):
    case = open_case()
    answer = upload(api_as("counselor"), case.pk, name, content, "image/jpeg")
    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/problem+json"
    assert "PDF or an image" in answer.json()["errors"]["file"][0]
    assert not Attachment.objects.exists()


def test_it_refuses_a_request_without_a_file(api_as, open_case):
    case = open_case()
    answer = api_as("counselor").post(
        f"/api/v1/cases/{case.pk}/attachments", {"note": "x"}, format="multipart"
    )
    assert answer.status_code == 400 and "file" in answer.json()["errors"]


@override_settings(MAX_UPLOAD_BYTES=1024 * 1024)
def test_it_refuses_a_file_over_the_configured_size(api_as, open_case):
    case = open_case()
    big = PDF + bytes(1024 * 1024)
    answer = upload(api_as("counselor"), case.pk, "big.pdf", big)
    assert answer.status_code == 400
    assert answer.json()["errors"]["file"] == ["At most 1 MB."]
    assert upload(api_as("counselor"), case.pk, "small.pdf", PDF).status_code == 201


def test_it_stores_the_file_encrypted_under_a_meaningless_name(api_as, open_case):
    case = open_case()
    upload(api_as("counselor"), case.pk, "Ana Lopez hotel receipt.pdf", PDF)
    attachment = Attachment.objects.get()
    on_disk = Path(settings.ATTACHMENTS_DIR) / attachment.storage_name
    blob = on_disk.read_bytes()
    assert blob.startswith(b"SSE1") and b"%PDF" not in blob
    assert "Lopez" not in attachment.storage_name
    assert oct(on_disk.stat().st_mode & 0o777) == "0o600"


def test_it_hands_the_file_back_with_safe_download_headers_and_audits_it(api_as, open_case):
    case = open_case()
    created = upload(api_as("counselor"), case.pk, 'x";\r\nEvil: 1 ../../etc/passwd.pdf', PDF)
    attachment_id = created.json()["id"]
    answer = api_as("site_admin").get(f"/api/v1/cases/{case.pk}/attachments/{attachment_id}")
    assert answer.status_code == 200
    assert b"".join(answer.streaming_content if answer.streaming else [answer.content]) == PDF
    assert answer["Content-Type"] == "application/pdf"
    disposition = answer["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "\r" not in disposition and "\n" not in disposition and "/" not in disposition
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert answer["Content-Security-Policy"] == "default-src 'none'; sandbox"
    event = Event.objects.filter(action="attachment.download").get()
    assert event.actor_username == "site_admin"
    assert event.case_id == case.pk
    assert event.payload == {"attachment": attachment_id}


def test_it_lists_a_cases_attachments(api_as, open_case):
    case = open_case()
    upload(api_as("counselor"), case.pk, "form.pdf", PDF)
    upload(api_as("site_admin"), case.pk, "photo.png", PNG)
    listed = api_as("school_police").get(f"/api/v1/cases/{case.pk}/attachments").json()
    assert [(item["file_name"], item["uploaded_by"]) for item in listed] == [
        ("form.pdf", "counselor"),
        ("photo.png", "site_admin"),
    ]


def test_it_lets_access_follow_the_case(api_as, open_case):
    case = open_case()
    other = open_case(school="ROO", sis_id="S-9", by="outsider_admin")
    attachment_id = upload(api_as("counselor"), case.pk, "form.pdf", PDF).json()["id"]
    url = f"/api/v1/cases/{case.pk}/attachments/{attachment_id}"
    assert api_as("outsider_admin").get(url).status_code == 404
    assert api_as("reporter").get(url).status_code == 404
    assert api_as("auditor").get(url).status_code == 404
    # The placement office sees the case's summary, not its evidence.
    placement_case = open_case("confirmed_victim", sis_id="S-3")
    placement_file = upload(api_as("counselor"), placement_case.pk, "f.pdf", PDF).json()["id"]
    placement_url = f"/api/v1/cases/{placement_case.pk}/attachments/{placement_file}"
    assert api_as("placement_office").get(placement_url).status_code == 403
    # An attachment is only reachable through its own case.
    assert (
        api_as("outsider_admin")
        .get(f"/api/v1/cases/{other.pk}/attachments/{attachment_id}")
        .status_code
        == 404
    )
    assert upload(api_as("outsider_admin"), case.pk, "x.pdf", PDF).status_code == 404
    assert upload(api_as("placement_office"), placement_case.pk, "x.pdf", PDF).status_code == 403
    assert not Event.objects.filter(action="attachment.download").exists()


def test_it_refuses_attachments_on_a_closed_case(api_as, open_case):
    from safestep.cases.models import Case, CaseStatus

    case = open_case()
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.CLOSED)
    assert upload(api_as("counselor"), case.pk, "x.pdf", PDF).status_code == 409


@pytest.mark.parametrize(
    ("raw", "content", "expected"),
    [
        ("form.pdf", PDF, "form.pdf"),
        ("C:\\Users\\me\\Desktop\\scan.PDF", PDF, "scan.pdf"),
        ("../../etc/passwd", PDF, "passwd.pdf"),
        ('a"b<c>d;e.png', PNG, "a_b_c_d_e.png"),
        ("photo.exe", PNG, "photo.png"),
        ("line\r\nbreak.jpg", JPEG, "line break.jpg"),
        ("...", PDF, "attachment.pdf"),
        ("José Álvarez.jpeg", JPEG, "José Álvarez.jpeg"),
        ("x" * 300 + ".pdf", PDF, "x" * 116 + ".pdf"),
    ],
)
def test_it_sanitizes_file_names(raw, content, expected):
    kind = sniff(content)
    assert kind is not None
    assert sanitize_file_name(raw, kind) == expected


def test_it_refuses_an_empty_file(api_as, open_case):
    case = open_case()
    answer = upload(api_as("counselor"), case.pk, "empty.pdf", b"")
    assert answer.status_code == 400 and "file" in answer.json()["errors"]
