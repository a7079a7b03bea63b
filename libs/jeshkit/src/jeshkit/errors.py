"""The contract's error envelope and the exception handlers that produce it."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("jeshkit.errors")


class AppError(Exception):
    """An error the client can read: status code, one sentence, optional field errors."""

    def __init__(
        self,
        status_code: int,
        message: str,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.errors = errors
        self.headers = headers


class BadRequest(AppError):
    def __init__(self, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(400, message, errors)


class Unauthorized(AppError):
    def __init__(self, message: str = "Authentication required") -> None:
        super().__init__(401, message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(AppError):
    def __init__(self, message: str = "Unauthorized") -> None:
        super().__init__(403, message)


class NotFound(AppError):
    def __init__(self, message: str = "Not found") -> None:
        super().__init__(404, message)


class Conflict(AppError):
    def __init__(self, message: str) -> None:
        super().__init__(409, message)


class UpstreamUnavailable(AppError):
    def __init__(self, message: str, status_code: int = 502) -> None:
        super().__init__(status_code, message)


def error_body(message: str, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"success": False, "message": message}
    if errors:
        body["errors"] = errors
    return body


def error_response(
    status_code: int,
    message: str,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(message, errors), status_code=status_code, headers=headers)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    out = []
    for err in exc.errors():
        message = str(err.get("msg", "Invalid value"))
        # pydantic prefixes messages of custom validators with "Value error, ".
        message = message.removeprefix("Value error, ")
        # A body that is not JSON at all: pydantic's loc ends in the character position, not a field.
        field = "body" if err.get("type") == "json_invalid" else _field_name(tuple(err.get("loc", ())))
        out.append({"field": field, "message": message})
    return out


def install_error_handlers(app: FastAPI) -> None:
    """One set of handlers per service: every error leaves as the envelope, never HTML or a trace."""

    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        return error_response(exc.status_code, exc.message, exc.errors, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        if any(tuple(e.get("loc", ()))[:1] == ("path",) for e in exc.errors()):
            return error_response(404, "Not found")  # a malformed id is an unknown id
        errors = validation_errors(exc)
        if any(e["field"] == "body" for e in errors) and len(errors) == 1:
            return error_response(400, "Request body must be a JSON object", errors)
        return error_response(400, "Invalid request", errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message = "Not found"
        elif exc.status_code == 405:
            message = "Method not allowed"
        else:
            message = str(exc.detail) if exc.detail else HTTPStatus(exc.status_code).phrase
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(OperationalError)
    async def _db_down(_: Request, exc: OperationalError) -> JSONResponse:
        log.error("database unavailable: %s", exc.orig)
        return error_response(503, "Service temporarily unavailable, please retry")

    @app.exception_handler(OverflowError)
    async def _out_of_range(_: Request, exc: OverflowError) -> JSONResponse:
        # Dates or numbers at the edge of what Python can represent (e.g. ?date=0001-01-01 shifted to UTC,
        # 9999-12-31 plus a day): the input is out of range, not the server broken.
        log.info("input out of range: %s", exc)
        return error_response(
            400, "Invalid request", [{"field": "value", "message": "A date or number is out of range"}]
        )

    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(_: Request, exc: PoolTimeout) -> JSONResponse:
        log.error("no database connection free in time: %s", exc)
        return error_response(503, "Service busy, please retry", headers={"Retry-After": "1"})

    @app.exception_handler(DBAPIError)
    async def _db_error(_: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            log.error("database connection lost: %s", exc.orig)
            return error_response(503, "Service temporarily unavailable, please retry")
        log.exception("database error")
        return error_response(500, "Internal server error")

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return error_response(500, "Internal server error")
