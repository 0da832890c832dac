"""The one domain error type that services raise and every interface translates."""


class ApplicationError(Exception):
    """A refused business operation: a stable ``code`` for machines, a ``message`` for people.

    The API maps it to JSON with ``status_code`` (409 by default: the request was valid
    but conflicts with the current state); the admin and the review pages show ``message``.
    """

    status_code = 409

    def __init__(
        self,
        message: str,
        *,
        code: str = "conflict",
        extra: dict | None = None,
        status_code: int | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.extra = extra or {}
        if status_code is not None:
            self.status_code = status_code
