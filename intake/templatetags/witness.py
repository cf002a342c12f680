"""Template tags of the witness pages."""

from __future__ import annotations

from typing import Any

from django import template

from intake.languages import LanguageLink, language_links

register = template.Library()


@register.simple_tag(takes_context=True)
def witness_languages(context: dict[str, Any]) -> list[LanguageLink]:
    return language_links(context["request"])
