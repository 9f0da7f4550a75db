"""The capture wizard and its pages."""
