"""The models and the migrations agree: a tenancy condition dropped from a model's constraint (such as
`message_outbound_has_clinic`, "every outbound message names a clinic") shows as a missing migration."""
import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_every_model_change_has_its_migration():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
