"""Phones, names and full-ID views (issue 9: "abc" opened an account; full
ID views were not recorded; direction-changing characters in names)."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.models import Depositor, IdNumberDisclosure
from accounts.services import clean_person_name, clean_phone, depositor_update
from core.exceptions import DomainError

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "raw, stored",
    [
        ("13800000000", "13800000000"),
        ("+86 138 0000 0000", "13800000000"),
        ("１３８００００００００", "13800000000"),
        ("0535-6612345", "0535-6612345"),
        ("05356612345", "0535-6612345"),
    ],
)
def test_valid_phones_are_stored_in_one_form(raw, stored) -> None:
    assert clean_phone(raw) == stored


@pytest.mark.parametrize(
    "raw",
    ["abc", "", "12345", "1380000000", "23800000000", "١٣٨٠٠٠٠٠٠٠٠", "138 0000 000x"],
)
def test_invalid_phones_are_refused(raw) -> None:
    with pytest.raises(DomainError) as err:
        clean_phone(raw)
    assert list(err.value.fields) == ["phone"]


def test_an_account_cannot_open_with_a_bad_phone(open_account, business_day) -> None:
    business_day(dt.date(2025, 3, 1))
    with pytest.raises(DomainError) as err:
        open_account(1, phone="abc")
    assert err.value.code == "invalid_phone"
    assert not Depositor.objects.exists()


@pytest.mark.parametrize(
    "name",
    [
        "王\u202e明小",  # right-to-left override
        "王\u2066小明",  # isolate
        "王小\u200b明",  # zero width space
        "王小明\u0007",
        "   ",
        "12345",
        "王" * 51,
    ],
)
def test_names_with_hidden_or_direction_characters_are_refused(name) -> None:
    with pytest.raises(DomainError) as err:
        clean_person_name(name)
    assert list(err.value.fields) == ["name"]


def test_names_people_really_have_are_kept() -> None:
    for name in ["王小明", "阿依古丽·买买提", "Zhang San", "欧阳 娜娜"]:
        assert clean_person_name(" " + name + " ") == name


def test_the_counter_corrects_details_through_the_service(
    client, admin_user, open_account, business_day
) -> None:
    business_day(dt.date(2025, 3, 1))
    person = open_account(1).depositor
    url = reverse("admin:accounts_depositor_change", args=[person.pk])
    client.force_login(admin_user)
    data = {
        "name": "王小明",
        "phone": "abc",
        "female_original_retirement_age": "50",
        "employment_form": "new_forms",
        "industry": person.industry_id,
        "district": "芝罘区",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    person.refresh_from_db()
    assert person.phone == "13800000000"
    response = client.post(url, {**data, "phone": "0535 6612345"})
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.phone == "0535-6612345"
    with pytest.raises(DomainError):
        depositor_update(
            depositor=person,
            name="王\u202e",
            phone="13800000000",
            employment_form="new_forms",
            industry=person.industry,
            district="",
            female_original_retirement_age=50,
        )


def test_every_full_id_view_is_recorded(
    client, django_user_model, open_account, business_day
) -> None:
    business_day(dt.date(2025, 3, 1))
    person = open_account(1).depositor
    url = reverse("admin:accounts_depositor_change", args=[person.pk])
    for role, recorded in [("柜员", 0), ("复核员", 1), ("审计", 2)]:
        user = django_user_model.objects.create_user(role, is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        client.force_login(user)
        assert client.get(url).status_code == 200
        assert IdNumberDisclosure.objects.count() == recorded
    last = IdNumberDisclosure.objects.latest("viewed_at")
    assert (last.viewer.username, last.depositor, last.purpose) == (
        "审计",
        person,
        "admin:depositor",
    )
