"""Create a VM from an image, or test-boot the image (issue 12, Deliver 5).

``request``: what the user asked for (VmRequest), checked before anything is sent; ``image``:
what the image needs (generation, architecture, security type, plan); ``sizes``: the VM sizes
of a region that run the image (Resource SKUs); ``executor``: the steps as StepEvents (resource
group, network, terms, VM, provisioning; in test-boot mode the serial log, the verdict and the
cleanup); ``verdict``: why a test boot failed. No Qt.
"""
