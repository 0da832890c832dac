"""Hook points: where the refunds domain hands a step to an app built on top of it.

``refunds`` must not import the apps that build on it (``reviews``), yet a case the gate
routes to review needs a review task, and the admin shows each user only the cases in
their scope. Those apps register their implementation here in ``AppConfig.ready()``; the
domain calls the hook and fails loudly (``ImproperlyConfigured``) if nothing is
registered, rather than silently dropping a case. Plain functions, not Django signals:
business logic stays in services, called explicitly. One exception, by design: the
``precedent_finder`` is an enhancement (similar past decisions shown to the drafter), so
the drafter reads it with ``get_optional`` and drafts without precedents when it is absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from django.db.models import Q

    from .agent.precedents import PrecedentFinder
    from .models import RefundRequest

F = TypeVar("F")


class Hook(Generic[F]):
    """One implementation per hook point, registered once at start-up."""

    def __init__(self, name: str, purpose: str) -> None:
        self.name = name
        self.purpose = purpose
        self._impl: F | None = None

    def register(self, impl: F) -> F:
        self._impl = impl
        return impl

    def get(self) -> F:
        if self._impl is None:
            raise ImproperlyConfigured(
                f"No implementation registered for the refunds hook {self.name!r} "
                f"({self.purpose}). Register one in an AppConfig.ready()."
            )
        return self._impl

    def get_optional(self) -> F | None:
        """The implementation, or None: for hooks whose absence is allowed (an
        enhancement such as ``precedent_finder``, never a step a case needs)."""
        return self._impl

    @contextmanager
    def override(self, impl: F | None) -> Iterator[None]:
        """Swaps the implementation (or removes it, with None) for a block: for tests, and
        for the demo history, drafted as before precedents were switched on."""
        previous, self._impl = self._impl, impl
        try:
            yield
        finally:
            self._impl = previous


class ReviewTaskOpener(Protocol):
    def __call__(
        self, *, request: RefundRequest, queue_slug: str, priority: int, reasons: list[dict]
    ) -> Any: ...


class CaseScopeProvider(Protocol):
    def __call__(self, user: Any, *, field: str = "pk") -> Q | None: ...


review_task_opener: Hook[ReviewTaskOpener] = Hook(
    "review_task_opener", "opens the human review task of a case the gate sent to review"
)
case_scope_provider: Hook[CaseScopeProvider] = Hook(
    "case_scope_provider",
    "the refund requests a user may see in the admin, as a Q on a request-id field, "
    "or None for every one",
)
# Optional (``get_optional``): without it the drafter drafts without precedents.
precedent_finder: Hook[PrecedentFinder] = Hook(
    "precedent_finder",
    "the past cases humans decided that are most similar to a case being drafted",
)
