"""Headless commands (``inspect``, ``upload``): the engines driven from a terminal, no Qt."""
