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
from dataclasses import dataclass, field, replace
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


# ---- English text that carries its Message --------------------------------------------------
#
# The engines' errors, findings and step texts were plain English strings, and the headless
# commands, logs and many views use them as strings (``finding.message``, ``step.title``). Text
# keeps that: it *is* the English string, and it also holds the Message it was made from, so the
# window shows it translated (``gui.qt.i18n.render_text`` finds ``Text.localized``). Anything
# built from it with string operations is plain English again, which is what a log wants.


class Text(str):
    """A Message's English text (``str(text)``, ``==``, ``in``) that remembers the Message."""

    message: Message

    def __new__(cls, source: Message | str) -> Text:
        if isinstance(source, Text):
            return source
        msg = source if isinstance(source, Message) else Message(source)
        self = super().__new__(cls, msg.english())
        self.message = msg
        return self

    def localized(self, render: Render) -> str:
        return localize(render, self.message)

    def __reduce__(self) -> tuple[type[str], tuple[str]]:
        # A copy or pickle is the English text (a Message's argument view cannot be pickled).
        return str, (str(self),)


def localize(render: Render, item: object) -> str:
    """``item`` in the language ``render`` gives: a Message with its arguments rendered first
    (an argument may itself be a Message, a Text or an error), a Localizable, else ``str``."""
    if isinstance(item, Message):
        if any(_translatable(value) for value in item.args.values()):
            args: Mapping[str, object] = MappingProxyType(
                {k: localize(render, v) if _translatable(v) else v for k, v in item.args.items()}
            )
            item = replace(item, args=args)
        return render(item)
    if isinstance(item, Localizable):
        return item.localized(render)
    return str(item)


def _translatable(value: object) -> bool:
    return isinstance(value, Message | Localizable)


def tr(template: str, disambiguation: str, n: int, /) -> str:
    """Marks a plural template; returns it unchanged (nothing is translated here).

    ``pyside6-lupdate`` reads a bare ``tr("… %n …", "", n)`` as a plural message of the empty
    context, the one ``Message`` templates live in, while ``QT_TR_NOOP`` never makes a plural
    one. Only a plural entry holds both forms, so a count renders as "1 entry" and "3 entries"
    in every language. Use it as :func:`plural`'s first argument.
    """
    del disambiguation, n  # read by lupdate from the source, not needed at run time
    return template


def plural(template: str, other: str, count: int, /, **args: object) -> Message:
    """A message whose English wording depends on ``count``: ``template`` (marked with
    ``tr(…, "", count)``) for one, ``other`` for any other count; both hold ``%n``."""
    return Message(template, MappingProxyType(dict(args)), count=count, plural=other)
