from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.preferences_view, name="preferences"),
    path("confirm/<str:token>/", views.confirm_view, name="confirm"),
]
