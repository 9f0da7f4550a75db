"""ARM vocabulary shared by the catalog, capture and upload: resource IDs, enum text, generations.

Resource IDs are parsed by ``azure.mgmt.core.tools.parse_resource_id`` only: ARM accepts any case
for its fixed segments (``resourcegroups`` as well as ``resourceGroups``), and hand parsers kept
getting that wrong.
"""

from __future__ import annotations

from azure.mgmt.core.tools import parse_resource_id

__all__ = [
    "enum_text",
    "generation_label",
    "generation_short",
    "name_of",
    "resource_group_of",
    "subscription_of",
]


def resource_group_of(resource_id: str) -> str:
    """The resource group named in ``resource_id``; '' when it names none."""
    return str(parse_resource_id(resource_id).get("resource_group") or "")


def subscription_of(resource_id: str) -> str:
    """The subscription id in ``resource_id``; '' when it names none."""
    return str(parse_resource_id(resource_id).get("subscription") or "")


def name_of(resource_id: str) -> str:
    """The name of the resource ``resource_id`` points at (the last child's, for nested types).

    A subscription's or resource group's own ID names that subscription or group.
    """
    parsed = parse_resource_id(resource_id)
    for key in ("resource_name", "name", "resource_group", "subscription"):
        if parsed.get(key):
            return str(parsed[key])
    return ""


def enum_text(value: object) -> str:
    """An SDK enum or plain string as the text Azure sends ('' for None)."""
    if value is None:
        return ""
    return str(getattr(value, "value", value))


_GENERATIONS = {"V1": "Gen1", "V2": "Gen2"}


def generation_short(value: object) -> str:
    """'Gen1' / 'Gen2' for a Hyper-V generation ("V1"/"V2", enum or text); other text unchanged."""
    text = enum_text(value)
    known = _GENERATIONS.get(text.upper())
    return known or text


def generation_label(value: object) -> str:
    """'Gen1 (V1)' / 'Gen2 (V2)' as detail panes show it; ARM's default (V1) when unset."""
    text = enum_text(value) or "V1"
    known = _GENERATIONS.get(text.upper())
    return f"{known} ({text.upper()})" if known else text
