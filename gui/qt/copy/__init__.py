"""Copy to…: the server-side copy (gui/azure/copy) as the window offers it."""
