from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

DESCRIPTION_MAX = 20_000


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile[bytes]]:
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        if len(files) > settings.TESTIGO_MAX_FILES:
            raise forms.ValidationError(
                _("Please send at most %(count)d files.") % {"count": settings.TESTIGO_MAX_FILES}
            )
        return list(files)


class ReportForm(forms.Form):
    description = forms.CharField(
        label=_("What happened?"),
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Describe what you saw. This is the only required field."),
        error_messages={
            "required": _("Please tell us what happened."),
            "max_length": _("Please keep the description under %(limit_value)d characters."),
        },
    )
    occurred_text = forms.CharField(
        label=_("When did it happen?"),
        max_length=200,
        required=False,
        help_text=_("For example: today around 8 am, or happening now."),
    )
    location_text = forms.CharField(
        label=_("Where did it happen?"),
        max_length=300,
        required=False,
        help_text=_("Street or neighbourhood, and town."),
    )
    attachments = MultipleFileField(
        label=_("Photos, videos or audio"),
        required=False,
        widget=MultipleFileInput(attrs={"accept": "image/*,video/*,audio/*"}),
        help_text=_("We remove location and device details from every file before anyone sees it."),
    )

    def clean_description(self) -> str:
        text: str = self.cleaned_data["description"]
        if "\x00" in text:
            text = text.replace("\x00", "")
        if not text.strip():
            raise forms.ValidationError(_("Please tell us what happened."))
        return text
