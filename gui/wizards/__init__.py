"""QWizard subclasses: capture and upload."""
