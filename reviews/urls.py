from django.urls import path

from . import absence_views, views

app_name = "reviews"

urlpatterns = [
    path("", views.queue_view, name="queue"),
    path("tasks/<int:pk>/", views.task_view, name="task"),
    path("tasks/<int:pk>/decide/", views.task_decide, name="decide"),
    path("tasks/<int:pk>/claim/", views.task_claim, name="claim"),
    path("tasks/<int:pk>/release/", views.task_release, name="release"),
    path("tasks/<int:pk>/reassign/", views.task_reassign, name="reassign"),
    path("tasks/<int:pk>/reveal/", views.task_reveal, name="reveal"),
    path("absence/", absence_views.absence_view, name="absence"),
    path("absence/<int:pk>/cancel/", absence_views.absence_cancel, name="absence_cancel"),
]
