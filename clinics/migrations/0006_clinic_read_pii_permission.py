from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("clinics", "0005_grant_pii_to_full_access_credentials"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="clinic",
            options={"ordering": ["name"],
                     "permissions": [("read_pii", "Can read personal data unmasked in Django admin")]},
        ),
    ]
