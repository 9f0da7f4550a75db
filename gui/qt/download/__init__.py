"""Download…: a disk, snapshot or gallery image version to a local file (gui/azure/download), as
the window offers it."""
