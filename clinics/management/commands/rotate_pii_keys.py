"""`manage.py rotate_pii_keys`: re-encrypt every encrypted column with the newest key of PII_ENCRYPTION_KEYS.

Rotation: put the new key first in PII_ENCRYPTION_KEYS (old keys stay listed, so nothing becomes unreadable),
deploy, run this command, and drop an old key only once no row names it. Rows are read and written raw, in
batches by primary key; a row already on the newest key is skipped, and an update applies only if the column
still holds the ciphertext that was read, so a concurrent edit is never overwritten.
"""
from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from clinics.crypto import EncryptedTextField, current_key_id, decrypt, encrypt, key_id_of


def encrypted_columns():
    """(model, [field, ...]) for every concrete model holding EncryptedTextFields."""
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        fields = [field for field in model._meta.concrete_fields if isinstance(field, EncryptedTextField)]
        if fields:
            yield model, fields


class Command(BaseCommand):
    help = "Re-encrypt every EncryptedTextField with the newest PII key."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, **options):
        newest = current_key_id()
        total = 0
        for model, fields in encrypted_columns():
            count = rotate_model(model, fields, newest, options["batch_size"])
            total += count
            if count:
                self.stdout.write(f"{model._meta.label}: {count} value(s) re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"Done: {total} value(s) now on key {newest!r}."))


def rotate_model(model, fields, newest, batch_size=500) -> int:
    quote = connection.ops.quote_name
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    columns = [quote(field.column) for field in fields]
    stale = " OR ".join(f"({column} <> '' AND split_part({column}, ':', 2) <> %s)" for column in columns)
    select = (f"SELECT {pk}, {', '.join(columns)} FROM {table} WHERE {pk} > %s AND ({stale}) "
              f"ORDER BY {pk} LIMIT %s")
    last, changed = None, 0
    while True:
        with connection.cursor() as cursor:
            if last is None:
                cursor.execute(select.replace(f"{pk} > %s AND ", ""), [newest] * len(columns) + [batch_size])
            else:
                cursor.execute(select, [last] + [newest] * len(columns) + [batch_size])
            rows = cursor.fetchall()
        if not rows:
            return changed
        with transaction.atomic(), connection.cursor() as cursor:
            for row in rows:
                key, values = row[0], row[1:]
                for column, stored in zip(columns, values):
                    if not stored or key_id_of(stored) == newest:
                        continue
                    cursor.execute(f"UPDATE {table} SET {column} = %s WHERE {pk} = %s AND {column} = %s",
                                   [encrypt(decrypt(stored)), key, stored])
                    changed += cursor.rowcount
        last = rows[-1][0]
