from typing import Any

from celery import shared_task


@shared_task(name="loans.loans_daily", acks_late=True)
def loans_daily() -> dict[str, Any]:
    """Beat, every night: the loan job for the business date (idempotent)."""
    from loans.daily import loans_daily as run

    return run().as_dict()


@shared_task(name="loans.loans_reprice", acks_late=True)
def loans_reprice() -> int:
    """Beat, 1 January: the rest of every active loan at the new rate."""
    from loans.repayments import loans_reprice as run

    return run()
