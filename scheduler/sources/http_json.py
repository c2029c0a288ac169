"""The `http_json` source: daily metric values picked out of a JSON document fetched over HTTP.

Path syntax (in the agreement): keys joined by dots, `[N]` for the N-th item of a list (from 0):
`data.rows`, `metrics[0].value`, `series[2].points`. `records` points at the list of records
(default: the document itself, which must then be a list); in each record `date` points at the
day (`YYYY-MM-DD`, or an ISO 8601 instant, taken as its date in the agreement's time zone) and
each of `values` at a number (or a numeric string). A record that breaks these rules is a bad row
named by its position (`records[12].sessions`); the others are kept.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from models.agreement import HttpJsonSource
from models.ingest import MetricRecord
from scheduler.sources.csv_files import BadRow

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class HttpJsonError(ValueError):
    """The document cannot be used at all (unreachable, not JSON, no list of records)."""


def steps(path: str) -> list[str | int]:
    """`data.rows[0].value` -> ["data", "rows", 0, "value"]."""
    return [key if key else int(index) for key, index in _STEP.findall(path)]


_MISSING = object()


def pick(document: Any, path: str) -> Any:
    """The value at `path`, or a sentinel when any step is missing."""
    node = document
    for step in steps(path):
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return _MISSING
            node = node[step]
        else:
            if not isinstance(node, Mapping) or step not in node:
                return _MISSING
            node = node[step]
    return node


def headers_from_env(
    source: HttpJsonSource, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The request headers, each value read from the environment variable the agreement names."""
    environ = os.environ if environ is None else environ
    out = {}
    for header, name in source.headers.items():
        value = environ.get(name)
        if not value:
            raise HttpJsonError(
                f"header {header} needs the environment variable {name}, which is not set"
            )
        out[header] = value
    return out


async def fetch(
    client: httpx.AsyncClient, source: HttpJsonSource, headers: Mapping[str, str]
) -> Any:
    """GET the source's URL and parse its JSON (errors name the URL's host, never the headers)."""
    host = httpx.URL(source.url).host
    try:
        response = await client.get(source.url, headers=dict(headers))
    except httpx.HTTPError as exc:
        raise HttpJsonError(f"cannot reach {host}: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise HttpJsonError(f"{host} answered HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise HttpJsonError(f"{host} did not answer with JSON") from None


def read_document(
    document: Any, source: HttpJsonSource, zone: ZoneInfo
) -> Iterator[MetricRecord | BadRow]:
    """Metric values of every record; a bad record or value is a `BadRow` (line = position + 1)."""
    records = pick(document, source.records) if source.records else document
    where = source.records or "the document"
    if records is _MISSING:
        raise HttpJsonError(f"{where!r} is not in the document")
    if not isinstance(records, list):
        raise HttpJsonError(f"{where} is not a list of records")
    prefix = source.records or "records"
    for position, record in enumerate(records):
        day = _day(pick(record, source.date))
        if day is None:
            yield BadRow(
                position + 1,
                f"{prefix}[{position}].{source.date}",
                "is not a date (YYYY-MM-DD or an ISO 8601 instant)",
            )
            continue
        if isinstance(day, datetime):
            day = day.astimezone(zone).date() if day.tzinfo else day.date()
        for metric, path in source.values.items():
            value = _number(pick(record, path))
            if value is None:
                yield BadRow(
                    position + 1, f"{prefix}[{position}].{path}", f"is not a number (for {metric})"
                )
                continue
            yield MetricRecord(metric=metric, day=day, value=value, team=source.team or "")


def _day(value: Any) -> date | datetime | None:
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None
