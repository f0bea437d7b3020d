"""Demo employers, conversions, transfers and national exchange files,
through the real services (never in production).

What it leaves for a visitor of the admin: an employer with a converted
employee and an employer deposit; an account transferred out (its message
exported as a file); a person transferred in (the platform's answer played
as a signed file and imported, as operations would); a transfer-in request
still waiting; and the platform messages with their status and age.
"""

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum.cn import ric, uscc

from accounts.models import BankPartner, Depositor, FundAccount
from accounts.services import employer_create, id_number_hash
from core.actors import Actor
from core.clock import add_months, business_date, month_start
from core.exceptions import DomainError
from deposits.selectors import current_agreement, next_unpaid_month
from deposits.services import account_convert_to_employee, deposit_post
from national.services import (
    exchange_file_bytes,
    exchange_key,
    inbox_import,
    outbox_export,
)
from transfers.models import TransferIn
from transfers.services import transfer_in_request, transfer_out


def _uscc(body: str) -> str:
    return body + uscc.calc_check_digit(body)


def _fresh_id(seq: int) -> str:
    """A valid resident ID nobody here holds yet."""
    for n in range(seq, seq + 500):
        body = (
            f"370602{dt.date(1986, 1, 1) + dt.timedelta(days=n):%Y%m%d}{n % 1000:03d}"
        )
        number = body + ric.calc_check_digit(body + "0")
        if not Depositor.objects.filter(id_number_hash=id_number_hash(number)).exists():
            return number
    raise DomainError(_("No free demo ID number."), "demo_ids_exhausted")


def _convert_one(clerk: Actor, employer: Any, counts: dict[str, int]) -> None:
    today = business_date()
    for account in FundAccount.objects.filter(
        status="open", kind="flexible", transfer_out__isnull=True
    ).order_by("id"):
        nxt = next_unpaid_month(account)
        if nxt is None or not month_start(today) <= nxt <= add_months(today, 1):
            continue
        account_convert_to_employee(
            account=account,
            employer=employer,
            employee_share=Decimal("600"),
            employer_share=Decimal("400"),
            first_month=nxt,
            actor=clerk,
        )
        if nxt <= month_start(today):
            # The employer's first month, paid at the counter (its own
            # transaction: the deposit service is the outermost one).
            version = current_agreement(account)
            assert version is not None
            deposit_post(
                account=account,
                amount=version.monthly_amount,
                first_month=nxt,
                months=1,
                paid_at=timezone.make_aware(dt.datetime.combine(today, dt.time(10))),
                bank=None,
                channel=FundAccount.Channel.COUNTER,
                actor=clerk,
            )
            counts["employer deposit"] = 1
        counts["conversion"] = 1
        return


def _transfer_out_one(clerk: Actor, counts: dict[str, int]) -> None:
    from accounts import ports

    for account in FundAccount.objects.filter(status="open", kind="flexible").order_by(
        "-id"
    ):
        if ports.withdrawal_live(account=account) or ports.loan_outstanding(
            depositor=account.depositor
        ):
            continue
        transfer_out(account=account, to_city="威海", actor=clerk)
        counts["transfer out"] = 1
        return


def _platform_answer(request: TransferIn, out_dir: Any) -> None:
    """What the transfer platform would send back: 6,800.00 and 18 months."""
    now = timezone.now()
    data = exchange_file_bytes(
        platform="transfer",
        file_id=f"demo-platform-{uuid.uuid4().hex[:12]}",
        created_at=now,
        key=exchange_key(),
        messages=[
            {
                "message_id": str(uuid.uuid4()),
                "kind": "transfer_in",
                "correlation_id": str(request.request_message_id),
                "created_at": now.isoformat(),
                "payload": {
                    "transfer_id": "WH-DEMO-0001",
                    "amount": "6800.00",
                    "first_month": add_months(
                        month_start(business_date()), -18
                    ).strftime("%Y-%m"),
                    "last_month": add_months(month_start(business_date()), -1).strftime(
                        "%Y-%m"
                    ),
                    "months_paid": 18,
                },
            }
        ],
    )
    # Where operations put the platforms' files before importing them.
    inbox = out_dir.parent / "in"
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / f"demo-platform-answer-{uuid.uuid4().hex[:8]}.jsonl"
    path.write_bytes(data)
    inbox_import(path=path)


def demo_transfers_seed(*, if_empty: bool = False) -> dict[str, int] | None:
    if settings.FUND_ENV == "production":
        raise DomainError(
            _("Demo data is never seeded in production."), "production_refused"
        )
    if if_empty and TransferIn.objects.exists():
        return None
    users = {u.username: u for u in get_user_model().objects.filter(is_staff=True)}
    clerk = Actor.staff(users["teller"])
    counts: dict[str, int] = {}
    bank = BankPartner.objects.order_by("id").first()
    employer = employer_create(
        name="烟台港湾物流有限公司",
        uscc=_uscc(f"91370600MA3C{uuid.uuid4().int % 10**5:05d}"),
        bank=bank,
        actor=clerk,
    )
    counts["employer"] = 1
    _convert_one(clerk, employer, counts)
    _transfer_out_one(clerk, counts)
    out_dir = Path(settings.NATIONAL_EXCHANGE_DIR)
    requests = []
    for n, (name, city) in enumerate((("转入演示甲", "威海"), ("转入演示乙", "青岛"))):
        requests.append(
            transfer_in_request(
                id_number=_fresh_id(700 + 50 * n),
                name=name,
                phone="13900000000",
                employment_form="new_forms",
                industry_code="new_courier",
                from_city=city,
                bank=bank,
                actor=clerk,
            )
        )
    # The outbox goes out as files; the platform answers the first request.
    counts["files exported"] = len(outbox_export(out_dir=out_dir, actor=clerk))
    _platform_answer(requests[0], out_dir)
    counts["transfer in arrived"] = counts["transfer in waiting"] = 1
    return counts
