"""OAuth 2.0 (seed 003) on django-oauth-toolkit: the consent page picks the clinic a token acts for."""
from oauth2_provider.oauth2_validators import OAuth2Validator


class ClinicOAuth2Validator(OAuth2Validator):
    pass
