"""Writes of the partner-bank API, one module per subject; import from here.

- ``idempotency``: claim a key once, store and replay its first response;
- ``request_log``: the API request log and its masking of personal data;
- ``consents``: credit-profile consents;
- ``partners``: partner switches (active, details, signing policy);
- ``webhooks``: outbox events delivered to the banks, signed.

The SQL parts the deposit fast path composes into its own statements
(``*_CTE``, ``*_params``) live beside the functions that write the same rows.
"""

from banks.services.consents import (
    consent_grant,
    consent_revoke,
)
from banks.services.idempotency import (
    IDEMPOTENCY_CLAIM_CTE,
    IDEMPOTENCY_DONE_CTE,
    IDEMPOTENCY_KEEP_DAYS,
    IDEMPOTENCY_LEASE_SECONDS,
    Claim,
    IdempotencyCompletion,
    idempotency_claim,
    idempotency_claim_params,
    idempotency_complete,
    idempotency_done_params,
    idempotency_keys_purge,
    idempotency_release,
    idempotency_wait,
    response_text,
)
from banks.services.partners import (
    bank_code_required,
    bank_partner_set_active,
    bank_partner_update,
    bank_signing_policy_set,
)
from banks.services.request_log import (
    LOG_ALLOWED_FIELDS,
    REQUEST_LOG_CTE,
    api_request_log_create,
    mask_id_number_value,
    mask_name_value,
    mask_phone_value,
    masked_body,
    masked_fields,
    masked_path,
    request_log_params,
    request_log_row,
)
from banks.services.webhooks import (
    HEADER_EVENT_ID,
    HEADER_EVENT_TOPIC,
    WEBHOOK_BASE_DELAY_SECONDS,
    WEBHOOK_CLAIM_SECONDS,
    WEBHOOK_MAX_ATTEMPTS,
    WEBHOOK_MAX_DELAY_SECONDS,
    WEBHOOK_TIMEOUT_SECONDS,
    DeliverySummary,
    outbox_deliver_due,
    outbox_event_deliver,
    retry_delay_seconds,
    webhook_body,
    webhook_headers,
)

__all__ = [
    "Claim",
    "DeliverySummary",
    "HEADER_EVENT_ID",
    "HEADER_EVENT_TOPIC",
    "IDEMPOTENCY_CLAIM_CTE",
    "IDEMPOTENCY_DONE_CTE",
    "IDEMPOTENCY_KEEP_DAYS",
    "IDEMPOTENCY_LEASE_SECONDS",
    "IdempotencyCompletion",
    "LOG_ALLOWED_FIELDS",
    "REQUEST_LOG_CTE",
    "WEBHOOK_BASE_DELAY_SECONDS",
    "WEBHOOK_CLAIM_SECONDS",
    "WEBHOOK_MAX_ATTEMPTS",
    "WEBHOOK_MAX_DELAY_SECONDS",
    "WEBHOOK_TIMEOUT_SECONDS",
    "api_request_log_create",
    "bank_code_required",
    "bank_partner_set_active",
    "bank_partner_update",
    "bank_signing_policy_set",
    "consent_grant",
    "consent_revoke",
    "idempotency_claim",
    "idempotency_claim_params",
    "idempotency_complete",
    "idempotency_done_params",
    "idempotency_keys_purge",
    "idempotency_release",
    "idempotency_wait",
    "mask_id_number_value",
    "mask_name_value",
    "mask_phone_value",
    "masked_body",
    "masked_fields",
    "masked_path",
    "outbox_deliver_due",
    "outbox_event_deliver",
    "request_log_params",
    "request_log_row",
    "response_text",
    "retry_delay_seconds",
    "webhook_body",
    "webhook_headers",
]
