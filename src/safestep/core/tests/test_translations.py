"""Spanish: every catalogue complete, every template's text translatable, the language chosen.

SafeStep's pages speak English or Spanish. A string left out of a catalogue, or text written
in a template outside ``{% translate %}``, would show English in the middle of a Spanish
page; these tests fail on either and name the file and line.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import polib
import pytest
from django.test import Client
from django.urls import reverse
from django.utils.translation.template import templatize

import safestep
from safestep.accounts.models import Language
from safestep.accounts.testing import signed_in_client
from safestep.conftest import District

SOURCE = Path(safestep.__file__).resolve().parent
# Every app's Spanish catalogue, including apps added later: found by their place.
SPANISH_CATALOGUES = sorted(SOURCE.glob("*/locale/es/LC_MESSAGES/django.po"))
TEMPLATES = sorted(SOURCE.glob("*/templates/**/*.html"))
# The e-mails SafeStep sends, written as plain-text templates.
EMAIL_TEMPLATES = sorted(SOURCE.glob("*/templates/**/*.txt"))
# Text that is the same in every language, so it may stay outside {% translate %}: only the
# product's name ("SafeStep" in the page titles and the header). Add to it sparingly.
UNTRANSLATED_ALLOWED = {"SafeStep"}
# printf-style (%(name)s, %s, %d) and format-style ({name}) placeholders.
PLACEHOLDER = re.compile(r"%\(\w+\)[sdfr]|%[sdfr]|\{\w*\}")


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text.replace("%%", "")))


def test_it_finds_a_spanish_catalogue_for_each_web_facing_app() -> None:
    apps_with_catalogue = {path.relative_to(SOURCE).parts[0] for path in SPANISH_CATALOGUES}
    assert {"web", "reports", "notify", "attachments", "definitions", "core"} <= apps_with_catalogue


@pytest.mark.parametrize("catalogue", SPANISH_CATALOGUES, ids=lambda path: path.parts[-5])
def test_it_translates_every_string_of_the_spanish_catalogue(catalogue: Path) -> None:
    problems: list[str] = []
    for entry in polib.pofile(str(catalogue)):
        if entry.obsolete:
            continue
        where = f"{catalogue.relative_to(SOURCE)}:{entry.linenum}: {entry.msgid!r}"
        if entry.fuzzy:
            problems.append(f"{where} is marked fuzzy")
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        if not all(text.strip() for text in translations):
            problems.append(f"{where} has no Spanish")
            continue
        # Django itself fills a placeholder the translation dropped with nothing: compare.
        if entry.msgid_plural:
            # Spanish has two forms, like English: one, and any other number.
            singular, plural = placeholders(entry.msgid), placeholders(entry.msgid_plural)
            expected = [singular] + [plural] * (len(translations) - 1)
        else:
            expected = [placeholders(entry.msgid)]
        for wanted, text in zip(expected, translations, strict=True):
            if placeholders(text) != wanted:
                problems.append(f"{where} has placeholders {placeholders(text)}, not {wanted}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("catalogue", SPANISH_CATALOGUES, ids=lambda path: path.parts[-5])
def test_it_ships_each_compiled_catalogue_up_to_date(catalogue: Path) -> None:
    compiled = catalogue.with_suffix(".mo")
    assert compiled.exists(), f"{compiled.relative_to(SOURCE)} is missing: run make messages"
    written = {
        (entry.msgctxt, entry.msgid): entry.msgstr_plural or entry.msgstr
        for entry in polib.mofile(str(compiled))
        if entry.msgid
    }
    wanted = {
        (entry.msgctxt, entry.msgid): {int(k): v for k, v in entry.msgstr_plural.items()}
        or entry.msgstr
        for entry in polib.pofile(str(catalogue))
        if not entry.obsolete and not entry.fuzzy and entry.msgid
    }
    assert written == wanted, f"{compiled.relative_to(SOURCE)} is stale: run make messages"


def blank_out(pattern: str, text: str, flags: int = re.DOTALL) -> str:
    """Remove each match but keep its line breaks, so line numbers still point at the file."""
    return re.sub(pattern, lambda match: "\n" * match.group(0).count("\n"), text, flags=flags)


def untranslated_text(template: Path) -> list[str]:
    """Each piece of visible text outside {% translate %}, as "FILE:LINE: text"."""
    text = template.read_text(encoding="utf-8")
    text = blank_out(r"\{#.*?#\}", text)
    text = blank_out(r"\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}", text)
    text = blank_out(r"\{%\s*blocktrans(?:late)?\b.*?\{%\s*endblocktrans(?:late)?\s*%\}", text)
    text = blank_out(r"<(script|style)\b.*?</\1\s*>", text, re.DOTALL | re.IGNORECASE)
    text = blank_out(r"\{%.*?%\}", text)
    text = blank_out(r"\{\{.*?\}\}", text)
    text = blank_out(r"<!--.*?-->", text)
    pieces: list[tuple[int, str]] = []
    # Attributes a person reads or hears: labels, hints, tooltips and alternative text.
    for match in re.finditer(
        r"\b(?:aria-label|title|placeholder|alt|data-label)\s*=\s*(\"[^\"]*\"|'[^']*')", text
    ):
        pieces.append((text.count("\n", 0, match.start()), match.group(1)[1:-1]))
    # Markup, and attributes written outside a tag (a fragment included inside one).
    without_tags = blank_out(r"<[^>]*>|\b[\w-]+=(\"[^\"]*\"|'[^']*')", text)
    for number, line in enumerate(without_tags.splitlines()):
        pieces.append((number, line))
    found: list[str] = []
    for number, piece in pieces:
        piece = re.sub(r"&[#\w]+;", " ", piece).strip()
        words = piece
        for allowed in sorted(UNTRANSLATED_ALLOWED, key=len, reverse=True):
            words = words.replace(allowed, " ")
        # Only words need translating: punctuation, numbers and symbols read the same.
        if not re.search(r"[^\W\d_]", words):
            continue
        where = template.relative_to(SOURCE) if template.is_relative_to(SOURCE) else template
        found.append(f"{where}:{number + 1}: {piece}")
    return found


def test_it_finds_text_written_outside_translate_and_names_its_line(tmp_path: Path) -> None:
    sample = tmp_path / "sample.html"
    sample.write_text(
        '{% load i18n %}<h1>{% translate "Cases" %}</h1>\n'
        "{# a comment is not shown #}<p>Plain words</p>\n"
        '<button aria-label="Close">&times;</button> {{ case.reference }} · 12:00\n'
        "{% blocktranslate %}Hello {{ name }}{% endblocktranslate %} SafeStep\n"
        '<td data-label="Step">{{ step }}</td>\n',
        encoding="utf-8",
    )
    assert untranslated_text(sample) == [
        f"{sample}:3: Close",
        f"{sample}:5: Step",
        f"{sample}:2: Plain words",
    ]


def test_it_keeps_every_template_text_inside_translate() -> None:
    found = [
        line for template in TEMPLATES + EMAIL_TEMPLATES for line in untranslated_text(template)
    ]
    assert not found, "Text outside {% translate %}:\n" + "\n".join(found)


def template_messages(template: Path) -> list[tuple[int, str | None, str]]:
    """Each (line, context, msgid) a template translates, found as makemessages finds them."""
    code = templatize(template.read_text(encoding="utf-8"), origin=str(template))
    # Left-aligned: the indentation of markup means nothing to Python's tokenizer.
    code = "\n".join(line.lstrip() for line in code.splitlines())
    tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    found: list[tuple[int, str | None, str]] = []
    for index, token in enumerate(tokens):
        if token.type != tokenize.NAME or token.string not in TRANSLATING_CALLS:
            continue
        texts: list[str] = []
        for argument in tokens[index + 2 :]:
            if argument.type == tokenize.OP and argument.string == ")":
                break
            if argument.type == tokenize.STRING:
                texts.append(ast.literal_eval(argument.string))
        with_context = token.string.startswith(("pgettext", "npgettext"))
        context, msgid = (texts[0], texts[1]) if with_context else (None, texts[0])
        found.append((token.start[0], context, msgid))
    return found


TRANSLATING_CALLS = {"gettext", "ngettext", "pgettext", "npgettext"}


def test_it_has_spanish_for_every_text_a_template_translates() -> None:
    """A {% translate %} added after the catalogue was last updated would show in English."""
    translated = {
        (entry.msgctxt, entry.msgid)
        for catalogue in SPANISH_CATALOGUES
        for entry in polib.pofile(str(catalogue))
        if entry.translated() and not entry.obsolete
    }
    missing = [
        f"{template.relative_to(SOURCE)}:{line}: {msgid!r}"
        for template in TEMPLATES + EMAIL_TEMPLATES
        for line, context, msgid in template_messages(template)
        if (context, msgid) not in translated
    ]
    assert not missing, "No Spanish yet (run make messages and translate):\n" + "\n".join(missing)


# The translating functions of django.utils.translation, and where their msgid is.
PYTHON_CALLS = {
    "gettext": 0,
    "gettext_lazy": 0,
    "gettext_noop": 0,
    "ngettext": 0,
    "ngettext_lazy": 0,
    "pgettext": 1,
    "pgettext_lazy": 1,
    "npgettext": 1,
    "npgettext_lazy": 1,
    "_": 0,
}


def python_messages(module: Path) -> list[tuple[int, str | None, str]]:
    """Each (line, context, msgid) a module marks for translation with a literal."""
    found: list[tuple[int, str | None, str]] = []
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name not in PYTHON_CALLS or len(node.args) <= PYTHON_CALLS[name]:
            continue
        texts = [arg.value if isinstance(arg, ast.Constant) else None for arg in node.args]
        msgid = texts[PYTHON_CALLS[name]]
        context = texts[0] if PYTHON_CALLS[name] else None
        if isinstance(msgid, str) and (context is None or isinstance(context, str)):
            found.append((node.lineno, context, msgid))
    return found


def test_it_has_spanish_for_every_text_the_python_code_translates() -> None:
    translated = {
        (entry.msgctxt, entry.msgid)
        for catalogue in SPANISH_CATALOGUES
        for entry in polib.pofile(str(catalogue))
        if entry.translated() and not entry.obsolete
    }
    # protocol/ is pure Python and never translated; tests translate nothing of their own.
    modules = [
        module
        for module in sorted(SOURCE.glob("*/**/*.py"))
        if module.relative_to(SOURCE).parts[0] != "protocol" and "tests" not in module.parts
    ]
    missing = [
        f"{module.relative_to(SOURCE)}:{line}: {msgid!r}"
        for module in modules
        for line, context, msgid in python_messages(module)
        if (context, msgid) not in translated
    ]
    assert not missing, "No Spanish yet (run make messages and translate):\n" + "\n".join(missing)


@pytest.mark.django_db
def test_it_shows_the_sign_in_page_in_the_browsers_language(client: Client) -> None:
    spanish = client.get(reverse("accounts:signin"), HTTP_ACCEPT_LANGUAGE="es-MX,es;q=0.9")
    english = client.get(reverse("accounts:signin"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert '<html lang="es">' in spanish.content.decode()
    assert "Saltar al contenido" in spanish.content.decode()
    assert '<html lang="en">' in english.content.decode()
    assert "Skip to content" in english.content.decode()
    assert spanish["Content-Language"] == "es"


@pytest.mark.django_db
def test_it_speaks_english_to_a_browser_asking_for_a_language_safestep_lacks(
    client: Client,
) -> None:
    page = client.get(reverse("accounts:signin"), HTTP_ACCEPT_LANGUAGE="fr")
    assert '<html lang="en">' in page.content.decode()


@pytest.mark.parametrize(
    ("chosen", "browser", "html_lang", "words"),
    [
        (Language.ENGLISH, "es", "en", "My work"),
        (Language.SPANISH, "en", "es", "Mi trabajo"),
    ],
)
def test_it_shows_a_signed_in_person_the_language_they_chose_over_the_browsers(
    district: District, chosen: str, browser: str, html_lang: str, words: str
) -> None:
    counselor = district["counselor"]
    counselor.language = chosen
    counselor.save()
    client = signed_in_client(counselor)
    page = client.get(reverse("web:home"), HTTP_ACCEPT_LANGUAGE=browser).content.decode()
    assert f'<html lang="{html_lang}">' in page
    assert words in page


def test_it_shows_the_missing_page_in_the_persons_language(district: District) -> None:
    counselor = district["counselor"]
    counselor.language = Language.SPANISH
    counselor.save()
    page = signed_in_client(counselor).get("/cases/999999/")
    assert page.status_code == 404
    assert "No encontrado" in page.content.decode()
