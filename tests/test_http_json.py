"""The http_json source: the path syntax, the reader's bad rows, and a real HTTP fetch."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo

import httpx
import pytest

from models.agreement import HttpJsonSource
from models.ingest import MetricRecord
from scheduler.sources.csv_files import BadRow
from scheduler.sources.http_json import (
    HttpJsonError,
    fetch,
    headers_from_env,
    pick,
    read_document,
    steps,
)
from tests.conftest import CLI, EXAMPLES

CHICAGO = ZoneInfo("America/Chicago")


def source(**changes: object) -> HttpJsonSource:
    base: dict[str, object] = {
        "name": "web",
        "kind": "http_json",
        "url": "http://127.0.0.1:1/daily",
        "records": "data.rows",
        "date": "day",
        "values": {"visits": "sessions", "signups": "goals[0].count"},
    }
    base.update(changes)
    return HttpJsonSource.model_validate(base)


def test_path_steps_and_pick() -> None:
    assert steps("data.rows[2].value") == ["data", "rows", 2, "value"]
    doc = {"data": {"rows": [{"v": 1}, {"v": [5, 6]}]}}
    assert pick(doc, "data.rows[1].v[1]") == 6
    assert pick(doc, "data.rows[7].v") is pick(doc, "nope")  # the same "missing" sentinel


@pytest.mark.parametrize("bad", ["data..rows", "rows[x]", ".rows", "rows[]", "a b"])
def test_bad_paths_are_refused_on_load(bad: str) -> None:
    with pytest.raises(ValueError, match="is not a JSON path"):
        source(records=bad)


def test_headers_name_environment_variables_not_secrets() -> None:
    with pytest.raises(ValueError, match="NAME of an environment variable"):
        source(headers={"Authorization": "Bearer abc123"})
    s = source(headers={"Authorization": "ANALYTICS_AUTH"})
    assert headers_from_env(s, {"ANALYTICS_AUTH": "Bearer xyz"}) == {"Authorization": "Bearer xyz"}
    with pytest.raises(HttpJsonError, match="ANALYTICS_AUTH, which is not set"):
        headers_from_env(s, {})


def test_reader_keeps_good_records_and_names_bad_ones() -> None:
    document = {
        "data": {
            "rows": [
                {"day": "2027-03-01", "sessions": 420, "goals": [{"count": "7"}]},
                {"day": "2027-03-02T23:30:00-06:00", "sessions": 380.5, "goals": [{"count": 3}]},
                {"day": "03/03/2027", "sessions": 1, "goals": [{"count": 1}]},
                {"day": "2027-03-04", "sessions": "n/a", "goals": []},
            ]
        }
    }
    out = list(read_document(document, source(), CHICAGO))
    good = [r for r in out if isinstance(r, MetricRecord)]
    bad = [r for r in out if isinstance(r, BadRow)]
    assert good == [
        MetricRecord("visits", date(2027, 3, 1), 420.0),
        MetricRecord("signups", date(2027, 3, 1), 7.0),
        MetricRecord("visits", date(2027, 3, 2), 380.5),  # the instant's local date
        MetricRecord("signups", date(2027, 3, 2), 3.0),
    ]
    assert [(b.line, b.field) for b in bad] == [
        (3, "data.rows[2].day"),
        (4, "data.rows[3].sessions"),
        (4, "data.rows[3].goals[0].count"),
    ]


def test_document_without_records() -> None:
    with pytest.raises(HttpJsonError, match=r"'data\.rows' is not in the document"):
        list(read_document({"data": {}}, source(), CHICAGO))
    with pytest.raises(HttpJsonError, match="not a list"):
        list(read_document({"data": {"rows": {"a": 1}}}, source(), CHICAGO))


class _Handler(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        _Handler.seen.append(dict(self.headers))
        if self.path == "/daily":
            body, status = (
                json.dumps(
                    {
                        "data": {
                            "rows": [{"day": "2027-03-01", "sessions": 3, "goals": [{"count": 1}]}]
                        }
                    }
                ),
                200,
            )
        elif self.path == "/html":
            body, status = "<html>", 200
        else:
            body, status = "{}", 503
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


async def test_fetch_over_http(server: str) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        doc = await fetch(client, source(url=f"{server}/daily"), {"Authorization": "Bearer s3cret"})
        assert len(doc["data"]["rows"]) == 1
        assert _Handler.seen[-1]["Authorization"] == "Bearer s3cret"
        with pytest.raises(HttpJsonError, match="did not answer with JSON"):
            await fetch(client, source(url=f"{server}/html"), {})
        with pytest.raises(HttpJsonError, match="answered HTTP 503") as caught:
            await fetch(client, source(url=f"{server}/down"), {"Authorization": "Bearer s3cret"})
        assert "s3cret" not in str(caught.value)
        with pytest.raises(HttpJsonError, match=r"cannot reach 127\.0\.0\.1"):
            await fetch(client, source(url="http://127.0.0.1:1/x"), {})


def test_sync_an_http_json_source(
    cli: CLI, cli_env: pytest.MonkeyPatch, server: str, tmp_path: Path
) -> None:
    text = (EXAMPLES / "agreement.yaml").read_text()
    text = text.replace(
        "sources:\n",
        "sources:\n"
        f"  - {{name: web, kind: http_json, url: '{server}/daily', headers: {{Authorization: WEB_AUTH}},\n"
        "     records: data.rows, date: day, values: {visits: sessions, signups: 'goals[0].count'}}\n",
    )
    agreement = tmp_path / "agreement.yaml"
    agreement.write_text(text)
    for name in ("visits.csv", "leads.csv", "deals.csv"):
        (tmp_path / "data").mkdir(exist_ok=True)
        (tmp_path / "data" / name).write_text((EXAMPLES / "data" / name).read_text())
    assert cli("agreement", "apply", str(agreement)).code == 0, "apply"
    missing = cli("sync", "--source", "web")
    assert missing.code == 1 and "WEB_AUTH, which is not set" in missing.err
    cli_env.setenv("WEB_AUTH", "Bearer web-secret")
    done = cli("sync", "--source", "web", "--json")
    assert done.code == 0, done.err
    (result,) = json.loads(done.out)["sources"]
    assert (result["name"], result["new"], result["bad"]) == ("web", 2, 0)
    assert "web-secret" not in done.out + done.err
    assert _Handler.seen[-1]["Authorization"] == "Bearer web-secret"
