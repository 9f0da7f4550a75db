"""The ARM side of the sandbox: routing, paging and the resource handlers."""
