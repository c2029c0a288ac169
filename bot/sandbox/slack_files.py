"""The fake Slack's file methods: `files_upload_v2`'s three steps, and `files.list`.

`files.getUploadURLExternal` hands out an upload URL on the fake itself (`/upload/<file id>`);
the client POSTs the bytes there (checked against the announced `length`); then
`files.completeUploadExternal` shares the uploaded files in a channel (or a thread of it), as
Slack does only for a bot that is in the channel. Shared files are kept in `files_of(fake)`.
Slack answers the upload itself with `text/plain` `OK - <size>`; the fake answers JSON, and
slack_sdk reads only the status. Stricter than Slack: completing an unknown or not yet
uploaded file, or one completed already, is refused. A file shared in a channel is told to
`FakeSlack.watch` callbacks (not its upload steps: only the share is visible).
"""

from __future__ import annotations

import json
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.sandbox.shown import Shown
from bot.sandbox.slack_error import SlackError

if TYPE_CHECKING:
    from bot.sandbox.slack import FakeSlack

UPLOAD_PATH = "/upload/"
UPLOAD = "files.upload"  # the name faults and recorded calls give the upload URL
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_SIZE = 1024 * 1024 * 1024  # Slack: 1 GB


@dataclass
class FakeFile:
    id: str
    filename: str
    length: int
    alt_txt: str | None = None
    content: bytes | None = None  # once uploaded
    title: str | None = None
    channel: str | None = None  # once shared
    thread_ts: str | None = None
    created: int = 0  # Unix seconds, when shared (on the fake's clock: `FakeSlack.next_ts`)

    @property
    def is_png(self) -> bool:
        return self.content is not None and self.content.startswith(PNG_SIGNATURE)

    def json(self) -> dict[str, Any]:
        """The file object as `files.completeUploadExternal` and `files.list` give it."""
        return {
            "id": self.id,
            "name": self.filename,
            "title": self.title or self.filename,
            "size": self.length,
            "mimetype": "image/png" if self.is_png else "application/octet-stream",
            "created": self.created,
            "channels": [self.channel] if self.channel else [],
        }


@dataclass
class FakeFiles:
    by_id: dict[str, FakeFile] = field(default_factory=dict)
    shared: list[FakeFile] = field(default_factory=list)  # in the order they were shared
    lock: threading.RLock = field(default_factory=threading.RLock)

    def in_channel(self, channel: str) -> list[FakeFile]:
        with self.lock:
            return [f for f in self.shared if f.channel == channel]


def files_of(fake: FakeSlack) -> FakeFiles:
    """The fake's files (kept beside it, so the fake's own fields stay as they are)."""
    files: FakeFiles = fake.__dict__.setdefault("_slack_files", FakeFiles())
    return files


def png_dimensions(content: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk; ValueError when it is not a PNG."""
    if not content.startswith(PNG_SIGNATURE) or content[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    width, height = struct.unpack(">II", content[16:24])
    return int(width), int(height)


def get_upload_url(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    fake.require_scope("files:write")
    filename = str(args.get("filename") or "")
    try:
        length = int(args.get("length") or 0)
    except ValueError:
        raise SlackError("invalid_arguments", detail="length is a number") from None
    if not filename or length <= 0:
        raise SlackError("invalid_arguments")
    if length > MAX_SIZE:
        raise SlackError("file_too_large")
    files = files_of(fake)
    with files.lock:
        file_id = f"F{len(files.by_id) + 1:08d}"
        files.by_id[file_id] = FakeFile(file_id, filename, length, args.get("alt_txt") or None)
    base = fake.url.removesuffix("api/")
    return {"upload_url": f"{base}{UPLOAD_PATH.strip('/')}/{file_id}", "file_id": file_id}


def receive_upload(
    fake: FakeSlack, path: str, headers: dict[str, str], raw: bytes
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """The upload URL: store the bytes of a file whose upload was asked for, of its length."""
    from bot.sandbox.slack import Call

    file_id = path.removeprefix(UPLOAD_PATH)
    with fake._lock:
        fault = fake._fault(UPLOAD)
        files = files_of(fake)
        file = files.by_id.get(file_id)
        status: int
        extra: dict[str, str]
        body: dict[str, Any]
        if fault is not None and fault.kind == "rate_limited":
            status, extra, body = 429, {"Retry-After": str(fault.retry_after)}, {"ok": False}
        elif fault is not None:
            status, extra, body = fault.status, {}, {"ok": False}
        elif file is None or file.content is not None:
            status, extra, body = 404, {}, {"ok": False, "error": "upload_url_unknown"}
        elif len(raw) != file.length:
            status, extra, body = 400, {}, {"ok": False, "error": "length_mismatch"}
        else:
            file.content = raw
            status, extra, body = 200, {}, {"ok": True, "size": len(raw)}
        args = {"file_id": file_id, "bytes": len(raw)}
        fake.calls.append(Call(UPLOAD, "POST", args, headers, status, body, time.monotonic()))
    return status, extra, body


def complete_upload(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    fake.require_scope("files:write")
    try:
        wanted = json.loads(str(args.get("files") or "[]"))
    except json.JSONDecodeError:
        raise SlackError("invalid_arguments", detail="files is a JSON list") from None
    channel = str(args.get("channel_id") or "")
    if channel in fake.closed_channels:
        raise SlackError("not_in_channel")
    thread = str(args.get("thread_ts") or "") or None
    if thread is not None and not any(m.ts == thread for m in fake.messages.get(channel, [])):
        raise SlackError("invalid_thread_ts")
    files = files_of(fake)
    with files.lock:
        chosen = []
        for item in wanted:
            file = files.by_id.get(str(item.get("id")))
            if file is None or file.content is None or file.created:
                raise SlackError("file_not_found" if file is None else "invalid_file")
            chosen.append((file, item.get("title")))
        for file, title in chosen:
            file.title = str(title) if title else file.filename
            file.channel, file.thread_ts = (channel or None), thread
            file.created = int(float(fake.next_ts()))  # the fake's clock, as message ts
            files.shared.append(file)
            if file.channel is not None:  # a file shared nowhere is seen by nobody
                fake.show(_file_shown(file, str(args.get("initial_comment") or "")))
        return {"files": [file.json() for file, _ in chosen]}


def _file_shown(file: FakeFile, comment: str) -> Shown:
    return Shown(
        "file",
        file.channel,
        comment,
        thread_ts=file.thread_ts,
        name=file.filename,
        title=file.title,
        size=file.length,
        alt=file.alt_txt,
    )


def files_list(fake: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    """Shared files, newest first, of a channel (`channel`), since `ts_from`; paged by `page`."""
    fake.require_scope("files:read")
    channel = str(args.get("channel") or "")
    since = int(float(args.get("ts_from") or 0))
    count = max(1, min(int(args.get("count") or 100), 1000))
    page = max(1, int(args.get("page") or 1))
    files = files_of(fake)
    with files.lock:
        chosen = [
            f
            for f in reversed(files.shared)
            if (not channel or f.channel == channel) and f.created >= since
        ]
    pages = max(1, -(-len(chosen) // count))
    shown = chosen[(page - 1) * count : page * count]
    return {
        "files": [f.json() for f in shown],
        "paging": {"count": count, "total": len(chosen), "page": page, "pages": pages},
    }


METHODS = {
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
    "files.list": files_list,
}
