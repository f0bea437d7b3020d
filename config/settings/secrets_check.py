"""Refuse to start production on weak or example secrets.

Kept free of Django settings imports so tests can call it directly. Every
message names the variable and never its value: the error ends up in
container logs and CI output.
"""

from collections.abc import Iterable, Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

ENV_EXAMPLE_PATH = Path(__file__).resolve().parent.parent.parent / ".env.example"

# The defaults base.py falls back to, and the prefix Django's startproject
# writes: a key with either prefix was never meant for production.
INSECURE_PREFIXES = ("dev-only", "django-insecure-")
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE_CHARACTERS = 5
ID_HASH_KEY_MIN_LENGTH = 32
# A missing NATIONAL_EXCHANGE_KEY does not stop the start: the exchange
# itself refuses to sign or verify without it (national.services), so the
# rest of the back office keeps working while it is being set up.
NATIONAL_EXCHANGE_KEY_MIN_LENGTH = 32
# Shorter example values ("true", a host name) are too common as substrings
# of a random key for containment to mean the key was copied from the file.
EXAMPLE_SUBSTRING_MIN_LENGTH = 8


def read_env_example(path: Path = ENV_EXAMPLE_PATH) -> dict[str, str]:
    """Every ``NAME=value`` in ``.env.example``; empty when the file is absent."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        values[name.strip()] = value.strip().strip("'\"")
    return values


def _example_values(example_env: Mapping[str, str]) -> set[str]:
    values = set()
    for value in example_env.values():
        values.add(value)
        # FIELD_ENCRYPTION_KEYS is a list: each of its items is an example too.
        values.update(item.strip() for item in value.split(","))
    values.discard("")
    return values


def _copied_from_example(secret: str, examples: Iterable[str]) -> bool:
    return any(
        secret == example
        or (len(example) >= EXAMPLE_SUBSTRING_MIN_LENGTH and example in secret)
        for example in examples
    )


def _is_fernet_key(key: str) -> bool:
    from cryptography.fernet import Fernet

    try:
        Fernet(key.encode())
    except (ValueError, TypeError):
        return False
    return True


def production_secret_problems(
    *,
    secret_key: str,
    field_encryption_keys: Iterable[str],
    id_hash_key: str,
    example_env: Mapping[str, str] | None = None,
    national_exchange_key: str = "",
    national_link: str = "files",
) -> list[str]:
    """What is wrong with the secrets, one English sentence per problem."""
    if example_env is None:
        example_env = read_env_example()
    examples = _example_values(example_env)
    problems = []

    if not secret_key:
        problems.append("DJANGO_SECRET_KEY is not set.")
    elif secret_key.startswith(INSECURE_PREFIXES):
        problems.append("DJANGO_SECRET_KEY is a development default.")
    elif _copied_from_example(secret_key, examples):
        problems.append("DJANGO_SECRET_KEY is taken from .env.example.")
    elif len(secret_key) < SECRET_KEY_MIN_LENGTH:
        problems.append(
            "DJANGO_SECRET_KEY is too short: at least %d characters are needed."
            % SECRET_KEY_MIN_LENGTH
        )
    elif len(set(secret_key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        problems.append(
            "DJANGO_SECRET_KEY has fewer than %d distinct characters."
            % SECRET_KEY_MIN_UNIQUE_CHARACTERS
        )

    keys = [key.strip() for key in field_encryption_keys if key.strip()]
    if not keys:
        problems.append("FIELD_ENCRYPTION_KEYS is not set.")
    for index, key in enumerate(keys):
        # Positions, not values, tell the operator which key to replace.
        if not _is_fernet_key(key):
            problems.append(
                "FIELD_ENCRYPTION_KEYS item %d is not a Fernet key." % (index + 1)
            )
        elif _copied_from_example(key, examples):
            problems.append(
                "FIELD_ENCRYPTION_KEYS item %d is taken from .env.example."
                % (index + 1)
            )

    if not id_hash_key:
        problems.append("ID_HASH_KEY is not set.")
    elif _copied_from_example(id_hash_key, examples):
        problems.append("ID_HASH_KEY is taken from .env.example.")
    elif len(id_hash_key) < ID_HASH_KEY_MIN_LENGTH:
        problems.append(
            "ID_HASH_KEY is too short: at least %d characters are needed."
            % ID_HASH_KEY_MIN_LENGTH
        )
    elif id_hash_key == secret_key:
        # One leaked key must not open both the sessions and the ID lookups.
        problems.append("ID_HASH_KEY must differ from DJANGO_SECRET_KEY.")

    if national_exchange_key:
        if _copied_from_example(national_exchange_key, examples):
            problems.append("NATIONAL_EXCHANGE_KEY is taken from .env.example.")
        elif len(national_exchange_key) < NATIONAL_EXCHANGE_KEY_MIN_LENGTH:
            problems.append(
                "NATIONAL_EXCHANGE_KEY is too short: at least %d characters are "
                "needed." % NATIONAL_EXCHANGE_KEY_MIN_LENGTH
            )
        elif national_exchange_key in (secret_key, id_hash_key):
            # It is shared with the platforms: it must open nothing else.
            problems.append(
                "NATIONAL_EXCHANGE_KEY must differ from DJANGO_SECRET_KEY and "
                "ID_HASH_KEY."
            )
    if national_link != "files":
        # Loopback answers every duplicate check from the local mirror alone.
        problems.append("NATIONAL_LINK must be files in production.")

    return problems


def check_production_secrets(
    *,
    secret_key: str,
    field_encryption_keys: Iterable[str],
    id_hash_key: str,
    example_env: Mapping[str, str] | None = None,
    national_exchange_key: str = "",
    national_link: str = "files",
) -> None:
    problems = production_secret_problems(
        secret_key=secret_key,
        field_encryption_keys=field_encryption_keys,
        id_hash_key=id_hash_key,
        example_env=example_env,
        national_exchange_key=national_exchange_key,
        national_link=national_link,
    )
    if problems:
        raise ImproperlyConfigured(
            "Refusing to start production: " + " ".join(problems)
        )
