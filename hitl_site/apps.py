"""The project package as an app (its template tags, static files and date formats), and
``django.contrib.admin`` with the project's admin site."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class HitlSiteConfig(AppConfig):
    name = "hitl_site"
    verbose_name = "Site"


class HitlAdminConfig(admin_apps.AdminConfig):
    """Installed instead of ``django.contrib.admin``: ``admin.site`` is then the project's
    site (``hitl_site.admin.HitlAdminSite``: its title, landing and navigation)."""

    default = False  # not this package's own app config
    default_site = "hitl_site.admin.HitlAdminSite"
