"""The witness's report: one form, used by the web page and by the intake API.

Every error message is our own, translated in locale/: Django ships no Haitian Creole,
so its built-in messages would reach a Kreyòl speaker in English.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta, tzinfo
from datetime import timezone as fixed_offset
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrPromise

from reports.contact import Contact
from reports.models import (
    REPORTED_FACTS,
    Agency,
    Answer,
    ContactChannel,
    PlaceType,
    Warrant,
    WitnessRelation,
)

DESCRIPTION_MAX = 20_000
# Name of the honeypot field: hidden from people, filled in by naive bots.
HONEYPOT = "website"

MSG_REQUIRED = _("Please fill in this field.")
MSG_CHOICE = _("Please choose one of the options shown.")
MSG_NUMBER = _("Please enter a whole number, for example 3.")
MSG_TOO_LONG = _("Please shorten this answer to at most %(limit_value)d characters.")
MSG_DATETIME = _("Please enter a date and time, for example 2025-06-01 08:30.")
# Years a reported date may have: anything else is a typing slip, never an incident.
OCCURRED_YEARS = (1970, 2200)
NEED_WORDS_OR_MEDIA = _("Please write what happened, or add a photo, video or audio.")


def _errors(**extra: StrPromise) -> dict[str, StrPromise]:
    return {
        "required": MSG_REQUIRED,
        "invalid": MSG_NUMBER,
        "invalid_choice": MSG_CHOICE,
        "invalid_list": MSG_CHOICE,
        "max_length": MSG_TOO_LONG,
        "min_value": _("Please enter a number of at least %(limit_value)s."),
        "max_value": _("Please enter a number of at most %(limit_value)s."),
        **extra,
    }


def _text(label: StrPromise, max_length: int, help_text: StrPromise | str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=False,
        help_text=help_text,
        error_messages=_errors(),
    )


def _answer(label: StrPromise) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        choices=Answer.choices,
        required=False,
        widget=forms.RadioSelect,
        error_messages=_errors(),
    )


def _count(label: StrPromise) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=0,
        max_value=999,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages=_errors(),
    )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files. Too many, too large or unsupported files are refused one by one by
    the service, with the report kept: the text must land even if no file does."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile[bytes]]:
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        return list(files)


def _files_help() -> str:
    return gettext(
        "Up to %(count)d files. We remove location and device details from every file "
        "before anyone sees it."
    ) % {"count": settings.TESTIGO_MAX_FILES}


# Fields are built once, at import, in no one's language: a lazy string formatted there
# would freeze in English. Anything formatted is formatted when it is shown.
files_help = lazy(_files_help, str)


def media_field() -> MultipleFileField:
    return MultipleFileField(
        label=_("Photos, videos or audio"),
        required=False,
        # capture lets a phone open its camera; people can still pick saved files.
        widget=MultipleFileInput(attrs={"accept": "image/*,video/*,audio/*"}),
        help_text=files_help(),
        error_messages=_errors(),
    )


def _clean_text(text: str) -> str:
    return text.replace("\x00", "")


class ReportForm(forms.Form):
    # --- What happened
    # One or two lines on the first screen: optional when a photo, video or audio comes
    # with it (media often says more than words; see clean()).
    description = forms.CharField(
        label=_("What happened?"),
        max_length=DESCRIPTION_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("A few words. Not needed if you send a photo, video or audio."),
        error_messages=_errors(
            max_length=_("Please keep the description under %(limit_value)d characters."),
        ),
    )
    witness_relation = forms.ChoiceField(
        label=_("How do you know about it?"),
        choices=WitnessRelation.choices,
        required=False,
        widget=forms.RadioSelect,
        error_messages=_errors(),
    )
    # --- When and where
    happening_now = forms.BooleanField(label=_("It is happening now"), required=False)
    occurred_at = forms.DateTimeField(
        label=_("Date and time"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages=_errors(invalid=MSG_DATETIME),
    )
    occurred_text = _text(
        _("When did it happen?"), 200, _("If you are not sure: for example, today around 8 am.")
    )
    # The phone's time zone, filled in by intake/static/intake/timezone.js: an IANA name
    # (America/Chicago) or an offset (UTC-05:00). The date and time above are read on
    # that clock; without it (no script), on the deployment's TIME_ZONE.
    time_zone = forms.CharField(
        label="Time zone of the date and time: an IANA name or UTC±HH:MM",
        required=False,
        max_length=64,
        widget=forms.HiddenInput,
    )
    location_text = _text(
        _("Where did it happen?"),
        300,
        _("Street, corner or neighbourhood. No exact address needed."),
    )
    town = _text(_("Town or city"), 120)
    place_type = forms.ChoiceField(
        label=_("Type of place"),
        choices=[("", _("Choose, if you know")), *PlaceType.choices],
        required=False,
        error_messages=_errors(),
    )
    # --- The agents
    agencies = forms.MultipleChoiceField(
        label=_("Which agencies did you see?"),
        choices=Agency.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Tick all that apply. Look for words on jackets, caps and vehicles."),
        error_messages=_errors(),
    )
    local_police_department = _text(_("Which police department?"), 120)
    agents_count = _count(_("How many agents?"))
    uniforms = _text(_("Uniforms and markings"), 500, _("For example: vest saying POLICE ICE."))
    masks = _answer(_("Were agents wearing masks?"))
    identified_themselves = _answer(_("Did the agents say who they were?"))
    vehicles = _text(
        _("Vehicles and licence plates"), 500, _("Colour, make, and any plate numbers you saw.")
    )
    # --- Warrant
    warrant = forms.ChoiceField(
        label=_("Was a warrant shown?"),
        choices=Warrant.choices,
        required=False,
        widget=forms.RadioSelect,
        error_messages=_errors(),
    )
    # --- People affected
    detained_count = _count(_("How many people were detained?"))
    children_present = _answer(_("Were children present?"))
    injuries = _answer(_("Was anyone hurt?"))
    force_used = _answer(_("Did agents use force?"))
    bystanders_arrested = _answer(_("Were bystanders arrested?"))
    # --- Consent and contact
    consent_contact = forms.BooleanField(label=_("Legal aid may contact me"), required=False)
    consent_contact_partners = forms.BooleanField(
        label=_("A partner legal organisation may contact me"), required=False
    )
    contact_channel = forms.ChoiceField(
        label=_("How can we reach you?"),
        choices=[("", _("Choose, if you want to be contacted")), *ContactChannel.choices],
        required=False,
        error_messages=_errors(),
    )
    contact_value = _text(
        _("Phone number, Signal, WhatsApp or email"),
        200,
        _(
            "Optional. Stored encrypted; only legal-aid staff can read it, and a partner "
            "legal organisation only if you agree above."
        ),
    )
    contact_safe_times = _text(
        _("Safe times to reach you"), 200, _("For example: weekdays after 6 pm.")
    )
    # --- Media, last (see SECTIONS)
    consent_share_partners = forms.BooleanField(
        label=_("My photos and videos may be shared with partner legal organisations"),
        required=False,
    )
    consent_publish = forms.BooleanField(
        label=_("My photos and videos may be published after faces are hidden"), required=False
    )
    attachments = media_field()
    # --- Honeypot: hidden with CSS; a person never fills it in.
    website = forms.CharField(label=_("Leave this empty"), required=False)

    # The first screen: the description, the files and Send (templates/intake/
    # report_form.html). These optional sections follow it on the same report.
    SECTIONS: tuple[tuple[StrPromise, tuple[str, ...]], ...] = (
        (_("What happened"), ("witness_relation",)),
        (
            _("When and where"),
            (
                "happening_now",
                "occurred_at",
                "occurred_text",
                "location_text",
                "town",
                "place_type",
            ),
        ),
        (
            _("The agents"),
            (
                "agencies",
                "local_police_department",
                "agents_count",
                "uniforms",
                "masks",
                "identified_themselves",
                "vehicles",
            ),
        ),
        (_("Warrant"), ("warrant",)),
        (
            _("People affected"),
            ("detained_count", "children_present", "injuries", "force_used", "bystanders_arrested"),
        ),
        (
            _("Consent and contact"),
            (
                "consent_contact",
                "consent_contact_partners",
                "contact_channel",
                "contact_value",
                "contact_safe_times",
                "consent_share_partners",
                "consent_publish",
            ),
        ),
    )

    def __init__(self, *args: Any, media_follows: bool = False, **kwargs: Any) -> None:
        """``media_follows``: files come after this text (a streamed post whose first file
        is beginning, or the script's resumable uploads), so words are optional."""
        super().__init__(*args, **kwargs)
        self.media_follows = media_follows

    def clean_description(self) -> str:
        text = _clean_text(self.cleaned_data["description"])
        return text if text.strip() else ""

    def clean_occurred_at(self) -> datetime | None:
        # A year no witness means (0001, 9999) would overflow when read on another clock.
        value: datetime | None = self.cleaned_data.get("occurred_at")
        if value is not None and not OCCURRED_YEARS[0] <= value.year <= OCCURRED_YEARS[1]:
            raise forms.ValidationError(MSG_DATETIME, code="invalid")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name, value in data.items():
            if isinstance(value, str):
                data[name] = _clean_text(value)
        data.update(witness_time(data.get("occurred_at"), data.get("time_zone", "")))
        has_media = self.media_follows or bool(data.get("attachments"))
        if not data.get("description") and not has_media and "description" not in self.errors:
            self.add_error("description", NEED_WORDS_OR_MEDIA)
        value = data.get("contact_value", "").strip()
        channel = data.get("contact_channel", "")
        if value and not channel:
            self.add_error("contact_channel", _("Please choose how we can reach you."))
        if channel and not value:
            self.add_error("contact_value", _("Please write your number or address."))
        if value and channel == ContactChannel.EMAIL:
            try:
                validate_email(value)
            except forms.ValidationError:
                self.add_error("contact_value", _("Please enter a valid email address."))
        if value and not data.get("consent_contact"):
            self.add_error(
                "consent_contact",
                _("To be contacted, please tick “Legal aid may contact me”."),
            )
        return data

    @property
    def is_spam(self) -> bool:
        return bool(self.cleaned_data.get(HONEYPOT))

    def sections(self) -> list[tuple[StrPromise, list[forms.BoundField]]]:
        return [(legend, [self[name] for name in names]) for legend, names in self.SECTIONS]

    def submission(self) -> Submission:
        data = self.cleaned_data
        facts = {name: data[name] for name in FACT_FIELDS}
        contact = None
        if data["contact_value"].strip():
            contact = Contact(
                value=data["contact_value"].strip(), safe_times=data["contact_safe_times"].strip()
            )
        return Submission(
            description=data["description"],
            occurred_text=data["occurred_text"],
            location_text=data["location_text"],
            facts=facts,
            contact=contact,
            uploads=data["attachments"],
        )


_OFFSET = re.compile(r"UTC([+-])(\d{2}):(\d{2})")


def _zone(name: str) -> tuple[tzinfo, str]:
    """The witness's clock and its name: the phone's zone when it is a real one, else
    the deployment's TIME_ZONE. A bad value is not the witness's mistake: never an error."""
    offset = _OFFSET.fullmatch(name)
    if offset:
        sign = -1 if offset[1] == "-" else 1
        minutes = sign * (int(offset[2]) * 60 + int(offset[3]))
        if abs(minutes) <= 14 * 60:
            return fixed_offset(timedelta(minutes=minutes)), ""
    elif name:
        try:
            return ZoneInfo(name), name
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(settings.TIME_ZONE), settings.TIME_ZONE


def witness_time(occurred_at: datetime | None, zone_name: str) -> dict[str, Any]:
    """The witness's date and time read on their own clock, with the UTC offset it had
    then: Report.occurred_at, occurred_utc_offset and occurred_time_zone."""
    if occurred_at is None:
        return {"occurred_at": None, "occurred_utc_offset": None, "occurred_time_zone": ""}
    zone, name = _zone(zone_name)
    # The form field read the wall-clock time in the current zone; take it back as typed.
    wall_clock = timezone.make_naive(occurred_at) if timezone.is_aware(occurred_at) else occurred_at
    local = wall_clock.replace(tzinfo=zone)
    offset = local.utcoffset() or timedelta(0)
    return {
        "occurred_at": local,
        "occurred_utc_offset": int(offset.total_seconds() // 60),
        "occurred_time_zone": name,
    }


# Report fields taken from the form as they are.
FACT_FIELDS = (
    "occurred_at",
    "occurred_utc_offset",
    "occurred_time_zone",
    "happening_now",
    "town",
    "place_type",
    "agencies",
    *REPORTED_FACTS,
)


@dataclasses.dataclass(frozen=True)
class Submission:
    description: str
    occurred_text: str
    location_text: str
    facts: dict[str, Any]
    contact: Contact | None
    uploads: list[UploadedFile[bytes]]


class ReceiptCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Your receipt code"),
        max_length=40,
        help_text=_("The code you were given when you sent your report, for example 7KQ4-…"),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
        error_messages=_errors(required=_("Please enter your receipt code.")),
    )


class FollowUpForm(forms.Form):
    body = forms.CharField(
        label=_("Answer a question or add information"),
        max_length=DESCRIPTION_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages=_errors(),
    )
    attachments = media_field()

    def clean_body(self) -> str:
        return _clean_text(self.cleaned_data["body"]).strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("body") and not data.get("attachments") and not self.errors:
            raise forms.ValidationError(_("Please write something or choose a file to send."))
        return data
