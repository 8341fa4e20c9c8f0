"""The owner's reconciliation of a show's stock from the console (``livesale reconcile
--show ROOM`` over HTTP; stockkeeper/reconcile.py)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from stockkeeper.reconcile import reconcile

from ..appkeys import REDIS, SETTINGS
from ..errors import ErrorCode
from ..shows.team import Right
from .auth import require_show_right
from .bodies import Empty
from .described import Auth, Reader, Shape, answers, takes
from .responses import json_response
from .routing import Routes


class ReconciledOffer(Shape):
    """One offer's books as found: counters, holds by status, outbox and Kafka."""

    offer_id: str
    room_id: str
    buckets: int
    total: int
    available: int
    held: int
    sold: int
    sent_pending: int
    holds: dict[str, int]
    orders_confirmed: int
    outbox_entries: int
    orders_in_kafka: int


class ReconcileItem(Shape):
    """A difference (or a pending item) with the hold and order ids involved."""

    offer_id: str
    check: str
    message: str
    ids: list[str]


class ReconcileResult(Shape):
    """Whether everything adds up, each offer's books, every difference and pending item."""

    ok: bool
    kafka_read: bool
    offers: list[ReconciledOffer]
    differences: list[ReconcileItem]
    pending: list[ReconcileItem]


@answers(
    Auth.ROOM_HOST,
    {200: ReconcileResult},
    {
        403: (ErrorCode.NOT_YOUR_ROOM, ErrorCode.ROLE_FORBIDS),
        404: (ErrorCode.UNKNOWN_ROOM, ErrorCode.UNKNOWN_SHOW),
    },
)
@takes(Empty)
async def reconcile_show(request: web.Request, read: Reader[Empty]) -> web.Response:
    """Reconcile the show's offers: books, holds, outbox and Kafka (the owner only)."""
    show = (await require_show_right(request, Right.DOWNLOAD_REPORT)).show
    await read()
    settings = request.app[SETTINGS].stock
    result = await reconcile(request.app[REDIS], settings, show.room_id, timeout_s=20.0)
    body: dict[str, Any] = result.as_dict()
    return json_response(body)


def add_routes(app: web.Application) -> None:
    """The reconciliation route."""
    routes = Routes(app)
    routes.post("/api/shows/{room_id}/reconcile", reconcile_show)
