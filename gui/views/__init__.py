"""Windows, panes and widgets."""
