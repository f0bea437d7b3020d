"""A tiny asyncio HTTP/1.1 keep-alive client for the API load bench.

Hand-rolled on purpose: the load generator shares two cores with gunicorn
and PostgreSQL, so it must spend as little CPU per request as possible
(httpx costs several times more). Loopback only.
"""

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass


def sign(secret: bytes, method: str, path: str, ts: str, body: bytes) -> str:
    digest = hashlib.sha256(body).hexdigest()
    message = f"{method}\n{path}\n{ts}\n{digest}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


@dataclass
class Result:
    status: int
    latency: float
    body: bytes


class Connection:
    def __init__(self, host: str, port: int, key_id: str, secret: str) -> None:
        assert host in ("127.0.0.1", "localhost"), "loopback only"
        self.host, self.port = host, port
        self.key_id, self.secret = key_id, secret.encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except ConnectionError:
                pass
            self.writer = None

    async def request(
        self, method: str, path: str, payload: object = None, idem: str | None = None
    ) -> Result:
        body = b"" if payload is None else json.dumps(payload).encode()
        ts = str(int(time.time()))
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"X-Bank-Key: {self.key_id}",
            f"X-Timestamp: {ts}",
            f"X-Signature: {sign(self.secret, method, path, ts, body)}",
            f"Content-Length: {len(body)}",
        ]
        if body:
            lines.append("Content-Type: application/json")
        if idem:
            lines.append(f"Idempotency-Key: {idem}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        started = time.perf_counter()
        for attempt in range(2):
            if self.writer is None:
                await self._connect()
            assert self.reader is not None and self.writer is not None
            try:
                self.writer.write(raw)
                status, headers, content = await self._read_response()
                break
            except (ConnectionError, asyncio.IncompleteReadError):
                # Server closed an idle keep-alive connection: reconnect once.
                await self.close()
                if attempt:
                    raise
        latency = time.perf_counter() - started
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Result(status, latency, content)

    async def _read_response(self) -> tuple[int, dict[str, str], bytes]:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        first, *rest = head.decode("latin-1").split("\r\n")
        status = int(first.split(" ", 2)[1])
        headers = {}
        for line in rest:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        length = int(headers.get("content-length", "0"))
        content = await self.reader.readexactly(length) if length else b""
        return status, headers, content


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]
