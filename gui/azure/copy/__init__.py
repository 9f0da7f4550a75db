"""Server-side copies: the bytes stay in Azure, the app orchestrates and reports each step.

* ``gallery``: a gallery image version into another gallery (another subscription or tenant):
  a new version whose source is the old one; across tenants the requests carry the source
  tenant's token as well (``tenants``).
* ``region``: a snapshot, or a managed image, into another region: incremental snapshots copied
  with ``CopyStart``, then (for an image) a managed image made from the copies.
* ``blob``: a page blob into another storage account: Copy Blob, read through a read-only SAS.

Each job is a list of ``StepSpec`` and an async generator of ``StepEvent`` (``job.CopyJob``),
as capture and upload are, so the same step list shows any of them.
"""
