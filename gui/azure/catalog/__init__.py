"""Browsing every image source (no Qt): plain nodes, the catalog service, the one listing cache."""
