"""Empty: see 0001_initial (billing's migrations depend on this name)."""
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("djstripe", "0001_initial")]
    operations = []
