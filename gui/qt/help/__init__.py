"""Help: F1 in every window and wizard page, the Help menu, About and copy diagnostics.

Pages are bundled HTML (resources/help/<language>/), shown in a QTextBrowser, so help works
offline. ``install_help()`` makes F1 work application-wide (the main window's HelpMenu calls
it too); ``HelpMenu(window)`` adds the menu.
"""

from gui.qt.help.controller import HelpController, install_help
from gui.qt.help.menu import HelpMenu

__all__ = ["HelpController", "HelpMenu", "install_help"]
