"""The voice provider's agent id becomes a unique column (issue 12, item 2): it routes post-call transcripts, so
one id must never name two clinics' agents. Existing ids are copied from `elevenlabs_metadata`; where two agents
claim the same id, the oldest keeps it (it was the one the webhook already chose) and the others lose it until
their admin sets an id of their own."""
from django.db import migrations, models


def copy_provider_ids(apps, schema_editor):
    Agent = apps.get_model("telephony", "Agent")
    claimed = set()
    for agent in Agent.objects.order_by("created_at", "id"):
        provider_id = str((agent.elevenlabs_metadata or {}).get("agent_id") or "").strip()[:100]
        if not provider_id or provider_id in claimed:
            continue
        claimed.add(provider_id)
        Agent.objects.filter(pk=agent.pk).update(provider_agent_id=provider_id)


class Migration(migrations.Migration):

    dependencies = [
        ("telephony", "0005_whatsapp_templates_and_initiated_calls"),
    ]

    operations = [
        migrations.AddField(
            model_name="agent",
            name="provider_agent_id",
            field=models.CharField(blank=True, default="", max_length=100),
        ),
        migrations.RunPython(copy_provider_ids, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="agent",
            constraint=models.UniqueConstraint(condition=models.Q(("provider_agent_id", ""), _negated=True),
                                               fields=("provider_agent_id",),
                                               name="telephony_agent_provider_agent_id_unique"),
        ),
    ]
