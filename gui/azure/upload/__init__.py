"""Uploading a disk image into Azure (no Qt): the job and its persisted status, managed disks,
storage accounts."""
