"""The slow, faithful path: replay plans through the real services.

Every opening, deposit and month-end arrears check of the plans is performed
in time order by ``deposits.services`` (``account_open_with_agreement``,
``deposit_post``, ``check_arrears``), with the business date moved to each
event's day and restored afterwards, all as the seeder's actor (the bulk
writers stamp the same). It exists to prove that the bulk writers leave the
same state the services would; it is for small runs (every event is its own
transaction and every check scans all accounts).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from accounts.models import BankPartner, FundAccount
from core.clock import set_business_date
from core.models import BusinessDateSetting
from deposits.services import (
    account_open_with_agreement,
    check_arrears,
    deposit_post,
)
from ops.seed.plan import JOB_SECONDS, AccountPlan, PersonPlan, SeedContext
from ops.seed.rows import SEED_ACTOR, SHANGHAI, ChunkCounts, count_plans

MAX_REPLAY_PEOPLE = 5_000


class ServiceWriter:
    def __init__(self, ctx: SeedContext, bank_codes: Sequence[str]) -> None:
        self.ctx = ctx
        self.banks = {
            b.code: b for b in BankPartner.objects.filter(code__in=bank_codes)
        }

    def write(self, people: Sequence[PersonPlan]) -> ChunkCounts:
        """All people at once: arrears checks run over everyone, in time order."""
        ctx = self.ctx
        events: list[tuple[Any, ...]] = []
        for person in people:
            for plan in person.accounts:
                events.append((plan.opened_on, plan.opened_secs, 1, person, plan))
                for deposit in plan.deposits:
                    events.append((deposit[3], deposit[4], 2, person, plan, deposit))
        for idx in range(ctx.wm, ctx.lm + 1):
            events.append((ctx.first_day[idx + 1 - ctx.base], JOB_SECONDS, 0, idx))
        events.sort(key=lambda e: (e[0], e[1], e[2]))
        pinned = (
            BusinessDateSetting.objects.filter(pk=1)
            .values_list("pinned_date", flat=True)
            .first()
        )
        opened: dict[int, FundAccount] = {}
        try:
            for day, secs, what, *rest in events:
                set_business_date(day)
                if what == 0:
                    check_arrears(
                        month=ctx.first_day[rest[0] - ctx.base],
                        actor_label=SEED_ACTOR.ref,
                    )
                elif what == 1:
                    person, plan = rest
                    opened[id(plan)] = self._open(person, plan)
                else:
                    _person, plan, deposit = rest
                    self._deposit(opened[id(plan)], deposit, secs)
        finally:
            set_business_date(pinned)
        return count_plans(people)

    def _open(self, person: PersonPlan, plan: AccountPlan) -> FundAccount:
        account, _agreement = account_open_with_agreement(
            id_number=person.id_number,
            name=person.name,
            phone=person.phone,
            employment_form=person.employment_form,
            industry_code=person.industry_code,
            district=person.district,
            bank=self.banks[plan.bank_code],
            channel=plan.channel,
            monthly_amount=Decimal(plan.monthly_amount),
            cadence=plan.cadence,
            start_month=self.ctx.first_day[plan.first_month - self.ctx.base],
            female_original_retirement_age=(
                person.female_age if person.sex == "F" else None
            ),
            actor=SEED_ACTOR,
        )
        return account

    def _deposit(
        self, account: FundAccount, deposit: tuple[Any, ...], secs: int
    ) -> None:
        first, months, amount, value_date, _secs, _kind, channel, bank = deposit
        h, rest = divmod(secs, 3600)
        paid_at = dt.datetime.combine(
            value_date, dt.time(h, rest // 60, rest % 60), SHANGHAI
        )
        deposit_post(
            account=account,
            amount=Decimal(amount),
            first_month=self.ctx.first_day[first - self.ctx.base],
            months=months,
            paid_at=paid_at,
            bank=self.banks[bank] if bank else None,
            bank_txn_id=f"{bank}{value_date:%Y%m%d}{account.pk:08d}{first}"
            if bank
            else "",
            channel=channel,
            actor=SEED_ACTOR,
        )
