"""The analytics pages, mounted at ``/review/dashboard/`` (where the dashboard has always
been: bookmarks keep working) by ``hitl_site.urls``."""

from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("", views.dashboard_view, name="dashboard"),
]
