"""The upload progress page and the Transfers panel following real jobs: disk uploads to the
sandbox over HTTP (qemu-img made disks), one that makes its image and one whose image name is
taken."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from pytestqt.qtbot import QtBot

from gui.azure.image_builder import DiskFacts, ManagedImageSpec
from gui.azure.upload.job import ManagedDiskTargetPlan, UploadPlan
from gui.azure.upload.managed_disk import ManagedDiskSpec
from gui.qt import icons
from gui.qt.app_controller import AppController
from gui.qt.style import Tone, color
from gui.qt.transfers.model import EFFECTIVE, NETWORK, PROGRESS, Status, ToneRole, Transfer
from gui.qt.upload.wizard import ProgressPage
from gui.qt.widgets.measures import format_rate
from gui.qt.widgets.step_list import STATE, TITLE
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import IMAGE_OS_ONLY, RG_IMAGES
from tests.qt.helpers import AsyncRunner

pytestmark = pytest.mark.gui

MIB = 1024 * 1024
TIMEOUT_MS = 60_000


@pytest.fixture
def quick_sandbox(fresh_sandbox: Any) -> Any:
    """A sandbox of this test's own (uploads create disks and images), operations sped up."""
    fresh_sandbox.lro_seconds = 0.05
    return fresh_sandbox


@pytest.fixture
def new_session(quick_sandbox: Any, run: AsyncRunner) -> Iterator[Callable[[], Any]]:
    from gui.azure.account.session import sandbox_session

    sessions: list[Any] = []

    def make() -> Any:
        sessions.append(sandbox_session(quick_sandbox.arm_url))
        return sessions[-1]

    yield make
    for session in sessions:
        run(session.close())


@pytest.fixture
def signed_in(
    controller: AppController, run: AsyncRunner, new_session: Callable[[], Any]
) -> AppController:
    controller.window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    run(controller.window.use_session(new_session()))
    return controller


def disk_with_image(path: Path, disk: str, image: str) -> UploadPlan:
    return UploadPlan(
        source_path=str(path),
        facts=DiskFacts("Linux", "Generalized", "V2", "x64"),
        target=ManagedDiskTargetPlan(
            PRODUCTION_SUBSCRIPTION_ID,
            ManagedDiskSpec(RG_IMAGES, disk, "westeurope", os_type="Linux"),
        ),
        follow_up=ManagedImageSpec(RG_IMAGES, image, "westeurope"),
    )


def start(
    controller: AppController, qtbot: QtBot, plan: UploadPlan
) -> tuple[ProgressPage, Transfer]:
    """The upload started as the wizard starts it, its progress page attached at once."""
    page = ProgressPage()
    qtbot.addWidget(page)
    page.resize(820, 560)
    page.show()
    transfer = controller.transfers.submit(plan)
    page.attach(transfer)
    return page, transfer


def titles(page: ProgressPage) -> list[str]:
    items = [page.steps.topLevelItem(i) for i in range(page.steps.topLevelItemCount())]
    return [item.text(TITLE) for item in items if item is not None]


def test_progress_covers_the_whole_job_and_every_step_is_listed_from_the_start(
    signed_in: AppController, qtbot: QtBot, disk_images: Any
) -> None:
    # Mostly empty: far more of the stream is covered than is sent.
    made = disk_images.make("vpc", 24 * MIB, "scattered", subformat="dynamic")
    plan = disk_with_image(made.path, "disk-progress", "img-progress")
    page, transfer = start(signed_in, qtbot, plan)
    assert titles(page) == [
        "Create the managed disk for upload",
        "Grant write access (SAS)",
        "Upload the data",
        "Revoke access",
        "Create managed image img-progress",
    ]
    assert page.steps.states() == ["Waiting"] * 5

    model = signed_in.transfers.model
    seen: list[tuple[float, int, bool, str]] = []  # fraction, bar, every step done, rates

    def look() -> None:
        row = model.index(0, 0)
        done = len(transfer.steps) == 5 and all(
            s.state.value == "Done" for s in transfer.steps.values()
        )
        snapshot = transfer.snapshot
        rates = ""
        if snapshot is not None and transfer.status.active:
            network = model.data(row.siblingAtColumn(NETWORK))
            effective = model.data(row.siblingAtColumn(EFFECTIVE))
            assert network == format_rate(snapshot.send_rate)
            assert effective == format_rate(snapshot.rate)
            rates = "apart" if snapshot.rate > snapshot.send_rate * 1.5 else ""
        seen.append((transfer.fraction, page.bar.value(), done, rates))

    transfer.changed.connect(look)
    qtbot.waitUntil(lambda: not transfer.status.active, timeout=TIMEOUT_MS)
    assert transfer.status is Status.COMPLETED, transfer.error

    # The planned steps are the job's own, in its order: nothing added, nothing left waiting.
    assert list(transfer.steps) == [s.key for s in transfer.planned_steps]
    unfinished = [(f, bar) for f, bar, done, _ in seen if not done]
    assert unfinished and all(f < 1 and bar < 1000 for f, bar in unfinished)
    data_done_image_not = [
        f for f, _, done, _ in seen
        if not done and transfer.steps["upload"].state.value == "Done"
    ]
    assert all(f < 1 for f in data_done_image_not)
    fractions = [f for f, *_ in seen]
    assert fractions == sorted(fractions)  # a fresh job never goes back
    assert page.bar.value() == 1000
    # The zeros count for the effective speed only.
    assert any(rates == "apart" for *_, rates in seen)

    # How it ended, said where the running text was.
    assert "close this window: the upload goes on" not in page.subTitle()
    assert page.subTitle() == "The upload finished and the image was created."
    # Done steps carry a check, not the info icon.
    check = icons.icon("done").cacheKey()
    for index in range(page.steps.topLevelItemCount()):
        item = page.steps.topLevelItem(index)
        assert item is not None and item.text(STATE) == "Done"
        assert item.icon(TITLE).cacheKey() == check != icons.icon("info").cacheKey()


def chunk_colors(image: Any) -> set[str]:
    """The colours in the middle row of a painted bar."""
    y = image.height() // 2
    return {QColor(image.pixel(x, y)).name() for x in range(image.width())}


def test_a_failed_follow_up_says_why_in_full_and_its_bar_does_not_look_done(
    signed_in: AppController, qtbot: QtBot, disk_images: Any
) -> None:
    made = disk_images.make("raw", 24 * MIB, "scattered")
    # The image name is taken (a seeded image): the data goes up, the image step fails.
    plan = disk_with_image(made.path, "disk-name-taken", IMAGE_OS_ONLY)
    page, transfer = start(signed_in, qtbot, plan)
    qtbot.waitUntil(lambda: not transfer.status.active, timeout=TIMEOUT_MS)
    assert transfer.status is Status.FAILED
    assert transfer.steps["upload"].state.value == "Done"
    assert transfer.data_fraction == 1.0

    # The page: the subtitle says it failed and why; the whole message is readable.
    subtitle = page.subTitle()
    assert subtitle.startswith("The upload failed: ") and "already exists" in subtitle
    assert "close this window" not in subtitle
    label = page.state_label
    assert transfer.error in label.text() and label.toolTip() == label.text()
    assert label.wordWrap()
    assert label.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    assert page.state_scroll.widget() is label and page.state_scroll.widgetResizable()
    assert page.steps.states()[-1] == "Failed"
    assert page.bar.value() < 1000
    error = color(Tone.ERROR, page.bar.palette())
    assert page.bar.palette().color(QPalette.ColorRole.Highlight) == error

    # The panel: not 100 %, and the bar in the error colour, not the theme's highlight.
    model = signed_in.transfers.model
    index = model.index(0, PROGRESS)
    assert model.data(index) < 100
    assert model.data(index, ToneRole) is Tone.ERROR
    dock = signed_in.window.transfers_dock
    dock.show()
    table = dock.table
    qtbot.waitExposed(table)
    table.clearSelection()  # the selection's own highlight is not the bar's
    rect = table.visualRect(index)
    painted = table.viewport().grab(rect).toImage()
    error_on_base = color(Tone.ERROR, table.palette(), QPalette.ColorRole.Base)
    highlight = table.palette().color(QPalette.ColorRole.Highlight).name()
    colours = chunk_colors(painted)
    assert error_on_base.name() in colours or any(
        QColor(name).hue() == error_on_base.hue() for name in colours
    )
    assert highlight not in colours
