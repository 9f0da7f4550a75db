"""A loopback TCP relay with one bandwidth cap shared by all its connections: a model of the
network link between an administrator's desk and Azure, for the download benchmark.

    python3 tests/benchmarks/link.py --to-port 10000 --mbps 500

Prints the port it listens on, then relays every connection to 127.0.0.1:``--to-port``. The
server-to-client direction (what a download receives) passes a token bucket refilled at
``--mbps`` megabits per second, so all connections together never receive faster than the link;
the client-to-server direction (small requests) is not capped. Against Azurite straight on
loopback, the emulator's own CPU time per request decides the benchmark; through the relay, as
over a real link, the bytes sent do.
"""

from __future__ import annotations

import argparse
import asyncio
import time

_CHUNK = 64 * 1024
# A burst of at most 20 ms of the link: long enough not to cost throughput to the sleeps'
# granularity, short enough that no request is served faster than the link.
_BURST_SECONDS = 0.02


class Bucket:
    """Tokens are bytes; callers wait in turn (the lock is FIFO), so connections share fairly."""

    def __init__(self, bytes_per_second: float) -> None:
        self._rate = bytes_per_second
        self._level = 0.0
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def take(self, count: int) -> None:
        async with self._lock:
            now = time.monotonic()
            self._level = min(self._rate * _BURST_SECONDS,
                              self._level + (now - self._stamp) * self._rate)
            self._stamp = now
            self._level -= count
            if self._level < 0:
                await asyncio.sleep(-self._level / self._rate)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                bucket: Bucket | None) -> None:
    try:
        while data := await reader.read(_CHUNK):
            if bucket is not None:
                await bucket.take(len(data))
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--to-port", type=int, required=True)
    parser.add_argument("--mbps", type=float, required=True, help="megabits per second")
    args = parser.parse_args()
    bucket = Bucket(args.mbps * 1e6 / 8)

    async def relay(client_reader: asyncio.StreamReader,
                    client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", args.to_port)
        await asyncio.gather(_pump(client_reader, server_writer, None),
                             _pump(server_reader, client_writer, bucket))

    server = await asyncio.start_server(relay, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
