"""Site-wide views: the landing redirect, the favicon, and the error pages (JSON under
/api/, HTML elsewhere)."""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.views.defaults import page_not_found

from .navigation import landing_url


def home(request):
    """``/``: each role's landing page (``hitl_site.navigation.landing_url``); the login
    sends users here when they asked for no page in particular."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
    return redirect(landing_url(request.user))


def favicon(request):
    """``/favicon.ico``, asked for by browsers on pages that link none (the JSON ones)."""
    return redirect(static("hitl_site/favicon.ico"))


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    return page_not_found(request, exception)
