"""Azure's naming rules, checked before anything is sent.

Each check returns None when the name is valid, else a sentence that says what is wrong and what
Azure accepts (the rules of "Naming rules and restrictions for Azure resources").
"""

from __future__ import annotations

import re
from collections.abc import Callable

_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_INT32_MAX = 2**31 - 1

Check = Callable[[str], "str | None"]


def _blank(kind: str, name: str) -> str | None:
    if not name:
        return f"Enter a {kind} name."
    if name != name.strip():
        return f"The {kind} name must not start or end with spaces."
    return None


def _rule(kind: str, pattern: str, advice: str) -> Check:
    """A check for a name that Azure's rule for ``kind`` describes as one regular expression."""
    compiled = re.compile(pattern)

    def check(name: str) -> str | None:
        return _blank(kind, name) or (None if compiled.match(name) else advice)

    check.__name__ = f"{kind.replace(' ', '_')}_name"
    check.__doc__ = f"None when ``name`` is a valid {kind} name, else what Azure accepts."
    return check


_DISK_LIKE = r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$"
_DISK_LIKE_RULE = (
    "has 1–80 letters, digits, underscores, periods or hyphens, starts with a letter or digit "
    "and ends with a letter, digit or underscore."
)

disk_name = _rule("disk", _DISK_LIKE, f"A disk name {_DISK_LIKE_RULE}")
image_name = _rule("image", _DISK_LIKE, f"An image name {_DISK_LIKE_RULE}")
gallery_name = _rule(
    "gallery",
    r"^[A-Za-z0-9](?:[A-Za-z0-9_.]{0,78}[A-Za-z0-9])?$",
    "A gallery name has 1–80 letters, digits, underscores or periods (no hyphens), "
    "and starts and ends with a letter or digit.",
)
definition_name = _rule(
    "image definition",
    r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9])?$",
    "An image definition name has 1–80 letters, digits, underscores, periods or "
    "hyphens, and starts and ends with a letter or digit.",
)
resource_group_name = _rule(
    "resource group",
    r"^[-\w._()]{0,89}[-\w()]$",  # the last character is anything allowed but a period
    "A resource group name has 1–90 letters, digits, underscores, hyphens, periods "
    "or parentheses and does not end with a period.",
)
storage_account_name = _rule(
    "storage account",
    r"^[a-z0-9]{3,24}$",
    "A storage account name has 3–24 lowercase letters and digits only.",
)
container_name = _rule(
    "container",
    r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$",
    "A container name has 3–63 lowercase letters, digits and single hyphens, and "
    "starts and ends with a letter or digit.",
)


def blob_name(name: str) -> str | None:
    if error := _blank("blob", name):
        return error
    if len(name) > 1024:
        return "A blob name has at most 1,024 characters."
    if name.endswith((".", "/")):
        return "A blob name must not end with a period or a slash."
    return None


def version_name(name: str) -> str | None:
    """Gallery image versions are major.minor.patch, each a 32-bit integer."""
    if error := _blank("version", name):
        return error
    match = _VERSION.match(name)
    if match is None:
        return "A version is three numbers: major.minor.patch, e.g. 1.0.0."
    if any(int(part) > _INT32_MAX for part in match.groups()):
        return f"Each part of a version is at most {_INT32_MAX}."
    return None


def version_key(name: str) -> tuple[int, int, int]:
    match = _VERSION.match(name)
    if match is None:
        return (-1, -1, -1)
    major, minor, patch = (int(part) for part in match.groups())
    return (major, minor, patch)


def next_version(existing: list[str]) -> str:
    """The patch after the highest existing version (1.0.0 when there is none)."""
    valid = [version_key(name) for name in existing if _VERSION.match(name)]
    if not valid:
        return "1.0.0"
    major, minor, patch = max(valid)
    return f"{major}.{minor}.{patch + 1}"
