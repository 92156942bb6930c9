"""Personal data at rest: AES-256-GCM with rotatable keys, and HMAC blind indexes for search.

Stored form of an encrypted value: `v1:<key id>:<base64(nonce + ciphertext + tag)>`. Keys come from
`PII_ENCRYPTION_KEYS` (newest first, `id:base64key` pairs); old keys stay listed so old rows stay readable, and
`manage.py rotate_pii_keys` re-encrypts rows with the newest key. Search never decrypts: a row stores keyed
hashes (`PII_BLIND_INDEX_KEY`) of normalised values, and a query hashes its terms the same way.
"""
import base64
import hashlib
import hmac
import os
import re
import unicodedata
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "v1"


@lru_cache(maxsize=8)
def _keys(raw_setting: tuple) -> list[tuple[str, bytes]]:
    keys = []
    for item in raw_setting:
        key_id, _, encoded = item.partition(":")
        key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        if not key_id or len(key) != 32:
            raise ImproperlyConfigured("PII_ENCRYPTION_KEYS entries are 'id:base64(32 bytes)'")
        keys.append((key_id, key))
    if not keys:
        raise ImproperlyConfigured("PII_ENCRYPTION_KEYS is empty")
    return keys


def keyring() -> list[tuple[str, bytes]]:
    return _keys(tuple(settings.PII_ENCRYPTION_KEYS))


def current_key_id() -> str:
    return keyring()[0][0]


def encrypt(plaintext: str) -> str:
    key_id, key = keyring()[0]
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), None)
    return f"{PREFIX}:{key_id}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt(stored: str) -> str:
    prefix, key_id, payload = stored.split(":", 2)
    if prefix != PREFIX:
        raise ValueError("unknown ciphertext format")
    key = dict(keyring()).get(key_id)
    if key is None:
        raise ImproperlyConfigured(f"PII key {key_id!r} is no longer in PII_ENCRYPTION_KEYS")
    raw = base64.b64decode(payload)
    return AESGCM(key).decrypt(raw[:12], raw[12:], None).decode()


def key_id_of(stored: str | None) -> str | None:
    return stored.split(":", 2)[1] if stored else None


def normalise_text(value: str) -> str:
    """Lower case, accents stripped, single spaces: 'Maria  da Silva' and 'MARIA DA SÍLVA' match."""
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s@.+-]", " ", stripped.lower())).strip()


def name_tokens(value: str) -> list[str]:
    """Each word of two or more letters, so 'maria silva' finds 'Maria da Silva'."""
    return sorted({token for token in normalise_text(value).split(" ") if len(token) >= 2})


def blind_index(value: str, purpose: str) -> str:
    """Keyed hash of a normalised value; `purpose` separates the phone index from the name index."""
    key = settings.PII_BLIND_INDEX_KEY.encode()
    message = f"{purpose}:{value}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


MIN_PREFIX = 2


def name_prefix_hashes(tokens, purpose: str = "name-prefix") -> list[str]:
    """Keyed hashes of each token's prefixes of MIN_PREFIX letters and more (the whole token included): a search
    for "Mar" looks up the hash of "mar" and finds "Maria Silva" without the name leaving its ciphertext."""
    prefixes = {token[:length] for token in tokens for length in range(MIN_PREFIX, len(token) + 1)}
    return [blind_index(prefix, purpose) for prefix in sorted(prefixes)]


class Encryptor:
    """`encrypt` for many values (a bulk import): one AES-GCM object for the newest key, built once, a fresh nonce for
    each value. The stored form is exactly `encrypt`'s, so `decrypt` and key rotation read it as any other value."""

    def __init__(self):
        self.key_id, key = keyring()[0]
        self._aead = AESGCM(key)

    def __call__(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), None)
        return f"{PREFIX}:{self.key_id}:{base64.b64encode(nonce + sealed).decode()}"


class BlindIndexer:
    """`blind_index` and `name_prefix_hashes` for many values (a bulk import): the keyed HMAC state of each purpose is
    built once and copied for each value, and a value hashed once is remembered (the people of a batch share most of
    their name prefixes). Same digests as `blind_index`. Plaintexts are kept in memory while the object lives: make
    one per batch, never a long-lived one."""

    def __init__(self):
        self._key = settings.PII_BLIND_INDEX_KEY.encode()
        self._states = {}
        self._known = {}

    def __call__(self, value: str, purpose: str) -> str:
        digest = self._known.get((purpose, value))
        if digest is None:
            state = self._states.get(purpose)
            if state is None:
                state = self._states[purpose] = hmac.new(self._key, f"{purpose}:".encode(), hashlib.sha256)
            keyed = state.copy()
            keyed.update(value.encode())
            digest = self._known[(purpose, value)] = keyed.hexdigest()[:32]
        return digest

    def name_prefix_hashes(self, tokens, purpose: str = "name-prefix") -> list[str]:
        prefixes = {token[:length] for token in tokens for length in range(MIN_PREFIX, len(token) + 1)}
        return [self(prefix, purpose) for prefix in sorted(prefixes)]


class EncryptedTextField(models.TextField):
    """A text column holding AES-GCM ciphertext; Python code sees the plaintext."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "clinics.crypto.EncryptedTextField", args, kwargs


class BlindIndexArrayField(ArrayField):
    """The keyed hashes of a row's searchable tokens (GIN-indexable)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("base_field", models.CharField(max_length=32))
        kwargs.setdefault("default", list)
        kwargs.setdefault("blank", True)
        super().__init__(**kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        kwargs.pop("base_field", None)
        return name, "clinics.crypto.BlindIndexArrayField", args, kwargs


def _is_ciphertext(value: str) -> bool:
    try:
        decrypt(value)
    except Exception:  # not our format, or plaintext that merely looks like it
        return False
    return True


def encrypt_column(schema_editor, table: str, column: str, batch: int = 500) -> int:
    """Data migration step: encrypt the plaintext values of `table.column` in place (values already encrypted
    and empty ones stay as they are); returns how many rows changed. Raw SQL, so that it runs whatever field class
    the historical model holds."""
    return _rewrite_column(schema_editor, table, column, batch,
                           lambda value: None if _is_ciphertext(value) else encrypt(value))


def decrypt_column(schema_editor, table: str, column: str, batch: int = 500) -> int:
    """The reverse of `encrypt_column`: back to plaintext (values that are not ciphertext stay)."""
    return _rewrite_column(schema_editor, table, column, batch,
                           lambda value: decrypt(value) if _is_ciphertext(value) else None)


def encrypt_columns_in_place(*columns: tuple[str, str]):
    """The data-migration operation of a migration that makes `(table, column)` pairs encrypted fields: encrypts
    the rows stored in plaintext (`encrypt_column`) and, reversed, decrypts them again. Put it after the field
    changes (a short varchar becomes text that fits its ciphertext), so that it is reversed first."""
    from django.db import migrations

    def encrypt_existing(apps, schema_editor):
        for table, column in columns:
            encrypt_column(schema_editor, table, column)

    def decrypt_existing(apps, schema_editor):
        for table, column in columns:
            decrypt_column(schema_editor, table, column)

    return migrations.RunPython(encrypt_existing, decrypt_existing)


def _rewrite_column(schema_editor, table, column, batch, transform) -> int:
    quote = schema_editor.quote_name
    changed, last = 0, None
    with schema_editor.connection.cursor() as cursor:
        while True:
            # Keyset over the primary key: bounded memory on a large table.
            after = "AND id > %s" if last is not None else ""
            cursor.execute(f"SELECT id, {quote(column)} FROM {quote(table)} WHERE {quote(column)} <> '' {after} "
                           f"ORDER BY id LIMIT %s", [last, batch] if last is not None else [batch])
            rows = cursor.fetchall()
            if not rows:
                return changed
            for pk, value in rows:
                new = transform(value)
                if new is not None:
                    cursor.execute(f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE id = %s", [new, pk])
                    changed += 1
            last = rows[-1][0]
