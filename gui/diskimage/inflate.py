"""Deflate streams (qcow2's compressed clusters, VMDK's grains) inflated to a bounded length.

ISA-L's inflate (the ``isal`` package) is used when it is installed: on qcow2 clusters it
inflated 2.3 times as many bytes per CPU second as zlib (tests/benchmarks/bench_qcow2.py), which
is what a compressed image's upload is bound by. Without it the standard library's zlib does the
same work. Both release the GIL while they inflate, so the upload's reader threads decompress in
parallel, and both stop at ``limit`` bytes however far a damaged stream would expand.
"""

from __future__ import annotations

import zlib
from typing import Any

# A bare deflate stream with deflate's largest window. qemu inflates a qcow2 cluster with one
# call into the cluster's buffer, so it accepts every back-reference that reaches inside the
# cluster (up to 32 KiB back), whatever window the writer declared; a 4 KiB window here would
# refuse clusters qemu reads (a writer using zlib's default window makes them).
RAW = -15
ZLIB = 15  # a zlib-wrapped stream (a VMDK grain)

# "isal" or "zlib" forces a backend for streams inflated from now on (the tests read every
# image through both); None picks ISA-L when it is installed.
backend: str | None = None

_isal: Any = None
_isal_checked = False


class InflateError(Exception):
    """The stream does not inflate; the text is the library's reason."""


def _isal_module() -> Any:
    global _isal, _isal_checked
    if not _isal_checked:
        module: Any = None
        try:
            # Imported on first use: only compressed images need it.
            from isal import isal_zlib

            module = isal_zlib
        except ImportError:
            pass
        _isal, _isal_checked = module, True
    return _isal


def active_backend() -> str:
    """The backend :func:`inflate` uses now: "isal" or "zlib"."""
    if backend == "zlib":
        return "zlib"
    if backend == "isal" or _isal_module() is not None:
        return "isal"
    return "zlib"


def inflate(data: bytes | bytearray | memoryview, wbits: int, limit: int) -> bytes:
    """At most ``limit`` bytes inflated from the start of ``data`` (bytes after the stream's
    end are ignored, as qemu and VMware readers do); fewer when the stream ends sooner."""
    module: Any = zlib
    if backend != "zlib":
        fast = _isal_module()
        if fast is not None:
            module = fast
        elif backend == "isal":
            raise InflateError("the isal package is not installed")
    try:
        out: bytes = module.decompressobj(wbits).decompress(data, limit)
    except module.error as exc:
        raise InflateError(str(exc)) from None
    return out


__all__ = ["RAW", "ZLIB", "InflateError", "active_backend", "inflate"]
