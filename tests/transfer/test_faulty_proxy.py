"""The fault-injecting proxy itself: it must leave nothing behind for a later test to trip on."""

from __future__ import annotations

import gc
import http.client
import sys
from datetime import timedelta
from urllib.parse import urlsplit

from tests.fixtures.azurite import Azurite
from tests.fixtures.disk_images import MIB
from tests.transfer.faulty_proxy import FaultyProxy


def test_an_upstream_refusing_mid_body_leaves_no_connection_open(azurite: Azurite) -> None:
    container = azurite.create_container()
    leaked: list[str] = []
    with FaultyProxy(f"http://127.0.0.1:{azurite.port}") as proxy:
        # Azurite refuses an expired SAS on the headers alone, before it reads the body.
        url = proxy.rewrite(
            azurite.blob_sas_url(container, "late.vhd", expires_in=timedelta(minutes=-5))
        )
        parts = urlsplit(url)
        for _ in range(12):  # the leak needs Azurite to stop reading mid-body: not every time
            client = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30)
            client.request(
                "PUT",
                f"{parts.path}?comp=page&{parts.query}",
                body=bytes(6 * MIB),
                headers={"x-ms-page-write": "update", "x-ms-range": f"bytes=0-{6 * MIB - 1}"},
            )
            assert client.getresponse().status == 403
            client.close()
        proxy.wait_idle()
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: leaked.append(repr(unraisable.exc_value))
    try:
        gc.collect()
    finally:
        sys.unraisablehook = hook
    assert leaked == []
