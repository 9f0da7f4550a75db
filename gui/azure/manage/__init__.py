"""Acting on what the tree shows (no Qt): deleting images, gallery versions, definitions,
galleries, disks and snapshots, planned first and then run as steps."""
