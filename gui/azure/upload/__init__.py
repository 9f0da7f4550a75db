"""Uploading a disk image into Azure (no Qt): the job and its persisted status, managed disks,
storage accounts."""

# The SKUs a disk can be uploaded into directly (Azure's direct upload takes these redundancy
# options; Ultra and Premium SSD v2 disks take no upload). The wizard, the settings and the
# headless upload offer this one list; it lives here, not in managed_disk.py, so the settings
# dialog can read it without loading the upload engine.
DISK_SKUS = ("Standard_LRS", "StandardSSD_LRS", "Premium_LRS", "StandardSSD_ZRS", "Premium_ZRS")
