from typing import Any

from celery import shared_task


@shared_task(name="deposits.check_arrears_last_month", acks_late=True)
def check_arrears_last_month() -> dict[str, Any]:
    """Beat, 1st of each month: the arrears check for the month just ended."""
    from core.clock import add_months, business_date, month_start
    from deposits.services import check_arrears

    month = add_months(month_start(business_date()), -1)
    return check_arrears(month=month, actor_label="beat").as_dict()
