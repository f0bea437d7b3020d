"""The withdrawal screens through the test client: the review inbox and its
filters, the approve / reject / pay actions with their permissions and
maker-checker, the read-only application page, the evidence file view and
the counter form (quote, filing, double submit)."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.contrib.admin import helpers
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.adminforms import form_token
from tests.withdrawals.conftest import PDF, PNG, doc
from withdrawals.models import Evidence, Withdrawal
from withdrawals.services import withdrawal_approve, withdrawal_submit

pytestmark = pytest.mark.django_db

RENT = {"rent_paid": "3000.00", "no_home_owned": True}
HOME = {
    "home_ref": "YT-2025-0101",
    "price": "600000.00",
    "loans": "400000.00",
    "contract_date": "2025-11-01",
}
CHANGELIST = "admin:withdrawals_withdrawal_changelist"
_NO_RE = re.compile(r"W\d{14}")
_TAG_RE = re.compile(r"<[^>]*>")


def _url(name: str = CHANGELIST, *args: object) -> str:
    return reverse(name, args=args)


def _listed(response) -> set[str]:
    """The withdrawal numbers in the change list's result rows."""
    html = response.content.decode()
    table = html.split('id="result_list"', 1)
    return set(_NO_RE.findall(table[1])) if len(table) == 2 else set()


def _rent(account, actor, amount: str = "1000") -> Withdrawal:
    return withdrawal_submit(
        account=account,
        type="rent",
        amount=Decimal(amount),
        declarations=RENT,
        actor=actor,
    )


def _act(client, action: str, *rows: Withdrawal, **extra: object):
    data = {
        "action": action,
        "index": 0,
        helpers.ACTION_CHECKBOX_NAME: [w.pk for w in rows],
        **extra,
    }
    return client.post(_url(), data, follow=True)


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def _text(html: str) -> str:
    """What a reader sees: the page without its tags (codes in links and
    option values are not shown)."""
    return _TAG_RE.sub(" ", html)


def _status(w: Withdrawal) -> str:
    w.refresh_from_db()
    return w.status


# --- the inbox ------------------------------------------------------------------


def test_the_inbox_lists_in_chinese_and_filters(
    client, staff, fe_account, funded, business_day
) -> None:
    clerk = staff("clerk")
    # Filed 2025-11-01 (39 days old on 2025-12-10) and 2025-12-05 (5 days).
    old = withdrawal_submit(
        account=fe_account(dt.date(2025, 11, 1)), type="exit", actor=clerk
    )
    recent = withdrawal_submit(
        account=fe_account(dt.date(2025, 12, 5)), type="exit", actor=clerk
    )
    rent_account = funded()
    rent = _rent(rent_account, clerk)
    # An exit of 57,940.00: banded by what it would pay, the balance.
    large = withdrawal_submit(account=funded(amount="5794"), type="exit", actor=clerk)
    business_day(dt.date(2025, 12, 10))
    client.force_login(staff("reviewer").user)

    response = client.get(_url())
    html = response.content.decode()
    assert _listed(response) == {w.withdrawal_no for w in (old, recent, rent, large)}
    for header in ("提取编号", "账号", "姓名", "类型", "申请金额", "可提取金额"):
        assert header in html
    for header in ("受理日期", "受理天数", "第一审批人", "金额区间"):
        assert header in html
    assert "待审核" in html and "租房" in html and "全部余额" in html
    assert "pending_review" not in _text(html) and "Pending review" not in html
    name = rent_account.depositor.name
    assert name[0] + "*" * (len(name) - 1) in html and name not in html

    def only(query: str) -> set[str]:
        return _listed(client.get(_url() + "?" + query))

    assert only("type__exact=rent") == {rent.withdrawal_no}
    assert only("status__exact=pending_review") == _listed(response)
    assert only("status__exact=approved") == set()
    assert only("band=small") == {
        old.withdrawal_no,
        recent.withdrawal_no,
        rent.withdrawal_no,
    }
    assert only("band=medium") == set()
    assert only("band=large") == {large.withdrawal_no}
    assert only("age=today") == {rent.withdrawal_no, large.withdrawal_no}
    assert only("age=week") == {recent.withdrawal_no}
    assert only("age=older") == {old.withdrawal_no}

    # The search box posts; the term travels on encrypted.
    found = client.post(_url(), {"q": rent_account.account_no, "_search": "1"})
    assert found.status_code == 302 and rent_account.account_no not in found.url
    assert _listed(client.get(found.url)) == {rent.withdrawal_no}
    found = client.post(_url(), {"q": large.withdrawal_no, "_search": "1"})
    assert _listed(client.get(found.url)) == {large.withdrawal_no}


def test_the_inbox_query_count_does_not_grow_with_rows(
    client, staff, fe_account, business_day, monkeypatch
) -> None:
    # The business date is read once and kept for the test: its cache
    # expiring between two requests would add a query to one of them.
    monkeypatch.setattr("core.clock._PIN_TTL", 3600.0)
    clerk, reviewer = staff("clerk"), staff("reviewer")

    def add(n: int) -> None:
        for i in range(n):
            w = withdrawal_submit(
                account=fe_account(dt.date(2025, 11, 1) + dt.timedelta(days=i)),
                type="exit",
                actor=clerk,
            )
            if i % 2 == 0:
                # A zero balance: one approver decides, and is shown.
                withdrawal_approve(withdrawal=w, actor=reviewer)

    client.force_login(staff("reviewer").user)

    def queries() -> int:
        business_day(dt.date(2025, 12, 10))
        # The first request after login stamps the session (one write).
        client.get(_url())
        with CaptureQueriesContext(connection) as captured:
            response = client.get(_url())
        assert response.status_code == 200
        return len(captured)

    add(2)
    few = queries()
    add(5)
    assert len(_listed(client.get(_url()))) == 7
    assert queries() == few


# --- actions --------------------------------------------------------------------


def test_a_reviewer_approves_and_a_clerk_cannot(client, staff, funded) -> None:
    account = funded()
    w = _rent(account, staff("clerk"))
    # Another clerk, so that only the permission stands in the way.
    client.force_login(staff("clerk").user)
    _act(client, "approve", w)
    assert _status(w) == "pending_review"
    assert 'value="approve"' not in client.get(_url()).content.decode()

    reviewer = staff("reviewer")
    client.force_login(reviewer.user)
    assert 'value="approve"' in client.get(_url()).content.decode()
    response = _act(client, "approve", w)
    assert _status(w) == "approved"
    assert f"{w.withdrawal_no}：已批准，待支付 1000.00 元。" in _messages(response)
    assert w.first_approver_id == reviewer.user_id


def test_maker_checker_shows_in_the_inbox_and_self_approval_is_refused(
    client, staff, funded
) -> None:
    account = funded(amount="5794")
    maker = staff("reviewer")
    w = withdrawal_submit(
        account=account,
        type="purchase",
        amount=Decimal("55000.00"),
        declarations=HOME,
        evidence=[doc("purchase_contract"), doc("purchase_invoice", PNG, "i.png")],
        actor=maker,
    )
    client.force_login(maker.user)
    response = _act(client, "approve", w)
    assert "此申请由您录入，须由另一人审批。" in _messages(response)
    assert _status(w) == "pending_review" and w.first_approver_id is None

    first = staff("reviewer")
    client.force_login(first.user)
    response = _act(client, "approve", w)
    assert "已记录第一人审批" in _messages(response)
    assert "50000.00" in _messages(response)
    assert _status(w) == "pending_review" and w.first_approver_id == first.user_id
    html = response.content.decode()
    assert "待审核（待第二人审批）" in html
    name = re.escape(first.user.username)
    assert re.search(rf'class="field-first_approver[^"]*">{name}</td>', html)
    response = _act(client, "approve", w)
    assert "第二次审批须由另一人进行。" in _messages(response)

    second = staff("reviewer")
    client.force_login(second.user)
    _act(client, "approve", w)
    assert _status(w) == "approved" and w.second_approver_id == second.user_id

    # A reviewer cannot pay; finance can.
    _act(client, "pay", w)
    assert _status(w) == "approved"
    client.force_login(staff("finance").user)
    response = _act(client, "pay", w)
    assert _status(w) == "paid"
    assert "已支付 55000.00 元" in _messages(response)
    response = _act(client, "pay", w)
    assert w.withdrawal_no in _messages(response)
    assert "已支付" in _messages(response) and "不能从" in _messages(response)


def test_reject_asks_for_a_reason_on_an_intermediate_page(
    client, staff, funded
) -> None:
    account = funded()
    w = _rent(account, staff("clerk"))
    client.force_login(staff("clerk").user)
    _act(client, "reject", w, apply="1", reason="duplicate")
    assert _status(w) == "pending_review"

    client.force_login(staff("reviewer").user)
    page = _act(client, "reject", w)
    html = page.content.decode()
    assert page.status_code == 200 and "驳回提取申请" in html
    assert "证明材料不足" in html and w.withdrawal_no in html
    assert "evidence_insufficient" not in _text(html)
    assert _status(w) == "pending_review"

    response = _act(client, "reject", w, apply="1", reason="other", note="")
    assert "原因为“其他”时，请在备注中说明。" in _messages(response)
    assert _status(w) == "pending_review"

    # As the page's own form posts it: no action index (a confirmation).
    response = client.post(
        _url(),
        {
            "action": "reject",
            helpers.ACTION_CHECKBOX_NAME: [w.pk],
            "apply": "1",
            "reason": "evidence_insufficient",
            "note": "不清晰",
        },
        follow=True,
    )
    assert _status(w) == "rejected"
    assert (w.reason, w.reason_text) == ("evidence_insufficient", "不清晰")
    assert "已驳回：证明材料不足。" in _messages(response)


def test_decisions_from_the_application_page_come_back_to_it(
    client, staff, funded
) -> None:
    w = _rent(funded(), staff("clerk"))
    page = _url("admin:withdrawals_withdrawal_change", w.pk)
    client.force_login(staff("reviewer").user)
    html = client.get(page).content.decode()
    assert 'name="action" value="approve"' in html
    assert 'name="action" value="pay"' not in html
    response = client.post(
        _url(),
        {
            "action": "approve",
            "index": 0,
            helpers.ACTION_CHECKBOX_NAME: [w.pk],
            "_from_page": "1",
        },
    )
    assert response.status_code == 302 and response.url == page
    assert _status(w) == "approved"


# --- the application page and its evidence ---------------------------------------


def test_the_page_shows_figures_declarations_history_and_evidence(
    client, staff, funded
) -> None:
    w = withdrawal_submit(
        account=funded(),
        type="rent_filed",
        amount=Decimal("2000"),
        declarations=RENT,
        evidence=[doc("filing_certificate"), doc("tax_invoice", PNG, "发票.png")],
        payout_card="6222020200112233445",
        payout_holder="灵活",
        actor=staff("clerk"),
    )
    page = _url("admin:withdrawals_withdrawal_change", w.pk)
    client.force_login(staff("reviewer").user)
    html = client.get(page).content.decode()
    assert "待审核" in html and "pending_review" not in _text(html)
    assert "租房（有备案证明和发票）" in html and "rent_filed" not in _text(html)
    # The figures, the capping rule in words, today's re-check.
    assert "2000.00" in html and "实际支付的房租" in html and "3000.00" in html
    assert "本人及配偶在本市无自有住房" in html and "是" in html
    assert "无不予受理情形" in html
    assert "6222" in html and "6222020200112233445" not in html
    assert "rent_paid" not in _text(html) and "no_home_owned" not in _text(html)
    # The evidence list, with a link per file.
    for e in Evidence.objects.filter(withdrawal=w):
        assert _url("admin:withdrawals_evidence_file", e.pk) in html
    assert "租赁备案证明" in html and "发票.png" in html
    assert "object (" not in html

    withdrawal_approve(withdrawal=w, actor=staff("reviewer"))
    html = client.get(page).content.decode()
    assert "状态变更记录" in html and "已批准" in html
    assert "approved" not in _text(html)

    # Finance pays but does not see evidence (nor learn its file names).
    client.force_login(staff("finance").user)
    html = client.get(page).content.decode()
    assert 'name="action" value="pay"' in html
    assert "发票.png" not in html
    assert "/evidence/" not in html


def test_the_evidence_view_serves_only_who_may_see_evidence(
    client, staff, funded
) -> None:
    w = withdrawal_submit(
        account=funded(),
        type="rent_filed",
        amount=Decimal("2000"),
        declarations=RENT,
        evidence=[doc("filing_certificate"), doc("tax_invoice", PNG, "发票.png")],
        actor=staff("clerk"),
    )
    pdf, png = Evidence.objects.filter(withdrawal=w).order_by("id")
    client.force_login(staff("reviewer").user)
    response = client.get(_url("admin:withdrawals_evidence_file", pdf.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PDF
    response = client.get(_url("admin:withdrawals_evidence_file", png.pk))
    assert response["Content-Type"] == "image/png"
    assert "filename*=utf-8''" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == PNG

    unknown = _url("admin:withdrawals_evidence_file", png.pk + 1000)
    assert client.get(unknown).status_code == 404

    client.force_login(staff("finance").user)
    assert client.get(_url("admin:withdrawals_evidence_file", pdf.pk)).status_code == (
        403
    )
    # Without the permission an unknown id is answered the same way.
    assert client.get(unknown).status_code == 403

    client.logout()
    response = client.get(_url("admin:withdrawals_evidence_file", pdf.pk))
    assert response.status_code == 302 and "/admin/login/" in response.url


# --- the counter form -------------------------------------------------------------


def _files(**named: tuple[str, bytes, str]) -> dict[str, SimpleUploadedFile]:
    """``evidence_file_1=(kind, data, name)`` -> the two form fields."""
    out: dict = {}
    for slot, (kind, data, name) in named.items():
        n = slot.rsplit("_", 1)[1]
        out[f"evidence_kind_{n}"] = kind
        out[f"evidence_file_{n}"] = SimpleUploadedFile(name, data)
    return out


def test_the_counter_form_quotes_files_and_files_once(client, staff, funded) -> None:
    account = funded()
    clerk = staff("clerk")
    url = _url("admin:withdrawals_withdrawal_file")
    client.force_login(clerk.user)
    changelist = client.get(_url()).content.decode()
    assert url in changelist and "受理提取申请" in changelist
    token = form_token(client.get(url))
    base = {
        "form_token": token,
        "account_no": account.account_no,
        "type": "rent_filed",
        "amount": "2000",
        "rent_paid": "3000",
        "no_home_owned": "on",
        "payout_card": "6222 0202 0011 2233 445",
        "payout_holder": "灵活",
    }

    # The quote: the documents are named, not attached yet.
    quote = client.post(
        url,
        {
            **base,
            "_quote": "1",
            "evidence_kind_1": "filing_certificate",
            "evidence_kind_2": "tax_invoice",
        },
    )
    html = quote.content.decode()
    assert quote.status_code == 200 and 'id="quote"' in html
    assert "可提取金额" in html and "3000.00" in html
    assert "按规则，此申请可以受理。" in html
    assert "将丧失的补贴" in html and "租赁备案证明、租金发票" in html
    assert "补贴状态" in html and "not_yet_eligible" not in _text(html)
    assert not Withdrawal.objects.exists()
    # Without the declaration and the documents the quote names every refusal.
    quote = client.post(url, {**base, "_quote": "1", "no_home_owned": ""})
    html = quote.content.decode()
    assert "租房提取须申报本人及配偶在本市无自有住房。" in html
    assert "缺少证明材料：租赁备案证明、租金发票。" in html

    # Filing with the documents named but not attached is refused.
    response = client.post(url, {**base, "evidence_kind_1": "filing_certificate"})
    assert "请选择该材料的文件，或清除其类别。" in response.content.decode()
    # A text file named .pdf is refused by its content.
    fake = _files(
        evidence_file_1=("filing_certificate", b"just text, honest", "cert.pdf"),
        evidence_file_2=("tax_invoice", PNG, "invoice.png"),
    )
    response = client.post(url, {**base, **fake})
    assert response.status_code == 200
    assert "文件 cert.pdf 不是 PDF、JPEG 或 PNG 文档。" in response.content.decode()
    assert not Withdrawal.objects.exists()
    # A refusal of the rules comes back on the form, in Chinese.
    good = {
        "evidence_file_1": ("filing_certificate", PDF, "cert.pdf"),
        "evidence_file_2": ("tax_invoice", PNG, "invoice.png"),
    }
    response = client.post(url, {**base, "amount": "20000", **_files(**good)})
    assert "申请金额 20000 超过可提取金额 3000.00。" in response.content.decode()
    assert not Withdrawal.objects.exists()

    response = client.post(url, {**base, **_files(**good)})
    w = Withdrawal.objects.get()
    assert response.status_code == 302
    assert response.url == _url("admin:withdrawals_withdrawal_change", w.pk)
    assert (w.type, w.amount_requested, w.channel) == (
        "rent_filed",
        Decimal("2000.00"),
        "counter",
    )
    assert (w.actor_id, w.payout_card) == (clerk.user_id, "6222020200112233445")
    assert w.declarations == {"rent_paid": "3000.00", "no_home_owned": True}
    assert sorted(
        Evidence.objects.filter(withdrawal=w).values_list("kind", flat=True)
    ) == [
        "filing_certificate",
        "tax_invoice",
    ]
    # The same form again (Back and resend, a double click): filed once.
    again = client.post(url, {**base, **_files(**good)}, follow=True)
    assert Withdrawal.objects.count() == 1 and Evidence.objects.count() == 2
    assert "已提交" in _messages(again) or "already" in _messages(again)


def test_the_counter_form_for_a_closing_type_and_its_permission(
    client, staff, funded, business_day
) -> None:
    account = funded()
    url = _url("admin:withdrawals_withdrawal_file")
    client.force_login(staff("reviewer").user)
    assert client.get(url).status_code == 403
    client.force_login(staff("clerk").user)
    base = {
        "form_token": form_token(client.get(url)),
        "account_no": account.account_no,
        "type": "exit",
        "payout_card": "6222020200112233445",
        "payout_holder": "灵活",
    }
    response = client.post(url, {**base, "amount": "100", "_quote": "1"})
    assert "该类型支付全部余额：金额请留空。" in response.content.decode()
    business_day(dt.date(2026, 1, 20))
    html = client.post(url, {**base, "_quote": "1"}).content.decode()
    assert "截至今日利息" in html and "10000.00" in html and "全部余额" in html
    response = client.post(url, {**base, "account_no": "9999999999"})
    assert "没有此账号的个人账户。" in response.content.decode()
    response = client.post(url, base)
    assert response.status_code == 302
    w = Withdrawal.objects.get()
    assert (w.type, w.amount_requested, w.amount_allowed) == (
        "exit",
        None,
        Decimal("10000.00"),
    )


def test_the_counter_form_refuses_a_file_over_the_size_limit(
    client, staff, settings
) -> None:
    settings.EVIDENCE_MAX_BYTES = 1024
    big = PDF[:-7] + b" " * 5000 + b"%%EOF\n"
    client.force_login(staff("clerk").user)
    url = _url("admin:withdrawals_withdrawal_file")
    response = client.post(
        url,
        {
            "form_token": form_token(client.get(url)),
            "account_no": "1",
            "type": "rent",
            **_files(evidence_file_1=("lease", big, "big.pdf")),
        },
    )
    assert "文件 big.pdf 超过" in response.content.decode()
    assert not Withdrawal.objects.exists()
