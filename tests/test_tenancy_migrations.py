"""The models and the migrations agree: a tenancy condition dropped from a model's constraint (such as
`message_outbound_has_clinic`, "every outbound message names a clinic") shows as a missing migration."""
import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_every_model_change_has_its_migration():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_the_test_schema_of_djstripe_ends_where_djstripes_own_migrations_end(settings):
    """The test databases build dj-stripe's tables from config/djstripe_test_migrations (one migration, seconds)
    instead of dj-stripe's own three (a minute). Both must end at the same schema: the models. With the override
    removed, dj-stripe's own migrations are checked against its models the same way."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    assert loader.migrations_module("djstripe")[0] == "config.djstripe_test_migrations"
    settings.MIGRATION_MODULES = {}
    own = MigrationLoader(None, ignore_no_migrations=True)
    assert own.migrations_module("djstripe")[0] == "djstripe.migrations"
    assert ("djstripe", "0002_2_10") in own.disk_migrations and len(own.disk_migrations[("djstripe", "0002_2_10")].operations) > 100
    call_command("makemigrations", "djstripe", "--check", "--dry-run", verbosity=0)
