"""The outbox and the inbox: signed files out, verified files in, each line
in its own transaction, nothing applied twice, nothing half-applied."""

import datetime as dt
import hashlib
import hmac
import json
import os
import stat
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone, translation

from core.exceptions import DomainError
from national import files, inbox
from national.models import (
    DuplicateCheck,
    ExchangeFile,
    NationalMessage,
    NationalRecord,
)
from national.selectors import duplicate_check_state, holds_loan_elsewhere
from national.services import (
    duplicate_check_request,
    inbox_import,
    outbox_export,
    outbox_send,
    register_inbox_handler,
)
from tests.idgen import make_id
from tests.national.conftest import KEY, answer, dumps, file_body, message, signed

pytestmark = pytest.mark.django_db

NUMBER = make_id(dt.date(1988, 4, 2), seq=41)
NOW = dt.datetime(2026, 3, 6, 10, 0, tzinfo=dt.UTC)


def _check(n: int = 1, purpose: str = "loan") -> DuplicateCheck:
    number = make_id(dt.date(1988, 4, 2), seq=40 + n)
    return duplicate_check_request(
        id_number_hash=f"hash-{n}",
        id_number=number,
        purpose=purpose,
        subject=f"{purpose}:S{n}",
    )


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in path.read_bytes().splitlines()]


# --- the outbox ----------------------------------------------------------------


def test_a_sent_id_number_is_stored_encrypted_and_read_back_in_clear(
    files_mode,
) -> None:
    sent = outbox_send(
        platform="transfer",
        kind="transfer_out",
        payload={"id_number": NUMBER, "amount": "12046.00"},
    )
    row = NationalMessage.objects.get(pk=sent.pk)
    assert NUMBER not in json.dumps(row.payload)
    assert "id_number" not in row.payload
    assert row.payload["amount"] == "12046.00"
    assert row.status == "pending" and row.direction == "out"
    assert row.clear_payload() == {"id_number": NUMBER, "amount": "12046.00"}


def test_export_writes_one_signed_file_per_platform_and_marks_exported(
    files_mode, tmp_path
) -> None:
    first, second = _check(1), _check(2)
    transfer = outbox_send(
        platform="transfer", kind="transfer_out", payload={"id_number": NUMBER}
    )
    paths = outbox_export(out_dir=tmp_path, now=NOW)
    assert len(paths) == 2
    by_platform = {_read(p)[0]["platform"]: p for p in paths}
    assert set(by_platform) == {"supervision", "transfer"}

    supervision = by_platform["supervision"]
    raw = supervision.read_bytes()
    lines = _read(supervision)
    header, body, trailer = lines[0], lines[1:-1], lines[-1]
    assert header["format"] == "yantai-hpf-national/1"
    assert header["count"] == 2 and len(body) == 2
    assert [x["message_id"] for x in body] == [
        str(first.request.message_id),
        str(second.request.message_id),
    ]
    assert body[0]["kind"] == "duplicate_check"
    assert body[0]["payload"]["check_id"] == str(first.request.message_id)
    assert body[0]["payload"]["purpose"] == "loan"
    # The platform needs the ID number itself: in clear in the file only.
    assert body[0]["payload"]["id_number"] == make_id(dt.date(1988, 4, 2), seq=41)
    # The trailer signs every byte before it, with the shared key.
    signed_part = raw[: raw.rindex(b"\n", 0, len(raw) - 1) + 1]
    assert trailer["sha256"] == hashlib.sha256(signed_part).hexdigest()
    assert (
        trailer["hmac"]
        == hmac.new(KEY.encode(), signed_part, hashlib.sha256).hexdigest()
    )
    # Clear IDs: only the owner may read the file.
    assert stat.S_IMODE(os.stat(supervision).st_mode) == 0o600

    for row in NationalMessage.objects.filter(direction="out"):
        assert row.status == "exported" and row.exported_at == NOW
        assert row.file.name == (by_platform[row.platform].name), (
            "each message names its file"
        )
    assert NationalMessage.objects.get(pk=transfer.pk).file.line_count == 1
    assert ExchangeFile.objects.filter(direction="out", status="exported").count() == 2

    # Nothing pending: a second export writes nothing.
    assert outbox_export(out_dir=tmp_path, now=NOW) == []
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in paths)


def test_export_of_nothing_writes_no_file(files_mode, tmp_path) -> None:
    assert outbox_export(out_dir=tmp_path / "out") == []
    assert os.listdir(tmp_path / "out") == []
    assert not ExchangeFile.objects.exists()


def test_a_failed_write_leaves_no_file_and_the_messages_pending(
    files_mode, tmp_path, monkeypatch
) -> None:
    _check(1)

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", disk_full)
    with pytest.raises(OSError):
        outbox_export(out_dir=tmp_path, now=NOW)
    assert os.listdir(tmp_path) == []
    assert NationalMessage.objects.get().status == "pending"
    assert not ExchangeFile.objects.exists()
    monkeypatch.undo()
    (path,) = outbox_export(out_dir=tmp_path, now=NOW)
    assert len(_read(path)) == 3


# --- answers ------------------------------------------------------------------


def test_a_clear_answer_clears_the_check_and_answers_the_request(
    files_mode, tmp_path, platform_file
) -> None:
    check = _check(1)
    outbox_export(out_dir=tmp_path, now=NOW)
    assert duplicate_check_state(
        id_number_hash="hash-1", purpose="loan", subject="loan:S1"
    ) == ("pending")
    outcome = inbox_import(path=platform_file([answer(check, hit=False)]))
    assert (outcome.status, outcome.lines, outcome.applied, outcome.refused) == (
        "applied",
        1,
        1,
        0,
    )
    check.refresh_from_db()
    assert check.status == "clear" and check.answered_at is not None
    request = check.request
    request.refresh_from_db()
    assert request.status == "answered" and request.answered_at is not None
    inbound = NationalMessage.objects.get(direction="in")
    assert inbound.status == "applied" and inbound.result
    assert inbound.correlation_id == request.message_id
    assert inbound.file == outcome.file
    assert outcome.file.status == "applied" and outcome.file.applied_count == 1
    assert not NationalRecord.objects.exists()
    assert (
        duplicate_check_state(
            id_number_hash="hash-1", purpose="loan", subject="loan:S1"
        )
        == "clear"
    )


def test_a_hit_answer_records_the_cities_as_national_records(
    files_mode, tmp_path, platform_file, business_day
) -> None:
    business_day(dt.date(2026, 3, 6))
    check = _check(1)
    outcome = inbox_import(
        path=platform_file([answer(check, hit=True, cities=["威海", "青岛"])])
    )
    assert outcome.status == "applied"
    check.refresh_from_db()
    assert (check.status, check.cities) == ("hit", "威海、青岛")
    records = NationalRecord.objects.order_by("city")
    assert [(r.city, r.kind, r.id_number_hash, r.reported_on) for r in records] == [
        ("威海", "loan", "hash-1", dt.date(2026, 3, 6)),
        ("青岛", "loan", "hash-1", dt.date(2026, 3, 6)),
    ]
    assert holds_loan_elsewhere("hash-1")
    # Any later subject of this person is a hit at once, from the mirror.
    assert (
        duplicate_check_state(id_number_hash="hash-1", purpose="loan", subject="x")
        == "hit"
    )


def test_the_same_file_twice_changes_nothing(files_mode, platform_file) -> None:
    check = _check(1)
    path = platform_file([answer(check, hit=False)])
    assert inbox_import(path=path).status == "applied"
    rows = list(NationalMessage.objects.values_list("pk", "status", "result"))
    files = ExchangeFile.objects.count()
    again = inbox_import(path=path)
    assert again.status == "already_applied"
    assert list(NationalMessage.objects.values_list("pk", "status", "result")) == rows
    assert ExchangeFile.objects.count() == files


def test_a_file_applied_before_stays_applied_after_a_key_change(
    files_mode, platform_file, settings
) -> None:
    # Recognised by its content before any check: a rotated exchange key
    # does not turn an old, applied file into a refused one.
    check = _check(1)
    path = platform_file([answer(check, hit=False)])
    assert inbox_import(path=path).status == "applied"
    settings.NATIONAL_EXCHANGE_KEY = "the-next-exchange-key-0123456789abcdef"
    assert inbox_import(path=path).status == "already_applied"
    assert not ExchangeFile.objects.filter(status="refused").exists()


def test_the_same_file_id_with_other_content_is_refused(
    files_mode, platform_file
) -> None:
    check = _check(1)
    assert (
        inbox_import(
            path=platform_file([answer(check, hit=False)], file_id="P-1")
        ).status
        == "applied"
    )
    outcome = inbox_import(
        path=platform_file([answer(check, hit=True, cities=["威海"])], file_id="P-1")
    )
    assert outcome.status == "refused"
    check.refresh_from_db()
    assert check.status == "clear"
    assert not NationalRecord.objects.exists()


def test_a_replayed_message_in_a_new_file_is_skipped(files_mode, platform_file) -> None:
    check = _check(1)
    first = answer(check, hit=False)
    inbox_import(path=platform_file([first]))
    # The same message id again, now saying "hit": skipped by its id.
    replay = answer(check, hit=True, cities=["威海"], message_id=first["message_id"])
    other = _check(2)
    outcome = inbox_import(path=platform_file([replay, answer(other, hit=False)]))
    assert (outcome.status, outcome.applied, outcome.skipped, outcome.refused) == (
        "applied",
        1,
        1,
        0,
    )
    check.refresh_from_db()
    other.refresh_from_db()
    assert (check.status, other.status) == ("clear", "clear")
    assert not NationalRecord.objects.exists()
    assert NationalMessage.objects.filter(direction="in").count() == 2


def test_an_ack_answers_the_outbound_message(files_mode, platform_file) -> None:
    sent = outbox_send(platform="transfer", kind="transfer_out", payload={"n": 1})
    outcome = inbox_import(
        path=platform_file(
            [message("ack", {"message_id": str(sent.message_id)})],
            platform="transfer",
        )
    )
    assert outcome.applied == 1
    sent.refresh_from_db()
    assert sent.status == "answered" and sent.answered_at is not None


def test_an_answer_to_no_check_of_ours_is_refused_on_its_line(
    files_mode, platform_file
) -> None:
    stray = message(
        "duplicate_answer",
        {"check_id": str(uuid.uuid4()), "hit": False, "cities": []},
    )
    outcome = inbox_import(path=platform_file([stray]))
    assert (outcome.status, outcome.applied, outcome.refused) == ("applied", 0, 1)
    row = NationalMessage.objects.get(direction="in")
    assert row.status == "refused" and row.result


# --- a handler refuses its line only -------------------------------------------


def test_a_handler_refusal_rolls_back_its_line_only(
    files_mode, platform_file, monkeypatch, business_day
) -> None:
    business_day(dt.date(2026, 3, 6))
    monkeypatch.setattr(inbox, "_HANDLERS", {})

    def handler(row: NationalMessage) -> str:
        # A write, then maybe the refusal: the write must not survive it.
        NationalRecord.objects.create(
            id_number_hash=row.payload["who"], city="烟台", reported_on=dt.date.today()
        )
        if row.payload.get("refuse"):
            raise DomainError("refused by the handler", "nope")
        return "recorded " + row.payload["who"]

    register_inbox_handler("test_kind", handler)
    check = _check(1)
    lines = [
        message("test_kind", {"who": "a"}),
        message("test_kind", {"who": "b", "refuse": True}),
        message("unknown_kind", {"who": "c"}),
        answer(check, hit=False),
    ]
    outcome = inbox_import(path=platform_file(lines))
    assert (outcome.status, outcome.applied, outcome.refused) == ("applied", 2, 2)
    assert list(NationalRecord.objects.values_list("id_number_hash", flat=True)) == [
        "a"
    ]
    rows = {r.message_id: r for r in NationalMessage.objects.filter(direction="in")}
    a, b, c, d = (rows[uuid.UUID(x["message_id"])] for x in lines)
    assert (a.status, a.result) == ("applied", "recorded a")
    assert (b.status, b.result) == ("refused", "refused by the handler")
    assert c.status == "refused" and "unknown_kind" in c.result
    assert d.status == "applied"
    check.refresh_from_db()
    assert check.status == "clear"
    assert "refused by the handler" in outcome.file.result

    # The platform sends the refused message again, now acceptable: applied.
    again = dict(lines[1], payload={"who": "b"})
    retry = inbox_import(path=platform_file([again]))
    assert retry.applied == 1
    b.refresh_from_db()
    assert (b.status, b.result, b.file) == ("applied", "recorded b", retry.file)


def test_builtin_kinds_cannot_be_taken_over() -> None:
    for kind in ("duplicate_answer", "ack"):
        with pytest.raises(ValueError):
            register_inbox_handler(kind, lambda row: "")


def test_an_unexpected_error_interrupts_and_a_second_import_resumes(
    files_mode, platform_file, monkeypatch
) -> None:
    monkeypatch.setattr(inbox, "_HANDLERS", {})
    broken = {"yes": True}

    def handler(row: NationalMessage) -> str:
        if row.payload["n"] == 2 and broken["yes"]:
            raise RuntimeError("database went away")
        return "ok %s" % row.payload["n"]

    register_inbox_handler("test_kind", handler)
    lines = [message("test_kind", {"n": n}) for n in (1, 2, 3)]
    path = platform_file(lines)
    outcome = inbox_import(path=path)
    assert (outcome.status, outcome.applied) == ("interrupted", 1)
    assert outcome.file.status == "importing"
    assert NationalMessage.objects.filter(direction="in").count() == 1
    broken["yes"] = False
    resumed = inbox_import(path=path)
    assert (resumed.status, resumed.applied, resumed.skipped) == ("applied", 3, 0)
    assert resumed.file.pk == outcome.file.pk
    assert sorted(
        NationalMessage.objects.filter(direction="in").values_list("result", flat=True)
    ) == ["ok 1", "ok 2", "ok 3"]
    assert inbox_import(path=path).status == "already_applied"


# --- refused whole -------------------------------------------------------------


def _nothing_applied(check: DuplicateCheck) -> None:
    check.refresh_from_db()
    assert check.status == "pending"
    assert not NationalMessage.objects.filter(direction="in").exists()
    assert not NationalRecord.objects.exists()


def _refused(outcome: Any, words: str) -> None:
    assert outcome.status == "refused"
    assert outcome.file.status == "refused"
    with translation.override("en"):
        assert words in outcome.reason, outcome.reason
    assert outcome.file.result == outcome.reason


def _two_answers() -> tuple[DuplicateCheck, list[dict[str, Any]]]:
    check, other = _check(1), _check(2)
    return check, [answer(check, hit=True, cities=["威海"]), answer(other, hit=False)]


@pytest.fixture
def english():
    with translation.override("en"):
        yield


def test_a_tampered_line_refuses_the_whole_file(
    english, files_mode, platform_file
) -> None:
    check, lines = _two_answers()
    data = signed(file_body(lines))
    # One byte of the second message line changed (a hex digit of its id).
    start = data.index(b"\n") + 1
    second = data.index(b"\n", start) + 1
    at = data.index(b'"message_id":"', second) + len(b'"message_id":"')
    digit = b"1" if data[at : at + 1] != b"1" else b"2"
    tampered = data[:at] + digit + data[at + 1 :]
    assert len(tampered) == len(data) and tampered != data
    outcome = inbox_import(path=platform_file([], data=tampered))
    _refused(outcome, "SHA-256")
    _nothing_applied(check)


def test_a_file_signed_with_another_key_is_refused(
    english, files_mode, platform_file
) -> None:
    # Its SHA-256 matches: only the HMAC tells it was not signed by the
    # platform.
    check, lines = _two_answers()
    forged = signed(file_body(lines), key="not-the-shared-key-0123456789abcdef")
    outcome = inbox_import(path=platform_file([], data=forged))
    _refused(outcome, "signature")
    _nothing_applied(check)


def test_a_trailer_with_a_wrong_sha256_is_refused(
    english, files_mode, platform_file
) -> None:
    check, lines = _two_answers()
    body = file_body(lines)
    trailer = {
        "sha256": hashlib.sha256(b"something else").hexdigest(),
        "hmac": hmac.new(KEY.encode(), body, hashlib.sha256).hexdigest(),
    }
    outcome = inbox_import(path=platform_file([], data=body + dumps(trailer) + b"\n"))
    _refused(outcome, "SHA-256")
    _nothing_applied(check)


def test_a_truncated_file_is_refused(english, files_mode, platform_file) -> None:
    check, lines = _two_answers()
    data = signed(file_body(lines))
    without_trailer = data[: data.rindex(b"\n", 0, len(data) - 1) + 1]
    _refused(inbox_import(path=platform_file([], data=without_trailer)), "truncated")
    _refused(inbox_import(path=platform_file([], data=data[:-10])), "truncated")
    # Even the last line break alone: every line of the format ends with one.
    outcome = inbox_import(path=platform_file([], data=data[:-1]))
    _refused(outcome, "does not end with a line break")
    _nothing_applied(check)


def test_a_malformed_line_is_refused(english, files_mode, platform_file) -> None:
    check, lines = _two_answers()
    header_and_first = file_body(lines[:1], count=2)
    data = signed(header_and_first + b'{"message_id": "x", "kind": \n')
    _refused(inbox_import(path=platform_file([], data=data)), "Line 3")
    missing_payload = dict(lines[1])
    del missing_payload["payload"]
    data = signed(file_body([lines[0], missing_payload]))
    _refused(inbox_import(path=platform_file([], data=data)), "payload")
    _nothing_applied(check)


def test_a_wrong_count_is_refused(english, files_mode, platform_file) -> None:
    check, lines = _two_answers()
    outcome = inbox_import(path=platform_file(lines, count=3))
    _refused(outcome, "announces 3 messages but the file has 2")
    _nothing_applied(check)


def test_a_message_twice_in_one_file_is_refused(
    english, files_mode, platform_file
) -> None:
    check, lines = _two_answers()
    outcome = inbox_import(path=platform_file([lines[0], lines[0]]))
    _refused(outcome, "repeats message")
    _nothing_applied(check)


def test_a_file_of_our_own_export_is_refused(english, files_mode, tmp_path) -> None:
    check = _check(1)
    (path,) = outbox_export(out_dir=tmp_path, now=NOW)
    outcome = inbox_import(path=path)
    _refused(outcome, "exported by this center")
    check.refresh_from_db()
    assert check.status == "pending"
    assert not NationalMessage.objects.filter(direction="in").exists()


def test_a_refused_file_is_recorded_once_and_accepted_when_sent_right(
    files_mode, platform_file
) -> None:
    check, lines = _two_answers()
    body = file_body(lines, file_id="P-7")
    bad = platform_file([], data=body + b"\n")
    assert inbox_import(path=bad).status == "refused"
    assert inbox_import(path=bad).status == "refused"
    assert ExchangeFile.objects.filter(status="refused").count() == 1
    # The same file id, now whole: applied.
    good = inbox_import(path=platform_file([], data=signed(body)))
    assert (good.status, good.applied) == ("applied", 2)
    check.refresh_from_db()
    assert check.status == "hit"


# --- privacy -------------------------------------------------------------------


def test_the_id_number_is_never_stored_in_clear(
    files_mode, tmp_path, platform_file, monkeypatch
) -> None:
    monkeypatch.setattr(inbox, "_HANDLERS", {})
    seen = []
    register_inbox_handler(
        "transfer_in", lambda row: seen.append(row.clear_payload()["id_number"]) or ""
    )
    number = make_id(dt.date(1988, 4, 2), seq=41)
    _check(1)
    inbound = make_id(dt.date(1979, 8, 30), seq=77)
    inbox_import(
        path=platform_file(
            [message("transfer_in", {"id_number": inbound, "amount": "1.00"})],
            platform="transfer",
        )
    )
    assert seen == [inbound]
    stored = json.dumps(list(NationalMessage.objects.values("payload", "result")))
    for clear in (number, inbound, number[6:14], inbound[6:14]):
        assert clear not in stored
    (path,) = outbox_export(out_dir=tmp_path, now=NOW)
    assert number in path.read_text(encoding="utf-8")


def test_messages_waiting_are_the_unanswered_outbound_older_than_the_limit(
    files_mode, platform_file
) -> None:
    from national.selectors import messages_waiting, pending_checks

    now = timezone.now()
    old, answered = _check(1), _check(2)
    NationalMessage.objects.filter(pk=old.request_id).update(
        created_at=now - dt.timedelta(hours=50)
    )
    NationalMessage.objects.filter(pk=answered.request_id).update(
        created_at=now - dt.timedelta(hours=50)
    )
    _check(3)  # recent
    inbox_import(path=platform_file([answer(answered, hit=False)]))
    waiting = messages_waiting(dt.timedelta(hours=48), now=now)
    assert [m.pk for m in waiting] == [old.request_id]
    assert [c.subject for c in pending_checks()] == ["loan:S1", "loan:S3"]
