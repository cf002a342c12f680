"""The facts a witness reports, as choices: what kind of place, which agencies, whether a
warrant was shown, and the plain yes/no/unknown answers. Blank means not answered."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PlaceType(models.TextChoices):
    HOME = "home", _("Home")
    STREET = "street", _("Street")
    VEHICLE = "vehicle", _("Vehicle")
    WORKPLACE = "workplace", _("Workplace")
    COURTHOUSE = "courthouse", _("Courthouse")
    SCHOOL = "school", _("School")
    HOSPITAL = "hospital", _("Hospital")
    PLACE_OF_WORSHIP = "place_of_worship", _("Place of worship")
    OTHER = "other", _("Other")


class Agency(models.TextChoices):
    ICE = "ice", _("ICE")
    HSI = "hsi", _("HSI")
    CBP = "cbp", _("CBP (Border Patrol)")
    FBI = "fbi", _("FBI")
    LOCAL_POLICE = "local_police", _("Local police")
    STATE_POLICE = "state_police", _("State police")
    SHERIFF = "sheriff", _("Sheriff")
    UNKNOWN = "unknown", _("I don't know")


class Warrant(models.TextChoices):
    NOT_SHOWN = "not_shown", _("No warrant was shown")
    ADMINISTRATIVE = "administrative", _("Administrative (signed by an immigration officer)")
    JUDICIAL = "judicial", _("Judicial (signed by a judge)")
    UNKNOWN = "unknown", _("I don't know")


class Answer(models.TextChoices):
    """A yes/no fact the witness may not know; blank means not answered."""

    YES = "yes", _("Yes")
    NO = "no", _("No")
    UNKNOWN = "unknown", _("I don't know")


class WitnessRelation(models.TextChoices):
    SAW = "saw", _("I saw it")
    HAPPENED_TO_ME = "me", _("It happened to me")
    HAPPENED_TO_FAMILY = "family", _("It happened to my family")


class ContactChannel(models.TextChoices):
    PHONE = "phone", _("Phone call or text")
    SIGNAL = "signal", _("Signal")
    WHATSAPP = "whatsapp", _("WhatsApp")
    EMAIL = "email", _("Email")


# Report fields the witness answers directly, after the time, place and agencies: the
# intake form stores them as entered and the staff admin shows them, in this order.
REPORTED_FACTS = (
    "local_police_department",
    "agents_count",
    "uniforms",
    "masks",
    "identified_themselves",
    "vehicles",
    "warrant",
    "detained_count",
    "children_present",
    "injuries",
    "force_used",
    "bystanders_arrested",
    "witness_relation",
    "consent_contact",
    "consent_share_partners",
    "consent_contact_partners",
    "consent_publish",
    "contact_channel",
)
