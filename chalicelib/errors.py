"""Errors in the contract's shape: {"error": {"code", "message"}}.

`ApiError` derives from Chalice's `ChaliceUnhandledError` so Chalice hands it
to our middleware (app.py) instead of turning it into its own 500 body.
"""
from __future__ import annotations

from chalice.app import ChaliceUnhandledError


class ApiError(ChaliceUnhandledError):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.field = field

    def body(self) -> dict:
        err = {"code": self.code, "message": self.message}
        if self.field:
            err["field"] = self.field
        return {"error": err}


class BadRequest(ApiError):
    """400 naming the field and what is expected."""

    status = 400
    code = "invalid_field"

    def __init__(self, field: str, message: str, code: str | None = None):
        super().__init__(f"{field}: {message}", code=code, field=field)


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class TooLarge(ApiError):
    status = 413
    code = "body_too_large"


class TooManyRequests(ApiError):
    status = 429
    code = "rate_limited"


# Requests API Gateway answers before the app runs (no such route; a method the route lacks
# reaches the app, which answers 405). The template's GatewayResponses and the local server use
# this shape, so every answer is the contract's.
NO_ROUTE_CODE = "not_found"
NO_ROUTE_MESSAGE = "there is no such route; see /openapi.json for the API"


def no_route_body() -> bytes:
    import json

    return json.dumps({"error": {"code": NO_ROUTE_CODE, "message": NO_ROUTE_MESSAGE}}).encode()
