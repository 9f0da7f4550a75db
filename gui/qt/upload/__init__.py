"""The upload wizard and its pages."""
