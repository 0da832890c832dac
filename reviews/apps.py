from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Human review"

    def ready(self):
        # reviews builds on refunds: it plugs its review tasks and queue-based case scope
        # into the refunds hook points (refunds never imports reviews).
        from refunds import hooks

        from .permissions import case_scope_for_user
        from .precedents import precedents_find
        from .services import review_task_open

        hooks.review_task_opener.register(review_task_open)
        hooks.case_scope_provider.register(case_scope_for_user)
        hooks.precedent_finder.register(precedents_find)
