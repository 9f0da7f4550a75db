"""Names are checked as Azure checks them, before anything is sent."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from gui.azure import naming
from gui.i18n import MESSAGE_CONTEXT, Message

ROOT = Path(__file__).resolve().parents[2]
CHECKS: dict[str, Callable[[str], Message | None]] = {
    "disk": naming.disk_name,
    "image": naming.image_name,
    "gallery": naming.gallery_name,
    "image definition": naming.definition_name,
    "resource group": naming.resource_group_name,
    "storage account": naming.storage_account_name,
    "container": naming.container_name,
    "blob": naming.blob_name,
    "version": naming.version_name,
}
# For each check: names breaking each of its rules (nothing, spaces around it, what Azure refuses).
BROKEN = {
    "disk": ["", " osdisk", "-x"],
    "image": ["", "img ", "_img"],
    "gallery": ["", " g", "gal-contoso"],
    "image definition": ["", "u ", "u-"],
    "resource group": ["", " rg", "rg."],
    "storage account": ["", "abc ", "Contoso"],
    "container": ["", " vhds", "a--b"],
    "blob": ["", " disk.vhd", "x.", "y" * 1025],
    "version": ["", "1.0.0 ", "1.0", "1.2.4294967296"],
}


@pytest.mark.parametrize(
    ("check", "good", "bad"),
    [
        (
            naming.disk_name,
            ["osdisk", "web-01_os.disk", "a", "d_"],
            ["", "-x", "x-", "x.", "a b", "x" * 81],
        ),
        (naming.image_name, ["img-ubuntu-2204", "IMG_1"], ["_img", "img!", "x" * 81]),
        (naming.gallery_name, ["gal_contoso.prod", "G1"], ["gal-contoso", "_g", "g_", "x" * 81]),
        (naming.definition_name, ["ubuntu-22.04-base", "w"], ["-u", "u-", "u_", "a b"]),
        (naming.resource_group_name, ["rg-images(prod)", "rg.1"], ["", "rg.", "rg/x", "x" * 91]),
        (naming.storage_account_name, ["contosoimages01"], ["Contoso", "ab", "a-b", "x" * 25]),
        (naming.container_name, ["vhds", "a-b-c"], ["ab", "-ab", "ab-", "a--b", "VHDS"]),
        (naming.blob_name, ["disk.vhd", "a/b.vhd"], ["", "x.", "x/", "y" * 1025]),
        (
            naming.version_name,
            ["1.0.0", "2024.11.26", "0.0.1"],
            ["1.0", "1.0.0.0", "a.b.c", "1.2.4294967296"],
        ),
    ],
)
def test_names_are_checked_as_azure_checks_them(
    check: Callable[[str], Message | None], good: list[str], bad: list[str]
) -> None:
    for name in good:
        assert check(name) is None, name
    for name in bad:
        message = check(name)
        assert isinstance(message, Message), name
        assert str(message).endswith(".")  # a sentence the wizard can show as it is


def _catalogue_sources(tmp_path: Path) -> set[str]:
    """The templates pyside6-lupdate finds in naming.py: what the catalogue can translate."""
    ts = tmp_path / "naming_de.ts"
    lupdate = Path(sys.executable).with_name("pyside6-lupdate")
    subprocess.run([str(lupdate), "-silent", "-locations", "none",
                    str(ROOT / "gui" / "azure" / "naming.py"), "-ts", str(ts)], check=True)
    return {msg.findtext("source") or ""
            for ctx in ET.parse(ts).getroot().iter("context")
            if (ctx.findtext("name") or "") == MESSAGE_CONTEXT
            for msg in ctx.iter("message")}


def test_every_sentence_is_a_whole_template_the_catalogue_translates(tmp_path: Path) -> None:
    sources = _catalogue_sources(tmp_path)
    seen: dict[str, str] = {}
    for kind, check in CHECKS.items():
        for name in BROKEN[kind]:
            message = check(name)
            assert message is not None, (kind, name)
            # Marked as written (lupdate reads literals), not built around a kind word.
            assert message.template in sources, (kind, name, message.template)
            assert kind.split()[-1] in message.template.lower(), message.template
            # A sentence belongs to one kind of name: German words each noun its own way.
            assert seen.setdefault(message.template, kind) == kind, message.template


def test_limits_are_arguments_written_as_numbers() -> None:
    too_long = naming.blob_name("y" * 1025)
    assert too_long is not None and too_long.args == {"limit": 1024}
    assert str(too_long) == "A blob name has at most 1,024 characters."
    too_big = naming.version_name("1.2.4294967296")
    assert too_big is not None and too_big.args == {"limit": 2**31 - 1}
    assert str(too_big) == "Each part of a version is at most 2147483647."


def test_next_version_follows_the_highest_existing() -> None:
    assert naming.next_version([]) == "1.0.0"
    assert naming.next_version(["1.0.0", "1.10.0", "1.9.3", "latest"]) == "1.10.1"
