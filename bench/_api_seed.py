"""Seed the API load bench: one bank, N accounts with agreements (run by
bench/api_load.py inside Django), through the real services, stamped with
this script as their actor. Writes the credentials to a file, never to
stdout."""

import datetime as dt
import json
import sys
import time
from decimal import Decimal

import django

django.setup()

from accounts.services import bank_partner_create  # noqa: E402
from banks.services import bank_partner_update  # noqa: E402
from core.actors import Actor  # noqa: E402
from core.clock import business_date, month_start  # noqa: E402
from deposits.services import account_open_with_agreement  # noqa: E402
from tests.idgen import make_id  # noqa: E402

ACTOR = Actor.system("api_bench_seed")


def main(count: int, out_path: str) -> None:
    started = time.perf_counter()
    from accounts.models import BankPartner
    from accounts.services import bank_partner_rotate_secret
    from core.exceptions import ConflictError

    existing = BankPartner.objects.filter(code="BENCH").first()
    if existing is None:
        partner, secret = bank_partner_create(
            code="BENCH", name="压测银行", actor=ACTOR
        )
    else:  # a seed that stopped half-way: take the bank over with a new secret
        partner = existing
        secret = bank_partner_rotate_secret(partner=existing, actor=ACTOR)
    bank_partner_update(
        partner=partner,
        name=partner.name,
        webhook_url="",
        throttle_per_minute=10**9,
        actor=ACTOR,
    )
    start_month = month_start(business_date())
    numbers = list(partner.accounts.order_by("id").values_list("account_no", flat=True))
    candidates = iter(range(10**7))
    while len(numbers) < count:
        n = next(candidates)
        birth = dt.date(1970, 1, 1) + dt.timedelta(days=n // 400)
        try:
            account, _agreement = account_open_with_agreement(
                id_number=make_id(birth, seq=(n % 400) * 2 + 1, male=True),
                name=f"压测{n}",
                phone="13800000000",
                employment_form="new_forms",
                industry_code="new_courier",
                bank=partner,
                channel="bank_app",
                monthly_amount=Decimal("800.00"),
                cadence="monthly",
                start_month=start_month,
                actor=ACTOR,
            )
        except ConflictError:
            continue  # that person already has an account (--background)
        numbers.append(account.account_no)
    with open(out_path, "w") as fh:
        json.dump(
            {
                "key_id": partner.key_id,
                "secret": secret,
                "accounts": numbers,
                "start_month": start_month.isoformat(),
            },
            fh,
        )
    print(f"seeded {count} accounts in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
