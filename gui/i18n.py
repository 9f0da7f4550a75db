"""Translatable text from the layers that have no Qt (engines, Azure service, commands).

The Qt-free layers never translate: they return a :class:`Message`, an English template with
``{name}`` placeholders and its arguments. The window renders it in the user's language
(``gui.qt.i18n.render``); the headless commands print its English text (``str(message)``).

Templates are marked with :func:`QT_TR_NOOP`, a name Qt's ``pyside6-lupdate`` recognises, so the
templates land in the same ``.ts`` catalogue as the window's own strings (in the empty context,
which is where ``lupdate`` puts ``QT_TR_NOOP`` outside a QObject). The marker must wrap the string
literal itself: ``lupdate`` reads the source, it does not run it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol, runtime_checkable

# The context ``lupdate`` gives QT_TR_NOOP strings outside a QObject subclass.
MESSAGE_CONTEXT = ""


def QT_TR_NOOP(text: str) -> str:  # the name lupdate looks for
    """Mark ``text`` for translation without translating it (Picard's ``N_()``)."""
    return text


@dataclass(frozen=True)
class Message:
    """An English template and its arguments, translated only where it is shown.

    ``count`` selects a plural form: the template then holds ``%n`` (Qt's plural placeholder)
    and ``plural`` gives the English text for counts other than one, so the headless commands
    print real English plurals without Qt.
    """

    template: str
    args: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    count: int | None = None
    plural: str | None = None

    def english(self) -> str:
        text = self.template
        if self.count is not None:
            if self.count != 1 and self.plural is not None:
                text = self.plural
            text = text.replace("%n", str(self.count))
        return text.format(**self.args) if self.args else text

    def __str__(self) -> str:
        return self.english()


def message(template: str, /, **args: object) -> Message:
    """``Message(template, args)``; call as ``message(QT_TR_NOOP("… {name} …"), name=…)``."""
    return Message(template, MappingProxyType(dict(args)))


Render = Callable[[Message], str]


@runtime_checkable
class Localizable(Protocol):
    """An error or finding whose text the window shows in its language.

    ``localized(render)`` composes the text from :class:`Message` parts passed through
    ``render`` (the window's translator; ``Message.english`` for the commands), keeping what
    Azure itself wrote (its error message) as Azure wrote it. ``str()`` of the object stays
    the English text, for logs and the headless commands.
    """

    def localized(self, render: Render) -> str: ...


def english(item: object) -> str:
    """The English text of a Localizable, a Message, or anything else (``str``)."""
    if isinstance(item, Message):
        return item.english()
    if isinstance(item, Localizable):
        return item.localized(Message.english)
    return str(item)
