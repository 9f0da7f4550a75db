"""The catalog's text in the window's language: node summaries, detail values, root titles.

The catalog (no Qt) hands a plain ``str`` for Azure's own words and a
:class:`gui.i18n.Text` (the English that remembers its Message) for ours; a Message's
arguments may themselves be Texts (a security label inside a summary) or datetimes. Each part
is translated on its own and dates take the one format of the app (``format_datetime``), so
nothing English or ISO-dated leaks into a German window.
"""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType

from PySide6.QtCore import QCoreApplication

from gui.azure.catalog.nodes import ByteSize, CatalogNode, NodeKind
from gui.i18n import Message, Text
from gui.qt.i18n import format_datetime, format_number, format_size, render


def show(text: object) -> str:
    """A catalog text (str, Text, Message, datetime, number) as the window shows it."""
    if isinstance(text, Text):
        text = text.message
    if isinstance(text, Message):
        args = {key: _argument(value) for key, value in text.args.items()}
        return render(Message(text.template, MappingProxyType(args), text.count, text.plural))
    return _argument(text)


def _argument(value: object) -> str:
    if isinstance(value, Text | Message):
        return show(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, ByteSize):
        return format_size(value)
    if isinstance(value, int | float):
        return format_number(value)
    return "" if value is None else str(value)


def node_label(node: CatalogNode) -> str:
    """The label a row shows: a root's title translated, any other node as Azure names it."""
    if node.kind is NodeKind.SOURCE:
        return render(Message(node.label))
    return node.label


def node_tooltip(node: CatalogNode) -> str:
    """The summary, and Azure's own name where the label is not it (a shared gallery's unique
    name), so the name to quote to Azure or a colleague is one hover away."""
    summary = show(node.summary)
    if node.name == node.label:
        return summary
    unique = unique_name_text(node.name)
    return f"{summary}\n{unique}" if summary else unique


def unique_name_text(name: str) -> str:
    return QCoreApplication.translate("CatalogText", "Unique name: {name}").format(name=name)
