"""A fake Socket Mode endpoint: the WebSocket Slack pushes requests through, in the test's loop.

`apps.connections.open` on the fake Web API (called with the app-level token) answers with this
server's URL. On connect it sends `hello`, as Slack does; `push()` sends an envelope (a slash
command, an interaction, an event) and `acks` collects what the app answered, by envelope id.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from aiohttp import WSMsgType, web

from bot.sandbox.slack import FakeSlack


class FakeSocketMode:
    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        self.acks: dict[str, dict[str, Any]] = {}
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.connections = 0
        self._socket: web.WebSocketResponse | None = None
        self._connected = asyncio.Event()
        self._runner: web.AppRunner | None = None

    async def start(self) -> FakeSocketMode:
        server = web.Application()
        server.router.add_get("/link", self._link)
        self._runner = web.AppRunner(server, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host="127.0.0.1", port=0).start()
        port = self._runner.addresses[0][1]
        self.fake.socket_url = f"ws://127.0.0.1:{port}/link"
        return self

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._socket = socket
        self.connections += 1
        hello = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0SLABOT01"}}
        await socket.send_str(json.dumps(hello))
        self._connected.set()
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                data = json.loads(message.data)
                if "envelope_id" in data:
                    self.acks[data["envelope_id"]] = data
                    waiting = self._waiting.pop(data["envelope_id"], None)
                    if waiting is not None and not waiting.done():
                        waiting.set_result(data)
        return socket

    async def connected(self, wait: float = 10.0) -> None:
        await asyncio.wait_for(self._connected.wait(), wait)

    async def push(self, kind: str, payload: dict[str, Any], wait: float = 5.0) -> dict[str, Any]:
        """Send one envelope (`slash_commands`, `interactive`, `events_api`); return its ack."""
        assert self._socket is not None, "nothing connected"
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        acked = self._waiting[envelope_id] = asyncio.get_running_loop().create_future()
        await self._socket.send_str(json.dumps(envelope))
        return await asyncio.wait_for(acked, wait)
