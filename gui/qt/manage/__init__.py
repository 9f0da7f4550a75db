"""Acting on what the tree shows: the delete confirmation and its progress."""
