"""Azure Image Studio: browse, inspect, capture and upload Azure VM images."""

__version__ = "0.1.0"
APP_NAME = "Azure Image Studio"
APP_ID = "azure-image-studio"
