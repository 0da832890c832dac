from django.urls import path

from . import feedback, replies, views

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
        replies.RefundRequestReplyView.as_view(),
        name="refund-request-replies",
    ),
    path(
        "refund-requests/<uuid:public_id>/feedback/",
        feedback.RefundRequestFeedbackView.as_view(),
        name="refund-request-feedback",
    ),
]
