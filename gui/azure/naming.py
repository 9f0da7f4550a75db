"""Azure's naming rules, checked before anything is sent.

Each check returns None when the name is valid, else a :class:`~gui.i18n.Message` that says
what is wrong and what Azure accepts (the rules of "Naming rules and restrictions for Azure
resources"). The window shows it translated (``gui.qt.i18n.render_text``), the headless
commands print its English text (``str(message)``).

Every sentence is written out whole for each kind of name: a translation words each noun in
its own grammar ("Geben Sie einen Namen für den Datenträger ein" but "… für die
Ressourcengruppe …"), which a sentence glued around a "kind" word cannot give.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from gui.i18n import QT_TR_NOOP, Message, message

_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_INT32_MAX = 2**31 - 1
_BLOB_MAX = 1024

Check = Callable[[str], Message | None]


@dataclass(frozen=True)
class _Sentences:
    """What the check of one kind of name says: nothing entered, spaces around it, and
    (for a name that breaks the rule) what Azure accepts."""

    empty: Message
    spaced: Message
    advice: Message


def _blank(sentences: _Sentences, name: str) -> Message | None:
    if not name:
        return sentences.empty
    if name != name.strip():
        return sentences.spaced
    return None


def _rule(function_name: str, pattern: str, sentences: _Sentences) -> Check:
    """A check for a name whose Azure rule is one regular expression."""
    compiled = re.compile(pattern)

    def check(name: str) -> Message | None:
        return _blank(sentences, name) or (None if compiled.match(name) else sentences.advice)

    check.__name__ = check.__qualname__ = function_name
    check.__doc__ = "None when ``name`` is valid, else a Message saying what Azure accepts."
    return check


_DISK_LIKE = r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$"

disk_name = _rule("disk_name", _DISK_LIKE, _Sentences(
    empty=message(QT_TR_NOOP("Enter a disk name.")),
    spaced=message(QT_TR_NOOP("The disk name must not start or end with spaces.")),
    advice=message(QT_TR_NOOP(
        "A disk name has 1–80 letters, digits, underscores, periods or hyphens, starts with a "
        "letter or digit and ends with a letter, digit or underscore.")),
))
snapshot_name = _rule("snapshot_name", _DISK_LIKE, _Sentences(
    empty=message(QT_TR_NOOP("Enter a snapshot name.")),
    spaced=message(QT_TR_NOOP("The snapshot name must not start or end with spaces.")),
    advice=message(QT_TR_NOOP(
        "A snapshot name has 1–80 letters, digits, underscores, periods or hyphens, starts with "
        "a letter or digit and ends with a letter, digit or underscore.")),
))
image_name = _rule("image_name", _DISK_LIKE, _Sentences(
    empty=message(QT_TR_NOOP("Enter an image name.")),
    spaced=message(QT_TR_NOOP("The image name must not start or end with spaces.")),
    advice=message(QT_TR_NOOP(
        "An image name has 1–80 letters, digits, underscores, periods or hyphens, starts with "
        "a letter or digit and ends with a letter, digit or underscore.")),
))
gallery_name = _rule(
    "gallery_name", r"^[A-Za-z0-9](?:[A-Za-z0-9_.]{0,78}[A-Za-z0-9])?$", _Sentences(
        empty=message(QT_TR_NOOP("Enter a gallery name.")),
        spaced=message(QT_TR_NOOP("The gallery name must not start or end with spaces.")),
        advice=message(QT_TR_NOOP(
            "A gallery name has 1–80 letters, digits, underscores or periods (no hyphens), "
            "and starts and ends with a letter or digit.")),
    ))
definition_name = _rule(
    "definition_name", r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9])?$", _Sentences(
        empty=message(QT_TR_NOOP("Enter an image definition name.")),
        spaced=message(QT_TR_NOOP(
            "The image definition name must not start or end with spaces.")),
        advice=message(QT_TR_NOOP(
            "An image definition name has 1–80 letters, digits, underscores, periods or "
            "hyphens, and starts and ends with a letter or digit.")),
    ))
resource_group_name = _rule(
    "resource_group_name",
    r"^[-\w._()]{0,89}[-\w()]$",  # the last character is anything allowed but a period
    _Sentences(
        empty=message(QT_TR_NOOP("Enter a resource group name.")),
        spaced=message(QT_TR_NOOP(
            "The resource group name must not start or end with spaces.")),
        advice=message(QT_TR_NOOP(
            "A resource group name has 1–90 letters, digits, underscores, hyphens, periods or "
            "parentheses and does not end with a period.")),
    ))
storage_account_name = _rule("storage_account_name", r"^[a-z0-9]{3,24}$", _Sentences(
    empty=message(QT_TR_NOOP("Enter a storage account name.")),
    spaced=message(QT_TR_NOOP("The storage account name must not start or end with spaces.")),
    advice=message(QT_TR_NOOP(
        "A storage account name has 3–24 lowercase letters and digits only.")),
))
container_name = _rule(
    "container_name", r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$", _Sentences(
        empty=message(QT_TR_NOOP("Enter a container name.")),
        spaced=message(QT_TR_NOOP("The container name must not start or end with spaces.")),
        advice=message(QT_TR_NOOP(
            "A container name has 3–63 lowercase letters, digits and single hyphens, and "
            "starts and ends with a letter or digit.")),
    ))

_BLOB = _Sentences(
    empty=message(QT_TR_NOOP("Enter a blob name.")),
    spaced=message(QT_TR_NOOP("The blob name must not start or end with spaces.")),
    advice=message(QT_TR_NOOP("A blob name must not end with a period or a slash.")),
)
_BLOB_TOO_LONG = message(QT_TR_NOOP("A blob name has at most {limit:,} characters."),
                         limit=_BLOB_MAX)

_VERSION_SENTENCES = _Sentences(
    empty=message(QT_TR_NOOP("Enter a version number, e.g. 1.0.0.")),
    spaced=message(QT_TR_NOOP("The version number must not start or end with spaces.")),
    advice=message(QT_TR_NOOP("A version is three numbers: major.minor.patch, e.g. 1.0.0.")),
)
_VERSION_PART_TOO_BIG = message(QT_TR_NOOP("Each part of a version is at most {limit}."),
                                limit=_INT32_MAX)


def blob_name(name: str) -> Message | None:
    """None when ``name`` is a valid blob name, else a Message saying what Azure accepts."""
    if error := _blank(_BLOB, name):
        return error
    if len(name) > _BLOB_MAX:
        return _BLOB_TOO_LONG
    if name.endswith((".", "/")):
        return _BLOB.advice
    return None


def version_name(name: str) -> Message | None:
    """Gallery image versions are major.minor.patch, each a 32-bit integer."""
    if error := _blank(_VERSION_SENTENCES, name):
        return error
    match = _VERSION.match(name)
    if match is None:
        return _VERSION_SENTENCES.advice
    if any(int(part) > _INT32_MAX for part in match.groups()):
        return _VERSION_PART_TOO_BIG
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
