"""A TCP proxy between the bot and PostgreSQL that a test cuts, or makes refuse, at will.

`TcpProxy` listens on 127.0.0.1 (an ephemeral port) and pipes each connection to the real
server. `cut()` drops every connection at once, as a crashed or restarted server does: the
server sees its clients gone and rolls back their open transactions; the clients see their
connections reset. While `refusing`, new connections are closed as soon as they are accepted,
as a server that is starting up refuses them. It runs in the test's event loop, so a hook that
runs inside the bot's code (e.g. SQLAlchemy's `before_cursor_execute`) can call `cut()` at the
exact statement the test wants the connection to die at.
"""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy import make_url


class _Pipe(asyncio.Protocol):
    """One side of a proxied connection: what it receives goes to its peer."""

    def __init__(self, proxy: TcpProxy, peer: _Pipe | None = None) -> None:
        self.proxy = proxy
        self.transport: asyncio.Transport | None = None
        self.peer = peer
        self.waiting = bytearray()  # received before the peer was connected

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.proxy.pipes.add(self)

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.transport.write(data)
        else:
            self.waiting.extend(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.proxy.pipes.discard(self)
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class TcpProxy:
    """`start()` it, give the bot `url(real_url)`, then `cut()` or set `refusing`."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.pipes: set[_Pipe] = set()
        self.refusing = False
        self.accepted = 0  # connections let through
        self.refused = 0
        self._server: asyncio.Server | None = None
        self._connecting: set[asyncio.Task[None]] = set()

    @classmethod
    def to(cls, url: str) -> TcpProxy:
        """A proxy to the server of a database URL."""
        parsed = make_url(url)
        return cls(parsed.host or "127.0.0.1", parsed.port or 5432)

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the proxy first"
        return int(self._server.sockets[0].getsockname()[1])

    def url(self, url: str) -> str:
        """`url` with its host and port replaced by the proxy's."""
        proxied = make_url(url).set(host="127.0.0.1", port=self.port)
        return proxied.render_as_string(hide_password=False)

    async def start(self) -> TcpProxy:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Client(self), "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    def cut(self) -> int:
        """Drop every connection now (both sides); returns how many client connections."""
        cut = sum(1 for pipe in self.pipes if isinstance(pipe, _Client))
        for pipe in list(self.pipes):
            pipe.abort()
        return cut


class _Client(_Pipe):
    """The bot's side: connects to the server, or is refused."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if self.proxy.refusing:
            self.proxy.refused += 1
            self.abort()
            return
        self.proxy.accepted += 1
        task = asyncio.get_running_loop().create_task(self._connect())
        self.proxy._connecting.add(task)
        task.add_done_callback(self.proxy._connecting.discard)

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        host, port = self.proxy.upstream
        try:
            _, server = await loop.create_connection(lambda: _Pipe(self.proxy, self), host, port)
        except OSError:
            self.abort()
            return
        if self.transport is None or self.transport.is_closing():
            server.abort()
            return
        self.peer = server
        if self.waiting:
            assert server.transport is not None
            server.transport.write(bytes(self.waiting))
            self.waiting.clear()
