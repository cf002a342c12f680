"""What every staff page shares: the signed-in staff member as a typed ``User``,
permission switches in place of repeated ``has_*_permission`` overrides, a read-only
inline, how a POST action calls a service and reports back, and the one-form change
page (PageAdmin, PageForm) on which no edit is ever lost (design promise 10)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from reports import services
from reports.models import Report

_ModelT = TypeVar("_ModelT", bound=Model)
_ParentT = TypeVar("_ParentT", bound=Model)


def staff(request: HttpRequest) -> User:
    """The signed-in staff member. Admin views run behind the site's admin_view, which
    lets only active staff through; anything else reaching a service call is refused."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


class StaffModelAdmin(admin.ModelAdmin[_ModelT]):
    """A ModelAdmin whose add, change and delete can be switched off per class; when on,
    the role's model permissions decide as usual."""

    allow_add = True
    allow_change = True
    allow_delete = True

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.allow_add and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: _ModelT | None = None) -> bool:
        return self.allow_change and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: _ModelT | None = None) -> bool:
        return self.allow_delete and super().has_delete_permission(request, obj)


class ReadOnlyInline(admin.TabularInline[_ModelT, _ParentT]):
    """Rows shown beside their parent and never written from it; subclasses list their
    ``fields`` and repeat them as ``readonly_fields``."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: _ParentT | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: _ParentT | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: _ParentT | None = None) -> bool:
        return False


def post_only(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    return require_POST(view)


def service_call(request: HttpRequest, work: Callable[[], Any], success: str) -> bool:
    """Run a staff action's service call; report its outcome as a message. True if done."""
    try:
        work()
    except services.ServiceError as exc:
        messages.error(request, str(exc))
        return False
    messages.success(request, success)
    return True


def report_change_url(report: Report, model: str = "report") -> str:
    return reverse(f"admin:reports_{model}_change", args=[report.pk])


# --- The one-form change page ---------------------------------------------------------------
#
# Every control of a change page lives in the page's one <form>: the page's edits (the
# redaction, the triage fields, a new note) and each action's own inputs (a reject
# reason, a question, a partner to share with). Each action button posts the whole form
# to its own URL (formaction), which runs Django's change view with the action named.
# So an action either saves the page's edits in the same transaction as itself, or
# refuses: the page comes back with every edit still in it, and the reason on top.

# Hidden in every page form: a POST without it came from somewhere else (a script, a
# test) and carries no page edits, only the action's own inputs.
PAGE_MARKER = "_page"
UNSAVED = "You have unsaved changes"


@dataclasses.dataclass
class PageAction:
    """The action a change-page POST asks for, and what came of it."""

    name: str = "save"
    go_next: bool = False  # "Approve & next": on to the next report in the queue
    target: Any = None  # what the action is on, when its URL names it (a share to revoke)
    refusal: str = ""  # set when a service refused: the form then shows it, edits kept
    done: str = ""  # the success message
    response: HttpResponse | None = None  # a page to answer with instead of a redirect


_ACTION = "_testigo_page_action"


def page_action(request: HttpRequest) -> PageAction:
    action = getattr(request, _ACTION, None)
    if action is None:
        action = PageAction()
        setattr(request, _ACTION, action)
    return action


def page_edits_posted(request: HttpRequest) -> bool:
    """Whether this request carries the page's edits: every GET shows them; a POST has
    them only when it came from the page."""
    return request.method != "POST" or PAGE_MARKER in request.POST


class Refused(Exception):
    """A service refused the action; the transaction is rolled back and the page shown
    again with the poster's edits."""


class PageForm(forms.ModelForm[Any]):
    """The page's one form. Subclasses declare each action's own inputs in
    ``ACTION_INPUTS``; the admin sets ``action`` on the class for the request."""

    ACTION_INPUTS: ClassVar[dict[str, tuple[str, ...]]] = {}
    # What each input is, in "you have unsaved changes: ..." (defaults to its label).
    PENDING_LABELS: ClassVar[dict[str, str]] = {}
    action: ClassVar[PageAction] = PageAction()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.action.refusal:
            raise forms.ValidationError(self.action.refusal)
        pending = [
            self.PENDING_LABELS.get(name, str(self.fields[name].label))
            for other, names in self.ACTION_INPUTS.items()
            if other != self.action.name
            for name in names
            if name in self.fields and data.get(name) not in (None, "", [], ())
        ]
        if pending:
            raise forms.ValidationError(
                f"{UNSAVED}: {', '.join(pending)}. Nothing was done; everything you typed "
                "is still here. Finish or clear it first."
            )
        return data

    def has_page_edits(self) -> bool:
        """Edits of the page itself (not an action's inputs) that are not saved yet."""
        inputs = {name for names in self.ACTION_INPUTS.values() for name in names}
        return any(name not in inputs for name in self.changed_data)


class PageAdmin(StaffModelAdmin[_ModelT]):
    """A change page built on one PageForm: the actions in ``page_actions`` each get a
    POST URL ``<pk>/<action>/`` (name ``<app>_<model>_<action>``) that runs the change
    view with that action; ``page_work`` does it (services only), ``page_done`` says
    where to go next."""

    page_actions: ClassVar[tuple[str, ...]] = ()

    def page_allowed(self, request: HttpRequest, action: str) -> bool:
        """Whether the role may take ``action`` at all (checked before anything is read:
        a role without it gets 403 on every report)."""
        raise NotImplementedError

    def page_work(self, request: HttpRequest, obj: _ModelT, form: Any, action: PageAction) -> None:
        """Save the page's edits and take the action, raising services.ServiceError to
        refuse. Runs inside the change view's transaction."""
        raise NotImplementedError

    def page_done(self, request: HttpRequest, obj: _ModelT, action: PageAction) -> str:
        """The URL to go to after ``action`` succeeded."""
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk])

    def page_action_view(
        self, request: HttpRequest, pk: Any, name: str, target: Any = None
    ) -> HttpResponse:
        if not self.page_allowed(request, name):
            raise PermissionDenied
        action = page_action(request)
        action.name, action.go_next, action.target = name, "_next" in request.POST, target
        return self.change_view(request, str(pk))

    def page_urls(self) -> list[URLPattern]:
        info = f"{self.opts.app_label}_{self.opts.model_name}"

        def route(name: str) -> URLPattern:
            def view(request: HttpRequest, pk: Any) -> HttpResponse:
                return self.page_action_view(request, pk, name)

            return path(
                f"<uuid:pk>/{name}/",
                self.admin_site.admin_view(post_only(view)),
                name=f"{info}_{name}",
            )

        return [route(name) for name in self.page_actions]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        form.action = page_action(request)  # type: ignore[attr-defined]
        return form

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except Refused as refused:
            # Rolled back; shown again from the same POST, which the form now refuses.
            page_action(request).refusal = str(refused)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: _ModelT, form: Any, change: bool) -> None:
        try:
            self.page_work(request, obj, form, page_action(request))
        except services.ServiceError as exc:
            raise Refused(str(exc) or (type(exc).__doc__ or "Refused.").strip()) from exc

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Nothing: page_work wrote everything through the services."""

    def response_change(self, request: HttpRequest, obj: _ModelT) -> HttpResponse:
        action = page_action(request)
        if action.response is not None:
            return action.response
        if action.done:
            messages.success(request, action.done)
        return HttpResponseRedirect(self.page_done(request, obj, action))
