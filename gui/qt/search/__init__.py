"""The window's one search box over everything: the results model and the search panel."""
