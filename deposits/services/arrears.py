"""The monthly arrears job (rules section 2): arrears counts, the subsidy
end they cause, sealing and idle cancellation, as of a month's end."""

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import AccountStatusChange, FundAccount, SubsidyEvent
from accounts.services import fund_accounts_transition_bulk
from core.actors import Actor
from core.audit import audit_record
from core.clock import (
    add_months,
    business_date,
    format_month,
    month_end,
    month_index,
    month_start,
)
from core.exceptions import ConflictError, DomainError
from core.policy import policy_value
from deposits import ports
from deposits.models import ArrearsCheckRun, DepositAgreement
from deposits.rules import MONTHLY, QUARTERLY, arrears_start, last_overdue_month_index
from deposits.services import arrears_sql

Status = FundAccount.Status
ARREARS_CHUNK_ACTION = "arrears.chunk"


def arrears_stream(run_id: int) -> str:
    return f"arrears:{run_id}"


@dataclass
class ArrearsSummary:
    month: dt.date
    checked: int = 0
    newly_in_arrears: int = 0
    arrears_updated: int = 0
    subsidy_terminated: int = 0
    sealed: int = 0
    cancelled: int = 0
    run_id: int | None = None
    seconds: float = 0.0
    sealed_ids: list[int] = field(default_factory=list, repr=False)
    cancelled_ids: list[int] = field(default_factory=list, repr=False)
    # Of one chunk: "id:day" lines of the terminations it wrote, hashed.
    terminations_digest: str = field(default="", repr=False)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("sealed_ids")
        data.pop("cancelled_ids")
        data.pop("terminations_digest")
        data["month"] = format_month(self.month)
        return data

    def add(self, other: "ArrearsSummary") -> None:
        for name in (
            "checked",
            "newly_in_arrears",
            "arrears_updated",
            "subsidy_terminated",
            "sealed",
            "cancelled",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.sealed_ids += other.sealed_ids
        self.cancelled_ids += other.cancelled_ids


@dataclass(frozen=True)
class _Params:
    month: dt.date
    month_idx: int
    # Last month index in arrears under each cadence, as of the end of the
    # month checked (decisions) and of the latest month checked (stored count).
    lim_m_monthly: int
    lim_m_quarterly: int
    lim_e_monthly: int
    lim_e_quarterly: int
    seal_months: int
    idle_months: int
    actor_ref: str  # who the job's subsidy events name


def _params(month: dt.date, effective: dt.date, actor_ref: str) -> _Params:
    after_m = add_months(month, 1)
    after_e = add_months(effective, 1)
    on = month_end(month)
    return _Params(
        month=month,
        month_idx=month_index(month),
        lim_m_monthly=last_overdue_month_index(MONTHLY, after_m),
        lim_m_quarterly=last_overdue_month_index(QUARTERLY, after_m),
        lim_e_monthly=last_overdue_month_index(MONTHLY, after_e),
        lim_e_quarterly=last_overdue_month_index(QUARTERLY, after_e),
        seal_months=policy_value("arrears_seal_months", on=on),
        idle_months=policy_value("idle_cancel_months", on=on),
        actor_ref=actor_ref[:64],
    )


def _sql_params(lo: int, hi: int, p: _Params) -> dict[str, Any]:
    return {
        "lo": lo,
        "hi": hi,
        "lim_m_m": p.lim_m_monthly,
        "lim_m_q": p.lim_m_quarterly,
        "lim_e_m": p.lim_e_monthly,
        "lim_e_q": p.lim_e_quarterly,
        "month_idx": p.month_idx,
        "idle": p.idle_months,
        "seal": p.seal_months,
        "reason": SubsidyEvent.Reason.ARREARS,
        "actor_ref": p.actor_ref,
    }


def _chunk_sql(lo: int, hi: int, p: _Params) -> ArrearsSummary:
    """The PostgreSQL pass over accounts with ``lo <= id < hi``."""
    with connection.cursor() as cur:
        cur.execute(arrears_sql.COUNT_SQL, [lo, hi])
        (checked,) = cur.fetchone()
        cur.execute(arrears_sql.CHUNK_SQL, _sql_params(lo, hi, p))
        (_updated, newly, changed, terminated, cancel_ids, seal_ids, digest) = (
            cur.fetchone()
        )
    return ArrearsSummary(
        month=p.month,
        checked=checked,
        newly_in_arrears=newly,
        arrears_updated=changed,
        subsidy_terminated=terminated,
        sealed_ids=list(seal_ids),
        cancelled_ids=list(cancel_ids),
        terminations_digest=digest,
    )


def _chunk_python(lo: int, hi: int, p: _Params) -> ArrearsSummary:
    """The same pass in Python, for SQLite (the embedded demo)."""
    rows = list(
        FundAccount.objects.select_for_update()
        .filter(pk__gte=lo, pk__lt=hi, status__in=[Status.OPEN, Status.SEALED])
        .order_by("pk")
        .values_list(
            "pk",
            "status",
            "balance",
            "arrears_months",
            "paid_through",
            "last_deposit_on",
            "opened_on",
            "subsidy_terminated_on",
        )
    )
    latest: dict[int, tuple[str, dt.date]] = {}
    for fa_id, cadence, first in (
        DepositAgreement.objects.filter(fund_account_id__gte=lo, fund_account_id__lt=hi)
        .order_by("fund_account_id", "version")
        .values_list("fund_account_id", "cadence", "first_month")
    ):
        latest[fa_id] = (cadence, first)
    out = ArrearsSummary(month=p.month, checked=len(rows))
    groups: dict[tuple[int, dt.date | None], list[int]] = {}
    ended: list[tuple[int, dt.date]] = []
    for (
        pk,
        status,
        balance,
        old_arrears,
        paid_through,
        last_deposit_on,
        opened_on,
        terminated_on,
    ) in rows:
        arrears_m = arrears_e = 0
        term_on = None
        if pk in latest:
            cadence, first = latest[pk]
            quarterly = cadence == QUARTERLY
            next_month = (
                add_months(paid_through, 1) if paid_through is not None else first
            )
            next_idx = month_index(next_month)
            lim_m = p.lim_m_quarterly if quarterly else p.lim_m_monthly
            lim_e = p.lim_e_quarterly if quarterly else p.lim_e_monthly
            arrears_m = max(0, lim_m - next_idx + 1)
            arrears_e = max(0, lim_e - next_idx + 1)
            term_on = arrears_start(next_month, cadence)
        new_term = terminated_on
        if arrears_e > 0:
            assert term_on is not None
            if new_term is None or new_term > term_on:
                new_term = term_on
                ended.append((pk, term_on))
        if arrears_e != old_arrears:
            out.arrears_updated += 1
            if old_arrears == 0:
                out.newly_in_arrears += 1
        if (arrears_e, new_term) != (old_arrears, terminated_on):
            groups.setdefault((arrears_e, new_term), []).append(pk)
        idle_from = last_deposit_on or opened_on
        if balance == 0 and p.month_idx - month_index(idle_from) >= p.idle_months:
            out.cancelled_ids.append(pk)
        elif status == Status.OPEN and arrears_m >= p.seal_months:
            out.sealed_ids.append(pk)
    for (arrears, term), ids in groups.items():
        for start in range(0, len(ids), 500):
            FundAccount.objects.filter(pk__in=ids[start : start + 500]).update(
                arrears_months=arrears, subsidy_terminated_on=term
            )
    SubsidyEvent.objects.bulk_create(
        [
            SubsidyEvent(
                fund_account_id=pk,
                kind=SubsidyEvent.Kind.TERMINATED,
                reason=SubsidyEvent.Reason.ARREARS,
                occurred_on=day,
                **Actor.system(p.actor_ref).stamp(),
            )
            for pk, day in ended
        ],
        batch_size=2000,
    )
    out.subsidy_terminated = len(ended)
    out.terminations_digest = _terminations_digest(ended)
    return out


def _terminations_digest(ended: list[tuple[int, dt.date]]) -> str:
    """The SQL statement's digest, computed over the same lines."""
    import hashlib

    text = "\n".join(f"{pk}:{day.isoformat()}" for pk, day in sorted(ended))
    return hashlib.sha256(text.encode()).hexdigest()


_ADVISORY_KEY = 73_060_301  # any constant: one arrears job at a time


def check_arrears(
    *,
    month: dt.date,
    progress: Callable[[int, int, ArrearsSummary], None] | None = None,
    chunk_size: int = 50_000,
    method: str | None = None,
    actor_label: str = "check_arrears",
) -> ArrearsSummary:
    """Mark arrears, seal and cancel accounts as of the end of ``month``.

    Set-based (one statement per chunk of account ids on PostgreSQL), each
    chunk in its own transaction, and idempotent: every change is derived
    from the deposit grid and the account's current state, so running a
    month again, or an earlier month after a later one, changes nothing.
    ``progress(done, total, summary_so_far)`` is called after each chunk.
    """
    started = timezone.now()
    month = month_start(month)
    today = business_date()
    if month_end(month) >= today:
        raise DomainError(
            _("%(month)s has not ended on the business date %(today)s.")
            % {"month": format_month(month), "today": today.isoformat()},
            "month_not_ended",
        )
    method = method or ("sql" if connection.vendor == "postgresql" else "python")
    chunk = _chunk_sql if method == "sql" else _chunk_python
    locked = _advisory_lock()
    try:
        latest = ArrearsCheckRun.objects.aggregate(m=Max("effective_month"))["m"]
        effective = max(month, latest) if latest else month
        params = _params(month, effective, actor_label)
        run = ArrearsCheckRun.objects.create(
            month=month,
            effective_month=effective,
            business_date=today,
            actor_label=actor_label[:64],
            started_at=started,
        )
        live = FundAccount.objects.filter(status__in=[Status.OPEN, Status.SEALED])
        bounds = live.aggregate(lo=Min("pk"), hi=Max("pk"))
        total = live.count() if progress else 0
        summary = ArrearsSummary(month=month, run_id=run.pk)
        if bounds["lo"] is not None:
            lo, hi = bounds["lo"], bounds["hi"] + 1
            stream = arrears_stream(run.pk)
            for start in range(lo, hi, chunk_size):
                end = min(start + chunk_size, hi)
                with transaction.atomic():
                    part = chunk(start, end, params)
                    if part.subsidy_terminated:
                        audit_record(
                            stream=stream,
                            action=ARREARS_CHUNK_ACTION,
                            obj=run,
                            actor=Actor.system(actor_label),
                            data={
                                "month": format_month(month),
                                "lo": start,
                                "hi": end,
                                "terminated": part.subsidy_terminated,
                                "digest": part.terminations_digest,
                            },
                        )
                    _apply_transitions(part, month, stream, actor_label)
                summary.add(part)
                if progress:
                    progress(summary.checked, total, summary)
        summary.sealed = len(summary.sealed_ids)
        summary.cancelled = len(summary.cancelled_ids)
        summary.seconds = (timezone.now() - started).total_seconds()
        for name in (
            "checked",
            "newly_in_arrears",
            "arrears_updated",
            "subsidy_terminated",
            "sealed",
            "cancelled",
        ):
            setattr(run, name, getattr(summary, name))
        run.finished_at = timezone.now()
        run.save()
        return summary
    finally:
        if locked:
            _advisory_unlock()


def _apply_transitions(
    part: ArrearsSummary, month: dt.date, stream: str, actor_label: str
) -> None:
    """Cancellation wins over sealing (semantics); both dated the month's end.

    Cancelling goes through ``account_close_out`` (interest to date, subsidy
    end, payout, closed), which sits a floor up: ``deposits.ports``."""
    day = month_end(month)
    actor = Actor.system(actor_label)
    part.cancelled_ids = ports.idle_close_out(
        account_ids=part.cancelled_ids, on=day, actor=actor, audit_stream=stream
    )
    part.sealed_ids = fund_accounts_transition_bulk(
        account_ids=part.sealed_ids,
        to=Status.SEALED,
        reason=AccountStatusChange.Reason.ARREARS,
        actor=actor,
        effective_on=day,
        audit_stream=stream,
    )


def _advisory_lock() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s)", [_ADVISORY_KEY])
        (ok,) = cur.fetchone()
    if not ok:
        raise ConflictError(
            _("Another arrears check is running; try again when it has finished."),
            "arrears_check_running",
        )
    return True


def _advisory_unlock() -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_unlock(%s)", [_ADVISORY_KEY])
