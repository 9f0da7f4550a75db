"""The image browser: tree model, search proxy, disk table, detail pane."""
