<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en" sourcelanguage="en">
<context>
    <name></name>
    <message>
        <source>Capture refused before any change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing was changed. Correct what the message names and start the capture again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Generalization did not finish</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Look at the guest (boot diagnostics, serial console). Do not mark the VM generalized until the guest has been deprovisioned and has shut down.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replication failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The image version exists; update its target regions to retry the replication.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing was changed on the VM yet. Correct the cause and start the capture again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The VM is generalized now and cannot be started again; open the capture wizard for it again and choose &apos;I generalized it myself&apos; to retry.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check VM {name} and the target</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing was changed. Correct what the message names and start again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Snapshot {disk}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create snapshot {snapshot} of {name} ({size_gb} GiB) in {resource_group}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run {tool} on {name} through Run Command ({command})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run {tool}, then shut down on {name} through Run Command ({command}); the admin account {user} is removed from the guest</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>(VM user)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run generalization (Run Command)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check the Run Command output. You can also generalize by hand and choose &apos;I generalized it myself&apos;.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wait until {name} has stopped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The guest did not shut down. Look at it (boot diagnostics, serial console) before you try again; do not mark it generalized.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deallocate {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deallocate VM {name} (stops billing for its compute)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deallocate the VM yourself (portal or `az vm deallocate`), then start again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Mark {name} generalized</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Mark VM {name} generalized in Azure: it can never be started again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The VM is deallocated; mark it generalized yourself (`az vm generalize`) or start again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>OS disk + %n data disk(s)</source>
        <translation>
            <numerusform>OS disk + %n data disk(s)</numerusform>
            <numerusform>OS disk + %n data disk(s)</numerusform>
        </translation>
    </message>
    <message>
        <source>OS disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create managed image {image_name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create managed image {image_name} in {resource_group} ({location}, {hyper_v_generation}, {disks})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create gallery {gallery_name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create Azure Compute Gallery {gallery_name} in {resource_group} ({location})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create image definition {definition_name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create image definition {name} ({os_type}, {os_state}, {hyper_v_generation}, {architecture}, {security_type}; {publisher}/{offer}/{sku}) in gallery {gallery_name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create image definition {name} ({os_type}, {os_state}, {hyper_v_generation}, {architecture}, {security_type}; {publisher}/{offer}/{sku}) in gallery {gallery_name}, with the VM&apos;s Marketplace plan {plan}, which VMs from it need</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>excluded from latest</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>end of life {date}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{first}, {second}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create image version {version}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create image version {path} from {name} (regions {regions}; {flags})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create image version {path} from {name} (regions {regions})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replicate to {region}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The image version exists; Azure keeps replicating. Check its replication status in the browser, or update its target regions to retry.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete VM {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete VM {name} (its disks are kept: {disks})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The image is ready. Delete the VM yourself when you no longer need it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is {power}; the target is free.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Snapshot {name} created ({size_gb} GiB).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run Command sent; waiting for the guest agent to run it…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The guest reported: {first}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Generalization started in the guest.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is {state}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VM {name} is still {state} {minutes} minutes after generalization was started.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is {state}; waiting for the guest to shut down…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is already deallocated.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is deallocated.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is already marked generalized.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is marked generalized.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Managed image {image_name} created.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gallery {gallery_name} created.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image definition {definition_name} created.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image version {version} accepted; Azure replicates it now.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replication to {region} failed: {details}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replicated to {region}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VM {name} deleted; its disks are kept.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure Marketplace</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Images published by Microsoft and partners: publisher → offer → SKU → version.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Community galleries</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Public galleries shared by their publishers with every Azure user (the successor of VM Depot). Not verified by Microsoft.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Shared with me</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Compute Galleries that other subscriptions or tenants shared with this subscription.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Managed images</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The subscription&apos;s own managed images, managed disks and snapshots, by resource group: also what the upload and capture wizards left behind (a kept upload disk, a capture&apos;s backup snapshots).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>My galleries</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The subscription&apos;s Azure Compute Galleries: gallery → image definition → version.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Virtual machines</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The subscription&apos;s VMs, the other source of images: select one and choose Capture VM… to turn it into a managed image or a gallery image version.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VHDs in storage accounts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Page blobs in the subscription&apos;s storage accounts: storage account → container → VHD (an unmanaged VM&apos;s disk, an uploaded VHD), to download or copy.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Yes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No such community gallery</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check the public name: in the Azure portal, open the gallery under Community galleries (or its Sharing page) and copy its public name, which looks like prefix-GUID (for example ContosoImages-1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d). A community gallery is shared to chosen regions only: pick one of them as the location.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No community gallery with the public name {name} exists in {location}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Request id: {request_id}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Standard</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trusted launch</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Standard or Trusted launch</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Confidential VM</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Standard or Confidential VM</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Standard, Trusted launch or Confidential VM</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Publisher</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Offer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SKU</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Purchase plan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deprecation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{state}, scheduled for {when}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Published by {publisher}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>shared with this subscription and its tenant</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>shared with this subscription&apos;s tenant</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>shared with this subscription</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{publisher} · {shared_with}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Images: {images} · disks: {disks} · snapshots: {snapshots}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Marketplace image {urn}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gallery image version {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Managed image {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy of snapshot {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy of disk {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Uploaded</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Imported from blob {uri}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Empty snapshot</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Empty disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Restore point {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backup of VM {vm}, taken before its capture</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Kept from an upload with Azure Image Studio</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{size} GiB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>attached to VM {vm}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VM {vm}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No VM (not attached)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Made by</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disk state</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Used by</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Created from</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Created</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Incremental</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>data disks: {count}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Snapshot {name} is no longer in resource group {group}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resource group</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Provisioning state</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Captured from VM</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Zone resilient</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Target regions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Exclude from latest</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replication</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Specialized (a running machine&apos;s identity)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Power state</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Operating system</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Admin user</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Features</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Identifier</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Published</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>End of life</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure request failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Try again; if it keeps failing, check the log (View → Log) for details.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not signed in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sign in (Account → Sign in to Azure…) or run `az login`, then refresh.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Permission denied</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your account lacks a role on this scope. Ask an owner of the subscription for the Reader role (browse) or Contributor (capture, upload), or pick another subscription.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not found</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>It may have been deleted or renamed. Refresh the tree.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure is throttling requests</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure asked us to slow down and retries did not get through. Wait a minute, then refresh.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure service error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure answered with a server error. It is usually transient: wait a moment and refresh.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No connection</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check the network connection (and proxy settings), then refresh.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure refused the request</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Correct what the message names and try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Refused: not a secure connection</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tokens and keys travel only over https://. Check the cloud&apos;s endpoints (`az cloud show`) or the URL you entered; plain http:// is allowed only to this machine.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Conflict</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Something with that name already exists or is busy. Pick another name or wait.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The request did not reach Azure: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure needs the storage account of {uri} to make a gallery image version from it, and the upload did not name one.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Storage account of the VHD unknown</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pick the storage account from the subscription on the upload&apos;s target page (instead of pasting a SAS URL), or make a managed image from the blob.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Version {version} of {definition} exists already. Pick a new number, e.g. {next}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VM {vm} is already marked generalized in Azure, so it cannot be captured as specialized. Choose &apos;I generalized it myself&apos;.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run Command needs a running VM, and {vm} is {state} (Azure: &apos;The operation requires the VM to be running (or set to run).&apos;). Start the VM, or generalize it yourself and choose &apos;I generalized it myself&apos;.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VM {vm} is running. A generalized guest shuts itself down (sysprep /shutdown) or must be shut down after waagent; Azure refuses to mark a running VM generalized (&apos;Operation &apos;generalize&apos; is not allowed since the VM is running&apos;). Generalize and shut it down first, or let this wizard run the generalization through Run Command.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Managed images do not support the security type {security_type} of {vm}; Azure refuses to capture it. Capture it into a gallery image version instead.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A managed image can only be made from a generalized VM. Generalize the VM, or capture it as specialized into a gallery image version.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Managed images support x64 only, and {vm} is {architecture}. Capture it into a gallery image version (with an Arm64 definition) instead.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An image named {name} already exists in resource group {resource_group}. Choose another name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OS type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OS state</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Hyper-V generation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>architecture</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The definition {definition} has {what} &apos;{wanted}&apos; but the capture is &apos;{source}&apos; (Azure: &apos;different {azure_what} than the parent gallery image&apos;).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The VM was made from the Marketplace plan {plan}, which the definition {definition} does not carry: Azure would refuse every VM made from the new version. Create a new definition (it carries the plan) or choose one made from this plan.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The definition {definition} has security type &apos;{security_type}&apos;, which does not accept a VM of security type &apos;{vm_security_type}&apos;.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A gallery named {gallery} already exists in this subscription. Pick it, or choose another name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>There is no gallery {gallery} in resource group {resource_group}. Pick an existing gallery or create a new one.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gallery {gallery} is in {gallery_location}, the VM in {vm_location}. Azure creates an image version from a VM only in the VM&apos;s region; pick or create a gallery there (replicate to other regions below).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The gallery already has a definition named {definition}. Pick it, or choose another name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter the definition&apos;s publisher.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter the definition&apos;s offer.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter the definition&apos;s SKU.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Definition {definition} already uses publisher/offer/SKU {publisher}/{offer}/{sku}; each definition of a gallery needs its own.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gallery {gallery} has no definition {definition}. Pick an existing definition or create a new one.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Version {version} already exists in {definition}. Versions cannot be overwritten; use a higher one, e.g. {higher}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A target region has no name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Region {region} is listed twice.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The replica count of {region} must be between 1 and {most}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The end-of-life date must be in the future (or leave it empty).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resource group {resource_group} does not exist in this subscription.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A snapshot named {name} already exists in {resource_group}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The definition {definition} is for {label} {wanted}, but the disk is {actual}. Pick or create a definition that matches the disk.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trusted launch needs a Gen2 (V2) definition.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replica count for {region} must be 1–100, not {replicas}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The end-of-life date must lie in the future.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create version {version} of {definition}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replication failed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{step} failed: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image definition {definition} was not found in {gallery}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{code}: {message}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Managed disk {name} ({resource_group}, {location})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The download was stopped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopped when the app closed; it resumes where it stopped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The app closed before the download finished.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Page blob {url}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Snapshot {name} ({resource_group})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image version {version} of {definition} ({gallery}), OS disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image version {version} of {definition} ({gallery}), data disk LUN {lun}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Managed disk {name} ({resource_group})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the OS disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the data disk at LUN {lun}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image version exists</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The uploaded disks are kept: retry with another version number (Retry with another name…); nothing is uploaded again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The upload of {disk} ({name}, from {file}) failed, so the other disks were stopped too: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create the managed disk for upload</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Grant write access (SAS)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Upload the data</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Revoke access</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create the managed disk {name} for upload</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Grant write access to {name} (SAS)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Revoke access to {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Upload the data of %n disks at the same time</source>
        <translation>
            <numerusform>Upload the data of %n disks at the same time</numerusform>
            <numerusform>Upload the data of %n disks at the same time</numerusform>
        </translation>
    </message>
    <message>
        <source>sealed when the upload stopped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the upload starts over</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete the partial disk {name} ({why})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The upload has {disks} disks but {opened} were opened. Plan the upload again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Each data disk needs its own LUN from 0 to {max_lun}, and LUN {lun} is not usable here. Plan the upload again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An image from a page blob is made in a subscription, and the upload names none. Plan the upload again from a signed-in window.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A gallery image version from the blob {blob_url} needs its storage account, and no storage account of subscription {subscription} has that blob endpoint. Nothing was uploaded.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The data of {name} is in Azure from an earlier run; nothing is sent again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The data is in Azure from an earlier run; nothing is sent again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Version {version} of {definition} exists already in the gallery {gallery}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the upload was cancelled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Paused when the app closed; it resumes where it stopped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopped when the window closed. Resume it any time.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The app closed before the upload finished.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unexpected error: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Only an upload whose data is in Azure and whose image step failed can retry that step alone.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not get a new SAS from the storage account: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>dynamic disk header</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the dynamic disk header at byte {offset:,} does not start with &apos;cxsparse&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The dynamic disk header&apos;s checksum is wrong (stored {checksum:#010x}, computed {computed_checksum:#010x}): the file is damaged. Check it with &apos;qemu-img check&apos; or export the disk again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The dynamic disk header has version {version:#010x}, not 1.0; it was read as 1.0.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>block allocation table</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it would reach byte {end:,} of a file whose data ends at byte {data_limit:,}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it would overlap the footer copy at the start of the file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it would overlap the dynamic disk header</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it would overlap the block table</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>block {block} is recorded at byte {at:,}, but {problem}</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n block table entry points outside the file&apos;s data (first: block {first}): the file is truncated or damaged, and those blocks cannot be read. Copy the file again or run &apos;qemu-img check&apos;.</source>
        <translation>
            <numerusform>%n block table entry points outside the file&apos;s data (first: block {first}): the file is truncated or damaged, and those blocks cannot be read. Copy the file again or run &apos;qemu-img check&apos;.</numerusform>
            <numerusform>%n block table entries point outside the file&apos;s data (first: block {first}): the file is truncated or damaged, and those blocks cannot be read. Copy the file again or run &apos;qemu-img check&apos;.</numerusform>
        </translation>
    </message>
    <message>
        <source>The block table has {entries:,} entries but the disk needs {needed:,}; the end of the disk has no place to be stored. The file is damaged.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot read {path}: {reason}. Check that the path is right and that you may read it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{path} is empty, so it holds no disk. Choose the disk image file itself.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The file is cut short: its {what} would end at byte {needed_end:,}, but the file has only {file_size:,} bytes. The copy or download is probably incomplete; copy the image again from its source.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The VHD footer is damaged: {detail}. Repair the image with the tool that made it (Hyper-V &apos;Inspect Disk&apos;, &apos;qemu-img check&apos;) or export it again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The image header is damaged: {detail}. The file cannot be read safely; repair it (Hyper-V &apos;Inspect Disk&apos;, &apos;qemu-img check -r all&apos;) or export the disk again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The VHDX region table is damaged: {detail}. Repair the image in Hyper-V (&apos;Inspect Disk&apos;) or convert it again with &apos;qemu-img convert -O vhdx&apos;.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The VHDX metadata is damaged: {detail}. Repair the image in Hyper-V (&apos;Inspect Disk&apos;) or convert it again with &apos;qemu-img convert -O vhdx&apos;.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The image&apos;s block table is damaged: {detail}. The data of that block cannot be found; run &apos;qemu-img check&apos; on the image or export the disk again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The image declares a block size of {block_size:,} bytes, which is not a power of two of a sensible size, so its blocks cannot be located. The file is damaged or not a real disk image; export the disk again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This image cannot be uploaded as it is: {detail}. Convert it to a plain disk first, for example with &apos;qemu-img convert -O vpc -o subformat=fixed,force_size=on&apos;.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The VHDX has unfinished writes in its log (it was not closed cleanly, for example the VM or host crashed). Reading it now could give stale data. Attach it once in Hyper-V (Mount-VHD, then Dismount-VHD) or run &apos;qemu-img check -r all&apos; on it, then try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>nowhere (the child names no parent path)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{child} is a differencing disk whose parent &apos;{parent}&apos; was not found (looked at: {places}). Put the parent file next to it, or merge the chain into one disk first (Hyper-V &apos;Edit Disk &gt; Merge&apos;, or &apos;qemu-img convert&apos;).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{parent} is not the parent of {child}: {detail}. The parent was replaced or modified after the differencing disk was made, so the chain would give wrong data. Find the original parent or merge the chain where it was made.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The chain of differencing disks cannot be followed: {detail}. Merge the chain into one disk first (Hyper-V &apos;Edit Disk &gt; Merge&apos;, or &apos;qemu-img convert&apos;).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{path} changed while it was being read (it became shorter). Make sure no VM or program is using the disk, then start again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{path} was already closed; open it again to read it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The image declares a disk of {declared:,} bytes, far beyond any real disk, so its size field is damaged. Repair the image or export the disk again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Information</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Warning</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VHD (fixed)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VHD (dynamic)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VHD (differencing)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VHDX (fixed)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VHDX (dynamic)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>raw disk image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VMDK (monolithic sparse)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VMDK (stream-optimized)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VMDK (sparse, split in 2 GB extents)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VMDK (flat)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VMDK (flat, split in 2 GB extents)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VDI (fixed)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VDI (dynamic)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OVA appliance</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is not a readable OVA: {detail}. The file is damaged or incomplete; download or export the appliance again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The OVF descriptor in {name} cannot be used: {detail}. Export the appliance again from its hypervisor, or extract its disks (&apos;tar -xf {name}&apos;) and upload them one by one.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} names the disk file &apos;{href}&apos; (disk {disk_id}), but the archive holds no file of that name (it holds: {listed}). The appliance is incomplete; export it again with all of its disks.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>nothing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the tar header at byte {pos:,} is damaged (its checksum does not match)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the tar header at byte {pos:,} has an invalid size field</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>an extended tar header at byte {at:,} claims {size:,} bytes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>tar extended header</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the pax size of &apos;{name}&apos; is invalid</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OVA member &apos;{name}&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it holds more than {limit:,} files</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>its text encoding &apos;{codec}&apos; is not supported</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it is not valid {codec} text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it declares a document type or entities, which an OVF never needs and which could make a parser expand or fetch content; it was not parsed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it is not well-formed XML ({exc})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>its root element is &apos;{root}&apos;, not the OVF &apos;Envelope&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>data disk at LUN {lun}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The appliance has no manifest (.mf), so its files cannot be checked against the digests its maker recorded.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The {algorithm} digest of &apos;{name}&apos; does not match the appliance&apos;s manifest (expected {expected}, computed {actual}): the file was changed or damaged after the appliance was exported. Download or export it again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>All {count} digests in the manifest match the appliance&apos;s files.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the archive holds no .ovf file, so it is a tar but not an OVA appliance</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The OVF descriptor &apos;{name}&apos; is not the archive&apos;s first file, as the OVF standard asks; it was found anyway.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&apos;{name}&apos; is {size:,} bytes, far more than any OVF descriptor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The manifest lists &apos;{listed}&apos;, but the archive does not hold it: the appliance is incomplete. Export it again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is a {label}-compressed appliance: the disks inside a compressed tar cannot be read in place. Unpack it once ({command}) and choose {unpacked}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it does not start with a tar header</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The manifest &apos;{name}&apos; is {size:,} bytes, far too large for a list of digests; it was not read.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n line of the manifest &apos;{name}&apos; is not &apos;SHA256(file)= digest&apos; lines and were skipped.</source>
        <translation>
            <numerusform>%n line of the manifest &apos;{name}&apos; is not &apos;SHA256(file)= digest&apos; lines and were skipped.</numerusform>
            <numerusform>%n lines of the manifest &apos;{name}&apos; are not &apos;SHA256(file)= digest&apos; lines and were skipped.</numerusform>
        </translation>
    </message>
    <message>
        <source>The appliance describes {count} virtual machines; the disks are ordered by the first one&apos;s hardware, and the others&apos; disks follow as data disks. Upload each machine&apos;s disks separately if they are different VMs.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{controller}, unit {unit}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not attached in the OVF&apos;s hardware</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it lists {count:,} disks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The hardware section attaches disk &apos;{ident}&apos;, which the DiskSection does not describe; it was skipped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disk &apos;{ident}&apos; has no file (an empty disk the hypervisor creates on import); it is not uploaded. Create an empty data disk in Azure instead.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>disk &apos;{ident}&apos; refers to file &apos;{file_id}&apos;, which the References section does not list</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The OVF says &apos;{href}&apos; is {declared:,} bytes, but the archive holds {size:,}: the file was changed or cut short. Export the appliance again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it lists no disk with a file in the archive</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no controller</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>controller {parent}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the disk file &apos;{href}&apos; inside {name} is {compression}-compressed; extract it (&apos;tar -xf {name} {href}&apos;) and unpack it first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the disk file &apos;{href}&apos; inside {name} is split into chunks; extract the appliance (&apos;tar -xf {name}&apos;) and join the chunks first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the disk file &apos;{href}&apos; is stored as a GNU sparse member, which cannot be read in place; extract it (&apos;tar -xf {name} {href}&apos;)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The OVF declares {declared} for disk &apos;{disk_id}&apos;, but its file holds a {actual} disk; the file&apos;s size is used.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Appliance</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} ({file}, descriptor {descriptor})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disk in appliance</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{number} of {count}: {role}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Attached to</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Member</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} ({size} at byte {offset:,})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disk format</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the disk &apos;{href}&apos; inside {name} is a {label}, which is not read in place from an appliance; extract it (&apos;tar -xf {archive} {href}&apos;) and upload the extracted file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the OVF says disk &apos;{href}&apos; is {format_uri}, but its content is not that format; the appliance is damaged</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disk id</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>derived from the appliance and the member&apos;s place in it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it is not on a cluster boundary</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it would end at byte {end:,}, past the end of the file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it overlaps the L1 table</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>L1 entry {l1_index} names an L2 table at byte {l2:,}, but {problem}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>cluster {cluster} is marked as reading zeros, which a version 2 image cannot record</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>cluster {cluster} has subclusters marked both stored and zero</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>cluster {cluster} has subclusters marked stored but no place in the file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>cluster {cluster} is recorded at byte {host:,}, which is not a cluster boundary</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>cluster {cluster} is recorded at byte {host:,}, past the end of the {size:,}-byte file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a compressed cluster is recorded at bytes {coffset:,} to {end:,}, past the end of the {size:,}-byte file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>deflate: {exc}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it holds {actual:,} bytes instead of one {size:,}-byte cluster</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>zstd: {exc}</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n L1 table entry names an L2 table that cannot be there (first: entry {first}): the file is truncated or damaged, and that part of the disk cannot be read. Run &apos;qemu-img check&apos; on it or copy it again.</source>
        <translation>
            <numerusform>%n L1 table entry names an L2 table that cannot be there (first: entry {first}): the file is truncated or damaged, and that part of the disk cannot be read. Run &apos;qemu-img check&apos; on it or copy it again.</numerusform>
            <numerusform>%n L1 table entries name an L2 table that cannot be there (first: entry {first}): the file is truncated or damaged, and that part of the disk cannot be read. Run &apos;qemu-img check&apos; on it or copy it again.</numerusform>
        </translation>
    </message>
    <message>
        <source>Format</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>qcow2 version {version} (compat={compat})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cluster size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Subclusters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>32 of {size}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Compression</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>qemu marked this image corrupt (it found its tables inconsistent), so data read from it may be wrong. Repair it with &apos;qemu-img check -r all&apos; first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The image was not closed cleanly (its &apos;dirty&apos; bit is set): only its space accounting may be off, the data reads as qemu would read it. &apos;qemu-img check -r all&apos; clears the bit.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{shown} and {more} more</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>The image holds %n internal snapshot ({names}). Only the current state of the disk is uploaded, not the snapshots; to upload a snapshot, apply it first (&apos;qemu-img snapshot -a NAME&apos;) or convert it (&apos;qemu-img convert -l snapshot.name=NAME&apos;).</source>
        <translation>
            <numerusform>The image holds %n internal snapshot ({names}). Only the current state of the disk is uploaded, not the snapshots; to upload a snapshot, apply it first (&apos;qemu-img snapshot -a NAME&apos;) or convert it (&apos;qemu-img convert -l snapshot.name=NAME&apos;).</numerusform>
            <numerusform>The image holds %n internal snapshots ({names}). Only the current state of the disk is uploaded, not the snapshots; to upload a snapshot, apply it first (&apos;qemu-img snapshot -a NAME&apos;) or convert it (&apos;qemu-img convert -l snapshot.name=NAME&apos;).</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>The image holds %n internal snapshot. Only the current state of the disk is uploaded, not the snapshots; to upload a snapshot, apply it first (&apos;qemu-img snapshot -a NAME&apos;) or convert it (&apos;qemu-img convert -l snapshot.name=NAME&apos;).</source>
        <translation>
            <numerusform>The image holds %n internal snapshot. Only the current state of the disk is uploaded, not the snapshots; to upload a snapshot, apply it first (&apos;qemu-img snapshot -a NAME&apos;) or convert it (&apos;qemu-img convert -l snapshot.name=NAME&apos;).</numerusform>
            <numerusform>The image holds %n internal snapshots. Only the current state of the disk is uploaded, not the snapshots; to upload a snapshot, apply it first (&apos;qemu-img snapshot -a NAME&apos;) or convert it (&apos;qemu-img convert -l snapshot.name=NAME&apos;).</numerusform>
        </translation>
    </message>
    <message>
        <source>Internal snapshots</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backing file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{path} ({format})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The backing file is {backing_size:,} bytes but this image is {size:,} bytes; past the backing file&apos;s end the disk reads as zeros.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>L2 tables</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{disk_id} (derived from the file: qcow2 images have none)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>In the backing file {name}: {message}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>its backing file is given as &apos;{name}&apos;, a qemu protocol or JSON description, not a file this program can open</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it is more than {depth} images deep</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{path} would be its own backing file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>its backing file {name} is named as qcow2 but is not a qcow2 image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>its backing file {name} is in qemu&apos;s &apos;{fmt}&apos; format; only qcow2, raw, VHD and VHDX backing files are read</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>qcow2 header</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the file does not start with the qcow2 signature &apos;QFI\xfb&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it is a QCOW version 1 image, a format qemu itself only keeps for old files</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it declares qcow2 version {version}; only 2 and 3 exist</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the cluster size field holds {cluster_bits}, not 9 to 21</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>qcow2 version 3 header</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the version 3 header claims {header_length} bytes, fewer than 104</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the header claims to be longer than the first cluster</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a header extension runs past the first cluster</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>header extension {kind:#010x} claims {length:,} bytes, past the first cluster or into the backing file name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>qcow2 header extensions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>backing file format</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>external data file name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the {what} is not readable text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the backing file name is too long or lies past the first cluster</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>backing file name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the backing file name is empty</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it uses qcow2 features this program does not know ({features}), which change how its data must be read</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is a qcow2 image encrypted with {kind}: Azure cannot read an encrypted disk image. Decrypt it where its key is known (&apos;qemu-img convert --object secret,id=sec0,file=KEYFILE --image-opts driver=qcow2,encrypt.key-secret=sec0,file.filename={name} -O raw disk.raw&apos;) and upload that, or upload an unencrypted disk and use Azure Disk Encryption.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it keeps its data in an external data file &apos;{name}&apos; (qcow2 &apos;data_file&apos;), not in the image itself</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it keeps its data in an external data file (qcow2 &apos;data_file&apos;), not in the image itself</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>its compressed clusters use compression type {compression_type}, which is neither deflate (0) nor zstd (1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the compression type and its feature bit disagree</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>extended L2 entries need clusters of at least 16 KiB, not {cluster_size:,} bytes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the L1 table claims {l1_size:,} entries, more than qemu allows (32 MiB)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the L1 table has {l1_size:,} entries, but the {size:,}-byte disk needs {needed:,}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the L1 table is placed at byte {l1_offset:,}, which is not a cluster boundary after the header</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>L1 table</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is a qcow2 image on top of the backing file &apos;{backing_name}&apos;, which was not found (looked at: {places}). Put the backing file where the image names it (a relative name is taken from the image&apos;s folder), or merge the chain into one image first: &apos;qemu-img convert -O qcow2 {name} merged.qcow2&apos;.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The compressed data at byte {offset:,} of the image is damaged ({reason}), so that part of the disk cannot be read. Run &apos;qemu-img check&apos; on the image, or export the disk again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The file is named &apos;{name}&apos; but holds no {kind} structures, so it is read as a raw disk. If it was a VHD that lost its footer (for example an incomplete copy), copy it again from its source.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The file is {size:,} bytes, not a whole number of 512-byte sectors; the last sector is completed with zeros.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{disk_id} (derived from path, size and time: raw files have none)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{value:.{decimals}f} {unit} ({size:,} bytes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{size:,} bytes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The disk is {virtual}, not a whole number of MiB, which Azure requires. It will be uploaded as {fixed}: {added:,} zero bytes are added at the end. The guest sees a slightly larger disk; nothing to do.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Upload size: {upload} (the disk as a fixed VHD plus its 512-byte footer); only the parts that hold data are sent.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The disk is {virtual}; Azure refuses disks smaller than 20 MiB. Enlarge it first, for example &apos;qemu-img resize FILE 20M&apos;.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The disk is {fixed}; Azure disks hold at most 32,767 GiB. Shrink the disk&apos;s partitions and the disk (for example &apos;qemu-img resize --shrink&apos;) first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>At {upload} the disk is larger than a page blob may be (8 TiB). Upload it as a managed disk instead of to a storage account.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>At {fixed} the disk is larger than an OS disk may be (4,095 GiB); use it as a data disk only.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>At {fixed} the disk is larger than 2 TiB: as the OS disk of a Generation 1 VM (BIOS, MBR) only the first 2 TiB can be used. Use it with a Generation 2 VM (UEFI, GPT) or as a data disk.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is a differencing VDI (a VirtualBox snapshot): it holds only the changes over its parent disk {{{parent}}}, which VirtualBox finds through its media registry, not beside the file. Clone the current state into one disk first (&apos;VBoxManage clonemedium disk {name} merged.vdi&apos;, with the VM shut down), then upload merged.vdi.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VDI header</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the VirtualBox signature 0xbeda107f is not at byte 64 (found {signature:#010x})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the VDI header has version {major}.{minor}, made by a VirtualBox older than 1.4; only version 1.x is read (VirtualBox converts it when you clone it: &apos;VBoxManage clonemedium disk OLD.vdi NEW.vdi&apos;)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the VDI header says it is {header_size} bytes, too short for the fields every version-1 header has ({needed})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the VDI image type is {image_type}, not dynamic (1) or fixed (2)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the VDI declares {sector_size}-byte sectors; VirtualBox and Azure use 512</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>each block claims {block_extra:,} bytes of extra data before it, which is not a whole number of sectors up to the block size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the block map (bytes {blocks_offset:,} to {map_end:,}) overlaps the header (which ends at byte {header_end:,}) or the data area (from byte {data_offset:,})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VDI block map</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>its data would end at byte {end:,} of a {size:,}-byte file</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n block map entry points past the end of the file (first: block {first}): the file is truncated or damaged, and those blocks cannot be read. Copy the file again from its source.</source>
        <translation>
            <numerusform>%n block map entry points past the end of the file (first: block {first}): the file is truncated or damaged, and those blocks cannot be read. Copy the file again from its source.</numerusform>
            <numerusform>%n block map entries point past the end of the file (first: block {first}): the file is truncated or damaged, and those blocks cannot be read. Copy the file again from its source.</numerusform>
        </translation>
    </message>
    <message>
        <source>The block map has {entries:,} entries but the disk needs {needed:,}; the end of the disk has no place to be stored. The file is damaged.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>block {block} cannot be read: {problem}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VDI version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Block size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stored blocks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{stored:,} of {total:,} ({discarded:,} discarded)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{stored:,} of {total:,}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Description</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The footer at the end of the file has a wrong checksum; the copy at the start is intact and was used. The uploaded disk gets a new, correct footer.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The VHD footer&apos;s checksum is wrong (stored {checksum:#010x}, computed {computed_checksum:#010x}): the file is damaged or was edited by a tool that did not update it. Check it with &apos;qemu-img check&apos; or export the disk again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The footer at the end of this dynamic VHD is missing (the file was probably cut short); the copy at the start was used, but blocks near the end may be lost. Copy the file again from its source.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no &apos;conectix&apos; footer at the end of the file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the VHD footer names disk type {disk_type}, which is not fixed (2), dynamic (3) or differencing (4)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The VHD is marked as belonging to a saved (hibernated) VM; its file system may not be consistent. Shut the VM down properly before uploading, if you can.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The footer declares a {virtual:,}-byte disk but the file holds only {data_length:,} bytes of it: the copy is incomplete. Copy the file again from its source.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The file holds {extra:,} bytes more than the {virtual:,}-byte disk its footer declares; they are not part of the disk and are not uploaded.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Created by</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Geometry (C/H/S)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The parent disk is {virtual_size:,} bytes but this child is {current_size:,} bytes; the difference reads as zeros.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Parent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>In the parent disk {name}: {message}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it is not a VHD</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>its id is {unique_id}, the child expects {parent_id}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it is more than {depth} disks deep</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{candidate} would be its own ancestor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VHDX headers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>neither of the two VHDX headers has a valid signature and checksum</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>One of the two VHDX headers is damaged; the intact one was used. Hyper-V repairs this the next time it opens the disk for writing.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the VHDX header has version {version}, not 1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VHDX region table</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The first VHDX region table is damaged; the copy was used.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>neither copy has a valid signature and checksum</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a region is placed at byte {offset:,} with length {length:,}, which is not a whole number of MiB after the first MiB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VHDX region</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the VHDX needs a region this program does not know ({region_id})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the block table or the metadata region is missing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the metadata table does not start with &apos;metadata&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the VHDX needs a metadata item this program does not know ({item})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>item {item} lies outside the metadata region</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the required item &apos;{name}&apos; is missing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the logical sector size is {logical}, not 512 or 4096</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the virtual disk size {virtual_size:,} is impossible</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the block table region holds {entries:,} entries, the disk needs {entries_needed:,}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it is marked partially present, which only differencing disks may use</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>its state {state} is not defined</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it would lie in the file&apos;s header area</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it would reach byte {end:,} of a {size:,}-byte file</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n block table entry is invalid or point outside the file (first: block {first}): the file is truncated or damaged. Copy it again or repair it in Hyper-V (&apos;Inspect Disk&apos;).</source>
        <translation>
            <numerusform>%n block table entry is invalid or point outside the file (first: block {first}): the file is truncated or damaged. Copy it again or repair it in Hyper-V (&apos;Inspect Disk&apos;).</numerusform>
            <numerusform>%n block table entries are invalid or point outside the file (first: block {first}): the file is truncated or damaged. Copy it again or repair it in Hyper-V (&apos;Inspect Disk&apos;).</numerusform>
        </translation>
    </message>
    <message>
        <source>it is a differencing VHDX (it has a parent disk); merge it into its parent first (Hyper-V &apos;Edit Disk &gt; Merge&apos;)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The VHDX uses 4096-byte logical sectors, but an Azure disk has 512-byte sectors. Partition tables written for 4096-byte sectors will not be found in Azure; make sure the guest&apos;s partitions were created on a 512-byte-sector disk.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sector size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{logical} logical, {physical} physical</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it is an ESXi snapshot (vmfsSparse/COWD delta) disk; consolidate the snapshots in vSphere, or clone the disk with &apos;vmkfstools -i&apos;, first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it is an ESXi space-efficient sparse (seSparse) snapshot disk; consolidate the snapshots in vSphere, or clone the disk with &apos;vmkfstools -i&apos;, first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it is a raw device mapping: the data lives on a SAN LUN, not in a file; clone it to a virtual disk with &apos;vmkfstools -i&apos; first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it maps a whole physical disk of the host, not a file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it maps partitions of a physical disk of the host, not a file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>nowhere</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} describes a disk stored in several files, and its part &apos;{extent}&apos; was not found (looked at: {places}). Put all the disk&apos;s files (the descriptor and every -flat/-sNNN/-fNNN .vmdk it names) in one folder, then choose the descriptor again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>flat extent {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} holds no descriptor. If it is one part (-s001, -s002…) of a disk split in several files, choose the small descriptor .vmdk that names them all instead, or the upload holds only this part.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is one of {parts} parts of a split disk; its descriptor names the others. Choose the descriptor .vmdk (or the first part beside all the others) instead.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the embedded descriptor gives {sectors:,} sectors, but the extent holds {capacity:,}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Grain size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stored grains</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{stored:,} of {total:,} (indexed from the stream&apos;s markers: it has no grain directory)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The VMDK was not closed cleanly (its VM or host stopped while it was open). Its data may be incomplete; power the VM on and off once, or run &apos;qemu-img check&apos;, before uploading it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the embedded descriptor claims {length:,} bytes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>embedded VMDK descriptor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} neither starts with a sparse header (&apos;KDMV&apos;) nor is a text descriptor small enough to be one ({size:,} bytes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} neither starts with a sparse header (&apos;KDMV&apos;) nor is a text descriptor (&apos;# Disk DescriptorFile&apos;)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is a VMDK descriptor whose data is in other files, which an archive cannot point to; extract the archive and choose the descriptor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Extent files</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>its descriptor names an extent of type {kind}, which this program does not read</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>its extent &apos;{file_name}&apos; is marked NOACCESS</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the extent &apos;{file_name}&apos; holds {capacity:,} sectors, but the descriptor gives it {sectors:,}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>(the descriptor names no parentFileNameHint)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name}&apos;s parents loop back to {parent}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it is more than {depth} snapshots deep</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>its content id (CID) is {parent_cid}, but the snapshot was taken of CID {expected}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This is a snapshot (delta) disk over {name} and {more} more: the upload holds the disk as the snapshot sees it, parent data included.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This is a snapshot (delta) disk over {name}: the upload holds the disk as the snapshot sees it, parent data included.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it is an encrypted VMware disk (VM encryption); decrypt the VM in vSphere, or clone the disk unencrypted, first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VMDK type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Content id (CID)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Adapter type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Virtual hardware version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>none (all zero extents)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{count} files: {first} … {last}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The VMDK descriptor is damaged: {detail}. Open the descriptor (the small .vmdk text file) in a text editor and compare it with the disk&apos;s files, or export the disk again from VMware.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>line {number} is not a valid extent line: {line!r}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the {kind} extent on line {number} names no file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it lists more than {limit:,} extents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it has no createType line</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it lists no extents (the files that hold the data)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>its {key} {text!r} is not a hexadecimal id</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The VMDK&apos;s compressed data is damaged: {detail}. The disk cannot be read safely; copy the file again, or export the disk again from its source (VMware &apos;Export OVF Template&apos;, ovftool).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VMDK sparse header</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the VMDK sparse extent does not start with &apos;KDMV&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>its VMDK sparse header has version {version}, which this program does not know</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the VMDK&apos;s line-end test bytes were changed, which happens when a file is copied in text mode (FTP &apos;ASCII&apos;): copy it again in binary mode</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the VMDK sparse header gives a capacity of zero sectors</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the VMDK sparse header gives {gtes_per_gt:,} entries per grain table (VMware writes 512)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>its grains are compressed with method {compression}; only deflate is known</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the VMDK sparse header does not say where its grain directory is</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VMDK grain directory</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>grain table {table} is recorded at byte {at:,}, past the end of the {size:,}-byte file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VMDK stream (its end-of-stream marker)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the marker at byte {pos:,} is garbled (sector {sector:,}, {size:,} bytes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the marker at byte {pos:,} is garbled (type {kind}, {sectors:,} sectors)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>grain {grain:,} is stored twice (markers at sectors {first:,} and {second:,})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>grain {grain:,} is recorded at byte {at:,}, but its data would end at byte {end:,} of a {size:,}-byte file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>grain {grain:,} is recorded at byte {at:,}, past the end of the {size:,}-byte file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the marker of grain {grain:,} (at byte {at:,}) says sector {lba:,} and {length:,} bytes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>grain {grain:,} at byte {at:,} claims {length:,} compressed bytes, past the end of the {size:,}-byte file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>grain {grain:,} at byte {at:,} does not inflate ({exc})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>grain {grain:,} at byte {at:,} inflates to {actual:,} bytes, not {needed:,}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Data disk LUN {lun}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OS disk: {name} (size unknown)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OS disk: {name} ({size} GiB)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Data disk LUN {lun}: {name} (size unknown)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Data disk LUN {lun}: {name} ({size} GiB)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Running</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopped (allocated)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopped (deallocated)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>running</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>stopped (allocated)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>stopped (deallocated)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OS + {count} data · {total} GiB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OS only · {total} GiB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Creating a temporary disk from the image version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Granting read access</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Downloading</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Revoking read access</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleting the temporary disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No such data disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Leave the LUN out for the OS disk, or give one of the version&apos;s data-disk LUNs.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Downloading a resource needs a signed-in session.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>managed disk {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>snapshot {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The image version {version} has no data disk at LUN {lun} (its data disks: {luns}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>image version {version} (through the temporary disk {disk})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure granted read access to {source} but returned no SAS URL.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Revoking the read access to {source} failed ({message}). Revoke it yourself (az disk revoke-access, or az snapshot revoke-access) before using it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The temporary disk {name} in {group} could not be deleted ({message}). Delete it yourself (az disk delete) to stop paying for it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The download of {source} was cancelled. Start it again to continue.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The upload to managed disk {name} is paused; it resumes where it stopped at the next start (its write access is kept in the keyring).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>its write access was not in the keyring</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>this system has no keyring to keep its write access in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The disk {name} was still open for an upload that was interrupted, and {where} ({message}). Access is now revoked so the disk is not stuck in ActiveUpload; delete it and upload again, or choose another name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The upload to managed disk {name} was cancelled before data was sent. Start it again to continue.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A disk named {name} already exists in {resource_group} ({state}): choose another name, or delete that disk first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The disk {name} waits for an upload of {declared} bytes, but this image needs {size}: delete the disk or choose another name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure granted access to disk {name} but returned no SAS URL.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The data of disk {name} is uploaded, but revoking write access failed ({message}). Revoke it (az disk revoke-access) before using the disk.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Storage account {name} gave no key. Key access may be disabled on it: paste a SAS URL instead, or allow shared key access.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not sign a SAS for {name}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{blob_url} does not name a container and a blob.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>DMG (Apple disk image)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>QCOW (version 1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>encrypted QCOW2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VMDK (ESX sparse, COWD)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unknown type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Its data file &apos;{data}&apos; is a raw disk: choosing that file instead also works.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VMDK descriptor ({create_type})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>LUKS{version} encrypted volume</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OVA (virtual appliance)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>ISO 9660 (CD/DVD image)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>UDF (DVD image)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is recognised by its content as {label}, whatever its name says; Azure needs a fixed VHD and could not boot it as it is. {note} Convert it first: {command}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is recognised by its content as {label}, whatever its name says; Azure needs a fixed VHD and could not boot it as it is. Convert it first: {command}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is recognised by its content as {label}, whatever its name says: an archive, not a disk. Unpack it first ({command}), then convert the .vmdk disk inside it with &apos;{convert}&apos;.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is recognised by its content as {label}, whatever its name says: an archive, not a disk. Unpack it first ({command}), then choose the disk image it contains.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is recognised by its content as {label}, whatever its name says: an installer ISO is not a disk. Install the operating system from it onto a virtual machine&apos;s disk (Hyper-V, qemu), then upload that disk, or start from an Azure Marketplace image.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is recognised by its content as {label}, whatever its name says: it is encrypted, and Azure cannot read an encrypted disk image. Decrypt it where its key is known (for LUKS: &apos;cryptsetup open&apos;, then copy the opened device to a raw file) and upload that, or upload an unencrypted disk and use Azure Disk Encryption.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not a FAT file system</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the volume is larger than its partition</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the FAT is cut short</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a cluster chain points at cluster {cluster}, outside the volume</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a cluster chain loops back to cluster {cluster}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>EFI system partition</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Microsoft reserved partition</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>BIOS boot partition</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Microsoft basic data</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Windows recovery environment</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Linux file system</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Linux extended boot</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Linux home</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Linux root (x86-64)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Linux root (Arm64)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Linux root (x86)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GPT protective</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>extended</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>extended (LBA)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Linux extended</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>other</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{path} (no readable PE header)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{path} (PE machine 0x{machine:04X}: {architecture})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopped reading the disk&apos;s structures after the allowed amount: they are unusually large or damaged, so what follows was found before that.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The protective MBR announces a GPT, but neither GPT header nor its backup is readable (both fail their checksum or are missing).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The primary GPT is damaged; the backup GPT at the end of the disk was read instead.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GPT partition {number} lies outside the disk (sectors {first:,}-{last:,}); it was left out.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>MBR partition {number} starts beyond the end of the disk; it was left out.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The chain of logical partitions is broken; the logical partitions after it were left out.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The EFI system partition (partition {number} ({type})) holds no readable FAT file system ({reason}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The whole disk is one {filesystem} file system without a partition table: it looks like a data disk, not a disk that boots.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The EFI system partition holds Windows Boot Manager ({path}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Partition {number} is a Microsoft reserved partition.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The NTFS boot code of partition {number} ({type}) loads BOOTMGR, the Windows boot manager.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Partition {number} ({type}) holds a Linux {filesystem} volume.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Partition {number} ({type}) has a Linux partition type.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The EFI system partition holds Linux boot loaders ({folders}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The MBR holds GRUB&apos;s boot code.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The disk holds both Windows and Linux file systems, so which one boots cannot be told from the disk.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No Windows or Linux file system was found on the disk.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>The disk has a GPT partition table (checksums valid) with %n partition(s).</source>
        <translation>
            <numerusform>The disk has a GPT partition table (checksums valid) with %n partition.</numerusform>
            <numerusform>The disk has a GPT partition table (checksums valid) with %n partitions.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>The disk has a hybrid MBR: a GPT with %n partition(s), and an MBR that lists partitions too, so BIOS can boot it as well.</source>
        <translation>
            <numerusform>The disk has a hybrid MBR: a GPT with %n partition, and an MBR that lists partitions too, so BIOS can boot it as well.</numerusform>
            <numerusform>The disk has a hybrid MBR: a GPT with %n partitions, and an MBR that lists partitions too, so BIOS can boot it as well.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>The disk has an MBR partition table with %n partition(s).</source>
        <translation>
            <numerusform>The disk has an MBR partition table with %n partition.</numerusform>
            <numerusform>The disk has an MBR partition table with %n partitions.</numerusform>
        </translation>
    </message>
    <message>
        <source>The disk has no partition table; a {filesystem} file system fills it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The disk has no partition table that could be read (it may be empty).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Partition {number} is an EFI system partition.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>On it: {loaders}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No boot loader was found on it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Partition {number} is a BIOS boot partition, where GRUB keeps its code for booting with BIOS.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Its hybrid MBR lets BIOS boot it too.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Partition {number} is a BIOS boot partition and there is no EFI system partition, so it boots with BIOS.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>It has neither an EFI system partition nor a BIOS boot partition, so no boot path was found (a data disk?).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Partition {number} is an EFI system partition holding {loaders}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Its MBR holds boot code for BIOS too.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>It has no EFI system partition with a boot loader, so it boots with BIOS (Generation 1).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The MBR holds boot code.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The MBR holds no boot code and no partition is marked active yet.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The removable-media boot loader {loader}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Its file name names another architecture than its PE header; the header is what the firmware checks.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>That is a 32-bit x86 boot loader; Azure runs only x64 and Arm64 VMs.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>That machine type is neither x64 nor Arm64.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The EFI system partition holds removable-media boot loaders for several architectures: {loaders}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The boot loader {loader}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Partition {number} ({type}) has the {architecture} root or /usr partition type.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The removable-media boot loader {loader}; its name says {architecture}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No UEFI boot loader with a readable PE header was found, so the architecture cannot be told from the disk.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Partition {number} ({type}) holds an {filesystem} file system.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unknown</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This disk boots with UEFI from a GPT EFI system partition; a Generation 1 VM starts with BIOS and will not find a boot loader.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This disk boots with UEFI from an EFI system partition; a Generation 1 VM starts with BIOS and will not find a boot loader.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This disk boots with BIOS and has no EFI system partition with a boot loader; a Generation 2 VM starts with UEFI and will not find a boot loader.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The disk&apos;s boot loader is built for {built_for}; an {architecture} VM cannot run it and will not boot.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The disk&apos;s boot loader is 32-bit x86; Azure&apos;s x64 and Arm64 VMs cannot run it and will not boot.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Arm64 VMs in Azure are Generation 2 only: they start with UEFI, so choose Generation 2.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Windows guest agent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Linux agent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The disk holds {found}; as a {os_type} image Azure would wait for the {agent} and set it up as {os_type}, so the VM would fail to provision.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>{name} holds %n disk, so it has no disk number {number}. Choose the file again to see its disks.</source>
        <translation>
            <numerusform>{name} holds %n disk, so it has no disk number {number}. Choose the file again to see its disks.</numerusform>
            <numerusform>{name} holds %n disks, so it has no disk number {number}. Choose the file again to see its disks.</numerusform>
        </translation>
    </message>
    <message>
        <source>The file cannot be read: {reason}. Check the path.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The proxy {proxy} asks for credentials it did not accept: put them in the proxy variable, e.g. HTTPS_PROXY=http://user:password@proxy:port (percent-encode special characters) ({ids}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The storage service kept failing ({reason}; {attempt} attempts, {retries} retries in this upload). Nothing sent so far is lost: run the same upload again later and it resumes where it stopped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The proxy {proxy} refused the credentials ({status}): put them in the proxy variable, e.g. HTTPS_PROXY=http://user:password@proxy:port (percent-encode special characters), then run the upload again to resume.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The proxy {proxy} does not allow connections to {host}: ask your network team to allow *.blob.core.windows.net, or add the host to NO_PROXY if it is reachable directly.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The certificate presented for {target} is not trusted ({reason}). If your network inspects TLS, set REQUESTS_CA_BUNDLE (or SSL_CERT_FILE) to a PEM file with your organisation&apos;s root certificate, then run the upload again to resume.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The container of {target} does not exist: create it first or check the URL.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{target} was not found ({code}): check the URL, the account and the container.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The storage service refused a request to {target}: {answer}. This is not a transient fault; check the target, then run the upload again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The upload to {target} was cancelled. What was sent stays: start the same upload again to resume.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The upload failed unexpectedly: {reason}. Run it again to resume.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>journal {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{path} was modified while it was being uploaded, so the blob mixes old and new data. Upload it again with overwrite.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{target} does not exist (any more): create the disk again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{target} was created for {size} bytes but this image needs exactly {expected}: create the disk with that upload size.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{target} already exists as a {blob_type}: choose another name, or overwrite it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{target} already exists and was not uploaded from this file by Azure Image Studio: choose another name, or overwrite it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{target} is {size} bytes, not the {expected} this image needs: overwrite it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{target} holds a finished upload of {path}, but the file&apos;s content has changed since (its MD5 differs from the blob&apos;s Content-MD5). Nothing was sent: upload it again with overwrite, or to a new name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reading {path} failed: {reason} Run the upload again to resume once the file is readable.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{path} changed after part of it was sent: the data at offset {offset} is not what was uploaded there (the file&apos;s size and time may be unchanged). Finishing would mix two versions of the disk, so the upload stopped. Start over (overwrite / discard the unfinished upload): the current content is then uploaded in full.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{target} vanished during the upload.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{target} is {size} bytes after the upload, not {upload_size}: overwrite it and upload again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The pages of {target} are not the image&apos;s: {missing} bytes missing, {extra} bytes that should be empty. Run the same upload again: it sends what is missing and clears the rest.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{target} differs from the image at offset {offset}. Run the same upload again: it re-sends everything.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The VHD footer on {target} differs from the image&apos;s: upload again with overwrite.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The Content-MD5 on {target} does not match the image&apos;s: upload again with overwrite.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The resume journal {path} cannot be read ({reason}); check the permissions of the data directory.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot write the resume journal {path} ({reason}); free some disk space or fix the permissions of the data directory.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The upload was cancelled.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reading {path} at offset {pos} failed: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{path} ended early at offset {offset}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Internal error: the hash received the stream out of order at {start}. Run the upload again; it resumes.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The proxy setting {proxy} is malformed ({reason}): fix HTTPS_PROXY / HTTP_PROXY.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The proxy {proxy} is not an http:// proxy URL: the upload engine talks to its proxy in plain HTTP (the connection to Azure inside stays TLS). Set HTTPS_PROXY=http://host:port.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name}={bundle} cannot be used as a CA bundle ({reason}): point it at a PEM file of certificates, or unset it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A managed-disk upload resumes through the disk upload (it grants a new SAS), not through a blob target.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This upload was started with a SAS URL: resume it with a new SAS URL for {blob_url}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resume this upload with a SAS URL or the connection string for {blob_url}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Give a SAS URL, a connection string or a sign-in for {blob_url}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>That credential points at {blob_url}, but the unfinished upload goes to {journal_url}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot read {path} at offset {offset}: {reason}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot read {path}: {reason}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{path} names no file to read.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it was started from {other}, not {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{path} changed size ({then} bytes then, {now} now)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{path} was modified after the upload started</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a parent disk of {path} changed (or the chain differs)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the content of {path} differs (same size and time)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the disk id of {path} changed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the image&apos;s upload size differs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it was written by an older version of Azure Image Studio</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the blob&apos;s metadata</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the chain of parent disks of {path} is not the one it was</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the disk id of {path} changed ({then} then, {now} now)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The unfinished upload ({where}) belongs to another source: {what}. Mixing them would corrupt the disk, so nothing was sent. Upload to a new name, or start over (overwrite / discard the unfinished upload).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The upload size {size} is not a multiple of 512 bytes; open the file through the disk-image engine, which rounds it to a size Azure accepts.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The image&apos;s footer is not 512 bytes; the file is not a VHD.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The blob URL</source>
        <extracomment>Credentials are renewed when they have less than this left. False for a managed disk: its blob exists already with the right size. False for a managed disk: its SAS allows pages only, no metadata or properties.</extracomment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{url} names no blob: the URL needs /&lt;container&gt;/&lt;blob&gt; in its path.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The SAS for {target} expired at {expiry:%Y-%m-%d %H:%M} UTC. Create a new SAS (read, create and write permissions) and run the same upload again: it resumes where it stopped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{target} refused the request ({status} {code}). Check that the credentials allow read, create and write on the blob (SAS permissions racw, or the role Storage Blob Data Contributor), then run the upload again to resume.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{url} carries no SAS (no sig= in the query). Paste the full blob SAS URL, or use a connection string or a signed-in account instead.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The SAS in the URL expired at {expiry:%Y-%m-%d %H:%M} UTC: create a new one (read, create and write permissions) and try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The renewed SAS URL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The connection string is malformed: expected Name=Value pairs separated by &apos;;&apos; (copy it from the storage account&apos;s Access keys page).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The connection string&apos;s BlobEndpoint</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The connection string says DefaultEndpointsProtocol={protocol}: the account&apos;s requests would travel unencrypted, so it was refused before connecting. Use DefaultEndpointsProtocol=https (as on the storage account&apos;s Access keys page).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The connection string names no account (AccountName) and no BlobEndpoint.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The connection string holds neither an AccountKey nor a SharedAccessSignature, so it cannot authorise an upload.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Name the container and the blob to upload to.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The account URL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{target} refused the signed-in identity ({status} {code}). Assign it the role Storage Blob Data Contributor on the container (role changes take a few minutes), then run the upload again to resume.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{what} is not a valid URL ({reason}): {url}. Check it and try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{what} is not a full URL (it needs https:// and a host name): {url}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{what} uses plain http:// to &apos;{hostname}&apos;. Credentials (SAS, keys, tokens) would travel unencrypted, so it was refused before connecting. Use the https:// address instead (plain http:// is allowed only to this machine: localhost, 127.0.0.1, ::1).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{what} uses the scheme &apos;{scheme}://&apos;; only https:// is supported (http:// only to this machine). Use the https:// address.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Grant read access to the source and write access to the target</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sign a read-only SAS for {source} and a write SAS for {target} with the accounts&apos; keys (kept in memory)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing was changed. Give URLs with a SAS, or allow shared key access on the storage accounts, and start again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check {source} and the target container</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy {blob} to {account}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create blob {target} as a server-side copy of {source}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete the incomplete target blob and start the copy again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Verify the copy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The target differs from the source: delete it and start the copy again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Both URLs carry a SAS; nothing to grant.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Read access to the source and write access to the target granted.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Storage account {name} gave no key. Key access may be disabled on it: give the source URL with a read SAS instead.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The source blob {url} does not exist.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{url} is a {kind} larger than 256 MiB; this copy takes page blobs (VHDs) and block blobs up to 256 MiB.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{url} already exists. Choose another name or delete it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{url}: {kind}, {size}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure&apos;s copy ended {status}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{done} of {total} copied</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{size} copied by Azure.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The copy differs from the source: {problems}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Size, page list and Content-MD5 match the source ({size}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No storage account named {account} in the subscriptions you can see. Give the blob URL with a SAS, or the subscription of its account.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check {source} and the target definition {target}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create image version {version} in subscription {subscription} from {source} (Azure copies it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing was copied. For another tenant, sign in to it with an account that may write the target gallery, and make sure your account can read the source version (Reader on it); then start the copy again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The source version {version} is {state}; it can be copied once it has succeeded.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Source {version} read; reading the target definition.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The target image definition {definition} does not exist in resource group {resource_group}. Create it first (with the same OS type, state, generation and architecture as {source}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{what}: the source has {source}, the target {target}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{first}; {second}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The target definition {target} does not match the source&apos;s definition {source}: {differences}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The source version {version} is not replicated to {region}, the target gallery&apos;s region, where Azure reads it from. Add {region} to its target regions first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The target version {version} already exists. Choose another version number.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{source} can be copied into {target} ({region}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image version {version} accepted; Azure copies and replicates it now.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{state} {percent} %</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy refused before any change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing was changed. Correct what the message names and start the copy again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The target image definition does not match</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing was changed. Pick a target image definition with the same OS type, OS state, Hyper-V generation and architecture as the source&apos;s, or create one that matches.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure&apos;s copy failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure kept what it had copied so far. Delete the incomplete target and start the copy again; if it fails again, the message names Azure&apos;s reason.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing was changed yet. Correct the cause and start the copy again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check {source} and the target in {region}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{source} is neither a snapshot nor a managed image.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{source} is already in {region}. Choose another region.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Incremental snapshot of the {role} disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create incremental snapshot {snapshot} of {disk} (deleted at the end)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy the {role} disk to {region}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create snapshot {snapshot} in {region} with CopyStart (Azure copies the data)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete the incomplete copy in the target region, then start the copy again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create managed image {name} in {region}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create managed image {name} in {resource_group} ({region}) from the copied snapshots</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The copied snapshots are kept; make the image from them yourself, or delete them and start again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete the intermediate snapshots</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete the snapshots made for the copy (the image keeps its own copy of the data)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The image is ready. Delete the snapshots named in the message yourself.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{source} can be copied to {region}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} already exists in resource group {resource_group}. Choose another name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is a full snapshot; Azure copies only incremental snapshots to another region (CopyStart). Make an incremental snapshot of its disk and copy that one.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is itself still being copied ({percent} %). Wait until it is complete.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The {role} disk of {image} was made from the managed disk {disk}, which no longer exists; Azure cannot copy an image&apos;s own data to another region. Create the image anew in the target region, or make a gallery image version from it and replicate that.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The {role} disk of {image} is the full snapshot {snapshot}; Azure copies only incremental snapshots to another region. Make a disk from it and an incremental snapshot of that disk, then an image from that.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The {role} disk of {image} is a VHD blob; Azure&apos;s snapshot copy takes managed snapshots only. Copy the blob to a storage account in the target region (copy BLOB_URL --to CONTAINER_URL) and make the image there from the copy.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Snapshot {name} made.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure stopped copying {name}: {code}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{percent} % copied</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} copied to {region}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Managed image {name} created in {region}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleted: {names}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not a download source</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Give a page blob&apos;s SAS URL, or the resource ID of a managed disk, a snapshot or a gallery image version (/subscriptions/…/providers/Microsoft.Compute/…).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A LUN picks a data disk of a gallery image version; a SAS URL names one blob already. Leave the LUN out.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{source} is neither a SAS URL nor a resource ID.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A LUN picks a data disk of a gallery image version; a disk or snapshot is one disk already. Leave the LUN out.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>LUN {lun} is not a LUN: give 0 or more.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{source} is not a managed disk, a snapshot or a gallery image version: only those (and page blobs, by SAS URL) can be downloaded.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose a Marketplace image version to hand off.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This gallery image version has no public ID; choose a version of the image.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Only images and image versions can be handed off as a VM create.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>vCPUs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>memory (GiB)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recommended {what}: {value} is outside 1 to {top}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recommended {what}: the minimum ({low}) is above the maximum ({high}). Swap them or leave one empty.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure keeps an end-of-life date once it is set (a date sent empty counts as not sent): choose a later date instead of none.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The end-of-life date must be in the future (or none): VMs would be warned about a date that has passed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Update image definition {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Changes the description, end of life and recommended sizes of {path}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure is updating the definition…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image definition {path} updated.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Managed image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gallery image version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image definition</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gallery</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Managed disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Snapshot</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete managed image {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete gallery image version {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete image definition {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete gallery {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete disk {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete snapshot {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Managed image {path} deleted.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gallery image version {path} deleted.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image definition {path} deleted.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gallery {path} deleted.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disk {path} deleted.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Snapshot {path} deleted.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deletes {what} {path} in resource group {group}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image definition {path} still has versions that are not selected: {names}. Azure deletes only an empty definition: select those versions too, or delete them first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gallery {path} still holds image definitions that stay: {names}. Azure deletes only an empty gallery: select those definitions with all their versions too, or delete them first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disk {path} no longer exists. Refresh the tree (F5).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disk {path} is attached to VM {vm}. Detach it from the VM (or delete the VM) first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disk {path} is in use: {state} (an upload or a download has access to it). Finish or cancel that first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Snapshot {path} no longer exists. Refresh the tree (F5).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Snapshot {path} is being read: {state} (a download has access to it). Finish or cancel that first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure is deleting it…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose a region for every row.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{region} is listed twice: keep one row per region.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{region}: {count} replicas is outside what Azure allows. Choose {low} to {high} replicas.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{region}: {storage} is not a storage account type Azure offers for image versions. Choose Standard_LRS, Standard_ZRS or Premium_LRS.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{region}: the storage account type ({old}) cannot be changed once a region holds the version. To use {new} there, drop the region and add it again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{region} has no availability zones, so zone-redundant storage (Standard_ZRS) is not offered there. Choose Standard_LRS or Premium_LRS.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{region} is where the version was made: Azure keeps it among the target regions. Add it back.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure keeps this version in {regions} unless its safeguard allows removing replicated regions (allowDeletionOfReplicatedLocations). Allow it first, or keep the region.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Allow removing {path} from replicated regions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sets safetyProfile.allowDeletionOfReplicatedLocations of {path} to true.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Update image version {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Changes the end of life, exclude-from-latest and target regions of {path}; Azure replicates to new and changed regions.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Read Azure&apos;s message. A region that failed to replicate shows Failed in the status: Retry it there; anything else, correct and apply again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not sent: Azure would refuse this change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Correct what is named and apply again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure is changing the safeguard…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Removing replicated regions is now allowed for this version.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure is updating the version and replicating it…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The version is updated and replicated.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The VM was refused before any change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Marketplace terms not accepted</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Accept the plan&apos;s terms for this subscription (the dialog offers to), then start again. Nothing was changed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The VM did not provision</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Look at the serial log (boot diagnostics) for why the guest did not report.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check the request, the size and the plan&apos;s terms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create resource group {group}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Use resource group {group}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create resource group {group} in {location} (tagged as a test boot; deleted at the end)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create resource group {group} in {location}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create the network</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create virtual network {vnet} (10.0.0.0/16, subnet default), public IP address {ip} and network interface {nic}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create virtual network {vnet} (10.0.0.0/16, subnet default) and network interface {nic}; no public IP</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create VM {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create VM {name} ({size}, {security}) from {image} with boot diagnostics</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Follow provisioning</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Verdict</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete resource group {group}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete resource group {group} and everything in it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete resource group {group} yourself (portal or `az group delete -n {group}`).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reading the VM sizes of {location}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The terms of plan {plan} ({product}, {publisher}) are not accepted in this subscription; Azure would refuse the VM.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Size {size} runs the image; the terms of plan {plan} are accepted.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Size {size} runs the image.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resource group {group} does not exist. Choose another or create a new one.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resource group {group} exists.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resource group {group} exists already. Choose it as an existing group, or another name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resource group {group} created.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Virtual network {vnet} created.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Public IP address {ip} created.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Network {vnet} and interface {nic} created.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure accepted VM {name}; it is being created.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Provisioning succeeded; the guest agent is ready.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Provisioning succeeded, but the guest agent never reported ready.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Provisioning succeeded; the guest agent has not reported yet.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing was created; nothing to delete.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleting {group} and everything in it…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resource group {group} deleted; nothing is left behind.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Waiting for Azure…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{states}; guest agent: {agent}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter a VM name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A VM name has 1–64 letters, digits, hyphens, periods or underscores, starts with a letter, digit or underscore and does not end with a hyphen or period.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A Windows VM name has at most 15 letters, digits or hyphens (it becomes the computer name) and is not only digits.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter an administrator user name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An administrator name has 1–64 letters, digits, underscores, periods or hyphens and starts with a letter or underscore.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure does not allow the administrator name {user}; choose another.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The password needs {low}–{high} characters and three of: a lowercase letter, an uppercase letter, a digit, a special character.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Paste an OpenSSH public key (one line starting with ssh-rsa, ssh-ed25519 or ecdsa-sha2-…), for example the contents of ~/.ssh/id_ed25519.pub.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose a region.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose a VM size that runs the image.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The size {size} does not run this image ({generation}, {architecture}, {security}); choose one from the list.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The image does not allow security type {security}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Give an SSH public key or a password.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Give a password for the Windows administrator.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The image boots: OS provisioning completed and the guest agent is ready.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VMs can be created from this image.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OS provisioning timed out: the image&apos;s disk was not generalized (or a specialized image was deployed as generalized). The guest booted as the machine it was captured from and never reported for the new VM.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Generalize the source (Windows: sysprep /generalize /oobe /shutdown; Linux: waagent -deprovision+user) and capture it again, or mark the image definition Specialized and create VMs without an OS profile.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The disk does not boot with this Hyper-V generation: the firmware found no bootable device (a BIOS/MBR disk under UEFI, or a UEFI-only disk under BIOS).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create the image again with the generation the disk boots with: Gen1 for an MBR disk with a BIOS boot loader, Gen2 for a GPT disk with an EFI system partition.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The VM runs, but no guest agent ever reported: the image has no Azure guest agent (WALinuxAgent or cloud-init on Linux, the Windows guest agent).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Install and enable the Azure guest agent in the image, generalize it and capture it again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The VM did not provision; Azure&apos;s message says why.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Correct what the message names and test-boot the image again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure refused to create the VM; the image did not boot.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Correct what the message names (size, plan, terms, security type) and test-boot the image again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The test boot was cancelled before a verdict.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Start it again to find out whether the image boots.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot write {path}: {reason}. Choose a folder that exists and that you may write to.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not enough free space for {path}: the disk&apos;s data needs {needed} more, but the drive has only {available} free. Free some space or choose a file on another drive.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The file system of the drive holding {path} cannot store a file of {size} (FAT32, for example, stops at 4 GiB). Choose a drive formatted with NTFS, exFAT, ext4, APFS or XFS.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A {format_name} file cannot hold this disk: it would need {size}, and the format stops at {limit}. Choose another format (a fixed VHD or a raw file holds any size).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A disk of {size:,} bytes cannot be written: disk sizes are a positive whole number of 512-byte sectors. The source reported a wrong size; check the disk in Azure.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The data range at byte {offset:,} ({length:,} bytes) does not lie inside the {virtual_size:,}-byte disk. The source&apos;s list of data ranges is inconsistent; start the download again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Data arrived for bytes {offset:,} to {end:,} of the disk, which its list of data ranges did not name, so the file has no place for it. The disk changed during the download; download it again from a snapshot.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{path} cannot be continued: it was not started as this download (its format, size or data layout differ, or it was changed since). Delete it or choose another file name, then start the download again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The partly downloaded file {path} is gone, so the download cannot continue where it stopped. Start the download again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{path} was already closed for writing; start the download again to continue it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Writing {path} failed: {reason}. Check the drive (is it still connected?) and resume the download.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The read access to {source} expired at {expiry:%Y-%m-%d %H:%M} UTC. Get a new SAS URL (read permission) and run the same download again: it resumes where it stopped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{source} refused the read ({status} {code}). Check that the SAS allows read (sp=r) and has not been revoked, then run the download again to resume.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unknown output format {format}: use one of {formats}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The download of {source} was cancelled. What was fetched stays in {path}: start the same download again to resume.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The download stopped on an unexpected error ({reason}). Run it again: it resumes.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{source} is a {blob_type}, not a page blob: disks are page blobs. Download it with a storage tool instead.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{source} changed while it was being downloaded, so {path} mixes old and new data. Download it again (from a snapshot if the disk is in use).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The MD5 of {path} is {md5}, but Azure holds {expected} for {source}: the file does not hold the blob&apos;s data. Download it again (it starts over).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{path} is a folder: give a file name for the download.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{path} already exists: choose another file name, or overwrite it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot create {path} ({reason}): check the folder&apos;s permissions and free space.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{source} answered {got} bytes for the {length} asked at offset {offset}. Run the download again: it resumes.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The storage service kept failing during the download ({reason}; {retries} retries). What was fetched is kept: run the same download again later and it resumes where it stopped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The blob to download was not found: check the URL (or that the disk&apos;s read access was not revoked), then try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The download journal {path} cannot be read ({reason}); check the permissions of the data directory.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot write the download journal {path} ({reason}); free some disk space or fix the permissions of the data directory.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sandbox account (offline)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Shared key access is disabled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{size} · modified {modified}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{size} · modified {modified} · in use</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Page blob {blob} is no longer in container {container} of {account}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Blob type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Page blob</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Use the blob&apos;s URL with a SAS instead (the download and copy commands take one), or allow shared key access on the storage account.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{size} ({count} bytes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Storage account</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Container</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Lease</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Leased: in use by a VM or a disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Available: not in use</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Blob URL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Last modified</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Content-MD5</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Lease duration</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Storage account {name} is no longer in resource group {group}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Storage account {name} has no blob service.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Storage account {name} does not accept requests signed with its key.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter a disk name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The disk name must not start or end with spaces.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A disk name has 1–80 letters, digits, underscores, periods or hyphens, starts with a letter or digit and ends with a letter, digit or underscore.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter a snapshot name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The snapshot name must not start or end with spaces.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A snapshot name has 1–80 letters, digits, underscores, periods or hyphens, starts with a letter or digit and ends with a letter, digit or underscore.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter an image name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The image name must not start or end with spaces.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An image name has 1–80 letters, digits, underscores, periods or hyphens, starts with a letter or digit and ends with a letter, digit or underscore.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter a gallery name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The gallery name must not start or end with spaces.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A gallery name has 1–80 letters, digits, underscores or periods (no hyphens), and starts and ends with a letter or digit.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter an image definition name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The image definition name must not start or end with spaces.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An image definition name has 1–80 letters, digits, underscores, periods or hyphens, and starts and ends with a letter or digit.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter a resource group name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The resource group name must not start or end with spaces.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A resource group name has 1–90 letters, digits, underscores, hyphens, periods or parentheses and does not end with a period.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter a storage account name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The storage account name must not start or end with spaces.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A storage account name has 3–24 lowercase letters and digits only.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter a container name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The container name must not start or end with spaces.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A container name has 3–63 lowercase letters, digits and single hyphens, and starts and ends with a letter or digit.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter a blob name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The blob name must not start or end with spaces.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A blob name must not end with a period or a slash.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A blob name has at most {limit:,} characters.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter a version number, e.g. 1.0.0.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The version number must not start or end with spaces.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A version is three numbers: major.minor.patch, e.g. 1.0.0.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Each part of a version is at most {limit}.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>AboutBox</name>
    <message>
        <source>About {app}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Browse, inspect, capture and upload Azure VM images.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Licence: {licence}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Versions:</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>AppController</name>
    <message>
        <source>Looking for an Azure CLI sign-in…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Starting the offline sandbox…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The offline sandbox could not start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The offline sandbox could not start: {reason}

Sign in to Azure (Account → Sign in to Azure…), or quit and start the app with --sandbox-reset to start the sandbox over from its seed. Its log: {log}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CaptureWizard</name>
    <message>
        <source>Capture a VM into an image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Close</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancelled during &apos;{step}&apos;. No later step was started. A request Azure had already accepted may still finish: check the VM and the target in the portal or the browser before you start again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancelled before the first step. Nothing was changed.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CatalogText</name>
    <message>
        <source>Unique name: {name}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CatalogTreeModel</name>
    <message>
        <source>Loading…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing here</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Details</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Double-click, or select the node and press F5, to retry.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Listed {when} (from the cache); asking Azure again…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Listed {when} (from the cache)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unexpected error: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not refresh; showing what was listed {when}.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CommunityGalleryDialog</name>
    <message>
        <source>Add community gallery</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>e.g. ContosoImages-1a2b3c4d-5e6f-…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Public name of the community gallery</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Public name:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The name its publisher shares, as the Azure portal lists it under Community galleries (prefix-GUID). It is looked up in {location}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Add</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CopyActions</name>
    <message>
        <source>Copy to…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy the selected image version into another gallery, or the image or snapshot into another region; Azure copies the data</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CopyDialog</name>
    <message>
        <source>Copy {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure copies the image version into the gallery you name; the data does not pass through this computer. The target image definition must exist and match the source&apos;s OS type, state, generation and architecture.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>only for another tenant: its ID</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Target image &amp;definition (resource ID):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Target image definition</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Version:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Tenant:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tenant</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure copies the page blob into the container you name, in any storage account you can see (another subscription or region too); the data does not pass through this computer. Without a SAS in the URL, access is signed with the accounts&apos; keys.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Target &amp;container URL:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Target container URL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure copies it into the region you pick, through incremental snapshots (CopyStart); the data does not pass through this computer.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Target re&amp;gion:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Target region</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Resource group:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resource group</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Name:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name}-REGION</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy steps</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Copy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Give the target container&apos;s URL: https://account.blob.core.windows.net/container</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Give the target image definition&apos;s resource ID: /subscriptions/…/resourceGroups/…/providers/Microsoft.Compute/galleries/…/images/…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The tenant is an ID (a GUID), or empty for yours.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pick the target region.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Signing in to tenant {tenant}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copying…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copied: {target}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The copy stopped; the failed step says why.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CreateVmDialog</name>
    <message>
        <source>Test boot</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create VM</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Test boot {image}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create a VM from {image}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Creates a VM in a throw-away resource group with boot diagnostics, shows its serial log while it boots, says whether the image boots and why not, then deletes everything it made.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A new virtual network and network interface are created with the VM; without a public IP address, reach it through a bastion or a peered network.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{os} · {state} · {generation} · {architecture}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Linux</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Windows</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>specialized</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>generalized</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VM name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>e.g. vm-web-01</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Name:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resource group</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A throw-away group, tagged as a test boot and deleted at the end</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose an existing resource group or type the name of a new one</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Resource group:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Region</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Re&amp;gion:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Security type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sec&amp;urity type:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VM size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Si&amp;ze:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Administrator user name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Administrator:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Authentication</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SSH public key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Au&amp;thentication:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>ssh-ed25519 AAAA… (the contents of a .pub file)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SSH public &amp;key:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Password:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Confirm password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Confirm password:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A specialized image keeps its own accounts: no administrator is set.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Give the VM a public &amp;IP address</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Public IP address</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A static Standard public IP address on the VM&apos;s network interface; without it the VM is reachable only from its network</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>What to correct</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Steps</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Serial &amp;log (boot diagnostics):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Serial console log</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The guest&apos;s serial output appears here while it boots.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Verdict</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Start test boot</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create &amp;VM</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Delete now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>St&amp;op</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop the test boot and delete its resource group now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop following the VM&apos;s creation (Azure may go on creating it)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gen2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gen1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Standard</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trusted launch</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Confidential VM</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reading the VM sizes of {location}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The sizes could not be read: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} ({vcpus} vCPUs, {memory} GiB)</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n size(s) of this region run the image ({generation}, {architecture}, {security}).</source>
        <translation>
            <numerusform>%n size of this region runs the image ({generation}, {architecture}, {security}).</numerusform>
            <numerusform>%n sizes of this region run the image ({generation}, {architecture}, {security}).</numerusform>
        </translation>
    </message>
    <message>
        <source>No size of this region runs the image with this security type; choose another security type or region.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The two passwords differ: type the same password twice.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} · {size} · {security} · {group} · {location}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The image boots.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The image did not boot.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>What to do: {advice}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure said: {message}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VM {name} was created in {group}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopping; deleting what the test boot made…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopping…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DefinitionEditor</name>
    <message>
        <source>Edit image definition</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image definition {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reading the definition from Azure…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Description</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Description:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>None</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>End-of-life date</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>End of &amp;life:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not set</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recommended vCPUs, minimum</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recommended vCPUs, maximum</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recommended memory in GiB, minimum</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recommended memory in GiB, maximum</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>t&amp;o</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recommended &amp;vCPUs:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>to (Gi&amp;B)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recommended &amp;memory (GiB):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A&amp;pply</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not read the definition: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{os} · {state}; the OS, its state and generation stay as they are.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DeleteDialog</name>
    <message>
        <source>Delete from Azure</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Delete %n selected item(s)?</source>
        <translation>
            <numerusform>Delete %n selected item?</numerusform>
            <numerusform>Delete %n selected items?</numerusform>
        </translation>
    </message>
    <message>
        <source>Asking Azure what can be deleted…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleted, in this &amp;order:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>What is deleted</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>#</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resource group</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not deleted:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>What is not deleted, and why</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Why deleting failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deletion progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%v of %m deleted</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Delete</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not read what can be deleted: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Delete %n item(s)?</source>
        <translation>
            <numerusform>Delete %n item?</numerusform>
            <numerusform>Delete %n items?</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n of the selected items cannot be deleted now: they stay, and the others go.</source>
        <translation>
            <numerusform>%n of the selected items cannot be deleted now: it stays, and the others go.</numerusform>
            <numerusform>%n of the selected items cannot be deleted now: they stay, and the others go.</numerusform>
        </translation>
    </message>
    <message>
        <source>Nothing stands in the way. Check the list before you delete.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing selected can be deleted now: see why below.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleting cannot be undone: Azure keeps no copy.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VMs already made from these images keep running, but no new VM can be made from them.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The data on these disks and snapshots is gone with them.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>&amp;Delete %n item(s)</source>
        <translation>
            <numerusform>&amp;Delete %n item</numerusform>
            <numerusform>&amp;Delete %n items</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Deleting %n item(s)</source>
        <translation>
            <numerusform>Deleting %n item</numerusform>
            <numerusform>Deleting %n items</numerusform>
        </translation>
    </message>
    <message>
        <source>Deleting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleting has ended</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n deletion(s) failed: why, and what to do, is below. What was deleted is gone; the rest is as it was.</source>
        <translation>
            <numerusform>%n deletion failed: why, and what to do, is below. What was deleted is gone; the rest is as it was.</numerusform>
            <numerusform>%n deletions failed: why, and what to do, is below. What was deleted is gone; the rest is as it was.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n item(s) deleted.</source>
        <translation>
            <numerusform>%n item deleted.</numerusform>
            <numerusform>%n items deleted.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>DetailPane</name>
    <message>
        <source>A Marketplace publisher. Expand it to see its offers.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A Marketplace offer. Expand it to see its SKUs (plans).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A Marketplace SKU. Expand it to see its versions; select one for its disks.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A Compute Gallery. Expand it to see its image definitions.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A resource group. Expand it to see its managed images, disks and snapshots.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An image definition. Expand it to see its versions.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A storage account. Expand it to see its blob containers.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A blob container. Expand it to see its page blobs (VHDs); select one for its facts.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Selected item</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disks of the selected image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{label}:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No image selected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pick an image source on the left and expand it down to an image version to see its operating system, generation, security type and every disk it carries.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Details</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unique name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loading image details…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not refresh: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A VM image carries the OS disk and data disks; an OS image only the OS disk.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OS type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OS state</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Hyper-V generation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Architecture</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Security type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Location</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resource ID</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Disks (%n)</source>
        <translation>
            <numerusform>Disks (%n)</numerusform>
            <numerusform>Disks (%n)</numerusform>
        </translation>
    </message>
    <message>
        <source>A managed disk or a snapshot of one: not an image, but what images are made from and what uploads and captures leave behind.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Managed disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Snapshot of a managed disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Page blob (VHD)</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Virtual machine — OS disk + %n data disk(s)</source>
        <translation>
            <numerusform>Virtual machine — OS disk + %n data disk</numerusform>
            <numerusform>Virtual machine — OS disk + %n data disks</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>VM image — OS disk + %n data disk(s)</source>
        <translation>
            <numerusform>VM image — OS disk + %n data disk</numerusform>
            <numerusform>VM image — OS disk + %n data disks</numerusform>
        </translation>
    </message>
    <message>
        <source>OS image — OS disk only</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DiagnosticsCopier</name>
    <message>
        <source>Diagnostics copied: versions, system and the end of the log, no secrets.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DiskTableModel</name>
    <message>
        <source>Disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The OS disk, or a data disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>LUN</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Logical unit number the data disk is attached at</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OS type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Operating system on the OS disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OS state</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Generalized images make new VMs; specialized ones keep the original identity</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disk size in GiB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Caching</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Host caching of the disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Storage type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Storage account type (disk SKU) the image keeps its disks on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Source</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The disk, snapshot or blob the image was made from</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OS disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Data disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>chosen at deployment</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{size} GiB</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DownloadActions</name>
    <message>
        <source>Download…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Download the selected disk, snapshot, image version or VHD blob to a file on this computer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Download {name}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DownloadDialog</name>
    <message>
        <source>Download {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Only the disk&apos;s data travels; empty parts stay empty in the file. An interrupted download continues where it stopped when you start it again with the same file.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The download also shows in the Transfers panel: you may close this window while it goes on.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Browse…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose the file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;File:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>File</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fixed VHD (what Azure stores)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dynamic VHD (only blocks with data)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VHDX (Hyper-V; only blocks with data)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Raw disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>F&amp;ormat:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Format</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OS disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dis&amp;k (data disk LUN):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Download steps</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Download progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Download</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Pause</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>S&amp;top download</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Download to</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disk images (*.vhd *.vhdx *.raw *.img);;All files (*)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Give the file to download to.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{path} is a folder: give a file name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The folder {folder} does not exist.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Downloading…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{done} of {total} ({fetched} fetched)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Resume</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Downloaded to {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Download again (resumes)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DropZone</name>
    <message>
        <source>Upload</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Drop a disk image here to upload it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Accepted files: {suffixes}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>It is checked first, converted on the fly to the fixed VHD Azure takes, and sent without its empty ranges.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Choose a disk image…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>EditActions</name>
    <message>
        <source>&amp;Edit…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Edit the selected image version (end of life, regions, replication) or definition (description, end of life, recommended sizes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not connected yet: sign in first.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>FilePage</name>
    <message>
        <source>Choose or drop a disk image: VHD, VHDX, qcow2, VMDK, VDI, OVA or raw</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OS disk image file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;OS disk:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>C&amp;hoose…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Add data disk…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Re&amp;move data disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>LUN</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>File</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Size in Azure</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disks of the image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose data disk images</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disk images ({patterns});;All files (*)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;b&gt;Windows:&lt;/b&gt; back the machine up first, then generalize it inside the VM with&lt;br&gt;&lt;code&gt;C:\Windows\System32\Sysprep\sysprep.exe /generalize /oobe /shutdown&lt;/code&gt;&lt;br&gt;and upload its disk after it has shut down. A generalized Windows cannot be started in its old identity again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;b&gt;Linux:&lt;/b&gt; back the machine up first, then run&lt;br&gt;&lt;code&gt;sudo waagent -deprovision+user&lt;/code&gt; and shut it down before you copy the disk. This deletes the last provisioned user account, SSH host keys and the host name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;b&gt;Specialized:&lt;/b&gt; the disk keeps its identity (users, host name, machine SID). It can become a specialized gallery image version, not a managed image.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The disk image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>What the file is, what Azure will say about it, and what will be sent. Nothing is uploaded before the last page.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reading the file…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Format:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Virtual size:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Size in Azure:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Upload size:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Data held:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Conversion:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Generalized (sysprep / waagent was run)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Specialized (keeps its identity)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gen2 (UEFI)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gen1 (BIOS)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Operating system:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OS state:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Hyper-V generation:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Architecture:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The machine on this disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose a disk image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An image holds at most 64 data disks (LUN 0 to 63).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OS disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Data disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reading…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Refused: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure would refuse it (see its findings)</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n finding(s)</source>
        <translation>
            <numerusform>%n finding</numerusform>
            <numerusform>%n findings</numerusform>
        </translation>
    </message>
    <message>
        <source>Ready</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>LUN of the data disk {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>LUN {lun} is given to more than one data disk: give each its own.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{format} (recognised by its content; not uploadable as it is)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{size} ({count} bytes)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{count} bytes (with the 512-byte footer)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>at most {size} ({share}%); empty ranges and zero blocks are not sent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>read as a fixed VHD on the fly (no temporary copy)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>size rounded up to a whole MiB ({before} → {after})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure-ready footer written last</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure will accept this disk as it is.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>FollowUpPage</name>
    <message>
        <source>Then what</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keep the disk as it is, or make an image from it right after the upload.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing more: keep the disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A managed image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A Compute Gallery image version (recommended for sharing and replication)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image name:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resource group:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Standard</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trusted launch</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trusted launch supported</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The disk&apos;s region: the version is always stored there.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Exclude from latest</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>End of life:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gallery:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image definition:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Security type (new definition):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Publisher (new definition):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Version:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Target regions:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Then &amp;test-boot the image (a throw-away VM, deleted afterwards)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>When the image is made, create a VM from it in a throw-away resource group, show its serial log while it boots, say whether it booted and why not, then delete everything it made</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>The image or version holds every disk of page 1: the OS disk and %n data disk(s), each at its LUN.</source>
        <translation>
            <numerusform>The image or version holds every disk of page 1: the OS disk and %n data disk, at its LUN.</numerusform>
            <numerusform>The image or version holds every disk of page 1: the OS disk and %n data disks, each at its LUN.</numerusform>
        </translation>
    </message>
    <message>
        <source>Reading the definition…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A new definition is created with the disk&apos;s OS type, state, generation and architecture.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not read the definition: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Existing definition: {facts}; versions: {versions}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Existing definition: {facts}; versions: none yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Checking the image definition…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>GuestChoice</name>
    <message>
        <source>not told by the disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>✓ detected from the disk (high confidence)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>✓ detected from the disk (medium confidence)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>✓ detected from the disk (low confidence)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>detected from the disk: {value}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gen1 or Gen2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unknown</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>HandoffActions</name>
    <message>
        <source>Copy as &amp;az CLI</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy an az vm create command that makes a VM from this image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy as &amp;Bicep</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy a Bicep file that deploys a VM (and its network) from this image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open in Azure &amp;Marketplace</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open in the Azure &amp;portal</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not connected yet: nothing to hand off.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An az vm create command for {image} is on the clipboard.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A Bicep file for a VM from {image} is on the clipboard.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The offline sandbox&apos;s images have no page in the portal.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This image has no page to open in its cloud.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>HelpMenu</name>
    <message>
        <source>&amp;Help</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Help for the window or page in front</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Keyboard shortcuts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Every key of this window and the wizards</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Copy diagnostics</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Versions, system and the end of the log, without secrets, for a bug report</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;About {app}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>HelpWindow</name>
    <message>
        <source>Help page</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Back</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Forward</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Contents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>C&amp;lose</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Back to the previous page</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Forward to the next page</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>All help pages</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Help navigation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{app} Help</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>LogDock</name>
    <message>
        <source>Log</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Text, resource name or request id</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Filter the log</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show only the lines that contain this text (upper or lower case alike).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fil&amp;ter:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save l&amp;og…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save the lines shown to a text file.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Clea&amp;r</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove every line from this panel.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Log lines</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save the log</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Text files (*.txt *.log)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not save the log</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The log could not be written to {path}: {reason}. Choose another folder or file name.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Show &amp;Transfers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Refresh</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ask Azure again for the selected node (or everything shown)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Capture VM…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Turn an existing VM into a managed image or a gallery image version: back up, generalize, capture, every step shown</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show &amp;Log</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add &amp;community gallery…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add a community gallery by its public name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Sign in to Azure…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sign in with a browser or a device code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Use the offline &amp;sandbox</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Work against the embedded local Azure</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy resource ID / URN</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Settings…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Language, defaults, uploads, sign-in and the cache</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Filter loaded nodes ({key})…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Filter the image sources</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Shows only the loaded nodes whose name contains this text ({key})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Find Images</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Upload disk image…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Upload a local disk image (VHD, VHDX, qcow2, VMDK, VDI, OVA or raw) as a managed disk, page blob or image (or drop the file onto the window)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Search the Marketplace and every gallery, also what is not loaded</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>F&amp;ilter Loaded Nodes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show only the loaded nodes of the tree whose name contains a text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>F&amp;ilter:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image sources</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image sources, down to image versions; expand a node to list it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image so&amp;urces:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open the context menu</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Main</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Su&amp;bscription:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Subscription</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Location:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Location</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The subscription whose images and VMs are shown ({key})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The region the images are listed for ({key})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Sources</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Account</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not connected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Signed-in account</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sandbox: offline, nothing reaches Azure</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>You are working against the embedded local Azure. Everything here is sample data; nothing you do reaches a real subscription. Account → Sign in to Azure… to leave it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{app} — Sandbox</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Listing subscriptions…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not list the subscriptions: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not list the subscriptions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This account has no subscriptions: sign in with another account.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connected as {account}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not list the locations: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Capture VM…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not connected yet: nothing to refresh.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Asking Azure again…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not list {name}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not list a node of the tree: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not add the community gallery</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The new image is made, but the tree does not list it yet: press F5 to ask Azure again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is not in the tree of this subscription and region.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copied {text}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure error code: {code}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Transfers are running</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n upload(s) or download(s) still running. What should happen to them when the app closes?</source>
        <translation>
            <numerusform>%n upload or download is still running. What should happen to it when the app closes?</numerusform>
            <numerusform>%n uploads or downloads are still running. What should happen to them when the app closes?</numerusform>
        </translation>
    </message>
    <message>
        <source>&amp;Pause and quit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Cancel uploads and quit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Keep working</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;p&gt;&lt;b&gt;Pause and quit&lt;/b&gt;: every upload stops where it is and resumes at the next start (a managed disk keeps its write access, held in the system keyring until then).&lt;/p&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;p&gt;&lt;b&gt;Pause and quit&lt;/b&gt;: every upload stops where it is and resumes at the next start (this system has no keyring to hold a managed disk&apos;s write access, so that access is revoked too and the disk&apos;s upload starts over).&lt;/p&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;p&gt;A download stops the same way: its read access is revoked, and it continues at the next start with only the data it still lacks.&lt;/p&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;p&gt;&lt;b&gt;Cancel uploads and quit&lt;/b&gt;: write access is revoked; a managed disk cannot take more data after that, so a later resume starts it over.&lt;/p&gt;&lt;p&gt;&lt;b&gt;Keep working&lt;/b&gt;: nothing changes.&lt;/p&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pausing the uploads for the next start…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancelling the uploads…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Measures</name>
    <message>
        <source>{seconds} s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{minutes} min {seconds} s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{hours} h {minutes} min</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{size}/s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{percent} %</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>PreparePage</name>
    <message>
        <source>Prepare the VM</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>1. Back up first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Generalizing cannot be undone. Snapshots keep a copy of each disk as it is now, so you can build a new VM from them if anything goes wrong.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>2. Generalize</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Generalization command</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cop&amp;y</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy the command to the clipboard</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;I generalized it myself and shut it down</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Capture as &amp;specialized (gallery only): keep the machine as it is, with its accounts and computer name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Take a snapshot of the {disk}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure already marks {name} generalized: it can be captured as it is.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Inside the VM, as an administrator, run sysprep. It removes the computer&apos;s identity (SID, computer name, logs), then shuts Windows down. The switch &apos;/mode:vm&apos; (Windows Server 2012 and later, images for VMs only) skips the hardware re-detection on first start:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Inside the VM, run the Azure Linux agent&apos;s deprovisioning. It removes SSH host keys, DHCP leases, cloud-init state and the admin user, then shut the VM down (sudo shutdown -h now):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Without /mode:vm: {command}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The user account &lt;b&gt;{user}&lt;/b&gt; and its home directory are removed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The admin user account and its home directory are removed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The machine&apos;s identity is reset and the built-in Administrator is disabled; a new VM gets its admin account from its own settings. Local accounts such as &lt;b&gt;{user}&lt;/b&gt; stay in the image: remove the ones you do not want in it first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The machine&apos;s identity is reset and the built-in Administrator is disabled; a new VM gets its admin account from its own settings. Local accounts stay in the image: remove the ones you do not want in it first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;b&gt;Caveats:&lt;/b&gt; a generalized VM can never be started again: capture it, then delete it or keep it only as the image&apos;s source. {accounts}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Run the generalization now through Run Command and wait until the VM has stopped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Run the generalization now through Run Command and wait until the VM has stopped (needs a running VM)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The VM is &amp;generalized: capture it as it is</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ProgressPage</name>
    <message>
        <source>Capturing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Each step as it happens. A failed step stops the capture.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Capture steps</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%v of %m steps</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Capture progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Test-boot the new image…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create a throw-away VM from the new image, show its serial log while it boots, say whether it booted and why not, then delete the VM</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;b&gt;{step} failed.&lt;/b&gt; Azure said: {message}&lt;br&gt;&lt;b&gt;What to do:&lt;/b&gt; {advice}&lt;br&gt;No later step was run.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;b&gt;Captured.&lt;/b&gt; The new image {image} is selected in the browser, with its disks.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Uploading</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>You can close this window: the upload goes on in the Transfers panel.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Progress of the whole upload job</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Network: bytes actually sent per second. Effective: how fast the image is covered, empty blocks (never sent) included; the time left follows it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Pause</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Resume</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Cancel upload</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Retry with &amp;another name…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Make the image again from the uploaded disks under another name (a gallery version: another version number or definition); no data is uploaded again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Steps of the upload</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Network {network} · effective {effective} · time left {eta} · elapsed {elapsed}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sent {sent} · skipped {skipped} (empty) · already there {present} · of {total}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Upload finished</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The upload finished and the image was created.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The upload finished: the disk is ready.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Done. You can close this window.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image not made</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{error}

The data is in Azure; only the image step failed. Retry with another name… makes the image from the uploaded disks without sending the data again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Upload failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The upload failed: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{error}

Nothing after the failed step was run. Resume picks up where it stopped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Upload cancelled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The upload was cancelled. Resume picks up where it stopped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Upload interrupted</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The upload stopped: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Upload paused</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>{current} · {done} of %n step(s) done</source>
        <translation>
            <numerusform>{current} · {done} of %n step done</numerusform>
            <numerusform>{current} · {done} of %n steps done</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>RegionReplicaTable</name>
    <message>
        <source>Target region</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replicas</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Storage type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Target regions and replicas</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Add region</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove regi&amp;on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Target region {number}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replicas in target region {number}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Storage type in target region {number}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure keeps a region&apos;s storage type: it is chosen when the region is added.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ReplicationModel</name>
    <message>
        <source>Replicating</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Completed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unknown</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Region</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>State</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Details</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{percent} %</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>RetryFollowUpDialog</name>
    <message>
        <source>Retry with another image name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The image {name} could not be made in {group}. Its disks are in Azure: only the image is made again, under the name you give, and no data is uploaded again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image &amp;name:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Retry with another version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Version {version} of {definition} could not be made in the gallery {gallery}. Its disks are in Azure: only the version is made again, as you give it here, and no data is uploaded again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Version:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Version number</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image &amp;definition:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image definition</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An existing definition of the gallery must match the disk; a new name creates a definition for it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Retry</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not read what exists in Azure: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Checking which image names are taken…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An image named {name} exists already in {group}. Pick another name, e.g. {free}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Checking the gallery {gallery}…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ReviewPage</name>
    <message>
        <source>Review</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Every change that will be made, in order.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Changes the capture makes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Capture</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} will be marked generalized: it can never be started again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run Command ({command}) runs: {script}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} will be deleted once the image exists.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Source: {name} ({os}, {power}, {location}, {disks}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>These changes are made, in this order:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing has been changed yet. Each step is checked again just before it runs.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>sysprep removes machine-specific data (SID, computer name, drivers). Local accounts such as {user} stay in the image; Azure resets the administrator credentials when a VM is created from it (from that VM&apos;s own settings).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>sysprep removes machine-specific data (SID, computer name, drivers). Local accounts stay in the image; Azure resets the administrator credentials when a VM is created from it (from that VM&apos;s own settings).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Everything that will happen, in order. Nothing has been changed yet.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>What the upload will do</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Upload</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OS disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Data disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>managed disk {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>page blob {url}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{file}, its disk {number}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>LUN</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>File</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Size in Azure</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Becomes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create the managed disk &lt;b&gt;{name}&lt;/b&gt; ({sku}) for upload in &lt;b&gt;{group}&lt;/b&gt;, {location} — {os_type}, {generation}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create the managed disk &lt;b&gt;{name}&lt;/b&gt; ({sku}) for upload in &lt;b&gt;{group}&lt;/b&gt;, {location} — data disk at LUN {lun}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Grant write access to the disk (a SAS, renewed if the upload runs long)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Grant write access to each disk (a SAS each, renewed if the upload runs long)</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Upload the data of all %n disks at the same time, within the one bandwidth limit: only ranges that hold data, then the footer; Content-MD5 checked</source>
        <translation>
            <numerusform>Upload the data of the %n disk, within the one bandwidth limit: only ranges that hold data, then the footer; Content-MD5 checked</numerusform>
            <numerusform>Upload the data of all %n disks at the same time, within the one bandwidth limit: only ranges that hold data, then the footer; Content-MD5 checked</numerusform>
        </translation>
    </message>
    <message>
        <source>Upload the data: only ranges that hold data, then the footer; Content-MD5 checked</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Upload the data to the page blob &lt;b&gt;{url}&lt;/b&gt;: only ranges that hold data, then the footer; Content-MD5 checked</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Revoke the write access (also if the upload fails or is cancelled)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Revoke the write access to each disk (also if the upload fails or is cancelled)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Source: &lt;b&gt;{name}&lt;/b&gt; — {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>You can close this wizard during the upload: it goes on in the Transfers panel, and an unfinished upload is offered for resume at the next start.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Create the managed image &lt;b&gt;{name}&lt;/b&gt; in &lt;b&gt;{group}&lt;/b&gt; ({os_type}, {os_state}), holding the OS disk and %n data disk(s)</source>
        <translation>
            <numerusform>Create the managed image &lt;b&gt;{name}&lt;/b&gt; in &lt;b&gt;{group}&lt;/b&gt; ({os_type}, {os_state}), holding the OS disk and %n data disk</numerusform>
            <numerusform>Create the managed image &lt;b&gt;{name}&lt;/b&gt; in &lt;b&gt;{group}&lt;/b&gt; ({os_type}, {os_state}), holding the OS disk and %n data disks</numerusform>
        </translation>
    </message>
    <message>
        <source>Create the managed image &lt;b&gt;{name}&lt;/b&gt; in &lt;b&gt;{group}&lt;/b&gt; ({os_type}, {os_state})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create the gallery &lt;b&gt;{gallery}&lt;/b&gt; in &lt;b&gt;{group}&lt;/b&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create the image definition &lt;b&gt;{name}&lt;/b&gt; ({os_type}, {os_state}, {generation}, {security})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>excluded from latest</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>end of life {date}</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Create version &lt;b&gt;{version}&lt;/b&gt; of &lt;b&gt;{definition}&lt;/b&gt; in &lt;b&gt;{gallery}&lt;/b&gt;, holding the OS disk and %n data disk(s)</source>
        <translation>
            <numerusform>Create version &lt;b&gt;{version}&lt;/b&gt; of &lt;b&gt;{definition}&lt;/b&gt; in &lt;b&gt;{gallery}&lt;/b&gt;, holding the OS disk and %n data disk</numerusform>
            <numerusform>Create version &lt;b&gt;{version}&lt;/b&gt; of &lt;b&gt;{definition}&lt;/b&gt; in &lt;b&gt;{gallery}&lt;/b&gt;, holding the OS disk and %n data disks</numerusform>
        </translation>
    </message>
    <message>
        <source>Create version &lt;b&gt;{version}&lt;/b&gt; of &lt;b&gt;{definition}&lt;/b&gt; in &lt;b&gt;{gallery}&lt;/b&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replicate to {regions}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SearchPanel</name>
    <message>
        <source>Search all images</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fi&amp;nd:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Hide de&amp;precated</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Leave out images their publisher deprecated</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gen&amp;2 only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Only images for Hyper-V generation 2 VMs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Arm&amp;64 only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Only images for Arm64 VM sizes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>T&amp;rusted Launch only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Only images that can start with Trusted Launch</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Search results</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Images found, best first; Enter shows the selected one in the tree</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resul&amp;ts:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Search the Marketplace and every gallery ({keys})…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Search the Marketplace and every gallery…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Finds images by publisher, offer, SKU, alias or description, also those not loaded in the tree; Enter shows the selected result in the tree</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Searching…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not connected yet: nothing to search.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The search failed: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No image matches “{text}”.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n result(s)</source>
        <translation>
            <numerusform>%n result</numerusform>
            <numerusform>%n results</numerusform>
        </translation>
    </message>
    <message>
        <source>{message} From the images listed so far (no Marketplace Catalog).</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SearchResultsModel</name>
    <message>
        <source>Image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Latest version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Operating system and hardware</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>State</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{publisher} / {offer} / {sku}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{version} ({date})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gen1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gen2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deprecated ({state})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Purchase plan needed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No plan needed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>az alias: {alias}</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n data disk(s) besides the OS disk</source>
        <translation>
            <numerusform>%n data disk besides the OS disk</numerusform>
            <numerusform>%n data disks besides the OS disk</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;General</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Uploads</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Account</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Data and cache</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>As the system</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Language:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A new language is used from the next start.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Default &amp;subscription:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Default l&amp;ocation:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>none: the wizards ask</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Default &amp;resource group:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Default &amp;disk type:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Requests in flight per upload:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>More requests help on links with a long round trip; 8 is enough for most.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> Mbit/s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No limit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Bandwidth limit:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>One limit for all uploads together; it applies at once, also to uploads that are running.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Delete the partial managed disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>When an upload is cancelled:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A cancelled upload leaves a disk that holds only part of the image and is billed like any other. Keep it only to look at it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Browser window</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Device code (sign in on another device)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Sign-in method:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Cloud:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Both are used the next time you sign in (Account → Sign in to Azure…).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> min</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Always ask Azure again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trust cached &amp;listings for:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Listings are shown from the cache at once; younger than this, Azure is not asked again, which saves Azure&apos;s read budget on large subscriptions.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Clear the cache</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cache:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Data &amp;folder:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Open the data folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>It holds the settings, the log, the cache, unfinished uploads&apos; journals and the sandbox. Secrets are never written there: they stay in the system&apos;s keyring.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cleared: listings are asked from Azure again.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ShortcutsDialog</name>
    <message>
        <source>Keyboard shortcuts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wizards and dialogs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fields</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Go to {field}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The highlighted button (Next, Upload, Capture, OK)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel or close</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Help for the page or window in front</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tab / Shift+Tab</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Next or previous field (also out of a table)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keys</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Command</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Where</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Shortcuts of this window:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Next page</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Previous page</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Finish</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SignInDialog</name>
    <message>
        <source>Sign in to Azure</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cloud</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Browser window</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Device code (sign in on another device)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sign-in method</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>optional: tenant ID or domain</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tenant</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Keep the sign-in in memory only (sign in again next time)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Checking where the sign-in can be kept…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Cloud:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Method:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Tenant:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tip: if you use the Azure CLI, `az login` once and the app signs in by itself.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Sign in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Waiting for you to finish signing in…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open {link} on any device and enter the code {code}. The code is valid until {time}; this window continues by itself.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;b&gt;Sign-in failed.&lt;/b&gt; {reason}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>StepList</name>
    <message>
        <source>Waiting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Running…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Skipped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Step</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>State</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Duration</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Details</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Steps</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>TargetPage</name>
    <message>
        <source>+ New gallery…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>+ New image definition…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VM</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Preparation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Target</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resource group</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gallery</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Definition</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Publisher/offer/SKU</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Regions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>End of life</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose the target</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Managed image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Gallery image version (Azure Compute Gallery)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Resource group:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Image name:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A managed image lives in one region (the VM&apos;s) and holds the OS disk and every data disk. It does not support TrustedLaunch, specialized or Arm64 sources.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>name of the new gallery</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>name of the new image definition</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>publisher (your choice)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Definition publisher</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>offer (your choice)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Definition offer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SKU (your choice)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Definition SKU</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>major.minor.patch, e.g. 1.0.0</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The VM&apos;s region: the version is always stored there.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Target regions and replica counts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>E&amp;xclude from latest (VMs asking for &apos;latest&apos; keep the previous)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;End of life:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>End-of-life date</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ga&amp;llery:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New galler&amp;y name:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Its resource g&amp;roup:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Definition:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ne&amp;w definition name:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Publisher/offer/SKU:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Version:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Target regions and replica counts (the VM&apos;s region is always one):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete the VM a&amp;fter the capture (its disks are kept)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Capture {name} ({location}) into a managed image or a new version in a Compute Gallery. Every check Azure would make is done here, before any change.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loading resource groups, galleries and regions…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The new definition is described by the VM: {facts}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Definition: {definition}. The VM: {facts}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Checking with Azure…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{field}: {problem}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fix these before you go on:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Where the disk goes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A managed disk by direct upload is recommended: no storage account to manage, and the disk can become an image right away.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New managed disk by direct upload (recommended)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Page blob in one of the subscription&apos;s storage accounts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Page blob anywhere, by a pasted SAS URL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Subscription:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resource group:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Region:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disk name:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disk type (SKU):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Storage account:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Container:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Blob name:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A SAS for this one blob is made from the account key and kept in memory only.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Blob SAS URL:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The SAS needs write (and create) permission. It is kept in memory only.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not list storage accounts: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The subscription has no storage account: paste a SAS URL instead.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not list containers: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} (OS disk)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} (data disk, LUN {lun})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>One managed disk per disk of the image, named from the disk name:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>One page blob per disk of the image, named from the blob name:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loading the subscription&apos;s storage accounts…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pick a container (loading them…).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Getting a SAS for the blob from the storage account…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A pasted SAS URL names one page blob, and this image has several disks: pick a storage account of the subscription, or upload to managed disks.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Paste the SAS URL of the page blob to write.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The SAS URL must start with https:// (a storage account&apos;s blob endpoint).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The URL has no SAS signature (sig=…): create a SAS with write permission.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>TermsBox</name>
    <message>
        <source>Marketplace terms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>State of the terms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Accept terms…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Accept the plan&apos;s terms for this subscription, so VMs can be made from it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Withdraw acceptance…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New VMs from this plan are refused again; running VMs keep running</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Plan {plan} of {product} by {publisher}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reading the terms in this subscription…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Accepted in this subscription on {date}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Accepted in this subscription.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not accepted in this subscription: Azure refuses VMs from this image until they are.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Publisher&apos;s license</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Privacy policy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure Marketplace terms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>(Azure gave no links)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Accept Marketplace terms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;p&gt;Accept the terms of plan &lt;b&gt;{plan}&lt;/b&gt; ({product}, {publisher}) for the subscription &lt;b&gt;{subscription}&lt;/b&gt;?&lt;/p&gt;&lt;p&gt;You agree to the publisher&apos;s terms and the Azure Marketplace terms: {links}&lt;/p&gt;&lt;p&gt;Software costs of the plan are billed with the VMs made from it.&lt;/p&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Accept terms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Withdraw acceptance</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;p&gt;Withdraw the acceptance of plan &lt;b&gt;{plan}&lt;/b&gt; for the subscription &lt;b&gt;{subscription}&lt;/b&gt;?&lt;/p&gt;&lt;p&gt;Azure then refuses new VMs from this plan; VMs that run keep running.&lt;/p&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Withdraw</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Asking Azure…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>TransfersDock</name>
    <message>
        <source>Transfers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Pause</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Resume</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Cancel upload</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Re&amp;move</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Cancel download</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop the upload and revoke write access; what was sent is kept for a resume</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop the download and revoke read access; what was received stays in the file for a resume</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove the upload from the list (an unfinished one can then not be resumed)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove the download from the list (an unfinished one can then not be resumed; the partial file stays)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pause the selected transfer; nothing is sent or received until it is resumed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Continue the selected transfer where it stopped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Retry with &amp;another name…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Make the image again from the uploaded disks under another name (a gallery version: another version number or definition); no data is uploaded again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove upload</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove the unfinished upload of {file}? It can then no longer be resumed; an upload of it starts from the beginning.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove download</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove the unfinished download to {file}? It can then no longer be resumed; a download of it starts from the beginning. The partial file stays.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resume upload</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Paste a SAS URL with write access for
{target}
(SAS tokens are never stored, so it is needed again):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resume download</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Paste a SAS URL with read access for
{target}
(SAS tokens are never stored, so it is needed again):</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>TransfersModel</name>
    <message>
        <source>Queued</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Running</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Paused</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Completed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancelled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Interrupted</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Direction</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>File</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Target</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>State</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Network</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Effective</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Time left</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Transferred</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Upload to Azure, or download from Azure to this computer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The file on this computer: read by an upload, written by a download</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The Azure side: the disk, snapshot, image version or page blob</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The whole job: the data transfer and every step before and after it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Bytes actually sent or received over the network per second</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>How fast the disk is covered: transferred bytes plus empty blocks that need no transfer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Bytes sent to Azure (upload) or received from Azure (download)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Empty blocks: never transferred, they read as zeros</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>↑ Upload</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>↓ Download</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Upload to Azure</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Download to this computer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Skipped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Time left for the data transfer, from the effective speed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{status}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{path}
Started {date}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{job} of the whole job; data {data}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>UploadWizard</name>
    <message>
        <source>Upload a disk image</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>VersionEditor</name>
    <message>
        <source>Edit image version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image version {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reading the version from Azure…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>None</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>End-of-life date</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>After this date Azure warns whoever makes a VM from the version; VMs keep running.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;No date</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>End of &amp;life:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>E&amp;xclude from latest</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Exclude from latest</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VMs made from the definition&apos;s latest version will not use this version.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The version was made here: Azure keeps it in this region.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Target regions:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Standard_ZRS keeps copies in the region&apos;s availability zones, so it is offered only where the region has zones. A region&apos;s storage type is chosen when it is added; Azure does not change it afterwards.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Allo&amp;w removing this version from replicated regions (allowDeletionOfReplicatedLocations)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Allow removing this version from replicated regions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replication &amp;status:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replication status per region</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Retry region</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sends the target regions to Azure again: it replicates the failed region again and leaves the completed ones as they are.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A&amp;pply</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not read the version: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replication failed in {regions}: select the region and Retry.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure is replicating the version…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replicated to every target region.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>none</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Made in {location}; end of life: {eol}; provisioning: {state}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not read the status: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Removing &lt;b&gt;{regions}&lt;/b&gt;: this version&apos;s safeguard allows removing it from regions it is replicated to. Azure deletes its replicas there when you apply; VMs in that region can no longer be made from it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Removing &lt;b&gt;{regions}&lt;/b&gt;: Azure protects a version from being removed from regions it is replicated to. It refuses unless the version&apos;s safeguard, &lt;i&gt;allowDeletionOfReplicatedLocations&lt;/i&gt;, is on. Turning it on is a change of its own, made first when you apply: from then on, anyone who can update this version can remove it from its regions. Removing a region deletes the replicas there; VMs in that region can no longer be made from it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Retry failed: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Azure is replicating {region} again…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>VmActions</name>
    <message>
        <source>Create VM…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create a VM from the selected image: size, network and account in one short dialog</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Test boot…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Boot the selected image in a throw-away VM, watch its serial log, get a verdict; everything is deleted after</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not connected yet: sign in first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose an image version: a VM is made from one version.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>VmPage</name>
    <message>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resource group</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Power state</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OS</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OS state</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Security</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gen / arch</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Disks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose the VM to capture</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The virtual machines of this subscription. Capturing makes an image from the VM&apos;s OS disk and data disks.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Virtual machines</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loading virtual machines…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Refresh</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>List the virtual machines again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Virtual machines:</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n virtual machine(s).</source>
        <translation>
            <numerusform>%n virtual machine.</numerusform>
            <numerusform>%n virtual machines.</numerusform>
        </translation>
    </message>
    <message>
        <source>This subscription has no virtual machines.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>VM {name} was not found in this subscription (deleted or moved?). Pick another one.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Workflows</name>
    <message>
        <source>Delete…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete the selected images, versions, definitions, galleries, disks or snapshots from Azure, after a confirmation that lists them</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Drop to upload: a wizard opens for each disk image.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not a disk image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>These files were not opened: {names}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Drop disk images ({suffixes}) to upload them.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} opens for upload as soon as the connection is up.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing selected can be deleted here: select managed images, gallery versions, definitions, galleries, disks or snapshots of this subscription.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not connected yet: nothing can be deleted.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n unfinished upload(s) or download(s) from last time: select one in the Transfers panel and press Resume.</source>
        <translation>
            <numerusform>%n unfinished upload or download from last time: select it in the Transfers panel and press Resume.</numerusform>
            <numerusform>%n unfinished uploads or downloads from last time: select one in the Transfers panel and press Resume.</numerusform>
        </translation>
    </message>
    <message>
        <source>Download finished</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{file} is on this computer: {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Download stopped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Download failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Upload finished</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{file} is in Azure: {target}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Upload cancelled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{file} can be resumed later.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Upload failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{file}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{title}: {text}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
