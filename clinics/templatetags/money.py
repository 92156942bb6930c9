"""`{{ amount|money:currency }}`: minor units shown in currency units, in the page's language (clinics.money)."""
from django import template

from clinics.money import format_money

register = template.Library()


@register.filter
def money(minor, currency):
    return format_money(minor, currency)
