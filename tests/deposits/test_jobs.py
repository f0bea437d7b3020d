import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from core.clock import set_business_date
from deposits.models import ArrearsCheckRun
from deposits.tasks import check_arrears_last_month

pytestmark = pytest.mark.django_db


def test_command_refuses_a_month_not_ended_with_exit_2(business_day):
    business_day(dt.date(2025, 6, 30))
    err = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("check_arrears", month="2025-06", stdout=StringIO(), stderr=err)
    assert exit_.value.code == 2
    assert "2025-06" in err.getvalue() and "尚未结束" in err.getvalue()
    with pytest.raises(SystemExit) as exit_:
        call_command("check_arrears", month="2025-6x", stdout=StringIO(), stderr=err)
    assert exit_.value.code == 2


def test_command_prints_progress_and_summary(fe_account):
    fe_account(dt.date(2025, 1, 15))
    fe_account(dt.date(2025, 1, 15), amount="500")
    set_business_date(dt.date(2025, 8, 1))
    out = StringIO()
    call_command("check_arrears", month="2025-07", chunk_size=1, stdout=out)
    text = out.getvalue()
    assert "2 / 2" in text  # progress after the last chunk
    assert "2025-07" in text and "检查 2 个账户" in text and "注销 2 个" in text


def test_beat_task_checks_the_month_just_ended(fe_account):
    fe_account(dt.date(2025, 1, 15), amount="500")
    set_business_date(dt.date(2025, 7, 1))
    result = check_arrears_last_month.delay().get()
    assert result["month"] == "2025-06"
    assert (result["checked"], result["sealed"]) == (1, 1)
    run = ArrearsCheckRun.objects.get()
    assert (run.month, run.actor_label) == (dt.date(2025, 6, 1), "beat")
