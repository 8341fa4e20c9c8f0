"""A request's body is read once, from the buffer when it arrived whole, and handed again to
whoever asks after (the host audit logs what the handler read)."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from aiohttp.base_protocol import BaseProtocol
from aiohttp.streams import StreamReader
from aiohttp.test_utils import make_mocked_request

from loadtests.memory_transport import Answers, MemoryTransport
from server.api.decoding import raw_body


def _request(chunks: list[bytes], *, whole: bool, max_size: int = 1024) -> web.Request:
    """A POST whose body came in ``chunks``; ``whole``: the last one has arrived."""
    loop = asyncio.get_running_loop()
    protocol = BaseProtocol(loop)
    protocol.connection_made(MemoryTransport(Answers()))  # connected: the body may wait
    payload = StreamReader(protocol, 2**16, loop=loop)
    for chunk in chunks:
        payload.feed_data(chunk)
    if whole:
        payload.feed_eof()
    app = web.Application(client_max_size=max_size)
    return make_mocked_request(
        "POST", "/api/offers/o-1/reservations", payload=payload, app=app, client_max_size=max_size
    )


async def test_a_body_that_arrived_whole_is_read_at_once_and_again_for_a_second_reader() -> None:
    request = _request([b'{"quantity":', b"1}"], whole=True)
    assert await raw_body(request) == b'{"quantity":1}'
    assert await raw_body(request) == b'{"quantity":1}'


async def test_a_body_still_arriving_is_waited_for() -> None:
    request = _request([b'{"quantity":'], whole=False)
    reading = asyncio.ensure_future(raw_body(request))
    await asyncio.sleep(0)
    assert not reading.done()
    request.content.feed_data(b"2}")
    request.content.feed_eof()
    assert await reading == b'{"quantity":2}'
    assert await raw_body(request) == b'{"quantity":2}'


async def test_a_body_past_the_limit_that_arrived_whole_is_refused() -> None:
    request = _request([b"x" * 600, b"y" * 600], whole=True, max_size=1000)
    with pytest.raises(web.HTTPRequestEntityTooLarge):
        await raw_body(request)


async def test_a_body_past_the_limit_still_arriving_is_refused() -> None:
    request = _request([b"x" * 600], whole=False, max_size=1000)
    reading = asyncio.ensure_future(raw_body(request))
    await asyncio.sleep(0)
    request.content.feed_data(b"y" * 600)
    request.content.feed_eof()
    with pytest.raises(web.HTTPRequestEntityTooLarge):
        await reading


async def test_an_empty_body_is_empty() -> None:
    assert await raw_body(_request([], whole=True)) == b""


async def test_a_body_aiohttp_read_first_is_handed_on_from_its_copy() -> None:
    request = _request([b'{"quantity":3}'], whole=True)
    assert await request.read() == b'{"quantity":3}'
    assert await raw_body(request) == b'{"quantity":3}'


async def test_a_limit_of_zero_means_no_limit_as_in_aiohttp() -> None:
    request = _request([b"x" * 5000], whole=True, max_size=0)
    assert await raw_body(request) == b"x" * 5000
