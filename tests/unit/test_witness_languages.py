"""Every witness page, rendered in Spanish, Portuguese and Haitian Creole, holds no English
sentence from the catalogue (promise 8: a witness reads every word in their language).

The English sentences are the catalogue's own source strings (the msgids of the compiled
catalogue), so a string added to a page without a translation, or one frozen in English
at import (a lazy string formatted there), fails here. Text and the attributes a witness
or their screen reader meets (labels, the script's data-msg-* words) are both checked."""

from __future__ import annotations

import gettext
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django import forms
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import translation
from django.utils.functional import Promise

from intake.forms import FollowUpForm, ReceiptCodeForm, ReportForm
from intake.services import report_submit

pytestmark = pytest.mark.django_db

LANGUAGES = {"es": "es", "pt-BR": "pt_BR", "ht": "ht"}
# Attributes whose words reach the witness: shown, read aloud, or put on screen by the script.
SPOKEN_ATTRIBUTES = re.compile(r"^(aria-label|title|alt|placeholder|data-msg-.+)$")
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]|\{[a-z_]+\}|\{\{ *[a-z_.]+ *\}\}")


def _english_sentences(locale_dir: str) -> list[str]:
    """Source strings of the compiled catalogue that are sentences (two words or more),
    cut at their placeholders; single words may be the same in two languages."""
    mo = Path(settings.BASE_DIR) / "locale" / locale_dir / "LC_MESSAGES" / "django.mo"
    with mo.open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)
    found: set[str] = set()
    for msgid, msgstr in catalogue._catalog.items():  # type: ignore[attr-defined]
        if not isinstance(msgid, str) or not msgid or msgid == msgstr:
            continue
        for piece in PLACEHOLDER.split(msgid):
            piece = piece.strip(" :;,.…")
            if len(piece.split()) >= 2:
                found.add(" ".join(piece.split()))
    return sorted(found)


class _Words(HTMLParser):
    """The words of a page: its text and the spoken attributes, whitespace collapsed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if value and SPOKEN_ATTRIBUTES.match(name):
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _words(html: str) -> str:
    parser = _Words()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def _pages(language: str) -> dict[str, str]:
    """Every witness page in ``language``: as served, and the few that only an outage
    or a fault shows, rendered from their templates."""
    headers = {"accept-language": language}
    client = Client(headers=headers)
    pages = {path: client.get(path).content.decode() for path in ("/", "/follow-up/", "/safety/")}
    pages["form errors"] = _html(client.post("/", {"contact_value": "x", "agents_count": "-1"}))
    sent = client.post("/", {"description": "Agentes en la escuela."}, follow=True)
    pages["receipt"] = _html(sent)
    if sent.redirect_chain:  # the receipt's page read again: the code is not shown twice
        pages["receipt again"] = _html(client.get(sent.redirect_chain[-1][0]))
    pages["unknown code"] = _html(client.post("/follow-up/", {"code": "NOPE-NOPE"}))
    opened = Client(headers=headers)
    opened.post("/follow-up/", {"code": report_submit(description="En la escuela.").receipt_code})
    pages["follow-up report"] = _html(opened.get("/follow-up/"))
    pages["follow-up errors"] = _html(opened.post("/follow-up/send/", {"body": ""}))
    request = RequestFactory(headers=headers).get("/")
    with translation.override(language):
        for name in ("throttled", "unavailable", "server_error"):
            pages[name] = render_to_string(f"intake/{name}.html", {}, request=request)
    return pages


def _html(response: Any) -> str:
    """A test client's answer (its type is the client's own) as the page it holds."""
    assert response.status_code == 200
    content: bytes = response.content
    return content.decode()


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_witness_pages_in_language_hold_no_english_sentence(language: str) -> None:
    sentences = _english_sentences(LANGUAGES[language])
    assert len(sentences) > 100  # the catalogue was read
    english: dict[str, list[str]] = {}
    for name, html in _pages(language).items():
        assert f'lang="{language.lower()}"' in html, name
        words = _words(html)
        left = [s for s in sentences if s in words]
        if left:
            english[name] = left
    assert english == {}


def _form_texts(form_class: type[forms.Form]) -> dict[str, object]:
    texts: dict[str, object] = {}
    for name, field in form_class.base_fields.items():
        if isinstance(field.widget, forms.HiddenInput):
            continue  # never shown
        texts[f"{name}.label"] = field.label
        if field.help_text:
            texts[f"{name}.help_text"] = field.help_text
        for key, message in field.error_messages.items():
            texts[f"{name}.{key}"] = message
    return texts


@pytest.mark.parametrize("form_class", [ReportForm, FollowUpForm, ReceiptCodeForm])
def test_form_texts_are_lazy_until_shown(form_class: type[forms.Form]) -> None:
    # The bug class behind "Up to 10 files…" in English on every page: a translated text
    # made into a plain string at import, in no one's language. Every witness-facing text
    # of a form stays lazy, to be translated when a page is rendered.
    frozen = {
        name: text
        for name, text in _form_texts(form_class).items()
        if not isinstance(text, Promise)
    }
    assert frozen == {}


def test_files_help_follows_the_language_of_the_page() -> None:
    help_text = ReportForm.base_fields["attachments"].help_text
    with translation.override("es"):
        spanish = str(help_text)
    with translation.override("ht"):
        creole = str(help_text)
    assert (spanish[:17], creole[:15]) == ("Hasta 10 archivos", "Jiska 10 fichye")
