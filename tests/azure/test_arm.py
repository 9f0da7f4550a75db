"""Resource IDs, enum text and generation labels: the ARM vocabulary in one module."""

from __future__ import annotations

import pytest
from azure.mgmt.compute.models import HyperVGeneration, OperatingSystemStateTypes

from gui.azure.arm import (
    enum_text,
    generation_label,
    generation_short,
    name_of,
    resource_group_of,
    subscription_of,
)

VM = "/subscriptions/sub-1/resourceGroups/rg-images/providers/Microsoft.Compute/virtualMachines/vm1"
VERSION = (
    "/subscriptions/sub-1/resourceGroups/rg-images/providers/Microsoft.Compute/galleries/g1"
    "/images/def1/versions/1.2.3"
)


@pytest.mark.parametrize(
    "resource_id",
    [
        VM,
        VM.replace("resourceGroups", "resourcegroups"),
        VM.replace("resourceGroups", "RESOURCEGROUPS"),
    ],
)
def test_the_resource_group_is_found_in_any_case(resource_id: str) -> None:
    assert resource_group_of(resource_id) == "rg-images"
    assert subscription_of(resource_id) == "sub-1"
    assert name_of(resource_id) == "vm1"


def test_a_group_id_without_a_trailing_segment_still_names_its_group() -> None:
    assert resource_group_of("/subscriptions/sub-1/resourceGroups/rg-images") == "rg-images"
    assert name_of("/subscriptions/sub-1/resourceGroups/rg-images") == "rg-images"


def test_nested_resources_are_named_by_their_last_child() -> None:
    assert name_of(VERSION) == "1.2.3"
    assert resource_group_of(VERSION) == "rg-images"


def test_ids_without_a_group_give_empty_text() -> None:
    assert resource_group_of("/subscriptions/sub-1") == ""
    assert name_of("/subscriptions/sub-1") == "sub-1"
    assert resource_group_of("") == "" and name_of("") == "" and subscription_of("") == ""


def test_enum_text_reads_sdk_enums_and_plain_strings_alike() -> None:
    assert enum_text(OperatingSystemStateTypes.GENERALIZED) == "Generalized"
    assert enum_text("Specialized") == "Specialized"
    assert enum_text(None) == ""


@pytest.mark.parametrize(
    ("value", "short", "label"),
    [
        (HyperVGeneration.V1, "Gen1", "Gen1 (V1)"),
        (HyperVGeneration.V2, "Gen2", "Gen2 (V2)"),
        ("v2", "Gen2", "Gen2 (V2)"),
        (None, "", "Gen1 (V1)"),  # ARM's default generation when unset
        ("V3", "V3", "V3"),  # unknown text is shown as Azure sent it
    ],
)
def test_generation_labels(value: object, short: str, label: str) -> None:
    assert generation_short(value) == short
    assert generation_label(value) == label
