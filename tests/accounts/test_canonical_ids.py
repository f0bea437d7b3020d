"""One person, one account: an ID in any script's digits is the same person,
or no ID at all (issue: four accounts from four spellings of one ID)."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from accounts.idcard import canonical_id_number, parse_resident_id
from accounts.models import Depositor, FundAccount
from accounts.services import account_open
from core.crypto import encrypt_text, keyed_hash
from core.exceptions import ConflictError, DomainError

pytestmark = pytest.mark.django_db
ASCII = "370602199005151239"
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")
KANNADA = str.maketrans("0123456789", "೦೧೨೩೪೫೬೭೮೯")
FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
OTHER_SCRIPTS = [ARABIC_INDIC, DEVANAGARI, KANNADA, SUPERSCRIPT]


def _open(bank, number: str):
    return account_open(
        id_number=number,
        name="王小明",
        phone="13800000001",
        employment_form="new_forms",
        industry_code="new_courier",
        bank=bank,
    )


@pytest.mark.parametrize("table", OTHER_SCRIPTS)
def test_other_scripts_digits_are_no_id(table) -> None:
    typed = ASCII.translate(table)
    assert typed.isdigit() or table is SUPERSCRIPT
    with pytest.raises(DomainError) as err:
        parse_resident_id(typed)
    assert err.value.code == "invalid_id_number"
    assert "17" in err.value.message or "18" in err.value.message
    # One digit of another script in an otherwise ASCII number is enough.
    with pytest.raises(DomainError):
        parse_resident_id(ASCII[:-2] + ASCII[-2].translate(table) + ASCII[-1])


def test_full_width_and_lower_case_fold_to_the_canonical_form() -> None:
    assert canonical_id_number(ASCII.translate(FULLWIDTH)) == ASCII
    assert parse_resident_id(" " + ASCII.translate(FULLWIDTH) + "\u3000").number == (
        ASCII
    )
    assert canonical_id_number("11010519491231002x") == "11010519491231002X"
    assert canonical_id_number("11010519491231002ｘ") == "11010519491231002X"


def test_the_same_person_in_four_scripts_opens_one_account(bank, business_day) -> None:
    business_day(dt.date(2025, 3, 1))
    first = _open(bank, ASCII)
    for table in OTHER_SCRIPTS:
        with pytest.raises(DomainError) as err:
            _open(bank, ASCII.translate(table))
        assert err.value.code == "invalid_id_number"
    with pytest.raises(ConflictError) as err:
        _open(bank, ASCII.translate(FULLWIDTH))
    assert err.value.code == "duplicate_account"
    assert Depositor.objects.count() == 1 and FundAccount.objects.count() == 1
    assert first.depositor.id_number_hash == keyed_hash(ASCII)


def _store_legacy_person(number: str, name: str, industry_id: int) -> int:
    """A row as the old code wrote it: the number stored and hashed as typed."""
    person = Depositor.objects.create(
        id_number_encrypted=encrypt_text(number),
        id_number_hash=keyed_hash(number),
        id_number_masked="******",
        name=name,
        phone="13800000001",
        sex="M",
        birth_date=dt.date(1990, 5, 15),
        employment_form="new_forms",
        industry_id=industry_id,
    )
    return person.pk


def test_command_reports_rows_that_are_not_canonical(bank, business_day) -> None:
    business_day(dt.date(2025, 3, 1))
    good = _open(bank, ASCII)
    out = io.StringIO()
    call_command("check_id_numbers", stdout=out)
    assert "0" in out.getvalue()
    legacy = _store_legacy_person(
        ASCII.translate(ARABIC_INDIC), "王小明", good.depositor.industry_id
    )
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("check_id_numbers", stdout=out)
    assert exit_.value.code == 1
    text = out.getvalue()
    assert f"#{legacy}" in text and f"#{good.depositor.pk}" not in text.split("\n")[0]
    # Both records of the one person are named together, masked.
    assert f"#{good.depositor.pk}, #{legacy}" in text
    assert ASCII not in text and ASCII.translate(ARABIC_INDIC) not in text


def test_admin_search_finds_by_id_through_a_token_not_the_address(
    client, admin_user, bank, business_day
) -> None:
    business_day(dt.date(2025, 3, 1))
    account = _open(bank, ASCII)
    client.force_login(admin_user)
    url = reverse("admin:accounts_fundaccount_changelist")
    page = client.get(url).content.decode()
    assert 'method="post" role="search"' in page.replace('id="changelist-search" ', "")
    posted = client.post(url, {"_search": "1", "q": ASCII.translate(FULLWIDTH)})
    assert posted.status_code == 302
    assert ASCII not in posted.url and "st=" in posted.url
    listing = client.get(posted.url).content.decode()
    assert account.account_no in listing
    # Pagination and filter links carry the token, never the number.
    assert "q=" + ASCII not in listing
    # An old-style GET search is answered by a redirect to the token form.
    legacy = client.get(url, {"q": ASCII})
    assert legacy.status_code == 302 and ASCII not in legacy.url
    # Other scripts' digits find nobody and break nothing.
    for table in OTHER_SCRIPTS:
        posted = client.post(url, {"_search": "1", "q": ASCII.translate(table)})
        listing = client.get(posted.url)
        assert listing.status_code == 200
        assert account.account_no not in listing.content.decode()


def test_depositor_search_by_id_and_superscript_id_do_not_fail(
    client, admin_user, bank, business_day
) -> None:
    business_day(dt.date(2025, 3, 1))
    _open(bank, ASCII)
    client.force_login(admin_user)
    url = reverse("admin:accounts_depositor_changelist")
    for term, found in [(ASCII, True), (ASCII.translate(SUPERSCRIPT), False)]:
        posted = client.post(url, {"_search": "1", "q": term})
        body = client.get(posted.url).content.decode()
        assert ("370602********1239" in body) is found


def test_counter_open_form_refuses_other_scripts(
    client, admin_user, bank, business_day
) -> None:
    from tests.adminforms import post_form

    business_day(dt.date(2025, 3, 1))
    client.force_login(admin_user)
    url = reverse("admin:accounts_fundaccount_open")
    response = post_form(
        client,
        url,
        {
            "id_number": ASCII.translate(DEVANAGARI),
            "name": "王小明",
            "phone": "13800000000",
            "employment_form": "new_forms",
            "industry": "new_courier",
            "bank": bank.pk,
            "female_original_retirement_age": 50,
        },
    )
    assert response.status_code == 200
    assert "17" in response.content.decode()
    assert not FundAccount.objects.exists()


def test_stored_ids_are_canonical_and_hashes_match(bank, business_day) -> None:
    business_day(dt.date(2025, 3, 1))
    _open(bank, ASCII.translate(FULLWIDTH).replace("9", "9", 1))
    with connection.cursor() as cur:
        cur.execute("SELECT id_number_hash FROM accounts_depositor")
        assert cur.fetchall() == [(keyed_hash(ASCII),)]
