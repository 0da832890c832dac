from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from analytics.prometheus import metrics_view

from .health import healthz
from .views import favicon, home

urlpatterns = [
    path("", home, name="home"),
    path("favicon.ico", favicon, name="favicon"),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("review/dashboard/", include("analytics.urls")),
    path("review/", include("notifications.urls")),  # /review/notifications/, /review/confirm/…
    path("review/", include("reviews.urls")),
    path("api/v1/", include("refunds.api.urls", namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
handler404 = "hitl_site.views.not_found"
