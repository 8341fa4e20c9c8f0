"""Coupon drops and red packet rains: hosts create, start and end them under their show;
viewers claim and grab (HTTP or the room socket) and read their wallet (docs/coupons.md)."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web

from server.coupons.models import Activity, ActivityKind, Claimed
from server.coupons.wallet import wallet

from ..appkeys import COUPONS, KEEPER
from ..errors import Conflict, ErrorCode, Invalid
from ..shows.store import Show
from ..shows.team import Right
from .auth import refuse_banned_from_room, require_show_right, require_viewer
from .bodies import Empty
from .coupons_bodies import Claim, CouponClaimMessage, CreateDrop, CreateRain, RedPacketGrabMessage
from .decoding import convert_message
from .described import Auth, Reader, Shape, answers, takes
from .paths import room_in_path
from .responses import json_response
from .routing import Routes
from .socket_actions import SocketCall, add_socket_action

#: The show's owner, or a team member whose role runs offers and activities (docs/hosts.md).
_FORBIDDEN = (ErrorCode.NOT_YOUR_ROOM, ErrorCode.ROLE_FORBIDS)
_SHOW = {403: _FORBIDDEN, 404: (ErrorCode.UNKNOWN_ROOM, ErrorCode.UNKNOWN_SHOW)}
_ONE = {
    403: _FORBIDDEN,
    404: (ErrorCode.UNKNOWN_ROOM, ErrorCode.UNKNOWN_SHOW, ErrorCode.UNKNOWN_DROP),
}
_CLAIM = {
    403: (ErrorCode.BANNED,),
    404: (ErrorCode.UNKNOWN_ROOM, ErrorCode.UNKNOWN_DROP),
    409: (
        ErrorCode.DROP_NOT_LIVE,
        ErrorCode.CLAIM_WINDOW_OVER,
        ErrorCode.ALREADY_CLAIMED,
        ErrorCode.DROP_EXHAUSTED,
    ),
}


class DropView(Shape):
    """A coupon drop with its live figures (``spent``: orders that used one of its coupons,
    ``spent_amount``: the discount they took)."""

    drop_id: str
    title: str
    status: Literal["ready", "live", "ended"]
    starts_at_ms: int | None
    ends_at_ms: int | None
    expires_at_ms: int | None
    spent: int
    spent_amount: int
    amount_off: int | None
    percent_off: int | None
    min_spend: int
    offer_id: str | None
    quota: int
    per_viewer: int
    claimed: int
    claim_seconds: int


class RainView(Shape):
    """A red packet rain with its live figures."""

    rain_id: str
    title: str
    status: Literal["ready", "live", "ended"]
    starts_at_ms: int | None
    ends_at_ms: int | None
    expires_at_ms: int | None
    spent: int
    spent_amount: int
    pool: int
    packets: int
    grabbed: int
    grabbed_amount: int
    window_seconds: int


class Drops(Shape):
    """A show's drops and rains, oldest first."""

    drops: list[DropView]
    rains: list[RainView]


class CouponClaimed(Shape):
    """A claimed coupon (200 again, ``replayed``, for a retried key)."""

    outcome: Literal["claimed"]
    coupon_id: str
    drop_id: str
    replayed: bool
    claimed: int
    quota: int


class PacketGrabbed(Shape):
    """A grabbed red packet: ``amount`` of store credit for this show."""

    outcome: Literal["grabbed"]
    packet_id: str
    rain_id: str
    amount: int
    replayed: bool
    grabbed: int
    packets: int


class WalletCoupon(Shape):
    """A coupon the viewer holds."""

    coupon_id: str
    drop_id: str
    title: str
    amount_off: int | None
    percent_off: int | None
    min_spend: int
    offer_id: str | None
    expires_at_ms: int
    status: Literal["active", "locked", "spent", "expired"]


class WalletPacket(Shape):
    """A red packet the viewer grabbed, and what is left of it."""

    packet_id: str
    rain_id: str
    amount: int
    balance: int
    expires_at_ms: int
    status: Literal["active", "locked", "spent", "expired"]


class Wallet(Shape):
    """What the viewer holds in this show; ``credit``: the packets' balance usable now."""

    coupons: list[WalletCoupon]
    packets: list[WalletPacket]
    credit: int


def _lists(activities: list[Activity]) -> dict[str, Any]:
    return {
        "drops": [a.view() for a in activities if a.kind == "drop"],
        "rains": [a.view() for a in activities if a.kind == "rain"],
    }


# ------------------------------------------------------------------- hosts


async def _own_show(request: web.Request, right: Right = Right.RUN_OFFERS) -> Show:
    """The show in the path, for its owner or a team member with ``right``."""
    return (await require_show_right(request, right)).show


async def _own_show_id(request: web.Request, right: Right = Right.RUN_OFFERS) -> str:
    return (await _own_show(request, right)).room_id


@answers(
    Auth.ROOM_HOST,
    {201: DropView},
    {
        400: (ErrorCode.OFFER_NOT_IN_ROOM,),
        403: _FORBIDDEN,
        404: (ErrorCode.UNKNOWN_ROOM, ErrorCode.UNKNOWN_SHOW, ErrorCode.UNKNOWN_OFFER),
        409: (ErrorCode.SHOW_ENDED,),
    },
)
@takes(CreateDrop)
async def create_drop(request: web.Request, read: Reader[CreateDrop]) -> web.Response:
    """Create a coupon drop in the host's show (start it when viewers should claim)."""
    show = await _own_show(request)
    body = await read()
    await _check_open_show(request, show, body.offer_id)
    drop = await request.app[COUPONS].create_drop(show.room_id, body.spec())
    return json_response(drop.view(), status=201)


@answers(Auth.ROOM_HOST, {201: RainView}, {**_SHOW, 409: (ErrorCode.SHOW_ENDED,)})
@takes(CreateRain)
async def create_rain(request: web.Request, read: Reader[CreateRain]) -> web.Response:
    """Create a red packet rain in the host's show (its pool is split when it starts)."""
    show = await _own_show(request)
    body = await read()
    await _check_open_show(request, show, None)
    rain = await request.app[COUPONS].create_rain(show.room_id, body.spec())
    return json_response(rain.view(), status=201)


async def _check_open_show(request: web.Request, show: Show, offer_id: str | None) -> None:
    if show.status == "ended":
        raise Conflict(ErrorCode.SHOW_ENDED, "This show has ended.")
    if offer_id is not None:
        offer = await request.app[KEEPER].get_offer(offer_id)
        if offer.room_id != show.room_id:
            raise Invalid(ErrorCode.OFFER_NOT_IN_ROOM, "This offer belongs to another show.")


@answers(Auth.ROOM_HOST, {200: Drops}, _SHOW)
async def show_drops(request: web.Request) -> web.Response:
    """The show's drops and rains with their live figures (claimed, spent)."""
    room_id = await _own_show_id(request, Right.VIEW_NUMBERS)
    return json_response(_lists(await request.app[COUPONS].of_room(room_id)))


def _host_action(kind: ActivityKind, verb: Literal["start", "end"]) -> Any:
    view = DropView if kind == "drop" else RainView
    errors = {**_ONE, 409: (ErrorCode.DROP_STATE,)} if verb == "start" else _ONE

    @answers(Auth.ROOM_HOST, {200: view}, errors)
    @takes(Empty)
    async def act(request: web.Request, read: Reader[Empty]) -> web.Response:
        room_id = await _own_show_id(request)
        await read()
        store = request.app[COUPONS]
        activity = await store.require(room_id, request.match_info[f"{kind}_id"], kind)
        done = await (store.start(activity) if verb == "start" else store.end(activity))
        return json_response(done.view())

    noun = "coupon drop" if kind == "drop" else "red packet rain"
    act.__doc__ = (
        f"Start the {noun}: its claim window opens now and viewers are told."
        if verb == "start"
        else f"End the {noun} now (ending twice is harmless)."
    )
    act.__name__ = act.__qualname__ = f"{verb}_{kind}"
    return act


# ----------------------------------------------------------------- viewers


def _claim_body(activity_id: str, claimed: Claimed, kind: ActivityKind) -> dict[str, Any]:
    if kind == "drop":
        return {
            "outcome": "claimed",
            "coupon_id": claimed.item_id,
            "drop_id": activity_id,
            "replayed": claimed.replayed,
            "claimed": claimed.count,
            "quota": claimed.total,
        }
    return {
        "outcome": "grabbed",
        "packet_id": claimed.item_id,
        "rain_id": activity_id,
        "amount": claimed.amount,
        "replayed": claimed.replayed,
        "grabbed": claimed.count,
        "packets": claimed.total,
    }


@answers(Auth.VIEWER, {200: CouponClaimed}, _CLAIM)
@takes(Claim)
async def claim(request: web.Request, read: Reader[Claim]) -> web.Response:
    """Claim a coupon of a live drop (one tap; resend the same key on a retry)."""
    viewer = require_viewer(request)
    room_id = room_in_path(request)
    body = await read()
    drop_id = request.match_info["drop_id"]
    await refuse_banned_from_room(request.app, room_id, viewer.user_id)
    claimed = await request.app[COUPONS].claim(
        room_id, drop_id, viewer.user_id, body.idempotency_key
    )
    return json_response(_claim_body(drop_id, claimed, "drop"))


@answers(Auth.VIEWER, {200: PacketGrabbed}, _CLAIM)
@takes(Claim)
async def grab(request: web.Request, read: Reader[Claim]) -> web.Response:
    """Grab a red packet of a live rain: store credit for this show's offers."""
    viewer = require_viewer(request)
    room_id = room_in_path(request)
    body = await read()
    rain_id = request.match_info["rain_id"]
    await refuse_banned_from_room(request.app, room_id, viewer.user_id)
    grabbed = await request.app[COUPONS].grab(
        room_id, rain_id, viewer.user_id, body.idempotency_key
    )
    return json_response(_claim_body(rain_id, grabbed, "rain"))


@answers(Auth.VIEWER, {200: Wallet}, {404: (ErrorCode.UNKNOWN_ROOM,)})
async def viewer_wallet(request: web.Request) -> web.Response:
    """The viewer's coupons and red packet credit in this show."""
    viewer = require_viewer(request)
    room_id = room_in_path(request)
    return json_response(await wallet(request.app[COUPONS].redis, room_id, viewer.user_id))


@answers(Auth.ANYONE, {200: Drops}, {404: (ErrorCode.UNKNOWN_ROOM,)})
async def live_drops(request: web.Request) -> web.Response:
    """The show's drops and rains that are live now (for a page that joins mid-drop)."""
    room_id = room_in_path(request)
    activities = await request.app[COUPONS].of_room(room_id)
    return json_response(_lists([a for a in activities if a.status == "live"]))


async def claim_by_socket(call: SocketCall, message: dict[str, Any]) -> dict[str, Any]:
    """``coupon_claim`` on the room socket: ``coupon_claim_result`` as the HTTP claim."""
    user_id = call.signed_in()
    tap = convert_message(message, CouponClaimMessage)
    await refuse_banned_from_room(call.app, call.room_id, user_id)
    claimed = await call.app[COUPONS].claim(call.room_id, tap.drop_id, user_id, tap.idempotency_key)
    return {
        "type": "coupon_claim_result",
        "status": 200,
        **_claim_body(tap.drop_id, claimed, "drop"),
    }


async def grab_by_socket(call: SocketCall, message: dict[str, Any]) -> dict[str, Any]:
    """``red_packet_grab`` on the room socket: ``red_packet_grab_result`` as the HTTP grab."""
    user_id = call.signed_in()
    tap = convert_message(message, RedPacketGrabMessage)
    await refuse_banned_from_room(call.app, call.room_id, user_id)
    grabbed = await call.app[COUPONS].grab(call.room_id, tap.rain_id, user_id, tap.idempotency_key)
    return {
        "type": "red_packet_grab_result",
        "status": 200,
        **_claim_body(tap.rain_id, grabbed, "rain"),
    }


def add_routes(app: web.Application) -> None:
    """Hosts' drops and rains, viewers' claims, grabs and wallet, and the socket's taps."""
    routes = Routes(app)
    shows = "/api/shows/{room_id}"
    routes.get(f"{shows}/coupon-drops", show_drops)
    routes.post(f"{shows}/coupon-drops", create_drop)
    routes.post(f"{shows}/red-packet-rains", create_rain)
    for kind, path in (("drop", "coupon-drops"), ("rain", "red-packet-rains")):
        for verb in ("start", "end"):
            handler = _host_action(kind, verb)  # type: ignore[arg-type]
            routes.post(f"{shows}/{path}/{{{kind}_id}}/{verb}", handler)
    rooms = "/api/rooms/{room_id}"
    routes.get(f"{rooms}/coupon-drops", live_drops)
    routes.post(f"{rooms}/coupon-drops/{{drop_id}}/claim", claim)
    routes.post(f"{rooms}/red-packet-rains/{{rain_id}}/grab", grab)
    routes.get(f"{rooms}/wallet", viewer_wallet)
    add_socket_action(app, "coupon_claim", claim_by_socket)
    add_socket_action(app, "red_packet_grab", grab_by_socket)
