"""What every admin page of the project shares.

- ``ReadOnlyAdmin``: append-only rows (ledger, logs) can only be looked at.
- ``ServiceOwnedHistoryAdmin``: history is shown but never reverted. A revert
  saves an old copy of the row past the service that owns its state (it put
  a closed account back to open with no status-change row), and
  simple-history's form view accepts the POST even when the button is
  hidden, so the POST itself is refused here.
- ``PostSearchMixin``: the search box posts, and the term travels in the
  address only encrypted, so resident IDs typed into it never reach an
  access log or the browser history.
- ``one_time_token`` / ``run_once``: a counter form that writes is submitted
  at most once (the browser's Back button and a second click included).
"""

import uuid
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import SEARCH_VAR, ChangeList
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from core.crypto import decrypt_text, encrypt_text

SEARCH_TOKEN_VAR = "st"
SEARCH_TOKEN_TTL_SECONDS = 8 * 3600


def search_term_token(term: str) -> str:
    return encrypt_text(term)


def search_term_from_token(token: str) -> str | None:
    try:
        return decrypt_text(token, ttl=SEARCH_TOKEN_TTL_SECONDS)
    except ValueError:
        return None


class _TokenSearchChangeList(ChangeList):
    """Searches with the term decrypted from ``?st=``; links keep the token."""

    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        token = request.GET.get(SEARCH_TOKEN_VAR)
        if token is not None:
            params = request.GET.copy()
            del params[SEARCH_TOKEN_VAR]
            params[SEARCH_VAR] = search_term_from_token(token) or ""
            request.GET = params
        super().__init__(request, *args, **kwargs)
        if token is not None:
            self.params.pop(SEARCH_VAR, None)
            self.params[SEARCH_TOKEN_VAR] = token


class PostSearchMixin:
    """For admins whose search terms may be personal data."""

    search_by_post = True

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return _TokenSearchChangeList

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if request.method == "POST" and "_search" in request.POST:
            params = QueryDict(mutable=True)
            for key, values in request.GET.lists():
                if key not in (SEARCH_VAR, SEARCH_TOKEN_VAR, "p"):
                    params.setlist(key, values)
            term = request.POST.get(SEARCH_VAR, "").strip()
            if term:
                params[SEARCH_TOKEN_VAR] = search_term_token(term)
            query = params.urlencode()
            return HttpResponseRedirect(request.path + ("?" + query if query else ""))
        if request.GET.get(SEARCH_VAR):
            # A GET search (an old bookmark, a hand-typed address) is already
            # in the access log; answer it, but never link to it again.
            params = request.GET.copy()
            term = params.pop(SEARCH_VAR)[-1]
            params[SEARCH_TOKEN_VAR] = search_term_token(term)
            return HttpResponseRedirect(request.path + "?" + params.urlencode())
        return super().changelist_view(request, extra_context)  # type: ignore[misc]


class ReadOnlyAdmin(PostSearchMixin, admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ServiceOwnedHistoryAdmin(PostSearchMixin, SimpleHistoryAdmin):
    def revert_disabled(self, request: HttpRequest, obj: Any = None) -> bool:
        return True

    def history_form_view(
        self,
        request: HttpRequest,
        object_id: str,
        version_id: str,
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method != "GET":
            raise PermissionDenied(_("History can be viewed, never reverted."))
        return super().history_form_view(request, object_id, version_id, extra_context)


class OneTimeTokenField(forms.CharField):
    widget = forms.HiddenInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", True)
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)


def one_time_token() -> str:
    return uuid.uuid4().hex


def run_once(
    request: HttpRequest,
    *,
    token: str,
    work: Callable[[], tuple[str, str]],
) -> HttpResponse | None:
    """Do ``work`` once per form token; ``work`` returns (message, next URL).

    A token already used answers with the first result instead of writing
    again; one still being processed (a double click, or a crash between
    the work and its record) is refused with a warning, never redone.
    DomainErrors from ``work`` propagate (the form shows them) and give the
    token back, so the corrected form can be sent again.
    """
    from core.submissions import (
        submission_claim,
        submission_complete,
        submission_release,
    )

    claim = submission_claim(token=token, user=request.user, path=request.path)
    if not claim.claimed:
        record = claim.record
        if record.state == record.State.DONE:
            messages.warning(
                request,
                _(
                    "This form was already submitted; nothing was recorded again. "
                    "The first result: %(message)s"
                )
                % {"message": record.result_message},
            )
            return HttpResponseRedirect(record.result_url or request.path)
        messages.warning(
            request,
            _(
                "This form is being processed or was interrupted. Check the "
                "account before recording anything again."
            ),
        )
        return HttpResponseRedirect(request.path)
    try:
        message, url = work()
    except Exception:
        submission_release(record=claim.record)
        raise
    submission_complete(record=claim.record, message=message, url=url)
    messages.success(request, message)
    return HttpResponseRedirect(url)


def form_errors(form: forms.Form, exc: Any) -> None:
    """Put a service's DomainError on the form: on its fields where it names
    them, otherwise above the form."""
    placed = False
    for field, errs in getattr(exc, "fields", {}).items():
        if field in form.fields:
            for err in errs:
                form.add_error(field, err)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def run_form_once(
    request: HttpRequest, form: forms.Form, work: Callable[[], tuple[str, str]]
) -> HttpResponse | None:
    """``run_once`` for a valid form: a DomainError lands on the form (and
    ``None`` comes back, so the view shows the form again)."""
    from core.exceptions import DomainError

    try:
        return run_once(request, token=form.cleaned_data["form_token"], work=work)
    except DomainError as exc:
        form_errors(form, exc)
        return None


def actor_label(row: Any) -> str:
    """Who made a row (``core.models.ActorStamp``), as staff read it."""
    from core.models import ActorKind

    kind = ActorKind(row.actor_kind).label if row.actor_kind else ""
    who = row.actor.get_username() if row.actor_id else row.actor_ref
    return f"{kind} {who}".strip() or "-"


class StatusChangeColumns:
    """The from / to / by columns of a status-change row, for its admin and
    its inline; ``status_choices`` is the entity's ``Status`` choices."""

    status_choices: Any = None

    def _status_text(self, code: str) -> str:
        choices = self.status_choices
        if choices is not None and code in choices.values:
            return str(choices(code).label)
        return code or "-"

    @admin.display(description=gettext_lazy("from"))
    def from_shown(self, obj: Any) -> str:
        return self._status_text(obj.from_status)

    @admin.display(description=gettext_lazy("to"))
    def to_shown(self, obj: Any) -> str:
        return self._status_text(obj.to_status)

    @admin.display(description=gettext_lazy("by"))
    def actor_shown(self, obj: Any) -> str:
        return actor_label(obj)


class RowActionsMixin:
    """Admin actions that call one service per selected row, each in its own
    transaction, and report every row's result or its Chinese error.
    ``row_label`` names a row in the messages; a decision taken from an
    object's own page returns to that page."""

    row_label: str = "pk"

    def each_row(
        self, request: HttpRequest, queryset: Any, work: Callable[[Any, Any], Any]
    ) -> HttpResponse | None:
        from django.urls import reverse

        from core.actors import Actor
        from core.exceptions import DomainError

        actor = Actor.staff(request.user)
        rows = list(queryset.order_by("pk"))
        for row in rows:
            try:
                text, level = work(row, actor)
            except DomainError as exc:
                text, level = exc.message, messages.ERROR
            messages.add_message(
                request,
                level,
                _("%(no)s: %(message)s")
                % {"no": getattr(row, self.row_label), "message": text},
            )
        if request.POST.get("_from_page") and len(rows) == 1:
            meta = rows[0]._meta
            return HttpResponseRedirect(
                reverse(
                    f"admin:{meta.app_label}_{meta.model_name}_change",
                    args=[rows[0].pk],
                )
            )
        return None
