"""The witness's languages as four links in their own names (promise 8: every witness can
read the page; a select sized to its longest name pushed small screens sideways).

A phone set to French is most often a Haitian witness's (French is Haiti's other
official language, and few phones offer Kreyòl): Kreyòl is offered first to it. The page
itself stays in the site's default, not in Kreyòl, because a French-speaking witness from
elsewhere may not read Kreyòl; the first link is one tap away."""

from __future__ import annotations

import dataclasses
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation.trans_real import parse_accept_lang_header

KREYOL = "ht"
# Browser languages whose speakers are offered Kreyòl first.
KREYOL_FIRST_FOR = ("fr",)


@dataclasses.dataclass(frozen=True)
class LanguageLink:
    code: str
    name: str
    url: str
    current: bool


def _prefers_kreyol(accept_language: str) -> bool:
    """True when the browser's first language we can tell apart is French (or Kreyòl)."""
    ours = {code.split("-")[0].lower() for code, _name in settings.LANGUAGES}
    for code, _quality in parse_accept_lang_header(accept_language):
        base = code.split("-")[0].lower()
        if base in KREYOL_FIRST_FOR or base == KREYOL:
            return True
        if base in ours:
            return False
    return False


def language_links(request: HttpRequest) -> list[LanguageLink]:
    current = (get_language() or settings.LANGUAGE_CODE).lower()
    query = urlencode({"next": request.get_full_path()})
    links = [
        LanguageLink(
            code=code,
            name=name,
            url=f"{reverse('intake:language', args=[code])}?{query}",
            current=code.lower() == current,
        )
        for code, name in settings.LANGUAGES
    ]
    if _prefers_kreyol(request.headers.get("accept-language", "")):
        links.sort(key=lambda link: link.code != KREYOL)
    return links
