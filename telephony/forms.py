"""Console forms of telephony: a clinic's messaging number and the code that verifies it."""
from django import forms
from django.utils.translation import gettext_lazy


class MessagingNumberForm(forms.Form):
    phone = forms.CharField(label=gettext_lazy("Number"), max_length=40,
                            help_text=gettext_lazy("In E.164 format, e.g. +351210000000."))


class VerificationCodeForm(forms.Form):
    code = forms.RegexField(label=gettext_lazy("Code sent to the number"), regex=r"^\s*\d{6}\s*$", max_length=12,
                            error_messages={"invalid": gettext_lazy("Enter the 6-digit code sent to the number.")})
