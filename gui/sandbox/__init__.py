"""The embedded sandbox: a local Azure on loopback for sandbox mode, the tests and benchmarks.

``SandboxServer(state_dir, reset=False).start()`` serves, each in the server's own thread/loop:

* ARM on ``arm_url`` (the SDK's ``base_url``; any api-version; Bearer token required):
  subscriptions, tenants, locations, resource groups (get/list/create); Marketplace
  ``locations/{l}/publishers/.../offers/.../skus/.../versions[/{v}]`` (plain arrays);
  ``communityGalleries`` and ``sharedGalleries`` (+ images, versions); managed ``images``,
  ``galleries``/``images``/``versions`` (``$expand=ReplicationStatus``), ``disks`` with
  ``beginGetAccess``/``endGetAccess``; VMs and snapshots; Resource Graph
  ``POST /providers/Microsoft.ResourceGraph/resources`` (tables ``communitygalleryresources``,
  ``resources``, ``resourcecontainers``). Lists page with absolute ``nextLink``; creates and
  deletes are long-running (``Azure-AsyncOperation``/``Location``).
* Blob on ``blob_url`` (``/<account>/<container>/<blob>``, SAS only): page blobs and the
  operations an uploader needs; ``blob_sas_url()``/``container_sas_url()`` issue SAS.

``faults`` injects errors and latency; ``request_count`` counts requests on both endpoints.
The seeded names are constants in ``gui.sandbox.seed`` and ``gui.sandbox.seed.world``.
"""

from gui.sandbox.faults import FaultRule, Faults
from gui.sandbox.server import SandboxError, SandboxServer

__all__ = ["FaultRule", "Faults", "SandboxError", "SandboxServer"]
