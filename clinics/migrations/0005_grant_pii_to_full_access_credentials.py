"""`pii` (decrypted personal data) became a permission of its own (docs/api/README.md, "API key permissions").

Before it, every key and token that could `read` read decrypted personal data. Existing full-access credentials
(an API key with `write`, an OAuth access token granted `write`) keep that: they are given `pii` here. Existing
read-only keys and tokens are not: they read masked values from now on, which is the fix. Reversing removes
`pii` from every key and token, as before the permission existed (when `read` alone decrypted).
"""
from django.db import migrations


def grant_pii(apps, schema_editor):
    ApiKey = apps.get_model("clinics", "ApiKey")
    for key in ApiKey.objects.all().only("id", "permissions"):
        if "write" in key.permissions and "pii" not in key.permissions:
            key.permissions = sorted({*key.permissions, "pii"})
            key.save(update_fields=["permissions"])
    AccessToken = apps.get_model("oauth2_provider", "AccessToken")
    for token in AccessToken.objects.filter(scope__regex=r"(^| )write( |$)").only("id", "scope"):
        scopes = token.scope.split()
        if "pii" not in scopes:
            token.scope = " ".join([*scopes, "pii"])
            token.save(update_fields=["scope"])


def remove_pii(apps, schema_editor):
    ApiKey = apps.get_model("clinics", "ApiKey")
    for key in ApiKey.objects.all().only("id", "permissions"):
        if "pii" in key.permissions:
            key.permissions = [permission for permission in key.permissions if permission != "pii"]
            key.save(update_fields=["permissions"])
    AccessToken = apps.get_model("oauth2_provider", "AccessToken")
    for token in AccessToken.objects.filter(scope__regex=r"(^| )pii( |$)").only("id", "scope"):
        token.scope = " ".join(scope for scope in token.scope.split() if scope != "pii")
        token.save(update_fields=["scope"])


class Migration(migrations.Migration):

    dependencies = [
        ("clinics", "0004_user_support_clinics"),
        ("oauth2_provider", "0022_refreshtoken_token_family_index"),
    ]

    operations = [migrations.RunPython(grant_pii, remove_pii)]
