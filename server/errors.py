"""HTTP errors of the API. Every error response is JSON with a stable code:

{"error": {"code": "sold_out", "message": "...", ...details}}
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Root of the server's errors: carries the HTTP status, code and details."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.details}}


def bad_request(code: str, message: str, **details: Any) -> ApiError:
    return ApiError(400, code, message, **details)
