"""The loan screens through the test client: the review inbox and its
filters, the approve / reject actions with their permission and the two
approvers, the read-only loan page (limit, schedule, repayments, history)
and the counter form (quote, filing, double submit)."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.contrib.admin import helpers
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from loans.admin_parts import reason_message
from loans.calculator import LoanAsk
from loans.models import Loan, LoanStatusChange
from loans.repayments import loan_repay
from loans.services import (
    loan_apply,
    loan_approve,
    loan_disburse,
    loan_reject,
)
from tests.adminforms import form_token
from tests.conftest import at
from tests.subsidies.helpers import monthly

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 5)
CHANGELIST = "admin:loans_loan_changelist"
FILE = "admin:loans_loan_file"
_NO_RE = re.compile(r"L\d{14}")
_TAG_RE = re.compile(r"<[^>]*>")
# Codes that must never reach a reader of a Chinese page.
RAW_CODES = (
    "pending_review",
    "approved",
    "rejected",
    "active",
    "settled",
    "hpf",
    "combination",
    "equal_instalment",
    "equal_principal",
    "first",
    "second",
    "current",
    "not_eligible",
    "income_not_proven",
    "disbursed",
    "balance_term",
    "capacity_limit",
    "price_limit",
    "rent_addback",
    "co_applicant_balance",
    "commercial_amount",
    "continuity_short",
    "application_pending",
    "Pending review",
)


def _url(name: str = CHANGELIST, *args: object) -> str:
    return reverse(name, args=args)


def _listed(response) -> set[str]:
    """The loan numbers in the change list's result rows."""
    html = response.content.decode()
    table = html.split('id="result_list"', 1)
    return set(_NO_RE.findall(table[1])) if len(table) == 2 else set()


def _text(html: str) -> str:
    """What a reader sees: the page without its tags and scripts (codes in
    links, option values and CSS classes are not shown)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return _TAG_RE.sub(" ", html)


def _no_raw_codes(html: str) -> None:
    text = _text(html)
    shown = [c for c in RAW_CODES if re.search(rf"(?<![\w/-]){c}(?![\w/-])", text)]
    assert shown == []


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def _act(client, action: str, *rows: Loan, **extra: object):
    data = {
        "action": action,
        "index": 0,
        helpers.ACTION_CHECKBOX_NAME: [loan.pk for loan in rows],
        **extra,
    }
    return client.post(_url(), data, follow=True)


def _fresh(loan: Loan) -> Loan:
    loan.refresh_from_db()
    return loan


@pytest.fixture
def borrower(fe_account, pay, business_day):
    """A new borrower with six months paid at 3,000 (balance 18,000.00:
    a limit of 540,000 by balance at the multiple 30), business date
    2026-03-05."""

    def _make():
        account = fe_account(dt.date(2025, 9, 1), amount="3000")
        for day in monthly(dt.date(2025, 9, 10), dt.date(2026, 2, 28)):
            pay(account, day)
        business_day(TODAY)
        account.refresh_from_db()
        return account

    return _make


def _apply(account, actor, amount="120000", kind="hpf", term=120, details=None):
    ask = LoanAsk(
        account=account,
        kind=kind,
        home="first",
        price=Decimal("800000"),
        monthly_income=Decimal("20000"),
        term_months=term,
        method="equal_instalment",
        amount=Decimal(amount),
    )
    return loan_apply(ask=ask, actor=actor, details=details)


# --- the inbox ------------------------------------------------------------------


def test_the_inbox_lists_in_chinese_and_filters(client, staff, borrower) -> None:
    clerk = staff("clerk")
    pending_account = borrower()
    pending = _apply(pending_account, clerk)
    approved = _apply(
        borrower(), clerk, kind="combination", details={"commercial_amount": "200000"}
    )
    loan_approve(loan=approved, actor=staff("reviewer"))
    loan_approve(loan=approved, actor=staff("reviewer"))
    rejected = _apply(borrower(), clerk)
    loan_reject(loan=rejected, reason="income_not_proven", actor=staff("reviewer"))
    client.force_login(staff("reviewer").user)

    response = client.get(_url())
    html = response.content.decode()
    every = {loan.loan_no for loan in (pending, approved, rejected)}
    assert _listed(response) == every
    for header in ("贷款编号", "账号", "借款人", "类别", "本金", "期限（月）"):
        assert header in html
    for header in ("年利率", "状态", "逾期分类", "申请日期", "第一审批人"):
        assert header in html
    for shown in ("待审核", "已批准", "已驳回", "公积金贷款", "组合贷款", "正常"):
        assert shown in html
    assert "2.60%" in html and "120000.00" in html
    # The filters' own labels are Chinese too.
    assert "M1（逾期1-30天）" in html and "商转公贷款" in html
    _no_raw_codes(html)
    name = pending_account.depositor.name
    assert name[0] + "*" * (len(name) - 1) in html and name not in html

    def only(query: str) -> set[str]:
        return _listed(client.get(_url() + "?" + query))

    assert only("status__exact=pending_review") == {pending.loan_no}
    assert only("status__exact=approved") == {approved.loan_no}
    assert only("status__exact=rejected") == {rejected.loan_no}
    assert only("kind__exact=combination") == {approved.loan_no}
    assert only("kind__exact=hpf") == {pending.loan_no, rejected.loan_no}
    assert only("bucket__exact=current") == every
    assert only("bucket__exact=M1") == set()

    # The search box posts; the term travels on encrypted.
    found = client.post(_url(), {"q": pending_account.account_no, "_search": "1"})
    assert found.status_code == 302 and pending_account.account_no not in found.url
    assert _listed(client.get(found.url)) == {pending.loan_no}
    found = client.post(_url(), {"q": rejected.loan_no, "_search": "1"})
    assert _listed(client.get(found.url)) == {rejected.loan_no}


def test_the_inbox_query_count_does_not_grow_with_rows(
    client, staff, borrower, business_day, monkeypatch
) -> None:
    # The business date is read once and kept for the test: its cache
    # expiring between two requests would add a query to one of them.
    monkeypatch.setattr("core.clock._PIN_TTL", 3600.0)
    clerk = staff("clerk")

    def add(n: int) -> None:
        for i in range(n):
            loan = _apply(borrower(), clerk)
            if i % 2 == 0:
                # A first approver, shown in its column.
                loan_approve(loan=loan, actor=staff("reviewer"))

    client.force_login(staff("reviewer").user)

    def queries() -> int:
        business_day(TODAY)
        # The first request after login stamps the session (one write).
        client.get(_url())
        with CaptureQueriesContext(connection) as captured:
            response = client.get(_url())
        assert response.status_code == 200
        return len(captured)

    add(2)
    few = queries()
    add(4)
    assert len(_listed(client.get(_url()))) == 6
    assert queries() == few


# --- actions --------------------------------------------------------------------


def test_a_clerk_cannot_approve_or_reject(client, staff, borrower) -> None:
    loan = _apply(borrower(), staff("clerk"))
    # Another clerk, so that only the permission stands in the way (the
    # service alone would record this clerk as the first approver).
    client.force_login(staff("clerk").user)
    _act(client, "approve", loan)
    assert _fresh(loan).first_approver_id is None
    assert loan.status == "pending_review"
    _act(client, "reject", loan, apply="1", reason="not_eligible")
    assert _fresh(loan).status == "pending_review"
    html = client.get(_url()).content.decode()
    assert 'value="approve"' not in html and 'value="reject"' not in html
    page = client.get(_url("admin:loans_loan_change", loan.pk)).content.decode()
    assert 'name="action" value="approve"' not in page

    client.force_login(staff("reviewer").user)
    assert 'value="approve"' in client.get(_url()).content.decode()


def test_two_reviewers_approve_and_self_approval_is_refused(
    client, staff, borrower
) -> None:
    maker = staff("reviewer")
    loan = _apply(borrower(), maker)
    client.force_login(maker.user)
    response = _act(client, "approve", loan)
    assert f"{loan.loan_no}：此申请由您录入，须由另一人审批。" in _messages(response)
    assert _fresh(loan).first_approver_id is None

    first = staff("reviewer")
    client.force_login(first.user)
    response = _act(client, "approve", loan)
    assert "已记录第一人审批，须由另一人再审批。" in _messages(response)
    assert _fresh(loan).status == "pending_review"
    assert loan.first_approver_id == first.user_id
    html = response.content.decode()
    assert "待审核（待第二人审批）" in html
    name = re.escape(first.user.username)
    assert re.search(rf'class="field-first_approver[^"]*">{name}</td>', html)
    response = _act(client, "approve", loan)
    assert "第二次审批须由另一人进行。" in _messages(response)
    assert _fresh(loan).status == "pending_review"

    second = staff("reviewer")
    client.force_login(second.user)
    response = _act(client, "approve", loan)
    loan = _fresh(loan)
    assert (loan.status, loan.second_approver_id) == ("approved", second.user_id)
    assert f"{loan.loan_no}：已批准，合同编号 {loan.contract_no}。" in (
        _messages(response)
    )
    # Approving again is refused by the service, in Chinese.
    response = _act(client, "approve", loan)
    assert "不能从“已批准”变为“已批准”。" in _messages(response)
    _no_raw_codes(response.content.decode())


def test_approving_from_the_loan_page_comes_back_to_it(client, staff, borrower) -> None:
    loan = _apply(borrower(), staff("clerk"))
    page = _url("admin:loans_loan_change", loan.pk)
    client.force_login(staff("reviewer").user)
    assert 'name="action" value="approve"' in client.get(page).content.decode()
    response = client.post(
        _url(),
        {
            "action": "approve",
            "index": 0,
            helpers.ACTION_CHECKBOX_NAME: [loan.pk],
            "_from_page": "1",
        },
    )
    assert response.status_code == 302 and response.url == page
    assert _fresh(loan).first_approver_id is not None


def test_reject_asks_for_a_reason_on_an_intermediate_page(
    client, staff, borrower
) -> None:
    loan = _apply(borrower(), staff("clerk"))
    client.force_login(staff("reviewer").user)
    page = _act(client, "reject", loan)
    html = page.content.decode()
    assert page.status_code == 200 and "驳回贷款申请" in html
    assert "收入证明不足" in html and "全国平台核查发现其他贷款" in html
    assert loan.loan_no in html and "公积金贷款" in html
    # Only the rejection reasons are offered.
    assert 'value="disbursed"' not in html and 'value="approved"' not in html
    _no_raw_codes(html)
    assert _fresh(loan).status == "pending_review"

    response = _act(client, "reject", loan, apply="1", reason="other", note="")
    assert "原因为“其他”时，请在备注中说明。" in response.content.decode()
    assert _fresh(loan).status == "pending_review"

    # As the page's own form posts it: no action index (a confirmation).
    response = client.post(
        _url(),
        {
            "action": "reject",
            helpers.ACTION_CHECKBOX_NAME: [loan.pk],
            "apply": "1",
            "reason": "income_not_proven",
            "note": "流水不足",
        },
        follow=True,
    )
    assert _fresh(loan).status == "rejected"
    change = LoanStatusChange.objects.get(loan=loan, to_status="rejected")
    assert (change.reason, change.note) == ("income_not_proven", "流水不足")
    assert f"{loan.loan_no}：已驳回：收入证明不足。" in _messages(response)
    # A rejected loan cannot be rejected again: the service says why.
    response = _act(client, "reject", loan, apply="1", reason="not_eligible")
    assert "不能从“已驳回”变为“已驳回”。" in _messages(response)


# --- the loan page ----------------------------------------------------------------


def test_the_loan_page_shows_limit_schedule_repayments_and_history(
    client, staff, borrower
) -> None:
    loan = _apply(borrower(), staff("clerk"))
    loan_approve(loan=loan, actor=staff("reviewer"))
    loan_approve(loan=loan, actor=staff("reviewer"))
    loan = loan_disburse(
        loan=loan,
        bank_txn_id="D-1",
        disbursed_on=dt.date(2026, 3, 31),
        actor=staff("finance"),
    )
    first = loan.instalments.get(n=1)
    loan_repay(
        loan=loan,
        amount=first.principal + first.interest,
        paid_at=at(dt.date(2026, 4, 30)),
        bank_txn_id="R-1",
        actor=staff("finance"),
    )
    page = _url("admin:loans_loan_change", loan.pk)
    client.force_login(staff("reviewer").user)
    html = client.get(page).content.decode()

    # The figures, in words.
    assert "还款中" in html and "公积金贷款" in html and "首套房" in html
    assert "等额本息" in html and "2.60%" in html and "合同编号" in html
    assert "放款银行流水号" in html and "D-1" in html
    # Every limit component, labelled.
    assert "额度构成" in html and "540000.00" in html
    for label in ("借款人账户余额", "计算额度的余额合计", "余额倍数", "最新个贷率"):
        assert label in html
    for label in ("按房价计算的额度（房价减首付）", "最高贷款额度"):
        assert label in html
    assert "按还款能力计算的额度" in html and "18000.00" in html
    assert "80.00%" in html and "640000.00" in html
    # The schedule: a window of 24 of the 120 rows, and a link to the rest.
    assert "还款计划" in html and "显示第 1 至 24 期，共 120 期" in html
    schedule_rows = re.findall(r'<td class="field-n"><p>(\d+)</p>', html)
    assert schedule_rows == [str(n) for n in range(1, 25)]
    link = _url("admin:loans_instalment_changelist") + f"?loan__id__exact={loan.pk}"
    assert link in html
    whole = client.get(link)
    assert (
        whole.status_code == 200
        and whole.content.decode().count(f">{loan.loan_no}<") == 120
    )
    assert "待还" in html and "已支付" in html
    # Repayments and the history.
    assert "还款记录" in html and "R-1" in html and str(first.interest) in html
    # In Shanghai time, as the admin shows its own dates.
    assert "2026年4月30日 10:00" in html and "+00:00" not in html
    assert "状态变更记录" in html and "已放款" in html and "已批准" in html
    assert "object (" not in html
    # Nothing left to decide on an active loan.
    assert 'name="action" value="approve"' not in html
    _no_raw_codes(html)


def test_the_schedule_window_follows_the_first_unpaid_instalment(
    client, staff, borrower, business_day
) -> None:
    loan = _apply(borrower(), staff("clerk"), amount="60000", term=60)
    loan_approve(loan=loan, actor=staff("reviewer"))
    loan_approve(loan=loan, actor=staff("reviewer"))
    loan = loan_disburse(
        loan=loan, bank_txn_id="D-2", disbursed_on=TODAY, actor=staff("finance")
    )
    for n in range(1, 6):
        item = loan.instalments.get(n=n)
        business_day(item.due_date)
        loan_repay(
            loan=loan,
            amount=item.principal + item.interest,
            paid_at=at(item.due_date),
            bank_txn_id=f"R-{n}",
            actor=staff("finance"),
        )
    client.force_login(staff("auditor").user)
    html = client.get(_url("admin:loans_loan_change", loan.pk)).content.decode()
    # Three paid rows for context, then from the first open one (n=6).
    assert "显示第 3 至 26 期，共 60 期" in html
    schedule_rows = re.findall(r'<td class="field-n"><p>(\d+)</p>', html)
    assert schedule_rows == [str(n) for n in range(3, 27)]
    _no_raw_codes(html)


# --- the counter form -------------------------------------------------------------


def _form(account, **over: object) -> dict:
    return {
        "account_no": account.account_no,
        "kind": "hpf",
        "home": "first",
        "price": "800000",
        "children": "0",
        "monthly_income": "20000",
        "term_months": "120",
        "method": "equal_instalment",
        "amount": "300000",
        **over,
    }


def test_the_counter_form_quotes_then_files_once(
    client, staff, borrower, fe_account, business_day
) -> None:
    account = borrower()
    clerk = staff("clerk")
    url = _url(FILE)
    client.force_login(staff("reviewer").user)
    assert client.get(url).status_code == 403
    client.force_login(clerk.user)
    changelist = client.get(_url()).content.decode()
    assert url in changelist and "受理贷款申请" in changelist
    token = form_token(client.get(url))

    # The quote at the limit: every component, the rate, the payments.
    quote = client.post(
        url, {**_form(account, amount=""), "form_token": token, "_quote": "1"}
    )
    html = quote.content.decode()
    assert quote.status_code == 200 and 'id="quote"' in html
    assert "可贷额度（向下取整到万元）" in html and "540000.00（按可贷额度）" in html
    for label in ("借款人账户余额", "余额倍数", "按还款能力计算的额度"):
        assert label in html
    for label in ("年利率", "最长可贷期限", "首期还款额", "末期还款额", "利息总额"):
        assert label in html
    assert "2.60%" in html and "120 个月" in html
    assert "按规则，此申请可以受理。" in html
    # The form's own labels ("Home" is the breadcrumb's 首页 in Django).
    assert "房屋情况" in html and "住房套数" in html and "首页:" not in html
    _no_raw_codes(html)
    assert not Loan.objects.exists()
    # Above the limit, the quote says so.
    html = client.post(
        url, {**_form(account, amount="600000"), "form_token": token, "_quote": "1"}
    ).content.decode()
    assert "贷款金额超过可贷额度 540000.00。" in html

    # A new account: the reasons in words, not codes.
    newcomer = fe_account(dt.date(2026, 2, 1), amount="3000")
    business_day(TODAY)
    html = client.post(
        url, {**_form(newcomer), "form_token": token, "_quote": "1"}
    ).content.decode()
    assert "按规则，此申请将不予受理：" in html
    assert "截至上月未连续足额缴存 6 个月。" in html
    _no_raw_codes(html)

    # Filing refusals come back on the form, in Chinese, and write nothing.
    response = client.post(url, {**_form(account, amount=""), "form_token": token})
    assert "请填写贷款金额。" in response.content.decode()
    response = client.post(
        url, {**_form(account, amount="600000"), "form_token": token}
    )
    assert "贷款金额超过可贷额度 540000.00。" in response.content.decode()
    response = client.post(
        url, {**_form(account, kind="combination"), "form_token": token}
    )
    html = response.content.decode()
    assert "组合贷款须登记商业贷款部分。" in html
    assert not Loan.objects.exists()

    response = client.post(url, {**_form(account), "form_token": token})
    loan = Loan.objects.get()
    assert response.status_code == 302
    assert response.url == _url("admin:loans_loan_change", loan.pk)
    assert (loan.kind, loan.principal, loan.term_months) == (
        "hpf",
        Decimal("300000.00"),
        120,
    )
    assert (loan.actor_id, loan.status) == (clerk.user_id, "pending_review")
    # The same form again (Back and resend, a double click): filed once.
    again = client.post(url, {**_form(account), "form_token": token}, follow=True)
    assert Loan.objects.count() == 1
    assert "已提交" in _messages(again)

    # A fresh form for the same borrower: the service refuses, in words.
    response = client.post(
        url, {**_form(account), "form_token": form_token(client.get(url))}
    )
    html = response.content.decode()
    assert "申请人不符合此贷款的条件：" in html
    assert "借款人或共同申请人已有贷款申请正在审核。" in html
    _no_raw_codes(html)
    assert Loan.objects.count() == 1


def test_the_counter_form_files_a_combination_loan_with_a_co_applicant(
    client, staff, borrower
) -> None:
    account, spouse = borrower(), borrower()
    url = _url(FILE)
    client.force_login(staff("clerk").user)
    token = form_token(client.get(url))
    data = _form(
        account,
        kind="combination",
        co_applicant_no=spouse.account_no,
        commercial_amount="200000",
        commercial_loan_no="C-88",
        form_token=token,
    )
    html = client.post(url, {**data, "_quote": "1"}).content.decode()
    # Both balances count (36,000.00 x 30); the price limit decides.
    assert "共同申请人账户余额" in html and "36000.00" in html
    assert "可贷额度（向下取整到万元）" in html and "640000.00" in html
    response = client.post(
        url, {**data, "co_applicant_no": account.account_no}, follow=True
    )
    assert "共同申请人不能是借款人本人。" in response.content.decode()
    response = client.post(url, data)
    assert response.status_code == 302
    loan = Loan.objects.get()
    assert loan.co_applicant_id == spouse.pk
    assert loan.details == {
        "commercial_amount": "200000.00",
        "commercial_loan_no": "C-88",
    }
    html = client.get(response.url).content.decode()
    assert "商业贷款部分" in html and "200000.00" in html and "C-88" in html


@pytest.mark.parametrize(
    "code",
    [
        "account_not_open",
        "continuity_short",
        "loan_outstanding",
        "application_pending",
        "bad_credit",
        "national_check_hit",
        "national_check_pending",
        "term_too_long",
    ],
)
def test_every_eligibility_reason_is_said_in_chinese(code) -> None:
    with translation.override("zh-hans"):
        message = reason_message(code, max_term=300)
    assert code not in message
    assert re.search(r"[\u4e00-\u9fff]", message)
    assert not re.search(r"[A-Za-z]{3,}", message)
