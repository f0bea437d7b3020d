"""Counter money forms: submitted once, numbers in ASCII, texts published."""

import datetime as dt
import threading

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.urls import reverse

from core.exceptions import DomainError
from deposits.models import Deposit, DepositAgreement
from tests.adminforms import form_token, post_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk(django_user_model):
    user = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="柜员"))
    return user


def _deposit_data(first: str) -> dict[str, str]:
    return {
        "first_month": first,
        "months": "1",
        "amount": "1000.00",
        "paid_at": "2025-03-15 09:30",
    }


def test_back_and_submit_again_posts_nothing_twice(client, clerk, fe_account) -> None:
    account = fe_account(dt.date(2025, 3, 15))
    client.force_login(clerk)
    url = reverse("admin:deposits_fundaccount_deposit", args=[account.pk])
    token = form_token(client.get(url))
    data = {**_deposit_data("2025-03"), "form_token": token}
    first = client.post(url, data)
    assert first.status_code == 302 and Deposit.objects.count() == 1
    # The browser's Back button shows the filled form again; submitting it
    # sends the same token: nothing is posted, the clerk is told why.
    again = client.post(url, data, follow=True)
    assert Deposit.objects.count() == 1
    assert "已提交过" in again.content.decode()
    # The same form for the next month (a page reloaded after Back) needs an
    # explicit confirmation that it is another payment.
    reloaded = client.get(url).content.decode()
    assert "2025-04" in reloaded
    response = post_form(client, url, _deposit_data("2025-04"))
    assert response.status_code == 200 and Deposit.objects.count() == 1
    assert "2025-03" in response.content.decode()
    response = post_form(
        client, url, {**_deposit_data("2025-04"), "confirm_another": "on"}
    )
    assert response.status_code == 302 and Deposit.objects.count() == 2


def test_a_failed_submission_can_be_corrected_and_sent(
    client, clerk, fe_account
) -> None:
    account = fe_account(dt.date(2025, 3, 15))
    client.force_login(clerk)
    url = reverse("admin:deposits_fundaccount_deposit", args=[account.pk])
    token = form_token(client.get(url))
    bad = client.post(
        url, {**_deposit_data("2025-03"), "amount": "900.00", "form_token": token}
    )
    assert bad.status_code == 200 and not Deposit.objects.exists()
    good = client.post(url, {**_deposit_data("2025-03"), "form_token": token})
    assert good.status_code == 302 and Deposit.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_double_click_posts_once(clerk, fe_account) -> None:
    account = fe_account(dt.date(2025, 3, 15))
    url = reverse("admin:deposits_fundaccount_deposit", args=[account.pk])
    browser = Client()
    browser.force_login(clerk)
    data = {**_deposit_data("2025-03"), "form_token": form_token(browser.get(url))}
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def click() -> None:
        c = Client()
        c.cookies = browser.cookies
        barrier.wait()
        try:
            statuses.append(c.post(url, data).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Deposit.objects.count() == 1
    assert statuses == [302, 302]


def test_counter_numbers_in_other_scripts_are_refused(
    client, clerk, fe_account
) -> None:
    account = fe_account(dt.date(2025, 3, 15))
    client.force_login(clerk)
    url = reverse("admin:deposits_fundaccount_deposit", args=[account.pk])
    for field, value in [
        ("months", "١"),
        ("amount", "١٠٠٠.٠٠"),
        ("first_month", "٢٠٢٥-٠٣"),
    ]:
        response = post_form(client, url, {**_deposit_data("2025-03"), field: value})
        assert response.status_code == 200, field
    assert not Deposit.objects.exists()
    response = post_form(
        client, url, {**_deposit_data("2025-03"), "amount": "１０００.００"}
    )
    assert response.status_code == 302 and Deposit.objects.count() == 1


def test_agreement_text_version_must_be_published(
    bank, open_account, business_day
) -> None:
    from deposits.services import agreement_sign

    business_day(dt.date(2025, 3, 1))
    account = open_account(1)
    with pytest.raises(DomainError) as err:
        agreement_sign(
            account=account,
            monthly_amount=800,
            cadence="monthly",
            first_month=dt.date(2025, 3, 1),
            channel="counter",
            text_version="随便写",
            accepted=True,
        )
    assert err.value.code == "unknown_text_version" and "2025.1" in err.value.message
    assert not DepositAgreement.objects.exists()


def test_the_sign_form_offers_only_published_texts(
    client, clerk, open_account, business_day
) -> None:
    business_day(dt.date(2025, 3, 1))
    account = open_account(1)
    client.force_login(clerk)
    url = reverse("admin:deposits_fundaccount_agreement_sign", args=[account.pk])
    page = client.get(url).content.decode()
    assert '<option value="2025.1"' in page
    response = post_form(
        client,
        url,
        {
            "monthly_amount": "800",
            "cadence": "monthly",
            "first_month": "2025-03-01",
            "channel": "counter",
            "text_version": "随便写",
            "accepted": "on",
        },
    )
    assert response.status_code == 200 and not DepositAgreement.objects.exists()
