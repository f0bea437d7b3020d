"""Schemathesis against /api/schema/, every request validly signed: no 500.

The number of generated requests per operation and mode is FUZZ_EXAMPLES
(small by default so CI stays fast); ``bench/api_fuzz.py`` runs it with
enough examples for more than 2,000 requests and prints the count.
"""

import json
import os
import secrets
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core import NOT_SET

from tests.banks.conftest import account_fields, client_for, loan_fields

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
STATUS_COUNTS: Counter[int] = Counter()
_SIGNING_HEADERS = {
    "x-bank-key",
    "x-timestamp",
    "x-signature",
    "x-signature-version",
    "idempotency-key",
}
_KEY_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def _schema() -> Any:
    from django.test import Client

    doc = json.loads(Client().get("/api/schema/?format=json").content)
    return schemathesis.openapi.from_dict(doc)


OPERATIONS = [
    ("/api/v1/accounts/", "POST"),
    ("/api/v1/accounts/{account_no}/", "GET"),
    ("/api/v1/accounts/{account_no}/credit-profile/", "GET"),
    ("/api/v1/accounts/{account_no}/exit/", "POST"),
    ("/api/v1/deposits/", "POST"),
    ("/api/v1/withdrawals/{withdrawal_id}/", "GET"),
    ("/api/v1/loan-estimates/", "POST"),
    ("/api/v1/loan-applications/", "POST"),
    ("/api/v1/loans/{loan_no}/", "GET"),
    ("/api/v1/loans/{loan_no}/schedule/", "GET"),
    ("/api/v1/loans/{loan_no}/disbursement/", "POST"),
    ("/api/v1/loans/{loan_no}/repayments/", "POST"),
    ("/api/v1/statements/{date}/", "GET"),
    ("/api/v1/industries/", "GET"),
]


def _loan(api: Any, request: pytest.FixtureRequest, *, disburse: bool) -> str:
    from loans.models import Loan
    from loans.services import loan_approve

    borrower = request.getfixturevalue("borrower")
    staff = request.getfixturevalue("staff")
    filed = api.apply_loan(**loan_fields(borrower.account_no, amount="100000.00"))
    assert filed.status_code == 201, filed.text
    loan_no = filed.json()["loan_no"]
    for _reviewer in range(2):
        loan_approve(loan=Loan.objects.get(loan_no=loan_no), actor=staff("reviewer"))
    if disburse:
        disbursed = api.disburse_loan(
            loan_no, bank_txn_id="FUZZ-D1", disbursed_on="2026-01-10"
        )
        assert disbursed.status_code == 201, disbursed.text
    return loan_no


@pytest.mark.django_db
@pytest.mark.parametrize("path, method", OPERATIONS)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_500_for_generated_requests(
    path: str,
    method: str,
    mode: GenerationMode,
    bank: Any,
    today: Any,
    request: pytest.FixtureRequest,
) -> None:
    from banks.services import consent_grant

    api = client_for(bank)
    opened = api.open_account(**account_fields(500))
    assert opened.status_code == 201
    real_no = opened.json()["account_no"]
    from accounts.models import FundAccount

    consent_grant(
        depositor=FundAccount.objects.get(account_no=real_no).depositor, bank=bank
    )
    real_withdrawal = ""
    if "{withdrawal_id}" in path:
        filed = api.exit_account(real_no)
        assert filed.status_code == 201, filed.text
        real_withdrawal = filed.json()["withdrawal_id"]
    real_loan = ""
    if "{loan_no}" in path:
        # Approved for the disbursement, active for the rest, so that
        # generated bodies reach the schedule and the allocation.
        real_loan = _loan(api, request, disburse=not path.endswith("/disbursement/"))
    operation = _schema()[path][method]
    sent = 0

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run(case: Any, data: Any) -> None:
        nonlocal sent
        body = case.body
        path_parameters = dict(case.path_parameters or {})
        # Often point at a real account, so deeper code runs too.
        if data.draw(st.booleans()):
            if "account_no" in path_parameters:
                path_parameters["account_no"] = real_no
            if "withdrawal_id" in path_parameters:
                path_parameters["withdrawal_id"] = real_withdrawal
            if "loan_no" in path_parameters:
                path_parameters["loan_no"] = real_loan
            if isinstance(body, dict) and "account_no" in body:
                body = {**body, "account_no": real_no}
        case.path_parameters = path_parameters
        target = case.formatted_path
        query = {k: v for k, v in (case.query or {}).items()}
        headers = {
            k: v
            for k, v in (case.headers or {}).items()
            if k.lower() not in _SIGNING_HEADERS and str(v).isascii()
        }
        key = (case.headers or {}).get("Idempotency-Key")
        if not isinstance(key, str) or not key or not set(key) <= _KEY_CHARS:
            key = secrets.token_hex(8)
        if body is NOT_SET:
            raw = None
        elif isinstance(body, bytes):
            raw = body
        else:
            raw = json.dumps(body, default=str).encode()
        from urllib.parse import urlencode

        if query:
            target += "?" + urlencode(query, doseq=True)
        response = api.request(
            method,
            target,
            raw_body=raw,
            idempotency_key=key[:64] if method == "POST" else None,
            extra_headers=headers,
        )
        sent += 1
        STATUS_COUNTS[response.status_code] += 1
        assert response.status_code < 500, (method, target, raw, response.text)
        payload = response.json()
        if response.status_code >= 400:
            assert set(payload) == {"error"}
            assert payload["error"]["code"] and payload["error"]["message"]

    run()
    assert sent >= EXAMPLES // 2
    report = os.environ.get("FUZZ_REPORT")
    if report:
        with open(report, "a") as fh:
            fh.write(
                json.dumps({"op": f"{method} {path}", "mode": mode.value, "sent": sent})
                + "\n"
            )
