"""Thin Celery tasks of the annual settlement."""

from typing import Any

from celery import shared_task


@shared_task(name="subsidies.settlement_work", acks_late=True)
def settlement_work(run_id: int) -> int:
    """Settle chunks of the run until none is left (idempotent: chunks are
    claimed under SKIP LOCKED and postings are unique per account and date)."""
    from subsidies.services import settlement_work as settlement_work_service

    return settlement_work_service(run_id=run_id)


@shared_task(name="subsidies.settle_year_due")
def settle_year_due() -> Any:
    """Beat, 30 June after the day's postings: settle the year whose 30 June is
    the business date; a no-op on any other day."""
    from core.clock import business_date
    from subsidies.selectors import settlement_date_of
    from subsidies.services import settle_year

    today = business_date()
    if today != settlement_date_of(today.year):
        return None
    run = settle_year(year=today.year)
    return run.pk
