"""The SS 8572's field map is the state's form, and the PDF drawn from it is Letter paper with
its fonts embedded, whose narrative runs on to pages that say whose report they continue.

These tests need no database: the field map is data, and the drawing takes a filled form.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from safestep.protocol import load_shipped_protocols
from safestep.reports.scar import (
    CHECKED,
    UNCHECKED,
    Filled,
    Note,
    ScarForm,
    render_scar_pdf,
)
from safestep.reports.ss8572 import (
    FIELD_MAP,
    FIELDS_BY_KEY,
    PERSON_GROUPS,
    SECTIONS,
    SOURCES,
    STEP_FIELD_KEYS,
    field_map_markdown,
    sources_markdown,
)

HERE = Path(__file__).resolve().parent
DOCS = HERE.parents[3] / "docs" / "reports.md"
LETTER = (612, 792)  # points


def tab_separated(name: str) -> list[tuple[str, str]]:
    rows = []
    for line in (HERE / name).read_text(encoding="utf-8").splitlines():
        key, label = line.split("\t")
        rows.append((key, label))
    return rows


def pages_of(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def one_line(text: str) -> str:
    return " ".join(text.split())


# --- the map is the state's form -------------------------------------------------------------


def test_it_maps_exactly_the_fields_of_the_state_form_in_its_order():
    assert [(spec.key, spec.label) for spec in FIELD_MAP] == tab_separated("ss8572_form_fields.txt")


def test_it_gives_each_box_of_the_state_form_in_its_order():
    assert [(spec.key, label) for spec in FIELD_MAP for _, label in spec.boxes] == tab_separated(
        "ss8572_form_boxes.txt"
    )


def test_it_keeps_the_sections_in_the_forms_order():
    order = [section.key for section in SECTIONS]
    assert order == ["header", "A", "B", "C", "D", "E"]
    places = [order.index(spec.section) for spec in FIELD_MAP]
    assert places == sorted(places)
    groups = {spec.group for spec in FIELD_MAP if spec.group}
    assert groups == {group.key for group in PERSON_GROUPS}


def test_every_source_and_fallback_of_the_map_is_one_the_form_knows():
    for spec in FIELD_MAP:
        for source in spec.sources:
            assert source in SOURCES, (spec.key, source)
        if spec.fallback:
            assert spec.fallback in FIELDS_BY_KEY
        assert 0 < spec.span <= 24
    # Only SafeStep's own two fields are not on the state's form, at the end of section B.
    assert [spec.key for spec in FIELD_MAP if spec.extra] == [
        "B.report_number",
        "B.written_report_at",
    ]
    # The signature is always signed by hand.
    assert FIELDS_BY_KEY["A.signature"].sources == ()


def test_the_shipped_protocol_fills_only_fields_a_step_may_fill():
    for definition in load_shipped_protocols():
        declared = set(definition.fields_for_form())
        assert declared <= STEP_FIELD_KEYS, declared - STEP_FIELD_KEYS
    # The child abuse report step of the shipped protocol fills these.
    (shipped,) = [d for d in load_shipped_protocols() if d.id == "sdusd-csec"]
    assert {
        "A.witnessed",
        "B.agency",
        "B.agency_name",
        "B.official_name",
        "B.official_title",
        "B.official_phone",
        "B.contacted_at",
        "B.report_number",
        "B.written_report_at",
        "C.abuse_type",
        "C.abuse_type_other",
        "C.relationship_to_suspect",
        "C.photos_taken",
        "C.resulted_in_death",
        "E.incident_at",
        "E.incident_place",
    } <= set(shipped.fields_for_form())


def test_the_docs_show_the_field_map_as_it_is():
    docs = DOCS.read_text(encoding="utf-8")
    assert field_map_markdown() in docs
    assert sources_markdown() in docs
    for spec in FIELD_MAP:
        assert f"`{spec.key}`" in docs


# --- the drawing ---------------------------------------------------------------------------


def filled_form(narrative: str, subject: str = "case CSEC-2026-0042") -> ScarForm:
    return ScarForm(
        subject=subject,
        prepared_at="2026-12-01 09:30 PST",
        values={
            "header.case_name": Filled(text="CSEC-2026-0042"),
            "B.agency": Filled(text="Child Welfare Services", checked=frozenset({"child_welfare"})),
            "C.abuse_type": Filled(checked=frozenset({"sexual", "neglect"})),
            "C.photos_taken": Filled(checked=frozenset({"no"})),
            "E.narrative": Filled(text=narrative),
        },
        notes={"B": (Note("Written report due (36 hours after the suspicion)", "soon"),)},
    )


def assert_letter_with_fonts_embedded(content: bytes) -> None:
    """Every page is US Letter, and every font it uses is embedded (DejaVu Sans)."""
    reader = PdfReader(io.BytesIO(content))
    for page in reader.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == LETTER
        resources: Any = page["/Resources"]
        fonts = resources["/Font"]
        assert fonts
        for reference in fonts.values():
            font: Any = reference.get_object()
            assert "DejaVu" in str(font["/BaseFont"])
            # A TrueType font in a composite font: its descriptor carries the font file.
            descendant = font["/DescendantFonts"][0].get_object()
            assert "/FontFile2" in descendant["/FontDescriptor"].get_object()


def test_it_prints_on_letter_paper_with_its_fonts_embedded():
    assert_letter_with_fonts_embedded(render_scar_pdf(filled_form("She said little.")))


def test_it_marks_the_boxes_of_what_was_recorded_and_leaves_the_others_empty():
    text = one_line(" ".join(pages_of(render_scar_pdf(filled_form("x")))))
    assert (
        f"{UNCHECKED} Law enforcement {UNCHECKED} County probation {CHECKED} County welfare / CPS"
        in text
    )
    assert (
        f"{UNCHECKED} Physical {UNCHECKED} Mental {CHECKED} Sexual {CHECKED} Neglect "
        f"{UNCHECKED} Other (specify)"
    ) in text
    assert f"Photos taken? {UNCHECKED} Yes {CHECKED} No" in text
    # Nothing recorded: every box empty, for the reporter to mark by hand.
    assert f"In foster care? {UNCHECKED} Yes {UNCHECKED} No" in text
    assert "N/A" not in text


def test_a_long_narrative_runs_on_to_pages_that_name_the_report_they_continue():
    paragraphs = [f"Paragraph {n}: " + "she said he drove her to a motel. " * 60 for n in range(9)]
    pages = pages_of(render_scar_pdf(filled_form("\n\n".join(paragraphs))))
    assert len(pages) >= 3
    total = len(pages)
    for number, page in enumerate(pages, start=1):
        page_text = one_line(page)
        assert f"Page {number} of {total}" in page_text
        if number > 1:
            assert (
                f"Suspected Child Abuse Report (SS 8572), case CSEC-2026-0042, continued: "
                f"page {number} of {total}"
            ) in page_text
    last = one_line(pages[-1])
    assert "E. Incident information: narrative description (continued)" in last
    assert "Paragraph 8:" in last
    # Every page the narrative leaves says where it goes on.
    narrative_pages = [n for n, page in enumerate(pages, start=1) if "Paragraph" in page]
    for number in narrative_pages[:-1]:
        assert f"The narrative continues on page {number + 1}." in one_line(pages[number - 1])
    # Nothing of the narrative is lost on the way.
    everything = one_line(" ".join(pages))
    for paragraph in paragraphs:
        assert paragraph.split(":")[0] in everything
    # (counted by its last word: a sentence may be cut by a page's foot and the next's head)
    assert everything.count("motel.") == 9 * 60


def test_a_file_of_several_reports_numbers_each_reports_pages():
    long = "\n\n".join("He waits at the gate every day. " * 60 for _ in range(6))
    content = render_scar_pdf(
        [
            filled_form(long, "concern 7, student 1 of 2"),
            filled_form("", "concern 7, student 2 of 2"),
        ]
    )
    pages = [one_line(page) for page in pages_of(content)]
    first = [page for page in pages if "student 1 of 2" in page]
    second = [page for page in pages if "student 2 of 2" in page]
    assert len(first) + len(second) == len(pages)
    assert f"Page 1 of {len(first)}" in first[0]
    assert f"Page 1 of {len(second)}" in second[0]
    assert "SUSPECTED CHILD ABUSE REPORT" in second[0]


def test_a_form_with_nothing_known_prints_every_label_and_no_value():
    content = render_scar_pdf(ScarForm(subject="concern 1", prepared_at="now", values={}))
    text = one_line(" ".join(pages_of(content)))
    for spec in FIELD_MAP:
        assert one_line(spec.label) in text, spec.key
    assert "N/A" not in text
    assert CHECKED not in text
    # The form's lines for people are there to fill in: three siblings, two parents, a suspect.
    assert re.search(r"Parent / guardian 1 .* Parent / guardian 2", text)
    assert "Suspect 1" in text
