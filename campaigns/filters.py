"""The list filters of bulk SMS campaigns, one FilterSet shared by `GET /v1/campaigns` (docs/api/clinic-v1.md),
`GET /api/v1/campaigns` (docs/api/voice.md, Campaigns) and the console's campaign list: `status`, one of its
documented values."""
import django_filters

from telephony.filters import DocumentedChoiceFilter

from .models import Campaign


class CampaignFilterSet(django_filters.FilterSet):
    status = DocumentedChoiceFilter(choices=Campaign.Status.choices)

    class Meta:
        model = Campaign
        fields = []
