"""The bandwidth cap: a token bucket on a fake clock, and the engine paying it for every byte."""

from __future__ import annotations

import threading
from pathlib import Path

from gui.transfer import UploadOptions
from gui.transfer.bandwidth import BURST_SECONDS, BandwidthCap
from tests.fixtures.azurite import Azurite
from tests.fixtures.disk_images import MIB, DiskImageFactory
from tests.transfer.helpers import upload


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_no_cap_never_waits() -> None:
    cap = BandwidthCap(None, FakeClock())
    assert [cap.reserve(4 * MIB) for _ in range(100)] == [0.0] * 100
    assert cap.rate is None


def test_the_average_rate_is_the_cap_however_large_the_requests() -> None:
    clock = FakeClock()
    cap = BandwidthCap(1 * MIB, clock)
    sent = 0
    for _ in range(40):  # 4 MiB bodies against a 1 MiB/s cap: each waits for its own bytes
        clock.now += cap.reserve(4 * MIB)
        sent += 4 * MIB
    elapsed = clock.now - 100.0
    assert sent / elapsed == 1 * MIB


def test_an_idle_spell_buys_at_most_the_burst() -> None:
    clock = FakeClock()
    cap = BandwidthCap(2 * MIB, clock)
    clock.now += 3600  # an hour paused
    allowed_at_once = 2 * MIB * BURST_SECONDS
    assert cap.reserve(int(allowed_at_once)) == 0.0
    assert cap.reserve(2 * MIB) == 1.0  # then the plain rate again


def test_the_cap_is_shared_by_concurrent_callers_on_other_threads() -> None:
    clock = FakeClock()
    cap = BandwidthCap(8 * MIB, clock)
    waits: list[float] = []
    lock = threading.Lock()

    def sender() -> None:
        for _ in range(25):
            wait = cap.reserve(MIB)
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 100 MiB reserved at once by four threads: the last waits for all of it, minus nothing
    # (the bucket starts empty), at 8 MiB/s.
    assert max(waits) == 100 / 8


def test_lifting_the_cap_while_running_stops_the_waiting() -> None:
    clock = FakeClock()
    cap = BandwidthCap(MIB, clock)
    assert cap.reserve(10 * MIB) > 0
    cap.set_rate(None)
    assert cap.reserve(10 * MIB) == 0.0


class CountingCap(BandwidthCap):
    """The real cap, counting what the engine asked it for."""

    def __init__(self, rate: int) -> None:
        super().__init__(rate)
        self.reserved = 0

    def reserve(self, nbytes: int) -> float:
        self.reserved += nbytes
        return super().reserve(nbytes)


def test_the_engine_pays_the_cap_for_every_byte_it_sends(
    azurite: Azurite, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = disk_images.make("vpc", 6 * MIB, "scattered", subformat="dynamic")
    cap = CountingCap(1024 * MIB)  # high: the test checks the accounting, not the clock
    url = azurite.blob_sas_url(azurite.create_container(), "capped.vhd")
    result = upload(made.path, url, UploadOptions(journal_dir=tmp_path, bandwidth=cap))
    assert result.bytes_sent > 0
    assert cap.reserved == result.bytes_sent
