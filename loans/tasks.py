from typing import Any

from celery import shared_task


@shared_task(name="loans.loans_daily", acks_late=True)
def loans_daily() -> dict[str, Any]:
    """Beat, every night: the loan job for the business date (idempotent)."""
    from loans.daily import loans_daily as run

    return run().as_dict()
