"""English text that carries its translatable :class:`~gui.i18n.Message`.

The engines' errors, findings and step texts were plain English strings, and the headless
commands, logs and many views use them as strings (``finding.message``, ``step.title``,
``f"{event.message}"``). :class:`Text` keeps that: it *is* the English string, and it also holds
the Message it was made from, so the window can show it translated
(``gui.qt.i18n.render_text(text)`` finds :meth:`Text.localized`, the ``Localizable`` protocol).
Anything built from it with string operations is plain English again, which is what a log or a
command wants.

It lives in the lowest layer (the disk-image engine) so every Qt-free layer above can use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType

from gui.i18n import Localizable, Message, Render


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
