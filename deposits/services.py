"""Writes for deposit agreements, deposits and the monthly arrears job.

Month-grid semantics: /work/notes/semantics.md (months are their first day;
the next unpaid month is the month after ``paid_through``, or the agreement's
first month when nothing has been paid).
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.ledger import (
    CENTER_SETTLEMENT,
    C,
    D,
    Leg,
    bank_settlement_account,
    center_account,
    depositor_account,
    post_transaction,
)
from accounts.models import (
    AccountStatusChange,
    BankPartner,
    FundAccount,
    LedgerTransaction,
)
from accounts.services import (
    account_open,
    fund_account_transition,
    fund_accounts_transition_bulk,
)
from core.actors import actor_user
from core.clock import (
    add_months,
    business_date,
    business_now,
    format_month,
    month_end,
    month_from_index,
    month_index,
    month_start,
)
from core.db import execute_prepared
from core.exceptions import ConflictError, DomainError, NotFoundError, field_error
from core.money import is_exact_money, quantize_money, to_decimal
from core.policy import policy_value
from deposits.agreement_text import FIRST_VERSION
from deposits.grid import (
    arrears_as_of,
    governing_version,
    last_overdue_month_index,
    month_due_date,
    next_unpaid,
)
from deposits.models import ArrearsCheckRun, Cadence, Deposit, DepositAgreement
from deposits.selectors import agreement_text_versions_in_force

Status = FundAccount.Status
SubsidyStatus = FundAccount.SubsidyStatus
# The seeded first text; new texts are AgreementText rows (the bulk seeder
# and benchmarks write this version directly).
CURRENT_AGREEMENT_TEXT_VERSION = FIRST_VERSION
# Subsidy statuses that arrears turn into "terminated" (semantics: subsidy code
# owns the rest and reads subsidy_terminated_on as the earliest termination).
_TERMINABLE = (SubsidyStatus.NOT_YET_ELIGIBLE, SubsidyStatus.ACCRUING)


# --- agreements -------------------------------------------------------------


def _monthly_amount(value: Any, *, on: dt.date) -> Decimal:
    try:
        amount = to_decimal(value)
    except (TypeError, ValueError, InvalidOperation):
        amount = None
    if amount is None or not amount.is_finite() or amount != amount.to_integral_value():
        raise field_error(
            "monthly_amount",
            _("The monthly amount must be a whole number of yuan."),
            "invalid_amount",
        )
    low = policy_value("monthly_amount_min", on=on)
    high = policy_value("monthly_amount_max", on=on)
    if not low <= amount <= high:
        raise field_error(
            "monthly_amount",
            _("The monthly amount must be between %(min)s and %(max)s yuan.")
            % {"min": low, "max": high},
            "amount_out_of_range",
        )
    return quantize_money(amount)


def _cadence(value: Any) -> str:
    if value not in Cadence.values:
        raise field_error(
            "cadence", _("The cadence must be monthly or quarterly."), "invalid_choice"
        )
    return str(value)


def _channel(value: Any) -> str:
    if value not in FundAccount.Channel.values:
        raise field_error("channel", _("Unknown channel."), "invalid_choice")
    return str(value)


def _acceptance(accepted: bool, text_version: str) -> str:
    if accepted is not True:
        raise field_error(
            "accepted",
            _("The depositor must accept the agreement text."),
            "agreement_not_accepted",
        )
    text_version = (text_version or "").strip()
    if not text_version:
        raise field_error(
            "text_version",
            _("The accepted agreement text version is required."),
            "required",
        )
    published = agreement_text_versions_in_force(business_date())
    if text_version not in published:
        raise field_error(
            "text_version",
            _(
                "The agreement text version must be one of those published: "
                "%(versions)s."
            )
            % {"versions": ", ".join(published) or "-"},
            "unknown_text_version",
        )
    return text_version


def _lock_live(account: FundAccount) -> FundAccount:
    locked = FundAccount.objects.select_for_update().get(pk=account.pk)
    if locked.status == Status.CLOSED:
        raise ConflictError(_("The account is closed."), "account_closed")
    return locked


def _versions(account: FundAccount) -> list[DepositAgreement]:
    return list(
        DepositAgreement.objects.filter(fund_account=account).order_by("version")
    )


def _agreement_version_create(
    *,
    locked: FundAccount,
    version: int,
    monthly_amount: Decimal,
    cadence: str,
    first_month: dt.date,
    effective_month: dt.date,
    channel: str,
    text_version: str,
    actor: Any,
    conflict: ConflictError,
) -> DepositAgreement:
    """Write one agreement version; a racing writer of the same version number
    (the unique constraint) gets ``conflict``."""
    now = timezone.now()
    try:
        with transaction.atomic():
            return DepositAgreement.objects.create(
                fund_account=locked,
                version=version,
                monthly_amount=monthly_amount,
                cadence=cadence,
                first_month=first_month,
                effective_month=effective_month,
                channel=channel,
                text_version=text_version,
                accepted_at=now,
                signed_at=now,
                actor=actor_user(actor),
            )
    except IntegrityError:
        raise conflict from None


@transaction.atomic
def agreement_sign(
    *,
    account: FundAccount,
    monthly_amount: Decimal,
    cadence: str,
    first_month: dt.date,
    channel: str,
    text_version: str,
    accepted: bool,
    actor: Any = None,
) -> DepositAgreement:
    """Sign version 1 of the account's deposit agreement (缴存协议)."""
    today = business_date()
    text_version = _acceptance(accepted, text_version)
    amount = _monthly_amount(monthly_amount, on=today)
    cadence = _cadence(cadence)
    channel = _channel(channel)
    locked = _lock_live(account)
    opening = month_start(locked.opened_on)
    latest = add_months(opening, policy_value("first_month_max_ahead", on=today))
    if (
        not isinstance(first_month, dt.date)
        or first_month.day != 1
        or not opening <= first_month <= latest
    ):
        raise field_error(
            "first_month",
            _("The first month must be between %(first)s and %(last)s.")
            % {"first": format_month(opening), "last": format_month(latest)},
            "invalid_first_month",
        )
    if DepositAgreement.objects.filter(fund_account=locked).exists():
        raise ConflictError(
            _("This account already has a deposit agreement; change it instead."),
            "agreement_exists",
        )
    return _agreement_version_create(
        locked=locked,
        version=1,
        monthly_amount=amount,
        cadence=cadence,
        first_month=first_month,
        effective_month=first_month,
        channel=channel,
        text_version=text_version,
        actor=actor,
        conflict=ConflictError(
            _("This account already has a deposit agreement; change it instead."),
            "agreement_exists",
        ),
    )


@transaction.atomic(durable=True)
def account_open_with_agreement(
    *,
    id_number: str,
    name: str,
    phone: str,
    employment_form: str,
    industry_code: str,
    district: str = "",
    bank: BankPartner | None,
    channel: str,
    monthly_amount: Decimal,
    cadence: str,
    start_month: dt.date,
    text_version: str | None = None,
    accepted: bool = True,
    female_original_retirement_age: int | None = None,
    actor: Any = None,
) -> tuple[FundAccount, DepositAgreement]:
    """Open an account and sign its agreement: both or neither.

    ``text_version`` defaults to the newest published text (the bank app
    shows that one)."""
    if text_version is None:
        versions = agreement_text_versions_in_force(business_date())
        text_version = versions[0] if versions else ""
    # Agreement input first, so a bad amount is reported before anything else.
    _acceptance(accepted, text_version)
    _monthly_amount(monthly_amount, on=business_date())
    _cadence(cadence)
    _channel(channel)
    account = account_open(
        id_number=id_number,
        name=name,
        phone=phone,
        employment_form=employment_form,
        industry_code=industry_code,
        district=district,
        bank=bank,
        channel=channel,
        female_original_retirement_age=female_original_retirement_age,
        actor=actor,
    )
    agreement = agreement_sign(
        account=account,
        monthly_amount=monthly_amount,
        cadence=cadence,
        first_month=start_month,
        channel=channel,
        text_version=text_version,
        accepted=accepted,
        actor=actor,
    )
    return account, agreement


@transaction.atomic
def agreement_change(
    *,
    account: FundAccount,
    monthly_amount: Decimal | None = None,
    cadence: str | None = None,
    channel: str,
    text_version: str,
    accepted: bool,
    actor: Any = None,
) -> DepositAgreement:
    """A new agreement version, in force from the next unpaid month."""
    today = business_date()
    text_version = _acceptance(accepted, text_version)
    channel = _channel(channel)
    amount = (
        None if monthly_amount is None else _monthly_amount(monthly_amount, on=today)
    )
    cadence = None if cadence is None else _cadence(cadence)
    locked = _lock_live(account)
    versions = _versions(locked)
    if not versions:
        raise ConflictError(
            _("This account has no deposit agreement to change."), "no_agreement"
        )
    current = versions[-1]
    new_amount = amount if amount is not None else current.monthly_amount
    new_cadence = cadence or current.cadence
    if new_amount == current.monthly_amount and new_cadence == current.cadence:
        raise DomainError(
            _("The change must set a new monthly amount or cadence."),
            "nothing_to_change",
        )
    return _agreement_version_create(
        locked=locked,
        version=current.version + 1,
        monthly_amount=new_amount,
        cadence=new_cadence,
        first_month=versions[0].first_month,
        effective_month=next_unpaid(locked.paid_through, versions),
        channel=channel,
        text_version=text_version,
        actor=actor,
        conflict=ConflictError(
            _("The agreement was changed at the same time; try again."),
            "agreement_conflict",
        ),
    )


# --- deposits ---------------------------------------------------------------


def _deposit_amount(value: Any) -> Decimal:
    try:
        amount = to_decimal(value)
    except (TypeError, ValueError, InvalidOperation):
        amount = None
    if (
        amount is None
        or not amount.is_finite()
        or amount <= 0
        or not is_exact_money(amount)
    ):
        raise field_error(
            "amount",
            _("The amount must be positive with at most two decimals."),
            "invalid_amount",
        )
    return quantize_money(amount)


def _terminate_subsidy(account: FundAccount, on: dt.date) -> list[str]:
    """Arrears end the subsidy: earliest termination date wins."""
    fields = []
    if account.subsidy_terminated_on is None or account.subsidy_terminated_on > on:
        account.subsidy_terminated_on = on
        fields.append("subsidy_terminated_on")
    if account.subsidy_status in _TERMINABLE:
        account.subsidy_status = SubsidyStatus.TERMINATED
        fields.append("subsidy_status")
    return fields


@dataclass(frozen=True)
class _DepositPlan:
    versions: list[DepositAgreement]
    version: DepositAgreement
    expected_first: dt.date
    last_month: dt.date
    kind: str


def _deposit_plan(
    *,
    locked: FundAccount,
    load_versions: Callable[[], list[DepositAgreement]],
    is_duplicate: Callable[[], bool],
    amount: Decimal,
    first_month: dt.date,
    months: int,
    value_date: dt.date,
    bank: BankPartner | None,
) -> _DepositPlan:
    """Every check on the locked account, in the order the contract answers.

    ``load_versions`` and ``is_duplicate`` are called only when their check is
    reached (the ORM path queries there; the PostgreSQL path has prefetched).
    """
    if bank is not None and locked.bank_id != bank.pk:
        # Another bank never learns the account exists (contract).
        raise NotFoundError(_("Not found."), "account_not_found")
    if locked.status == Status.CLOSED:
        raise ConflictError(
            _("The account is closed and takes no deposits."), "account_closed"
        )
    if is_duplicate():
        raise ConflictError(
            _("This bank transaction id has already been posted."),
            "duplicate_bank_txn",
        )
    versions = load_versions()
    if not versions:
        raise ConflictError(_("The account has no deposit agreement."), "no_agreement")
    if value_date < locked.opened_on:
        raise field_error(
            "paid_at",
            _("The payment time is before the account was opened."),
            "paid_at_before_opening",
        )

    today = business_date()
    expected_first = next_unpaid(locked.paid_through, versions)
    assert expected_first is not None
    if (
        locked.paid_through is not None
        and versions[0].first_month <= first_month <= locked.paid_through
    ):
        raise ConflictError(
            _("%(month)s is already paid; the first unpaid month is %(next)s.")
            % {
                "month": format_month(first_month),
                "next": format_month(expected_first),
            },
            "period_already_paid",
        )
    resuming = (
        first_month != expected_first
        and locked.status == Status.SEALED
        and first_month == month_start(today)
    )
    if first_month != expected_first and not resuming:
        if locked.status == Status.SEALED:
            message = _(
                "The first month must be the first unpaid month %(next)s "
                "or the current month %(current)s."
            ) % {
                "next": format_month(expected_first),
                "current": format_month(month_start(today)),
            }
        else:
            message = _("The first month must be the first unpaid month %(next)s.") % {
                "next": format_month(expected_first)
            }
        raise field_error("first_month", message, "month_gap")

    version = governing_version(versions, first_month)
    assert version is not None
    expected_amount = quantize_money(version.monthly_amount * months)
    if amount != expected_amount:
        raise field_error(
            "amount",
            _(
                "The amount must be exactly %(monthly)s x %(months)s months = "
                "%(expected)s."
            )
            % {
                "monthly": version.monthly_amount,
                "months": months,
                "expected": expected_amount,
            },
            "invalid_amount",
        )
    last_month = add_months(first_month, months - 1)
    if resuming:
        kind = Deposit.Kind.RESUME
    elif version.due_date(first_month) < value_date:
        kind = Deposit.Kind.BACK_PAYMENT
    else:
        kind = Deposit.Kind.REGULAR

    return _DepositPlan(versions, version, expected_first, last_month, kind)


@dataclass(frozen=True)
class _DepositInput:
    amount: Decimal
    first_month: dt.date
    months: int
    paid_at: dt.datetime
    value_date: dt.date
    channel: str
    bank_txn_id: str


def _deposit_input(
    *,
    amount: Decimal,
    first_month: dt.date,
    months: int,
    paid_at: dt.datetime,
    bank: BankPartner | None,
    bank_txn_id: str,
    channel: str,
) -> _DepositInput:
    """The checks that need no account, in the order the contract answers."""
    max_months = policy_value("deposit_max_months")
    if isinstance(months, bool) or not isinstance(months, int):
        months = -1
    if not 1 <= months <= max_months:
        raise field_error(
            "months",
            _("A deposit covers 1 to %(max)s whole months.") % {"max": max_months},
            "invalid_months",
        )
    amount = _deposit_amount(amount)
    if not isinstance(first_month, dt.date) or first_month.day != 1:
        raise field_error(
            "first_month",
            _("The first month must be a month (YYYY-MM)."),
            "invalid_month",
        )
    if not isinstance(paid_at, dt.datetime):
        raise field_error("paid_at", _("The payment time is required."), "required")
    if timezone.is_naive(paid_at):
        paid_at = timezone.make_aware(paid_at)
    if paid_at > business_now():
        raise field_error(
            "paid_at",
            _("The payment time is later than the business date."),
            "paid_at_in_future",
        )
    value_date = timezone.localtime(paid_at).date()
    channel = _channel(channel)
    bank_txn_id = (bank_txn_id or "").strip()
    if bank is not None and not bank_txn_id:
        raise field_error(
            "bank_txn_id", _("The bank transaction id is required."), "required"
        )
    if len(bank_txn_id) > 64:
        raise field_error(
            "bank_txn_id",
            _("The bank transaction id has at most 64 characters."),
            "invalid",
        )

    return _DepositInput(
        amount, first_month, months, paid_at, value_date, channel, bank_txn_id
    )


# --- the PostgreSQL posting path ----------------------------------------------
#
# Same checks and the same rows as the ORM path below, in two statements: one
# locks the account and reads everything the checks need, one writes the
# ledger transaction, both legs (one INSERT, so the balance trigger sees the
# whole transaction), the deposit and the account's balance and grid caches.
# Rare cases (reopening a sealed account, a subsidy termination, which keep
# their history rows, or a bank without a settlement account yet) return None
# and take the ORM path.

_PG_LOCK_SQL = """
{with_ctes}SELECT fa.id, fa.status, fa.bank_id, fa.opened_on, fa.paid_through,
       fa.last_deposit_on, fa.balance, fa.arrears_months, fa.subsidy_status,
       fa.subsidy_terminated_on,
       (SELECT la.id FROM accounts_ledgeraccount la
         WHERE la.fund_account_id = fa.id),
       (SELECT la.id FROM accounts_ledgeraccount la WHERE {debit_where}),
       %(txn)s <> '' AND EXISTS (
           SELECT 1 FROM deposits_deposit d
            WHERE {duplicate_where}
              AND d.bank_txn_id = %(txn)s AND d.bank_txn_id <> ''),
       nextval('deposits_deposit_id_seq'),
       ag.ids, ag.versions, ag.amounts, ag.cadences, ag.firsts, ag.effectives
       {extra_columns}
  FROM accounts_fundaccount fa
  LEFT JOIN LATERAL (
      SELECT array_agg(a.id ORDER BY a.version) AS ids,
             array_agg(a.version ORDER BY a.version) AS versions,
             array_agg(a.monthly_amount ORDER BY a.version) AS amounts,
             array_agg(a.cadence ORDER BY a.version) AS cadences,
             array_agg(a.first_month ORDER BY a.version) AS firsts,
             array_agg(a.effective_month ORDER BY a.version) AS effectives
        FROM deposits_depositagreement a
       WHERE a.fund_account_id = fa.id
  ) ag ON true
 WHERE {account_where}
   FOR UPDATE OF fa
"""
_PG_DEBIT_BANK = "la.bank_id = %(bank)s"
_PG_DEBIT_CENTER = "la.code = %(center)s"
# Spelled per case, never ``IS NOT DISTINCT FROM``: that form cannot use the
# partial unique index on (bank, bank_txn_id) and scans every deposit.
_PG_DUPLICATE_BANK = "d.bank_id = %(bank)s"
_PG_DUPLICATE_CENTER = "d.bank_id IS NULL"
_PG_ACCOUNT_BY_ID = "fa.id = %(fa)s"
_PG_ACCOUNT_BY_NO = "fa.account_no = %(account_no)s"

_PG_WRITE_SQL = """
WITH {with_ctes}txn AS (
    INSERT INTO accounts_ledgertransaction
        (kind, fund_account_id, bank_id, value_date, posted_at, memo, actor_id,
         reverses_id)
    VALUES (%(txn_kind)s, %(fa)s, %(bank)s, %(value_date)s, %(now)s, %(memo)s,
            %(actor)s, NULL)
    RETURNING id
), legs AS (
    INSERT INTO accounts_ledgerentry
        (transaction_id, ledger_account_id, side, amount, value_date)
    SELECT txn.id, leg.account_id, leg.side, %(amount)s, %(value_date)s
      FROM txn,
           (VALUES (%(debit)s::bigint, 'D'), (%(credit)s::bigint, 'C'))
               AS leg (account_id, side)
), dep AS (
    INSERT INTO deposits_deposit
        (id, fund_account_id, agreement_id, amount, first_month, last_month,
         months, kind, value_date, paid_at, channel, bank_id, bank_txn_id,
         ledger_transaction_id, actor_id, created_at)
    SELECT %(deposit_id)s, %(fa)s, %(agreement)s, %(amount)s, %(first_month)s,
           %(last_month)s, %(months)s, %(kind)s, %(value_date)s, %(paid_at)s,
           %(channel)s, %(bank)s, %(bank_txn_id)s, txn.id, %(actor)s, %(now)s
      FROM txn
), acct AS (
    UPDATE accounts_fundaccount
       SET balance = balance + %(amount)s,
           paid_through = %(last_month)s,
           last_deposit_on = %(last_deposit_on)s,
           arrears_months = %(arrears)s
     WHERE id = %(fa)s
    RETURNING balance
)
SELECT txn.id, acct.balance FROM txn, acct
"""


@dataclass(frozen=True)
class PgPostingExtras:
    """Rows a caller writes in the same two statements as a deposit.

    ``lock_ctes`` (``name AS (...), ``) run with the locking read and
    ``lock_columns`` (``, expr``) come back in ``PgPosting.extra``;
    ``write_ctes`` run with the write, with the parameters ``write_params``
    returns once the deposit, its id and the new balance are known. Used by
    the bank API to claim its idempotency key and store the response in the
    deposit's own transaction (banks.api.fast).
    """

    lock_ctes: str = ""
    lock_columns: str = ""
    write_ctes: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    write_params: Callable[["PgPosting"], dict[str, Any]] | None = None


@dataclass
class PgPosting:
    deposit: Deposit
    account: FundAccount
    extra: tuple[Any, ...]


_pg_sql_cache: dict[tuple[Any, ...], tuple[str, str]] = {}


def _pg_sql(
    *, by_no: bool, bank: bool, extras: PgPostingExtras | None
) -> tuple[str, str]:
    key = (
        by_no,
        bank,
        extras.lock_ctes if extras else "",
        extras.lock_columns if extras else "",
        extras.write_ctes if extras else "",
    )
    sql = _pg_sql_cache.get(key)
    if sql is None:
        lock_ctes = (extras.lock_ctes if extras else "").rstrip().rstrip(",")
        sql = (
            _PG_LOCK_SQL.format(
                with_ctes=f"WITH {lock_ctes}\n" if lock_ctes else "",
                extra_columns=extras.lock_columns if extras else "",
                debit_where=_PG_DEBIT_BANK if bank else _PG_DEBIT_CENTER,
                duplicate_where=_PG_DUPLICATE_BANK if bank else _PG_DUPLICATE_CENTER,
                account_where=_PG_ACCOUNT_BY_NO if by_no else _PG_ACCOUNT_BY_ID,
            ),
            _PG_WRITE_SQL.format(with_ctes=extras.write_ctes if extras else ""),
        )
        _pg_sql_cache[key] = sql
    return sql


def _deposit_post_pg(
    given: _DepositInput,
    *,
    account_id: int | None = None,
    account_no: str = "",
    bank: BankPartner | None,
    actor: Any,
    extras: PgPostingExtras | None = None,
) -> PgPosting | None:
    """``None``: not an ordinary posting (see above) or, by number, no such
    account; the caller takes the ORM path under the same transaction."""
    amount, first_month, months = given.amount, given.first_month, given.months
    paid_at, value_date, channel = given.paid_at, given.value_date, given.channel
    bank_txn_id = given.bank_txn_id
    params: dict[str, Any] = {
        "fa": account_id,
        "account_no": account_no,
        "bank": bank.pk if bank is not None else None,
        "txn": bank_txn_id,
        "center": CENTER_SETTLEMENT,
    }
    if extras is not None:
        params.update(extras.params)
    lock_sql, write_sql = _pg_sql(
        by_no=account_id is None, bank=bank is not None, extras=extras
    )
    row = execute_prepared(lock_sql, params)
    if row is None:
        if account_id is None:
            return None
        raise FundAccount.DoesNotExist("FundAccount matching query does not exist.")
    (
        fa_id,
        status,
        bank_id,
        opened_on,
        paid_through,
        last_deposit_on,
        balance,
        arrears_months,
        subsidy_status,
        subsidy_terminated_on,
        credit_id,
        debit_id,
        duplicate,
        deposit_id,
        ag_ids,
        ag_versions,
        ag_amounts,
        ag_cadences,
        ag_firsts,
        ag_effectives,
    ) = row[:20]
    locked = FundAccount(
        id=fa_id,
        account_no=account_no,
        status=status,
        bank_id=bank_id,
        opened_on=opened_on,
        paid_through=paid_through,
        last_deposit_on=last_deposit_on,
        balance=balance,
        arrears_months=arrears_months,
        subsidy_status=subsidy_status,
        subsidy_terminated_on=subsidy_terminated_on,
    )
    versions = [
        DepositAgreement(
            id=ag_ids[i],
            fund_account_id=fa_id,
            version=ag_versions[i],
            monthly_amount=ag_amounts[i],
            cadence=ag_cadences[i],
            first_month=ag_firsts[i],
            effective_month=ag_effectives[i],
        )
        for i in range(len(ag_ids or ()))
    ]
    plan = _deposit_plan(
        locked=locked,
        load_versions=lambda: versions,
        is_duplicate=lambda: bool(duplicate),
        amount=amount,
        first_month=first_month,
        months=months,
        value_date=value_date,
        bank=bank,
    )
    overdue_due = month_due_date(versions, plan.expected_first)
    if (
        locked.status != Status.OPEN
        or (overdue_due < value_date and _terminate_subsidy(locked, overdue_due))
        or debit_id is None
        or credit_id is None
    ):
        return None  # the ORM path below redoes the checks under the same lock
    if last_deposit_on is None or value_date > last_deposit_on:
        last_deposit_on = value_date
    arrears = arrears_as_of(add_months(plan.last_month, 1), versions, value_date)
    now = timezone.now()
    actor_id = getattr(actor_user(actor), "pk", None)
    memo = _("Deposit %(first)s to %(last)s") % {
        "first": format_month(first_month),
        "last": format_month(plan.last_month),
    }
    params.update(
        fa=fa_id,
        deposit_id=deposit_id,
        txn_kind=LedgerTransaction.Kind.DEPOSIT,
        value_date=value_date,
        now=now,
        memo=memo[:200],
        actor=actor_id,
        amount=amount,
        debit=debit_id,
        credit=credit_id,
        agreement=plan.version.pk,
        first_month=first_month,
        last_month=plan.last_month,
        months=months,
        kind=plan.kind,
        paid_at=paid_at,
        channel=channel,
        bank_txn_id=bank_txn_id,
        last_deposit_on=last_deposit_on,
        arrears=arrears,
    )
    deposit = Deposit(
        id=deposit_id,
        fund_account_id=fa_id,
        agreement_id=plan.version.pk,
        amount=amount,
        first_month=first_month,
        last_month=plan.last_month,
        months=months,
        kind=plan.kind,
        value_date=value_date,
        paid_at=paid_at,
        channel=channel,
        bank=bank,
        bank_txn_id=bank_txn_id,
        actor_id=actor_id,
        created_at=now,
    )
    deposit._state.adding = False
    deposit._state.db = connection.alias
    # The row is locked: the balance the write computes is this one.
    locked.balance = balance + amount
    locked.paid_through = plan.last_month
    locked.last_deposit_on = last_deposit_on
    locked.arrears_months = arrears
    posting = PgPosting(deposit=deposit, account=locked, extra=tuple(row[20:]))
    if extras is not None and extras.write_params is not None:
        params.update(extras.write_params(posting))
    try:
        written = execute_prepared(write_sql, params)
    except IntegrityError as exc:
        raise _deposit_conflict(exc, first_month) from None
    assert written is not None
    deposit.ledger_transaction_id, new_balance = written
    if new_balance != locked.balance:  # pragma: no cover - the row lock forbids it
        raise DomainError(_("An internal error occurred."), "internal_error", 500)
    return posting


def _deposit_conflict(exc: IntegrityError, first_month: dt.date) -> ConflictError:
    # The lock makes these rare: another account's deposit with the same bank
    # transaction id, or a writer that bypassed this service.
    if "bank_txn" in str(exc):
        return ConflictError(
            _("This bank transaction id has already been posted."),
            "duplicate_bank_txn",
        )
    return ConflictError(
        _("%(month)s is already paid.") % {"month": format_month(first_month)},
        "period_already_paid",
    )


@transaction.atomic(durable=True)
def deposit_post(
    *,
    account: FundAccount,
    amount: Decimal,
    first_month: dt.date,
    months: int,
    paid_at: dt.datetime,
    bank: BankPartner | None,
    bank_txn_id: str = "",
    channel: str,
    actor: Any = None,
) -> Deposit:
    """Post a deposit of whole months from the first unpaid month.

    One ledger transaction (bank settlement, or the center's own account at the
    counter, to the depositor). Reopens a sealed account; refuses a closed one.
    """
    given = _deposit_input(
        amount=amount,
        first_month=first_month,
        months=months,
        paid_at=paid_at,
        bank=bank,
        bank_txn_id=bank_txn_id,
        channel=channel,
    )
    amount, first_month, months = given.amount, given.first_month, given.months
    paid_at, value_date, channel = given.paid_at, given.value_date, given.channel
    bank_txn_id = given.bank_txn_id

    if connection.vendor == "postgresql":
        posted = _deposit_post_pg(given, account_id=account.pk, bank=bank, actor=actor)
        if posted is not None:
            for name in (
                "status",
                "balance",
                "paid_through",
                "last_deposit_on",
                "arrears_months",
                "subsidy_status",
                "subsidy_terminated_on",
            ):
                setattr(account, name, getattr(posted.account, name))
            return posted.deposit

    # Lock before checking the grid: two deposits for one account serialise here.
    locked = FundAccount.objects.select_for_update().get(pk=account.pk)
    plan = _deposit_plan(
        locked=locked,
        load_versions=lambda: _versions(locked),
        is_duplicate=lambda: (
            bool(bank_txn_id)
            and Deposit.objects.filter(bank=bank, bank_txn_id=bank_txn_id).exists()
        ),
        amount=amount,
        first_month=first_month,
        months=months,
        value_date=value_date,
        bank=bank,
    )
    versions, version, expected_first = plan.versions, plan.version, plan.expected_first
    last_month, kind = plan.last_month, plan.kind

    debit = (
        bank_settlement_account(bank)
        if bank is not None
        else center_account(CENTER_SETTLEMENT)
    )
    txn = post_transaction(
        kind=LedgerTransaction.Kind.DEPOSIT,
        legs=[Leg(debit, D, amount), Leg(depositor_account(locked), C, amount)],
        value_date=value_date,
        fund_account=locked,
        bank=bank,
        memo=_("Deposit %(first)s to %(last)s")
        % {"first": format_month(first_month), "last": format_month(last_month)},
        actor=actor,
    )
    try:
        with transaction.atomic():
            deposit = Deposit.objects.create(
                fund_account=locked,
                agreement=version,
                amount=amount,
                first_month=first_month,
                last_month=last_month,
                months=months,
                kind=kind,
                value_date=value_date,
                paid_at=paid_at,
                channel=channel,
                bank=bank,
                bank_txn_id=bank_txn_id,
                ledger_transaction=txn,
                actor=actor_user(actor),
            )
    except IntegrityError as exc:
        raise _deposit_conflict(exc, first_month) from None

    # The first unpaid month before this deposit was overdue: arrears happened.
    fields = ["paid_through", "last_deposit_on", "arrears_months"]
    overdue_due = month_due_date(versions, expected_first)
    if overdue_due < value_date:
        fields += _terminate_subsidy(locked, overdue_due + dt.timedelta(days=1))
    locked.paid_through = last_month
    if locked.last_deposit_on is None or value_date > locked.last_deposit_on:
        locked.last_deposit_on = value_date
    locked.arrears_months = arrears_as_of(
        add_months(last_month, 1), versions, value_date
    )
    if "subsidy_status" in fields or "subsidy_terminated_on" in fields:
        locked.save(update_fields=fields)  # a subsidy state change keeps its history
    else:
        # Derived grid caches only: the Deposit row is their history.
        FundAccount.objects.filter(pk=locked.pk).update(
            **{name: getattr(locked, name) for name in fields}
        )
    if locked.status == Status.SEALED:
        fund_account_transition(
            account=locked,
            to=Status.OPEN,
            reason=AccountStatusChange.Reason.RESUMED,
            actor=actor,
            actor_label="" if getattr(actor, "pk", None) else channel,
            effective_on=value_date,
        )
    # The row is locked until commit, so these are its values; no re-read.
    locked.balance += amount
    for name in (
        "status",
        "balance",
        "paid_through",
        "last_deposit_on",
        "arrears_months",
        "subsidy_status",
        "subsidy_terminated_on",
    ):
        setattr(account, name, getattr(locked, name))
    return deposit


# --- the monthly arrears job ------------------------------------------------


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

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("sealed_ids")
        data.pop("cancelled_ids")
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


def _params(month: dt.date, effective: dt.date) -> _Params:
    after_m = add_months(month, 1)
    after_e = add_months(effective, 1)
    on = month_end(month)
    return _Params(
        month=month,
        month_idx=month_index(month),
        lim_m_monthly=last_overdue_month_index(Cadence.MONTHLY, after_m),
        lim_m_quarterly=last_overdue_month_index(Cadence.QUARTERLY, after_m),
        lim_e_monthly=last_overdue_month_index(Cadence.MONTHLY, after_e),
        lim_e_quarterly=last_overdue_month_index(Cadence.QUARTERLY, after_e),
        seal_months=policy_value("arrears_seal_months", on=on),
        idle_months=policy_value("idle_cancel_months", on=on),
    )


def _month_idx_sql(column: str) -> str:
    return (
        f"(date_part('year', {column})::int * 12"
        f" + date_part('month', {column})::int - 1)"
    )


# Expressions over the locked row ``fa`` and its latest agreement version ``ag``.
_NEXT_IDX = (
    "CASE WHEN fa.paid_through IS NOT NULL THEN "
    + _month_idx_sql("fa.paid_through")
    + " + 1 ELSE "
    + _month_idx_sql("ag.first_month")
    + " END"
)


def _arrears_sql(lim_monthly: str, lim_quarterly: str) -> str:
    return (
        "CASE WHEN ag.cadence IS NULL THEN 0 ELSE GREATEST(0, "
        f"CASE WHEN ag.cadence = 'quarterly' THEN {lim_quarterly} "
        f"ELSE {lim_monthly} END - ({_NEXT_IDX}) + 1) END"
    )


_ARREARS_M = _arrears_sql("%(lim_m_m)s", "%(lim_m_q)s")
_ARREARS_E = _arrears_sql("%(lim_e_m)s", "%(lim_e_q)s")
# The day after the first unpaid month's due date: always a month's first day.
_TERM_IDX = (
    f"CASE WHEN ag.cadence = 'quarterly' THEN ({_NEXT_IDX}) "
    f"+ 3 - (({_NEXT_IDX}) %% 12) %% 3 ELSE ({_NEXT_IDX}) + 1 END"
)
_TERM_ON = f"make_date(({_TERM_IDX}) / 12, ({_TERM_IDX}) %% 12 + 1, 1)"
_CANCEL = (
    "(fa.balance = 0 AND %(month_idx)s - "
    + _month_idx_sql("COALESCE(fa.last_deposit_on, fa.opened_on)")
    + " >= %(idle)s)"
)
_TERMINABLE_SQL = "('not_yet_eligible', 'accruing')"

# One statement per chunk. Rows needing no change are only read; the others
# are locked, and FOR UPDATE re-evaluates the expressions on the newest row
# version, so a deposit committed meanwhile is seen, never overwritten. All
# month arithmetic is on month indexes (year * 12 + month - 1).
_CHUNK_SQL = f"""
WITH ag AS (
    SELECT DISTINCT ON (a.fund_account_id)
           a.fund_account_id, a.cadence, a.first_month
      FROM deposits_depositagreement a
     WHERE a.fund_account_id >= %(lo)s AND a.fund_account_id < %(hi)s
     ORDER BY a.fund_account_id, a.version DESC
), todo AS (
    SELECT fa.id, fa.status, fa.arrears_months AS old_arrears,
           fa.subsidy_status, fa.subsidy_terminated_on,
           {_ARREARS_E} AS new_arrears,
           {_ARREARS_M} AS arrears_m,
           {_TERM_ON} AS term_on,
           {_CANCEL} AS cancel
      FROM accounts_fundaccount fa
      LEFT JOIN ag ON ag.fund_account_id = fa.id
     WHERE fa.id >= %(lo)s AND fa.id < %(hi)s AND fa.status IN ('open', 'sealed')
       AND (
            {_ARREARS_E} <> fa.arrears_months
         OR ({_ARREARS_E} > 0 AND (
                fa.subsidy_terminated_on IS NULL
             OR fa.subsidy_terminated_on > {_TERM_ON}
             OR fa.subsidy_status IN {_TERMINABLE_SQL}))
         OR {_CANCEL}
         OR (fa.status = 'open' AND {_ARREARS_M} >= %(seal)s)
       )
       FOR UPDATE OF fa
), upd AS (
    UPDATE accounts_fundaccount fa
       SET arrears_months = t.new_arrears,
           subsidy_terminated_on = CASE WHEN t.new_arrears > 0
               THEN LEAST(t.subsidy_terminated_on, t.term_on)
               ELSE t.subsidy_terminated_on END,
           subsidy_status = CASE
               WHEN t.new_arrears > 0 AND t.subsidy_status IN {_TERMINABLE_SQL}
               THEN 'terminated' ELSE t.subsidy_status END
      FROM todo t
     WHERE fa.id = t.id AND fa.id >= %(lo)s AND fa.id < %(hi)s
       AND (t.new_arrears <> t.old_arrears
            OR (t.new_arrears > 0 AND (
                   t.subsidy_terminated_on IS NULL
                OR t.subsidy_terminated_on > t.term_on
                OR t.subsidy_status IN {_TERMINABLE_SQL})))
    RETURNING fa.id
)
SELECT (SELECT count(*) FROM upd),
       count(*) FILTER (WHERE old_arrears = 0 AND new_arrears > 0),
       count(*) FILTER (WHERE new_arrears <> old_arrears),
       count(*) FILTER (
           WHERE new_arrears > 0 AND subsidy_status IN {_TERMINABLE_SQL}),
       COALESCE(array_agg(id ORDER BY id) FILTER (WHERE cancel), '{{}}'),
       COALESCE(array_agg(id ORDER BY id) FILTER (
           WHERE NOT cancel AND status = 'open' AND arrears_m >= %(seal)s), '{{}}')
  FROM todo
"""


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
    }


def _chunk_sql(lo: int, hi: int, p: _Params) -> ArrearsSummary:
    """The PostgreSQL pass over accounts with ``lo <= id < hi``."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM accounts_fundaccount "
            "WHERE id >= %s AND id < %s AND status IN ('open', 'sealed')",
            [lo, hi],
        )
        (checked,) = cur.fetchone()
        cur.execute(_CHUNK_SQL, _sql_params(lo, hi, p))
        _updated, newly, changed, terminated, cancel_ids, seal_ids = cur.fetchone()
    return ArrearsSummary(
        month=p.month,
        checked=checked,
        newly_in_arrears=newly,
        arrears_updated=changed,
        subsidy_terminated=terminated,
        sealed_ids=list(seal_ids),
        cancelled_ids=list(cancel_ids),
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
            "subsidy_status",
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
    groups: dict[tuple[int, dt.date | None, str], list[int]] = {}
    for (
        pk,
        status,
        balance,
        old_arrears,
        paid_through,
        last_deposit_on,
        opened_on,
        subsidy_status,
        terminated_on,
    ) in rows:
        arrears_m = arrears_e = 0
        term_on = None
        if pk in latest:
            cadence, first = latest[pk]
            quarterly = cadence == Cadence.QUARTERLY
            next_idx = (
                month_index(paid_through) + 1
                if paid_through is not None
                else month_index(first)
            )
            lim_m = p.lim_m_quarterly if quarterly else p.lim_m_monthly
            lim_e = p.lim_e_quarterly if quarterly else p.lim_e_monthly
            arrears_m = max(0, lim_m - next_idx + 1)
            arrears_e = max(0, lim_e - next_idx + 1)
            term_idx = next_idx + 3 - next_idx % 12 % 3 if quarterly else next_idx + 1
            term_on = month_from_index(term_idx)
        new_term, new_status = terminated_on, subsidy_status
        if arrears_e > 0:
            assert term_on is not None
            if new_term is None or new_term > term_on:
                new_term = term_on
            if subsidy_status in _TERMINABLE:
                new_status = SubsidyStatus.TERMINATED
                out.subsidy_terminated += 1
        if arrears_e != old_arrears:
            out.arrears_updated += 1
            if old_arrears == 0:
                out.newly_in_arrears += 1
        if (arrears_e, new_term, new_status) != (
            old_arrears,
            terminated_on,
            subsidy_status,
        ):
            groups.setdefault((arrears_e, new_term, new_status), []).append(pk)
        idle_from = last_deposit_on or opened_on
        if balance == 0 and p.month_idx - month_index(idle_from) >= p.idle_months:
            out.cancelled_ids.append(pk)
        elif status == Status.OPEN and arrears_m >= p.seal_months:
            out.sealed_ids.append(pk)
    for (arrears, term, sub_status), ids in groups.items():
        for start in range(0, len(ids), 500):
            FundAccount.objects.filter(pk__in=ids[start : start + 500]).update(
                arrears_months=arrears,
                subsidy_terminated_on=term,
                subsidy_status=sub_status,
            )
    return out


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
        params = _params(month, effective)
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
            for start in range(lo, hi, chunk_size):
                with transaction.atomic():
                    part = chunk(start, min(start + chunk_size, hi), params)
                    _apply_transitions(part, month)
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


def _apply_transitions(part: ArrearsSummary, month: dt.date) -> None:
    """Cancellation wins over sealing (semantics); both dated the month's end."""
    day = month_end(month)
    part.cancelled_ids = fund_accounts_transition_bulk(
        account_ids=part.cancelled_ids,
        to=Status.CLOSED,
        reason=AccountStatusChange.Reason.IDLE_CANCEL,
        actor_label="check_arrears",
        effective_on=day,
    )
    part.sealed_ids = fund_accounts_transition_bulk(
        account_ids=part.sealed_ids,
        to=Status.SEALED,
        reason=AccountStatusChange.Reason.ARREARS,
        actor_label="check_arrears",
        effective_on=day,
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


def deposit_post_composed(
    *,
    account_no: str,
    amount: Decimal,
    first_month: dt.date,
    months: int,
    paid_at: dt.datetime,
    bank: BankPartner,
    bank_txn_id: str,
    channel: str,
    extras: PgPostingExtras,
) -> PgPosting | None:
    """``deposit_post``'s ordinary case (PostgreSQL only), addressed by account
    number, with the caller's own rows written in the same two statements.

    Runs inside the caller's atomic block. Every check is ``deposit_post``'s
    own. ``None`` (no such account, or not an ordinary posting) and any
    ``DomainError`` mean: roll back and call ``deposit_post``, which answers
    the same case with the same result.
    """
    if not connection.in_atomic_block or connection.vendor != "postgresql":
        raise transaction.TransactionManagementError(
            "deposit_post_composed runs inside the caller's transaction"
        )
    given = _deposit_input(
        amount=amount,
        first_month=first_month,
        months=months,
        paid_at=paid_at,
        bank=bank,
        bank_txn_id=bank_txn_id,
        channel=channel,
    )
    return _deposit_post_pg(
        given, account_no=account_no, bank=bank, actor=None, extras=extras
    )
