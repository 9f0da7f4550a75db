"""The Qt layer: the only code besides gui/app.py that imports PySide6."""
