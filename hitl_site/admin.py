"""The admin site: the project-level face of every app's admin (its building blocks are
``hitl_site.admin_mixins`` and ``audit.admin_mixins``)."""

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.urls import reverse

from analytics.gate_tuning.admin_views import gate_tuning_admin_urls

from .navigation import site_areas


class HitlAdminSite(admin.AdminSite):
    """``admin.site`` (installed by ``hitl_site.apps.HitlAdminConfig``): the site's name,
    a login that sends each role to its landing page, and the header's links to the review
    pages and the dashboard (the review pages render the same header through
    ``each_context``)."""

    site_header = "Refund desk"
    site_title = "Refund desk"
    index_title = "Back-office administration"
    site_url = None  # no "View site": the header links the areas instead

    def each_context(self, request):
        return {**super().each_context(request), "site_areas": site_areas(request)}

    def get_urls(self):
        # Pages of higher layers shown among a model's pages (ahead of the model's URLs,
        # whose "<object_id>/" would take them).
        return [*gate_tuning_admin_urls(self), *super().get_urls()]

    def login(self, request, extra_context=None):
        # Django's admin login sends users without a ``next`` to the admin index; send them
        # to ``/``, which redirects each role to its landing page (hitl_site.navigation).
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            extra_context = {REDIRECT_FIELD_NAME: reverse("home"), **(extra_context or {})}
        return super().login(request, extra_context)
