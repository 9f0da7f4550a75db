"""Create VM… and Test boot… from an image (the dialog and the tree's context-menu actions)."""
