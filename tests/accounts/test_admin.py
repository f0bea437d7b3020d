import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from accounts.models import Depositor, FundAccount
from tests.adminforms import form_token, post_form

pytestmark = pytest.mark.django_db
NUMBER = "370602199005151239"


def _staff(username: str, role: str) -> User:
    user = User.objects.create_user(username, password="pw-123456", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def test_counter_opens_an_account_in_the_admin_in_chinese(
    client, bank, business_day
) -> None:
    business_day(dt.date(2025, 3, 1))
    client.force_login(_staff("counter", "柜员"))
    url = reverse("admin:accounts_fundaccount_open")
    page = client.get(url)
    assert "开户" in page.content.decode()
    token = form_token(page)
    bad = client.post(
        url,
        {
            "form_token": token,
            "phone": "13800000000",
            "id_number": "370602199005151238",
            "name": "王小明",
            "employment_form": "new_forms",
            "industry": "new_courier",
            "bank": bank.pk,
            "female_original_retirement_age": 50,
        },
    )
    assert "身份证号码校验位错误" in bad.content.decode()
    assert not FundAccount.objects.exists()
    ok = client.post(
        url,
        {
            "form_token": token,
            "phone": "13800000000",
            "id_number": NUMBER,
            "name": "王小明",
            "employment_form": "new_forms",
            "industry": "new_courier",
            "bank": bank.pk,
            "female_original_retirement_age": 50,
        },
    )
    account = FundAccount.objects.get()
    assert (
        ok.status_code == 302
        and account.status_changes.get().actor.username == "counter"
    )


def test_full_id_number_only_for_roles_that_need_it(
    client, open_account, business_day
) -> None:
    business_day(dt.date(2025, 3, 1))
    open_account(1, id_number=NUMBER)
    person = Depositor.objects.get()
    url = reverse("admin:accounts_depositor_change", args=[person.pk])
    client.force_login(_staff("counter", "柜员"))
    body = client.get(url).content.decode()
    assert "370602********1239" in body and NUMBER not in body
    client.force_login(_staff("reviewer", "复核员"))
    body = client.get(url).content.decode()
    assert NUMBER in body
    listing = client.get(
        reverse("admin:accounts_depositor_changelist")
    ).content.decode()
    assert NUMBER not in listing and "370602********1239" in listing


def test_staff_transition_records_the_actor(client, open_account, business_day) -> None:
    business_day(dt.date(2025, 3, 1))
    account = open_account(1)
    user = _staff("reviewer", "复核员")
    client.force_login(user)
    url = reverse("admin:accounts_fundaccount_transition", args=[account.pk])
    page = client.get(url).content.decode()
    assert 'value="closed"' not in page  # closing is a payout, never a status pick
    response = post_form(client, url, {"to": "sealed", "note": "当事人申请"})
    assert response.status_code == 302
    change = account.status_changes.latest("id")
    assert (change.to_status, change.actor, change.note) == (
        "sealed",
        user,
        "当事人申请",
    )
    response = post_form(client, url, {"to": "sealed", "note": "再次"})
    assert response.status_code == 200 and "sealed" in response.content.decode()
    assert account.status_changes.count() == 2


def test_paid_through_is_shown_as_a_month(client, open_account, business_day) -> None:
    business_day(dt.date(2025, 3, 1))
    account = open_account(1)
    FundAccount.objects.filter(pk=account.pk).update(paid_through=dt.date(2025, 5, 1))
    client.force_login(_staff("counter", "柜员"))
    listing = client.get(reverse("admin:accounts_fundaccount_changelist"))
    page = client.get(reverse("admin:accounts_fundaccount_change", args=[account.pk]))
    for body in (listing.content.decode(), page.content.decode()):
        assert "2025-05" in body and "2025年5月1日" not in body
