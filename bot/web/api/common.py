"""What every /api route shares: errors as `{"detail": "..."}` naming what is wrong, the
bearer-token requirement (declared in the OpenAPI schema), paging, and input types that
cannot reach the database in a shape it would choke on."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Callable, Generic, TypeVar

from fastapi import HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, StringConstraints

from bot.errors import BadInput
from bot.web.security import api_editor

MAX_LIMIT = 500
DEFAULT_LIMIT = 100
# Ids are 32-bit integer columns on PostgreSQL: a bigger number is "not found", not a crash.
MAX_ID = 2**31 - 1
MAX_OFFSET = 10**9

# Declares the scheme in the OpenAPI schema (so /api/docs offers "Authorize"); the check
# itself is `api_editor`, which answers 401 with WWW-Authenticate: Bearer.
bearer = HTTPBearer(auto_error=False, scheme_name="bearerToken",
                    description="An API token from `pressbot tokens create EMAIL --name NAME`.")


class Problem(BaseModel):
    """Every error answer: what is wrong, in words."""
    detail: str = Field(examples=["query parameter limit: Input should be less than or equal to 500"])


ERRORS = {
    401: {"model": Problem, "description": "No token, or a revoked or unknown one"},
    422: {"model": Problem, "description": "Bad input; `detail` names what is wrong"},
}
FORBIDDEN = {403: {"model": Problem, "description": "Needs an admin's token"}}
NOT_FOUND = {404: {"model": Problem, "description": "No such resource"}}
CONFLICT = {409: {"model": Problem, "description": "Not possible in the resource's current state"}}


def _where(loc: tuple) -> str:
    kinds = {"query": "query parameter", "path": "path parameter", "header": "header",
             "body": "body field"}
    if not loc:
        return "request"
    head, rest = loc[0], [str(part) for part in loc[1:]]
    if head == "body" and not rest:
        return "body"
    if head in kinds:
        return f"{kinds[head]} {'.'.join(rest)}"
    return ".".join(str(part) for part in loc)


def describe(errors: list[dict]) -> str:
    """Pydantic's errors as one sentence per problem: "query parameter limit: …"."""
    return "; ".join(f"{_where(tuple(e.get('loc') or ()))}: {e.get('msg', 'invalid')}" for e in errors)


class ApiRoute(APIRoute):
    """Validation errors and BadInput from a service become 422 `{"detail": "..."}`. A
    request that fails validation before its token was looked at (FastAPI parses a JSON
    body before running dependencies) gets 401 first when it has no valid token, so
    nothing about the API answers to a stranger but 401."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                await run_in_threadpool(api_editor, request)   # raises 401 without a token
                return JSONResponse({"detail": describe(list(exc.errors()))}, status_code=422)
            except BadInput as exc:
                return JSONResponse({"detail": str(exc)}, status_code=422)

        return handle


def not_found(what: str, key) -> HTTPException:
    return HTTPException(404, f"no {what} {key}")


def conflict(exc: BadInput) -> HTTPException:
    return HTTPException(409, str(exc))


# -- Input types ----------------------------------------------------------------------------------


def _storable(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and neither driver can encode a lone surrogate.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


def _utc(value: datetime) -> datetime:
    try:
        value = value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None
    if not 1970 <= value.year <= 9998:
        raise ValueError("must be between 1970 and 9998")
    return value


def Text(max_length: int, min_length: int = 0):
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length),
                     AfterValidator(_storable)]


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]
ResourceId = Annotated[int, Path(ge=1, le=MAX_ID, description="The resource's id")]


class Paging:
    """`?limit=&offset=`: at most MAX_LIMIT items a page."""

    def __init__(self, limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page (at most {MAX_LIMIT})")] = DEFAULT_LIMIT,
                 offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip")] = 0):
        self.limit, self.offset = limit, offset

    def page(self, fetch: Callable[[int, int], list]) -> dict:
        """Ask for one item more than a page, to know whether there is a next page."""
        rows = fetch(self.limit + 1, self.offset)
        more = len(rows) > self.limit
        return {"items": rows[:self.limit], "limit": self.limit, "offset": self.offset,
                "next_offset": self.offset + self.limit if more else None}

    def slice(self, rows: list) -> dict:
        return self.page(lambda limit, offset: rows[offset:offset + limit])


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    limit: int
    offset: int
    next_offset: int | None = Field(description="The offset of the next page; null on the last page")
