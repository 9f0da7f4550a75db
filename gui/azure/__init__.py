"""The Azure service layer (no Qt): credentials, clouds, catalog, capture, disk upload."""
