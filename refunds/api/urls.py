from django.urls import path

from . import feedback_views, reply_views, views

app_name = "api"

urlpatterns = [
    path(
        "refund-requests/", views.RefundRequestListCreateView.as_view(), name="refund-request-list"
    ),
    path(
        "refund-requests/<uuid:public_id>/",
        views.RefundRequestDetailView.as_view(),
        name="refund-request-detail",
    ),
    path(
        "refund-requests/<uuid:public_id>/replies/",
        reply_views.RefundRequestReplyView.as_view(),
        name="refund-request-replies",
    ),
    path(
        "refund-requests/<uuid:public_id>/feedback/",
        feedback_views.RefundRequestFeedbackView.as_view(),
        name="refund-request-feedback",
    ),
]
