"""Plans of synthetic depositors: who they are and what happened to their
accounts, month by month, up to the business date.

One generator, two writers (``ops.seed.writers``): the plans carry final
state as well as history, so both writers produce the same rows.

The history is *simulated*, not drawn: each account walks its calendar months
from opening to the business date's month. In a month the depositor may pay
(as its behaviour decides); at the end of every month before the business
date's month the arrears check of docs/semantics runs (arrears, sealing,
idle cancellation, subsidy termination). Stored fields are therefore what the
real services and check_arrears would have left behind, and every event that
ended a subsidy is kept, as ``accounts.subsidy_state`` records it.

Months are integer indices (``core.clock.month_index``) for speed; a
million accounts walk about twelve million account-months. The month
arithmetic is ``deposits.rules``', looked up in tables ``SeedContext``
computes once per run, so the plans cannot drift from the services and the
walk stays a few list lookups per account-month.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
from dataclasses import dataclass

from accounts.idcard import mask_id_number, retirement_date
from core.clock import month_from_index, month_index
from core.crypto import keyed_hash
from core.policy import PILOT_START, policy_value
from deposits.rules import (
    MONTHLY,
    QUARTERLY,
    arrears_start,
    due_month_index,
    last_overdue_month_index,
)
from ops.seed import pools

OPEN, SEALED, CLOSED = "open", "sealed", "closed"
REGULAR, BACK_PAYMENT, RESUME = "regular", "back_payment", "resume"
COUNTER, PORTAL, BANK_APP = "counter", "portal", "bank_app"
OPENED, ARREARS, RESUMED, IDLE_CANCEL = "opened", "arrears", "resumed", "idle_cancel"
# Why a subsidy ended (accounts.models.SubsidyEvent.Reason): ARREARS above,
# or the account's cancellation.
CANCELLATION = "cancellation"

# Behaviours, with their share of accounts that have enough history for them.
NEVER, DROPOUT, RESUMER, LATE, ONTIME = "never", "dropout", "resumer", "late", "ontime"
BEHAVIOURS = [(NEVER, 3), (DROPOUT, 9), (RESUMER, 4), (LATE, 13), (ONTIME, 71)]
RETURNING_SHARE = 0.05  # of accounts with room for an earlier, closed account
QUARTERLY_SHARE = 0.15
JOB_SECONDS = 1 * 3600 + 30 * 60  # check_arrears runs at 01:30 on the 1st
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def id_check_digit(body17: str) -> str:
    """ISO 7064 MOD 11-2, inlined: a million calls through stdnum cost seconds."""
    return ID_CHECK[
        sum(int(c) * w for c, w in zip(body17, ID_WEIGHTS, strict=True)) % 11
    ]


class _Weighted:
    """random.choices with the cumulative weights computed once."""

    __slots__ = ("items", "cum", "total")

    def __init__(self, pairs: list[tuple[object, float]]) -> None:
        self.items = [item for item, _w in pairs]
        self.cum = list(itertools.accumulate(w for _i, w in pairs))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> object:
        return self.items[bisect.bisect(self.cum, rng.random() * self.total)]


# Deposits: (first_month_idx, months, amount_yuan, value_date, seconds_of_day,
#            kind, channel, bank_code or None)
DepositPlan = tuple[int, int, int, dt.date, int, str, str, str | None]
# Status changes: (from, to, reason, effective_on, created_date, seconds)
ChangePlan = tuple[str, str, str, dt.date, dt.date, int]
# Subsidy terminations, each moving subsidy_terminated_on earlier:
# (reason, occurred_on, created_date, seconds)
EventPlan = tuple[str, dt.date, dt.date, int]


class AccountPlan:
    __slots__ = (
        "opened_on",
        "opened_secs",
        "bank_code",
        "channel",
        "first_time",
        "monthly_amount",
        "cadence",
        "first_month",
        "deposits",
        "changes",
        "events",
        "status",
        "closed_on",
        "balance",
        "paid_through",
        "arrears_months",
        "last_deposit_on",
        "subsidy_terminated_on",
        "behaviour",
    )

    def __init__(self) -> None:
        self.deposits: list[DepositPlan] = []
        self.changes: list[ChangePlan] = []
        self.events: list[EventPlan] = []
        self.closed_on: dt.date | None = None
        self.paid_through: int | None = None
        self.last_deposit_on: dt.date | None = None
        self.subsidy_terminated_on: dt.date | None = None
        self.balance = 0
        self.arrears_months = 0


class PersonPlan:
    __slots__ = (
        "id_number",
        "name",
        "sex",
        "birth_date",
        "female_age",
        "phone",
        "employment_form",
        "industry_code",
        "district",
        "accounts",
    )

    @property
    def masked_id(self) -> str:
        return mask_id_number(self.id_number)


@dataclass(frozen=True)
class _Behaviour:
    kind: str
    pay_day: int
    quarter_first: bool  # quarterly payers who pay at the start of the quarter
    prepay: int  # months a monthly payer covers at once (1 = just the month)
    late: float  # chance of letting a payment slip to a later month
    stop: int | None  # month index from which nothing is paid
    resume: int | None  # month index of the payment that ends the stop
    resume_current: bool  # resume at the current month, skipping the gap
    deposit_channel: str


class SeedContext:
    """Everything fixed for one run: dates, month tables, policy numbers."""

    def __init__(self, *, today: dt.date, months: int, bank_codes: list[str]) -> None:
        self.today = today
        self.tm = month_index(today)  # business date's month
        self.lm = self.tm - 1  # last month the arrears check has run for
        self.wm = max(self.tm - months + 1, month_index(PILOT_START))
        self.clamped = self.tm - months + 1 < self.wm
        lo, hi = self.wm - 12, self.tm + 24
        self.base = lo
        # first and last days of months lo..hi, indexed by (idx - base)
        self.first_day = [month_from_index(i) for i in range(lo, hi + 1)]
        self.last_day = [
            month_from_index(i + 1) - dt.timedelta(days=1) for i in range(lo, hi + 1)
        ]
        self.amount_min = int(policy_value("monthly_amount_min", on=today))
        self.amount_max = int(policy_value("monthly_amount_max", on=today))
        self.seal_months = int(policy_value("arrears_seal_months", on=today))
        self.idle_months = int(policy_value("idle_cancel_months", on=today))
        self.max_ahead = int(policy_value("first_month_max_ahead", on=today))
        self.max_months = int(policy_value("deposit_max_months", on=today))
        self.min_age = int(policy_value("min_opening_age", on=today))
        self.subsidy_wait = int(policy_value("subsidy_wait_months", on=today))
        self.subsidy_years = int(policy_value("subsidy_years", on=today))
        self.bank_codes = bank_codes
        # deposits.rules per cadence and month index (idx - base):
        # ``due_month``: the month whose last day is idx's due date;
        # ``overdue``: the last month whose due date has passed by the end of
        # month idx (the check for idx decides on it);
        # ``arrears_from``: the day arrears begin when month idx is unpaid.
        months_range = range(lo, hi + 1)
        self.due_month = {
            cadence: [due_month_index(i, cadence) for i in months_range]
            for cadence in (MONTHLY, QUARTERLY)
        }
        self.overdue = {
            cadence: [
                last_overdue_month_index(cadence, month_from_index(i + 1))
                for i in months_range
            ]
            for cadence in (MONTHLY, QUARTERLY)
        }
        self.arrears_from = {
            cadence: [arrears_start(month_from_index(i), cadence) for i in months_range]
            for cadence in (MONTHLY, QUARTERLY)
        }

    def day(self, idx: int, day: int) -> dt.date:
        first = self.first_day[idx - self.base]
        return first.replace(day=min(day, self.last_day[idx - self.base].day))


class Planner:
    """Draws people and simulates their accounts; one instance per run."""

    def __init__(self, ctx: SeedContext, rng: random.Random) -> None:
        self.ctx = ctx
        self.rng = rng
        self.surnames = _Weighted(pools.SURNAMES)
        self.regions = [code for code, _n, _w in pools.REGIONS]
        self.region_name = {code: name for code, name, _w in pools.REGIONS}
        region_w = {code: w for code, _n, w in pools.REGIONS}
        self.industries = _Weighted([(c, v[0]) for c, v in pools.INDUSTRIES.items()])
        self.industry_regions = {
            code: _Weighted([(r, region_w[r] * tilt.get(r, 1.0)) for r in self.regions])
            for code, (_s, _m, _f, _p, tilt) in pools.INDUSTRIES.items()
        }
        forms = ("part_time", "self_employed", "new_forms")
        self.industry_forms = {
            code: _Weighted([(f, w) for f, w in zip(forms, fw, strict=True) if w])
            for code, (_s, _m, fw, _p, _t) in pools.INDUSTRIES.items()
        }
        self.amounts = {
            profile: _Weighted(
                [(a, w) for a, w in pairs if ctx.amount_min <= a <= ctx.amount_max]
            )
            for profile, pairs in pools.AMOUNTS.items()
        }
        self.banks = _Weighted(
            [(code, w) for code, _n, w in pools.BANKS if code in ctx.bank_codes]
        )
        self.behaviours = _Weighted(BEHAVIOURS)
        self.channels = _Weighted([(BANK_APP, 55), (COUNTER, 25), (PORTAL, 20)])
        self.deposit_channels = _Weighted([(BANK_APP, 70), (PORTAL, 17), (COUNTER, 13)])
        # Resident IDs handed out in this run, as a bitmap over
        # (region, birth day, 3-digit sequence): 35 MB whatever N is.
        self.birth_base = dt.date(ctx.today.year - 75, 1, 1).toordinal()
        self.birth_span = 80 * 366
        self.issued = bytearray(len(self.regions) * self.birth_span * 1000 // 8 + 1)
        self.taken_hashes: set[str] = set()
        # month index -> what that month's arrears check did: checked, newly in
        # arrears, arrears updated, subsidies terminated, sealed, cancelled
        self.check_stats: dict[int, list[int]] = {}

    # --- people -------------------------------------------------------------

    def person(self, *, earliest_open: dt.date) -> PersonPlan:
        rng = self.rng
        p = PersonPlan()
        industry = self.industries.pick(rng)
        _share, male_share, _f, profile, _t = pools.INDUSTRIES[industry]
        p.industry_code = industry
        p.employment_form = self.industry_forms[industry].pick(rng)
        p.sex = "M" if rng.random() < male_share else "F"
        p.female_age = 55 if p.sex == "F" and rng.random() < 0.2 else 50
        region = self.industry_regions[industry].pick(rng)
        p.district = self.region_name[region]
        p.birth_date, p.id_number = self._birth_and_id(region, p, earliest_open)
        p.name = self._name(p.sex, p.birth_date.year)
        p.phone = rng.choice(pools.PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        p.accounts = []
        return p

    def _birth_and_id(
        self, region: str, p: PersonPlan, earliest_open: dt.date
    ) -> tuple[dt.date, str]:
        rng, ctx = self.rng, self.ctx
        today = ctx.today
        region_no = self.regions.index(region)
        top = 58.99 if p.sex == "M" or p.female_age == 55 else 52.0
        while True:
            age = rng.triangular(18.0, top, 34.0)
            birth = dt.date.fromordinal(today.toordinal() - int(age * 365.2425))
            if not 18 <= _age_on(birth, today) <= 58:
                continue
            if _age_on(birth, earliest_open) < ctx.min_age:
                continue
            if retirement_date(p.sex, birth, p.female_age) <= today:
                continue
            for _try in range(8):
                seq = rng.randrange(500) * 2 + (1 if p.sex == "M" else 0)
                key = (
                    region_no * self.birth_span + birth.toordinal() - self.birth_base
                ) * 1000 + seq
                byte, bit = divmod(key, 8)
                if not self.issued[byte] >> bit & 1:
                    body = f"{region}{birth:%Y%m%d}{seq:03d}"
                    number = body + id_check_digit(body)
                    if self.taken_hashes and keyed_hash(number) in self.taken_hashes:
                        continue  # only when seeding on top of existing people
                    self.issued[byte] |= 1 << bit
                    return birth, number

    def _name(self, sex: str, birth_year: int) -> str:
        rng = self.rng
        era = "new" if birth_year >= 1988 + rng.randrange(-4, 5) else "old"
        first_chars, second_chars = pools.GIVEN[(sex, era)]
        surname = self.surnames.pick(rng)
        if rng.random() < 0.22:
            return surname + rng.choice(second_chars)
        return surname + rng.choice(first_chars) + rng.choice(second_chars)

    # --- accounts -----------------------------------------------------------

    def plan_person(self) -> PersonPlan:
        """One person with their live account (and for some an earlier one)."""
        rng, ctx = self.rng, self.ctx
        open_idx = rng.randint(ctx.wm, ctx.tm)
        open_day = self._open_day(open_idx)
        earlier_idx = None
        # An earlier, cancelled account needs 7 months before this opening.
        if open_idx - 7 >= ctx.wm and rng.random() < RETURNING_SHARE:
            earlier_idx = rng.randint(ctx.wm, open_idx - 7)
        first_open = ctx.day(earlier_idx if earlier_idx is not None else open_idx, 1)
        person = self.person(earliest_open=first_open)
        if earlier_idx is not None:
            earlier = self._account(
                person,
                earlier_idx,
                self._open_day(earlier_idx),
                first_time=True,
                kind=NEVER,
            )
            if earlier.status == CLOSED:
                person.accounts.append(earlier)
            else:  # cannot happen with 7 months of room; keep one account then
                earlier_idx = None
        person.accounts.append(
            self._account(
                person, open_idx, open_day, first_time=earlier_idx is None, kind=None
            )
        )
        return person

    def _open_day(self, idx: int) -> int:
        last = self.ctx.last_day[idx - self.ctx.base].day
        if idx == self.ctx.tm:
            last = self.ctx.today.day
        return self.rng.randint(1, last)

    def _behaviour(self, kind: str | None, open_idx: int, cadence: str) -> _Behaviour:
        rng, ctx = self.rng, self.ctx
        kind = kind or self.behaviours.pick(rng)
        stop = resume = None
        if kind == RESUMER and ctx.tm - open_idx < 9:
            kind = DROPOUT
        if kind == DROPOUT:
            if ctx.tm - open_idx < 2:
                kind = ONTIME
            else:
                stop = rng.randint(open_idx + 1, ctx.tm)
        elif kind == RESUMER:
            stop = rng.randint(open_idx + 1, ctx.tm - 8)
            resume = rng.randint(stop + 8, ctx.tm)
        pay_day = min(28, 1 + int(rng.expovariate(1 / 6)))
        if cadence == QUARTERLY:
            pay_day = rng.randint(5, 25)
        return _Behaviour(
            kind=kind,
            pay_day=pay_day,
            quarter_first=rng.random() < 0.3,
            prepay=rng.choice((3, 6, 12)) if rng.random() < 0.05 else 1,
            late=rng.uniform(0.15, 0.35) if kind == LATE else 0.02,
            stop=stop,
            resume=resume,
            resume_current=rng.random() < 0.5,
            deposit_channel=self.deposit_channels.pick(rng),
        )

    def _account(
        self,
        person: PersonPlan,
        open_idx: int,
        open_day: int,
        *,
        first_time: bool,
        kind: str | None,
    ) -> AccountPlan:
        rng, ctx = self.rng, self.ctx
        a = AccountPlan()
        a.opened_on = ctx.day(open_idx, open_day)
        a.opened_secs = rng.randint(8 * 3600, 18 * 3600)
        a.bank_code = self.banks.pick(rng)
        a.channel = self.channels.pick(rng)
        a.first_time = first_time
        profile = pools.INDUSTRIES[person.industry_code][3]
        if rng.random() < 0.08:
            amount = rng.randint(ctx.amount_min, min(ctx.amount_max, 3000))
            amount = max(ctx.amount_min, amount - amount % 10)
        else:
            amount = self.amounts[profile].pick(rng)
        a.monthly_amount = amount
        a.cadence = QUARTERLY if rng.random() < QUARTERLY_SHARE else MONTHLY
        ahead = rng.random()
        ahead = 0 if ahead < 0.8 else (1 if ahead < 0.95 else 2)
        a.first_month = open_idx + min(ahead, ctx.max_ahead)
        beh = self._behaviour(kind, open_idx, a.cadence)
        a.behaviour = beh.kind
        a.changes.append(("", OPEN, OPENED, a.opened_on, a.opened_on, a.opened_secs))
        self._simulate(a, beh, open_idx, open_day)
        return a

    def _simulate(
        self, a: AccountPlan, beh: _Behaviour, open_idx: int, open_day: int
    ) -> None:
        rng, ctx = self.rng, self.ctx
        base = ctx.base
        cadence = a.cadence
        due_month = ctx.due_month[cadence]
        overdue_by = ctx.overdue[cadence]
        arrears_from = ctx.arrears_from[cadence]
        status = OPEN
        nxt = a.first_month  # next unpaid month
        anchor = open_idx  # month of last_deposit_on or opened_on
        term: dt.date | None = None
        events = a.events
        bank = None if beh.deposit_channel == COUNTER else a.bank_code
        for c in range(open_idx, ctx.tm + 1):
            # -- payments in month c
            pay_to = None  # last month this month's payment covers
            resume_now = False
            stopped = beh.stop is not None and c >= beh.stop
            if beh.resume is not None and c >= beh.resume:
                stopped = False
                resume_now = c == beh.resume and status == SEALED and beh.resume_current
            overdue_before = overdue_by[c - 1 - base]  # due before any day of c
            due_now = due_month[c - base]
            expected = nxt  # the first unpaid month, as deposit_post sees it
            if beh.kind != NEVER and not stopped:
                if resume_now:
                    nxt = c
                    pay_to = due_now
                elif nxt <= overdue_before:  # behind: catch up now, mostly
                    if rng.random() >= beh.late:
                        pay_to = due_now
                elif cadence == MONTHLY:
                    if nxt <= c and rng.random() >= beh.late:
                        pay_to = max(c, nxt + beh.prepay - 1)
                elif beh.quarter_first:
                    if nxt <= due_now and rng.random() >= beh.late:
                        pay_to = due_now
                elif c == due_now and nxt <= c and rng.random() >= beh.late:
                    pay_to = c
            if pay_to is not None:
                day = beh.pay_day + rng.randint(-2, 2)
                day = max(1, min(28, day))
                if c == open_idx:
                    day = max(day, open_day)
                if c == ctx.tm and day > ctx.today.day:
                    pay_to = None
            if pay_to is not None:
                value_date = ctx.day(c, day)
                secs = rng.randint(7 * 3600, 22 * 3600)
                if value_date == a.opened_on:  # paid after opening, that day
                    secs = max(secs, a.opened_secs + 120)
                if expected <= overdue_before:
                    # Paying for months already overdue: arrears began the
                    # day after the first one's due date (deposit_post ends
                    # the subsidy then, when that is earlier than recorded).
                    began = arrears_from[expected - base]
                    if term is None or began < term:
                        term = began
                        events.append((ARREARS, began, value_date, secs))
                first = True
                while nxt <= pay_to:
                    months = min(ctx.max_months, pay_to - nxt + 1)
                    if first and resume_now:
                        kind = RESUME
                    elif nxt <= overdue_before:
                        kind = BACK_PAYMENT
                    else:
                        kind = REGULAR
                    a.deposits.append(
                        (
                            nxt,
                            months,
                            a.monthly_amount * months,
                            value_date,
                            secs,
                            kind,
                            beh.deposit_channel,
                            bank,
                        )
                    )
                    a.balance += a.monthly_amount * months
                    nxt += months
                    secs += 7
                    first = False
                a.paid_through = nxt - 1
                a.last_deposit_on = value_date
                anchor = c
                a.arrears_months = max(0, overdue_before - nxt + 1)
                if status == SEALED:
                    status = OPEN
                    a.changes.append(
                        (SEALED, OPEN, RESUMED, value_date, value_date, secs)
                    )
            # -- the arrears check for month c, run on the 1st of c + 1
            if c > ctx.lm:
                break
            arrears = max(0, overdue_by[c - base] - nxt + 1)
            stats = self.check_stats.setdefault(c, [0, 0, 0, 0, 0, 0])
            stats[0] += 1
            if arrears != a.arrears_months:
                stats[2] += 1
                stats[1] += a.arrears_months == 0
            a.arrears_months = arrears
            run_day = ctx.first_day[c + 1 - base]
            if arrears:
                began = arrears_from[nxt - base]
                if term is None or began < term:
                    term = began
                    events.append((ARREARS, began, run_day, JOB_SECONDS))
                    stats[3] += 1
            effective = ctx.last_day[c - base]
            if a.balance == 0 and c - anchor >= ctx.idle_months:
                a.changes.append(
                    (status, CLOSED, IDLE_CANCEL, effective, run_day, JOB_SECONDS)
                )
                # Cancelling ends the subsidy that day, unless it ended earlier.
                if term is None or effective < term:
                    term = effective
                    events.append((CANCELLATION, effective, run_day, JOB_SECONDS))
                status = CLOSED
                a.closed_on = effective
                stats[5] += 1
                break
            if status == OPEN and arrears >= ctx.seal_months:
                a.changes.append(
                    (OPEN, SEALED, ARREARS, effective, run_day, JOB_SECONDS)
                )
                status = SEALED
                stats[4] += 1
        a.status = status
        a.subsidy_terminated_on = term


def _age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
