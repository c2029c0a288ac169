"""Socket Mode: with SLACK_APP_TOKEN the bot takes Slack's requests over the WebSocket."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import Deps, build_app
from bot.sandbox.slack import APP_TOKEN, FakeSlack
from bot.sandbox.slack_socket import FakeSocketMode
from bot.server import serve
from tests.utils.processes import free_port
from tests.utils.slack_bot import settings_for


async def test_a_slash_command_over_socket_mode_is_acked_and_answered(
    database_url: str, engine: AsyncEngine, fake_slack: FakeSlack
) -> None:
    socket_mode = await FakeSocketMode(fake_slack).start()
    port = free_port()
    settings = settings_for(
        database_url, fake_slack, SLACK_APP_TOKEN=APP_TOKEN, SLABOT_PORT=str(port)
    )
    deps = Deps(engine=engine, settings=settings)
    stop = asyncio.Event()
    running = asyncio.create_task(serve(build_app(deps), deps, stop=stop))
    try:
        await socket_mode.connected()
        response_url = fake_slack.response_url()
        payload = {
            "command": "/sla",
            "text": "help",
            "user_id": "U0MEMBER01",
            "channel_id": "C1",
            "team_id": "T0FAKE0001",
            "response_url": response_url,
            "trigger_id": "1.2.3",
        }
        ack = await socket_mode.push("slash_commands", payload)
        assert set(ack) >= {"envelope_id"}
        for _ in range(500):
            if fake_slack.responses_to(response_url):
                break
            await asyncio.sleep(0.01)
        assert fake_slack.responses_to(response_url), "no reply through response_url"
        # In Socket Mode the HTTP listener keeps only the health and metrics routes.
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            assert (await http.get("/healthz")).status_code == 200
            assert (await http.post("/slack/events", content="x")).status_code in (404, 405)
            metrics = (await http.get("/metrics")).text
        assert 'slabot_requests_total{kind="command:help",outcome="ok"} 1.0' in metrics
        opened = fake_slack.calls_to("apps.connections.open")
        assert opened and opened[0].headers["authorization"] == f"Bearer {APP_TOKEN}"
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
        await socket_mode.stop()
