"""The staff faces of employers, identity conversion and cross-city
transfers through the test client: the pages in Chinese (no raw codes, no
object captions), each counter form filing through the real service once
per token, refusals shown on the form with nothing written, and the
permissions (a member of staff without one gets 403).

Texts not yet translated (their msgids are new) are compared with their
translation as the page would show it, so the tests hold before and after
the catalogue is filled."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.text import capfirst

from accounts.models import Depositor, Employer, FundAccount
from accounts.services import employer_create
from core.audit import audit_problems
from core.crypto import decrypt_text
from deposits.models import Conversion, DepositAgreement
from deposits.selectors import agreement_text_versions_in_force
from deposits.services import account_convert_to_employee
from national.models import NationalMessage
from tests.adminforms import form_token
from tests.idgen import make_id
from tests.subsidies.helpers import monthly
from transfers.models import TransferIn, TransferOut
from transfers.services import transfer_in_request, transfer_out

pytestmark = pytest.mark.django_db

USCC = "91110000600037341L"
_TAG_RE = re.compile(r"<[^>]*>")
# Codes that must never reach a reader of a Chinese page.
RAW_CODES = (
    "to_employee",
    "to_flexible",
    "new_forms",
    "new_courier",
    "part_time",
    "self_employed",
    "transfer_out",
    "transfer_in",
    "account_closed",
    "duplicate_account",
    "invalid_uscc",
    "invalid_first_month",
    "wrong_kind",
    "bank_app",
    "open",
)


def _zh(text: object) -> str:
    """A text as a Chinese page shows it (its translation when there is one)."""
    with translation.override("zh-hans"):
        return str(text)


def _t(msgid: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(msgid)


def _text(html: str) -> str:
    """What a reader sees: the page without its tags, scripts and styles
    (codes in links, option values and CSS classes are not shown)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return _TAG_RE.sub(" ", html)


def _reads_chinese(response) -> str:
    """The page's visible text, checked: Chinese, no raw code, no caption."""
    assert response.status_code == 200
    html = response.content.decode()
    assert 'lang="zh-hans"' in html
    text = _text(html)
    shown = [c for c in RAW_CODES if re.search(rf"(?<![\w/-]){c}(?![\w/-])", text)]
    assert shown == []
    assert "object (" not in text
    return text


def _cells(html: str, column: str) -> list[str]:
    """The visible text of one change-list column, row by row."""
    found = re.findall(
        rf'<t[dh] class="field-{column}[^"]*">(.*?)</t[dh]>', html, flags=re.S
    )
    return [" ".join(_text(cell).split()) for cell in found]


def _text_version() -> str:
    """The newest agreement text in force on 2026-03-05, the tests' day."""
    return agreement_text_versions_in_force(dt.date(2026, 3, 5))[0]


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def _url(name: str, *args: object) -> str:
    return reverse(f"admin:{name}", args=args)


@pytest.fixture
def employer(bank, staff) -> Employer:
    return employer_create(
        name="烟台港湾物流有限公司", uscc=USCC, bank=bank, actor=staff("clerk")
    )


@pytest.fixture
def fe_paid(fe_account, pay, business_day):
    """1,000.00 a month paid on the 10th, 2025-03 .. 2026-02; business date
    2026-03-05, next unpaid 2026-03."""
    account = fe_account(dt.date(2025, 3, 1), amount="1000")
    for day in monthly(dt.date(2025, 3, 10), dt.date(2026, 2, 28)):
        pay(account, day)
    business_day(dt.date(2026, 3, 5))
    account.refresh_from_db()
    return account


@pytest.fixture
def paid_ahead(fe_account, pay, business_day):
    """Opened 2026-07-01; 12,000.00 paid on 2026-07-10 for 2026-07 .. 2027-06;
    business date 2026-10-10."""
    account = fe_account(dt.date(2026, 7, 1), amount="1000")
    pay(account, dt.date(2026, 7, 10), months=12)
    business_day(dt.date(2026, 10, 10))
    account.refresh_from_db()
    return account


# --- employers ------------------------------------------------------------------


def test_employers_are_registered_through_the_service_and_listed(
    client, staff, bank
) -> None:
    client.force_login(staff("clerk").user)
    add = _url("accounts_employer_add")
    page = client.get(add)
    _reads_chinese(page)
    token = form_token(page)

    # A wrong check character: the service's message on the field, no row.
    bad = client.post(
        add,
        {
            "form_token": token,
            "name": "烟台港湾物流有限公司",
            "uscc": "91110000600037341A",
            "bank": bank.pk,
        },
    )
    text = _reads_chinese(bad)
    message = _t(
        "A unified social credit code is 18 characters whose last one is a check "
        "character; this one is not valid."
    )
    assert message in text
    assert Employer.objects.count() == 0

    # Corrected (spaces and lower case are folded), sent with the same token.
    data = {
        "form_token": token,
        "name": "烟台港湾物流有限公司",
        "uscc": "9111 0000 6000 3734 1l",
        "bank": bank.pk,
    }
    done = client.post(add, data)
    employer = Employer.objects.get()
    assert employer.uscc == USCC and employer.bank == bank
    assert done.status_code == 302
    assert done.url == _url("accounts_employer_change", employer.pk)
    # The same form again (Back and resend) registers nothing more.
    again = client.post(add, data, follow=True)
    assert Employer.objects.count() == 1
    assert employer.uscc in _messages(again)

    # Another code already registered: the conflict on the form.
    dup = client.post(
        add, {**data, "form_token": form_token(client.get(add)), "uscc": USCC}
    )
    assert _t("An employer with this unified social credit code is registered.") in (
        _reads_chinese(dup)
    )
    assert Employer.objects.count() == 1

    listing = client.get(_url("accounts_employer_changelist"))
    text = _reads_chinese(listing)
    for header in ("名称", "受托银行", "启用"):
        assert header in text
    assert "烟台港湾物流有限公司" in text and USCC in text and "烟台银行" in text
    other = employer_create(
        name="别的公司", uscc="91350100M000100Y43", bank=None, actor=staff("clerk")
    )
    by_bank = client.get(
        _url("accounts_employer_changelist") + f"?bank__id__exact={bank.pk}"
    )
    assert "烟台港湾物流有限公司" in _text(by_bank.content.decode())
    assert other.name not in _text(by_bank.content.decode())
    # The search box posts; the term travels on encrypted.
    found = client.post(
        _url("accounts_employer_changelist"), {"q": "别的", "_search": "1"}
    )
    assert found.status_code == 302 and "别的" not in found.url
    shown = _text(client.get(found.url).content.decode())
    assert other.name in shown and "烟台港湾物流有限公司" not in shown

    view = client.get(_url("accounts_employer_change", employer.pk))
    assert USCC in _reads_chinese(view)
    history = client.get(_url("accounts_employer_history", employer.pk))
    assert history.status_code == 200


def test_auditors_see_employers_but_register_none(client, staff, employer) -> None:
    client.force_login(staff("auditor").user)
    listing = client.get(_url("accounts_employer_changelist"))
    assert employer.name in _reads_chinese(listing)
    add = _url("accounts_employer_add")
    assert client.get(add).status_code == 403
    posted = client.post(
        add, {"form_token": "a" * 32, "name": "某公司", "uscc": "91350100M000100Y43"}
    )
    assert posted.status_code == 403
    assert Employer.objects.count() == 1


# --- identity conversion ----------------------------------------------------------


def _convert_data(employer: Employer, **extra: object) -> dict[str, object]:
    return {
        "direction": "to_employee",
        "first_month": "2026-03",
        "employer": employer.pk,
        "employee_share": "600",
        "employer_share": "400",
        "channel": "counter",
        **extra,
    }


def test_the_account_page_links_to_the_form_and_shows_conversions(
    client, staff, fe_paid, employer
) -> None:
    clerk = staff("clerk")
    client.force_login(clerk.user)
    page = _url("accounts_fundaccount_change", fe_paid.pk)
    convert = _url("deposits_fundaccount_convert", fe_paid.pk)
    html = client.get(page).content.decode()
    assert f'href="{convert}"' in html
    assert _t("Identity conversion") in _text(html)

    account_convert_to_employee(
        account=fe_paid,
        employer=employer,
        employee_share="600",
        employer_share="400",
        first_month=dt.date(2026, 3, 1),
        actor=clerk,
    )
    text = _reads_chinese(client.get(page))
    assert capfirst(_zh(Conversion._meta.verbose_name_plural)) in text
    assert _zh(Conversion.Direction.TO_EMPLOYEE.label) in text
    assert employer.name in text and "2026-03" in text
    assert clerk.user.username in text

    # Without the permission: the section, but no link.
    client.force_login(staff("auditor").user)
    seen = client.get(page)
    assert _zh(Conversion.Direction.TO_EMPLOYEE.label) in _reads_chinese(seen)
    assert convert not in seen.content.decode()


def _form_fields(html: str) -> dict[str, str]:
    """Inputs and selected options of an admin change form, as a browser
    would send them back."""
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


def test_the_account_page_still_saves_with_its_caption_free_inlines(
    client, admin_user, staff, fe_paid, employer
) -> None:
    """The conversion and status-change rows show no caption, but their
    management forms are still on the page: the bank can still be changed."""
    from accounts.services import bank_partner_create

    account_convert_to_employee(
        account=fe_paid,
        employer=employer,
        employee_share="600",
        employer_share="400",
        first_month=dt.date(2026, 3, 1),
        actor=staff("clerk"),
    )
    other, _secret = bank_partner_create(code="OTH", name="别的银行")
    client.force_login(admin_user)
    url = _url("accounts_fundaccount_change", fe_paid.pk)
    page = client.get(url)
    _reads_chinese(page)
    data = _form_fields(page.content.decode())
    assert data["conversions-TOTAL_FORMS"] == "1"
    data["bank"] = str(other.pk)
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    fe_paid.refresh_from_db()
    assert fe_paid.bank == other
    assert Conversion.objects.filter(fund_account=fe_paid).count() == 1


def test_the_form_converts_to_employee_once_keeping_continuity(
    client, staff, fe_paid, employer
) -> None:
    client.force_login(staff("clerk").user)
    url = _url("deposits_fundaccount_convert", fe_paid.pk)
    page = client.get(url)
    text = _reads_chinese(page)
    # The first unpaid month is offered, the account's kind named.
    assert 'value="2026-03"' in page.content.decode()
    assert _zh(Depositor.Kind.FLEXIBLE.label) in text
    data = {**_convert_data(employer), "form_token": form_token(page)}

    done = client.post(url, data)
    assert done.status_code == 302
    assert done.url == _url("accounts_fundaccount_change", fe_paid.pk)
    conversion = Conversion.objects.get(fund_account=fe_paid)
    assert conversion.continuity_kept is True
    assert conversion.employer == employer
    assert conversion.agreement.employer_share == Decimal("400.00")
    fe_paid.refresh_from_db()
    assert fe_paid.kind == "employee"
    shown = client.get(done.url)
    assert _t("Continuity carries on.") in _messages(shown)

    # The same form again: answered with the first result, nothing redone.
    again = client.post(url, data, follow=True)
    assert Conversion.objects.filter(fund_account=fe_paid).count() == 1
    assert _t("Continuity carries on.") in _messages(again)
    assert audit_problems() == []


def test_a_later_first_month_says_the_months_are_skipped(
    client, staff, fe_paid, employer
) -> None:
    client.force_login(staff("clerk").user)
    url = _url("deposits_fundaccount_convert", fe_paid.pk)
    data = {
        **_convert_data(employer, first_month="2026-05"),
        "form_token": form_token(client.get(url)),
    }
    shown = client.post(url, data, follow=True)
    conversion = Conversion.objects.get(fund_account=fe_paid)
    assert conversion.continuity_kept is False
    skipped = _t(
        "Months %(first)s to %(last)s are skipped (not owed); continuity "
        "starts again from %(month)s."
    ) % {"first": "2026-03", "last": "2026-04", "month": "2026-05"}
    assert skipped in _messages(shown)
    assert "2026-03" in _reads_chinese(shown)


def test_the_form_refuses_in_chinese_and_writes_nothing(
    client, staff, fe_paid, employer
) -> None:
    client.force_login(staff("clerk").user)
    url = _url("deposits_fundaccount_convert", fe_paid.pk)
    versions = DepositAgreement.objects.count()
    cases = [
        # No employer for FE -> employee.
        ({"employer": ""}, "该字段是必填项。"),
        # A month already paid as FE.
        ({"first_month": "2026-02"}, "首缴月份须在 2026-03 至 2026-05 之间。"),
        # A typed month that is no month.
        ({"first_month": "2026-13"}, _t("A month must be written as YYYY-MM.")),
        # A share that is no amount.
        ({"employer_share": "-1"}, "金额须为正数，最多两位小数。"),
        # The account is FE: it cannot become FE.
        (
            {
                "direction": "to_flexible",
                "monthly_amount": "800",
                "cadence": "monthly",
                "text_version": _text_version(),
                "accepted": "on",
            },
            _t("The account is not an employee account."),
        ),
    ]
    token = form_token(client.get(url))
    for change, message in cases:
        response = client.post(
            url, {**_convert_data(employer), **change, "form_token": token}
        )
        assert message in _reads_chinese(response)
    assert Conversion.objects.count() == 0
    assert DepositAgreement.objects.count() == versions
    fe_paid.refresh_from_db()
    assert fe_paid.kind == "flexible"


def test_back_to_flexible_asks_for_the_accepted_text(
    client, staff, fe_paid, employer
) -> None:
    clerk = staff("clerk")
    account_convert_to_employee(
        account=fe_paid,
        employer=employer,
        employee_share="600",
        employer_share="400",
        first_month=dt.date(2026, 3, 1),
        actor=clerk,
    )
    client.force_login(clerk.user)
    url = _url("deposits_fundaccount_convert", fe_paid.pk)
    page = client.get(url)
    # The direction the account's kind allows is preselected.
    assert re.search(r'<option value="to_flexible" selected>', page.content.decode()), (
        "to_flexible is not preselected"
    )
    version = _text_version()
    data = {
        "form_token": form_token(page),
        "direction": "to_flexible",
        "first_month": "2026-03",
        "monthly_amount": "800",
        "cadence": "monthly",
        "channel": "counter",
        "text_version": version,
    }
    refused = client.post(url, data)
    assert "缴存人须确认接受协议文本。" in _reads_chinese(refused)
    assert Conversion.objects.count() == 1
    done = client.post(url, {**data, "accepted": "on"})
    assert done.status_code == 302
    latest = Conversion.objects.latest("id")
    assert latest.direction == "to_flexible"
    assert latest.agreement.monthly_amount == Decimal("800.00")
    fe_paid.refresh_from_db()
    assert fe_paid.kind == "flexible"


@pytest.mark.parametrize("role", ["reviewer", "auditor", "finance"])
def test_only_who_may_convert_reaches_the_form(
    client, staff, fe_paid, employer, role
) -> None:
    client.force_login(staff(role).user)
    url = _url("deposits_fundaccount_convert", fe_paid.pk)
    assert client.get(url).status_code == 403
    posted = client.post(url, {**_convert_data(employer), "form_token": "b" * 32})
    assert posted.status_code == 403
    assert Conversion.objects.count() == 0
    fe_paid.refresh_from_db()
    assert fe_paid.kind == "flexible"


# --- transfers out ----------------------------------------------------------------


def test_a_transfer_out_is_checked_then_confirmed_once(
    client, staff, paid_ahead
) -> None:
    clerk = staff("clerk")
    client.force_login(clerk.user)
    listing = client.get(_url("transfers_transferout_changelist"))
    url = _url("transfers_transferout_file")
    assert f'href="{url}"' in listing.content.decode()
    page = client.get(url + f"?account={paid_ahead.account_no}")
    _reads_chinese(page)
    assert 'name="_file"' not in page.content.decode()
    token = form_token(page)
    data = {"form_token": token, "account_no": paid_ahead.account_no, "to_city": "威海"}

    # The check: balance, interest to date, what goes; nothing recorded.
    checked = client.post(url, {**data, "_preview": "1"})
    text = _reads_chinese(checked)
    # 12,000.00 x 1.5 % x 92 days (2026-07-10 .. 2026-10-10) / 360 = 46.00
    for figure in ("12000.00", "46.00", "12046.00"):
        assert figure in text
    assert "截至今日利息" in text and "当前余额" in text
    assert 'name="_file"' in checked.content.decode()
    assert TransferOut.objects.count() == 0
    paid_ahead.refresh_from_db()
    assert paid_ahead.status == "open"

    done = client.post(url, {**data, "_file": "1"})
    out = TransferOut.objects.get()
    assert done.status_code == 302
    assert done.url == _url("transfers_transferout_change", out.pk)
    assert (out.interest, out.amount, out.to_city) == (
        Decimal("46.00"),
        Decimal("12046.00"),
        "威海",
    )
    paid_ahead.refresh_from_db()
    assert (paid_ahead.status, paid_ahead.balance) == ("closed", Decimal("0.00"))
    assert NationalMessage.objects.filter(kind="transfer_out").count() == 1

    # A second click (the same token) transfers nothing more.
    again = client.post(url, {**data, "_file": "1"}, follow=True)
    assert TransferOut.objects.count() == 1
    assert "12046.00" in _messages(again)

    detail = _reads_chinese(client.get(done.url))
    assert paid_ahead.account_no in detail and "威海" in detail
    assert clerk.user.username in detail
    html = client.get(_url("transfers_transferout_changelist")).content.decode()
    text = _reads_chinese(client.get(_url("transfers_transferout_changelist")))
    assert _cells(html, "status") == [_zh(TransferOut.Status.SENT.label)]
    assert _cells(html, "amount") == ["12046.00"]
    assert _cells(html, "interest") == ["46.00"]
    for header in ("账号", "姓名", "状态"):
        assert header in text


def test_a_transfer_out_is_refused_on_the_form_and_writes_nothing(
    client, staff, paid_ahead
) -> None:
    clerk = staff("clerk")
    client.force_login(clerk.user)
    url = _url("transfers_transferout_file")
    token = form_token(client.get(url))

    unknown = client.post(
        url, {"form_token": token, "account_no": "999999999", "to_city": "威海"}
    )
    assert "没有此账号的个人账户。" in _reads_chinese(unknown)
    no_city = client.post(
        url,
        {"form_token": token, "account_no": paid_ahead.account_no, "_file": "1"},
    )
    assert "该字段是必填项。" in _reads_chinese(no_city)
    assert TransferOut.objects.count() == 0
    paid_ahead.refresh_from_db()
    assert paid_ahead.status == "open"

    # A closed account: the check offers no confirmation, and a confirmation
    # sent anyway is refused by the service.
    transfer_out(account=paid_ahead, to_city="青岛", actor=clerk)
    data = {"form_token": token, "account_no": paid_ahead.account_no, "to_city": "威海"}
    checked = client.post(url, {**data, "_preview": "1"})
    assert 'name="_file"' not in checked.content.decode()
    refused = client.post(url, {**data, "_file": "1"})
    assert "账户已销户。" in _reads_chinese(refused)
    assert TransferOut.objects.count() == 1
    assert TransferOut.objects.get().to_city == "青岛"


# --- transfers in -----------------------------------------------------------------


def _person(bank, **extra: object) -> dict[str, object]:
    return {
        "id_number": make_id(dt.date(1988, 4, 2), seq=41),
        "name": "王五",
        "phone": "13800000001",
        "employment_form": "part_time",
        "industry": "new_courier",
        "district": "芝罘区",
        "bank": bank.pk,
        "from_city": "青岛",
        **extra,
    }


def test_a_transfer_in_is_requested_once_and_listed(
    client, staff, bank, business_day
) -> None:
    business_day(dt.date(2026, 10, 10))
    clerk = staff("clerk")
    client.force_login(clerk.user)
    listing = client.get(_url("transfers_transferin_changelist"))
    url = _url("transfers_transferin_file")
    assert f'href="{url}"' in listing.content.decode()
    page = client.get(url)
    text = _reads_chinese(page)
    for label in ("身份证号码", "姓名", "手机号", "就业形式", "行业", "受托银行"):
        assert label in text
    data = {**_person(bank), "form_token": form_token(page)}

    done = client.post(url, data)
    request_row = TransferIn.objects.get()
    assert done.status_code == 302
    assert done.url == _url("transfers_transferin_change", request_row.pk)
    assert request_row.status == "requested" and request_row.from_city == "青岛"
    assert request_row.industry.code == "new_courier"
    assert NationalMessage.objects.filter(kind="transfer_in_request").count() == 1
    again = client.post(url, data, follow=True)
    assert TransferIn.objects.count() == 1
    assert request_row.id_number_masked in _messages(again)

    id_number = str(data["id_number"])
    detail = _reads_chinese(client.get(done.url))
    assert _zh(Depositor.EmploymentForm.PART_TIME.label) in detail
    assert request_row.id_number_masked in detail and id_number not in detail
    html = client.get(_url("transfers_transferin_changelist")).content.decode()
    text = _reads_chinese(client.get(_url("transfers_transferin_changelist")))
    assert _cells(html, "status") == [_zh(TransferIn.Status.REQUESTED.label)]
    assert _cells(html, "id_number_masked") == [request_row.id_number_masked]
    assert id_number not in text
    assert "王五" in text and "青岛" in text

    # Filtered by status, found by the resident ID (posted, never in the URL).
    assert (
        _cells(
            client.get(
                _url("transfers_transferin_changelist") + "?status__exact=arrived"
            ).content.decode(),
            "status",
        )
        == []
    )
    found = client.post(
        _url("transfers_transferin_changelist"), {"q": id_number, "_search": "1"}
    )
    assert found.status_code == 302 and id_number not in found.url
    assert _cells(client.get(found.url).content.decode(), "person_name") == ["王五"]


def test_a_transfer_in_is_refused_on_the_form_and_writes_nothing(
    client, staff, bank, paid_ahead
) -> None:
    client.force_login(staff("clerk").user)
    url = _url("transfers_transferin_file")
    token = form_token(client.get(url))
    wrong = make_id(dt.date(1988, 4, 2), seq=41)
    wrong = wrong[:17] + ("0" if wrong[17] != "0" else "1")
    bad_id = client.post(url, {**_person(bank, id_number=wrong), "form_token": token})
    assert "身份证号码校验位错误" in _reads_chinese(bad_id)
    no_city = client.post(url, {**_person(bank, from_city=""), "form_token": token})
    assert "该字段是必填项。" in _reads_chinese(no_city)

    # The holder of an open account here: the service refuses.
    holder = paid_ahead.depositor
    mine = client.post(
        url,
        {
            **_person(bank, id_number=decrypt_text(holder.id_number_encrypted)),
            "form_token": token,
        },
    )
    assert "此人在本中心已有账户。" in _reads_chinese(mine)
    assert TransferIn.objects.count() == 0
    assert NationalMessage.objects.filter(kind="transfer_in_request").count() == 0


# --- who may do what --------------------------------------------------------------


def test_the_transfer_forms_need_their_permission(
    client, staff, bank, paid_ahead
) -> None:
    auditor = staff("auditor")
    client.force_login(auditor.user)
    # Auditors read the lists...
    transfer_in_request(
        id_number=make_id(dt.date(1988, 4, 2), seq=41),
        name="王五",
        phone="13800000001",
        employment_form="part_time",
        industry_code="new_courier",
        from_city="青岛",
        bank=bank,
        actor=staff("clerk"),
    )
    for name in ("transfers_transferout_changelist", "transfers_transferin_changelist"):
        listing = client.get(_url(name))
        _reads_chinese(listing)
        assert "/file/" not in listing.content.decode()
    # ...and file nothing, whatever they post.
    out_url = _url("transfers_transferout_file")
    in_url = _url("transfers_transferin_file")
    assert client.get(out_url).status_code == 403
    assert client.get(in_url).status_code == 403
    out = client.post(
        out_url,
        {
            "form_token": "c" * 32,
            "account_no": paid_ahead.account_no,
            "to_city": "威海",
            "_file": "1",
        },
    )
    assert out.status_code == 403
    person = _person(bank, id_number=make_id(dt.date(1985, 1, 1), seq=77))
    assert client.post(in_url, {**person, "form_token": "d" * 32}).status_code == 403
    paid_ahead.refresh_from_db()
    assert paid_ahead.status == "open"
    assert TransferOut.objects.count() == 0 and TransferIn.objects.count() == 1

    # A reviewer reads transfers (a loan may wait on one) but files none;
    # finance neither files nor sees the form.
    client.force_login(staff("reviewer").user)
    assert client.get(out_url).status_code == 403
    assert client.get(_url("transfers_transferout_changelist")).status_code == 200
    client.force_login(staff("finance").user)
    assert client.get(out_url).status_code == 403
    assert client.get(in_url).status_code == 403
    assert FundAccount.objects.get(pk=paid_ahead.pk).status == "open"


def test_the_roles_hold_the_new_permissions(staff) -> None:
    clerk, auditor = staff("clerk").user, staff("auditor").user
    for perm in (
        "accounts.add_employer",
        "deposits.add_conversion",
        "transfers.add_transferout",
        "transfers.add_transferin",
    ):
        assert clerk.has_perm(perm) and not auditor.has_perm(perm)
    for perm in (
        "accounts.view_employer",
        "deposits.view_conversion",
        "transfers.view_transferout",
        "transfers.view_transferin",
    ):
        assert clerk.has_perm(perm) and auditor.has_perm(perm)
