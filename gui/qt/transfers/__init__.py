"""The Transfers panel: a thin Qt model over running uploads, and its dock."""
