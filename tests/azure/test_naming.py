"""Names are checked as Azure checks them, before anything is sent."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gui.azure import naming


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
    check: Callable[[str], str | None], good: list[str], bad: list[str]
) -> None:
    for name in good:
        assert check(name) is None, name
    for name in bad:
        message = check(name)
        assert message, name
        assert message.endswith(".")  # a sentence the wizard can show as it is


def test_next_version_follows_the_highest_existing() -> None:
    assert naming.next_version([]) == "1.0.0"
    assert naming.next_version(["1.0.0", "1.10.0", "1.9.3", "latest"]) == "1.10.1"
