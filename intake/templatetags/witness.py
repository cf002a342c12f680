"""Template tags of the witness pages."""

from __future__ import annotations

from typing import Any

from django import template

from intake.languages import LanguageLink, language_links

register = template.Library()


@register.simple_tag(takes_context=True)
def witness_languages(context: dict[str, Any]) -> list[LanguageLink]:
    return language_links(context["request"])


@register.filter
def code_groups(code: str) -> list[str]:
    """A receipt code's groups, to be shown each on one line (intake.receipts)."""
    return [group for group in str(code).split("-") if group]
