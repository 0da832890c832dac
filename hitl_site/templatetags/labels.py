"""``{% load labels %}``: the filters of ``hitl_site.labels``."""

from django import template

from hitl_site import labels

register = template.Library()

register.filter("label", labels.label)
register.filter("display_value", labels.display_value)
register.filter("payload", labels.payload_html)
register.filter("short_id", labels.short_id_html)


@register.filter
def money(amount, currency=""):
    """``{{ amount|money:currency }}``"""
    return labels.money_html(amount, currency)
