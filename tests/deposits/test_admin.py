import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from deposits.models import Deposit, DepositAgreement
from tests.adminforms import form_token, post_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk(django_user_model):
    """A counter clerk (柜员) with the role's permissions only."""
    user = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="柜员"))
    return user


def test_clerk_signs_changes_and_records_a_deposit(
    client, clerk, business_day, open_account
):
    business_day(dt.date(2025, 3, 15))
    account = open_account(1)
    client.force_login(clerk)
    page = reverse("admin:accounts_fundaccount_change", args=[account.pk])
    html = client.get(page).content.decode()
    assert "尚未签订缴存协议" in html
    sign_url = reverse("admin:deposits_fundaccount_agreement_sign", args=[account.pk])
    assert sign_url in html

    form = {
        "monthly_amount": "800",
        "cadence": "monthly",
        "first_month": "2025-03-01",
        "channel": "counter",
        "text_version": "2025.1",
        "form_token": form_token(client.get(sign_url)),
    }
    # Without acceptance the service refuses, and says so on the form.
    response = client.post(sign_url, form)
    assert response.status_code == 200
    assert "缴存人须确认接受协议文本" in response.content.decode()
    response = client.post(sign_url, {**form, "accepted": "on"})
    assert response.status_code == 302
    agreement = DepositAgreement.objects.get(fund_account=account)
    assert agreement.actor == clerk and agreement.monthly_amount == Decimal("800")

    deposit_url = reverse("admin:deposits_fundaccount_deposit", args=[account.pk])
    page_html = client.get(deposit_url)
    assert "2025-03" in page_html.content.decode()
    token = form_token(page_html)
    response = client.post(
        deposit_url,
        {
            "first_month": "2025-03",
            "months": "2",
            "amount": "1500.00",
            "paid_at": "2025-03-15 09:30",
            "form_token": token,
        },
    )
    assert "1600.00" in response.content.decode()  # the expected amount is shown
    assert not Deposit.objects.exists()
    response = client.post(
        deposit_url,
        {
            "first_month": "2025-03",
            "months": "2",
            "amount": "1600.00",
            "paid_at": "2025-03-15 09:30",
            "form_token": token,
        },
    )
    assert response.status_code == 302
    deposit = Deposit.objects.get()
    assert (deposit.channel, deposit.bank, deposit.actor) == ("counter", None, clerk)

    change_url = reverse(
        "admin:deposits_fundaccount_agreement_change", args=[account.pk]
    )
    response = post_form(
        client,
        change_url,
        {
            "monthly_amount": "1000",
            "cadence": "quarterly",
            "channel": "counter",
            "text_version": "2025.1",
            "accepted": "on",
        },
    )
    assert response.status_code == 302
    v2 = DepositAgreement.objects.get(fund_account=account, version=2)
    assert (v2.effective_month, v2.cadence) == (dt.date(2025, 5, 1), "quarterly")

    html = client.get(page).content.decode()
    assert 'id="month-grid"' in html
    assert html.count('class="grid-paid"') == 2
    assert "已缴" in html and "2025-05" in html


def test_clerk_without_permission_cannot_record(
    client, django_user_model, business_day, fe_account
):
    account = fe_account(dt.date(2025, 3, 1))
    user = django_user_model.objects.create_user("aud", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="审计"))
    client.force_login(user)
    url = reverse("admin:deposits_fundaccount_deposit", args=[account.pk])
    response = client.post(
        url,
        {"first_month": "2025-03", "months": "1", "amount": "1000", "paid_at": "x"},
    )
    assert response.status_code == 302 and response.url == reverse("admin:index")
    assert not Deposit.objects.exists()


def test_deposit_lists_render(client, admin_user, fe_account, pay):
    account = fe_account(dt.date(2025, 3, 1))
    pay(account, dt.date(2025, 3, 10), txn="BX-77")
    client.force_login(admin_user)
    html = client.get(reverse("admin:deposits_deposit_changelist")).content.decode()
    assert "BX-77" in html
    assert (
        client.get(reverse("admin:deposits_depositagreement_changelist")).status_code
        == 200
    )
    assert (
        client.get(reverse("admin:deposits_arrearscheckrun_changelist")).status_code
        == 200
    )


def _form_fields(html: str) -> dict[str, str]:
    """Inputs and selected options of the admin change form."""
    from html.parser import HTMLParser

    fields: dict[str, str] = {}

    class Parser(HTMLParser):
        select: str | None = None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "input" and a.get("name") and a.get("type") != "submit":
                if a.get("type") != "checkbox" or "checked" in a:
                    fields[a["name"]] = a.get("value") or ""
            elif tag == "select":
                self.select = a.get("name")
            elif tag == "option" and self.select and "selected" in a:
                fields[self.select] = a.get("value") or ""

        def handle_endtag(self, tag):
            if tag == "select":
                self.select = None

    Parser().feed(html)
    return fields


def test_account_page_still_saves_with_the_agreement_inline(
    client, admin_user, fe_account, pay
):
    from accounts.services import bank_partner_create

    account = fe_account(dt.date(2025, 3, 1))
    pay(account, dt.date(2025, 3, 10))
    other, _secret = bank_partner_create(code="OTH", name="别的银行")
    client.force_login(admin_user)
    url = reverse("admin:accounts_fundaccount_change", args=[account.pk])
    data = _form_fields(client.get(url).content.decode())
    assert data["agreements-TOTAL_FORMS"] == "1"
    data["bank"] = str(other.pk)
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    account.refresh_from_db()
    assert account.bank == other
    assert DepositAgreement.objects.filter(fund_account=account).count() == 1
