"""The per-process bank credentials cache (banks.selectors / banks.bankgen).

Another process's change is simulated the way it reaches this one: a raw
UPDATE (no signal here) plus the generation bump its signal would send.
"""

from typing import Any

from django.core.cache import cache
from django.db import connection

from banks.bankgen import GENERATION_KEY, bank_generation_bump
from banks.selectors import bank_credentials_cached
from core.crypto import encrypt_text
from tests.banks.conftest import client_for, error_code


def _raw_update(bank: Any, **columns: Any) -> None:
    sets = ", ".join(f"{name} = %s" for name in columns)
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE accounts_bankpartner SET {sets} WHERE id = %s",
            [*columns.values(), bank.pk],
        )


def test_a_request_fills_the_cache_and_the_next_one_uses_it(api: Any, bank: Any):
    assert bank_credentials_cached(bank.key_id) is None
    assert api.industries().status_code == 200
    cached = bank_credentials_cached(bank.key_id)
    assert cached is not None and cached.partner.pk == bank.pk
    # A change no process announced is not seen: the cache is really used...
    _raw_update(bank, is_active=False)
    assert api.industries().status_code == 200
    # ...and the announcement makes every process read the database again.
    bank_generation_bump()
    refused = api.industries()
    assert refused.status_code == 401
    assert error_code(refused) == "unknown_bank_key"
    assert bank_credentials_cached(bank.key_id) is None


def test_a_secret_rotated_elsewhere_takes_effect_at_once(api: Any, bank: Any):
    assert api.industries().status_code == 200
    _raw_update(bank, secret_encrypted=encrypt_text("new-secret-from-elsewhere"))
    bank_generation_bump()
    assert error_code(api.industries()) == "signature_invalid"
    assert client_for(bank, "new-secret-from-elsewhere").industries().status_code == 200


def test_a_lost_generation_key_invalidates_every_cache(api: Any, bank: Any):
    assert api.industries().status_code == 200
    _raw_update(bank, is_active=False)
    # Redis keeps nothing on disk: after a restart the key is simply gone.
    cache.delete(GENERATION_KEY)
    assert error_code(api.industries()) == "unknown_bank_key"


def test_a_change_through_the_model_is_seen_without_any_help(api: Any, bank: Any):
    from banks.services import bank_partner_set_active

    assert api.industries().status_code == 200
    bank_partner_set_active(partner=bank, is_active=False)
    assert error_code(api.industries()) == "unknown_bank_key"
    bank_partner_set_active(partner=bank, is_active=True)
    assert api.industries().status_code == 200


def test_without_redis_nothing_is_cached_and_requests_still_pass(
    api: Any, bank: Any, settings: Any, open_via_api: Any
):
    from deposits.models import Deposit
    from tests.banks.conftest import deposit_fields

    no = open_via_api(api)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
    assert api.industries().status_code == 200
    assert bank_credentials_cached(bank.key_id) is None
    posted = api.post_deposit(
        idempotency_key="no-redis", **deposit_fields(no, bank_txn_id="NR-1")
    )
    assert posted.status_code == 201, posted.text
    assert Deposit.objects.filter(bank_txn_id="NR-1").count() == 1
    # Uncached, a change made elsewhere is seen by the very next request.
    _raw_update(bank, is_active=False)
    assert error_code(api.industries()) == "unknown_bank_key"
