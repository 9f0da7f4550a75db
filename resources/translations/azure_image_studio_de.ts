<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de" sourcelanguage="en">
<context>
    <name></name>
    <message>
        <source>Capture refused before any change</source>
        <translation>Erfassung vor jeder Änderung abgelehnt</translation>
    </message>
    <message>
        <source>Nothing was changed. Correct what the message names and start the capture again.</source>
        <translation>Es wurde nichts geändert. Korrigieren Sie, was die Meldung nennt, und starten Sie die Erfassung erneut.</translation>
    </message>
    <message>
        <source>Generalization did not finish</source>
        <translation>Verallgemeinerung nicht abgeschlossen</translation>
    </message>
    <message>
        <source>Look at the guest (boot diagnostics, serial console). Do not mark the VM generalized until the guest has been deprovisioned and has shut down.</source>
        <translation>Sehen Sie sich das Gastbetriebssystem an (Startdiagnose, serielle Konsole). Markieren Sie die VM erst als verallgemeinert, wenn das Gastbetriebssystem deprovisioniert und heruntergefahren ist.</translation>
    </message>
    <message>
        <source>Replication failed</source>
        <translation>Replikation fehlgeschlagen</translation>
    </message>
    <message>
        <source>The image version exists; update its target regions to retry the replication.</source>
        <translation>Die Imageversion ist vorhanden; aktualisieren Sie ihre Zielregionen, um die Replikation zu wiederholen.</translation>
    </message>
    <message>
        <source>Nothing was changed on the VM yet. Correct the cause and start the capture again.</source>
        <translation>An der VM wurde noch nichts geändert. Beheben Sie die Ursache, und starten Sie die Erfassung erneut.</translation>
    </message>
    <message>
        <source>The VM is generalized now and cannot be started again; open the capture wizard for it again and choose &apos;I generalized it myself&apos; to retry.</source>
        <translation>Die VM ist jetzt verallgemeinert und kann nicht mehr gestartet werden; öffnen Sie den Erfassungs-Assistenten für sie erneut und wählen Sie &apos;I generalized it myself&apos;, um es zu wiederholen.</translation>
    </message>
    <message>
        <source>Check VM {name} and the target</source>
        <translation>VM {name} und Ziel prüfen</translation>
    </message>
    <message>
        <source>Nothing was changed. Correct what the message names and start again.</source>
        <translation>Es wurde nichts geändert. Korrigieren Sie, was die Meldung nennt, und beginnen Sie erneut.</translation>
    </message>
    <message>
        <source>Snapshot {disk}</source>
        <translation>Momentaufnahme von {disk}</translation>
    </message>
    <message>
        <source>Create snapshot {snapshot} of {name} ({size_gb} GiB) in {resource_group}</source>
        <translation>Momentaufnahme {snapshot} von {name} ({size_gb} GiB) in {resource_group} erstellen</translation>
    </message>
    <message>
        <source>Run {tool} on {name} through Run Command ({command})</source>
        <translation>{tool} auf {name} über „Befehl ausführen“ ausführen ({command})</translation>
    </message>
    <message>
        <source>Run {tool}, then shut down on {name} through Run Command ({command}); the admin account {user} is removed from the guest</source>
        <translation>{tool} auf {name} über „Befehl ausführen“ ausführen und dann herunterfahren ({command}); das Administratorkonto {user} wird aus dem Gastbetriebssystem entfernt</translation>
    </message>
    <message>
        <source>(VM user)</source>
        <translation>(VM-Benutzer)</translation>
    </message>
    <message>
        <source>Run generalization (Run Command)</source>
        <translation>Verallgemeinerung ausführen („Befehl ausführen“)</translation>
    </message>
    <message>
        <source>Check the Run Command output. You can also generalize by hand and choose &apos;I generalized it myself&apos;.</source>
        <translation>Prüfen Sie die Ausgabe von „Befehl ausführen“. Sie können auch von Hand verallgemeinern und &apos;I generalized it myself&apos; wählen.</translation>
    </message>
    <message>
        <source>Wait until {name} has stopped</source>
        <translation>Warten, bis {name} beendet ist</translation>
    </message>
    <message>
        <source>The guest did not shut down. Look at it (boot diagnostics, serial console) before you try again; do not mark it generalized.</source>
        <translation>Das Gastbetriebssystem wurde nicht heruntergefahren. Sehen Sie es sich an (Startdiagnose, serielle Konsole), bevor Sie es erneut versuchen; markieren Sie die VM nicht als verallgemeinert.</translation>
    </message>
    <message>
        <source>Deallocate {name}</source>
        <translation>Zuordnung von {name} aufheben</translation>
    </message>
    <message>
        <source>Deallocate VM {name} (stops billing for its compute)</source>
        <translation>Zuordnung der VM {name} aufheben (beendet die Abrechnung ihrer Compute-Ressourcen)</translation>
    </message>
    <message>
        <source>Deallocate the VM yourself (portal or `az vm deallocate`), then start again.</source>
        <translation>Heben Sie die Zuordnung der VM selbst auf (Portal oder `az vm deallocate`), und beginnen Sie dann erneut.</translation>
    </message>
    <message>
        <source>Mark {name} generalized</source>
        <translation>{name} als verallgemeinert markieren</translation>
    </message>
    <message>
        <source>Mark VM {name} generalized in Azure: it can never be started again</source>
        <translation>VM {name} in Azure als verallgemeinert markieren: Sie kann danach nie wieder gestartet werden</translation>
    </message>
    <message>
        <source>The VM is deallocated; mark it generalized yourself (`az vm generalize`) or start again.</source>
        <translation>Die Zuordnung der VM ist aufgehoben; markieren Sie sie selbst als verallgemeinert (`az vm generalize`) oder beginnen Sie erneut.</translation>
    </message>
    <message numerus="yes">
        <source>OS disk + %n data disk(s)</source>
        <translation>
            <numerusform>Betriebssystemdatenträger + %n Datenträger für Daten</numerusform>
            <numerusform>Betriebssystemdatenträger + %n Datenträger für Daten</numerusform>
        </translation>
    </message>
    <message>
        <source>OS disk</source>
        <translation>Betriebssystemdatenträger</translation>
    </message>
    <message>
        <source>Create managed image {image_name}</source>
        <translation>Verwaltetes Image {image_name} erstellen</translation>
    </message>
    <message>
        <source>Create managed image {image_name} in {resource_group} ({location}, {hyper_v_generation}, {disks})</source>
        <translation>Verwaltetes Image {image_name} in {resource_group} erstellen ({location}, {hyper_v_generation}, {disks})</translation>
    </message>
    <message>
        <source>Create gallery {gallery_name}</source>
        <translation>Katalog {gallery_name} erstellen</translation>
    </message>
    <message>
        <source>Create Azure Compute Gallery {gallery_name} in {resource_group} ({location})</source>
        <translation>Azure Compute Gallery {gallery_name} in {resource_group} erstellen ({location})</translation>
    </message>
    <message>
        <source>Create image definition {definition_name}</source>
        <translation>Imagedefinition {definition_name} erstellen</translation>
    </message>
    <message>
        <source>Create image definition {name} ({os_type}, {os_state}, {hyper_v_generation}, {architecture}, {security_type}; {publisher}/{offer}/{sku}) in gallery {gallery_name}</source>
        <translation>Imagedefinition {name} ({os_type}, {os_state}, {hyper_v_generation}, {architecture}, {security_type}; {publisher}/{offer}/{sku}) im Katalog {gallery_name} erstellen</translation>
    </message>
    <message>
        <source>Create image definition {name} ({os_type}, {os_state}, {hyper_v_generation}, {architecture}, {security_type}; {publisher}/{offer}/{sku}) in gallery {gallery_name}, with the VM&apos;s Marketplace plan {plan}, which VMs from it need</source>
        <translation>Imagedefinition {name} ({os_type}, {os_state}, {hyper_v_generation}, {architecture}, {security_type}; {publisher}/{offer}/{sku}) im Katalog {gallery_name} erstellen, mit dem Marketplace-Plan {plan} der VM, den VMs daraus benötigen</translation>
    </message>
    <message>
        <source>excluded from latest</source>
        <translation>von „latest“ ausgeschlossen</translation>
    </message>
    <message>
        <source>end of life {date}</source>
        <translation>Ende der Lebensdauer {date}</translation>
    </message>
    <message>
        <source>{first}, {second}</source>
        <translation>{first}, {second}</translation>
    </message>
    <message>
        <source>Create image version {version}</source>
        <translation>Imageversion {version} erstellen</translation>
    </message>
    <message>
        <source>Create image version {path} from {name} (regions {regions}; {flags})</source>
        <translation>Imageversion {path} aus {name} erstellen (Regionen {regions}; {flags})</translation>
    </message>
    <message>
        <source>Create image version {path} from {name} (regions {regions})</source>
        <translation>Imageversion {path} aus {name} erstellen (Regionen {regions})</translation>
    </message>
    <message>
        <source>Replicate to {region}</source>
        <translation>In {region} replizieren</translation>
    </message>
    <message>
        <source>The image version exists; Azure keeps replicating. Check its replication status in the browser, or update its target regions to retry.</source>
        <translation>Die Imageversion ist vorhanden; Azure repliziert weiter. Prüfen Sie ihren Replikationsstatus im Browser, oder aktualisieren Sie ihre Zielregionen, um es erneut zu versuchen.</translation>
    </message>
    <message>
        <source>Delete VM {name}</source>
        <translation>VM {name} löschen</translation>
    </message>
    <message>
        <source>Delete VM {name} (its disks are kept: {disks})</source>
        <translation>VM {name} löschen (ihre Datenträger bleiben erhalten: {disks})</translation>
    </message>
    <message>
        <source>The image is ready. Delete the VM yourself when you no longer need it.</source>
        <translation>Das Image ist bereit. Löschen Sie die VM selbst, wenn Sie sie nicht mehr brauchen.</translation>
    </message>
    <message>
        <source>{name} is {power}; the target is free.</source>
        <translation>{name} ist {power}; das Ziel ist frei.</translation>
    </message>
    <message>
        <source>Snapshot {name} created ({size_gb} GiB).</source>
        <translation>Momentaufnahme {name} erstellt ({size_gb} GiB).</translation>
    </message>
    <message>
        <source>Run Command sent; waiting for the guest agent to run it…</source>
        <translation>„Befehl ausführen“ gesendet; warten, bis der Gast-Agent ihn ausführt…</translation>
    </message>
    <message>
        <source>The guest reported: {first}</source>
        <translation>Das Gastbetriebssystem meldete: {first}</translation>
    </message>
    <message>
        <source>Generalization started in the guest.</source>
        <translation>Verallgemeinerung im Gastbetriebssystem gestartet.</translation>
    </message>
    <message>
        <source>{name} is {state}.</source>
        <translation>{name} ist {state}.</translation>
    </message>
    <message>
        <source>VM {name} is still {state} {minutes} minutes after generalization was started.</source>
        <translation>VM {name} ist {minutes} Minuten nach dem Start der Verallgemeinerung noch immer {state}.</translation>
    </message>
    <message>
        <source>{name} is {state}; waiting for the guest to shut down…</source>
        <translation>{name} ist {state}; warten, bis das Gastbetriebssystem heruntergefahren ist…</translation>
    </message>
    <message>
        <source>{name} is already deallocated.</source>
        <translation>Die Zuordnung von {name} ist bereits aufgehoben.</translation>
    </message>
    <message>
        <source>{name} is deallocated.</source>
        <translation>Die Zuordnung von {name} ist aufgehoben.</translation>
    </message>
    <message>
        <source>{name} is already marked generalized.</source>
        <translation>{name} ist bereits als verallgemeinert markiert.</translation>
    </message>
    <message>
        <source>{name} is marked generalized.</source>
        <translation>{name} ist als verallgemeinert markiert.</translation>
    </message>
    <message>
        <source>Managed image {image_name} created.</source>
        <translation>Verwaltetes Image {image_name} erstellt.</translation>
    </message>
    <message>
        <source>Gallery {gallery_name} created.</source>
        <translation>Katalog {gallery_name} erstellt.</translation>
    </message>
    <message>
        <source>Image definition {definition_name} created.</source>
        <translation>Imagedefinition {definition_name} erstellt.</translation>
    </message>
    <message>
        <source>Image version {version} accepted; Azure replicates it now.</source>
        <translation>Imageversion {version} angenommen; Azure repliziert sie jetzt.</translation>
    </message>
    <message>
        <source>Replication to {region} failed: {details}</source>
        <translation>Replikation in {region} fehlgeschlagen: {details}</translation>
    </message>
    <message>
        <source>Replicated to {region}.</source>
        <translation>In {region} repliziert.</translation>
    </message>
    <message>
        <source>VM {name} deleted; its disks are kept.</source>
        <translation>VM {name} gelöscht; ihre Datenträger bleiben erhalten.</translation>
    </message>
    <message>
        <source>Azure Marketplace</source>
        <translation>Azure Marketplace</translation>
    </message>
    <message>
        <source>Images published by Microsoft and partners: publisher → offer → SKU → version.</source>
        <translation>Von Microsoft und Partnern veröffentlichte Images: Herausgeber → Angebot → SKU → Version.</translation>
    </message>
    <message>
        <source>Community galleries</source>
        <translation>Community-Kataloge</translation>
    </message>
    <message>
        <source>Public galleries shared by their publishers with every Azure user (the successor of VM Depot). Not verified by Microsoft.</source>
        <translation>Öffentliche Kataloge, die ihre Herausgeber für alle Azure-Benutzer freigeben (der Nachfolger von VM Depot). Nicht von Microsoft überprüft.</translation>
    </message>
    <message>
        <source>Shared with me</source>
        <translation>Für mich freigegeben</translation>
    </message>
    <message>
        <source>Compute Galleries that other subscriptions or tenants shared with this subscription.</source>
        <translation>Azure Compute Galleries, die andere Abonnements oder Mandanten für dieses Abonnement freigegeben haben.</translation>
    </message>
    <message>
        <source>Managed images</source>
        <translation>Verwaltete Images</translation>
    </message>
    <message>
        <source>The subscription&apos;s own managed images, managed disks and snapshots, by resource group: also what the upload and capture wizards left behind (a kept upload disk, a capture&apos;s backup snapshots).</source>
        <translation>Die eigenen verwalteten Images, verwalteten Datenträger und Momentaufnahmen des Abonnements, nach Ressourcengruppe: auch was der Upload- und der Erfassungs-Assistent hinterlassen haben (ein behaltener Upload-Datenträger, die Sicherungs-Momentaufnahmen einer Erfassung).</translation>
    </message>
    <message>
        <source>My galleries</source>
        <translation>Meine Kataloge</translation>
    </message>
    <message>
        <source>The subscription&apos;s Azure Compute Galleries: gallery → image definition → version.</source>
        <translation>Die Azure Compute Galleries des Abonnements: Katalog → Imagedefinition → Version.</translation>
    </message>
    <message>
        <source>Virtual machines</source>
        <translation>Virtuelle Computer</translation>
    </message>
    <message>
        <source>The subscription&apos;s VMs, the other source of images: select one and choose Capture VM… to turn it into a managed image or a gallery image version.</source>
        <translation>Die VMs des Abonnements, die andere Quelle für Images: Wählen Sie eine aus und dann „VM erfassen…“, um daraus ein verwaltetes Image oder eine Imageversion im Katalog zu machen.</translation>
    </message>
    <message>
        <source>VHDs in storage accounts</source>
        <translation>VHDs in Speicherkonten</translation>
    </message>
    <message>
        <source>Page blobs in the subscription&apos;s storage accounts: storage account → container → VHD (an unmanaged VM&apos;s disk, an uploaded VHD), to download or copy.</source>
        <translation>Seitenblobs in den Speicherkonten des Abonnements: Speicherkonto → Container → VHD (der Datenträger eines nicht verwalteten virtuellen Computers, eine hochgeladene VHD), zum Herunterladen oder Kopieren.</translation>
    </message>
    <message>
        <source>Yes</source>
        <translation>Ja</translation>
    </message>
    <message>
        <source>No</source>
        <translation>Nein</translation>
    </message>
    <message>
        <source>No such community gallery</source>
        <translation>Community-Katalog nicht gefunden</translation>
    </message>
    <message>
        <source>Check the public name: in the Azure portal, open the gallery under Community galleries (or its Sharing page) and copy its public name, which looks like prefix-GUID (for example ContosoImages-1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d). A community gallery is shared to chosen regions only: pick one of them as the location.</source>
        <translation>Prüfen Sie den öffentlichen Namen: Öffnen Sie im Azure-Portal den Katalog unter „Community-Kataloge“ (oder seine Seite „Freigabe“) und kopieren Sie seinen öffentlichen Namen, der die Form Präfix-GUID hat (zum Beispiel ContosoImages-1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d). Ein Community-Katalog ist nur in ausgewählten Regionen freigegeben: Wählen Sie eine davon als Region.</translation>
    </message>
    <message>
        <source>No community gallery with the public name {name} exists in {location}.</source>
        <translation>In {location} gibt es keinen Community-Katalog mit dem öffentlichen Namen {name}.</translation>
    </message>
    <message>
        <source>Request id: {request_id}</source>
        <translation>Anforderungs-ID: {request_id}</translation>
    </message>
    <message>
        <source>Standard</source>
        <translation>Standard</translation>
    </message>
    <message>
        <source>Trusted launch</source>
        <translation>Vertrauenswürdiger Start</translation>
    </message>
    <message>
        <source>Standard or Trusted launch</source>
        <translation>Standard oder vertrauenswürdiger Start</translation>
    </message>
    <message>
        <source>Confidential VM</source>
        <translation>Vertrauliche VM</translation>
    </message>
    <message>
        <source>Standard or Confidential VM</source>
        <translation>Standard oder vertrauliche VM</translation>
    </message>
    <message>
        <source>Standard, Trusted launch or Confidential VM</source>
        <translation>Standard, vertrauenswürdiger Start oder vertrauliche VM</translation>
    </message>
    <message>
        <source>Publisher</source>
        <translation>Herausgeber</translation>
    </message>
    <message>
        <source>Offer</source>
        <translation>Angebot</translation>
    </message>
    <message>
        <source>SKU</source>
        <translation>SKU</translation>
    </message>
    <message>
        <source>Version</source>
        <translation>Version</translation>
    </message>
    <message>
        <source>Purchase plan</source>
        <translation>Kaufplan</translation>
    </message>
    <message>
        <source>Deprecation</source>
        <translation>Einstellung</translation>
    </message>
    <message>
        <source>{state}, scheduled for {when}</source>
        <translation>{state}, geplant für {when}</translation>
    </message>
    <message>
        <source>Published by {publisher}</source>
        <translation>Veröffentlicht von {publisher}</translation>
    </message>
    <message>
        <source>shared with this subscription and its tenant</source>
        <translation>für dieses Abonnement und seinen Mandanten freigegeben</translation>
    </message>
    <message>
        <source>shared with this subscription&apos;s tenant</source>
        <translation>für den Mandanten dieses Abonnements freigegeben</translation>
    </message>
    <message>
        <source>shared with this subscription</source>
        <translation>für dieses Abonnement freigegeben</translation>
    </message>
    <message>
        <source>{publisher} · {shared_with}</source>
        <translation>{publisher} · {shared_with}</translation>
    </message>
    <message>
        <source>Images: {images} · disks: {disks} · snapshots: {snapshots}</source>
        <translation>Images: {images} · Datenträger: {disks} · Momentaufnahmen: {snapshots}</translation>
    </message>
    <message>
        <source>Marketplace image {urn}</source>
        <translation>Marketplace-Image {urn}</translation>
    </message>
    <message>
        <source>Gallery image version {path}</source>
        <translation>Imageversion {path}</translation>
    </message>
    <message>
        <source>Managed image {name}</source>
        <translation>Verwaltetes Image {name}</translation>
    </message>
    <message>
        <source>Copy of snapshot {name}</source>
        <translation>Kopie der Momentaufnahme {name}</translation>
    </message>
    <message>
        <source>Copy of disk {name}</source>
        <translation>Kopie des Datenträgers {name}</translation>
    </message>
    <message>
        <source>Uploaded</source>
        <translation>Hochgeladen</translation>
    </message>
    <message>
        <source>Imported from blob {uri}</source>
        <translation>Aus dem Blob {uri} importiert</translation>
    </message>
    <message>
        <source>Empty snapshot</source>
        <translation>Leere Momentaufnahme</translation>
    </message>
    <message>
        <source>Empty disk</source>
        <translation>Leerer Datenträger</translation>
    </message>
    <message>
        <source>Restore point {name}</source>
        <translation>Wiederherstellungspunkt {name}</translation>
    </message>
    <message>
        <source>Backup of VM {vm}, taken before its capture</source>
        <translation>Sicherung des virtuellen Computers {vm}, vor seiner Erfassung erstellt</translation>
    </message>
    <message>
        <source>Kept from an upload with Azure Image Studio</source>
        <translation>Von einem Upload mit Azure Image Studio behalten</translation>
    </message>
    <message>
        <source>{size} GiB</source>
        <translation>{size} GiB</translation>
    </message>
    <message>
        <source>attached to VM {vm}</source>
        <translation>an den virtuellen Computer {vm} angefügt</translation>
    </message>
    <message>
        <source>VM {vm}</source>
        <translation>Virtueller Computer {vm}</translation>
    </message>
    <message>
        <source>No VM (not attached)</source>
        <translation>Kein virtueller Computer (nicht angefügt)</translation>
    </message>
    <message>
        <source>Made by</source>
        <translation>Erstellt durch</translation>
    </message>
    <message>
        <source>Disk state</source>
        <translation>Datenträgerstatus</translation>
    </message>
    <message>
        <source>Used by</source>
        <translation>Verwendet von</translation>
    </message>
    <message>
        <source>Created from</source>
        <translation>Erstellt aus</translation>
    </message>
    <message>
        <source>Created</source>
        <translation>Erstellt am</translation>
    </message>
    <message>
        <source>Incremental</source>
        <translation>Inkrementell</translation>
    </message>
    <message>
        <source>data disks: {count}</source>
        <translation>Datenträger für Daten: {count}</translation>
    </message>
    <message>
        <source>Snapshot {name} is no longer in resource group {group}.</source>
        <translation>Die Momentaufnahme {name} ist nicht mehr in der Ressourcengruppe {group}.</translation>
    </message>
    <message>
        <source>Resource group</source>
        <translation>Ressourcengruppe</translation>
    </message>
    <message>
        <source>Provisioning state</source>
        <translation>Bereitstellungsstatus</translation>
    </message>
    <message>
        <source>Captured from VM</source>
        <translation>Erfasst von VM</translation>
    </message>
    <message>
        <source>Zone resilient</source>
        <translation>Zonenredundant</translation>
    </message>
    <message>
        <source>Target regions</source>
        <translation>Zielregionen</translation>
    </message>
    <message>
        <source>Exclude from latest</source>
        <translation>Von „latest“ ausschließen</translation>
    </message>
    <message>
        <source>Replication</source>
        <translation>Replikation</translation>
    </message>
    <message>
        <source>Specialized (a running machine&apos;s identity)</source>
        <translation>Spezialisiert (die Identität eines laufenden Computers)</translation>
    </message>
    <message>
        <source>Power state</source>
        <translation>Betriebszustand</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>Größe</translation>
    </message>
    <message>
        <source>Operating system</source>
        <translation>Betriebssystem</translation>
    </message>
    <message>
        <source>Admin user</source>
        <translation>Administratorbenutzer</translation>
    </message>
    <message>
        <source>Features</source>
        <translation>Features</translation>
    </message>
    <message>
        <source>Identifier</source>
        <translation>Bezeichner</translation>
    </message>
    <message>
        <source>Published</source>
        <translation>Veröffentlicht</translation>
    </message>
    <message>
        <source>End of life</source>
        <translation>Ende der Lebensdauer</translation>
    </message>
    <message>
        <source>Azure request failed</source>
        <translation>Azure-Anforderung fehlgeschlagen</translation>
    </message>
    <message>
        <source>Try again; if it keeps failing, check the log (View → Log) for details.</source>
        <translation>Versuchen Sie es erneut; wenn es weiterhin fehlschlägt, finden Sie Einzelheiten im Protokoll (Ansicht → Protokoll).</translation>
    </message>
    <message>
        <source>Not signed in</source>
        <translation>Nicht angemeldet</translation>
    </message>
    <message>
        <source>Sign in (Account → Sign in to Azure…) or run `az login`, then refresh.</source>
        <translation>Melden Sie sich an (Konto → Bei Azure anmelden…) oder führen Sie `az login` aus, und aktualisieren Sie dann.</translation>
    </message>
    <message>
        <source>Permission denied</source>
        <translation>Zugriff verweigert</translation>
    </message>
    <message>
        <source>Your account lacks a role on this scope. Ask an owner of the subscription for the Reader role (browse) or Contributor (capture, upload), or pick another subscription.</source>
        <translation>Ihrem Konto fehlt eine Rolle für diesen Bereich. Bitten Sie einen Besitzer des Abonnements um die Rolle „Leser“ (Durchsuchen) oder „Mitwirkender“ (Erfassen, Hochladen), oder wählen Sie ein anderes Abonnement.</translation>
    </message>
    <message>
        <source>Not found</source>
        <translation>Nicht gefunden</translation>
    </message>
    <message>
        <source>It may have been deleted or renamed. Refresh the tree.</source>
        <translation>Möglicherweise wurde es gelöscht oder umbenannt. Aktualisieren Sie die Strukturansicht.</translation>
    </message>
    <message>
        <source>Azure is throttling requests</source>
        <translation>Azure drosselt die Anforderungen</translation>
    </message>
    <message>
        <source>Azure asked us to slow down and retries did not get through. Wait a minute, then refresh.</source>
        <translation>Azure hat uns gebeten, langsamer zu werden, und auch Wiederholungen kamen nicht durch. Warten Sie eine Minute, und aktualisieren Sie dann.</translation>
    </message>
    <message>
        <source>Azure service error</source>
        <translation>Azure-Dienstfehler</translation>
    </message>
    <message>
        <source>Azure answered with a server error. It is usually transient: wait a moment and refresh.</source>
        <translation>Azure hat mit einem Serverfehler geantwortet. Das ist meist vorübergehend: Warten Sie einen Moment, und aktualisieren Sie dann.</translation>
    </message>
    <message>
        <source>No connection</source>
        <translation>Keine Verbindung</translation>
    </message>
    <message>
        <source>Check the network connection (and proxy settings), then refresh.</source>
        <translation>Prüfen Sie die Netzwerkverbindung (und die Proxyeinstellungen), und aktualisieren Sie dann.</translation>
    </message>
    <message>
        <source>Azure refused the request</source>
        <translation>Azure hat die Anforderung abgelehnt</translation>
    </message>
    <message>
        <source>Correct what the message names and try again.</source>
        <translation>Korrigieren Sie, was die Meldung nennt, und versuchen Sie es erneut.</translation>
    </message>
    <message>
        <source>Refused: not a secure connection</source>
        <translation>Abgelehnt: keine sichere Verbindung</translation>
    </message>
    <message>
        <source>Tokens and keys travel only over https://. Check the cloud&apos;s endpoints (`az cloud show`) or the URL you entered; plain http:// is allowed only to this machine.</source>
        <translation>Token und Schlüssel werden nur über https:// übertragen. Prüfen Sie die Endpunkte der Cloud (`az cloud show`) oder die eingegebene URL; einfaches http:// ist nur zu diesem Computer erlaubt.</translation>
    </message>
    <message>
        <source>Conflict</source>
        <translation>Konflikt</translation>
    </message>
    <message>
        <source>Something with that name already exists or is busy. Pick another name or wait.</source>
        <translation>Etwas mit diesem Namen ist bereits vorhanden oder in Gebrauch. Wählen Sie einen anderen Namen oder warten Sie.</translation>
    </message>
    <message>
        <source>The request did not reach Azure: {reason}</source>
        <translation>Die Anforderung hat Azure nicht erreicht: {reason}</translation>
    </message>
    <message>
        <source>Azure needs the storage account of {uri} to make a gallery image version from it, and the upload did not name one.</source>
        <translation>Azure braucht das Speicherkonto von {uri}, um daraus eine Imageversion im Katalog zu erstellen, und der Upload hat keines angegeben.</translation>
    </message>
    <message>
        <source>Storage account of the VHD unknown</source>
        <translation>Speicherkonto der VHD unbekannt</translation>
    </message>
    <message>
        <source>Pick the storage account from the subscription on the upload&apos;s target page (instead of pasting a SAS URL), or make a managed image from the blob.</source>
        <translation>Wählen Sie das Speicherkonto auf der Zielseite des Uploads aus dem Abonnement (statt eine SAS-URL einzufügen), oder erstellen Sie aus dem Blob ein verwaltetes Image.</translation>
    </message>
    <message>
        <source>Version {version} of {definition} exists already. Pick a new number, e.g. {next}.</source>
        <translation>Version {version} von {definition} ist bereits vorhanden. Wählen Sie eine neue Nummer, z. B. {next}.</translation>
    </message>
    <message>
        <source>VM {vm} is already marked generalized in Azure, so it cannot be captured as specialized. Choose &apos;I generalized it myself&apos;.</source>
        <translation>Die VM {vm} ist in Azure bereits als verallgemeinert markiert und kann daher nicht als spezialisiert erfasst werden. Wählen Sie „Ich habe sie selbst verallgemeinert“.</translation>
    </message>
    <message>
        <source>Run Command needs a running VM, and {vm} is {state} (Azure: &apos;The operation requires the VM to be running (or set to run).&apos;). Start the VM, or generalize it yourself and choose &apos;I generalized it myself&apos;.</source>
        <translation>„Befehl ausführen“ benötigt eine laufende VM, und {vm} ist {state} (Azure: &apos;The operation requires the VM to be running (or set to run).&apos;). Starten Sie die VM, oder verallgemeinern Sie sie selbst und wählen Sie „Ich habe sie selbst verallgemeinert“.</translation>
    </message>
    <message>
        <source>VM {vm} is running. A generalized guest shuts itself down (sysprep /shutdown) or must be shut down after waagent; Azure refuses to mark a running VM generalized (&apos;Operation &apos;generalize&apos; is not allowed since the VM is running&apos;). Generalize and shut it down first, or let this wizard run the generalization through Run Command.</source>
        <translation>Die VM {vm} läuft. Ein verallgemeinerter Gast fährt sich selbst herunter (sysprep /shutdown) oder muss nach waagent heruntergefahren werden; Azure lehnt es ab, eine laufende VM als verallgemeinert zu markieren (&apos;Operation &apos;generalize&apos; is not allowed since the VM is running&apos;). Verallgemeinern Sie sie und fahren Sie sie zuerst herunter, oder lassen Sie diesen Assistenten die Verallgemeinerung über „Befehl ausführen“ durchführen.</translation>
    </message>
    <message>
        <source>Managed images do not support the security type {security_type} of {vm}; Azure refuses to capture it. Capture it into a gallery image version instead.</source>
        <translation>Verwaltete Images unterstützen den Sicherheitstyp {security_type} von {vm} nicht; Azure lehnt die Erfassung ab. Erfassen Sie sie stattdessen in eine Katalog-Imageversion.</translation>
    </message>
    <message>
        <source>A managed image can only be made from a generalized VM. Generalize the VM, or capture it as specialized into a gallery image version.</source>
        <translation>Ein verwaltetes Image kann nur aus einer verallgemeinerten VM erstellt werden. Verallgemeinern Sie die VM, oder erfassen Sie sie als spezialisiert in eine Katalog-Imageversion.</translation>
    </message>
    <message>
        <source>Managed images support x64 only, and {vm} is {architecture}. Capture it into a gallery image version (with an Arm64 definition) instead.</source>
        <translation>Verwaltete Images unterstützen nur x64, und {vm} ist {architecture}. Erfassen Sie sie stattdessen in eine Katalog-Imageversion (mit einer Arm64-Imagedefinition).</translation>
    </message>
    <message>
        <source>An image named {name} already exists in resource group {resource_group}. Choose another name.</source>
        <translation>Ein Image namens {name} existiert bereits in der Ressourcengruppe {resource_group}. Wählen Sie einen anderen Namen.</translation>
    </message>
    <message>
        <source>OS type</source>
        <translation>Betriebssystemtyp</translation>
    </message>
    <message>
        <source>OS state</source>
        <translation>Betriebssystemstatus</translation>
    </message>
    <message>
        <source>Hyper-V generation</source>
        <translation>Hyper-V-Generation</translation>
    </message>
    <message>
        <source>architecture</source>
        <translation>Architektur</translation>
    </message>
    <message>
        <source>The definition {definition} has {what} &apos;{wanted}&apos; but the capture is &apos;{source}&apos; (Azure: &apos;different {azure_what} than the parent gallery image&apos;).</source>
        <translation>Die Imagedefinition {definition} hat {what} &apos;{wanted}&apos;, die Erfassung aber &apos;{source}&apos; (Azure: &apos;different {azure_what} than the parent gallery image&apos;).</translation>
    </message>
    <message>
        <source>The VM was made from the Marketplace plan {plan}, which the definition {definition} does not carry: Azure would refuse every VM made from the new version. Create a new definition (it carries the plan) or choose one made from this plan.</source>
        <translation>Die VM wurde aus dem Marketplace-Plan {plan} erstellt, den die Definition {definition} nicht trägt: Azure würde jede VM aus der neuen Version ablehnen. Erstellen Sie eine neue Definition (sie trägt den Plan) oder wählen Sie eine, die aus diesem Plan erstellt wurde.</translation>
    </message>
    <message>
        <source>The definition {definition} has security type &apos;{security_type}&apos;, which does not accept a VM of security type &apos;{vm_security_type}&apos;.</source>
        <translation>Die Imagedefinition {definition} hat den Sicherheitstyp &apos;{security_type}&apos;, der keine VM mit dem Sicherheitstyp &apos;{vm_security_type}&apos; akzeptiert.</translation>
    </message>
    <message>
        <source>A gallery named {gallery} already exists in this subscription. Pick it, or choose another name.</source>
        <translation>Ein Katalog namens {gallery} existiert bereits in diesem Abonnement. Wählen Sie ihn aus, oder wählen Sie einen anderen Namen.</translation>
    </message>
    <message>
        <source>There is no gallery {gallery} in resource group {resource_group}. Pick an existing gallery or create a new one.</source>
        <translation>In der Ressourcengruppe {resource_group} gibt es keinen Katalog {gallery}. Wählen Sie einen vorhandenen Katalog aus, oder erstellen Sie einen neuen.</translation>
    </message>
    <message>
        <source>Gallery {gallery} is in {gallery_location}, the VM in {vm_location}. Azure creates an image version from a VM only in the VM&apos;s region; pick or create a gallery there (replicate to other regions below).</source>
        <translation>Der Katalog {gallery} ist in {gallery_location}, die VM in {vm_location}. Azure erstellt eine Imageversion aus einer VM nur in der Region der VM; wählen oder erstellen Sie dort einen Katalog (die Replikation in andere Regionen legen Sie unten fest).</translation>
    </message>
    <message>
        <source>The gallery already has a definition named {definition}. Pick it, or choose another name.</source>
        <translation>Der Katalog hat bereits eine Imagedefinition namens {definition}. Wählen Sie sie aus, oder wählen Sie einen anderen Namen.</translation>
    </message>
    <message>
        <source>Enter the definition&apos;s publisher.</source>
        <translation>Geben Sie den Herausgeber der Imagedefinition ein.</translation>
    </message>
    <message>
        <source>Enter the definition&apos;s offer.</source>
        <translation>Geben Sie das Angebot der Imagedefinition ein.</translation>
    </message>
    <message>
        <source>Enter the definition&apos;s SKU.</source>
        <translation>Geben Sie die SKU der Imagedefinition ein.</translation>
    </message>
    <message>
        <source>Definition {definition} already uses publisher/offer/SKU {publisher}/{offer}/{sku}; each definition of a gallery needs its own.</source>
        <translation>Die Imagedefinition {definition} verwendet bereits Herausgeber/Angebot/SKU {publisher}/{offer}/{sku}; jede Imagedefinition eines Katalogs benötigt eigene.</translation>
    </message>
    <message>
        <source>Gallery {gallery} has no definition {definition}. Pick an existing definition or create a new one.</source>
        <translation>Der Katalog {gallery} hat keine Imagedefinition {definition}. Wählen Sie eine vorhandene Imagedefinition aus, oder erstellen Sie eine neue.</translation>
    </message>
    <message>
        <source>Version {version} already exists in {definition}. Versions cannot be overwritten; use a higher one, e.g. {higher}.</source>
        <translation>Die Version {version} existiert bereits in {definition}. Versionen können nicht überschrieben werden; verwenden Sie eine höhere, z. B. {higher}.</translation>
    </message>
    <message>
        <source>A target region has no name.</source>
        <translation>Eine Zielregion hat keinen Namen.</translation>
    </message>
    <message>
        <source>Region {region} is listed twice.</source>
        <translation>Die Region {region} ist zweimal aufgeführt.</translation>
    </message>
    <message>
        <source>The replica count of {region} must be between 1 and {most}.</source>
        <translation>Die Anzahl der Replikate für {region} muss zwischen 1 und {most} liegen.</translation>
    </message>
    <message>
        <source>The end-of-life date must be in the future (or leave it empty).</source>
        <translation>Das Ende der Lebensdauer muss in der Zukunft liegen (oder lassen Sie es leer).</translation>
    </message>
    <message>
        <source>Resource group {resource_group} does not exist in this subscription.</source>
        <translation>Die Ressourcengruppe {resource_group} existiert in diesem Abonnement nicht.</translation>
    </message>
    <message>
        <source>A snapshot named {name} already exists in {resource_group}.</source>
        <translation>Eine Momentaufnahme namens {name} existiert bereits in {resource_group}.</translation>
    </message>
    <message>
        <source>The definition {definition} is for {label} {wanted}, but the disk is {actual}. Pick or create a definition that matches the disk.</source>
        <translation>Die Definition {definition} ist für {label} {wanted}, der Datenträger hat aber {actual}. Wählen oder erstellen Sie eine Definition, die zum Datenträger passt.</translation>
    </message>
    <message>
        <source>Trusted launch needs a Gen2 (V2) definition.</source>
        <translation>Vertrauenswürdiger Start braucht eine Definition der Generation 2 (V2).</translation>
    </message>
    <message>
        <source>Replica count for {region} must be 1–100, not {replicas}.</source>
        <translation>Die Anzahl der Replikate für {region} muss 1–100 sein, nicht {replicas}.</translation>
    </message>
    <message>
        <source>The end-of-life date must lie in the future.</source>
        <translation>Das Datum für das Ende der Lebensdauer muss in der Zukunft liegen.</translation>
    </message>
    <message>
        <source>Create version {version} of {definition}</source>
        <translation>Version {version} von {definition} erstellen</translation>
    </message>
    <message>
        <source>Replication failed.</source>
        <translation>Replikation fehlgeschlagen.</translation>
    </message>
    <message>
        <source>{step} failed: {reason}</source>
        <translation>{step} fehlgeschlagen: {reason}</translation>
    </message>
    <message>
        <source>Image definition {definition} was not found in {gallery}.</source>
        <translation>Imagedefinition {definition} wurde in {gallery} nicht gefunden.</translation>
    </message>
    <message>
        <source>{code}: {message}</source>
        <translation>{code}: {message}</translation>
    </message>
    <message>
        <source>Managed disk {name} ({resource_group}, {location})</source>
        <translation>Verwalteter Datenträger {name} ({resource_group}, {location})</translation>
    </message>
    <message>
        <source>The download was stopped.</source>
        <translation>Der Download wurde angehalten.</translation>
    </message>
    <message>
        <source>Stopped when the app closed; it resumes where it stopped.</source>
        <translation>Beim Schließen der App beendet; der Download wird dort fortgesetzt, wo er stehen geblieben ist.</translation>
    </message>
    <message>
        <source>The app closed before the download finished.</source>
        <translation>Die App wurde geschlossen, bevor der Download abgeschlossen war.</translation>
    </message>
    <message>
        <source>Page blob {url}</source>
        <translation>Seitenblob {url}</translation>
    </message>
    <message>
        <source>Snapshot {name} ({resource_group})</source>
        <translation>Momentaufnahme {name} ({resource_group})</translation>
    </message>
    <message>
        <source>Image version {version} of {definition} ({gallery}), OS disk</source>
        <translation>Imageversion {version} von {definition} ({gallery}), Betriebssystemdatenträger</translation>
    </message>
    <message>
        <source>Image version {version} of {definition} ({gallery}), data disk LUN {lun}</source>
        <translation>Imageversion {version} von {definition} ({gallery}), Datenträger für Daten LUN {lun}</translation>
    </message>
    <message>
        <source>Managed disk {name} ({resource_group})</source>
        <translation>Verwalteter Datenträger {name} ({resource_group})</translation>
    </message>
    <message>
        <source>the OS disk</source>
        <translation>der Betriebssystemdatenträger</translation>
    </message>
    <message>
        <source>the data disk at LUN {lun}</source>
        <translation>der Datenträger für Daten an LUN {lun}</translation>
    </message>
    <message>
        <source>Image version exists</source>
        <translation>Imageversion vorhanden</translation>
    </message>
    <message>
        <source>The uploaded disks are kept: retry with another version number (Retry with another name…); nothing is uploaded again.</source>
        <translation>Die hochgeladenen Datenträger bleiben erhalten: Wiederholen Sie den Vorgang mit einer anderen Versionsnummer („Mit anderem Namen wiederholen…“); es wird nichts erneut hochgeladen.</translation>
    </message>
    <message>
        <source>The upload of {disk} ({name}, from {file}) failed, so the other disks were stopped too: {reason}</source>
        <translation>Der Upload von {disk} ({name}, aus {file}) ist fehlgeschlagen, daher wurden auch die anderen Datenträger angehalten: {reason}</translation>
    </message>
    <message>
        <source>Create the managed disk for upload</source>
        <translation>Verwalteten Datenträger für den Upload erstellen</translation>
    </message>
    <message>
        <source>Grant write access (SAS)</source>
        <translation>Schreibzugriff erteilen (SAS)</translation>
    </message>
    <message>
        <source>Upload the data</source>
        <translation>Daten hochladen</translation>
    </message>
    <message>
        <source>Revoke access</source>
        <translation>Zugriff widerrufen</translation>
    </message>
    <message>
        <source>Create the managed disk {name} for upload</source>
        <translation>Verwalteten Datenträger {name} für den Upload erstellen</translation>
    </message>
    <message>
        <source>Grant write access to {name} (SAS)</source>
        <translation>Schreibzugriff auf {name} erteilen (SAS)</translation>
    </message>
    <message>
        <source>Revoke access to {name}</source>
        <translation>Zugriff auf {name} widerrufen</translation>
    </message>
    <message numerus="yes">
        <source>Upload the data of %n disks at the same time</source>
        <translation>
            <numerusform>Daten von %n Datenträger hochladen</numerusform>
            <numerusform>Daten von %n Datenträgern gleichzeitig hochladen</numerusform>
        </translation>
    </message>
    <message>
        <source>sealed when the upload stopped</source>
        <translation>beim Anhalten des Uploads versiegelt</translation>
    </message>
    <message>
        <source>the upload starts over</source>
        <translation>der Upload beginnt von vorn</translation>
    </message>
    <message>
        <source>Delete the partial disk {name} ({why})</source>
        <translation>Unvollständigen Datenträger {name} löschen ({why})</translation>
    </message>
    <message>
        <source>The upload has {disks} disks but {opened} were opened. Plan the upload again.</source>
        <translation>Der Upload umfasst {disks} Datenträger, geöffnet wurden aber {opened}. Planen Sie den Upload erneut.</translation>
    </message>
    <message>
        <source>Each data disk needs its own LUN from 0 to {max_lun}, and LUN {lun} is not usable here. Plan the upload again.</source>
        <translation>Jeder Datenträger für Daten braucht eine eigene LUN von 0 bis {max_lun}, und LUN {lun} ist hier nicht verwendbar. Planen Sie den Upload erneut.</translation>
    </message>
    <message>
        <source>An image from a page blob is made in a subscription, and the upload names none. Plan the upload again from a signed-in window.</source>
        <translation>Ein Image aus einem Seitenblob wird in einem Abonnement erstellt, und der Upload nennt keines. Planen Sie den Upload erneut in einem angemeldeten Fenster.</translation>
    </message>
    <message>
        <source>A gallery image version from the blob {blob_url} needs its storage account, and no storage account of subscription {subscription} has that blob endpoint. Nothing was uploaded.</source>
        <translation>Eine Katalog-Imageversion aus dem Blob {blob_url} benötigt dessen Speicherkonto, und kein Speicherkonto des Abonnements {subscription} hat diesen Blob-Endpunkt. Es wurde nichts hochgeladen.</translation>
    </message>
    <message>
        <source>The data of {name} is in Azure from an earlier run; nothing is sent again.</source>
        <translation>Die Daten von {name} sind aus einem früheren Durchlauf bereits in Azure; es wird nichts erneut gesendet.</translation>
    </message>
    <message>
        <source>The data is in Azure from an earlier run; nothing is sent again.</source>
        <translation>Die Daten sind aus einem früheren Durchlauf in Azure; es wird nichts erneut gesendet.</translation>
    </message>
    <message>
        <source>Version {version} of {definition} exists already in the gallery {gallery}.</source>
        <translation>Die Version {version} von {definition} ist im Katalog {gallery} bereits vorhanden.</translation>
    </message>
    <message>
        <source>the upload was cancelled</source>
        <translation>der Upload wurde abgebrochen</translation>
    </message>
    <message>
        <source>Paused when the app closed; it resumes where it stopped.</source>
        <translation>Beim Schließen der App angehalten; der Upload wird dort fortgesetzt, wo er stehen geblieben ist.</translation>
    </message>
    <message>
        <source>Stopped when the window closed. Resume it any time.</source>
        <translation>Beim Schließen des Fensters beendet. Sie können ihn jederzeit fortsetzen.</translation>
    </message>
    <message>
        <source>The app closed before the upload finished.</source>
        <translation>Die App wurde geschlossen, bevor der Upload abgeschlossen war.</translation>
    </message>
    <message>
        <source>Unexpected error: {reason}</source>
        <translation>Unerwarteter Fehler: {reason}</translation>
    </message>
    <message>
        <source>Only an upload whose data is in Azure and whose image step failed can retry that step alone.</source>
        <translation>Nur ein Upload, dessen Daten in Azure sind und dessen Imageschritt fehlgeschlagen ist, kann diesen Schritt allein wiederholen.</translation>
    </message>
    <message>
        <source>Could not get a new SAS from the storage account: {reason}</source>
        <translation>Vom Speicherkonto konnte keine neue SAS abgerufen werden: {reason}</translation>
    </message>
    <message>
        <source>dynamic disk header</source>
        <translation>Header des dynamischen Datenträgers</translation>
    </message>
    <message>
        <source>the dynamic disk header at byte {offset:,} does not start with &apos;cxsparse&apos;</source>
        <translation>der Header des dynamischen Datenträgers bei Byte {offset:,} beginnt nicht mit &apos;cxsparse&apos;</translation>
    </message>
    <message>
        <source>The dynamic disk header&apos;s checksum is wrong (stored {checksum:#010x}, computed {computed_checksum:#010x}): the file is damaged. Check it with &apos;qemu-img check&apos; or export the disk again.</source>
        <translation>Die Prüfsumme des Headers des dynamischen Datenträgers ist falsch (gespeichert {checksum:#010x}, berechnet {computed_checksum:#010x}): Die Datei ist beschädigt. Prüfen Sie sie mit &apos;qemu-img check&apos; oder exportieren Sie den Datenträger erneut.</translation>
    </message>
    <message>
        <source>The dynamic disk header has version {version:#010x}, not 1.0; it was read as 1.0.</source>
        <translation>Der Header des dynamischen Datenträgers hat die Version {version:#010x}, nicht 1.0; er wurde als 1.0 gelesen.</translation>
    </message>
    <message>
        <source>block allocation table</source>
        <translation>Blockzuordnungstabelle</translation>
    </message>
    <message>
        <source>it would reach byte {end:,} of a file whose data ends at byte {data_limit:,}</source>
        <translation>er würde bis Byte {end:,} einer Datei reichen, deren Daten bei Byte {data_limit:,} enden</translation>
    </message>
    <message>
        <source>it would overlap the footer copy at the start of the file</source>
        <translation>er würde die Kopie der Fußzeile am Anfang der Datei überlappen</translation>
    </message>
    <message>
        <source>it would overlap the dynamic disk header</source>
        <translation>er würde den Header des dynamischen Datenträgers überlappen</translation>
    </message>
    <message>
        <source>it would overlap the block table</source>
        <translation>er würde die Blocktabelle überlappen</translation>
    </message>
    <message>
        <source>block {block} is recorded at byte {at:,}, but {problem}</source>
        <translation>Block {block} ist bei Byte {at:,} eingetragen, aber {problem}</translation>
    </message>
    <message numerus="yes">
        <source>%n block table entry points outside the file&apos;s data (first: block {first}): the file is truncated or damaged, and those blocks cannot be read. Copy the file again or run &apos;qemu-img check&apos;.</source>
        <translation>
            <numerusform>%n Eintrag der Blocktabelle zeigt außerhalb der Daten der Datei (erster: Block {first}): Die Datei ist abgeschnitten oder beschädigt, und diese Blöcke können nicht gelesen werden. Kopieren Sie die Datei erneut oder führen Sie &apos;qemu-img check&apos; aus.</numerusform>
            <numerusform>%n Einträge der Blocktabelle zeigen außerhalb der Daten der Datei (erster: Block {first}): Die Datei ist abgeschnitten oder beschädigt, und diese Blöcke können nicht gelesen werden. Kopieren Sie die Datei erneut oder führen Sie &apos;qemu-img check&apos; aus.</numerusform>
        </translation>
    </message>
    <message>
        <source>The block table has {entries:,} entries but the disk needs {needed:,}; the end of the disk has no place to be stored. The file is damaged.</source>
        <translation>Die Blocktabelle hat {entries:,} Einträge, der Datenträger braucht aber {needed:,}; für das Ende des Datenträgers gibt es keinen Speicherplatz. Die Datei ist beschädigt.</translation>
    </message>
    <message>
        <source>Cannot read {path}: {reason}. Check that the path is right and that you may read it.</source>
        <translation>{path} kann nicht gelesen werden: {reason}. Prüfen Sie, ob der Pfad stimmt und ob Sie die Datei lesen dürfen.</translation>
    </message>
    <message>
        <source>{path} is empty, so it holds no disk. Choose the disk image file itself.</source>
        <translation>{path} ist leer und enthält daher keinen Datenträger. Wählen Sie die Imagedatei selbst aus.</translation>
    </message>
    <message>
        <source>The file is cut short: its {what} would end at byte {needed_end:,}, but the file has only {file_size:,} bytes. The copy or download is probably incomplete; copy the image again from its source.</source>
        <translation>Die Datei ist abgeschnitten: Ihr Bereich „{what}“ würde bei Byte {needed_end:,} enden, die Datei hat aber nur {file_size:,} Bytes. Die Kopie oder der Download ist wahrscheinlich unvollständig; kopieren Sie das Image erneut von seiner Quelle.</translation>
    </message>
    <message>
        <source>The VHD footer is damaged: {detail}. Repair the image with the tool that made it (Hyper-V &apos;Inspect Disk&apos;, &apos;qemu-img check&apos;) or export it again.</source>
        <translation>Die VHD-Fußzeile ist beschädigt: {detail}. Reparieren Sie das Image mit dem Werkzeug, das es erstellt hat (Hyper-V &apos;Inspect Disk&apos;, &apos;qemu-img check&apos;), oder exportieren Sie es erneut.</translation>
    </message>
    <message>
        <source>The image header is damaged: {detail}. The file cannot be read safely; repair it (Hyper-V &apos;Inspect Disk&apos;, &apos;qemu-img check -r all&apos;) or export the disk again.</source>
        <translation>Der Header des Images ist beschädigt: {detail}. Die Datei kann nicht sicher gelesen werden; reparieren Sie sie (Hyper-V &apos;Inspect Disk&apos;, &apos;qemu-img check -r all&apos;) oder exportieren Sie den Datenträger erneut.</translation>
    </message>
    <message>
        <source>The VHDX region table is damaged: {detail}. Repair the image in Hyper-V (&apos;Inspect Disk&apos;) or convert it again with &apos;qemu-img convert -O vhdx&apos;.</source>
        <translation>Die Regionstabelle der VHDX ist beschädigt: {detail}. Reparieren Sie das Image in Hyper-V (&apos;Inspect Disk&apos;) oder konvertieren Sie es erneut mit &apos;qemu-img convert -O vhdx&apos;.</translation>
    </message>
    <message>
        <source>The VHDX metadata is damaged: {detail}. Repair the image in Hyper-V (&apos;Inspect Disk&apos;) or convert it again with &apos;qemu-img convert -O vhdx&apos;.</source>
        <translation>Die Metadaten der VHDX sind beschädigt: {detail}. Reparieren Sie das Image in Hyper-V (&apos;Inspect Disk&apos;) oder konvertieren Sie es erneut mit &apos;qemu-img convert -O vhdx&apos;.</translation>
    </message>
    <message>
        <source>The image&apos;s block table is damaged: {detail}. The data of that block cannot be found; run &apos;qemu-img check&apos; on the image or export the disk again.</source>
        <translation>Die Blocktabelle des Images ist beschädigt: {detail}. Die Daten dieses Blocks sind nicht auffindbar; führen Sie &apos;qemu-img check&apos; für das Image aus oder exportieren Sie den Datenträger erneut.</translation>
    </message>
    <message>
        <source>The image declares a block size of {block_size:,} bytes, which is not a power of two of a sensible size, so its blocks cannot be located. The file is damaged or not a real disk image; export the disk again.</source>
        <translation>Das Image gibt eine Blockgröße von {block_size:,} Bytes an, die keine Zweierpotenz sinnvoller Größe ist, daher lassen sich seine Blöcke nicht finden. Die Datei ist beschädigt oder kein echtes Datenträgerimage; exportieren Sie den Datenträger erneut.</translation>
    </message>
    <message>
        <source>This image cannot be uploaded as it is: {detail}. Convert it to a plain disk first, for example with &apos;qemu-img convert -O vpc -o subformat=fixed,force_size=on&apos;.</source>
        <translation>Dieses Image kann so nicht hochgeladen werden: {detail}. Konvertieren Sie es zuerst in einen einfachen Datenträger, zum Beispiel mit &apos;qemu-img convert -O vpc -o subformat=fixed,force_size=on&apos;.</translation>
    </message>
    <message>
        <source>The VHDX has unfinished writes in its log (it was not closed cleanly, for example the VM or host crashed). Reading it now could give stale data. Attach it once in Hyper-V (Mount-VHD, then Dismount-VHD) or run &apos;qemu-img check -r all&apos; on it, then try again.</source>
        <translation>Das Protokoll der VHDX enthält nicht abgeschlossene Schreibvorgänge (sie wurde nicht sauber geschlossen, zum Beispiel weil die VM oder der Host abgestürzt ist). Wird sie jetzt gelesen, können veraltete Daten entstehen. Binden Sie sie einmal in Hyper-V ein (Mount-VHD, dann Dismount-VHD) oder führen Sie &apos;qemu-img check -r all&apos; für sie aus, und versuchen Sie es dann erneut.</translation>
    </message>
    <message>
        <source>nowhere (the child names no parent path)</source>
        <translation>nirgends (der untergeordnete Datenträger nennt keinen Pfad zum übergeordneten)</translation>
    </message>
    <message>
        <source>{child} is a differencing disk whose parent &apos;{parent}&apos; was not found (looked at: {places}). Put the parent file next to it, or merge the chain into one disk first (Hyper-V &apos;Edit Disk &gt; Merge&apos;, or &apos;qemu-img convert&apos;).</source>
        <translation>{child} ist ein differenzierender Datenträger, dessen übergeordneter Datenträger &apos;{parent}&apos; nicht gefunden wurde (gesucht in: {places}). Legen Sie die übergeordnete Datei daneben, oder führen Sie die Kette zuerst zu einem Datenträger zusammen (Hyper-V &apos;Edit Disk &gt; Merge&apos; oder &apos;qemu-img convert&apos;).</translation>
    </message>
    <message>
        <source>{parent} is not the parent of {child}: {detail}. The parent was replaced or modified after the differencing disk was made, so the chain would give wrong data. Find the original parent or merge the chain where it was made.</source>
        <translation>{parent} ist nicht der übergeordnete Datenträger von {child}: {detail}. Der übergeordnete Datenträger wurde ersetzt oder geändert, nachdem der differenzierende Datenträger erstellt wurde, daher würde die Kette falsche Daten liefern. Suchen Sie den ursprünglichen übergeordneten Datenträger, oder führen Sie die Kette dort zusammen, wo sie erstellt wurde.</translation>
    </message>
    <message>
        <source>The chain of differencing disks cannot be followed: {detail}. Merge the chain into one disk first (Hyper-V &apos;Edit Disk &gt; Merge&apos;, or &apos;qemu-img convert&apos;).</source>
        <translation>Die Kette differenzierender Datenträger kann nicht verfolgt werden: {detail}. Führen Sie die Kette zuerst zu einem Datenträger zusammen (Hyper-V &apos;Edit Disk &gt; Merge&apos; oder &apos;qemu-img convert&apos;).</translation>
    </message>
    <message>
        <source>{path} changed while it was being read (it became shorter). Make sure no VM or program is using the disk, then start again.</source>
        <translation>{path} hat sich beim Lesen geändert (die Datei wurde kürzer). Stellen Sie sicher, dass keine VM und kein Programm den Datenträger verwendet, und beginnen Sie dann erneut.</translation>
    </message>
    <message>
        <source>{path} was already closed; open it again to read it.</source>
        <translation>{path} wurde bereits geschlossen; öffnen Sie die Datei erneut, um sie zu lesen.</translation>
    </message>
    <message>
        <source>The image declares a disk of {declared:,} bytes, far beyond any real disk, so its size field is damaged. Repair the image or export the disk again.</source>
        <translation>Das Image gibt einen Datenträger von {declared:,} Bytes an, weit über jedem echten Datenträger; sein Größenfeld ist also beschädigt. Reparieren Sie das Image oder exportieren Sie den Datenträger erneut.</translation>
    </message>
    <message>
        <source>Information</source>
        <translation>Information</translation>
    </message>
    <message>
        <source>Warning</source>
        <translation>Warnung</translation>
    </message>
    <message>
        <source>Error</source>
        <translation>Fehler</translation>
    </message>
    <message>
        <source>VHD (fixed)</source>
        <translation>VHD (feste Größe)</translation>
    </message>
    <message>
        <source>VHD (dynamic)</source>
        <translation>VHD (dynamisch erweiterbar)</translation>
    </message>
    <message>
        <source>VHD (differencing)</source>
        <translation>VHD (differenzierend)</translation>
    </message>
    <message>
        <source>VHDX (fixed)</source>
        <translation>VHDX (feste Größe)</translation>
    </message>
    <message>
        <source>VHDX (dynamic)</source>
        <translation>VHDX (dynamisch erweiterbar)</translation>
    </message>
    <message>
        <source>raw disk image</source>
        <translation>Raw-Datenträgerimage</translation>
    </message>
    <message>
        <source>VMDK (monolithic sparse)</source>
        <translation>VMDK (monolithisch, sparse)</translation>
    </message>
    <message>
        <source>VMDK (stream-optimized)</source>
        <translation>VMDK (streamoptimiert)</translation>
    </message>
    <message>
        <source>VMDK (sparse, split in 2 GB extents)</source>
        <translation>VMDK (sparse, in Extents zu 2 GB aufgeteilt)</translation>
    </message>
    <message>
        <source>VMDK (flat)</source>
        <translation>VMDK (flach)</translation>
    </message>
    <message>
        <source>VMDK (flat, split in 2 GB extents)</source>
        <translation>VMDK (flach, in Extents zu 2 GB aufgeteilt)</translation>
    </message>
    <message>
        <source>VDI (fixed)</source>
        <translation>VDI (feste Größe)</translation>
    </message>
    <message>
        <source>VDI (dynamic)</source>
        <translation>VDI (dynamisch)</translation>
    </message>
    <message>
        <source>OVA appliance</source>
        <translation>OVA-Appliance</translation>
    </message>
    <message>
        <source>{name} is not a readable OVA: {detail}. The file is damaged or incomplete; download or export the appliance again.</source>
        <translation>{name} ist keine lesbare OVA: {detail}. Die Datei ist beschädigt oder unvollständig; laden Sie die Appliance erneut herunter oder exportieren Sie sie erneut.</translation>
    </message>
    <message>
        <source>The OVF descriptor in {name} cannot be used: {detail}. Export the appliance again from its hypervisor, or extract its disks (&apos;tar -xf {name}&apos;) and upload them one by one.</source>
        <translation>Der OVF-Deskriptor in {name} ist nicht verwendbar: {detail}. Exportieren Sie die Appliance erneut aus ihrem Hypervisor, oder entpacken Sie ihre Datenträger (&apos;tar -xf {name}&apos;) und laden Sie sie einzeln hoch.</translation>
    </message>
    <message>
        <source>{name} names the disk file &apos;{href}&apos; (disk {disk_id}), but the archive holds no file of that name (it holds: {listed}). The appliance is incomplete; export it again with all of its disks.</source>
        <translation>{name} nennt die Datenträgerdatei &apos;{href}&apos; (Datenträger {disk_id}), das Archiv enthält aber keine Datei dieses Namens (es enthält: {listed}). Die Appliance ist unvollständig; exportieren Sie sie erneut mit allen Datenträgern.</translation>
    </message>
    <message>
        <source>nothing</source>
        <translation>nichts</translation>
    </message>
    <message>
        <source>the tar header at byte {pos:,} is damaged (its checksum does not match)</source>
        <translation>der tar-Header bei Byte {pos:,} ist beschädigt (seine Prüfsumme stimmt nicht)</translation>
    </message>
    <message>
        <source>the tar header at byte {pos:,} has an invalid size field</source>
        <translation>der tar-Header bei Byte {pos:,} hat ein ungültiges Größenfeld</translation>
    </message>
    <message>
        <source>an extended tar header at byte {at:,} claims {size:,} bytes</source>
        <translation>ein erweiterter tar-Header bei Byte {at:,} gibt {size:,} Bytes an</translation>
    </message>
    <message>
        <source>tar extended header</source>
        <translation>erweiterter tar-Header</translation>
    </message>
    <message>
        <source>the pax size of &apos;{name}&apos; is invalid</source>
        <translation>die pax-Größe von &apos;{name}&apos; ist ungültig</translation>
    </message>
    <message>
        <source>OVA member &apos;{name}&apos;</source>
        <translation>OVA-Element &apos;{name}&apos;</translation>
    </message>
    <message>
        <source>it holds more than {limit:,} files</source>
        <translation>sie enthält mehr als {limit:,} Dateien</translation>
    </message>
    <message>
        <source>its text encoding &apos;{codec}&apos; is not supported</source>
        <translation>seine Textcodierung &apos;{codec}&apos; wird nicht unterstützt</translation>
    </message>
    <message>
        <source>it is not valid {codec} text</source>
        <translation>er ist kein gültiger {codec}-Text</translation>
    </message>
    <message>
        <source>it declares a document type or entities, which an OVF never needs and which could make a parser expand or fetch content; it was not parsed</source>
        <translation>er deklariert einen Dokumenttyp oder Entitäten, die eine OVF nie braucht und mit denen ein Parser Inhalte erweitern oder abrufen könnte; er wurde nicht verarbeitet</translation>
    </message>
    <message>
        <source>it is not well-formed XML ({exc})</source>
        <translation>er ist kein wohlgeformtes XML ({exc})</translation>
    </message>
    <message>
        <source>its root element is &apos;{root}&apos;, not the OVF &apos;Envelope&apos;</source>
        <translation>sein Wurzelelement ist &apos;{root}&apos;, nicht das OVF-Element &apos;Envelope&apos;</translation>
    </message>
    <message>
        <source>data disk at LUN {lun}</source>
        <translation>Datenträger für Daten an LUN {lun}</translation>
    </message>
    <message>
        <source>The appliance has no manifest (.mf), so its files cannot be checked against the digests its maker recorded.</source>
        <translation>Die Appliance hat kein Manifest (.mf), daher können ihre Dateien nicht mit den Prüfsummen verglichen werden, die ihr Ersteller festgehalten hat.</translation>
    </message>
    <message>
        <source>The {algorithm} digest of &apos;{name}&apos; does not match the appliance&apos;s manifest (expected {expected}, computed {actual}): the file was changed or damaged after the appliance was exported. Download or export it again.</source>
        <translation>Die {algorithm}-Prüfsumme von &apos;{name}&apos; stimmt nicht mit dem Manifest der Appliance überein (erwartet {expected}, berechnet {actual}): Die Datei wurde nach dem Export der Appliance geändert oder beschädigt. Laden Sie sie erneut herunter oder exportieren Sie sie erneut.</translation>
    </message>
    <message>
        <source>All {count} digests in the manifest match the appliance&apos;s files.</source>
        <translation>Alle {count} Prüfsummen im Manifest stimmen mit den Dateien der Appliance überein.</translation>
    </message>
    <message>
        <source>the archive holds no .ovf file, so it is a tar but not an OVA appliance</source>
        <translation>das Archiv enthält keine .ovf-Datei; es ist also ein tar-Archiv, aber keine OVA-Appliance</translation>
    </message>
    <message>
        <source>The OVF descriptor &apos;{name}&apos; is not the archive&apos;s first file, as the OVF standard asks; it was found anyway.</source>
        <translation>Der OVF-Deskriptor &apos;{name}&apos; ist nicht die erste Datei des Archivs, wie es der OVF-Standard verlangt; er wurde trotzdem gefunden.</translation>
    </message>
    <message>
        <source>&apos;{name}&apos; is {size:,} bytes, far more than any OVF descriptor</source>
        <translation>&apos;{name}&apos; ist {size:,} Bytes groß, weit mehr als jeder OVF-Deskriptor</translation>
    </message>
    <message>
        <source>The manifest lists &apos;{listed}&apos;, but the archive does not hold it: the appliance is incomplete. Export it again.</source>
        <translation>Das Manifest führt &apos;{listed}&apos; auf, das Archiv enthält die Datei aber nicht: Die Appliance ist unvollständig. Exportieren Sie sie erneut.</translation>
    </message>
    <message>
        <source>{name} is a {label}-compressed appliance: the disks inside a compressed tar cannot be read in place. Unpack it once ({command}) and choose {unpacked}.</source>
        <translation>{name} ist eine mit {label} komprimierte Appliance: Die Datenträger in einem komprimierten tar-Archiv können nicht direkt gelesen werden. Entpacken Sie sie einmal ({command}) und wählen Sie {unpacked}.</translation>
    </message>
    <message>
        <source>it does not start with a tar header</source>
        <translation>sie beginnt nicht mit einem tar-Header</translation>
    </message>
    <message>
        <source>The manifest &apos;{name}&apos; is {size:,} bytes, far too large for a list of digests; it was not read.</source>
        <translation>Das Manifest &apos;{name}&apos; ist {size:,} Bytes groß, viel zu groß für eine Liste von Prüfsummen; es wurde nicht gelesen.</translation>
    </message>
    <message numerus="yes">
        <source>%n line of the manifest &apos;{name}&apos; is not &apos;SHA256(file)= digest&apos; lines and were skipped.</source>
        <translation>
            <numerusform>%n Zeile des Manifests &apos;{name}&apos; ist keine Zeile der Form &apos;SHA256(file)= digest&apos; und wurde übersprungen.</numerusform>
            <numerusform>%n Zeilen des Manifests &apos;{name}&apos; sind keine Zeilen der Form &apos;SHA256(file)= digest&apos; und wurden übersprungen.</numerusform>
        </translation>
    </message>
    <message>
        <source>The appliance describes {count} virtual machines; the disks are ordered by the first one&apos;s hardware, and the others&apos; disks follow as data disks. Upload each machine&apos;s disks separately if they are different VMs.</source>
        <translation>Die Appliance beschreibt {count} virtuelle Computer; die Datenträger werden nach der Hardware des ersten geordnet, die Datenträger der anderen folgen als Datenträger für Daten. Laden Sie die Datenträger jedes Computers einzeln hoch, wenn es verschiedene VMs sind.</translation>
    </message>
    <message>
        <source>{controller}, unit {unit}</source>
        <translation>{controller}, Einheit {unit}</translation>
    </message>
    <message>
        <source>not attached in the OVF&apos;s hardware</source>
        <translation>in der Hardware der OVF nicht angeschlossen</translation>
    </message>
    <message>
        <source>it lists {count:,} disks</source>
        <translation>er führt {count:,} Datenträger auf</translation>
    </message>
    <message>
        <source>The hardware section attaches disk &apos;{ident}&apos;, which the DiskSection does not describe; it was skipped.</source>
        <translation>Der Hardwareabschnitt bindet den Datenträger &apos;{ident}&apos; an, den der DiskSection-Abschnitt nicht beschreibt; er wurde übersprungen.</translation>
    </message>
    <message>
        <source>Disk &apos;{ident}&apos; has no file (an empty disk the hypervisor creates on import); it is not uploaded. Create an empty data disk in Azure instead.</source>
        <translation>Der Datenträger &apos;{ident}&apos; hat keine Datei (ein leerer Datenträger, den der Hypervisor beim Import anlegt); er wird nicht hochgeladen. Erstellen Sie stattdessen in Azure einen leeren Datenträger für Daten.</translation>
    </message>
    <message>
        <source>disk &apos;{ident}&apos; refers to file &apos;{file_id}&apos;, which the References section does not list</source>
        <translation>der Datenträger &apos;{ident}&apos; verweist auf die Datei &apos;{file_id}&apos;, die der Abschnitt References nicht aufführt</translation>
    </message>
    <message>
        <source>The OVF says &apos;{href}&apos; is {declared:,} bytes, but the archive holds {size:,}: the file was changed or cut short. Export the appliance again.</source>
        <translation>Laut OVF ist &apos;{href}&apos; {declared:,} Bytes groß, das Archiv enthält aber {size:,}: Die Datei wurde geändert oder abgeschnitten. Exportieren Sie die Appliance erneut.</translation>
    </message>
    <message>
        <source>it lists no disk with a file in the archive</source>
        <translation>er führt keinen Datenträger mit einer Datei im Archiv auf</translation>
    </message>
    <message>
        <source>no controller</source>
        <translation>kein Controller</translation>
    </message>
    <message>
        <source>controller {parent}</source>
        <translation>Controller {parent}</translation>
    </message>
    <message>
        <source>the disk file &apos;{href}&apos; inside {name} is {compression}-compressed; extract it (&apos;tar -xf {name} {href}&apos;) and unpack it first</source>
        <translation>die Datenträgerdatei &apos;{href}&apos; in {name} ist mit {compression} komprimiert; entpacken Sie sie (&apos;tar -xf {name} {href}&apos;) und dekomprimieren Sie sie zuerst</translation>
    </message>
    <message>
        <source>the disk file &apos;{href}&apos; inside {name} is split into chunks; extract the appliance (&apos;tar -xf {name}&apos;) and join the chunks first</source>
        <translation>die Datenträgerdatei &apos;{href}&apos; in {name} ist in Teile aufgeteilt; entpacken Sie die Appliance (&apos;tar -xf {name}&apos;) und fügen Sie die Teile zuerst zusammen</translation>
    </message>
    <message>
        <source>the disk file &apos;{href}&apos; is stored as a GNU sparse member, which cannot be read in place; extract it (&apos;tar -xf {name} {href}&apos;)</source>
        <translation>die Datenträgerdatei &apos;{href}&apos; ist als GNU-Sparse-Element gespeichert, das nicht direkt gelesen werden kann; entpacken Sie sie (&apos;tar -xf {name} {href}&apos;)</translation>
    </message>
    <message>
        <source>The OVF declares {declared} for disk &apos;{disk_id}&apos;, but its file holds a {actual} disk; the file&apos;s size is used.</source>
        <translation>Die OVF gibt für den Datenträger &apos;{disk_id}&apos; {declared} an, seine Datei enthält aber einen Datenträger von {actual}; die Größe der Datei wird verwendet.</translation>
    </message>
    <message>
        <source>Appliance</source>
        <translation>Appliance</translation>
    </message>
    <message>
        <source>{name} ({file}, descriptor {descriptor})</source>
        <translation>{name} ({file}, Deskriptor {descriptor})</translation>
    </message>
    <message>
        <source>Disk in appliance</source>
        <translation>Datenträger in der Appliance</translation>
    </message>
    <message>
        <source>{number} of {count}: {role}</source>
        <translation>{number} von {count}: {role}</translation>
    </message>
    <message>
        <source>Attached to</source>
        <translation>Angeschlossen an</translation>
    </message>
    <message>
        <source>Member</source>
        <translation>Element</translation>
    </message>
    <message>
        <source>{name} ({size} at byte {offset:,})</source>
        <translation>{name} ({size} ab Byte {offset:,})</translation>
    </message>
    <message>
        <source>Disk format</source>
        <translation>Datenträgerformat</translation>
    </message>
    <message>
        <source>the disk &apos;{href}&apos; inside {name} is a {label}, which is not read in place from an appliance; extract it (&apos;tar -xf {archive} {href}&apos;) and upload the extracted file</source>
        <translation>der Datenträger &apos;{href}&apos; in {name} ist ein {label}, das nicht direkt aus einer Appliance gelesen wird; entpacken Sie ihn (&apos;tar -xf {archive} {href}&apos;) und laden Sie die entpackte Datei hoch</translation>
    </message>
    <message>
        <source>the OVF says disk &apos;{href}&apos; is {format_uri}, but its content is not that format; the appliance is damaged</source>
        <translation>laut OVF hat der Datenträger &apos;{href}&apos; das Format {format_uri}, sein Inhalt hat dieses Format aber nicht; die Appliance ist beschädigt</translation>
    </message>
    <message>
        <source>Disk id</source>
        <translation>Datenträger-ID</translation>
    </message>
    <message>
        <source>derived from the appliance and the member&apos;s place in it</source>
        <translation>aus der Appliance und der Position des Elements darin abgeleitet</translation>
    </message>
    <message>
        <source>it is not on a cluster boundary</source>
        <translation>sie liegt nicht auf einer Clustergrenze</translation>
    </message>
    <message>
        <source>it would end at byte {end:,}, past the end of the file</source>
        <translation>sie würde bei Byte {end:,} enden, hinter dem Ende der Datei</translation>
    </message>
    <message>
        <source>it overlaps the L1 table</source>
        <translation>sie überlappt die L1-Tabelle</translation>
    </message>
    <message>
        <source>L1 entry {l1_index} names an L2 table at byte {l2:,}, but {problem}</source>
        <translation>L1-Eintrag {l1_index} nennt eine L2-Tabelle bei Byte {l2:,}, aber {problem}</translation>
    </message>
    <message>
        <source>cluster {cluster} is marked as reading zeros, which a version 2 image cannot record</source>
        <translation>Cluster {cluster} ist als „liest Nullen“ markiert, was ein Image der Version 2 nicht festhalten kann</translation>
    </message>
    <message>
        <source>cluster {cluster} has subclusters marked both stored and zero</source>
        <translation>Cluster {cluster} hat Subcluster, die zugleich als gespeichert und als Null markiert sind</translation>
    </message>
    <message>
        <source>cluster {cluster} has subclusters marked stored but no place in the file</source>
        <translation>Cluster {cluster} hat als gespeichert markierte Subcluster, aber keinen Platz in der Datei</translation>
    </message>
    <message>
        <source>cluster {cluster} is recorded at byte {host:,}, which is not a cluster boundary</source>
        <translation>Cluster {cluster} ist bei Byte {host:,} eingetragen, das keine Clustergrenze ist</translation>
    </message>
    <message>
        <source>cluster {cluster} is recorded at byte {host:,}, past the end of the {size:,}-byte file</source>
        <translation>Cluster {cluster} ist bei Byte {host:,} eingetragen, hinter dem Ende der {size:,} Bytes großen Datei</translation>
    </message>
    <message>
        <source>a compressed cluster is recorded at bytes {coffset:,} to {end:,}, past the end of the {size:,}-byte file</source>
        <translation>ein komprimierter Cluster ist bei den Bytes {coffset:,} bis {end:,} eingetragen, hinter dem Ende der {size:,} Bytes großen Datei</translation>
    </message>
    <message>
        <source>deflate: {exc}</source>
        <translation>deflate: {exc}</translation>
    </message>
    <message>
        <source>it holds {actual:,} bytes instead of one {size:,}-byte cluster</source>
        <translation>sie ergeben {actual:,} Bytes statt eines Clusters von {size:,} Bytes</translation>
    </message>
    <message>
        <source>zstd: {exc}</source>
        <translation>zstd: {exc}</translation>
    </message>
    <message numerus="yes">
        <source>%n L1 table entry names an L2 table that cannot be there (first: entry {first}): the file is truncated or damaged, and that part of the disk cannot be read. Run &apos;qemu-img check&apos; on it or copy it again.</source>
        <translation>
            <numerusform>%n Eintrag der L1-Tabelle nennt eine L2-Tabelle, die dort nicht sein kann (erster: Eintrag {first}): Die Datei ist abgeschnitten oder beschädigt, und dieser Teil des Datenträgers kann nicht gelesen werden. Führen Sie &apos;qemu-img check&apos; für sie aus oder kopieren Sie sie erneut.</numerusform>
            <numerusform>%n Einträge der L1-Tabelle nennen eine L2-Tabelle, die dort nicht sein kann (erster: Eintrag {first}): Die Datei ist abgeschnitten oder beschädigt, und dieser Teil des Datenträgers kann nicht gelesen werden. Führen Sie &apos;qemu-img check&apos; für sie aus oder kopieren Sie sie erneut.</numerusform>
        </translation>
    </message>
    <message>
        <source>Format</source>
        <translation>Format</translation>
    </message>
    <message>
        <source>qcow2 version {version} (compat={compat})</source>
        <translation>qcow2 Version {version} (compat={compat})</translation>
    </message>
    <message>
        <source>Cluster size</source>
        <translation>Clustergröße</translation>
    </message>
    <message>
        <source>Subclusters</source>
        <translation>Subcluster</translation>
    </message>
    <message>
        <source>32 of {size}</source>
        <translation>32 zu je {size}</translation>
    </message>
    <message>
        <source>Compression</source>
        <translation>Komprimierung</translation>
    </message>
    <message>
        <source>qemu marked this image corrupt (it found its tables inconsistent), so data read from it may be wrong. Repair it with &apos;qemu-img check -r all&apos; first.</source>
        <translation>qemu hat dieses Image als beschädigt markiert (es fand seine Tabellen widersprüchlich), daher können daraus gelesene Daten falsch sein. Reparieren Sie es zuerst mit &apos;qemu-img check -r all&apos;.</translation>
    </message>
    <message>
        <source>The image was not closed cleanly (its &apos;dirty&apos; bit is set): only its space accounting may be off, the data reads as qemu would read it. &apos;qemu-img check -r all&apos; clears the bit.</source>
        <translation>Das Image wurde nicht sauber geschlossen (sein &apos;dirty&apos;-Bit ist gesetzt): Nur seine Speicherplatzbuchführung kann abweichen, die Daten werden so gelesen, wie qemu sie lesen würde. &apos;qemu-img check -r all&apos; löscht das Bit.</translation>
    </message>
    <message>
        <source>{shown} and {more} more</source>
        <translation>{shown} und {more} weitere</translation>
    </message>
    <message numerus="yes">
        <source>The image holds %n internal snapshot ({names}). Only the current state of the disk is uploaded, not the snapshots; to upload a snapshot, apply it first (&apos;qemu-img snapshot -a NAME&apos;) or convert it (&apos;qemu-img convert -l snapshot.name=NAME&apos;).</source>
        <translation>
            <numerusform>Das Image enthält %n interne Momentaufnahme ({names}). Hochgeladen wird nur der aktuelle Zustand des Datenträgers, nicht die Momentaufnahmen; um eine Momentaufnahme hochzuladen, wenden Sie sie zuerst an (&apos;qemu-img snapshot -a NAME&apos;) oder konvertieren Sie sie (&apos;qemu-img convert -l snapshot.name=NAME&apos;).</numerusform>
            <numerusform>Das Image enthält %n interne Momentaufnahmen ({names}). Hochgeladen wird nur der aktuelle Zustand des Datenträgers, nicht die Momentaufnahmen; um eine Momentaufnahme hochzuladen, wenden Sie sie zuerst an (&apos;qemu-img snapshot -a NAME&apos;) oder konvertieren Sie sie (&apos;qemu-img convert -l snapshot.name=NAME&apos;).</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>The image holds %n internal snapshot. Only the current state of the disk is uploaded, not the snapshots; to upload a snapshot, apply it first (&apos;qemu-img snapshot -a NAME&apos;) or convert it (&apos;qemu-img convert -l snapshot.name=NAME&apos;).</source>
        <translation>
            <numerusform>Das Image enthält %n interne Momentaufnahme. Hochgeladen wird nur der aktuelle Zustand des Datenträgers, nicht die Momentaufnahme; um sie hochzuladen, wenden Sie sie zuerst an (&apos;qemu-img snapshot -a NAME&apos;) oder konvertieren Sie sie (&apos;qemu-img convert -l snapshot.name=NAME&apos;).</numerusform>
            <numerusform>Das Image enthält %n interne Momentaufnahmen. Hochgeladen wird nur der aktuelle Zustand des Datenträgers, nicht die Momentaufnahmen; um eine Momentaufnahme hochzuladen, wenden Sie sie zuerst an (&apos;qemu-img snapshot -a NAME&apos;) oder konvertieren Sie sie (&apos;qemu-img convert -l snapshot.name=NAME&apos;).</numerusform>
        </translation>
    </message>
    <message>
        <source>Internal snapshots</source>
        <translation>Interne Momentaufnahmen</translation>
    </message>
    <message>
        <source>Backing file</source>
        <translation>Backing-Datei</translation>
    </message>
    <message>
        <source>{path} ({format})</source>
        <translation>{path} ({format})</translation>
    </message>
    <message>
        <source>The backing file is {backing_size:,} bytes but this image is {size:,} bytes; past the backing file&apos;s end the disk reads as zeros.</source>
        <translation>Die Sicherungsdatei ist {backing_size:,} Bytes groß, dieses Image aber {size:,} Bytes; hinter dem Ende der Sicherungsdatei liest sich der Datenträger als Nullen.</translation>
    </message>
    <message>
        <source>L2 tables</source>
        <translation>L2-Tabellen</translation>
    </message>
    <message>
        <source>{disk_id} (derived from the file: qcow2 images have none)</source>
        <translation>{disk_id} (aus der Datei abgeleitet: qcow2-Images haben keine)</translation>
    </message>
    <message>
        <source>In the backing file {name}: {message}</source>
        <translation>In der Sicherungsdatei {name}: {message}</translation>
    </message>
    <message>
        <source>its backing file is given as &apos;{name}&apos;, a qemu protocol or JSON description, not a file this program can open</source>
        <translation>seine Sicherungsdatei ist als &apos;{name}&apos; angegeben, ein qemu-Protokoll oder eine JSON-Beschreibung, keine Datei, die dieses Programm öffnen kann</translation>
    </message>
    <message>
        <source>it is more than {depth} images deep</source>
        <translation>sie ist mehr als {depth} Images tief</translation>
    </message>
    <message>
        <source>{path} would be its own backing file</source>
        <translation>{path} wäre seine eigene Sicherungsdatei</translation>
    </message>
    <message>
        <source>its backing file {name} is named as qcow2 but is not a qcow2 image</source>
        <translation>seine Sicherungsdatei {name} ist als qcow2 angegeben, ist aber kein qcow2-Image</translation>
    </message>
    <message>
        <source>its backing file {name} is in qemu&apos;s &apos;{fmt}&apos; format; only qcow2, raw, VHD and VHDX backing files are read</source>
        <translation>seine Sicherungsdatei {name} hat qemus Format &apos;{fmt}&apos;; gelesen werden nur Sicherungsdateien in qcow2, raw, VHD und VHDX</translation>
    </message>
    <message>
        <source>qcow2 header</source>
        <translation>qcow2-Header</translation>
    </message>
    <message>
        <source>the file does not start with the qcow2 signature &apos;QFI\xfb&apos;</source>
        <translation>die Datei beginnt nicht mit der qcow2-Signatur &apos;QFI\xfb&apos;</translation>
    </message>
    <message>
        <source>it is a QCOW version 1 image, a format qemu itself only keeps for old files</source>
        <translation>es ist ein Image im Format QCOW Version 1, das qemu selbst nur noch für alte Dateien unterstützt</translation>
    </message>
    <message>
        <source>it declares qcow2 version {version}; only 2 and 3 exist</source>
        <translation>es gibt die qcow2-Version {version} an; es gibt nur 2 und 3</translation>
    </message>
    <message>
        <source>the cluster size field holds {cluster_bits}, not 9 to 21</source>
        <translation>das Feld für die Clustergröße enthält {cluster_bits}, nicht 9 bis 21</translation>
    </message>
    <message>
        <source>qcow2 version 3 header</source>
        <translation>qcow2-Header der Version 3</translation>
    </message>
    <message>
        <source>the version 3 header claims {header_length} bytes, fewer than 104</source>
        <translation>der Header der Version 3 gibt {header_length} Bytes an, weniger als 104</translation>
    </message>
    <message>
        <source>the header claims to be longer than the first cluster</source>
        <translation>der Header gibt an, länger als der erste Cluster zu sein</translation>
    </message>
    <message>
        <source>a header extension runs past the first cluster</source>
        <translation>eine Header-Erweiterung reicht über den ersten Cluster hinaus</translation>
    </message>
    <message>
        <source>header extension {kind:#010x} claims {length:,} bytes, past the first cluster or into the backing file name</source>
        <translation>die Header-Erweiterung {kind:#010x} gibt {length:,} Bytes an, über den ersten Cluster hinaus oder in den Namen der Sicherungsdatei hinein</translation>
    </message>
    <message>
        <source>qcow2 header extensions</source>
        <translation>qcow2-Header-Erweiterungen</translation>
    </message>
    <message>
        <source>backing file format</source>
        <translation>Format der Sicherungsdatei</translation>
    </message>
    <message>
        <source>external data file name</source>
        <translation>Name der externen Datendatei</translation>
    </message>
    <message>
        <source>the {what} is not readable text</source>
        <translation>{what} ist kein lesbarer Text</translation>
    </message>
    <message>
        <source>the backing file name is too long or lies past the first cluster</source>
        <translation>der Name der Sicherungsdatei ist zu lang oder liegt hinter dem ersten Cluster</translation>
    </message>
    <message>
        <source>backing file name</source>
        <translation>Name der Sicherungsdatei</translation>
    </message>
    <message>
        <source>the backing file name is empty</source>
        <translation>der Name der Sicherungsdatei ist leer</translation>
    </message>
    <message>
        <source>it uses qcow2 features this program does not know ({features}), which change how its data must be read</source>
        <translation>es verwendet qcow2-Funktionen, die dieses Programm nicht kennt ({features}) und die ändern, wie seine Daten gelesen werden müssen</translation>
    </message>
    <message>
        <source>{name} is a qcow2 image encrypted with {kind}: Azure cannot read an encrypted disk image. Decrypt it where its key is known (&apos;qemu-img convert --object secret,id=sec0,file=KEYFILE --image-opts driver=qcow2,encrypt.key-secret=sec0,file.filename={name} -O raw disk.raw&apos;) and upload that, or upload an unencrypted disk and use Azure Disk Encryption.</source>
        <translation>{name} ist ein mit {kind} verschlüsseltes qcow2-Image: Azure kann kein verschlüsseltes Datenträgerimage lesen. Entschlüsseln Sie es dort, wo sein Schlüssel bekannt ist (&apos;qemu-img convert --object secret,id=sec0,file=KEYFILE --image-opts driver=qcow2,encrypt.key-secret=sec0,file.filename={name} -O raw disk.raw&apos;), und laden Sie das Ergebnis hoch, oder laden Sie einen unverschlüsselten Datenträger hoch und verwenden Sie Azure Disk Encryption.</translation>
    </message>
    <message>
        <source>it keeps its data in an external data file &apos;{name}&apos; (qcow2 &apos;data_file&apos;), not in the image itself</source>
        <translation>es speichert seine Daten in einer externen Datendatei &apos;{name}&apos; (qcow2 &apos;data_file&apos;), nicht im Image selbst</translation>
    </message>
    <message>
        <source>it keeps its data in an external data file (qcow2 &apos;data_file&apos;), not in the image itself</source>
        <translation>es speichert seine Daten in einer externen Datendatei (qcow2 &apos;data_file&apos;), nicht im Image selbst</translation>
    </message>
    <message>
        <source>its compressed clusters use compression type {compression_type}, which is neither deflate (0) nor zstd (1)</source>
        <translation>seine komprimierten Cluster verwenden den Komprimierungstyp {compression_type}, der weder deflate (0) noch zstd (1) ist</translation>
    </message>
    <message>
        <source>the compression type and its feature bit disagree</source>
        <translation>der Komprimierungstyp und sein Funktionsbit widersprechen sich</translation>
    </message>
    <message>
        <source>extended L2 entries need clusters of at least 16 KiB, not {cluster_size:,} bytes</source>
        <translation>erweiterte L2-Einträge brauchen Cluster von mindestens 16 KiB, nicht {cluster_size:,} Bytes</translation>
    </message>
    <message>
        <source>the L1 table claims {l1_size:,} entries, more than qemu allows (32 MiB)</source>
        <translation>die L1-Tabelle gibt {l1_size:,} Einträge an, mehr als qemu erlaubt (32 MiB)</translation>
    </message>
    <message>
        <source>the L1 table has {l1_size:,} entries, but the {size:,}-byte disk needs {needed:,}</source>
        <translation>die L1-Tabelle hat {l1_size:,} Einträge, der {size:,} Bytes große Datenträger braucht aber {needed:,}</translation>
    </message>
    <message>
        <source>the L1 table is placed at byte {l1_offset:,}, which is not a cluster boundary after the header</source>
        <translation>die L1-Tabelle liegt bei Byte {l1_offset:,}, das keine Clustergrenze hinter dem Header ist</translation>
    </message>
    <message>
        <source>L1 table</source>
        <translation>L1-Tabelle</translation>
    </message>
    <message>
        <source>{name} is a qcow2 image on top of the backing file &apos;{backing_name}&apos;, which was not found (looked at: {places}). Put the backing file where the image names it (a relative name is taken from the image&apos;s folder), or merge the chain into one image first: &apos;qemu-img convert -O qcow2 {name} merged.qcow2&apos;.</source>
        <translation>{name} ist ein qcow2-Image auf der Sicherungsdatei &apos;{backing_name}&apos;, die nicht gefunden wurde (gesucht in: {places}). Legen Sie die Sicherungsdatei dorthin, wo das Image sie angibt (ein relativer Name gilt ab dem Ordner des Images), oder führen Sie die Kette zuerst zu einem Image zusammen: &apos;qemu-img convert -O qcow2 {name} merged.qcow2&apos;.</translation>
    </message>
    <message>
        <source>The compressed data at byte {offset:,} of the image is damaged ({reason}), so that part of the disk cannot be read. Run &apos;qemu-img check&apos; on the image, or export the disk again.</source>
        <translation>Die komprimierten Daten bei Byte {offset:,} des Images sind beschädigt ({reason}), daher kann dieser Teil des Datenträgers nicht gelesen werden. Führen Sie &apos;qemu-img check&apos; für das Image aus oder exportieren Sie den Datenträger erneut.</translation>
    </message>
    <message>
        <source>The file is named &apos;{name}&apos; but holds no {kind} structures, so it is read as a raw disk. If it was a VHD that lost its footer (for example an incomplete copy), copy it again from its source.</source>
        <translation>Die Datei heißt &apos;{name}&apos;, enthält aber keine {kind}-Strukturen; sie wird daher als Raw-Datenträger gelesen. War sie eine VHD, die ihre Fußzeile verloren hat (zum Beispiel durch eine unvollständige Kopie), kopieren Sie sie erneut von ihrer Quelle.</translation>
    </message>
    <message>
        <source>The file is {size:,} bytes, not a whole number of 512-byte sectors; the last sector is completed with zeros.</source>
        <translation>Die Datei ist {size:,} Bytes groß, kein ganzzahliges Vielfaches von 512-Byte-Sektoren; der letzte Sektor wird mit Nullen aufgefüllt.</translation>
    </message>
    <message>
        <source>{disk_id} (derived from path, size and time: raw files have none)</source>
        <translation>{disk_id} (aus Pfad, Größe und Zeit abgeleitet: Raw-Dateien haben keine)</translation>
    </message>
    <message>
        <source>{value:.{decimals}f} {unit} ({size:,} bytes)</source>
        <translation>{value:.{decimals}f} {unit} ({size:,} Bytes)</translation>
    </message>
    <message>
        <source>{size:,} bytes</source>
        <translation>{size:,} Bytes</translation>
    </message>
    <message>
        <source>The disk is {virtual}, not a whole number of MiB, which Azure requires. It will be uploaded as {fixed}: {added:,} zero bytes are added at the end. The guest sees a slightly larger disk; nothing to do.</source>
        <translation>Der Datenträger ist {virtual} groß, kein ganzzahliges Vielfaches von 1 MiB, wie Azure es verlangt. Er wird als {fixed} hochgeladen: Am Ende werden {added:,} Null-Bytes angefügt. Das Gastbetriebssystem sieht einen etwas größeren Datenträger; Sie müssen nichts tun.</translation>
    </message>
    <message>
        <source>Upload size: {upload} (the disk as a fixed VHD plus its 512-byte footer); only the parts that hold data are sent.</source>
        <translation>Uploadgröße: {upload} (der Datenträger als feste VHD plus ihre 512-Byte-Fußzeile); nur die Teile, die Daten enthalten, werden gesendet.</translation>
    </message>
    <message>
        <source>The disk is {virtual}; Azure refuses disks smaller than 20 MiB. Enlarge it first, for example &apos;qemu-img resize FILE 20M&apos;.</source>
        <translation>Der Datenträger ist {virtual} groß; Azure lehnt Datenträger unter 20 MiB ab. Vergrößern Sie ihn zuerst, zum Beispiel mit &apos;qemu-img resize FILE 20M&apos;.</translation>
    </message>
    <message>
        <source>The disk is {fixed}; Azure disks hold at most 32,767 GiB. Shrink the disk&apos;s partitions and the disk (for example &apos;qemu-img resize --shrink&apos;) first.</source>
        <translation>Der Datenträger ist {fixed} groß; Azure-Datenträger fassen höchstens 32.767 GiB. Verkleinern Sie zuerst die Partitionen und den Datenträger (zum Beispiel mit &apos;qemu-img resize --shrink&apos;).</translation>
    </message>
    <message>
        <source>At {upload} the disk is larger than a page blob may be (8 TiB). Upload it as a managed disk instead of to a storage account.</source>
        <translation>Mit {upload} ist der Datenträger größer, als ein Seitenblob sein darf (8 TiB). Laden Sie ihn als verwalteten Datenträger hoch statt in ein Speicherkonto.</translation>
    </message>
    <message>
        <source>At {fixed} the disk is larger than an OS disk may be (4,095 GiB); use it as a data disk only.</source>
        <translation>Mit {fixed} ist der Datenträger größer, als ein Betriebssystemdatenträger sein darf (4.095 GiB); verwenden Sie ihn nur als Datenträger für Daten.</translation>
    </message>
    <message>
        <source>At {fixed} the disk is larger than 2 TiB: as the OS disk of a Generation 1 VM (BIOS, MBR) only the first 2 TiB can be used. Use it with a Generation 2 VM (UEFI, GPT) or as a data disk.</source>
        <translation>Mit {fixed} ist der Datenträger größer als 2 TiB: Als Betriebssystemdatenträger einer VM der Generation 1 (BIOS, MBR) sind nur die ersten 2 TiB nutzbar. Verwenden Sie ihn mit einer VM der Generation 2 (UEFI, GPT) oder als Datenträger für Daten.</translation>
    </message>
    <message>
        <source>{name} is a differencing VDI (a VirtualBox snapshot): it holds only the changes over its parent disk {{{parent}}}, which VirtualBox finds through its media registry, not beside the file. Clone the current state into one disk first (&apos;VBoxManage clonemedium disk {name} merged.vdi&apos;, with the VM shut down), then upload merged.vdi.</source>
        <translation>{name} ist eine differenzierende VDI (eine VirtualBox-Momentaufnahme): Sie enthält nur die Änderungen gegenüber ihrem übergeordneten Datenträger {{{parent}}}, den VirtualBox über seine Medienregistrierung findet, nicht neben der Datei. Klonen Sie den aktuellen Zustand zuerst in einen Datenträger (&apos;VBoxManage clonemedium disk {name} merged.vdi&apos;, bei heruntergefahrener VM), und laden Sie dann merged.vdi hoch.</translation>
    </message>
    <message>
        <source>VDI header</source>
        <translation>VDI-Header</translation>
    </message>
    <message>
        <source>the VirtualBox signature 0xbeda107f is not at byte 64 (found {signature:#010x})</source>
        <translation>die VirtualBox-Signatur 0xbeda107f steht nicht bei Byte 64 (gefunden: {signature:#010x})</translation>
    </message>
    <message>
        <source>the VDI header has version {major}.{minor}, made by a VirtualBox older than 1.4; only version 1.x is read (VirtualBox converts it when you clone it: &apos;VBoxManage clonemedium disk OLD.vdi NEW.vdi&apos;)</source>
        <translation>der VDI-Header hat die Version {major}.{minor} und stammt von einer VirtualBox älter als 1.4; gelesen wird nur Version 1.x (VirtualBox konvertiert ihn beim Klonen: &apos;VBoxManage clonemedium disk OLD.vdi NEW.vdi&apos;)</translation>
    </message>
    <message>
        <source>the VDI header says it is {header_size} bytes, too short for the fields every version-1 header has ({needed})</source>
        <translation>laut VDI-Header ist er {header_size} Bytes groß, zu kurz für die Felder jedes Headers der Version 1 ({needed})</translation>
    </message>
    <message>
        <source>the VDI image type is {image_type}, not dynamic (1) or fixed (2)</source>
        <translation>der VDI-Imagetyp ist {image_type}, nicht dynamisch (1) oder fest (2)</translation>
    </message>
    <message>
        <source>the VDI declares {sector_size}-byte sectors; VirtualBox and Azure use 512</source>
        <translation>die VDI gibt Sektoren von {sector_size} Bytes an; VirtualBox und Azure verwenden 512</translation>
    </message>
    <message>
        <source>each block claims {block_extra:,} bytes of extra data before it, which is not a whole number of sectors up to the block size</source>
        <translation>jeder Block gibt {block_extra:,} Bytes Zusatzdaten vor sich an, kein ganzzahliges Vielfaches von Sektoren bis zur Blockgröße</translation>
    </message>
    <message>
        <source>the block map (bytes {blocks_offset:,} to {map_end:,}) overlaps the header (which ends at byte {header_end:,}) or the data area (from byte {data_offset:,})</source>
        <translation>die Blockzuordnung (Bytes {blocks_offset:,} bis {map_end:,}) überlappt den Header (der bei Byte {header_end:,} endet) oder den Datenbereich (ab Byte {data_offset:,})</translation>
    </message>
    <message>
        <source>VDI block map</source>
        <translation>VDI-Blockzuordnung</translation>
    </message>
    <message>
        <source>its data would end at byte {end:,} of a {size:,}-byte file</source>
        <translation>seine Daten würden bei Byte {end:,} einer {size:,} Bytes großen Datei enden</translation>
    </message>
    <message numerus="yes">
        <source>%n block map entry points past the end of the file (first: block {first}): the file is truncated or damaged, and those blocks cannot be read. Copy the file again from its source.</source>
        <translation>
            <numerusform>%n Eintrag der Blockzuordnung zeigt hinter das Ende der Datei (erster: Block {first}): Die Datei ist abgeschnitten oder beschädigt, und diese Blöcke können nicht gelesen werden. Kopieren Sie die Datei erneut von ihrer Quelle.</numerusform>
            <numerusform>%n Einträge der Blockzuordnung zeigen hinter das Ende der Datei (erster: Block {first}): Die Datei ist abgeschnitten oder beschädigt, und diese Blöcke können nicht gelesen werden. Kopieren Sie die Datei erneut von ihrer Quelle.</numerusform>
        </translation>
    </message>
    <message>
        <source>The block map has {entries:,} entries but the disk needs {needed:,}; the end of the disk has no place to be stored. The file is damaged.</source>
        <translation>Die Blockzuordnung hat {entries:,} Einträge, der Datenträger braucht aber {needed:,}; für das Ende des Datenträgers gibt es keinen Speicherplatz. Die Datei ist beschädigt.</translation>
    </message>
    <message>
        <source>block {block} cannot be read: {problem}</source>
        <translation>Block {block} kann nicht gelesen werden: {problem}</translation>
    </message>
    <message>
        <source>VDI version</source>
        <translation>VDI-Version</translation>
    </message>
    <message>
        <source>Block size</source>
        <translation>Blockgröße</translation>
    </message>
    <message>
        <source>Stored blocks</source>
        <translation>Gespeicherte Blöcke</translation>
    </message>
    <message>
        <source>{stored:,} of {total:,} ({discarded:,} discarded)</source>
        <translation>{stored:,} von {total:,} ({discarded:,} verworfen)</translation>
    </message>
    <message>
        <source>{stored:,} of {total:,}</source>
        <translation>{stored:,} von {total:,}</translation>
    </message>
    <message>
        <source>Description</source>
        <translation>Beschreibung</translation>
    </message>
    <message>
        <source>The footer at the end of the file has a wrong checksum; the copy at the start is intact and was used. The uploaded disk gets a new, correct footer.</source>
        <translation>Die Fußzeile am Ende der Datei hat eine falsche Prüfsumme; die Kopie am Anfang ist intakt und wurde verwendet. Der hochgeladene Datenträger erhält eine neue, korrekte Fußzeile.</translation>
    </message>
    <message>
        <source>The VHD footer&apos;s checksum is wrong (stored {checksum:#010x}, computed {computed_checksum:#010x}): the file is damaged or was edited by a tool that did not update it. Check it with &apos;qemu-img check&apos; or export the disk again.</source>
        <translation>Die Prüfsumme der VHD-Fußzeile ist falsch (gespeichert {checksum:#010x}, berechnet {computed_checksum:#010x}): Die Datei ist beschädigt oder wurde mit einem Werkzeug bearbeitet, das die Prüfsumme nicht aktualisiert hat. Prüfen Sie sie mit &apos;qemu-img check&apos; oder exportieren Sie den Datenträger erneut.</translation>
    </message>
    <message>
        <source>The footer at the end of this dynamic VHD is missing (the file was probably cut short); the copy at the start was used, but blocks near the end may be lost. Copy the file again from its source.</source>
        <translation>Die Fußzeile am Ende dieser dynamischen VHD fehlt (die Datei wurde wahrscheinlich abgeschnitten); die Kopie am Anfang wurde verwendet, aber Blöcke nahe dem Ende können verloren sein. Kopieren Sie die Datei erneut von ihrer Quelle.</translation>
    </message>
    <message>
        <source>no &apos;conectix&apos; footer at the end of the file</source>
        <translation>keine &apos;conectix&apos;-Fußzeile am Ende der Datei</translation>
    </message>
    <message>
        <source>the VHD footer names disk type {disk_type}, which is not fixed (2), dynamic (3) or differencing (4)</source>
        <translation>die VHD-Fußzeile nennt den Datenträgertyp {disk_type}, der weder fest (2) noch dynamisch (3) noch differenzierend (4) ist</translation>
    </message>
    <message>
        <source>The VHD is marked as belonging to a saved (hibernated) VM; its file system may not be consistent. Shut the VM down properly before uploading, if you can.</source>
        <translation>Die VHD ist als zu einer gespeicherten (ruhenden) VM gehörend markiert; ihr Dateisystem ist möglicherweise nicht konsistent. Fahren Sie die VM vor dem Upload ordnungsgemäß herunter, wenn möglich.</translation>
    </message>
    <message>
        <source>The footer declares a {virtual:,}-byte disk but the file holds only {data_length:,} bytes of it: the copy is incomplete. Copy the file again from its source.</source>
        <translation>Die Fußzeile gibt einen Datenträger von {virtual:,} Bytes an, die Datei enthält aber nur {data_length:,} Bytes davon: Die Kopie ist unvollständig. Kopieren Sie die Datei erneut von ihrer Quelle.</translation>
    </message>
    <message>
        <source>The file holds {extra:,} bytes more than the {virtual:,}-byte disk its footer declares; they are not part of the disk and are not uploaded.</source>
        <translation>Die Datei enthält {extra:,} Bytes mehr als der Datenträger von {virtual:,} Bytes, den ihre Fußzeile angibt; sie gehören nicht zum Datenträger und werden nicht hochgeladen.</translation>
    </message>
    <message>
        <source>Created by</source>
        <translation>Erstellt von</translation>
    </message>
    <message>
        <source>Geometry (C/H/S)</source>
        <translation>Geometrie (C/H/S)</translation>
    </message>
    <message>
        <source>The parent disk is {virtual_size:,} bytes but this child is {current_size:,} bytes; the difference reads as zeros.</source>
        <translation>Der übergeordnete Datenträger ist {virtual_size:,} Bytes groß, dieser untergeordnete aber {current_size:,} Bytes; der Unterschied liest sich als Nullen.</translation>
    </message>
    <message>
        <source>Parent</source>
        <translation>Übergeordneter Datenträger</translation>
    </message>
    <message>
        <source>In the parent disk {name}: {message}</source>
        <translation>Im übergeordneten Datenträger {name}: {message}</translation>
    </message>
    <message>
        <source>it is not a VHD</source>
        <translation>sie ist keine VHD</translation>
    </message>
    <message>
        <source>its id is {unique_id}, the child expects {parent_id}</source>
        <translation>ihre ID ist {unique_id}, der untergeordnete Datenträger erwartet {parent_id}</translation>
    </message>
    <message>
        <source>it is more than {depth} disks deep</source>
        <translation>sie ist mehr als {depth} Datenträger tief</translation>
    </message>
    <message>
        <source>{candidate} would be its own ancestor</source>
        <translation>{candidate} wäre sein eigener Vorfahre</translation>
    </message>
    <message>
        <source>VHDX headers</source>
        <translation>VHDX-Header</translation>
    </message>
    <message>
        <source>neither of the two VHDX headers has a valid signature and checksum</source>
        <translation>keiner der beiden VHDX-Header hat eine gültige Signatur und Prüfsumme</translation>
    </message>
    <message>
        <source>One of the two VHDX headers is damaged; the intact one was used. Hyper-V repairs this the next time it opens the disk for writing.</source>
        <translation>Einer der beiden VHDX-Header ist beschädigt; der intakte wurde verwendet. Hyper-V repariert dies, wenn es den Datenträger das nächste Mal zum Schreiben öffnet.</translation>
    </message>
    <message>
        <source>the VHDX header has version {version}, not 1</source>
        <translation>der VHDX-Header hat die Version {version}, nicht 1</translation>
    </message>
    <message>
        <source>VHDX region table</source>
        <translation>VHDX-Regionstabelle</translation>
    </message>
    <message>
        <source>The first VHDX region table is damaged; the copy was used.</source>
        <translation>Die erste VHDX-Regionstabelle ist beschädigt; die Kopie wurde verwendet.</translation>
    </message>
    <message>
        <source>neither copy has a valid signature and checksum</source>
        <translation>keine der beiden Kopien hat eine gültige Signatur und Prüfsumme</translation>
    </message>
    <message>
        <source>a region is placed at byte {offset:,} with length {length:,}, which is not a whole number of MiB after the first MiB</source>
        <translation>eine Region liegt bei Byte {offset:,} mit der Länge {length:,}, kein ganzzahliges Vielfaches von MiB nach dem ersten MiB</translation>
    </message>
    <message>
        <source>VHDX region</source>
        <translation>VHDX-Region</translation>
    </message>
    <message>
        <source>the VHDX needs a region this program does not know ({region_id})</source>
        <translation>die VHDX braucht eine Region, die dieses Programm nicht kennt ({region_id})</translation>
    </message>
    <message>
        <source>the block table or the metadata region is missing</source>
        <translation>die Blocktabelle oder die Metadatenregion fehlt</translation>
    </message>
    <message>
        <source>the metadata table does not start with &apos;metadata&apos;</source>
        <translation>die Metadatentabelle beginnt nicht mit &apos;metadata&apos;</translation>
    </message>
    <message>
        <source>the VHDX needs a metadata item this program does not know ({item})</source>
        <translation>die VHDX braucht ein Metadatenelement, das dieses Programm nicht kennt ({item})</translation>
    </message>
    <message>
        <source>item {item} lies outside the metadata region</source>
        <translation>das Element {item} liegt außerhalb der Metadatenregion</translation>
    </message>
    <message>
        <source>the required item &apos;{name}&apos; is missing</source>
        <translation>das erforderliche Element &apos;{name}&apos; fehlt</translation>
    </message>
    <message>
        <source>the logical sector size is {logical}, not 512 or 4096</source>
        <translation>die logische Sektorgröße ist {logical}, nicht 512 oder 4096</translation>
    </message>
    <message>
        <source>the virtual disk size {virtual_size:,} is impossible</source>
        <translation>die virtuelle Datenträgergröße {virtual_size:,} ist unmöglich</translation>
    </message>
    <message>
        <source>the block table region holds {entries:,} entries, the disk needs {entries_needed:,}</source>
        <translation>die Region der Blocktabelle enthält {entries:,} Einträge, der Datenträger braucht {entries_needed:,}</translation>
    </message>
    <message>
        <source>it is marked partially present, which only differencing disks may use</source>
        <translation>er ist als teilweise vorhanden markiert, was nur differenzierende Datenträger verwenden dürfen</translation>
    </message>
    <message>
        <source>its state {state} is not defined</source>
        <translation>sein Zustand {state} ist nicht definiert</translation>
    </message>
    <message>
        <source>it would lie in the file&apos;s header area</source>
        <translation>er würde im Header-Bereich der Datei liegen</translation>
    </message>
    <message>
        <source>it would reach byte {end:,} of a {size:,}-byte file</source>
        <translation>er würde bis Byte {end:,} einer {size:,} Bytes großen Datei reichen</translation>
    </message>
    <message numerus="yes">
        <source>%n block table entry is invalid or point outside the file (first: block {first}): the file is truncated or damaged. Copy it again or repair it in Hyper-V (&apos;Inspect Disk&apos;).</source>
        <translation>
            <numerusform>%n Eintrag der Blocktabelle ist ungültig oder zeigt außerhalb der Datei (erster: Block {first}): Die Datei ist abgeschnitten oder beschädigt. Kopieren Sie sie erneut oder reparieren Sie sie in Hyper-V (&apos;Inspect Disk&apos;).</numerusform>
            <numerusform>%n Einträge der Blocktabelle sind ungültig oder zeigen außerhalb der Datei (erster: Block {first}): Die Datei ist abgeschnitten oder beschädigt. Kopieren Sie sie erneut oder reparieren Sie sie in Hyper-V (&apos;Inspect Disk&apos;).</numerusform>
        </translation>
    </message>
    <message>
        <source>it is a differencing VHDX (it has a parent disk); merge it into its parent first (Hyper-V &apos;Edit Disk &gt; Merge&apos;)</source>
        <translation>es ist eine differenzierende VHDX (sie hat einen übergeordneten Datenträger); führen Sie sie zuerst mit dem übergeordneten zusammen (Hyper-V &apos;Edit Disk &gt; Merge&apos;)</translation>
    </message>
    <message>
        <source>The VHDX uses 4096-byte logical sectors, but an Azure disk has 512-byte sectors. Partition tables written for 4096-byte sectors will not be found in Azure; make sure the guest&apos;s partitions were created on a 512-byte-sector disk.</source>
        <translation>Die VHDX verwendet logische Sektoren von 4096 Bytes, ein Azure-Datenträger hat aber Sektoren von 512 Bytes. Partitionstabellen, die für 4096-Byte-Sektoren geschrieben wurden, werden in Azure nicht gefunden; stellen Sie sicher, dass die Partitionen des Gastbetriebssystems auf einem Datenträger mit 512-Byte-Sektoren angelegt wurden.</translation>
    </message>
    <message>
        <source>Sector size</source>
        <translation>Sektorgröße</translation>
    </message>
    <message>
        <source>{logical} logical, {physical} physical</source>
        <translation>{logical} logisch, {physical} physisch</translation>
    </message>
    <message>
        <source>it is an ESXi snapshot (vmfsSparse/COWD delta) disk; consolidate the snapshots in vSphere, or clone the disk with &apos;vmkfstools -i&apos;, first</source>
        <translation>es ist ein ESXi-Momentaufnahme-Datenträger (vmfsSparse/COWD-Delta); konsolidieren Sie die Momentaufnahmen in vSphere oder klonen Sie den Datenträger zuerst mit &apos;vmkfstools -i&apos;</translation>
    </message>
    <message>
        <source>it is an ESXi space-efficient sparse (seSparse) snapshot disk; consolidate the snapshots in vSphere, or clone the disk with &apos;vmkfstools -i&apos;, first</source>
        <translation>es ist ein platzsparender ESXi-Sparse-Momentaufnahme-Datenträger (seSparse); konsolidieren Sie die Momentaufnahmen in vSphere oder klonen Sie den Datenträger zuerst mit &apos;vmkfstools -i&apos;</translation>
    </message>
    <message>
        <source>it is a raw device mapping: the data lives on a SAN LUN, not in a file; clone it to a virtual disk with &apos;vmkfstools -i&apos; first</source>
        <translation>es ist eine Raw-Gerätezuordnung (RDM): Die Daten liegen auf einer SAN-LUN, nicht in einer Datei; klonen Sie sie zuerst mit &apos;vmkfstools -i&apos; in einen virtuellen Datenträger</translation>
    </message>
    <message>
        <source>it maps a whole physical disk of the host, not a file</source>
        <translation>es bildet einen ganzen physischen Datenträger des Hosts ab, keine Datei</translation>
    </message>
    <message>
        <source>it maps partitions of a physical disk of the host, not a file</source>
        <translation>es bildet Partitionen eines physischen Datenträgers des Hosts ab, keine Datei</translation>
    </message>
    <message>
        <source>nowhere</source>
        <translation>nirgends</translation>
    </message>
    <message>
        <source>{name} describes a disk stored in several files, and its part &apos;{extent}&apos; was not found (looked at: {places}). Put all the disk&apos;s files (the descriptor and every -flat/-sNNN/-fNNN .vmdk it names) in one folder, then choose the descriptor again.</source>
        <translation>{name} beschreibt einen auf mehrere Dateien verteilten Datenträger, und sein Teil &apos;{extent}&apos; wurde nicht gefunden (gesucht in: {places}). Legen Sie alle Dateien des Datenträgers (den Deskriptor und jede -flat/-sNNN/-fNNN-.vmdk, die er nennt) in einen Ordner, und wählen Sie dann erneut den Deskriptor.</translation>
    </message>
    <message>
        <source>flat extent {name}</source>
        <translation>Flat-Extent {name}</translation>
    </message>
    <message>
        <source>{name} holds no descriptor. If it is one part (-s001, -s002…) of a disk split in several files, choose the small descriptor .vmdk that names them all instead, or the upload holds only this part.</source>
        <translation>{name} enthält keinen Deskriptor. Ist die Datei ein Teil (-s001, -s002…) eines auf mehrere Dateien verteilten Datenträgers, wählen Sie stattdessen die kleine Deskriptor-.vmdk, die alle Teile nennt; sonst enthält der Upload nur diesen Teil.</translation>
    </message>
    <message>
        <source>{name} is one of {parts} parts of a split disk; its descriptor names the others. Choose the descriptor .vmdk (or the first part beside all the others) instead.</source>
        <translation>{name} ist einer von {parts} Teilen eines aufgeteilten Datenträgers; sein Deskriptor nennt die anderen. Wählen Sie stattdessen die Deskriptor-.vmdk (oder den ersten Teil neben allen anderen).</translation>
    </message>
    <message>
        <source>the embedded descriptor gives {sectors:,} sectors, but the extent holds {capacity:,}</source>
        <translation>der eingebettete Deskriptor gibt {sectors:,} Sektoren an, der Extent enthält aber {capacity:,}</translation>
    </message>
    <message>
        <source>Grain size</source>
        <translation>Grain-Größe</translation>
    </message>
    <message>
        <source>Stored grains</source>
        <translation>Gespeicherte Grains</translation>
    </message>
    <message>
        <source>{stored:,} of {total:,} (indexed from the stream&apos;s markers: it has no grain directory)</source>
        <translation>{stored:,} von {total:,} (aus den Markern des Streams indiziert: er hat kein Grain-Verzeichnis)</translation>
    </message>
    <message>
        <source>The VMDK was not closed cleanly (its VM or host stopped while it was open). Its data may be incomplete; power the VM on and off once, or run &apos;qemu-img check&apos;, before uploading it.</source>
        <translation>Die VMDK wurde nicht sauber geschlossen (ihre VM oder ihr Host wurde beendet, während sie geöffnet war). Ihre Daten sind möglicherweise unvollständig; schalten Sie die VM einmal ein und wieder aus, oder führen Sie vor dem Upload &apos;qemu-img check&apos; aus.</translation>
    </message>
    <message>
        <source>the embedded descriptor claims {length:,} bytes</source>
        <translation>der eingebettete Deskriptor gibt {length:,} Bytes an</translation>
    </message>
    <message>
        <source>embedded VMDK descriptor</source>
        <translation>eingebetteter VMDK-Deskriptor</translation>
    </message>
    <message>
        <source>{name} neither starts with a sparse header (&apos;KDMV&apos;) nor is a text descriptor small enough to be one ({size:,} bytes)</source>
        <translation>{name} beginnt weder mit einem Sparse-Header (&apos;KDMV&apos;) noch ist die Datei ein Textdeskriptor, der klein genug dafür wäre ({size:,} Bytes)</translation>
    </message>
    <message>
        <source>{name} neither starts with a sparse header (&apos;KDMV&apos;) nor is a text descriptor (&apos;# Disk DescriptorFile&apos;)</source>
        <translation>{name} beginnt weder mit einem Sparse-Header (&apos;KDMV&apos;) noch ist die Datei ein Textdeskriptor (&apos;# Disk DescriptorFile&apos;)</translation>
    </message>
    <message>
        <source>{name} is a VMDK descriptor whose data is in other files, which an archive cannot point to; extract the archive and choose the descriptor</source>
        <translation>{name} ist ein VMDK-Deskriptor, dessen Daten in anderen Dateien liegen, auf die ein Archiv nicht verweisen kann; entpacken Sie das Archiv und wählen Sie den Deskriptor</translation>
    </message>
    <message>
        <source>Extent files</source>
        <translation>Extent-Dateien</translation>
    </message>
    <message>
        <source>its descriptor names an extent of type {kind}, which this program does not read</source>
        <translation>sein Deskriptor nennt einen Extent vom Typ {kind}, den dieses Programm nicht liest</translation>
    </message>
    <message>
        <source>its extent &apos;{file_name}&apos; is marked NOACCESS</source>
        <translation>sein Extent &apos;{file_name}&apos; ist als NOACCESS markiert</translation>
    </message>
    <message>
        <source>the extent &apos;{file_name}&apos; holds {capacity:,} sectors, but the descriptor gives it {sectors:,}</source>
        <translation>der Extent &apos;{file_name}&apos; enthält {capacity:,} Sektoren, der Deskriptor gibt ihm aber {sectors:,}</translation>
    </message>
    <message>
        <source>(the descriptor names no parentFileNameHint)</source>
        <translation>(der Deskriptor nennt keinen parentFileNameHint)</translation>
    </message>
    <message>
        <source>{name}&apos;s parents loop back to {parent}</source>
        <translation>die übergeordneten Datenträger von {name} führen zurück zu {parent}</translation>
    </message>
    <message>
        <source>it is more than {depth} snapshots deep</source>
        <translation>sie ist mehr als {depth} Momentaufnahmen tief</translation>
    </message>
    <message>
        <source>its content id (CID) is {parent_cid}, but the snapshot was taken of CID {expected}</source>
        <translation>seine Inhalts-ID (CID) ist {parent_cid}, die Momentaufnahme wurde aber von CID {expected} erstellt</translation>
    </message>
    <message>
        <source>This is a snapshot (delta) disk over {name} and {more} more: the upload holds the disk as the snapshot sees it, parent data included.</source>
        <translation>Dies ist ein Momentaufnahme-Datenträger (Delta) über {name} und {more} weiteren: Der Upload enthält den Datenträger so, wie die Momentaufnahme ihn sieht, einschließlich der übergeordneten Daten.</translation>
    </message>
    <message>
        <source>This is a snapshot (delta) disk over {name}: the upload holds the disk as the snapshot sees it, parent data included.</source>
        <translation>Dies ist ein Momentaufnahme-Datenträger (Delta) über {name}: Der Upload enthält den Datenträger so, wie die Momentaufnahme ihn sieht, einschließlich der übergeordneten Daten.</translation>
    </message>
    <message>
        <source>it is an encrypted VMware disk (VM encryption); decrypt the VM in vSphere, or clone the disk unencrypted, first</source>
        <translation>es ist ein verschlüsselter VMware-Datenträger (VM-Verschlüsselung); entschlüsseln Sie die VM in vSphere oder klonen Sie den Datenträger zuerst unverschlüsselt</translation>
    </message>
    <message>
        <source>VMDK type</source>
        <translation>VMDK-Typ</translation>
    </message>
    <message>
        <source>Content id (CID)</source>
        <translation>Inhalts-ID (CID)</translation>
    </message>
    <message>
        <source>Adapter type</source>
        <translation>Adaptertyp</translation>
    </message>
    <message>
        <source>Virtual hardware version</source>
        <translation>Version der virtuellen Hardware</translation>
    </message>
    <message>
        <source>none (all zero extents)</source>
        <translation>keine (nur Null-Extents)</translation>
    </message>
    <message>
        <source>{count} files: {first} … {last}</source>
        <translation>{count} Dateien: {first} … {last}</translation>
    </message>
    <message>
        <source>The VMDK descriptor is damaged: {detail}. Open the descriptor (the small .vmdk text file) in a text editor and compare it with the disk&apos;s files, or export the disk again from VMware.</source>
        <translation>Der VMDK-Deskriptor ist beschädigt: {detail}. Öffnen Sie den Deskriptor (die kleine .vmdk-Textdatei) in einem Texteditor und vergleichen Sie ihn mit den Dateien des Datenträgers, oder exportieren Sie den Datenträger erneut aus VMware.</translation>
    </message>
    <message>
        <source>line {number} is not a valid extent line: {line!r}</source>
        <translation>Zeile {number} ist keine gültige Extent-Zeile: {line!r}</translation>
    </message>
    <message>
        <source>the {kind} extent on line {number} names no file</source>
        <translation>der {kind}-Extent in Zeile {number} nennt keine Datei</translation>
    </message>
    <message>
        <source>it lists more than {limit:,} extents</source>
        <translation>er führt mehr als {limit:,} Extents auf</translation>
    </message>
    <message>
        <source>it has no createType line</source>
        <translation>er hat keine createType-Zeile</translation>
    </message>
    <message>
        <source>it lists no extents (the files that hold the data)</source>
        <translation>er führt keine Extents auf (die Dateien, die die Daten enthalten)</translation>
    </message>
    <message>
        <source>its {key} {text!r} is not a hexadecimal id</source>
        <translation>sein {key} {text!r} ist keine hexadezimale ID</translation>
    </message>
    <message>
        <source>The VMDK&apos;s compressed data is damaged: {detail}. The disk cannot be read safely; copy the file again, or export the disk again from its source (VMware &apos;Export OVF Template&apos;, ovftool).</source>
        <translation>Die komprimierten Daten der VMDK sind beschädigt: {detail}. Der Datenträger kann nicht sicher gelesen werden; kopieren Sie die Datei erneut oder exportieren Sie den Datenträger erneut aus seiner Quelle (VMware &apos;Export OVF Template&apos;, ovftool).</translation>
    </message>
    <message>
        <source>VMDK sparse header</source>
        <translation>VMDK-Sparse-Header</translation>
    </message>
    <message>
        <source>the VMDK sparse extent does not start with &apos;KDMV&apos;</source>
        <translation>der VMDK-Sparse-Extent beginnt nicht mit &apos;KDMV&apos;</translation>
    </message>
    <message>
        <source>its VMDK sparse header has version {version}, which this program does not know</source>
        <translation>sein VMDK-Sparse-Header hat die Version {version}, die dieses Programm nicht kennt</translation>
    </message>
    <message>
        <source>the VMDK&apos;s line-end test bytes were changed, which happens when a file is copied in text mode (FTP &apos;ASCII&apos;): copy it again in binary mode</source>
        <translation>die Zeilenende-Testbytes der VMDK wurden verändert, was passiert, wenn eine Datei im Textmodus kopiert wird (FTP &apos;ASCII&apos;): kopieren Sie sie erneut im Binärmodus</translation>
    </message>
    <message>
        <source>the VMDK sparse header gives a capacity of zero sectors</source>
        <translation>der VMDK-Sparse-Header gibt eine Kapazität von null Sektoren an</translation>
    </message>
    <message>
        <source>the VMDK sparse header gives {gtes_per_gt:,} entries per grain table (VMware writes 512)</source>
        <translation>der VMDK-Sparse-Header gibt {gtes_per_gt:,} Einträge pro Grain-Tabelle an (VMware schreibt 512)</translation>
    </message>
    <message>
        <source>its grains are compressed with method {compression}; only deflate is known</source>
        <translation>seine Grains sind mit Methode {compression} komprimiert; bekannt ist nur deflate</translation>
    </message>
    <message>
        <source>the VMDK sparse header does not say where its grain directory is</source>
        <translation>der VMDK-Sparse-Header gibt nicht an, wo sein Grain-Verzeichnis liegt</translation>
    </message>
    <message>
        <source>VMDK grain directory</source>
        <translation>VMDK-Grain-Verzeichnis</translation>
    </message>
    <message>
        <source>grain table {table} is recorded at byte {at:,}, past the end of the {size:,}-byte file</source>
        <translation>Grain-Tabelle {table} ist bei Byte {at:,} eingetragen, hinter dem Ende der {size:,} Bytes großen Datei</translation>
    </message>
    <message>
        <source>VMDK stream (its end-of-stream marker)</source>
        <translation>VMDK-Stream (seine Stream-Ende-Markierung)</translation>
    </message>
    <message>
        <source>the marker at byte {pos:,} is garbled (sector {sector:,}, {size:,} bytes)</source>
        <translation>die Markierung bei Byte {pos:,} ist verstümmelt (Sektor {sector:,}, {size:,} Bytes)</translation>
    </message>
    <message>
        <source>the marker at byte {pos:,} is garbled (type {kind}, {sectors:,} sectors)</source>
        <translation>die Markierung bei Byte {pos:,} ist verstümmelt (Typ {kind}, {sectors:,} Sektoren)</translation>
    </message>
    <message>
        <source>grain {grain:,} is stored twice (markers at sectors {first:,} and {second:,})</source>
        <translation>Grain {grain:,} ist doppelt gespeichert (Markierungen bei den Sektoren {first:,} und {second:,})</translation>
    </message>
    <message>
        <source>grain {grain:,} is recorded at byte {at:,}, but its data would end at byte {end:,} of a {size:,}-byte file</source>
        <translation>Grain {grain:,} ist bei Byte {at:,} eingetragen, seine Daten würden aber bei Byte {end:,} einer {size:,} Bytes großen Datei enden</translation>
    </message>
    <message>
        <source>grain {grain:,} is recorded at byte {at:,}, past the end of the {size:,}-byte file</source>
        <translation>Grain {grain:,} ist bei Byte {at:,} eingetragen, hinter dem Ende der {size:,} Bytes großen Datei</translation>
    </message>
    <message>
        <source>the marker of grain {grain:,} (at byte {at:,}) says sector {lba:,} and {length:,} bytes</source>
        <translation>die Markierung von Grain {grain:,} (bei Byte {at:,}) nennt Sektor {lba:,} und {length:,} Bytes</translation>
    </message>
    <message>
        <source>grain {grain:,} at byte {at:,} claims {length:,} compressed bytes, past the end of the {size:,}-byte file</source>
        <translation>Grain {grain:,} bei Byte {at:,} gibt {length:,} komprimierte Bytes an, über das Ende der {size:,} Bytes großen Datei hinaus</translation>
    </message>
    <message>
        <source>grain {grain:,} at byte {at:,} does not inflate ({exc})</source>
        <translation>Grain {grain:,} bei Byte {at:,} lässt sich nicht dekomprimieren ({exc})</translation>
    </message>
    <message>
        <source>grain {grain:,} at byte {at:,} inflates to {actual:,} bytes, not {needed:,}</source>
        <translation>Grain {grain:,} bei Byte {at:,} ergibt dekomprimiert {actual:,} Bytes, nicht {needed:,}</translation>
    </message>
    <message>
        <source>Data disk LUN {lun}</source>
        <translation>Datenträger für Daten LUN {lun}</translation>
    </message>
    <message>
        <source>OS disk: {name} (size unknown)</source>
        <translation>Betriebssystemdatenträger: {name} (Größe unbekannt)</translation>
    </message>
    <message>
        <source>OS disk: {name} ({size} GiB)</source>
        <translation>Betriebssystemdatenträger: {name} ({size} GiB)</translation>
    </message>
    <message>
        <source>Data disk LUN {lun}: {name} (size unknown)</source>
        <translation>Datenträger für Daten LUN {lun}: {name} (Größe unbekannt)</translation>
    </message>
    <message>
        <source>Data disk LUN {lun}: {name} ({size} GiB)</source>
        <translation>Datenträger für Daten LUN {lun}: {name} ({size} GiB)</translation>
    </message>
    <message>
        <source>Running</source>
        <translation>Wird ausgeführt</translation>
    </message>
    <message>
        <source>Stopped (allocated)</source>
        <translation>Beendet (zugeordnet)</translation>
    </message>
    <message>
        <source>Stopped (deallocated)</source>
        <translation>Beendet (Zuordnung aufgehoben)</translation>
    </message>
    <message>
        <source>running</source>
        <translation>wird ausgeführt</translation>
    </message>
    <message>
        <source>stopped (allocated)</source>
        <translation>beendet (zugeordnet)</translation>
    </message>
    <message>
        <source>stopped (deallocated)</source>
        <translation>beendet (Zuordnung aufgehoben)</translation>
    </message>
    <message>
        <source>OS + {count} data · {total} GiB</source>
        <translation>Betriebssystem + {count} Daten · {total} GiB</translation>
    </message>
    <message>
        <source>OS only · {total} GiB</source>
        <translation>nur Betriebssystem · {total} GiB</translation>
    </message>
    <message>
        <source>Creating a temporary disk from the image version</source>
        <translation>Temporären Datenträger aus der Imageversion erstellen</translation>
    </message>
    <message>
        <source>Granting read access</source>
        <translation>Lesezugriff gewähren</translation>
    </message>
    <message>
        <source>Downloading</source>
        <translation>Herunterladen</translation>
    </message>
    <message>
        <source>Revoking read access</source>
        <translation>Lesezugriff widerrufen</translation>
    </message>
    <message>
        <source>Deleting the temporary disk</source>
        <translation>Temporären Datenträger löschen</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>Fertig</translation>
    </message>
    <message>
        <source>No such data disk</source>
        <translation>Kein solcher Datenträger für Daten</translation>
    </message>
    <message>
        <source>Leave the LUN out for the OS disk, or give one of the version&apos;s data-disk LUNs.</source>
        <translation>Lassen Sie die LUN für den Betriebssystemdatenträger weg, oder geben Sie eine der LUNs der Datenträger für Daten dieser Version an.</translation>
    </message>
    <message>
        <source>Downloading a resource needs a signed-in session.</source>
        <translation>Zum Herunterladen einer Ressource müssen Sie angemeldet sein.</translation>
    </message>
    <message>
        <source>managed disk {name}</source>
        <translation>verwalteter Datenträger {name}</translation>
    </message>
    <message>
        <source>snapshot {name}</source>
        <translation>Momentaufnahme {name}</translation>
    </message>
    <message>
        <source>The image version {version} has no data disk at LUN {lun} (its data disks: {luns}).</source>
        <translation>Die Imageversion {version} hat keinen Datenträger für Daten mit LUN {lun} (ihre Datenträger für Daten: {luns}).</translation>
    </message>
    <message>
        <source>image version {version} (through the temporary disk {disk})</source>
        <translation>Imageversion {version} (über den temporären Datenträger {disk})</translation>
    </message>
    <message>
        <source>Azure granted read access to {source} but returned no SAS URL.</source>
        <translation>Azure hat Lesezugriff auf {source} gewährt, aber keine SAS-URL zurückgegeben.</translation>
    </message>
    <message>
        <source>Revoking the read access to {source} failed ({message}). Revoke it yourself (az disk revoke-access, or az snapshot revoke-access) before using it.</source>
        <translation>Der Lesezugriff auf {source} konnte nicht widerrufen werden ({message}). Widerrufen Sie ihn selbst (az disk revoke-access bzw. az snapshot revoke-access), bevor Sie die Ressource verwenden.</translation>
    </message>
    <message>
        <source>The temporary disk {name} in {group} could not be deleted ({message}). Delete it yourself (az disk delete) to stop paying for it.</source>
        <translation>Der temporäre Datenträger {name} in {group} konnte nicht gelöscht werden ({message}). Löschen Sie ihn selbst (az disk delete), damit keine Kosten mehr anfallen.</translation>
    </message>
    <message>
        <source>The download of {source} was cancelled. Start it again to continue.</source>
        <translation>Der Download von {source} wurde abgebrochen. Starten Sie ihn erneut, um fortzufahren.</translation>
    </message>
    <message>
        <source>The upload to managed disk {name} is paused; it resumes where it stopped at the next start (its write access is kept in the keyring).</source>
        <translation>Der Upload auf den verwalteten Datenträger {name} ist angehalten; er wird beim nächsten Start an der Stelle fortgesetzt, an der er angehalten hat (sein Schreibzugriff bleibt im Schlüsselbund gespeichert).</translation>
    </message>
    <message>
        <source>its write access was not in the keyring</source>
        <translation>sein Schreibzugriff war nicht im Schlüsselbund</translation>
    </message>
    <message>
        <source>this system has no keyring to keep its write access in</source>
        <translation>dieses System hat keinen Schlüsselbund, um seinen Schreibzugriff aufzubewahren</translation>
    </message>
    <message>
        <source>The disk {name} was still open for an upload that was interrupted, and {where} ({message}). Access is now revoked so the disk is not stuck in ActiveUpload; delete it and upload again, or choose another name.</source>
        <translation>Der Datenträger {name} war noch für einen unterbrochenen Upload geöffnet, und {where} ({message}). Der Zugriff wurde jetzt widerrufen, damit der Datenträger nicht in ActiveUpload hängen bleibt; löschen Sie ihn und laden Sie erneut hoch, oder wählen Sie einen anderen Namen.</translation>
    </message>
    <message>
        <source>The upload to managed disk {name} was cancelled before data was sent. Start it again to continue.</source>
        <translation>Der Upload auf den verwalteten Datenträger {name} wurde abgebrochen, bevor Daten gesendet wurden. Starten Sie ihn erneut, um fortzufahren.</translation>
    </message>
    <message>
        <source>A disk named {name} already exists in {resource_group} ({state}): choose another name, or delete that disk first.</source>
        <translation>Ein Datenträger namens {name} existiert bereits in {resource_group} ({state}): Wählen Sie einen anderen Namen, oder löschen Sie zuerst diesen Datenträger.</translation>
    </message>
    <message>
        <source>The disk {name} waits for an upload of {declared} bytes, but this image needs {size}: delete the disk or choose another name.</source>
        <translation>Der Datenträger {name} wartet auf einen Upload von {declared} Bytes, dieses Image benötigt aber {size}: Löschen Sie den Datenträger, oder wählen Sie einen anderen Namen.</translation>
    </message>
    <message>
        <source>Azure granted access to disk {name} but returned no SAS URL.</source>
        <translation>Azure hat Zugriff auf den Datenträger {name} gewährt, aber keine SAS-URL zurückgegeben.</translation>
    </message>
    <message>
        <source>The data of disk {name} is uploaded, but revoking write access failed ({message}). Revoke it (az disk revoke-access) before using the disk.</source>
        <translation>Die Daten des Datenträgers {name} sind hochgeladen, aber das Widerrufen des Schreibzugriffs ist fehlgeschlagen ({message}). Widerrufen Sie ihn (az disk revoke-access), bevor Sie den Datenträger verwenden.</translation>
    </message>
    <message>
        <source>Storage account {name} gave no key. Key access may be disabled on it: paste a SAS URL instead, or allow shared key access.</source>
        <translation>Das Speicherkonto {name} hat keinen Schlüssel geliefert. Der Schlüsselzugriff ist darauf womöglich deaktiviert: Fügen Sie stattdessen eine SAS-URL ein, oder erlauben Sie den Zugriff mit gemeinsam verwendetem Schlüssel.</translation>
    </message>
    <message>
        <source>Could not sign a SAS for {name}: {reason}</source>
        <translation>Für {name} konnte keine SAS signiert werden: {reason}</translation>
    </message>
    <message>
        <source>{blob_url} does not name a container and a blob.</source>
        <translation>{blob_url} nennt keinen Container und keinen Blob.</translation>
    </message>
    <message>
        <source>DMG (Apple disk image)</source>
        <translation>DMG (Apple-Datenträgerabbild)</translation>
    </message>
    <message>
        <source>QCOW (version 1)</source>
        <translation>QCOW (Version 1)</translation>
    </message>
    <message>
        <source>encrypted QCOW2</source>
        <translation>verschlüsseltes QCOW2</translation>
    </message>
    <message>
        <source>VMDK (ESX sparse, COWD)</source>
        <translation>VMDK (ESX sparse, COWD)</translation>
    </message>
    <message>
        <source>unknown type</source>
        <translation>unbekannter Typ</translation>
    </message>
    <message>
        <source>Its data file &apos;{data}&apos; is a raw disk: choosing that file instead also works.</source>
        <translation>Seine Datendatei &apos;{data}&apos; ist ein Raw-Datenträger: Sie können auch diese Datei stattdessen auswählen.</translation>
    </message>
    <message>
        <source>VMDK descriptor ({create_type})</source>
        <translation>VMDK-Deskriptor ({create_type})</translation>
    </message>
    <message>
        <source>LUKS{version} encrypted volume</source>
        <translation>verschlüsseltes LUKS{version}-Volume</translation>
    </message>
    <message>
        <source>OVA (virtual appliance)</source>
        <translation>OVA (virtuelle Appliance)</translation>
    </message>
    <message>
        <source>ISO 9660 (CD/DVD image)</source>
        <translation>ISO 9660 (CD/DVD-Abbild)</translation>
    </message>
    <message>
        <source>UDF (DVD image)</source>
        <translation>UDF (DVD-Abbild)</translation>
    </message>
    <message>
        <source>{name} is recognised by its content as {label}, whatever its name says; Azure needs a fixed VHD and could not boot it as it is. {note} Convert it first: {command}</source>
        <translation>{name} wurde an seinem Inhalt als {label} erkannt, unabhängig von seinem Namen; Azure benötigt eine feste VHD und könnte ihn so nicht starten. {note} Konvertieren Sie ihn zuerst: {command}</translation>
    </message>
    <message>
        <source>{name} is recognised by its content as {label}, whatever its name says; Azure needs a fixed VHD and could not boot it as it is. Convert it first: {command}</source>
        <translation>{name} wurde an seinem Inhalt als {label} erkannt, unabhängig von seinem Namen; Azure benötigt eine feste VHD und könnte ihn so nicht starten. Konvertieren Sie ihn zuerst: {command}</translation>
    </message>
    <message>
        <source>{name} is recognised by its content as {label}, whatever its name says: an archive, not a disk. Unpack it first ({command}), then convert the .vmdk disk inside it with &apos;{convert}&apos;.</source>
        <translation>{name} wurde an seinem Inhalt als {label} erkannt, unabhängig von seinem Namen: ein Archiv, kein Datenträger. Entpacken Sie es zuerst ({command}) und konvertieren Sie dann den enthaltenen .vmdk-Datenträger mit &apos;{convert}&apos;.</translation>
    </message>
    <message>
        <source>{name} is recognised by its content as {label}, whatever its name says: an archive, not a disk. Unpack it first ({command}), then choose the disk image it contains.</source>
        <translation>{name} wurde an seinem Inhalt als {label} erkannt, unabhängig von seinem Namen: ein Archiv, kein Datenträger. Entpacken Sie es zuerst ({command}) und wählen Sie dann das enthaltene Datenträgerimage aus.</translation>
    </message>
    <message>
        <source>{name} is recognised by its content as {label}, whatever its name says: an installer ISO is not a disk. Install the operating system from it onto a virtual machine&apos;s disk (Hyper-V, qemu), then upload that disk, or start from an Azure Marketplace image.</source>
        <translation>{name} wurde an seinem Inhalt als {label} erkannt, unabhängig von seinem Namen: Eine Installations-ISO ist kein Datenträger. Installieren Sie das Betriebssystem davon auf den Datenträger eines virtuellen Computers (Hyper-V, qemu) und laden Sie dann diesen Datenträger hoch, oder beginnen Sie mit einem Image aus dem Azure Marketplace.</translation>
    </message>
    <message>
        <source>{name} is recognised by its content as {label}, whatever its name says: it is encrypted, and Azure cannot read an encrypted disk image. Decrypt it where its key is known (for LUKS: &apos;cryptsetup open&apos;, then copy the opened device to a raw file) and upload that, or upload an unencrypted disk and use Azure Disk Encryption.</source>
        <translation>{name} wurde an seinem Inhalt als {label} erkannt, unabhängig von seinem Namen: Er ist verschlüsselt, und Azure kann kein verschlüsseltes Datenträgerimage lesen. Entschlüsseln Sie ihn dort, wo sein Schlüssel bekannt ist (für LUKS: &apos;cryptsetup open&apos;, dann das geöffnete Gerät in eine Raw-Datei kopieren), und laden Sie diese hoch, oder laden Sie einen unverschlüsselten Datenträger hoch und verwenden Sie Azure Disk Encryption.</translation>
    </message>
    <message>
        <source>not a FAT file system</source>
        <translation>kein FAT-Dateisystem</translation>
    </message>
    <message>
        <source>the volume is larger than its partition</source>
        <translation>das Volume ist größer als seine Partition</translation>
    </message>
    <message>
        <source>the FAT is cut short</source>
        <translation>die FAT ist abgeschnitten</translation>
    </message>
    <message>
        <source>a cluster chain points at cluster {cluster}, outside the volume</source>
        <translation>eine Clusterkette zeigt auf Cluster {cluster} außerhalb des Volumes</translation>
    </message>
    <message>
        <source>a cluster chain loops back to cluster {cluster}</source>
        <translation>eine Clusterkette führt zurück zu Cluster {cluster}</translation>
    </message>
    <message>
        <source>EFI system partition</source>
        <translation>EFI-Systempartition</translation>
    </message>
    <message>
        <source>Microsoft reserved partition</source>
        <translation>Microsoft-reservierte Partition</translation>
    </message>
    <message>
        <source>BIOS boot partition</source>
        <translation>BIOS-Startpartition</translation>
    </message>
    <message>
        <source>Microsoft basic data</source>
        <translation>Microsoft-Basisdaten</translation>
    </message>
    <message>
        <source>Windows recovery environment</source>
        <translation>Windows-Wiederherstellungsumgebung</translation>
    </message>
    <message>
        <source>Linux file system</source>
        <translation>Linux-Dateisystem</translation>
    </message>
    <message>
        <source>Linux extended boot</source>
        <translation>Linux Extended Boot</translation>
    </message>
    <message>
        <source>Linux home</source>
        <translation>Linux-Home</translation>
    </message>
    <message>
        <source>Linux root (x86-64)</source>
        <translation>Linux-Root (x86-64)</translation>
    </message>
    <message>
        <source>Linux root (Arm64)</source>
        <translation>Linux-Root (Arm64)</translation>
    </message>
    <message>
        <source>Linux root (x86)</source>
        <translation>Linux-Root (x86)</translation>
    </message>
    <message>
        <source>GPT protective</source>
        <translation>GPT-Schutzpartition</translation>
    </message>
    <message>
        <source>extended</source>
        <translation>erweitert</translation>
    </message>
    <message>
        <source>extended (LBA)</source>
        <translation>erweitert (LBA)</translation>
    </message>
    <message>
        <source>Linux extended</source>
        <translation>Linux erweitert</translation>
    </message>
    <message>
        <source>other</source>
        <translation>andere</translation>
    </message>
    <message>
        <source>{path} (no readable PE header)</source>
        <translation>{path} (kein lesbarer PE-Header)</translation>
    </message>
    <message>
        <source>{path} (PE machine 0x{machine:04X}: {architecture})</source>
        <translation>{path} (PE-Maschinentyp 0x{machine:04X}: {architecture})</translation>
    </message>
    <message>
        <source>Stopped reading the disk&apos;s structures after the allowed amount: they are unusually large or damaged, so what follows was found before that.</source>
        <translation>Das Lesen der Datenträgerstrukturen wurde nach der erlaubten Menge beendet: Sie sind ungewöhnlich groß oder beschädigt, daher wurde das Folgende vorher gefunden.</translation>
    </message>
    <message>
        <source>The protective MBR announces a GPT, but neither GPT header nor its backup is readable (both fail their checksum or are missing).</source>
        <translation>Der schützende MBR kündigt eine GPT an, aber weder der GPT-Header noch seine Sicherung sind lesbar (beide bestehen die Prüfsumme nicht oder fehlen).</translation>
    </message>
    <message>
        <source>The primary GPT is damaged; the backup GPT at the end of the disk was read instead.</source>
        <translation>Die primäre GPT ist beschädigt; stattdessen wurde die Sicherungs-GPT am Ende des Datenträgers gelesen.</translation>
    </message>
    <message>
        <source>GPT partition {number} lies outside the disk (sectors {first:,}-{last:,}); it was left out.</source>
        <translation>Die GPT-Partition {number} liegt außerhalb des Datenträgers (Sektoren {first:,}-{last:,}); sie wurde ausgelassen.</translation>
    </message>
    <message>
        <source>MBR partition {number} starts beyond the end of the disk; it was left out.</source>
        <translation>Die MBR-Partition {number} beginnt hinter dem Ende des Datenträgers; sie wurde ausgelassen.</translation>
    </message>
    <message>
        <source>The chain of logical partitions is broken; the logical partitions after it were left out.</source>
        <translation>Die Kette der logischen Partitionen ist unterbrochen; die logischen Partitionen danach wurden ausgelassen.</translation>
    </message>
    <message>
        <source>The EFI system partition (partition {number} ({type})) holds no readable FAT file system ({reason}).</source>
        <translation>Die EFI-Systempartition (Partition {number} ({type})) enthält kein lesbares FAT-Dateisystem ({reason}).</translation>
    </message>
    <message>
        <source>The whole disk is one {filesystem} file system without a partition table: it looks like a data disk, not a disk that boots.</source>
        <translation>Der ganze Datenträger ist ein einziges {filesystem}-Dateisystem ohne Partitionstabelle: Er sieht nach einem Datenträger für Daten aus, nicht nach einem, von dem gestartet wird.</translation>
    </message>
    <message>
        <source>The EFI system partition holds Windows Boot Manager ({path}).</source>
        <translation>Die EFI-Systempartition enthält den Windows-Start-Manager ({path}).</translation>
    </message>
    <message>
        <source>Partition {number} is a Microsoft reserved partition.</source>
        <translation>Partition {number} ist eine Microsoft-reservierte Partition.</translation>
    </message>
    <message>
        <source>The NTFS boot code of partition {number} ({type}) loads BOOTMGR, the Windows boot manager.</source>
        <translation>Der NTFS-Startcode von Partition {number} ({type}) lädt BOOTMGR, den Windows-Start-Manager.</translation>
    </message>
    <message>
        <source>Partition {number} ({type}) holds a Linux {filesystem} volume.</source>
        <translation>Partition {number} ({type}) enthält ein Linux-{filesystem}-Volume.</translation>
    </message>
    <message>
        <source>Partition {number} ({type}) has a Linux partition type.</source>
        <translation>Partition {number} ({type}) hat einen Linux-Partitionstyp.</translation>
    </message>
    <message>
        <source>The EFI system partition holds Linux boot loaders ({folders}).</source>
        <translation>Die EFI-Systempartition enthält Linux-Bootloader ({folders}).</translation>
    </message>
    <message>
        <source>The MBR holds GRUB&apos;s boot code.</source>
        <translation>Der MBR enthält den Startcode von GRUB.</translation>
    </message>
    <message>
        <source>The disk holds both Windows and Linux file systems, so which one boots cannot be told from the disk.</source>
        <translation>Der Datenträger enthält Windows- und Linux-Dateisysteme, daher lässt sich am Datenträger nicht erkennen, welches System startet.</translation>
    </message>
    <message>
        <source>No Windows or Linux file system was found on the disk.</source>
        <translation>Auf dem Datenträger wurde kein Windows- oder Linux-Dateisystem gefunden.</translation>
    </message>
    <message numerus="yes">
        <source>The disk has a GPT partition table (checksums valid) with %n partition(s).</source>
        <translation>
            <numerusform>Der Datenträger hat eine GPT-Partitionstabelle (Prüfsummen gültig) mit %n Partition.</numerusform>
            <numerusform>Der Datenträger hat eine GPT-Partitionstabelle (Prüfsummen gültig) mit %n Partitionen.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>The disk has a hybrid MBR: a GPT with %n partition(s), and an MBR that lists partitions too, so BIOS can boot it as well.</source>
        <translation>
            <numerusform>Der Datenträger hat einen hybriden MBR: eine GPT mit %n Partition und einen MBR, der ebenfalls Partitionen auflistet, sodass auch BIOS davon starten kann.</numerusform>
            <numerusform>Der Datenträger hat einen hybriden MBR: eine GPT mit %n Partitionen und einen MBR, der ebenfalls Partitionen auflistet, sodass auch BIOS davon starten kann.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>The disk has an MBR partition table with %n partition(s).</source>
        <translation>
            <numerusform>Der Datenträger hat eine MBR-Partitionstabelle mit %n Partition.</numerusform>
            <numerusform>Der Datenträger hat eine MBR-Partitionstabelle mit %n Partitionen.</numerusform>
        </translation>
    </message>
    <message>
        <source>The disk has no partition table; a {filesystem} file system fills it.</source>
        <translation>Der Datenträger hat keine Partitionstabelle; ein {filesystem}-Dateisystem füllt ihn aus.</translation>
    </message>
    <message>
        <source>The disk has no partition table that could be read (it may be empty).</source>
        <translation>Der Datenträger hat keine lesbare Partitionstabelle (er ist vielleicht leer).</translation>
    </message>
    <message>
        <source>Partition {number} is an EFI system partition.</source>
        <translation>Partition {number} ist eine EFI-Systempartition.</translation>
    </message>
    <message>
        <source>On it: {loaders}.</source>
        <translation>Darauf: {loaders}.</translation>
    </message>
    <message>
        <source>No boot loader was found on it.</source>
        <translation>Darauf wurde kein Bootloader gefunden.</translation>
    </message>
    <message>
        <source>Partition {number} is a BIOS boot partition, where GRUB keeps its code for booting with BIOS.</source>
        <translation>Partition {number} ist eine BIOS-Startpartition, in der GRUB seinen Code für den Start mit BIOS ablegt.</translation>
    </message>
    <message>
        <source>Its hybrid MBR lets BIOS boot it too.</source>
        <translation>Sein hybrider MBR lässt auch BIOS davon starten.</translation>
    </message>
    <message>
        <source>Partition {number} is a BIOS boot partition and there is no EFI system partition, so it boots with BIOS.</source>
        <translation>Partition {number} ist eine BIOS-Startpartition, und es gibt keine EFI-Systempartition, daher startet er mit BIOS.</translation>
    </message>
    <message>
        <source>It has neither an EFI system partition nor a BIOS boot partition, so no boot path was found (a data disk?).</source>
        <translation>Er hat weder eine EFI-Systempartition noch eine BIOS-Startpartition, daher wurde kein Startpfad gefunden (ein Datenträger für Daten?).</translation>
    </message>
    <message>
        <source>Partition {number} is an EFI system partition holding {loaders}.</source>
        <translation>Partition {number} ist eine EFI-Systempartition mit {loaders}.</translation>
    </message>
    <message>
        <source>Its MBR holds boot code for BIOS too.</source>
        <translation>Sein MBR enthält auch Startcode für BIOS.</translation>
    </message>
    <message>
        <source>It has no EFI system partition with a boot loader, so it boots with BIOS (Generation 1).</source>
        <translation>Er hat keine EFI-Systempartition mit einem Bootloader, daher startet er mit BIOS (Generation 1).</translation>
    </message>
    <message>
        <source>The MBR holds boot code.</source>
        <translation>Der MBR enthält Startcode.</translation>
    </message>
    <message>
        <source>The MBR holds no boot code and no partition is marked active yet.</source>
        <translation>Der MBR enthält keinen Startcode, und noch keine Partition ist als aktiv markiert.</translation>
    </message>
    <message>
        <source>The removable-media boot loader {loader}.</source>
        <translation>Der Bootloader für Wechselmedien {loader}.</translation>
    </message>
    <message>
        <source>Its file name names another architecture than its PE header; the header is what the firmware checks.</source>
        <translation>Sein Dateiname nennt eine andere Architektur als sein PE-Header; die Firmware prüft den Header.</translation>
    </message>
    <message>
        <source>That is a 32-bit x86 boot loader; Azure runs only x64 and Arm64 VMs.</source>
        <translation>Das ist ein 32-Bit-x86-Bootloader; Azure betreibt nur x64- und Arm64-VMs.</translation>
    </message>
    <message>
        <source>That machine type is neither x64 nor Arm64.</source>
        <translation>Dieser Maschinentyp ist weder x64 noch Arm64.</translation>
    </message>
    <message>
        <source>The EFI system partition holds removable-media boot loaders for several architectures: {loaders}.</source>
        <translation>Die EFI-Systempartition enthält Bootloader für Wechselmedien für mehrere Architekturen: {loaders}.</translation>
    </message>
    <message>
        <source>The boot loader {loader}.</source>
        <translation>Der Bootloader {loader}.</translation>
    </message>
    <message>
        <source>Partition {number} ({type}) has the {architecture} root or /usr partition type.</source>
        <translation>Partition {number} ({type}) hat den Root- oder /usr-Partitionstyp für {architecture}.</translation>
    </message>
    <message>
        <source>The removable-media boot loader {loader}; its name says {architecture}.</source>
        <translation>Der Bootloader für Wechselmedien {loader}; sein Name nennt {architecture}.</translation>
    </message>
    <message>
        <source>No UEFI boot loader with a readable PE header was found, so the architecture cannot be told from the disk.</source>
        <translation>Es wurde kein UEFI-Bootloader mit lesbarem PE-Header gefunden, daher lässt sich die Architektur am Datenträger nicht erkennen.</translation>
    </message>
    <message>
        <source>Partition {number} ({type}) holds an {filesystem} file system.</source>
        <translation>Partition {number} ({type}) enthält ein {filesystem}-Dateisystem.</translation>
    </message>
    <message>
        <source>unknown</source>
        <translation>unbekannt</translation>
    </message>
    <message>
        <source>This disk boots with UEFI from a GPT EFI system partition; a Generation 1 VM starts with BIOS and will not find a boot loader.</source>
        <translation>Dieser Datenträger startet mit UEFI von einer GPT-EFI-Systempartition; eine VM der Generation 1 startet mit BIOS und findet keinen Bootloader.</translation>
    </message>
    <message>
        <source>This disk boots with UEFI from an EFI system partition; a Generation 1 VM starts with BIOS and will not find a boot loader.</source>
        <translation>Dieser Datenträger startet mit UEFI von einer EFI-Systempartition; eine VM der Generation 1 startet mit BIOS und findet keinen Bootloader.</translation>
    </message>
    <message>
        <source>This disk boots with BIOS and has no EFI system partition with a boot loader; a Generation 2 VM starts with UEFI and will not find a boot loader.</source>
        <translation>Dieser Datenträger startet mit BIOS und hat keine EFI-Systempartition mit einem Bootloader; eine VM der Generation 2 startet mit UEFI und findet keinen Bootloader.</translation>
    </message>
    <message>
        <source>The disk&apos;s boot loader is built for {built_for}; an {architecture} VM cannot run it and will not boot.</source>
        <translation>Der Bootloader des Datenträgers ist für {built_for} gebaut; eine {architecture}-VM kann ihn nicht ausführen und startet nicht.</translation>
    </message>
    <message>
        <source>The disk&apos;s boot loader is 32-bit x86; Azure&apos;s x64 and Arm64 VMs cannot run it and will not boot.</source>
        <translation>Der Bootloader des Datenträgers ist 32-Bit-x86; die x64- und Arm64-VMs von Azure können ihn nicht ausführen und starten nicht.</translation>
    </message>
    <message>
        <source>Arm64 VMs in Azure are Generation 2 only: they start with UEFI, so choose Generation 2.</source>
        <translation>Arm64-VMs gibt es in Azure nur als Generation 2: Sie starten mit UEFI, wählen Sie daher Generation 2.</translation>
    </message>
    <message>
        <source>Windows guest agent</source>
        <translation>Windows-Gast-Agent</translation>
    </message>
    <message>
        <source>Linux agent</source>
        <translation>Linux-Agent</translation>
    </message>
    <message>
        <source>The disk holds {found}; as a {os_type} image Azure would wait for the {agent} and set it up as {os_type}, so the VM would fail to provision.</source>
        <translation>Der Datenträger enthält {found}; als {os_type}-Image würde Azure auf den {agent} warten und ihn als {os_type} einrichten, daher würde die Bereitstellung der VM fehlschlagen.</translation>
    </message>
    <message numerus="yes">
        <source>{name} holds %n disk, so it has no disk number {number}. Choose the file again to see its disks.</source>
        <translation>
            <numerusform>{name} enthält %n Datenträger, daher gibt es keinen Datenträger Nummer {number}. Wählen Sie die Datei erneut aus, um ihre Datenträger zu sehen.</numerusform>
            <numerusform>{name} enthält %n Datenträger, daher gibt es keinen Datenträger Nummer {number}. Wählen Sie die Datei erneut aus, um ihre Datenträger zu sehen.</numerusform>
        </translation>
    </message>
    <message>
        <source>The file cannot be read: {reason}. Check the path.</source>
        <translation>Die Datei kann nicht gelesen werden: {reason}. Prüfen Sie den Pfad.</translation>
    </message>
    <message>
        <source>The proxy {proxy} asks for credentials it did not accept: put them in the proxy variable, e.g. HTTPS_PROXY=http://user:password@proxy:port (percent-encode special characters) ({ids}).</source>
        <translation>Der Proxy {proxy} verlangt Anmeldeinformationen, die er nicht akzeptiert hat: Tragen Sie sie in die Proxyvariable ein, z. B. HTTPS_PROXY=http://user:password@proxy:port (Sonderzeichen prozentkodieren) ({ids}).</translation>
    </message>
    <message>
        <source>The storage service kept failing ({reason}; {attempt} attempts, {retries} retries in this upload). Nothing sent so far is lost: run the same upload again later and it resumes where it stopped.</source>
        <translation>Der Speicherdienst ist wiederholt fehlgeschlagen ({reason}; {attempt} Versuche, {retries} Wiederholungen in diesem Upload). Nichts bisher Gesendete geht verloren: Führen Sie denselben Upload später erneut aus, dann wird er an der Stelle fortgesetzt, an der er angehalten hat.</translation>
    </message>
    <message>
        <source>The proxy {proxy} refused the credentials ({status}): put them in the proxy variable, e.g. HTTPS_PROXY=http://user:password@proxy:port (percent-encode special characters), then run the upload again to resume.</source>
        <translation>Der Proxy {proxy} hat die Anmeldeinformationen abgelehnt ({status}): Tragen Sie sie in die Proxyvariable ein, z. B. HTTPS_PROXY=http://user:password@proxy:port (Sonderzeichen prozentkodieren), und führen Sie den Upload dann erneut aus, um ihn fortzusetzen.</translation>
    </message>
    <message>
        <source>The proxy {proxy} does not allow connections to {host}: ask your network team to allow *.blob.core.windows.net, or add the host to NO_PROXY if it is reachable directly.</source>
        <translation>Der Proxy {proxy} erlaubt keine Verbindungen zu {host}: Bitten Sie Ihr Netzwerkteam, *.blob.core.windows.net freizugeben, oder nehmen Sie den Host in NO_PROXY auf, wenn er direkt erreichbar ist.</translation>
    </message>
    <message>
        <source>The certificate presented for {target} is not trusted ({reason}). If your network inspects TLS, set REQUESTS_CA_BUNDLE (or SSL_CERT_FILE) to a PEM file with your organisation&apos;s root certificate, then run the upload again to resume.</source>
        <translation>Das für {target} vorgelegte Zertifikat ist nicht vertrauenswürdig ({reason}). Wenn Ihr Netzwerk TLS prüft, setzen Sie REQUESTS_CA_BUNDLE (oder SSL_CERT_FILE) auf eine PEM-Datei mit dem Stammzertifikat Ihrer Organisation und führen Sie den Upload dann erneut aus, um ihn fortzusetzen.</translation>
    </message>
    <message>
        <source>The container of {target} does not exist: create it first or check the URL.</source>
        <translation>Der Container von {target} existiert nicht: Erstellen Sie ihn zuerst, oder prüfen Sie die URL.</translation>
    </message>
    <message>
        <source>{target} was not found ({code}): check the URL, the account and the container.</source>
        <translation>{target} wurde nicht gefunden ({code}): Prüfen Sie die URL, das Konto und den Container.</translation>
    </message>
    <message>
        <source>The storage service refused a request to {target}: {answer}. This is not a transient fault; check the target, then run the upload again.</source>
        <translation>Der Speicherdienst hat eine Anforderung an {target} abgelehnt: {answer}. Das ist kein vorübergehender Fehler; prüfen Sie das Ziel und führen Sie den Upload dann erneut aus.</translation>
    </message>
    <message>
        <source>The upload to {target} was cancelled. What was sent stays: start the same upload again to resume.</source>
        <translation>Der Upload nach {target} wurde abgebrochen. Was gesendet wurde, bleibt erhalten: Starten Sie denselben Upload erneut, um ihn fortzusetzen.</translation>
    </message>
    <message>
        <source>The upload failed unexpectedly: {reason}. Run it again to resume.</source>
        <translation>Der Upload ist unerwartet fehlgeschlagen: {reason}. Führen Sie ihn erneut aus, um ihn fortzusetzen.</translation>
    </message>
    <message>
        <source>journal {path}</source>
        <translation>Journal {path}</translation>
    </message>
    <message>
        <source>{path} was modified while it was being uploaded, so the blob mixes old and new data. Upload it again with overwrite.</source>
        <translation>{path} wurde während des Uploads geändert, daher mischt der Blob alte und neue Daten. Laden Sie die Datei mit Überschreiben erneut hoch.</translation>
    </message>
    <message>
        <source>{target} does not exist (any more): create the disk again.</source>
        <translation>{target} existiert nicht (mehr): Erstellen Sie den Datenträger erneut.</translation>
    </message>
    <message>
        <source>{target} was created for {size} bytes but this image needs exactly {expected}: create the disk with that upload size.</source>
        <translation>{target} wurde für {size} Bytes erstellt, dieses Image benötigt aber genau {expected}: Erstellen Sie den Datenträger mit dieser Uploadgröße.</translation>
    </message>
    <message>
        <source>{target} already exists as a {blob_type}: choose another name, or overwrite it.</source>
        <translation>{target} existiert bereits als {blob_type}: Wählen Sie einen anderen Namen, oder überschreiben Sie ihn.</translation>
    </message>
    <message>
        <source>{target} already exists and was not uploaded from this file by Azure Image Studio: choose another name, or overwrite it.</source>
        <translation>{target} existiert bereits und wurde nicht von Azure Image Studio aus dieser Datei hochgeladen: Wählen Sie einen anderen Namen, oder überschreiben Sie ihn.</translation>
    </message>
    <message>
        <source>{target} is {size} bytes, not the {expected} this image needs: overwrite it.</source>
        <translation>{target} hat {size} Bytes, nicht die {expected}, die dieses Image benötigt: Überschreiben Sie ihn.</translation>
    </message>
    <message>
        <source>{target} holds a finished upload of {path}, but the file&apos;s content has changed since (its MD5 differs from the blob&apos;s Content-MD5). Nothing was sent: upload it again with overwrite, or to a new name.</source>
        <translation>{target} enthält einen abgeschlossenen Upload von {path}, aber der Inhalt der Datei hat sich seitdem geändert (ihr MD5 weicht von der Content-MD5 des Blobs ab). Es wurde nichts gesendet: Laden Sie die Datei mit Überschreiben erneut hoch, oder unter einem neuen Namen.</translation>
    </message>
    <message>
        <source>Reading {path} failed: {reason} Run the upload again to resume once the file is readable.</source>
        <translation>Das Lesen von {path} ist fehlgeschlagen: {reason} Führen Sie den Upload erneut aus, um ihn fortzusetzen, sobald die Datei lesbar ist.</translation>
    </message>
    <message>
        <source>{path} changed after part of it was sent: the data at offset {offset} is not what was uploaded there (the file&apos;s size and time may be unchanged). Finishing would mix two versions of the disk, so the upload stopped. Start over (overwrite / discard the unfinished upload): the current content is then uploaded in full.</source>
        <translation>{path} hat sich geändert, nachdem ein Teil davon gesendet wurde: Die Daten an Offset {offset} sind nicht die, die dorthin hochgeladen wurden (Größe und Zeit der Datei sind womöglich unverändert). Ein Abschluss würde zwei Versionen des Datenträgers mischen, daher wurde der Upload angehalten. Beginnen Sie neu (Überschreiben / unvollständigen Upload verwerfen): Der aktuelle Inhalt wird dann vollständig hochgeladen.</translation>
    </message>
    <message>
        <source>{target} vanished during the upload.</source>
        <translation>{target} ist während des Uploads verschwunden.</translation>
    </message>
    <message>
        <source>{target} is {size} bytes after the upload, not {upload_size}: overwrite it and upload again.</source>
        <translation>{target} hat nach dem Upload {size} Bytes, nicht {upload_size}: Überschreiben Sie ihn und laden Sie erneut hoch.</translation>
    </message>
    <message>
        <source>The pages of {target} are not the image&apos;s: {missing} bytes missing, {extra} bytes that should be empty. Run the same upload again: it sends what is missing and clears the rest.</source>
        <translation>Die Seiten von {target} sind nicht die des Images: {missing} Bytes fehlen, {extra} Bytes sollten leer sein. Führen Sie denselben Upload erneut aus: Er sendet das Fehlende und leert den Rest.</translation>
    </message>
    <message>
        <source>{target} differs from the image at offset {offset}. Run the same upload again: it re-sends everything.</source>
        <translation>{target} weicht an Offset {offset} vom Image ab. Führen Sie denselben Upload erneut aus: Er sendet alles erneut.</translation>
    </message>
    <message>
        <source>The VHD footer on {target} differs from the image&apos;s: upload again with overwrite.</source>
        <translation>Die VHD-Fußzeile auf {target} weicht von der des Images ab: Laden Sie mit Überschreiben erneut hoch.</translation>
    </message>
    <message>
        <source>The Content-MD5 on {target} does not match the image&apos;s: upload again with overwrite.</source>
        <translation>Die Content-MD5 auf {target} stimmt nicht mit der des Images überein: Laden Sie mit Überschreiben erneut hoch.</translation>
    </message>
    <message>
        <source>The resume journal {path} cannot be read ({reason}); check the permissions of the data directory.</source>
        <translation>Das Fortsetzungsjournal {path} kann nicht gelesen werden ({reason}); prüfen Sie die Berechtigungen des Datenverzeichnisses.</translation>
    </message>
    <message>
        <source>Cannot write the resume journal {path} ({reason}); free some disk space or fix the permissions of the data directory.</source>
        <translation>Das Fortsetzungsjournal {path} kann nicht geschrieben werden ({reason}); geben Sie Speicherplatz frei, oder korrigieren Sie die Berechtigungen des Datenverzeichnisses.</translation>
    </message>
    <message>
        <source>The upload was cancelled.</source>
        <translation>Der Upload wurde abgebrochen.</translation>
    </message>
    <message>
        <source>Reading {path} at offset {pos} failed: {reason}</source>
        <translation>Das Lesen von {path} an Offset {pos} ist fehlgeschlagen: {reason}</translation>
    </message>
    <message>
        <source>{path} ended early at offset {offset}.</source>
        <translation>{path} endet vorzeitig an Offset {offset}.</translation>
    </message>
    <message>
        <source>Internal error: the hash received the stream out of order at {start}. Run the upload again; it resumes.</source>
        <translation>Interner Fehler: Der Hash hat den Datenstrom an {start} in falscher Reihenfolge erhalten. Führen Sie den Upload erneut aus; er wird fortgesetzt.</translation>
    </message>
    <message>
        <source>The proxy setting {proxy} is malformed ({reason}): fix HTTPS_PROXY / HTTP_PROXY.</source>
        <translation>Die Proxyeinstellung {proxy} ist fehlerhaft ({reason}): Korrigieren Sie HTTPS_PROXY / HTTP_PROXY.</translation>
    </message>
    <message>
        <source>The proxy {proxy} is not an http:// proxy URL: the upload engine talks to its proxy in plain HTTP (the connection to Azure inside stays TLS). Set HTTPS_PROXY=http://host:port.</source>
        <translation>Der Proxy {proxy} ist keine http://-Proxy-URL: Die Upload-Engine spricht mit ihrem Proxy über einfaches HTTP (die Verbindung zu Azure darin bleibt TLS). Setzen Sie HTTPS_PROXY=http://host:port.</translation>
    </message>
    <message>
        <source>{name}={bundle} cannot be used as a CA bundle ({reason}): point it at a PEM file of certificates, or unset it.</source>
        <translation>{name}={bundle} kann nicht als CA-Bundle verwendet werden ({reason}): Lassen Sie die Variable auf eine PEM-Datei mit Zertifikaten zeigen, oder entfernen Sie sie.</translation>
    </message>
    <message>
        <source>A managed-disk upload resumes through the disk upload (it grants a new SAS), not through a blob target.</source>
        <translation>Ein Upload auf einen verwalteten Datenträger wird über den Datenträger-Upload fortgesetzt (er gewährt eine neue SAS), nicht über ein Blob-Ziel.</translation>
    </message>
    <message>
        <source>This upload was started with a SAS URL: resume it with a new SAS URL for {blob_url}.</source>
        <translation>Dieser Upload wurde mit einer SAS-URL gestartet: Setzen Sie ihn mit einer neuen SAS-URL für {blob_url} fort.</translation>
    </message>
    <message>
        <source>Resume this upload with a SAS URL or the connection string for {blob_url}.</source>
        <translation>Setzen Sie diesen Upload mit einer SAS-URL oder der Verbindungszeichenfolge für {blob_url} fort.</translation>
    </message>
    <message>
        <source>Give a SAS URL, a connection string or a sign-in for {blob_url}.</source>
        <translation>Geben Sie eine SAS-URL, eine Verbindungszeichenfolge oder eine Anmeldung für {blob_url} an.</translation>
    </message>
    <message>
        <source>That credential points at {blob_url}, but the unfinished upload goes to {journal_url}.</source>
        <translation>Diese Anmeldeinformationen zeigen auf {blob_url}, der unvollständige Upload geht aber nach {journal_url}.</translation>
    </message>
    <message>
        <source>Cannot read {path} at offset {offset}: {reason}.</source>
        <translation>{path} kann an Offset {offset} nicht gelesen werden: {reason}.</translation>
    </message>
    <message>
        <source>Cannot read {path}: {reason}.</source>
        <translation>{path} kann nicht gelesen werden: {reason}.</translation>
    </message>
    <message>
        <source>{path} names no file to read.</source>
        <translation>{path} nennt keine Datei zum Lesen.</translation>
    </message>
    <message>
        <source>it was started from {other}, not {path}</source>
        <translation>er wurde von {other} aus gestartet, nicht von {path}</translation>
    </message>
    <message>
        <source>{path} changed size ({then} bytes then, {now} now)</source>
        <translation>{path} hat seine Größe geändert (damals {then} Bytes, jetzt {now})</translation>
    </message>
    <message>
        <source>{path} was modified after the upload started</source>
        <translation>{path} wurde nach dem Start des Uploads geändert</translation>
    </message>
    <message>
        <source>a parent disk of {path} changed (or the chain differs)</source>
        <translation>ein übergeordneter Datenträger von {path} hat sich geändert (oder die Kette ist eine andere)</translation>
    </message>
    <message>
        <source>the content of {path} differs (same size and time)</source>
        <translation>der Inhalt von {path} weicht ab (gleiche Größe und Zeit)</translation>
    </message>
    <message>
        <source>the disk id of {path} changed</source>
        <translation>die Datenträger-ID von {path} hat sich geändert</translation>
    </message>
    <message>
        <source>the image&apos;s upload size differs</source>
        <translation>die Uploadgröße des Images weicht ab</translation>
    </message>
    <message>
        <source>it was written by an older version of Azure Image Studio</source>
        <translation>er wurde von einer älteren Version von Azure Image Studio geschrieben</translation>
    </message>
    <message>
        <source>the blob&apos;s metadata</source>
        <translation>die Metadaten des Blobs</translation>
    </message>
    <message>
        <source>the chain of parent disks of {path} is not the one it was</source>
        <translation>die Kette der übergeordneten Datenträger von {path} ist nicht mehr dieselbe</translation>
    </message>
    <message>
        <source>the disk id of {path} changed ({then} then, {now} now)</source>
        <translation>die Datenträger-ID von {path} hat sich geändert (damals {then}, jetzt {now})</translation>
    </message>
    <message>
        <source>The unfinished upload ({where}) belongs to another source: {what}. Mixing them would corrupt the disk, so nothing was sent. Upload to a new name, or start over (overwrite / discard the unfinished upload).</source>
        <translation>Der unvollständige Upload ({where}) gehört zu einer anderen Quelle: {what}. Beide zu mischen würde den Datenträger beschädigen, daher wurde nichts gesendet. Laden Sie unter einem neuen Namen hoch, oder beginnen Sie neu (Überschreiben / unvollständigen Upload verwerfen).</translation>
    </message>
    <message>
        <source>The upload size {size} is not a multiple of 512 bytes; open the file through the disk-image engine, which rounds it to a size Azure accepts.</source>
        <translation>Die Uploadgröße {size} ist kein Vielfaches von 512 Bytes; öffnen Sie die Datei über die Datenträgerimage-Engine, die sie auf eine Größe rundet, die Azure akzeptiert.</translation>
    </message>
    <message>
        <source>The image&apos;s footer is not 512 bytes; the file is not a VHD.</source>
        <translation>Die Fußzeile des Images hat nicht 512 Bytes; die Datei ist keine VHD.</translation>
    </message>
    <message>
        <source>The blob URL</source>
        <extracomment>Credentials are renewed when they have less than this left. False for a managed disk: its blob exists already with the right size. False for a managed disk: its SAS allows pages only, no metadata or properties.</extracomment>
        <translation>Die Blob-URL</translation>
    </message>
    <message>
        <source>{url} names no blob: the URL needs /&lt;container&gt;/&lt;blob&gt; in its path.</source>
        <translation>{url} nennt keinen Blob: Der Pfad der URL muss /&lt;container&gt;/&lt;blob&gt; enthalten.</translation>
    </message>
    <message>
        <source>The SAS for {target} expired at {expiry:%Y-%m-%d %H:%M} UTC. Create a new SAS (read, create and write permissions) and run the same upload again: it resumes where it stopped.</source>
        <translation>Die SAS für {target} ist am {expiry:%Y-%m-%d %H:%M} UTC abgelaufen. Erstellen Sie eine neue SAS (Berechtigungen Lesen, Erstellen und Schreiben) und führen Sie denselben Upload erneut aus: Er wird an der Stelle fortgesetzt, an der er angehalten hat.</translation>
    </message>
    <message>
        <source>{target} refused the request ({status} {code}). Check that the credentials allow read, create and write on the blob (SAS permissions racw, or the role Storage Blob Data Contributor), then run the upload again to resume.</source>
        <translation>{target} hat die Anforderung abgelehnt ({status} {code}). Prüfen Sie, ob die Anmeldeinformationen Lesen, Erstellen und Schreiben für den Blob erlauben (SAS-Berechtigungen racw oder die Rolle Mitwirkender an Storage-Blobdaten), und führen Sie den Upload dann erneut aus, um ihn fortzusetzen.</translation>
    </message>
    <message>
        <source>{url} carries no SAS (no sig= in the query). Paste the full blob SAS URL, or use a connection string or a signed-in account instead.</source>
        <translation>{url} enthält keine SAS (kein sig= in der Abfrage). Fügen Sie die vollständige Blob-SAS-URL ein, oder verwenden Sie stattdessen eine Verbindungszeichenfolge oder ein angemeldetes Konto.</translation>
    </message>
    <message>
        <source>The SAS in the URL expired at {expiry:%Y-%m-%d %H:%M} UTC: create a new one (read, create and write permissions) and try again.</source>
        <translation>Die SAS in der URL ist am {expiry:%Y-%m-%d %H:%M} UTC abgelaufen: Erstellen Sie eine neue (Berechtigungen Lesen, Erstellen und Schreiben) und versuchen Sie es erneut.</translation>
    </message>
    <message>
        <source>The renewed SAS URL</source>
        <translation>Die erneuerte SAS-URL</translation>
    </message>
    <message>
        <source>The connection string is malformed: expected Name=Value pairs separated by &apos;;&apos; (copy it from the storage account&apos;s Access keys page).</source>
        <translation>Die Verbindungszeichenfolge ist fehlerhaft: Erwartet werden durch &apos;;&apos; getrennte Paare Name=Wert (kopieren Sie sie von der Seite „Zugriffsschlüssel“ des Speicherkontos).</translation>
    </message>
    <message>
        <source>The connection string&apos;s BlobEndpoint</source>
        <translation>Der BlobEndpoint der Verbindungszeichenfolge</translation>
    </message>
    <message>
        <source>The connection string says DefaultEndpointsProtocol={protocol}: the account&apos;s requests would travel unencrypted, so it was refused before connecting. Use DefaultEndpointsProtocol=https (as on the storage account&apos;s Access keys page).</source>
        <translation>Die Verbindungszeichenfolge gibt DefaultEndpointsProtocol={protocol} an: Die Anforderungen des Kontos würden unverschlüsselt übertragen, daher wurde sie vor dem Verbinden abgelehnt. Verwenden Sie DefaultEndpointsProtocol=https (wie auf der Seite „Zugriffsschlüssel“ des Speicherkontos).</translation>
    </message>
    <message>
        <source>The connection string names no account (AccountName) and no BlobEndpoint.</source>
        <translation>Die Verbindungszeichenfolge nennt kein Konto (AccountName) und keinen BlobEndpoint.</translation>
    </message>
    <message>
        <source>The connection string holds neither an AccountKey nor a SharedAccessSignature, so it cannot authorise an upload.</source>
        <translation>Die Verbindungszeichenfolge enthält weder einen AccountKey noch eine SharedAccessSignature, daher kann sie keinen Upload autorisieren.</translation>
    </message>
    <message>
        <source>Name the container and the blob to upload to.</source>
        <translation>Geben Sie den Container und den Blob an, in den hochgeladen werden soll.</translation>
    </message>
    <message>
        <source>The account URL</source>
        <translation>Die Konto-URL</translation>
    </message>
    <message>
        <source>{target} refused the signed-in identity ({status} {code}). Assign it the role Storage Blob Data Contributor on the container (role changes take a few minutes), then run the upload again to resume.</source>
        <translation>{target} hat die angemeldete Identität abgelehnt ({status} {code}). Weisen Sie ihr die Rolle Mitwirkender an Storage-Blobdaten für den Container zu (Rollenänderungen dauern einige Minuten), und führen Sie den Upload dann erneut aus, um ihn fortzusetzen.</translation>
    </message>
    <message>
        <source>{what} is not a valid URL ({reason}): {url}. Check it and try again.</source>
        <translation>{what} ist keine gültige URL ({reason}): {url}. Prüfen Sie sie und versuchen Sie es erneut.</translation>
    </message>
    <message>
        <source>{what} is not a full URL (it needs https:// and a host name): {url}.</source>
        <translation>{what} ist keine vollständige URL (sie benötigt https:// und einen Hostnamen): {url}.</translation>
    </message>
    <message>
        <source>{what} uses plain http:// to &apos;{hostname}&apos;. Credentials (SAS, keys, tokens) would travel unencrypted, so it was refused before connecting. Use the https:// address instead (plain http:// is allowed only to this machine: localhost, 127.0.0.1, ::1).</source>
        <translation>{what} verwendet einfaches http:// zu &apos;{hostname}&apos;. Anmeldeinformationen (SAS, Schlüssel, Token) würden unverschlüsselt übertragen, daher wurde die Verbindung vor dem Aufbau abgelehnt. Verwenden Sie stattdessen die https://-Adresse (einfaches http:// ist nur zu diesem Computer erlaubt: localhost, 127.0.0.1, ::1).</translation>
    </message>
    <message>
        <source>{what} uses the scheme &apos;{scheme}://&apos;; only https:// is supported (http:// only to this machine). Use the https:// address.</source>
        <translation>{what} verwendet das Schema &apos;{scheme}://&apos;; unterstützt wird nur https:// (http:// nur zu diesem Computer). Verwenden Sie die https://-Adresse.</translation>
    </message>
    <message>
        <source>Grant read access to the source and write access to the target</source>
        <translation>Lesezugriff auf die Quelle und Schreibzugriff auf das Ziel gewähren</translation>
    </message>
    <message>
        <source>Sign a read-only SAS for {source} and a write SAS for {target} with the accounts&apos; keys (kept in memory)</source>
        <translation>Eine schreibgeschützte SAS für {source} und eine Schreib-SAS für {target} mit den Schlüsseln der Speicherkonten signieren (nur im Arbeitsspeicher)</translation>
    </message>
    <message>
        <source>Nothing was changed. Give URLs with a SAS, or allow shared key access on the storage accounts, and start again.</source>
        <translation>Es wurde nichts geändert. Geben Sie URLs mit einer SAS an oder erlauben Sie den Zugriff mit gemeinsam verwendetem Schlüssel für die Speicherkonten, und starten Sie erneut.</translation>
    </message>
    <message>
        <source>Check {source} and the target container</source>
        <translation>{source} und den Zielcontainer prüfen</translation>
    </message>
    <message>
        <source>Copy {blob} to {account}</source>
        <translation>{blob} nach {account} kopieren</translation>
    </message>
    <message>
        <source>Create blob {target} as a server-side copy of {source}</source>
        <translation>Blob {target} als serverseitige Kopie von {source} erstellen</translation>
    </message>
    <message>
        <source>Delete the incomplete target blob and start the copy again.</source>
        <translation>Löschen Sie den unvollständigen Zielblob, und starten Sie die Kopie erneut.</translation>
    </message>
    <message>
        <source>Verify the copy</source>
        <translation>Kopie überprüfen</translation>
    </message>
    <message>
        <source>The target differs from the source: delete it and start the copy again.</source>
        <translation>Das Ziel weicht von der Quelle ab: Löschen Sie es, und starten Sie die Kopie erneut.</translation>
    </message>
    <message>
        <source>Both URLs carry a SAS; nothing to grant.</source>
        <translation>Beide URLs enthalten eine SAS; es muss nichts gewährt werden.</translation>
    </message>
    <message>
        <source>Read access to the source and write access to the target granted.</source>
        <translation>Lesezugriff auf die Quelle und Schreibzugriff auf das Ziel gewährt.</translation>
    </message>
    <message>
        <source>Storage account {name} gave no key. Key access may be disabled on it: give the source URL with a read SAS instead.</source>
        <translation>Das Speicherkonto {name} hat keinen Schlüssel geliefert. Der Schlüsselzugriff ist dort möglicherweise deaktiviert: Geben Sie stattdessen die Quell-URL mit einer Lese-SAS an.</translation>
    </message>
    <message>
        <source>The source blob {url} does not exist.</source>
        <translation>Der Quellblob {url} ist nicht vorhanden.</translation>
    </message>
    <message>
        <source>{url} is a {kind} larger than 256 MiB; this copy takes page blobs (VHDs) and block blobs up to 256 MiB.</source>
        <translation>{url} ist ein {kind} mit mehr als 256 MiB; diese Kopie nimmt Seitenblobs (VHDs) und Blockblobs bis 256 MiB.</translation>
    </message>
    <message>
        <source>{url} already exists. Choose another name or delete it.</source>
        <translation>{url} ist bereits vorhanden. Wählen Sie einen anderen Namen, oder löschen Sie es.</translation>
    </message>
    <message>
        <source>{url}: {kind}, {size}.</source>
        <translation>{url}: {kind}, {size}.</translation>
    </message>
    <message>
        <source>Azure&apos;s copy ended {status}: {reason}</source>
        <translation>Die Kopie in Azure endete mit {status}: {reason}</translation>
    </message>
    <message>
        <source>{done} of {total} copied</source>
        <translation>{done} von {total} kopiert</translation>
    </message>
    <message>
        <source>{size} copied by Azure.</source>
        <translation>{size} von Azure kopiert.</translation>
    </message>
    <message>
        <source>The copy differs from the source: {problems}</source>
        <translation>Die Kopie weicht von der Quelle ab: {problems}</translation>
    </message>
    <message>
        <source>Size, page list and Content-MD5 match the source ({size}).</source>
        <translation>Größe, Seitenliste und Content-MD5 stimmen mit der Quelle überein ({size}).</translation>
    </message>
    <message>
        <source>No storage account named {account} in the subscriptions you can see. Give the blob URL with a SAS, or the subscription of its account.</source>
        <translation>In den für Sie sichtbaren Abonnements gibt es kein Speicherkonto namens {account}. Geben Sie die Blob-URL mit einer SAS oder das Abonnement des Speicherkontos an.</translation>
    </message>
    <message>
        <source>Check {source} and the target definition {target}</source>
        <translation>{source} und die Zielimagedefinition {target} prüfen</translation>
    </message>
    <message>
        <source>Create image version {version} in subscription {subscription} from {source} (Azure copies it)</source>
        <translation>Imageversion {version} im Abonnement {subscription} aus {source} erstellen (Azure kopiert sie)</translation>
    </message>
    <message>
        <source>Nothing was copied. For another tenant, sign in to it with an account that may write the target gallery, and make sure your account can read the source version (Reader on it); then start the copy again.</source>
        <translation>Es wurde nichts kopiert. Melden Sie sich bei einem anderen Mandanten mit einem Konto an, das in den Zielkatalog schreiben darf, und stellen Sie sicher, dass Ihr Konto die Quellversion lesen kann (Leser-Rolle darauf); starten Sie die Kopie dann erneut.</translation>
    </message>
    <message>
        <source>The source version {version} is {state}; it can be copied once it has succeeded.</source>
        <translation>Die Quellversion {version} hat den Zustand {state}; sie kann kopiert werden, sobald sie erfolgreich erstellt wurde.</translation>
    </message>
    <message>
        <source>Source {version} read; reading the target definition.</source>
        <translation>Quelle {version} gelesen; die Zielimagedefinition wird gelesen.</translation>
    </message>
    <message>
        <source>The target image definition {definition} does not exist in resource group {resource_group}. Create it first (with the same OS type, state, generation and architecture as {source}).</source>
        <translation>Die Zielimagedefinition {definition} ist in der Ressourcengruppe {resource_group} nicht vorhanden. Erstellen Sie sie zuerst (mit demselben Betriebssystemtyp, Zustand, derselben Generation und Architektur wie {source}).</translation>
    </message>
    <message>
        <source>{what}: the source has {source}, the target {target}</source>
        <translation>{what}: Die Quelle hat {source}, das Ziel {target}</translation>
    </message>
    <message>
        <source>{first}; {second}</source>
        <translation>{first}; {second}</translation>
    </message>
    <message>
        <source>The target definition {target} does not match the source&apos;s definition {source}: {differences}.</source>
        <translation>Die Zielimagedefinition {target} passt nicht zur Imagedefinition der Quelle {source}: {differences}.</translation>
    </message>
    <message>
        <source>The source version {version} is not replicated to {region}, the target gallery&apos;s region, where Azure reads it from. Add {region} to its target regions first.</source>
        <translation>Die Quellversion {version} ist nicht in {region} repliziert, der Region des Zielkatalogs, aus der Azure sie liest. Fügen Sie {region} zuerst ihren Zielregionen hinzu.</translation>
    </message>
    <message>
        <source>The target version {version} already exists. Choose another version number.</source>
        <translation>Die Zielversion {version} ist bereits vorhanden. Wählen Sie eine andere Versionsnummer.</translation>
    </message>
    <message>
        <source>{source} can be copied into {target} ({region}).</source>
        <translation>{source} kann nach {target} ({region}) kopiert werden.</translation>
    </message>
    <message>
        <source>Image version {version} accepted; Azure copies and replicates it now.</source>
        <translation>Imageversion {version} angenommen; Azure kopiert und repliziert sie jetzt.</translation>
    </message>
    <message>
        <source>{state} {percent} %</source>
        <translation>{state} {percent} %</translation>
    </message>
    <message>
        <source>Copy refused before any change</source>
        <translation>Kopie vor jeder Änderung abgelehnt</translation>
    </message>
    <message>
        <source>Nothing was changed. Correct what the message names and start the copy again.</source>
        <translation>Es wurde nichts geändert. Korrigieren Sie, was die Meldung nennt, und starten Sie die Kopie erneut.</translation>
    </message>
    <message>
        <source>The target image definition does not match</source>
        <translation>Die Zielimagedefinition passt nicht</translation>
    </message>
    <message>
        <source>Nothing was changed. Pick a target image definition with the same OS type, OS state, Hyper-V generation and architecture as the source&apos;s, or create one that matches.</source>
        <translation>Es wurde nichts geändert. Wählen Sie eine Zielimagedefinition mit demselben Betriebssystemtyp, Betriebssystemzustand, derselben Hyper-V-Generation und Architektur wie die der Quelle, oder erstellen Sie eine passende.</translation>
    </message>
    <message>
        <source>Azure&apos;s copy failed</source>
        <translation>Die Kopie in Azure ist fehlgeschlagen</translation>
    </message>
    <message>
        <source>Azure kept what it had copied so far. Delete the incomplete target and start the copy again; if it fails again, the message names Azure&apos;s reason.</source>
        <translation>Azure hat behalten, was bisher kopiert wurde. Löschen Sie das unvollständige Ziel, und starten Sie die Kopie erneut; schlägt sie wieder fehl, nennt die Meldung den Grund von Azure.</translation>
    </message>
    <message>
        <source>Nothing was changed yet. Correct the cause and start the copy again.</source>
        <translation>Es wurde noch nichts geändert. Beheben Sie die Ursache, und starten Sie die Kopie erneut.</translation>
    </message>
    <message>
        <source>Check {source} and the target in {region}</source>
        <translation>{source} und das Ziel in {region} prüfen</translation>
    </message>
    <message>
        <source>{source} is neither a snapshot nor a managed image.</source>
        <translation>{source} ist weder eine Momentaufnahme noch ein verwaltetes Image.</translation>
    </message>
    <message>
        <source>{source} is already in {region}. Choose another region.</source>
        <translation>{source} befindet sich bereits in {region}. Wählen Sie eine andere Region.</translation>
    </message>
    <message>
        <source>Incremental snapshot of the {role} disk</source>
        <translation>Inkrementelle Momentaufnahme des Datenträgers {role}</translation>
    </message>
    <message>
        <source>Create incremental snapshot {snapshot} of {disk} (deleted at the end)</source>
        <translation>Inkrementelle Momentaufnahme {snapshot} von {disk} erstellen (wird am Ende gelöscht)</translation>
    </message>
    <message>
        <source>Copy the {role} disk to {region}</source>
        <translation>Datenträger {role} nach {region} kopieren</translation>
    </message>
    <message>
        <source>Create snapshot {snapshot} in {region} with CopyStart (Azure copies the data)</source>
        <translation>Momentaufnahme {snapshot} in {region} mit CopyStart erstellen (Azure kopiert die Daten)</translation>
    </message>
    <message>
        <source>Delete the incomplete copy in the target region, then start the copy again.</source>
        <translation>Löschen Sie die unvollständige Kopie in der Zielregion, und starten Sie die Kopie dann erneut.</translation>
    </message>
    <message>
        <source>Create managed image {name} in {region}</source>
        <translation>Verwaltetes Image {name} in {region} erstellen</translation>
    </message>
    <message>
        <source>Create managed image {name} in {resource_group} ({region}) from the copied snapshots</source>
        <translation>Verwaltetes Image {name} in {resource_group} ({region}) aus den kopierten Momentaufnahmen erstellen</translation>
    </message>
    <message>
        <source>The copied snapshots are kept; make the image from them yourself, or delete them and start again.</source>
        <translation>Die kopierten Momentaufnahmen bleiben erhalten; erstellen Sie das Image selbst daraus, oder löschen Sie sie, und starten Sie erneut.</translation>
    </message>
    <message>
        <source>Delete the intermediate snapshots</source>
        <translation>Zwischenmomentaufnahmen löschen</translation>
    </message>
    <message>
        <source>Delete the snapshots made for the copy (the image keeps its own copy of the data)</source>
        <translation>Die für die Kopie erstellten Momentaufnahmen löschen (das Image behält eine eigene Kopie der Daten)</translation>
    </message>
    <message>
        <source>The image is ready. Delete the snapshots named in the message yourself.</source>
        <translation>Das Image ist bereit. Löschen Sie die in der Meldung genannten Momentaufnahmen selbst.</translation>
    </message>
    <message>
        <source>{source} can be copied to {region}.</source>
        <translation>{source} kann nach {region} kopiert werden.</translation>
    </message>
    <message>
        <source>{name} already exists in resource group {resource_group}. Choose another name.</source>
        <translation>{name} ist in der Ressourcengruppe {resource_group} bereits vorhanden. Wählen Sie einen anderen Namen.</translation>
    </message>
    <message>
        <source>{name} is a full snapshot; Azure copies only incremental snapshots to another region (CopyStart). Make an incremental snapshot of its disk and copy that one.</source>
        <translation>{name} ist eine vollständige Momentaufnahme; Azure kopiert nur inkrementelle Momentaufnahmen in eine andere Region (CopyStart). Erstellen Sie eine inkrementelle Momentaufnahme ihres Datenträgers, und kopieren Sie diese.</translation>
    </message>
    <message>
        <source>{name} is itself still being copied ({percent} %). Wait until it is complete.</source>
        <translation>{name} wird selbst noch kopiert ({percent} %). Warten Sie, bis der Vorgang abgeschlossen ist.</translation>
    </message>
    <message>
        <source>The {role} disk of {image} was made from the managed disk {disk}, which no longer exists; Azure cannot copy an image&apos;s own data to another region. Create the image anew in the target region, or make a gallery image version from it and replicate that.</source>
        <translation>Der Datenträger {role} von {image} wurde aus dem verwalteten Datenträger {disk} erstellt, der nicht mehr vorhanden ist; Azure kann die eigenen Daten eines Images nicht in eine andere Region kopieren. Erstellen Sie das Image in der Zielregion neu, oder erstellen Sie daraus eine Imageversion im Katalog, und replizieren Sie diese.</translation>
    </message>
    <message>
        <source>The {role} disk of {image} is the full snapshot {snapshot}; Azure copies only incremental snapshots to another region. Make a disk from it and an incremental snapshot of that disk, then an image from that.</source>
        <translation>Der Datenträger {role} von {image} ist die vollständige Momentaufnahme {snapshot}; Azure kopiert nur inkrementelle Momentaufnahmen in eine andere Region. Erstellen Sie daraus einen Datenträger und davon eine inkrementelle Momentaufnahme, dann daraus ein Image.</translation>
    </message>
    <message>
        <source>The {role} disk of {image} is a VHD blob; Azure&apos;s snapshot copy takes managed snapshots only. Copy the blob to a storage account in the target region (copy BLOB_URL --to CONTAINER_URL) and make the image there from the copy.</source>
        <translation>Der Datenträger {role} von {image} ist ein VHD-Blob; die Momentaufnahmenkopie von Azure nimmt nur verwaltete Momentaufnahmen. Kopieren Sie den Blob in ein Speicherkonto in der Zielregion (copy BLOB_URL --to CONTAINER_URL), und erstellen Sie das Image dort aus der Kopie.</translation>
    </message>
    <message>
        <source>Snapshot {name} made.</source>
        <translation>Momentaufnahme {name} erstellt.</translation>
    </message>
    <message>
        <source>Azure stopped copying {name}: {code}: {reason}</source>
        <translation>Azure hat das Kopieren von {name} abgebrochen: {code}: {reason}</translation>
    </message>
    <message>
        <source>{percent} % copied</source>
        <translation>{percent} % kopiert</translation>
    </message>
    <message>
        <source>{name} copied to {region}.</source>
        <translation>{name} nach {region} kopiert.</translation>
    </message>
    <message>
        <source>Managed image {name} created in {region}.</source>
        <translation>Verwaltetes Image {name} in {region} erstellt.</translation>
    </message>
    <message>
        <source>Deleted: {names}.</source>
        <translation>Gelöscht: {names}.</translation>
    </message>
    <message>
        <source>Not a download source</source>
        <translation>Keine Downloadquelle</translation>
    </message>
    <message>
        <source>Give a page blob&apos;s SAS URL, or the resource ID of a managed disk, a snapshot or a gallery image version (/subscriptions/…/providers/Microsoft.Compute/…).</source>
        <translation>Geben Sie die SAS-URL eines Seitenblobs oder die Ressourcen-ID eines verwalteten Datenträgers, einer Momentaufnahme oder einer Imageversion eines Katalogs an (/subscriptions/…/providers/Microsoft.Compute/…).</translation>
    </message>
    <message>
        <source>A LUN picks a data disk of a gallery image version; a SAS URL names one blob already. Leave the LUN out.</source>
        <translation>Eine LUN wählt einen Datenträger für Daten einer Imageversion aus; eine SAS-URL bezeichnet bereits genau einen Blob. Lassen Sie die LUN weg.</translation>
    </message>
    <message>
        <source>{source} is neither a SAS URL nor a resource ID.</source>
        <translation>{source} ist weder eine SAS-URL noch eine Ressourcen-ID.</translation>
    </message>
    <message>
        <source>A LUN picks a data disk of a gallery image version; a disk or snapshot is one disk already. Leave the LUN out.</source>
        <translation>Eine LUN wählt einen Datenträger für Daten einer Imageversion aus; ein Datenträger oder eine Momentaufnahme ist bereits genau ein Datenträger. Lassen Sie die LUN weg.</translation>
    </message>
    <message>
        <source>LUN {lun} is not a LUN: give 0 or more.</source>
        <translation>LUN {lun} ist keine gültige LUN: Geben Sie 0 oder mehr an.</translation>
    </message>
    <message>
        <source>{source} is not a managed disk, a snapshot or a gallery image version: only those (and page blobs, by SAS URL) can be downloaded.</source>
        <translation>{source} ist weder ein verwalteter Datenträger noch eine Momentaufnahme noch eine Imageversion eines Katalogs: Nur diese (und Seitenblobs per SAS-URL) können heruntergeladen werden.</translation>
    </message>
    <message>
        <source>Choose a Marketplace image version to hand off.</source>
        <translation>Wählen Sie eine Marketplace-Imageversion zum Übergeben.</translation>
    </message>
    <message>
        <source>This gallery image version has no public ID; choose a version of the image.</source>
        <translation>Diese Imageversion des Katalogs hat keine öffentliche ID; wählen Sie eine Version des Images.</translation>
    </message>
    <message>
        <source>Only images and image versions can be handed off as a VM create.</source>
        <translation>Nur Images und Imageversionen lassen sich als VM-Erstellung übergeben.</translation>
    </message>
    <message>
        <source>vCPUs</source>
        <translation>vCPUs</translation>
    </message>
    <message>
        <source>memory (GiB)</source>
        <translation>Arbeitsspeicher (GiB)</translation>
    </message>
    <message>
        <source>Recommended {what}: {value} is outside 1 to {top}.</source>
        <translation>Empfohlene {what}: {value} liegt außerhalb von 1 bis {top}.</translation>
    </message>
    <message>
        <source>Recommended {what}: the minimum ({low}) is above the maximum ({high}). Swap them or leave one empty.</source>
        <translation>Empfohlene {what}: Das Minimum ({low}) liegt über dem Maximum ({high}). Tauschen Sie die Werte oder lassen Sie einen leer.</translation>
    </message>
    <message>
        <source>Azure keeps an end-of-life date once it is set (a date sent empty counts as not sent): choose a later date instead of none.</source>
        <translation>Azure behält ein einmal gesetztes Enddatum (ein leer gesendetes Datum gilt als nicht gesendet): Wählen Sie statt „Keins“ ein späteres Datum.</translation>
    </message>
    <message>
        <source>The end-of-life date must be in the future (or none): VMs would be warned about a date that has passed.</source>
        <translation>Das Enddatum muss in der Zukunft liegen (oder leer sein): VMs würden sonst vor einem bereits vergangenen Datum gewarnt.</translation>
    </message>
    <message>
        <source>Update image definition {path}</source>
        <translation>Imagedefinition {path} aktualisieren</translation>
    </message>
    <message>
        <source>Changes the description, end of life and recommended sizes of {path}.</source>
        <translation>Ändert Beschreibung, Enddatum und empfohlene Größen von {path}.</translation>
    </message>
    <message>
        <source>Azure is updating the definition…</source>
        <translation>Azure aktualisiert die Definition…</translation>
    </message>
    <message>
        <source>Image definition {path} updated.</source>
        <translation>Imagedefinition {path} aktualisiert.</translation>
    </message>
    <message>
        <source>Managed image</source>
        <translation>Verwaltetes Image</translation>
    </message>
    <message>
        <source>Gallery image version</source>
        <translation>Imageversion</translation>
    </message>
    <message>
        <source>Image definition</source>
        <translation>Imagedefinition</translation>
    </message>
    <message>
        <source>Gallery</source>
        <translation>Katalog</translation>
    </message>
    <message>
        <source>Managed disk</source>
        <translation>Verwalteter Datenträger</translation>
    </message>
    <message>
        <source>Snapshot</source>
        <translation>Momentaufnahme</translation>
    </message>
    <message>
        <source>Delete managed image {path}</source>
        <translation>Verwaltetes Image {path} löschen</translation>
    </message>
    <message>
        <source>Delete gallery image version {path}</source>
        <translation>Imageversion {path} löschen</translation>
    </message>
    <message>
        <source>Delete image definition {path}</source>
        <translation>Imagedefinition {path} löschen</translation>
    </message>
    <message>
        <source>Delete gallery {path}</source>
        <translation>Katalog {path} löschen</translation>
    </message>
    <message>
        <source>Delete disk {path}</source>
        <translation>Datenträger {path} löschen</translation>
    </message>
    <message>
        <source>Delete snapshot {path}</source>
        <translation>Momentaufnahme {path} löschen</translation>
    </message>
    <message>
        <source>Managed image {path} deleted.</source>
        <translation>Das verwaltete Image {path} wurde gelöscht.</translation>
    </message>
    <message>
        <source>Gallery image version {path} deleted.</source>
        <translation>Die Imageversion {path} wurde gelöscht.</translation>
    </message>
    <message>
        <source>Image definition {path} deleted.</source>
        <translation>Die Imagedefinition {path} wurde gelöscht.</translation>
    </message>
    <message>
        <source>Gallery {path} deleted.</source>
        <translation>Der Katalog {path} wurde gelöscht.</translation>
    </message>
    <message>
        <source>Disk {path} deleted.</source>
        <translation>Der Datenträger {path} wurde gelöscht.</translation>
    </message>
    <message>
        <source>Snapshot {path} deleted.</source>
        <translation>Die Momentaufnahme {path} wurde gelöscht.</translation>
    </message>
    <message>
        <source>Deletes {what} {path} in resource group {group}.</source>
        <translation>Löscht: {what} {path} in der Ressourcengruppe {group}.</translation>
    </message>
    <message>
        <source>Image definition {path} still has versions that are not selected: {names}. Azure deletes only an empty definition: select those versions too, or delete them first.</source>
        <translation>Die Imagedefinition {path} hat noch Versionen, die nicht ausgewählt sind: {names}. Azure löscht nur eine leere Imagedefinition: Wählen Sie diese Versionen ebenfalls aus, oder löschen Sie sie zuerst.</translation>
    </message>
    <message>
        <source>Gallery {path} still holds image definitions that stay: {names}. Azure deletes only an empty gallery: select those definitions with all their versions too, or delete them first.</source>
        <translation>Der Katalog {path} enthält noch Imagedefinitionen, die bestehen bleiben: {names}. Azure löscht nur einen leeren Katalog: Wählen Sie diese Imagedefinitionen mit allen ihren Versionen ebenfalls aus, oder löschen Sie sie zuerst.</translation>
    </message>
    <message>
        <source>Disk {path} no longer exists. Refresh the tree (F5).</source>
        <translation>Der Datenträger {path} existiert nicht mehr. Aktualisieren Sie die Baumansicht (F5).</translation>
    </message>
    <message>
        <source>Disk {path} is attached to VM {vm}. Detach it from the VM (or delete the VM) first.</source>
        <translation>Der Datenträger {path} ist an den virtuellen Computer {vm} angefügt. Trennen Sie ihn zuerst vom virtuellen Computer (oder löschen Sie den virtuellen Computer).</translation>
    </message>
    <message>
        <source>Disk {path} is in use: {state} (an upload or a download has access to it). Finish or cancel that first.</source>
        <translation>Der Datenträger {path} wird verwendet: {state} (ein Upload oder Download hat Zugriff darauf). Schließen Sie diesen zuerst ab, oder brechen Sie ihn ab.</translation>
    </message>
    <message>
        <source>Snapshot {path} no longer exists. Refresh the tree (F5).</source>
        <translation>Die Momentaufnahme {path} existiert nicht mehr. Aktualisieren Sie die Baumansicht (F5).</translation>
    </message>
    <message>
        <source>Snapshot {path} is being read: {state} (a download has access to it). Finish or cancel that first.</source>
        <translation>Die Momentaufnahme {path} wird gelesen: {state} (ein Download hat Zugriff darauf). Schließen Sie diesen zuerst ab, oder brechen Sie ihn ab.</translation>
    </message>
    <message>
        <source>Azure is deleting it…</source>
        <translation>Azure löscht die Ressource…</translation>
    </message>
    <message>
        <source>Choose a region for every row.</source>
        <translation>Wählen Sie in jeder Zeile eine Region aus.</translation>
    </message>
    <message>
        <source>{region} is listed twice: keep one row per region.</source>
        <translation>{region} ist doppelt aufgeführt: Behalten Sie eine Zeile pro Region.</translation>
    </message>
    <message>
        <source>{region}: {count} replicas is outside what Azure allows. Choose {low} to {high} replicas.</source>
        <translation>{region}: {count} Replikate liegen außerhalb dessen, was Azure zulässt. Wählen Sie {low} bis {high} Replikate.</translation>
    </message>
    <message>
        <source>{region}: {storage} is not a storage account type Azure offers for image versions. Choose Standard_LRS, Standard_ZRS or Premium_LRS.</source>
        <translation>{region}: {storage} ist kein Speicherkontotyp, den Azure für Imageversionen anbietet. Wählen Sie Standard_LRS, Standard_ZRS oder Premium_LRS.</translation>
    </message>
    <message>
        <source>{region}: the storage account type ({old}) cannot be changed once a region holds the version. To use {new} there, drop the region and add it again.</source>
        <translation>{region}: Der Speicherkontotyp ({old}) lässt sich nicht mehr ändern, sobald die Region die Version enthält. Um dort {new} zu verwenden, entfernen Sie die Region und fügen Sie sie erneut hinzu.</translation>
    </message>
    <message>
        <source>{region} has no availability zones, so zone-redundant storage (Standard_ZRS) is not offered there. Choose Standard_LRS or Premium_LRS.</source>
        <translation>{region} hat keine Verfügbarkeitszonen, daher wird zonenredundanter Speicher (Standard_ZRS) dort nicht angeboten. Wählen Sie Standard_LRS oder Premium_LRS.</translation>
    </message>
    <message>
        <source>{region} is where the version was made: Azure keeps it among the target regions. Add it back.</source>
        <translation>In {region} wurde die Version erstellt: Azure behält diese Region unter den Zielregionen. Fügen Sie sie wieder hinzu.</translation>
    </message>
    <message>
        <source>Azure keeps this version in {regions} unless its safeguard allows removing replicated regions (allowDeletionOfReplicatedLocations). Allow it first, or keep the region.</source>
        <translation>Azure behält diese Version in {regions}, solange ihr Schutz das Entfernen replizierter Regionen nicht erlaubt (allowDeletionOfReplicatedLocations). Erlauben Sie es zuerst, oder behalten Sie die Region.</translation>
    </message>
    <message>
        <source>Allow removing {path} from replicated regions</source>
        <translation>Entfernen von {path} aus replizierten Regionen erlauben</translation>
    </message>
    <message>
        <source>Sets safetyProfile.allowDeletionOfReplicatedLocations of {path} to true.</source>
        <translation>Setzt safetyProfile.allowDeletionOfReplicatedLocations von {path} auf „true“.</translation>
    </message>
    <message>
        <source>Update image version {path}</source>
        <translation>Imageversion {path} aktualisieren</translation>
    </message>
    <message>
        <source>Changes the end of life, exclude-from-latest and target regions of {path}; Azure replicates to new and changed regions.</source>
        <translation>Ändert Enddatum, „Von ‚latest‘ ausschließen“ und Zielregionen von {path}; Azure repliziert in neue und geänderte Regionen.</translation>
    </message>
    <message>
        <source>Read Azure&apos;s message. A region that failed to replicate shows Failed in the status: Retry it there; anything else, correct and apply again.</source>
        <translation>Lesen Sie die Meldung von Azure. Eine Region, deren Replikation fehlgeschlagen ist, zeigt im Status „Fehlgeschlagen“: Wiederholen Sie sie dort; alles andere korrigieren Sie und übernehmen erneut.</translation>
    </message>
    <message>
        <source>Not sent: Azure would refuse this change</source>
        <translation>Nicht gesendet: Azure würde diese Änderung ablehnen</translation>
    </message>
    <message>
        <source>Correct what is named and apply again.</source>
        <translation>Korrigieren Sie das Genannte und übernehmen Sie erneut.</translation>
    </message>
    <message>
        <source>Azure is changing the safeguard…</source>
        <translation>Azure ändert den Schutz…</translation>
    </message>
    <message>
        <source>Removing replicated regions is now allowed for this version.</source>
        <translation>Das Entfernen replizierter Regionen ist für diese Version jetzt erlaubt.</translation>
    </message>
    <message>
        <source>Azure is updating the version and replicating it…</source>
        <translation>Azure aktualisiert die Version und repliziert sie…</translation>
    </message>
    <message>
        <source>The version is updated and replicated.</source>
        <translation>Die Version ist aktualisiert und repliziert.</translation>
    </message>
    <message>
        <source>The VM was refused before any change</source>
        <translation>Die VM wurde vor jeder Änderung abgelehnt</translation>
    </message>
    <message>
        <source>Marketplace terms not accepted</source>
        <translation>Marketplace-Bedingungen nicht akzeptiert</translation>
    </message>
    <message>
        <source>Accept the plan&apos;s terms for this subscription (the dialog offers to), then start again. Nothing was changed.</source>
        <translation>Akzeptieren Sie die Bedingungen des Plans für dieses Abonnement (der Dialog bietet es an), und beginnen Sie dann erneut. Es wurde nichts geändert.</translation>
    </message>
    <message>
        <source>The VM did not provision</source>
        <translation>Die VM wurde nicht bereitgestellt</translation>
    </message>
    <message>
        <source>Look at the serial log (boot diagnostics) for why the guest did not report.</source>
        <translation>Sehen Sie im seriellen Protokoll (Startdiagnose) nach, warum sich das Gastsystem nicht gemeldet hat.</translation>
    </message>
    <message>
        <source>Check the request, the size and the plan&apos;s terms</source>
        <translation>Anforderung, Größe und Bedingungen des Plans prüfen</translation>
    </message>
    <message>
        <source>Create resource group {group}</source>
        <translation>Ressourcengruppe {group} erstellen</translation>
    </message>
    <message>
        <source>Use resource group {group}</source>
        <translation>Ressourcengruppe {group} verwenden</translation>
    </message>
    <message>
        <source>Create resource group {group} in {location} (tagged as a test boot; deleted at the end)</source>
        <translation>Ressourcengruppe {group} in {location} erstellen (als Teststart markiert; wird am Ende gelöscht)</translation>
    </message>
    <message>
        <source>Create resource group {group} in {location}</source>
        <translation>Ressourcengruppe {group} in {location} erstellen</translation>
    </message>
    <message>
        <source>Create the network</source>
        <translation>Netzwerk erstellen</translation>
    </message>
    <message>
        <source>Create virtual network {vnet} (10.0.0.0/16, subnet default), public IP address {ip} and network interface {nic}</source>
        <translation>Virtuelles Netzwerk {vnet} (10.0.0.0/16, Subnetz default), öffentliche IP-Adresse {ip} und Netzwerkschnittstelle {nic} erstellen</translation>
    </message>
    <message>
        <source>Create virtual network {vnet} (10.0.0.0/16, subnet default) and network interface {nic}; no public IP</source>
        <translation>Virtuelles Netzwerk {vnet} (10.0.0.0/16, Subnetz default) und Netzwerkschnittstelle {nic} erstellen; keine öffentliche IP-Adresse</translation>
    </message>
    <message>
        <source>Create VM {name}</source>
        <translation>VM {name} erstellen</translation>
    </message>
    <message>
        <source>Create VM {name} ({size}, {security}) from {image} with boot diagnostics</source>
        <translation>VM {name} ({size}, {security}) aus {image} mit Startdiagnose erstellen</translation>
    </message>
    <message>
        <source>Follow provisioning</source>
        <translation>Bereitstellung verfolgen</translation>
    </message>
    <message>
        <source>Verdict</source>
        <translation>Ergebnis</translation>
    </message>
    <message>
        <source>Delete resource group {group}</source>
        <translation>Ressourcengruppe {group} löschen</translation>
    </message>
    <message>
        <source>Delete resource group {group} and everything in it</source>
        <translation>Ressourcengruppe {group} mit allem darin löschen</translation>
    </message>
    <message>
        <source>Delete resource group {group} yourself (portal or `az group delete -n {group}`).</source>
        <translation>Löschen Sie die Ressourcengruppe {group} selbst (Portal oder `az group delete -n {group}`).</translation>
    </message>
    <message>
        <source>Reading the VM sizes of {location}…</source>
        <translation>VM-Größen von {location} werden gelesen…</translation>
    </message>
    <message>
        <source>The terms of plan {plan} ({product}, {publisher}) are not accepted in this subscription; Azure would refuse the VM.</source>
        <translation>Die Bedingungen des Plans {plan} ({product}, {publisher}) sind in diesem Abonnement nicht akzeptiert; Azure würde die VM ablehnen.</translation>
    </message>
    <message>
        <source>Size {size} runs the image; the terms of plan {plan} are accepted.</source>
        <translation>Die Größe {size} führt das Image aus; die Bedingungen des Plans {plan} sind akzeptiert.</translation>
    </message>
    <message>
        <source>Size {size} runs the image.</source>
        <translation>Die Größe {size} führt das Image aus.</translation>
    </message>
    <message>
        <source>Resource group {group} does not exist. Choose another or create a new one.</source>
        <translation>Die Ressourcengruppe {group} existiert nicht. Wählen Sie eine andere, oder erstellen Sie eine neue.</translation>
    </message>
    <message>
        <source>Resource group {group} exists.</source>
        <translation>Die Ressourcengruppe {group} ist vorhanden.</translation>
    </message>
    <message>
        <source>Resource group {group} exists already. Choose it as an existing group, or another name.</source>
        <translation>Die Ressourcengruppe {group} ist bereits vorhanden. Wählen Sie sie als vorhandene Gruppe aus, oder wählen Sie einen anderen Namen.</translation>
    </message>
    <message>
        <source>Resource group {group} created.</source>
        <translation>Ressourcengruppe {group} erstellt.</translation>
    </message>
    <message>
        <source>Virtual network {vnet} created.</source>
        <translation>Virtuelles Netzwerk {vnet} erstellt.</translation>
    </message>
    <message>
        <source>Public IP address {ip} created.</source>
        <translation>Öffentliche IP-Adresse {ip} erstellt.</translation>
    </message>
    <message>
        <source>Network {vnet} and interface {nic} created.</source>
        <translation>Netzwerk {vnet} und Schnittstelle {nic} erstellt.</translation>
    </message>
    <message>
        <source>Azure accepted VM {name}; it is being created.</source>
        <translation>Azure hat die VM {name} angenommen; sie wird erstellt.</translation>
    </message>
    <message>
        <source>Provisioning succeeded; the guest agent is ready.</source>
        <translation>Bereitstellung erfolgreich; der Gast-Agent ist bereit.</translation>
    </message>
    <message>
        <source>Provisioning succeeded, but the guest agent never reported ready.</source>
        <translation>Bereitstellung erfolgreich, aber der Gast-Agent hat sich nie als bereit gemeldet.</translation>
    </message>
    <message>
        <source>Provisioning succeeded; the guest agent has not reported yet.</source>
        <translation>Bereitstellung erfolgreich; der Gast-Agent hat sich noch nicht gemeldet.</translation>
    </message>
    <message>
        <source>Nothing was created; nothing to delete.</source>
        <translation>Es wurde nichts erstellt; nichts zu löschen.</translation>
    </message>
    <message>
        <source>Deleting {group} and everything in it…</source>
        <translation>{group} wird mit allem darin gelöscht…</translation>
    </message>
    <message>
        <source>Resource group {group} deleted; nothing is left behind.</source>
        <translation>Ressourcengruppe {group} gelöscht; es bleibt nichts zurück.</translation>
    </message>
    <message>
        <source>Waiting for Azure…</source>
        <translation>Warten auf Azure…</translation>
    </message>
    <message>
        <source>{states}; guest agent: {agent}</source>
        <translation>{states}; Gast-Agent: {agent}</translation>
    </message>
    <message>
        <source>Enter a VM name.</source>
        <translation>Geben Sie einen VM-Namen ein.</translation>
    </message>
    <message>
        <source>A VM name has 1–64 letters, digits, hyphens, periods or underscores, starts with a letter, digit or underscore and does not end with a hyphen or period.</source>
        <translation>Ein VM-Name hat 1–64 Buchstaben, Ziffern, Bindestriche, Punkte oder Unterstriche, beginnt mit einem Buchstaben, einer Ziffer oder einem Unterstrich und endet nicht mit einem Bindestrich oder Punkt.</translation>
    </message>
    <message>
        <source>A Windows VM name has at most 15 letters, digits or hyphens (it becomes the computer name) and is not only digits.</source>
        <translation>Ein Windows-VM-Name hat höchstens 15 Buchstaben, Ziffern oder Bindestriche (er wird zum Computernamen) und besteht nicht nur aus Ziffern.</translation>
    </message>
    <message>
        <source>Enter an administrator user name.</source>
        <translation>Geben Sie einen Benutzernamen für den Administrator ein.</translation>
    </message>
    <message>
        <source>An administrator name has 1–64 letters, digits, underscores, periods or hyphens and starts with a letter or underscore.</source>
        <translation>Ein Administratorname hat 1–64 Buchstaben, Ziffern, Unterstriche, Punkte oder Bindestriche und beginnt mit einem Buchstaben oder Unterstrich.</translation>
    </message>
    <message>
        <source>Azure does not allow the administrator name {user}; choose another.</source>
        <translation>Azure lässt den Administratornamen {user} nicht zu; wählen Sie einen anderen.</translation>
    </message>
    <message>
        <source>The password needs {low}–{high} characters and three of: a lowercase letter, an uppercase letter, a digit, a special character.</source>
        <translation>Das Kennwort braucht {low}–{high} Zeichen und drei der folgenden: einen Kleinbuchstaben, einen Großbuchstaben, eine Ziffer, ein Sonderzeichen.</translation>
    </message>
    <message>
        <source>Paste an OpenSSH public key (one line starting with ssh-rsa, ssh-ed25519 or ecdsa-sha2-…), for example the contents of ~/.ssh/id_ed25519.pub.</source>
        <translation>Fügen Sie einen öffentlichen OpenSSH-Schlüssel ein (eine Zeile, die mit ssh-rsa, ssh-ed25519 oder ecdsa-sha2-… beginnt), zum Beispiel den Inhalt von ~/.ssh/id_ed25519.pub.</translation>
    </message>
    <message>
        <source>Choose a region.</source>
        <translation>Wählen Sie eine Region.</translation>
    </message>
    <message>
        <source>Choose a VM size that runs the image.</source>
        <translation>Wählen Sie eine VM-Größe, die das Image ausführt.</translation>
    </message>
    <message>
        <source>The size {size} does not run this image ({generation}, {architecture}, {security}); choose one from the list.</source>
        <translation>Die Größe {size} führt dieses Image nicht aus ({generation}, {architecture}, {security}); wählen Sie eine aus der Liste.</translation>
    </message>
    <message>
        <source>The image does not allow security type {security}.</source>
        <translation>Das Image lässt den Sicherheitstyp {security} nicht zu.</translation>
    </message>
    <message>
        <source>Give an SSH public key or a password.</source>
        <translation>Geben Sie einen öffentlichen SSH-Schlüssel oder ein Kennwort an.</translation>
    </message>
    <message>
        <source>Give a password for the Windows administrator.</source>
        <translation>Geben Sie ein Kennwort für den Windows-Administrator an.</translation>
    </message>
    <message>
        <source>The image boots: OS provisioning completed and the guest agent is ready.</source>
        <translation>Das Image startet: Die Betriebssystembereitstellung ist abgeschlossen, und der Gast-Agent ist bereit.</translation>
    </message>
    <message>
        <source>VMs can be created from this image.</source>
        <translation>Aus diesem Image können VMs erstellt werden.</translation>
    </message>
    <message>
        <source>OS provisioning timed out: the image&apos;s disk was not generalized (or a specialized image was deployed as generalized). The guest booted as the machine it was captured from and never reported for the new VM.</source>
        <translation>Zeitüberschreitung bei der Betriebssystembereitstellung: Der Datenträger des Images wurde nicht verallgemeinert (oder ein spezialisiertes Image wurde als verallgemeinert bereitgestellt). Das Gastsystem startete als der Computer, von dem es erfasst wurde, und hat sich für die neue VM nie gemeldet.</translation>
    </message>
    <message>
        <source>Generalize the source (Windows: sysprep /generalize /oobe /shutdown; Linux: waagent -deprovision+user) and capture it again, or mark the image definition Specialized and create VMs without an OS profile.</source>
        <translation>Verallgemeinern Sie die Quelle (Windows: sysprep /generalize /oobe /shutdown; Linux: waagent -deprovision+user) und erfassen Sie sie erneut, oder kennzeichnen Sie die Imagedefinition als spezialisiert und erstellen Sie VMs ohne Betriebssystemprofil.</translation>
    </message>
    <message>
        <source>The disk does not boot with this Hyper-V generation: the firmware found no bootable device (a BIOS/MBR disk under UEFI, or a UEFI-only disk under BIOS).</source>
        <translation>Der Datenträger startet nicht mit dieser Hyper-V-Generation: Die Firmware fand kein startfähiges Gerät (ein BIOS/MBR-Datenträger unter UEFI oder ein reiner UEFI-Datenträger unter BIOS).</translation>
    </message>
    <message>
        <source>Create the image again with the generation the disk boots with: Gen1 for an MBR disk with a BIOS boot loader, Gen2 for a GPT disk with an EFI system partition.</source>
        <translation>Erstellen Sie das Image erneut mit der Generation, mit der der Datenträger startet: Gen1 für einen MBR-Datenträger mit BIOS-Bootloader, Gen2 für einen GPT-Datenträger mit EFI-Systempartition.</translation>
    </message>
    <message>
        <source>The VM runs, but no guest agent ever reported: the image has no Azure guest agent (WALinuxAgent or cloud-init on Linux, the Windows guest agent).</source>
        <translation>Die VM läuft, aber kein Gast-Agent hat sich je gemeldet: Das Image hat keinen Azure-Gast-Agent (WALinuxAgent oder cloud-init unter Linux, den Windows-Gast-Agent).</translation>
    </message>
    <message>
        <source>Install and enable the Azure guest agent in the image, generalize it and capture it again.</source>
        <translation>Installieren und aktivieren Sie den Azure-Gast-Agent im Image, verallgemeinern Sie es, und erfassen Sie es erneut.</translation>
    </message>
    <message>
        <source>The VM did not provision; Azure&apos;s message says why.</source>
        <translation>Die VM wurde nicht bereitgestellt; die Meldung von Azure nennt den Grund.</translation>
    </message>
    <message>
        <source>Correct what the message names and test-boot the image again.</source>
        <translation>Korrigieren Sie, was die Meldung nennt, und führen Sie den Teststart des Images erneut aus.</translation>
    </message>
    <message>
        <source>Azure refused to create the VM; the image did not boot.</source>
        <translation>Azure hat das Erstellen der VM abgelehnt; das Image wurde nicht gestartet.</translation>
    </message>
    <message>
        <source>Correct what the message names (size, plan, terms, security type) and test-boot the image again.</source>
        <translation>Korrigieren Sie, was die Meldung nennt (Größe, Plan, Bedingungen, Sicherheitstyp), und führen Sie den Teststart des Images erneut aus.</translation>
    </message>
    <message>
        <source>The test boot was cancelled before a verdict.</source>
        <translation>Der Teststart wurde vor einem Ergebnis abgebrochen.</translation>
    </message>
    <message>
        <source>Start it again to find out whether the image boots.</source>
        <translation>Starten Sie ihn erneut, um herauszufinden, ob das Image startet.</translation>
    </message>
    <message>
        <source>Cannot write {path}: {reason}. Choose a folder that exists and that you may write to.</source>
        <translation>{path} kann nicht geschrieben werden: {reason}. Wählen Sie einen vorhandenen Ordner, in den Sie schreiben dürfen.</translation>
    </message>
    <message>
        <source>Not enough free space for {path}: the disk&apos;s data needs {needed} more, but the drive has only {available} free. Free some space or choose a file on another drive.</source>
        <translation>Nicht genügend freier Speicherplatz für {path}: Die Daten des Datenträgers brauchen noch {needed}, auf dem Laufwerk sind aber nur {available} frei. Geben Sie Speicherplatz frei, oder wählen Sie eine Datei auf einem anderen Laufwerk.</translation>
    </message>
    <message>
        <source>The file system of the drive holding {path} cannot store a file of {size} (FAT32, for example, stops at 4 GiB). Choose a drive formatted with NTFS, exFAT, ext4, APFS or XFS.</source>
        <translation>Das Dateisystem des Laufwerks von {path} kann keine Datei mit {size} speichern (FAT32 etwa endet bei 4 GiB). Wählen Sie ein Laufwerk, das mit NTFS, exFAT, ext4, APFS oder XFS formatiert ist.</translation>
    </message>
    <message>
        <source>A {format_name} file cannot hold this disk: it would need {size}, and the format stops at {limit}. Choose another format (a fixed VHD or a raw file holds any size).</source>
        <translation>Eine {format_name}-Datei kann diesen Datenträger nicht aufnehmen: Sie bräuchte {size}, das Format endet aber bei {limit}. Wählen Sie ein anderes Format (eine feste VHD oder eine Raw-Datei nimmt jede Größe auf).</translation>
    </message>
    <message>
        <source>A disk of {size:,} bytes cannot be written: disk sizes are a positive whole number of 512-byte sectors. The source reported a wrong size; check the disk in Azure.</source>
        <translation>Ein Datenträger mit {size:,} Bytes kann nicht geschrieben werden: Datenträgergrößen sind eine positive ganze Zahl von 512-Byte-Sektoren. Die Quelle hat eine falsche Größe gemeldet; prüfen Sie den Datenträger in Azure.</translation>
    </message>
    <message>
        <source>The data range at byte {offset:,} ({length:,} bytes) does not lie inside the {virtual_size:,}-byte disk. The source&apos;s list of data ranges is inconsistent; start the download again.</source>
        <translation>Der Datenbereich bei Byte {offset:,} ({length:,} Bytes) liegt nicht innerhalb des Datenträgers mit {virtual_size:,} Bytes. Die Liste der Datenbereiche der Quelle ist widersprüchlich; starten Sie den Download erneut.</translation>
    </message>
    <message>
        <source>Data arrived for bytes {offset:,} to {end:,} of the disk, which its list of data ranges did not name, so the file has no place for it. The disk changed during the download; download it again from a snapshot.</source>
        <translation>Für die Bytes {offset:,} bis {end:,} des Datenträgers sind Daten eingetroffen, die seine Liste der Datenbereiche nicht nannte; die Datei hat dafür keinen Platz. Der Datenträger hat sich während des Downloads geändert; laden Sie ihn erneut aus einer Momentaufnahme herunter.</translation>
    </message>
    <message>
        <source>{path} cannot be continued: it was not started as this download (its format, size or data layout differ, or it was changed since). Delete it or choose another file name, then start the download again.</source>
        <translation>{path} kann nicht fortgesetzt werden: Die Datei wurde nicht mit diesem Download begonnen (Format, Größe oder Anordnung der Daten weichen ab, oder sie wurde seitdem geändert). Löschen Sie sie, oder wählen Sie einen anderen Dateinamen, und starten Sie den Download dann erneut.</translation>
    </message>
    <message>
        <source>The partly downloaded file {path} is gone, so the download cannot continue where it stopped. Start the download again.</source>
        <translation>Die teilweise heruntergeladene Datei {path} ist nicht mehr vorhanden, daher kann der Download nicht dort fortgesetzt werden, wo er angehalten wurde. Starten Sie den Download erneut.</translation>
    </message>
    <message>
        <source>{path} was already closed for writing; start the download again to continue it.</source>
        <translation>{path} wurde zum Schreiben bereits geschlossen; starten Sie den Download erneut, um ihn fortzusetzen.</translation>
    </message>
    <message>
        <source>Writing {path} failed: {reason}. Check the drive (is it still connected?) and resume the download.</source>
        <translation>Das Schreiben von {path} ist fehlgeschlagen: {reason}. Prüfen Sie das Laufwerk (ist es noch angeschlossen?), und setzen Sie den Download fort.</translation>
    </message>
    <message>
        <source>The read access to {source} expired at {expiry:%Y-%m-%d %H:%M} UTC. Get a new SAS URL (read permission) and run the same download again: it resumes where it stopped.</source>
        <translation>Der Lesezugriff auf {source} ist am {expiry:%Y-%m-%d %H:%M} UTC abgelaufen. Besorgen Sie eine neue SAS-URL (Leseberechtigung), und starten Sie denselben Download erneut: Er wird dort fortgesetzt, wo er angehalten hat.</translation>
    </message>
    <message>
        <source>{source} refused the read ({status} {code}). Check that the SAS allows read (sp=r) and has not been revoked, then run the download again to resume.</source>
        <translation>{source} hat das Lesen abgelehnt ({status} {code}). Prüfen Sie, ob die SAS Lesen erlaubt (sp=r) und nicht widerrufen wurde, und starten Sie den Download dann erneut, um ihn fortzusetzen.</translation>
    </message>
    <message>
        <source>Unknown output format {format}: use one of {formats}.</source>
        <translation>Unbekanntes Ausgabeformat {format}: Verwenden Sie eines von {formats}.</translation>
    </message>
    <message>
        <source>The download of {source} was cancelled. What was fetched stays in {path}: start the same download again to resume.</source>
        <translation>Der Download von {source} wurde abgebrochen. Was bereits geladen wurde, bleibt in {path}: Starten Sie denselben Download erneut, um ihn fortzusetzen.</translation>
    </message>
    <message>
        <source>The download stopped on an unexpected error ({reason}). Run it again: it resumes.</source>
        <translation>Der Download wurde durch einen unerwarteten Fehler angehalten ({reason}). Starten Sie ihn erneut: Er wird fortgesetzt.</translation>
    </message>
    <message>
        <source>{source} is a {blob_type}, not a page blob: disks are page blobs. Download it with a storage tool instead.</source>
        <translation>{source} ist ein {blob_type}, kein Seitenblob: Datenträger sind Seitenblobs. Laden Sie ihn stattdessen mit einem Speichertool herunter.</translation>
    </message>
    <message>
        <source>{source} changed while it was being downloaded, so {path} mixes old and new data. Download it again (from a snapshot if the disk is in use).</source>
        <translation>{source} hat sich während des Downloads geändert, daher mischt {path} alte und neue Daten. Laden Sie ihn erneut herunter (aus einer Momentaufnahme, wenn der Datenträger verwendet wird).</translation>
    </message>
    <message>
        <source>The MD5 of {path} is {md5}, but Azure holds {expected} for {source}: the file does not hold the blob&apos;s data. Download it again (it starts over).</source>
        <translation>Der MD5-Wert von {path} ist {md5}, Azure hat für {source} aber {expected} gespeichert: Die Datei enthält nicht die Daten des Blobs. Laden Sie ihn erneut herunter (der Download beginnt von vorn).</translation>
    </message>
    <message>
        <source>{path} is a folder: give a file name for the download.</source>
        <translation>{path} ist ein Ordner: Geben Sie einen Dateinamen für den Download an.</translation>
    </message>
    <message>
        <source>{path} already exists: choose another file name, or overwrite it.</source>
        <translation>{path} ist bereits vorhanden: Wählen Sie einen anderen Dateinamen, oder überschreiben Sie die Datei.</translation>
    </message>
    <message>
        <source>Cannot create {path} ({reason}): check the folder&apos;s permissions and free space.</source>
        <translation>{path} kann nicht erstellt werden ({reason}): Prüfen Sie die Berechtigungen und den freien Speicherplatz des Ordners.</translation>
    </message>
    <message>
        <source>{source} answered {got} bytes for the {length} asked at offset {offset}. Run the download again: it resumes.</source>
        <translation>{source} hat {got} Bytes statt der an Offset {offset} angeforderten {length} geliefert. Starten Sie den Download erneut: Er wird fortgesetzt.</translation>
    </message>
    <message>
        <source>The storage service kept failing during the download ({reason}; {retries} retries). What was fetched is kept: run the same download again later and it resumes where it stopped.</source>
        <translation>Der Speicherdienst ist während des Downloads wiederholt fehlgeschlagen ({reason}; {retries} Wiederholungen). Was bereits geladen wurde, bleibt erhalten: Starten Sie denselben Download später erneut, dann wird er dort fortgesetzt, wo er angehalten hat.</translation>
    </message>
    <message>
        <source>The blob to download was not found: check the URL (or that the disk&apos;s read access was not revoked), then try again.</source>
        <translation>Der herunterzuladende Blob wurde nicht gefunden: Prüfen Sie die URL (oder ob der Lesezugriff auf den Datenträger widerrufen wurde), und versuchen Sie es dann erneut.</translation>
    </message>
    <message>
        <source>The download journal {path} cannot be read ({reason}); check the permissions of the data directory.</source>
        <translation>Das Download-Journal {path} kann nicht gelesen werden ({reason}); prüfen Sie die Berechtigungen des Datenverzeichnisses.</translation>
    </message>
    <message>
        <source>Cannot write the download journal {path} ({reason}); free some disk space or fix the permissions of the data directory.</source>
        <translation>Das Download-Journal {path} kann nicht geschrieben werden ({reason}); geben Sie Speicherplatz frei, oder korrigieren Sie die Berechtigungen des Datenverzeichnisses.</translation>
    </message>
    <message>
        <source>Sandbox account (offline)</source>
        <translation>Sandbox-Konto (offline)</translation>
    </message>
    <message>
        <source>Shared key access is disabled</source>
        <translation>Der Zugriff mit gemeinsam verwendetem Schlüssel ist deaktiviert</translation>
    </message>
    <message>
        <source>{size} · modified {modified}</source>
        <translation>{size} · geändert {modified}</translation>
    </message>
    <message>
        <source>{size} · modified {modified} · in use</source>
        <translation>{size} · geändert {modified} · in Verwendung</translation>
    </message>
    <message>
        <source>Page blob {blob} is no longer in container {container} of {account}.</source>
        <translation>Der Seitenblob {blob} ist nicht mehr im Container {container} von {account}.</translation>
    </message>
    <message>
        <source>Blob type</source>
        <translation>Blobtyp</translation>
    </message>
    <message>
        <source>Page blob</source>
        <translation>Seitenblob</translation>
    </message>
    <message>
        <source>Use the blob&apos;s URL with a SAS instead (the download and copy commands take one), or allow shared key access on the storage account.</source>
        <translation>Verwenden Sie stattdessen die URL des Blobs mit einer SAS (die Befehle zum Herunterladen und Kopieren nehmen sie an), oder erlauben Sie den Zugriff mit gemeinsam verwendetem Schlüssel auf dem Speicherkonto.</translation>
    </message>
    <message>
        <source>{size} ({count} bytes)</source>
        <translation>{size} ({count} Bytes)</translation>
    </message>
    <message>
        <source>Storage account</source>
        <translation>Speicherkonto</translation>
    </message>
    <message>
        <source>Container</source>
        <translation>Container</translation>
    </message>
    <message>
        <source>Lease</source>
        <translation>Lease</translation>
    </message>
    <message>
        <source>Leased: in use by a VM or a disk</source>
        <translation>Geleast: von einem virtuellen Computer oder Datenträger verwendet</translation>
    </message>
    <message>
        <source>Available: not in use</source>
        <translation>Verfügbar: nicht in Verwendung</translation>
    </message>
    <message>
        <source>Blob URL</source>
        <translation>Blob-URL</translation>
    </message>
    <message>
        <source>Last modified</source>
        <translation>Zuletzt geändert</translation>
    </message>
    <message>
        <source>Content-MD5</source>
        <translation>Content-MD5</translation>
    </message>
    <message>
        <source>Lease duration</source>
        <translation>Leasedauer</translation>
    </message>
    <message>
        <source>Storage account {name} is no longer in resource group {group}.</source>
        <translation>Das Speicherkonto {name} ist nicht mehr in der Ressourcengruppe {group}.</translation>
    </message>
    <message>
        <source>Storage account {name} has no blob service.</source>
        <translation>Das Speicherkonto {name} hat keinen Blobdienst.</translation>
    </message>
    <message>
        <source>Storage account {name} does not accept requests signed with its key.</source>
        <translation>Das Speicherkonto {name} nimmt keine mit seinem Schlüssel signierten Anforderungen an.</translation>
    </message>
    <message>
        <source>Enter a disk name.</source>
        <translation>Geben Sie einen Namen für den Datenträger ein.</translation>
    </message>
    <message>
        <source>The disk name must not start or end with spaces.</source>
        <translation>Der Name des Datenträgers darf nicht mit Leerzeichen beginnen oder enden.</translation>
    </message>
    <message>
        <source>A disk name has 1–80 letters, digits, underscores, periods or hyphens, starts with a letter or digit and ends with a letter, digit or underscore.</source>
        <translation>Der Name eines Datenträgers besteht aus 1–80 Buchstaben, Ziffern, Unterstrichen, Punkten oder Bindestrichen, beginnt mit einem Buchstaben oder einer Ziffer und endet mit einem Buchstaben, einer Ziffer oder einem Unterstrich.</translation>
    </message>
    <message>
        <source>Enter a snapshot name.</source>
        <translation>Geben Sie einen Namen für die Momentaufnahme ein.</translation>
    </message>
    <message>
        <source>The snapshot name must not start or end with spaces.</source>
        <translation>Der Name der Momentaufnahme darf nicht mit Leerzeichen beginnen oder enden.</translation>
    </message>
    <message>
        <source>A snapshot name has 1–80 letters, digits, underscores, periods or hyphens, starts with a letter or digit and ends with a letter, digit or underscore.</source>
        <translation>Der Name einer Momentaufnahme besteht aus 1–80 Buchstaben, Ziffern, Unterstrichen, Punkten oder Bindestrichen, beginnt mit einem Buchstaben oder einer Ziffer und endet mit einem Buchstaben, einer Ziffer oder einem Unterstrich.</translation>
    </message>
    <message>
        <source>Enter an image name.</source>
        <translation>Geben Sie einen Namen für das Image ein.</translation>
    </message>
    <message>
        <source>The image name must not start or end with spaces.</source>
        <translation>Der Name des Images darf nicht mit Leerzeichen beginnen oder enden.</translation>
    </message>
    <message>
        <source>An image name has 1–80 letters, digits, underscores, periods or hyphens, starts with a letter or digit and ends with a letter, digit or underscore.</source>
        <translation>Der Name eines Images besteht aus 1–80 Buchstaben, Ziffern, Unterstrichen, Punkten oder Bindestrichen, beginnt mit einem Buchstaben oder einer Ziffer und endet mit einem Buchstaben, einer Ziffer oder einem Unterstrich.</translation>
    </message>
    <message>
        <source>Enter a gallery name.</source>
        <translation>Geben Sie einen Namen für den Katalog ein.</translation>
    </message>
    <message>
        <source>The gallery name must not start or end with spaces.</source>
        <translation>Der Name des Katalogs darf nicht mit Leerzeichen beginnen oder enden.</translation>
    </message>
    <message>
        <source>A gallery name has 1–80 letters, digits, underscores or periods (no hyphens), and starts and ends with a letter or digit.</source>
        <translation>Der Name eines Katalogs besteht aus 1–80 Buchstaben, Ziffern, Unterstrichen oder Punkten (keine Bindestriche) und beginnt und endet mit einem Buchstaben oder einer Ziffer.</translation>
    </message>
    <message>
        <source>Enter an image definition name.</source>
        <translation>Geben Sie einen Namen für die Imagedefinition ein.</translation>
    </message>
    <message>
        <source>The image definition name must not start or end with spaces.</source>
        <translation>Der Name der Imagedefinition darf nicht mit Leerzeichen beginnen oder enden.</translation>
    </message>
    <message>
        <source>An image definition name has 1–80 letters, digits, underscores, periods or hyphens, and starts and ends with a letter or digit.</source>
        <translation>Der Name einer Imagedefinition besteht aus 1–80 Buchstaben, Ziffern, Unterstrichen, Punkten oder Bindestrichen und beginnt und endet mit einem Buchstaben oder einer Ziffer.</translation>
    </message>
    <message>
        <source>Enter a resource group name.</source>
        <translation>Geben Sie einen Namen für die Ressourcengruppe ein.</translation>
    </message>
    <message>
        <source>The resource group name must not start or end with spaces.</source>
        <translation>Der Name der Ressourcengruppe darf nicht mit Leerzeichen beginnen oder enden.</translation>
    </message>
    <message>
        <source>A resource group name has 1–90 letters, digits, underscores, hyphens, periods or parentheses and does not end with a period.</source>
        <translation>Der Name einer Ressourcengruppe besteht aus 1–90 Buchstaben, Ziffern, Unterstrichen, Bindestrichen, Punkten oder Klammern und endet nicht mit einem Punkt.</translation>
    </message>
    <message>
        <source>Enter a storage account name.</source>
        <translation>Geben Sie einen Namen für das Speicherkonto ein.</translation>
    </message>
    <message>
        <source>The storage account name must not start or end with spaces.</source>
        <translation>Der Name des Speicherkontos darf nicht mit Leerzeichen beginnen oder enden.</translation>
    </message>
    <message>
        <source>A storage account name has 3–24 lowercase letters and digits only.</source>
        <translation>Der Name eines Speicherkontos besteht nur aus 3–24 Kleinbuchstaben und Ziffern.</translation>
    </message>
    <message>
        <source>Enter a container name.</source>
        <translation>Geben Sie einen Namen für den Container ein.</translation>
    </message>
    <message>
        <source>The container name must not start or end with spaces.</source>
        <translation>Der Name des Containers darf nicht mit Leerzeichen beginnen oder enden.</translation>
    </message>
    <message>
        <source>A container name has 3–63 lowercase letters, digits and single hyphens, and starts and ends with a letter or digit.</source>
        <translation>Der Name eines Containers besteht aus 3–63 Kleinbuchstaben, Ziffern und einzelnen Bindestrichen und beginnt und endet mit einem Buchstaben oder einer Ziffer.</translation>
    </message>
    <message>
        <source>Enter a blob name.</source>
        <translation>Geben Sie einen Namen für den Blob ein.</translation>
    </message>
    <message>
        <source>The blob name must not start or end with spaces.</source>
        <translation>Der Name des Blobs darf nicht mit Leerzeichen beginnen oder enden.</translation>
    </message>
    <message>
        <source>A blob name must not end with a period or a slash.</source>
        <translation>Der Name eines Blobs darf nicht mit einem Punkt oder einem Schrägstrich enden.</translation>
    </message>
    <message>
        <source>A blob name has at most {limit:,} characters.</source>
        <translation>Der Name eines Blobs hat höchstens {limit:,} Zeichen.</translation>
    </message>
    <message>
        <source>Enter a version number, e.g. 1.0.0.</source>
        <translation>Geben Sie eine Versionsnummer ein, z. B. 1.0.0.</translation>
    </message>
    <message>
        <source>The version number must not start or end with spaces.</source>
        <translation>Die Versionsnummer darf nicht mit Leerzeichen beginnen oder enden.</translation>
    </message>
    <message>
        <source>A version is three numbers: major.minor.patch, e.g. 1.0.0.</source>
        <translation>Eine Version besteht aus drei Zahlen: Haupt.Neben.Patch, z. B. 1.0.0.</translation>
    </message>
    <message>
        <source>Each part of a version is at most {limit}.</source>
        <translation>Jeder Teil einer Version ist höchstens {limit}.</translation>
    </message>
</context>
<context>
    <name>AboutBox</name>
    <message>
        <source>About {app}</source>
        <translation>Über {app}</translation>
    </message>
    <message>
        <source>Browse, inspect, capture and upload Azure VM images.</source>
        <translation>Azure-VM-Images durchsuchen, untersuchen, erfassen und hochladen.</translation>
    </message>
    <message>
        <source>Licence: {licence}</source>
        <translation>Lizenz: {licence}</translation>
    </message>
    <message>
        <source>Versions:</source>
        <translation>Versionen:</translation>
    </message>
</context>
<context>
    <name>AppController</name>
    <message>
        <source>Looking for an Azure CLI sign-in…</source>
        <translation>Suche nach einer Anmeldung der Azure CLI…</translation>
    </message>
    <message>
        <source>Starting the offline sandbox…</source>
        <translation>Die Offline-Sandbox wird gestartet…</translation>
    </message>
    <message>
        <source>The offline sandbox could not start</source>
        <translation>Die Offline-Sandbox konnte nicht gestartet werden</translation>
    </message>
    <message>
        <source>The offline sandbox could not start: {reason}

Sign in to Azure (Account → Sign in to Azure…), or quit and start the app with --sandbox-reset to start the sandbox over from its seed. Its log: {log}</source>
        <translation>Die Offline-Sandbox konnte nicht gestartet werden: {reason}

Melden Sie sich bei Azure an (Konto → Bei Azure anmelden…), oder beenden Sie die App und starten Sie sie mit --sandbox-reset, um die Sandbox aus ihrem Ausgangszustand neu aufzubauen. Ihr Protokoll: {log}</translation>
    </message>
</context>
<context>
    <name>CaptureWizard</name>
    <message>
        <source>Capture a VM into an image</source>
        <translation>VM als Image erfassen</translation>
    </message>
    <message>
        <source>&amp;Close</source>
        <translation>&amp;Schließen</translation>
    </message>
    <message>
        <source>Cancelled during &apos;{step}&apos;. No later step was started. A request Azure had already accepted may still finish: check the VM and the target in the portal or the browser before you start again.</source>
        <translation>Abgebrochen während „{step}“. Kein weiterer Schritt wurde gestartet. Eine Anforderung, die Azure bereits angenommen hatte, kann noch abgeschlossen werden: Prüfen Sie die VM und das Ziel im Portal oder im Browser, bevor Sie erneut beginnen.</translation>
    </message>
    <message>
        <source>Cancelled before the first step. Nothing was changed.</source>
        <translation>Vor dem ersten Schritt abgebrochen. Es wurde nichts geändert.</translation>
    </message>
</context>
<context>
    <name>CatalogText</name>
    <message>
        <source>Unique name: {name}</source>
        <translation>Eindeutiger Name: {name}</translation>
    </message>
</context>
<context>
    <name>CatalogTreeModel</name>
    <message>
        <source>Loading…</source>
        <translation>Wird geladen…</translation>
    </message>
    <message>
        <source>Nothing here</source>
        <translation>Keine Einträge</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>Fehlgeschlagen</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>Details</translation>
    </message>
    <message>
        <source>Double-click, or select the node and press F5, to retry.</source>
        <translation>Doppelklicken Sie, oder wählen Sie den Knoten aus und drücken Sie F5, um es erneut zu versuchen.</translation>
    </message>
    <message>
        <source>Listed {when} (from the cache); asking Azure again…</source>
        <translation>Aufgelistet am {when} (aus dem Cache); Azure wird erneut gefragt…</translation>
    </message>
    <message>
        <source>Listed {when} (from the cache)</source>
        <translation>Aufgelistet am {when} (aus dem Cache)</translation>
    </message>
    <message>
        <source>Unexpected error: {error}</source>
        <translation>Unerwarteter Fehler: {error}</translation>
    </message>
    <message>
        <source>Could not refresh; showing what was listed {when}.</source>
        <translation>Aktualisieren nicht möglich; angezeigt wird die Liste vom {when}.</translation>
    </message>
</context>
<context>
    <name>CommunityGalleryDialog</name>
    <message>
        <source>Add community gallery</source>
        <translation>Community-Katalog hinzufügen</translation>
    </message>
    <message>
        <source>e.g. ContosoImages-1a2b3c4d-5e6f-…</source>
        <translation>z. B. ContosoImages-1a2b3c4d-5e6f-…</translation>
    </message>
    <message>
        <source>Public name of the community gallery</source>
        <translation>Öffentlicher Name des Community-Katalogs</translation>
    </message>
    <message>
        <source>&amp;Public name:</source>
        <translation>Ö&amp;ffentlicher Name:</translation>
    </message>
    <message>
        <source>The name its publisher shares, as the Azure portal lists it under Community galleries (prefix-GUID). It is looked up in {location}.</source>
        <translation>Der Name, den der Herausgeber freigibt, wie ihn das Azure-Portal unter „Community-Kataloge“ aufführt (Präfix-GUID). Er wird in {location} gesucht.</translation>
    </message>
    <message>
        <source>Problem</source>
        <translation>Problem</translation>
    </message>
    <message>
        <source>&amp;Add</source>
        <translation>&amp;Hinzufügen</translation>
    </message>
</context>
<context>
    <name>CopyActions</name>
    <message>
        <source>Copy to…</source>
        <translation>Kopieren nach…</translation>
    </message>
    <message>
        <source>Copy the selected image version into another gallery, or the image or snapshot into another region; Azure copies the data</source>
        <translation>Die ausgewählte Imageversion in einen anderen Katalog oder das Image bzw. die Momentaufnahme in eine andere Region kopieren; Azure kopiert die Daten</translation>
    </message>
</context>
<context>
    <name>CopyDialog</name>
    <message>
        <source>Copy {name}</source>
        <translation>{name} kopieren</translation>
    </message>
    <message>
        <source>Azure copies the image version into the gallery you name; the data does not pass through this computer. The target image definition must exist and match the source&apos;s OS type, state, generation and architecture.</source>
        <translation>Azure kopiert die Imageversion in den angegebenen Katalog; die Daten laufen nicht über diesen Computer. Die Zielimagedefinition muss vorhanden sein und im Betriebssystemtyp, Zustand, in der Generation und Architektur mit der Quelle übereinstimmen.</translation>
    </message>
    <message>
        <source>only for another tenant: its ID</source>
        <translation>nur für einen anderen Mandanten: seine ID</translation>
    </message>
    <message>
        <source>Target image &amp;definition (resource ID):</source>
        <translation>&amp;Zielimagedefinition (Ressourcen-ID):</translation>
    </message>
    <message>
        <source>Target image definition</source>
        <translation>Zielimagedefinition</translation>
    </message>
    <message>
        <source>&amp;Version:</source>
        <translation>&amp;Version:</translation>
    </message>
    <message>
        <source>Version</source>
        <translation>Version</translation>
    </message>
    <message>
        <source>&amp;Tenant:</source>
        <translation>&amp;Mandant:</translation>
    </message>
    <message>
        <source>Tenant</source>
        <translation>Mandant</translation>
    </message>
    <message>
        <source>Azure copies the page blob into the container you name, in any storage account you can see (another subscription or region too); the data does not pass through this computer. Without a SAS in the URL, access is signed with the accounts&apos; keys.</source>
        <translation>Azure kopiert den Seitenblob in den angegebenen Container, in jedes Speicherkonto, das Sie sehen (auch in einem anderen Abonnement oder einer anderen Region); die Daten laufen nicht über diesen Computer. Enthält die URL keine SAS, wird der Zugriff mit den Schlüsseln der Speicherkonten signiert.</translation>
    </message>
    <message>
        <source>Target &amp;container URL:</source>
        <translation>Ziel-&amp;Container-URL:</translation>
    </message>
    <message>
        <source>Target container URL</source>
        <translation>Ziel-Container-URL</translation>
    </message>
    <message>
        <source>Azure copies it into the region you pick, through incremental snapshots (CopyStart); the data does not pass through this computer.</source>
        <translation>Azure kopiert es über inkrementelle Momentaufnahmen (CopyStart) in die gewählte Region; die Daten laufen nicht über diesen Computer.</translation>
    </message>
    <message>
        <source>Target re&amp;gion:</source>
        <translation>Zielre&amp;gion:</translation>
    </message>
    <message>
        <source>Target region</source>
        <translation>Zielregion</translation>
    </message>
    <message>
        <source>&amp;Resource group:</source>
        <translation>&amp;Ressourcengruppe:</translation>
    </message>
    <message>
        <source>Resource group</source>
        <translation>Ressourcengruppe</translation>
    </message>
    <message>
        <source>&amp;Name:</source>
        <translation>&amp;Name:</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>{name}-REGION</source>
        <translation>{name}-REGION</translation>
    </message>
    <message>
        <source>Copy steps</source>
        <translation>Kopierschritte</translation>
    </message>
    <message>
        <source>&amp;Copy</source>
        <translation>&amp;Kopieren</translation>
    </message>
    <message>
        <source>Give the target container&apos;s URL: https://account.blob.core.windows.net/container</source>
        <translation>Geben Sie die URL des Zielcontainers an: https://account.blob.core.windows.net/container</translation>
    </message>
    <message>
        <source>Give the target image definition&apos;s resource ID: /subscriptions/…/resourceGroups/…/providers/Microsoft.Compute/galleries/…/images/…</source>
        <translation>Geben Sie die Ressourcen-ID der Zielimagedefinition an: /subscriptions/…/resourceGroups/…/providers/Microsoft.Compute/galleries/…/images/…</translation>
    </message>
    <message>
        <source>The tenant is an ID (a GUID), or empty for yours.</source>
        <translation>Der Mandant ist eine ID (eine GUID) oder leer für Ihren eigenen.</translation>
    </message>
    <message>
        <source>Pick the target region.</source>
        <translation>Wählen Sie die Zielregion.</translation>
    </message>
    <message>
        <source>Signing in to tenant {tenant}…</source>
        <translation>Anmeldung beim Mandanten {tenant}…</translation>
    </message>
    <message>
        <source>Copying…</source>
        <translation>Wird kopiert…</translation>
    </message>
    <message>
        <source>Copied: {target}</source>
        <translation>Kopiert: {target}</translation>
    </message>
    <message>
        <source>The copy stopped; the failed step says why.</source>
        <translation>Die Kopie wurde angehalten; der fehlgeschlagene Schritt nennt den Grund.</translation>
    </message>
</context>
<context>
    <name>CreateVmDialog</name>
    <message>
        <source>Test boot</source>
        <translation>Teststart</translation>
    </message>
    <message>
        <source>Create VM</source>
        <translation>VM erstellen</translation>
    </message>
    <message>
        <source>Test boot {image}</source>
        <translation>Teststart von {image}</translation>
    </message>
    <message>
        <source>Create a VM from {image}</source>
        <translation>VM aus {image} erstellen</translation>
    </message>
    <message>
        <source>Creates a VM in a throw-away resource group with boot diagnostics, shows its serial log while it boots, says whether the image boots and why not, then deletes everything it made.</source>
        <translation>Erstellt eine VM in einer Wegwerf-Ressourcengruppe mit Startdiagnose, zeigt beim Starten ihr serielles Protokoll, sagt, ob das Image startet und warum nicht, und löscht danach alles, was dafür erstellt wurde.</translation>
    </message>
    <message>
        <source>A new virtual network and network interface are created with the VM; without a public IP address, reach it through a bastion or a peered network.</source>
        <translation>Mit der VM werden ein neues virtuelles Netzwerk und eine Netzwerkschnittstelle erstellt; ohne öffentliche IP-Adresse erreichen Sie sie über Bastion oder ein per Peering verbundenes Netzwerk.</translation>
    </message>
    <message>
        <source>{os} · {state} · {generation} · {architecture}</source>
        <translation>{os} · {state} · {generation} · {architecture}</translation>
    </message>
    <message>
        <source>Linux</source>
        <translation>Linux</translation>
    </message>
    <message>
        <source>Windows</source>
        <translation>Windows</translation>
    </message>
    <message>
        <source>specialized</source>
        <translation>spezialisiert</translation>
    </message>
    <message>
        <source>generalized</source>
        <translation>verallgemeinert</translation>
    </message>
    <message>
        <source>VM name</source>
        <translation>VM-Name</translation>
    </message>
    <message>
        <source>e.g. vm-web-01</source>
        <translation>z. B. vm-web-01</translation>
    </message>
    <message>
        <source>&amp;Name:</source>
        <translation>&amp;Name:</translation>
    </message>
    <message>
        <source>Resource group</source>
        <translation>Ressourcengruppe</translation>
    </message>
    <message>
        <source>A throw-away group, tagged as a test boot and deleted at the end</source>
        <translation>Eine Wegwerfgruppe, als Teststart markiert und am Ende gelöscht</translation>
    </message>
    <message>
        <source>Choose an existing resource group or type the name of a new one</source>
        <translation>Wählen Sie eine vorhandene Ressourcengruppe, oder geben Sie den Namen einer neuen ein</translation>
    </message>
    <message>
        <source>&amp;Resource group:</source>
        <translation>&amp;Ressourcengruppe:</translation>
    </message>
    <message>
        <source>Region</source>
        <translation>Region</translation>
    </message>
    <message>
        <source>Re&amp;gion:</source>
        <translation>Re&amp;gion:</translation>
    </message>
    <message>
        <source>Security type</source>
        <translation>Sicherheitstyp</translation>
    </message>
    <message>
        <source>Sec&amp;urity type:</source>
        <translation>Sicherheits&amp;typ:</translation>
    </message>
    <message>
        <source>VM size</source>
        <translation>VM-Größe</translation>
    </message>
    <message>
        <source>Si&amp;ze:</source>
        <translation>&amp;VM-Größe:</translation>
    </message>
    <message>
        <source>Administrator user name</source>
        <translation>Benutzername des Administrators</translation>
    </message>
    <message>
        <source>&amp;Administrator:</source>
        <translation>&amp;Administrator:</translation>
    </message>
    <message>
        <source>Authentication</source>
        <translation>Authentifizierung</translation>
    </message>
    <message>
        <source>SSH public key</source>
        <translation>Öffentlicher SSH-Schlüssel</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>Kennwort</translation>
    </message>
    <message>
        <source>Au&amp;thentication:</source>
        <translation>A&amp;uthentifizierung:</translation>
    </message>
    <message>
        <source>ssh-ed25519 AAAA… (the contents of a .pub file)</source>
        <translation>ssh-ed25519 AAAA… (der Inhalt einer .pub-Datei)</translation>
    </message>
    <message>
        <source>SSH public &amp;key:</source>
        <translation>Öffentlicher SSH-&amp;Schlüssel:</translation>
    </message>
    <message>
        <source>&amp;Password:</source>
        <translation>&amp;Kennwort:</translation>
    </message>
    <message>
        <source>Confirm password</source>
        <translation>Kennwort bestätigen</translation>
    </message>
    <message>
        <source>&amp;Confirm password:</source>
        <translation>Kennwort &amp;bestätigen:</translation>
    </message>
    <message>
        <source>A specialized image keeps its own accounts: no administrator is set.</source>
        <translation>Ein spezialisiertes Image behält seine eigenen Konten: Es wird kein Administrator festgelegt.</translation>
    </message>
    <message>
        <source>Give the VM a public &amp;IP address</source>
        <translation>Der VM eine öffentliche IP-Adresse &amp;zuweisen</translation>
    </message>
    <message>
        <source>Public IP address</source>
        <translation>Öffentliche IP-Adresse</translation>
    </message>
    <message>
        <source>A static Standard public IP address on the VM&apos;s network interface; without it the VM is reachable only from its network</source>
        <translation>Eine statische öffentliche Standard-IP-Adresse an der Netzwerkschnittstelle der VM; ohne sie ist die VM nur aus ihrem Netzwerk erreichbar</translation>
    </message>
    <message>
        <source>What to correct</source>
        <translation>Was zu korrigieren ist</translation>
    </message>
    <message>
        <source>Steps</source>
        <translation>Schritte</translation>
    </message>
    <message>
        <source>Serial &amp;log (boot diagnostics):</source>
        <translation>Serielles &amp;Protokoll (Startdiagnose):</translation>
    </message>
    <message>
        <source>Serial console log</source>
        <translation>Protokoll der seriellen Konsole</translation>
    </message>
    <message>
        <source>The guest&apos;s serial output appears here while it boots.</source>
        <translation>Die serielle Ausgabe des Gastsystems erscheint hier, während es startet.</translation>
    </message>
    <message>
        <source>Verdict</source>
        <translation>Ergebnis</translation>
    </message>
    <message>
        <source>&amp;Start test boot</source>
        <translation>Teststart beg&amp;innen</translation>
    </message>
    <message>
        <source>Create &amp;VM</source>
        <translation>VM &amp;erstellen</translation>
    </message>
    <message>
        <source>&amp;Delete now</source>
        <translation>Jetzt &amp;löschen</translation>
    </message>
    <message>
        <source>St&amp;op</source>
        <translation>An&amp;halten</translation>
    </message>
    <message>
        <source>Stop the test boot and delete its resource group now</source>
        <translation>Den Teststart anhalten und seine Ressourcengruppe jetzt löschen</translation>
    </message>
    <message>
        <source>Stop following the VM&apos;s creation (Azure may go on creating it)</source>
        <translation>Der Erstellung der VM nicht mehr folgen (Azure erstellt sie möglicherweise weiter)</translation>
    </message>
    <message>
        <source>Gen2</source>
        <translation>Gen2</translation>
    </message>
    <message>
        <source>Gen1</source>
        <translation>Gen1</translation>
    </message>
    <message>
        <source>Standard</source>
        <translation>Standard</translation>
    </message>
    <message>
        <source>Trusted launch</source>
        <translation>Vertrauenswürdiger Start</translation>
    </message>
    <message>
        <source>Confidential VM</source>
        <translation>Vertrauliche VM</translation>
    </message>
    <message>
        <source>Reading the VM sizes of {location}…</source>
        <translation>VM-Größen von {location} werden gelesen…</translation>
    </message>
    <message>
        <source>The sizes could not be read: {error}</source>
        <translation>Die Größen konnten nicht gelesen werden: {error}</translation>
    </message>
    <message>
        <source>{name} ({vcpus} vCPUs, {memory} GiB)</source>
        <translation>{name} ({vcpus} vCPUs, {memory} GiB)</translation>
    </message>
    <message numerus="yes">
        <source>%n size(s) of this region run the image ({generation}, {architecture}, {security}).</source>
        <translation>
            <numerusform>%n Größe dieser Region führt das Image aus ({generation}, {architecture}, {security}).</numerusform>
            <numerusform>%n Größen dieser Region führen das Image aus ({generation}, {architecture}, {security}).</numerusform>
        </translation>
    </message>
    <message>
        <source>No size of this region runs the image with this security type; choose another security type or region.</source>
        <translation>Keine Größe dieser Region führt das Image mit diesem Sicherheitstyp aus; wählen Sie einen anderen Sicherheitstyp oder eine andere Region.</translation>
    </message>
    <message>
        <source>The two passwords differ: type the same password twice.</source>
        <translation>Die beiden Kennwörter unterscheiden sich: Geben Sie zweimal dasselbe Kennwort ein.</translation>
    </message>
    <message>
        <source>{name} · {size} · {security} · {group} · {location}</source>
        <translation>{name} · {size} · {security} · {group} · {location}</translation>
    </message>
    <message>
        <source>Stopped.</source>
        <translation>Angehalten.</translation>
    </message>
    <message>
        <source>The image boots.</source>
        <translation>Das Image startet.</translation>
    </message>
    <message>
        <source>The image did not boot.</source>
        <translation>Das Image ist nicht gestartet.</translation>
    </message>
    <message>
        <source>What to do: {advice}</source>
        <translation>Was zu tun ist: {advice}</translation>
    </message>
    <message>
        <source>Azure said: {message}</source>
        <translation>Meldung von Azure: {message}</translation>
    </message>
    <message>
        <source>VM {name} was created in {group}.</source>
        <translation>Die VM {name} wurde in {group} erstellt.</translation>
    </message>
    <message>
        <source>Stopping; deleting what the test boot made…</source>
        <translation>Wird angehalten; was der Teststart erstellt hat, wird gelöscht…</translation>
    </message>
    <message>
        <source>Stopping…</source>
        <translation>Wird angehalten…</translation>
    </message>
</context>
<context>
    <name>DefinitionEditor</name>
    <message>
        <source>Edit image definition</source>
        <translation>Imagedefinition bearbeiten</translation>
    </message>
    <message>
        <source>Image definition {path}</source>
        <translation>Imagedefinition {path}</translation>
    </message>
    <message>
        <source>Reading the definition from Azure…</source>
        <translation>Die Definition wird aus Azure gelesen…</translation>
    </message>
    <message>
        <source>Description</source>
        <translation>Beschreibung</translation>
    </message>
    <message>
        <source>&amp;Description:</source>
        <translation>Bes&amp;chreibung:</translation>
    </message>
    <message>
        <source>None</source>
        <translation>Keins</translation>
    </message>
    <message>
        <source>End-of-life date</source>
        <translation>Enddatum</translation>
    </message>
    <message>
        <source>End of &amp;life:</source>
        <translation>&amp;Enddatum:</translation>
    </message>
    <message>
        <source>not set</source>
        <translation>nicht gesetzt</translation>
    </message>
    <message>
        <source>Recommended vCPUs, minimum</source>
        <translation>Empfohlene vCPUs, Minimum</translation>
    </message>
    <message>
        <source>Recommended vCPUs, maximum</source>
        <translation>Empfohlene vCPUs, Maximum</translation>
    </message>
    <message>
        <source>Recommended memory in GiB, minimum</source>
        <translation>Empfohlener Arbeitsspeicher in GiB, Minimum</translation>
    </message>
    <message>
        <source>Recommended memory in GiB, maximum</source>
        <translation>Empfohlener Arbeitsspeicher in GiB, Maximum</translation>
    </message>
    <message>
        <source>t&amp;o</source>
        <translation>bi&amp;s</translation>
    </message>
    <message>
        <source>Recommended &amp;vCPUs:</source>
        <translation>Empfohlene &amp;vCPUs:</translation>
    </message>
    <message>
        <source>to (Gi&amp;B)</source>
        <translation>bis (Gi&amp;B)</translation>
    </message>
    <message>
        <source>Recommended &amp;memory (GiB):</source>
        <translation>Empfohlener &amp;Arbeitsspeicher (GiB):</translation>
    </message>
    <message>
        <source>A&amp;pply</source>
        <translation>&amp;Übernehmen</translation>
    </message>
    <message>
        <source>Could not read the definition: {error}</source>
        <translation>Die Definition konnte nicht gelesen werden: {error}</translation>
    </message>
    <message>
        <source>{os} · {state}; the OS, its state and generation stay as they are.</source>
        <translation>{os} · {state}; Betriebssystem, sein Zustand und die Generation bleiben, wie sie sind.</translation>
    </message>
</context>
<context>
    <name>DeleteDialog</name>
    <message>
        <source>Delete from Azure</source>
        <translation>Aus Azure löschen</translation>
    </message>
    <message numerus="yes">
        <source>Delete %n selected item(s)?</source>
        <translation>
            <numerusform>%n ausgewähltes Element löschen?</numerusform>
            <numerusform>%n ausgewählte Elemente löschen?</numerusform>
        </translation>
    </message>
    <message>
        <source>Asking Azure what can be deleted…</source>
        <translation>Azure wird gefragt, was gelöscht werden kann…</translation>
    </message>
    <message>
        <source>Deleted, in this &amp;order:</source>
        <translation>In dieser &amp;Reihenfolge gelöscht:</translation>
    </message>
    <message>
        <source>What is deleted</source>
        <translation>Was gelöscht wird</translation>
    </message>
    <message>
        <source>#</source>
        <translation>Nr.</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>Art</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>Resource group</source>
        <translation>Ressourcengruppe</translation>
    </message>
    <message>
        <source>Not deleted:</source>
        <translation>Nicht gelöscht:</translation>
    </message>
    <message>
        <source>What is not deleted, and why</source>
        <translation>Was nicht gelöscht wird, und warum</translation>
    </message>
    <message>
        <source>Why deleting failed</source>
        <translation>Warum das Löschen fehlgeschlagen ist</translation>
    </message>
    <message>
        <source>Deletion progress</source>
        <translation>Fortschritt des Löschens</translation>
    </message>
    <message>
        <source>%v of %m deleted</source>
        <translation>%v von %m gelöscht</translation>
    </message>
    <message>
        <source>&amp;Delete</source>
        <translation>&amp;Löschen</translation>
    </message>
    <message>
        <source>Could not read what can be deleted: {error}</source>
        <translation>Es konnte nicht ermittelt werden, was gelöscht werden kann: {error}</translation>
    </message>
    <message numerus="yes">
        <source>Delete %n item(s)?</source>
        <translation>
            <numerusform>%n Element löschen?</numerusform>
            <numerusform>%n Elemente löschen?</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n of the selected items cannot be deleted now: they stay, and the others go.</source>
        <translation>
            <numerusform>%n der ausgewählten Elemente kann jetzt nicht gelöscht werden: Es bleibt bestehen, die anderen werden gelöscht.</numerusform>
            <numerusform>%n der ausgewählten Elemente können jetzt nicht gelöscht werden: Sie bleiben bestehen, die anderen werden gelöscht.</numerusform>
        </translation>
    </message>
    <message>
        <source>Nothing stands in the way. Check the list before you delete.</source>
        <translation>Nichts steht im Weg. Prüfen Sie die Liste, bevor Sie löschen.</translation>
    </message>
    <message>
        <source>Nothing selected can be deleted now: see why below.</source>
        <translation>Nichts Ausgewähltes kann jetzt gelöscht werden: Die Gründe stehen unten.</translation>
    </message>
    <message>
        <source>Deleting cannot be undone: Azure keeps no copy.</source>
        <translation>Das Löschen kann nicht rückgängig gemacht werden: Azure behält keine Kopie.</translation>
    </message>
    <message>
        <source>VMs already made from these images keep running, but no new VM can be made from them.</source>
        <translation>Virtuelle Computer, die bereits aus diesen Images erstellt wurden, laufen weiter, aber es können keine neuen daraus erstellt werden.</translation>
    </message>
    <message>
        <source>The data on these disks and snapshots is gone with them.</source>
        <translation>Die Daten auf diesen Datenträgern und Momentaufnahmen gehen mit ihnen verloren.</translation>
    </message>
    <message numerus="yes">
        <source>&amp;Delete %n item(s)</source>
        <translation>
            <numerusform>%n Element &amp;löschen</numerusform>
            <numerusform>%n Elemente &amp;löschen</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Deleting %n item(s)</source>
        <translation>
            <numerusform>%n Element wird gelöscht</numerusform>
            <numerusform>%n Elemente werden gelöscht</numerusform>
        </translation>
    </message>
    <message>
        <source>Deleting…</source>
        <translation>Wird gelöscht…</translation>
    </message>
    <message>
        <source>Deleting has ended</source>
        <translation>Das Löschen ist beendet</translation>
    </message>
    <message numerus="yes">
        <source>%n deletion(s) failed: why, and what to do, is below. What was deleted is gone; the rest is as it was.</source>
        <translation>
            <numerusform>%n Löschvorgang ist fehlgeschlagen: Grund und Abhilfe stehen unten. Was gelöscht wurde, ist weg; der Rest ist unverändert.</numerusform>
            <numerusform>%n Löschvorgänge sind fehlgeschlagen: Gründe und Abhilfe stehen unten. Was gelöscht wurde, ist weg; der Rest ist unverändert.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n item(s) deleted.</source>
        <translation>
            <numerusform>%n Element gelöscht.</numerusform>
            <numerusform>%n Elemente gelöscht.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>DetailPane</name>
    <message>
        <source>A Marketplace publisher. Expand it to see its offers.</source>
        <translation>Ein Marketplace-Herausgeber. Erweitern Sie ihn, um seine Angebote zu sehen.</translation>
    </message>
    <message>
        <source>A Marketplace offer. Expand it to see its SKUs (plans).</source>
        <translation>Ein Marketplace-Angebot. Erweitern Sie es, um seine SKUs (Pläne) zu sehen.</translation>
    </message>
    <message>
        <source>A Marketplace SKU. Expand it to see its versions; select one for its disks.</source>
        <translation>Eine Marketplace-SKU. Erweitern Sie sie, um ihre Versionen zu sehen; wählen Sie eine Version aus, um ihre Datenträger zu sehen.</translation>
    </message>
    <message>
        <source>A Compute Gallery. Expand it to see its image definitions.</source>
        <translation>Ein Katalog (Azure Compute Gallery). Erweitern Sie ihn, um seine Imagedefinitionen zu sehen.</translation>
    </message>
    <message>
        <source>A resource group. Expand it to see its managed images, disks and snapshots.</source>
        <translation>Eine Ressourcengruppe. Erweitern Sie sie, um ihre verwalteten Images, Datenträger und Momentaufnahmen zu sehen.</translation>
    </message>
    <message>
        <source>An image definition. Expand it to see its versions.</source>
        <translation>Eine Imagedefinition. Erweitern Sie sie, um ihre Versionen zu sehen.</translation>
    </message>
    <message>
        <source>A storage account. Expand it to see its blob containers.</source>
        <translation>Ein Speicherkonto. Erweitern Sie es, um seine Blobcontainer zu sehen.</translation>
    </message>
    <message>
        <source>A blob container. Expand it to see its page blobs (VHDs); select one for its facts.</source>
        <translation>Ein Blobcontainer. Erweitern Sie ihn, um seine Seitenblobs (VHDs) zu sehen; wählen Sie einen aus, um seine Angaben zu sehen.</translation>
    </message>
    <message>
        <source>Selected item</source>
        <translation>Ausgewähltes Element</translation>
    </message>
    <message>
        <source>Image kind</source>
        <translation>Imageart</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <source>Disks of the selected image</source>
        <translation>Datenträger des ausgewählten Images</translation>
    </message>
    <message>
        <source>Disks</source>
        <translation>Datenträger</translation>
    </message>
    <message>
        <source>{label}:</source>
        <translation>{label}:</translation>
    </message>
    <message>
        <source>No image selected</source>
        <translation>Kein Image ausgewählt</translation>
    </message>
    <message>
        <source>Pick an image source on the left and expand it down to an image version to see its operating system, generation, security type and every disk it carries.</source>
        <translation>Wählen Sie links eine Imagequelle aus und erweitern Sie sie bis zu einer Imageversion, um deren Betriebssystem, Generation, Sicherheitstyp und alle enthaltenen Datenträger zu sehen.</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>Details</translation>
    </message>
    <message>
        <source>Unique name</source>
        <translation>Eindeutiger Name</translation>
    </message>
    <message>
        <source>Loading image details…</source>
        <translation>Imagedetails werden geladen…</translation>
    </message>
    <message>
        <source>Could not refresh: {error}</source>
        <translation>Aktualisieren nicht möglich: {error}</translation>
    </message>
    <message>
        <source>A VM image carries the OS disk and data disks; an OS image only the OS disk.</source>
        <translation>Ein VM-Image enthält den Betriebssystemdatenträger und Datenträger für Daten, ein Betriebssystemimage nur den Betriebssystemdatenträger.</translation>
    </message>
    <message>
        <source>OS type</source>
        <translation>Betriebssystemtyp</translation>
    </message>
    <message>
        <source>OS state</source>
        <translation>Betriebssystemstatus</translation>
    </message>
    <message>
        <source>Hyper-V generation</source>
        <translation>Hyper-V-Generation</translation>
    </message>
    <message>
        <source>Architecture</source>
        <translation>Architektur</translation>
    </message>
    <message>
        <source>Security type</source>
        <translation>Sicherheitstyp</translation>
    </message>
    <message>
        <source>Location</source>
        <translation>Region</translation>
    </message>
    <message>
        <source>Resource ID</source>
        <translation>Ressourcen-ID</translation>
    </message>
    <message numerus="yes">
        <source>Disks (%n)</source>
        <translation>
            <numerusform>Datenträger (%n)</numerusform>
            <numerusform>Datenträger (%n)</numerusform>
        </translation>
    </message>
    <message>
        <source>A managed disk or a snapshot of one: not an image, but what images are made from and what uploads and captures leave behind.</source>
        <translation>Ein verwalteter Datenträger oder eine Momentaufnahme davon: kein Image, aber das, woraus Images erstellt werden und was Uploads und Erfassungen hinterlassen.</translation>
    </message>
    <message>
        <source>Managed disk</source>
        <translation>Verwalteter Datenträger</translation>
    </message>
    <message>
        <source>Snapshot of a managed disk</source>
        <translation>Momentaufnahme eines verwalteten Datenträgers</translation>
    </message>
    <message>
        <source>Page blob (VHD)</source>
        <translation>Seitenblob (VHD)</translation>
    </message>
    <message numerus="yes">
        <source>Virtual machine — OS disk + %n data disk(s)</source>
        <translation>
            <numerusform>Virtueller Computer — Betriebssystemdatenträger + %n Datenträger für Daten</numerusform>
            <numerusform>Virtueller Computer — Betriebssystemdatenträger + %n Datenträger für Daten</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>VM image — OS disk + %n data disk(s)</source>
        <translation>
            <numerusform>VM-Image — Betriebssystemdatenträger + %n Datenträger für Daten</numerusform>
            <numerusform>VM-Image — Betriebssystemdatenträger + %n Datenträger für Daten</numerusform>
        </translation>
    </message>
    <message>
        <source>OS image — OS disk only</source>
        <translation>Betriebssystemimage — nur Betriebssystemdatenträger</translation>
    </message>
</context>
<context>
    <name>DiagnosticsCopier</name>
    <message>
        <source>Diagnostics copied: versions, system and the end of the log, no secrets.</source>
        <translation>Diagnose kopiert: Versionen, System und das Ende des Protokolls, ohne Geheimnisse.</translation>
    </message>
</context>
<context>
    <name>DiskTableModel</name>
    <message>
        <source>Disk</source>
        <translation>Datenträger</translation>
    </message>
    <message>
        <source>The OS disk, or a data disk</source>
        <translation>Der Betriebssystemdatenträger oder ein Datenträger für Daten</translation>
    </message>
    <message>
        <source>LUN</source>
        <translation>LUN</translation>
    </message>
    <message>
        <source>Logical unit number the data disk is attached at</source>
        <translation>Logische Gerätenummer, unter der der Datenträger für Daten angefügt ist</translation>
    </message>
    <message>
        <source>OS type</source>
        <translation>Betriebssystemtyp</translation>
    </message>
    <message>
        <source>Operating system on the OS disk</source>
        <translation>Betriebssystem auf dem Betriebssystemdatenträger</translation>
    </message>
    <message>
        <source>OS state</source>
        <translation>Betriebssystemstatus</translation>
    </message>
    <message>
        <source>Generalized images make new VMs; specialized ones keep the original identity</source>
        <translation>Aus verallgemeinerten Images entstehen neue VMs; spezialisierte behalten die ursprüngliche Identität</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>Größe</translation>
    </message>
    <message>
        <source>Disk size in GiB</source>
        <translation>Datenträgergröße in GiB</translation>
    </message>
    <message>
        <source>Caching</source>
        <translation>Zwischenspeicherung</translation>
    </message>
    <message>
        <source>Host caching of the disk</source>
        <translation>Hostzwischenspeicherung des Datenträgers</translation>
    </message>
    <message>
        <source>Storage type</source>
        <translation>Speichertyp</translation>
    </message>
    <message>
        <source>Storage account type (disk SKU) the image keeps its disks on</source>
        <translation>Speicherkontotyp (Datenträger-SKU), auf dem das Image seine Datenträger speichert</translation>
    </message>
    <message>
        <source>Source</source>
        <translation>Quelle</translation>
    </message>
    <message>
        <source>The disk, snapshot or blob the image was made from</source>
        <translation>Der Datenträger, die Momentaufnahme oder der Blob, aus dem das Image erstellt wurde</translation>
    </message>
    <message>
        <source>OS disk</source>
        <translation>Betriebssystemdatenträger</translation>
    </message>
    <message>
        <source>Data disk</source>
        <translation>Datenträger für Daten</translation>
    </message>
    <message>
        <source>chosen at deployment</source>
        <translation>bei der Bereitstellung gewählt</translation>
    </message>
    <message>
        <source>{size} GiB</source>
        <translation>{size} GiB</translation>
    </message>
</context>
<context>
    <name>DownloadActions</name>
    <message>
        <source>Download…</source>
        <translation>Herunterladen…</translation>
    </message>
    <message>
        <source>Download the selected disk, snapshot, image version or VHD blob to a file on this computer</source>
        <translation>Den ausgewählten Datenträger, die Momentaufnahme, die Imageversion oder den VHD-Blob in eine Datei auf diesem Computer herunterladen</translation>
    </message>
    <message>
        <source>Download {name}</source>
        <translation>{name} herunterladen</translation>
    </message>
</context>
<context>
    <name>DownloadDialog</name>
    <message>
        <source>Download {name}</source>
        <translation>{name} herunterladen</translation>
    </message>
    <message>
        <source>Only the disk&apos;s data travels; empty parts stay empty in the file. An interrupted download continues where it stopped when you start it again with the same file.</source>
        <translation>Nur die Daten des Datenträgers werden übertragen; leere Bereiche bleiben in der Datei leer. Ein unterbrochener Download wird dort fortgesetzt, wo er angehalten hat, wenn Sie ihn mit derselben Datei erneut starten.</translation>
    </message>
    <message>
        <source>The download also shows in the Transfers panel: you may close this window while it goes on.</source>
        <translation>Der Download erscheint auch im Bereich „Übertragungen“: Sie können dieses Fenster schließen, während er weiterläuft.</translation>
    </message>
    <message>
        <source>&amp;Browse…</source>
        <translation>Durchsu&amp;chen…</translation>
    </message>
    <message>
        <source>Choose the file</source>
        <translation>Datei auswählen</translation>
    </message>
    <message>
        <source>&amp;File:</source>
        <translation>&amp;Datei:</translation>
    </message>
    <message>
        <source>File</source>
        <translation>Datei</translation>
    </message>
    <message>
        <source>Fixed VHD (what Azure stores)</source>
        <translation>VHD fester Größe (wie Azure speichert)</translation>
    </message>
    <message>
        <source>Dynamic VHD (only blocks with data)</source>
        <translation>Dynamische VHD (nur Blöcke mit Daten)</translation>
    </message>
    <message>
        <source>VHDX (Hyper-V; only blocks with data)</source>
        <translation>VHDX (Hyper-V; nur Blöcke mit Daten)</translation>
    </message>
    <message>
        <source>Raw disk</source>
        <translation>Rohdatenträger</translation>
    </message>
    <message>
        <source>F&amp;ormat:</source>
        <translation>F&amp;ormat:</translation>
    </message>
    <message>
        <source>Format</source>
        <translation>Format</translation>
    </message>
    <message>
        <source>OS disk</source>
        <translation>Betriebssystemdatenträger</translation>
    </message>
    <message>
        <source>Dis&amp;k (data disk LUN):</source>
        <translation>Date&amp;nträger (LUN des Datenträgers für Daten):</translation>
    </message>
    <message>
        <source>Disk</source>
        <translation>Datenträger</translation>
    </message>
    <message>
        <source>Download steps</source>
        <translation>Downloadschritte</translation>
    </message>
    <message>
        <source>Download progress</source>
        <translation>Downloadfortschritt</translation>
    </message>
    <message>
        <source>&amp;Download</source>
        <translation>&amp;Herunterladen</translation>
    </message>
    <message>
        <source>&amp;Pause</source>
        <translation>&amp;Anhalten</translation>
    </message>
    <message>
        <source>S&amp;top download</source>
        <translation>Download a&amp;bbrechen</translation>
    </message>
    <message>
        <source>Download to</source>
        <translation>Herunterladen nach</translation>
    </message>
    <message>
        <source>Disk images (*.vhd *.vhdx *.raw *.img);;All files (*)</source>
        <translation>Datenträgerimages (*.vhd *.vhdx *.raw *.img);;Alle Dateien (*)</translation>
    </message>
    <message>
        <source>Give the file to download to.</source>
        <translation>Geben Sie die Datei an, in die heruntergeladen werden soll.</translation>
    </message>
    <message>
        <source>{path} is a folder: give a file name.</source>
        <translation>{path} ist ein Ordner: Geben Sie einen Dateinamen an.</translation>
    </message>
    <message>
        <source>The folder {folder} does not exist.</source>
        <translation>Der Ordner {folder} ist nicht vorhanden.</translation>
    </message>
    <message>
        <source>Downloading…</source>
        <translation>Wird heruntergeladen…</translation>
    </message>
    <message>
        <source>{done} of {total} ({fetched} fetched)</source>
        <translation>{done} von {total} ({fetched} übertragen)</translation>
    </message>
    <message>
        <source>&amp;Resume</source>
        <translation>&amp;Fortsetzen</translation>
    </message>
    <message>
        <source>Downloaded to {path}</source>
        <translation>Heruntergeladen nach {path}</translation>
    </message>
    <message>
        <source>&amp;Download again (resumes)</source>
        <translation>&amp;Erneut herunterladen (wird fortgesetzt)</translation>
    </message>
</context>
<context>
    <name>DropZone</name>
    <message>
        <source>Upload</source>
        <translation>Hochladen</translation>
    </message>
    <message>
        <source>Drop a disk image here to upload it</source>
        <translation>Legen Sie ein Datenträgerimage hier ab, um es hochzuladen</translation>
    </message>
    <message>
        <source>Accepted files: {suffixes}</source>
        <translation>Akzeptierte Dateien: {suffixes}</translation>
    </message>
    <message>
        <source>It is checked first, converted on the fly to the fixed VHD Azure takes, and sent without its empty ranges.</source>
        <translation>Es wird zuerst geprüft, beim Senden in die feste VHD umgewandelt, die Azure annimmt, und ohne seine leeren Bereiche gesendet.</translation>
    </message>
    <message>
        <source>&amp;Choose a disk image…</source>
        <translation>Datenträgerimage aus&amp;wählen…</translation>
    </message>
</context>
<context>
    <name>EditActions</name>
    <message>
        <source>&amp;Edit…</source>
        <translation>&amp;Bearbeiten…</translation>
    </message>
    <message>
        <source>Edit the selected image version (end of life, regions, replication) or definition (description, end of life, recommended sizes)</source>
        <translation>Die ausgewählte Imageversion (Enddatum, Regionen, Replikation) oder Imagedefinition (Beschreibung, Enddatum, empfohlene Größen) bearbeiten</translation>
    </message>
    <message>
        <source>Not connected yet: sign in first.</source>
        <translation>Noch nicht verbunden: Melden Sie sich zuerst an.</translation>
    </message>
</context>
<context>
    <name>FilePage</name>
    <message>
        <source>Choose or drop a disk image: VHD, VHDX, qcow2, VMDK, VDI, OVA or raw</source>
        <translation>Wählen Sie ein Datenträgerimage aus, oder legen Sie es hier ab: VHD, VHDX, qcow2, VMDK, VDI, OVA oder raw</translation>
    </message>
    <message>
        <source>OS disk image file</source>
        <translation>Imagedatei des Betriebssystemdatenträgers</translation>
    </message>
    <message>
        <source>&amp;OS disk:</source>
        <translation>&amp;Betriebssystemdatenträger:</translation>
    </message>
    <message>
        <source>C&amp;hoose…</source>
        <translation>&amp;Auswählen…</translation>
    </message>
    <message>
        <source>&amp;Add data disk…</source>
        <translation>Datenträger für &amp;Daten hinzufügen…</translation>
    </message>
    <message>
        <source>Re&amp;move data disk</source>
        <translation>Datenträger für Daten &amp;entfernen</translation>
    </message>
    <message>
        <source>Disk</source>
        <translation>Datenträger</translation>
    </message>
    <message>
        <source>LUN</source>
        <translation>LUN</translation>
    </message>
    <message>
        <source>File</source>
        <translation>Datei</translation>
    </message>
    <message>
        <source>Size in Azure</source>
        <translation>Größe in Azure</translation>
    </message>
    <message>
        <source>Check</source>
        <translation>Prüfung</translation>
    </message>
    <message>
        <source>Disks of the image</source>
        <translation>Datenträger des Images</translation>
    </message>
    <message>
        <source>Choose data disk images</source>
        <translation>Images für Datenträger für Daten auswählen</translation>
    </message>
    <message>
        <source>Disk images ({patterns});;All files (*)</source>
        <translation>Datenträgerimages ({patterns});;Alle Dateien (*)</translation>
    </message>
    <message>
        <source>&lt;b&gt;Windows:&lt;/b&gt; back the machine up first, then generalize it inside the VM with&lt;br&gt;&lt;code&gt;C:\Windows\System32\Sysprep\sysprep.exe /generalize /oobe /shutdown&lt;/code&gt;&lt;br&gt;and upload its disk after it has shut down. A generalized Windows cannot be started in its old identity again.</source>
        <translation>&lt;b&gt;Windows:&lt;/b&gt; Sichern Sie den Computer zuerst, verallgemeinern Sie ihn dann in der VM mit&lt;br&gt;&lt;code&gt;C:\Windows\System32\Sysprep\sysprep.exe /generalize /oobe /shutdown&lt;/code&gt;&lt;br&gt;und laden Sie seinen Datenträger hoch, nachdem er heruntergefahren ist. Ein verallgemeinertes Windows kann nicht wieder mit seiner alten Identität gestartet werden.</translation>
    </message>
    <message>
        <source>&lt;b&gt;Linux:&lt;/b&gt; back the machine up first, then run&lt;br&gt;&lt;code&gt;sudo waagent -deprovision+user&lt;/code&gt; and shut it down before you copy the disk. This deletes the last provisioned user account, SSH host keys and the host name.</source>
        <translation>&lt;b&gt;Linux:&lt;/b&gt; Sichern Sie den Computer zuerst, führen Sie dann&lt;br&gt;&lt;code&gt;sudo waagent -deprovision+user&lt;/code&gt; aus und fahren Sie ihn herunter, bevor Sie den Datenträger kopieren. Dadurch werden das zuletzt bereitgestellte Benutzerkonto, die SSH-Hostschlüssel und der Hostname gelöscht.</translation>
    </message>
    <message>
        <source>&lt;b&gt;Specialized:&lt;/b&gt; the disk keeps its identity (users, host name, machine SID). It can become a specialized gallery image version, not a managed image.</source>
        <translation>&lt;b&gt;Spezialisiert:&lt;/b&gt; Der Datenträger behält seine Identität (Benutzer, Hostname, Computer-SID). Er kann zu einer spezialisierten Katalog-Imageversion werden, nicht zu einem verwalteten Image.</translation>
    </message>
    <message>
        <source>The disk image</source>
        <translation>Das Datenträgerimage</translation>
    </message>
    <message>
        <source>What the file is, what Azure will say about it, and what will be sent. Nothing is uploaded before the last page.</source>
        <translation>Was die Datei ist, was Azure dazu sagen wird und was gesendet wird. Vor der letzten Seite wird nichts hochgeladen.</translation>
    </message>
    <message>
        <source>Reading the file…</source>
        <translation>Die Datei wird gelesen…</translation>
    </message>
    <message>
        <source>Format:</source>
        <translation>Format:</translation>
    </message>
    <message>
        <source>Virtual size:</source>
        <translation>Virtuelle Größe:</translation>
    </message>
    <message>
        <source>Size in Azure:</source>
        <translation>Größe in Azure:</translation>
    </message>
    <message>
        <source>Upload size:</source>
        <translation>Uploadgröße:</translation>
    </message>
    <message>
        <source>Data held:</source>
        <translation>Enthaltene Daten:</translation>
    </message>
    <message>
        <source>Conversion:</source>
        <translation>Konvertierung:</translation>
    </message>
    <message>
        <source>Generalized (sysprep / waagent was run)</source>
        <translation>Verallgemeinert (sysprep / waagent wurde ausgeführt)</translation>
    </message>
    <message>
        <source>Specialized (keeps its identity)</source>
        <translation>Spezialisiert (behält seine Identität)</translation>
    </message>
    <message>
        <source>Gen2 (UEFI)</source>
        <translation>Gen2 (UEFI)</translation>
    </message>
    <message>
        <source>Gen1 (BIOS)</source>
        <translation>Gen1 (BIOS)</translation>
    </message>
    <message>
        <source>Operating system:</source>
        <translation>Betriebssystem:</translation>
    </message>
    <message>
        <source>OS state:</source>
        <translation>Betriebssystemzustand:</translation>
    </message>
    <message>
        <source>Hyper-V generation:</source>
        <translation>Hyper-V-Generation:</translation>
    </message>
    <message>
        <source>Architecture:</source>
        <translation>Architektur:</translation>
    </message>
    <message>
        <source>The machine on this disk</source>
        <translation>Der Computer auf diesem Datenträger</translation>
    </message>
    <message>
        <source>Choose a disk image</source>
        <translation>Datenträgerimage auswählen</translation>
    </message>
    <message>
        <source>An image holds at most 64 data disks (LUN 0 to 63).</source>
        <translation>Ein Image enthält höchstens 64 Datenträger für Daten (LUN 0 bis 63).</translation>
    </message>
    <message>
        <source>OS disk</source>
        <translation>Betriebssystemdatenträger</translation>
    </message>
    <message>
        <source>Data disk</source>
        <translation>Datenträger für Daten</translation>
    </message>
    <message>
        <source>Reading…</source>
        <translation>Wird gelesen…</translation>
    </message>
    <message>
        <source>Refused: {reason}</source>
        <translation>Abgelehnt: {reason}</translation>
    </message>
    <message>
        <source>Azure would refuse it (see its findings)</source>
        <translation>Azure würde ihn ablehnen (siehe Befunde)</translation>
    </message>
    <message numerus="yes">
        <source>%n finding(s)</source>
        <translation>
            <numerusform>%n Befund</numerusform>
            <numerusform>%n Befunde</numerusform>
        </translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>Bereit</translation>
    </message>
    <message>
        <source>LUN of the data disk {name}</source>
        <translation>LUN des Datenträgers für Daten {name}</translation>
    </message>
    <message>
        <source>LUN {lun} is given to more than one data disk: give each its own.</source>
        <translation>LUN {lun} ist mehreren Datenträgern für Daten zugewiesen: Geben Sie jedem eine eigene.</translation>
    </message>
    <message>
        <source>{format} (recognised by its content; not uploadable as it is)</source>
        <translation>{format} (an seinem Inhalt erkannt; so nicht hochladbar)</translation>
    </message>
    <message>
        <source>{size} ({count} bytes)</source>
        <translation>{size} ({count} Bytes)</translation>
    </message>
    <message>
        <source>{count} bytes (with the 512-byte footer)</source>
        <translation>{count} Bytes (mit der 512-Byte-Fußzeile)</translation>
    </message>
    <message>
        <source>at most {size} ({share}%); empty ranges and zero blocks are not sent</source>
        <translation>höchstens {size} ({share} %); leere Bereiche und Nullblöcke werden nicht gesendet</translation>
    </message>
    <message>
        <source>read as a fixed VHD on the fly (no temporary copy)</source>
        <translation>wird direkt als feste VHD gelesen (keine temporäre Kopie)</translation>
    </message>
    <message>
        <source>size rounded up to a whole MiB ({before} → {after})</source>
        <translation>Größe auf ganze MiB aufgerundet ({before} → {after})</translation>
    </message>
    <message>
        <source>Azure-ready footer written last</source>
        <translation>Azure-taugliche Fußzeile wird zuletzt geschrieben</translation>
    </message>
    <message>
        <source>Azure will accept this disk as it is.</source>
        <translation>Azure akzeptiert diesen Datenträger so, wie er ist.</translation>
    </message>
</context>
<context>
    <name>FollowUpPage</name>
    <message>
        <source>Then what</source>
        <translation>Und danach</translation>
    </message>
    <message>
        <source>Keep the disk as it is, or make an image from it right after the upload.</source>
        <translation>Behalten Sie den Datenträger, wie er ist, oder erstellen Sie direkt nach dem Upload ein Image daraus.</translation>
    </message>
    <message>
        <source>Nothing more: keep the disk</source>
        <translation>Nichts weiter: Datenträger behalten</translation>
    </message>
    <message>
        <source>A managed image</source>
        <translation>Ein verwaltetes Image</translation>
    </message>
    <message>
        <source>A Compute Gallery image version (recommended for sharing and replication)</source>
        <translation>Eine Imageversion in der Azure Compute Gallery (empfohlen zum Teilen und für die Replikation)</translation>
    </message>
    <message>
        <source>Image name:</source>
        <translation>Imagename:</translation>
    </message>
    <message>
        <source>Resource group:</source>
        <translation>Ressourcengruppe:</translation>
    </message>
    <message>
        <source>Standard</source>
        <translation>Standard</translation>
    </message>
    <message>
        <source>Trusted launch</source>
        <translation>Vertrauenswürdiger Start</translation>
    </message>
    <message>
        <source>Trusted launch supported</source>
        <translation>Vertrauenswürdiger Start unterstützt</translation>
    </message>
    <message>
        <source>The disk&apos;s region: the version is always stored there.</source>
        <translation>Die Region des Datenträgers: Die Version wird immer dort gespeichert.</translation>
    </message>
    <message>
        <source>Exclude from latest</source>
        <translation>Von „Neueste“ ausschließen</translation>
    </message>
    <message>
        <source>End of life:</source>
        <translation>Ende der Lebensdauer:</translation>
    </message>
    <message>
        <source>Gallery:</source>
        <translation>Katalog:</translation>
    </message>
    <message>
        <source>Image definition:</source>
        <translation>Imagedefinition:</translation>
    </message>
    <message>
        <source>Security type (new definition):</source>
        <translation>Sicherheitstyp (neue Imagedefinition):</translation>
    </message>
    <message>
        <source>Publisher (new definition):</source>
        <translation>Herausgeber (neue Imagedefinition):</translation>
    </message>
    <message>
        <source>Version:</source>
        <translation>Version:</translation>
    </message>
    <message>
        <source>Target regions:</source>
        <translation>Zielregionen:</translation>
    </message>
    <message>
        <source>Then &amp;test-boot the image (a throw-away VM, deleted afterwards)</source>
        <translation>Danach das Image &amp;testweise starten (eine Wegwerf-VM, die danach gelöscht wird)</translation>
    </message>
    <message>
        <source>When the image is made, create a VM from it in a throw-away resource group, show its serial log while it boots, say whether it booted and why not, then delete everything it made</source>
        <translation>Sobald das Image erstellt ist, daraus eine VM in einer Wegwerf-Ressourcengruppe erstellen, ihr serielles Protokoll beim Start zeigen, sagen, ob sie gestartet ist und warum nicht, und danach alles löschen, was dafür erstellt wurde</translation>
    </message>
    <message numerus="yes">
        <source>The image or version holds every disk of page 1: the OS disk and %n data disk(s), each at its LUN.</source>
        <translation>
            <numerusform>Das Image bzw. die Imageversion enthält alle Datenträger von Seite 1: den Betriebssystemdatenträger und %n Datenträger für Daten, jeden unter seiner LUN.</numerusform>
            <numerusform>Das Image bzw. die Imageversion enthält alle Datenträger von Seite 1: den Betriebssystemdatenträger und %n Datenträger für Daten, jeden unter seiner LUN.</numerusform>
        </translation>
    </message>
    <message>
        <source>Reading the definition…</source>
        <translation>Die Imagedefinition wird gelesen…</translation>
    </message>
    <message>
        <source>A new definition is created with the disk&apos;s OS type, state, generation and architecture.</source>
        <translation>Eine neue Imagedefinition wird mit Betriebssystemtyp, Zustand, Generation und Architektur des Datenträgers erstellt.</translation>
    </message>
    <message>
        <source>Could not read the definition: {error}</source>
        <translation>Die Imagedefinition konnte nicht gelesen werden: {error}</translation>
    </message>
    <message>
        <source>Existing definition: {facts}; versions: {versions}</source>
        <translation>Vorhandene Imagedefinition: {facts}; Versionen: {versions}</translation>
    </message>
    <message>
        <source>Existing definition: {facts}; versions: none yet</source>
        <translation>Vorhandene Imagedefinition: {facts}; Versionen: noch keine</translation>
    </message>
    <message>
        <source>Checking the image definition…</source>
        <translation>Die Imagedefinition wird geprüft…</translation>
    </message>
</context>
<context>
    <name>GuestChoice</name>
    <message>
        <source>not told by the disk</source>
        <translation>vom Datenträger nicht angegeben</translation>
    </message>
    <message>
        <source>✓ detected from the disk (high confidence)</source>
        <translation>✓ vom Datenträger erkannt (hohe Sicherheit)</translation>
    </message>
    <message>
        <source>✓ detected from the disk (medium confidence)</source>
        <translation>✓ vom Datenträger erkannt (mittlere Sicherheit)</translation>
    </message>
    <message>
        <source>✓ detected from the disk (low confidence)</source>
        <translation>✓ vom Datenträger erkannt (geringe Sicherheit)</translation>
    </message>
    <message>
        <source>detected from the disk: {value}</source>
        <translation>vom Datenträger erkannt: {value}</translation>
    </message>
    <message>
        <source>Gen1 or Gen2</source>
        <translation>Gen1 oder Gen2</translation>
    </message>
    <message>
        <source>unknown</source>
        <translation>unbekannt</translation>
    </message>
</context>
<context>
    <name>HandoffActions</name>
    <message>
        <source>Copy as &amp;az CLI</source>
        <translation>Als &amp;az CLI kopieren</translation>
    </message>
    <message>
        <source>Copy an az vm create command that makes a VM from this image</source>
        <translation>Einen Befehl „az vm create“ kopieren, der aus diesem Image eine VM erstellt</translation>
    </message>
    <message>
        <source>Copy as &amp;Bicep</source>
        <translation>Als &amp;Bicep kopieren</translation>
    </message>
    <message>
        <source>Copy a Bicep file that deploys a VM (and its network) from this image</source>
        <translation>Eine Bicep-Datei kopieren, die aus diesem Image eine VM (samt Netzwerk) bereitstellt</translation>
    </message>
    <message>
        <source>Open in Azure &amp;Marketplace</source>
        <translation>In Azure &amp;Marketplace öffnen</translation>
    </message>
    <message>
        <source>Open in the Azure &amp;portal</source>
        <translation>Im Azure-&amp;Portal öffnen</translation>
    </message>
    <message>
        <source>Not connected yet: nothing to hand off.</source>
        <translation>Noch nicht verbunden: nichts zu übergeben.</translation>
    </message>
    <message>
        <source>An az vm create command for {image} is on the clipboard.</source>
        <translation>Ein Befehl „az vm create“ für {image} ist in der Zwischenablage.</translation>
    </message>
    <message>
        <source>A Bicep file for a VM from {image} is on the clipboard.</source>
        <translation>Eine Bicep-Datei für eine VM aus {image} ist in der Zwischenablage.</translation>
    </message>
    <message>
        <source>The offline sandbox&apos;s images have no page in the portal.</source>
        <translation>Die Images der Offline-Sandbox haben keine Seite im Portal.</translation>
    </message>
    <message>
        <source>This image has no page to open in its cloud.</source>
        <translation>Dieses Image hat in seiner Cloud keine Seite zum Öffnen.</translation>
    </message>
</context>
<context>
    <name>HelpMenu</name>
    <message>
        <source>&amp;Help</source>
        <translation>&amp;Hilfe</translation>
    </message>
    <message>
        <source>Help for the window or page in front</source>
        <translation>Hilfe zum Fenster oder zur Seite im Vordergrund</translation>
    </message>
    <message>
        <source>&amp;Keyboard shortcuts</source>
        <translation>&amp;Tastenkombinationen</translation>
    </message>
    <message>
        <source>Every key of this window and the wizards</source>
        <translation>Alle Tastenkombinationen dieses Fensters und der Assistenten</translation>
    </message>
    <message>
        <source>&amp;Copy diagnostics</source>
        <translation>&amp;Diagnose kopieren</translation>
    </message>
    <message>
        <source>Versions, system and the end of the log, without secrets, for a bug report</source>
        <translation>Versionen, System und das Ende des Protokolls, ohne Geheimnisse, für einen Fehlerbericht</translation>
    </message>
    <message>
        <source>&amp;About {app}</source>
        <translation>Ü&amp;ber {app}</translation>
    </message>
</context>
<context>
    <name>HelpWindow</name>
    <message>
        <source>Help page</source>
        <translation>Hilfeseite</translation>
    </message>
    <message>
        <source>&amp;Back</source>
        <translation>&amp;Zurück</translation>
    </message>
    <message>
        <source>&amp;Forward</source>
        <translation>&amp;Vorwärts</translation>
    </message>
    <message>
        <source>&amp;Contents</source>
        <translation>&amp;Inhalt</translation>
    </message>
    <message>
        <source>C&amp;lose</source>
        <translation>Sch&amp;ließen</translation>
    </message>
    <message>
        <source>Back to the previous page</source>
        <translation>Zurück zur vorherigen Seite</translation>
    </message>
    <message>
        <source>Forward to the next page</source>
        <translation>Vorwärts zur nächsten Seite</translation>
    </message>
    <message>
        <source>All help pages</source>
        <translation>Alle Hilfeseiten</translation>
    </message>
    <message>
        <source>Help navigation</source>
        <translation>Navigation in der Hilfe</translation>
    </message>
    <message>
        <source>{app} Help</source>
        <translation>Hilfe zu {app}</translation>
    </message>
</context>
<context>
    <name>LogDock</name>
    <message>
        <source>Log</source>
        <translation>Protokoll</translation>
    </message>
    <message>
        <source>Text, resource name or request id</source>
        <translation>Text, Ressourcenname oder Anforderungs-ID</translation>
    </message>
    <message>
        <source>Filter the log</source>
        <translation>Protokoll filtern</translation>
    </message>
    <message>
        <source>Show only the lines that contain this text (upper or lower case alike).</source>
        <translation>Nur die Zeilen anzeigen, die diesen Text enthalten (ohne Unterscheidung von Groß- und Kleinschreibung).</translation>
    </message>
    <message>
        <source>Fil&amp;ter:</source>
        <translation>Fil&amp;ter:</translation>
    </message>
    <message>
        <source>Save l&amp;og…</source>
        <translation>Protokoll s&amp;peichern…</translation>
    </message>
    <message>
        <source>Save the lines shown to a text file.</source>
        <translation>Die angezeigten Zeilen in einer Textdatei speichern.</translation>
    </message>
    <message>
        <source>Clea&amp;r</source>
        <translation>&amp;Leeren</translation>
    </message>
    <message>
        <source>Remove every line from this panel.</source>
        <translation>Alle Zeilen aus diesem Bereich entfernen.</translation>
    </message>
    <message>
        <source>Log lines</source>
        <translation>Protokollzeilen</translation>
    </message>
    <message>
        <source>Save the log</source>
        <translation>Protokoll speichern</translation>
    </message>
    <message>
        <source>Text files (*.txt *.log)</source>
        <translation>Textdateien (*.txt *.log)</translation>
    </message>
    <message>
        <source>Could not save the log</source>
        <translation>Das Protokoll konnte nicht gespeichert werden</translation>
    </message>
    <message>
        <source>The log could not be written to {path}: {reason}. Choose another folder or file name.</source>
        <translation>Das Protokoll konnte nicht in {path} geschrieben werden: {reason}. Wählen Sie einen anderen Ordner oder Dateinamen.</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Show &amp;Transfers</source>
        <translation>&amp;Übertragungen anzeigen</translation>
    </message>
    <message>
        <source>&amp;Refresh</source>
        <translation>&amp;Aktualisieren</translation>
    </message>
    <message>
        <source>Ask Azure again for the selected node (or everything shown)</source>
        <translation>Azure erneut nach dem ausgewählten Knoten (oder allem Angezeigten) fragen</translation>
    </message>
    <message>
        <source>&amp;Capture VM…</source>
        <translation>VM &amp;erfassen…</translation>
    </message>
    <message>
        <source>Turn an existing VM into a managed image or a gallery image version: back up, generalize, capture, every step shown</source>
        <translation>Einen vorhandenen virtuellen Computer in ein verwaltetes Image oder eine Imageversion im Katalog umwandeln: sichern, verallgemeinern, erfassen – jeder Schritt wird angezeigt</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Beenden</translation>
    </message>
    <message>
        <source>Show &amp;Log</source>
        <translation>&amp;Protokoll anzeigen</translation>
    </message>
    <message>
        <source>Add &amp;community gallery…</source>
        <translation>&amp;Community-Katalog hinzufügen…</translation>
    </message>
    <message>
        <source>Add a community gallery by its public name</source>
        <translation>Einen Community-Katalog über seinen öffentlichen Namen hinzufügen</translation>
    </message>
    <message>
        <source>&amp;Sign in to Azure…</source>
        <translation>Bei Azure &amp;anmelden…</translation>
    </message>
    <message>
        <source>Sign in with a browser or a device code</source>
        <translation>Mit einem Browser oder einem Gerätecode anmelden</translation>
    </message>
    <message>
        <source>Use the offline &amp;sandbox</source>
        <translation>Offline-&amp;Sandbox verwenden</translation>
    </message>
    <message>
        <source>Work against the embedded local Azure</source>
        <translation>Mit dem eingebetteten lokalen Azure arbeiten</translation>
    </message>
    <message>
        <source>Copy resource ID / URN</source>
        <translation>Ressourcen-ID / URN kopieren</translation>
    </message>
    <message>
        <source>&amp;Settings…</source>
        <translation>&amp;Einstellungen…</translation>
    </message>
    <message>
        <source>Language, defaults, uploads, sign-in and the cache</source>
        <translation>Sprache, Standardwerte, Uploads, Anmeldung und Cache</translation>
    </message>
    <message>
        <source>Filter loaded nodes ({key})…</source>
        <translation>Geladene Knoten filtern ({key})…</translation>
    </message>
    <message>
        <source>Filter the image sources</source>
        <translation>Imagequellen filtern</translation>
    </message>
    <message>
        <source>Shows only the loaded nodes whose name contains this text ({key})</source>
        <translation>Zeigt nur die geladenen Knoten, deren Name diesen Text enthält ({key})</translation>
    </message>
    <message>
        <source>&amp;Find Images</source>
        <translation>Images &amp;suchen</translation>
    </message>
    <message>
        <source>&amp;Upload disk image…</source>
        <translation>Datenträgerimage &amp;hochladen…</translation>
    </message>
    <message>
        <source>Upload a local disk image (VHD, VHDX, qcow2, VMDK, VDI, OVA or raw) as a managed disk, page blob or image (or drop the file onto the window)</source>
        <translation>Ein lokales Datenträgerimage (VHD, VHDX, qcow2, VMDK, VDI, OVA oder Raw) als verwalteten Datenträger, Seitenblob oder Image hochladen (oder die Datei auf das Fenster ziehen)</translation>
    </message>
    <message>
        <source>Search the Marketplace and every gallery, also what is not loaded</source>
        <translation>Den Marketplace und alle Kataloge durchsuchen, auch was noch nicht geladen ist</translation>
    </message>
    <message>
        <source>F&amp;ilter Loaded Nodes</source>
        <translation>Geladene Knoten f&amp;iltern</translation>
    </message>
    <message>
        <source>Show only the loaded nodes of the tree whose name contains a text</source>
        <translation>Nur die geladenen Knoten der Struktur anzeigen, deren Name einen Text enthält</translation>
    </message>
    <message>
        <source>F&amp;ilter:</source>
        <translation>F&amp;ilter:</translation>
    </message>
    <message>
        <source>Image sources</source>
        <translation>Imagequellen</translation>
    </message>
    <message>
        <source>Image sources, down to image versions; expand a node to list it</source>
        <translation>Imagequellen bis hinunter zu den Imageversionen; erweitern Sie einen Knoten, um seinen Inhalt aufzulisten</translation>
    </message>
    <message>
        <source>Image so&amp;urces:</source>
        <translation>&amp;Imagequellen:</translation>
    </message>
    <message>
        <source>Open the context menu</source>
        <translation>Kontextmenü öffnen</translation>
    </message>
    <message>
        <source>Main</source>
        <translation>Haupt</translation>
    </message>
    <message>
        <source>Su&amp;bscription:</source>
        <translation>Abonne&amp;ment:</translation>
    </message>
    <message>
        <source>Subscription</source>
        <translation>Abonnement</translation>
    </message>
    <message>
        <source>&amp;Location:</source>
        <translation>&amp;Region:</translation>
    </message>
    <message>
        <source>Location</source>
        <translation>Region</translation>
    </message>
    <message>
        <source>The subscription whose images and VMs are shown ({key})</source>
        <translation>Das Abonnement, dessen Images und virtuelle Computer angezeigt werden ({key})</translation>
    </message>
    <message>
        <source>The region the images are listed for ({key})</source>
        <translation>Die Region, für die die Images aufgelistet werden ({key})</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>&amp;Datei</translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation>&amp;Bearbeiten</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>&amp;Ansicht</translation>
    </message>
    <message>
        <source>&amp;Sources</source>
        <translation>&amp;Quellen</translation>
    </message>
    <message>
        <source>&amp;Account</source>
        <translation>&amp;Konto</translation>
    </message>
    <message>
        <source>Not connected</source>
        <translation>Nicht verbunden</translation>
    </message>
    <message>
        <source>Signed-in account</source>
        <translation>Angemeldetes Konto</translation>
    </message>
    <message>
        <source>Sandbox: offline, nothing reaches Azure</source>
        <translation>Sandbox: offline, nichts erreicht Azure</translation>
    </message>
    <message>
        <source>You are working against the embedded local Azure. Everything here is sample data; nothing you do reaches a real subscription. Account → Sign in to Azure… to leave it.</source>
        <translation>Sie arbeiten mit dem eingebetteten lokalen Azure. Alles hier sind Beispieldaten; nichts, was Sie tun, erreicht ein echtes Abonnement. Zum Verlassen: Konto → Bei Azure anmelden…</translation>
    </message>
    <message>
        <source>{app} — Sandbox</source>
        <translation>{app} — Sandbox</translation>
    </message>
    <message>
        <source>Listing subscriptions…</source>
        <translation>Abonnements werden aufgelistet…</translation>
    </message>
    <message>
        <source>Could not list the subscriptions: {reason}</source>
        <translation>Die Abonnements konnten nicht aufgelistet werden: {reason}</translation>
    </message>
    <message>
        <source>Could not list the subscriptions</source>
        <translation>Die Abonnements konnten nicht aufgelistet werden</translation>
    </message>
    <message>
        <source>This account has no subscriptions: sign in with another account.</source>
        <translation>Dieses Konto hat keine Abonnements: Melden Sie sich mit einem anderen Konto an.</translation>
    </message>
    <message>
        <source>Connected as {account}.</source>
        <translation>Verbunden als {account}.</translation>
    </message>
    <message>
        <source>Could not list the locations: {reason}</source>
        <translation>Die Regionen konnten nicht aufgelistet werden: {reason}</translation>
    </message>
    <message>
        <source>Copy name</source>
        <translation>Namen kopieren</translation>
    </message>
    <message>
        <source>Capture VM…</source>
        <translation>VM erfassen…</translation>
    </message>
    <message>
        <source>Not connected yet: nothing to refresh.</source>
        <translation>Noch nicht verbunden: Es gibt nichts zu aktualisieren.</translation>
    </message>
    <message>
        <source>Asking Azure again…</source>
        <translation>Azure wird erneut gefragt…</translation>
    </message>
    <message>
        <source>Could not list {name}: {reason}</source>
        <translation>{name} konnte nicht aufgelistet werden: {reason}</translation>
    </message>
    <message>
        <source>Could not list a node of the tree: {reason}</source>
        <translation>Ein Knoten der Struktur konnte nicht aufgelistet werden: {reason}</translation>
    </message>
    <message>
        <source>Could not add the community gallery</source>
        <translation>Der Community-Katalog konnte nicht hinzugefügt werden</translation>
    </message>
    <message>
        <source>The new image is made, but the tree does not list it yet: press F5 to ask Azure again.</source>
        <translation>Das neue Image ist erstellt, aber die Struktur listet es noch nicht: Drücken Sie F5, um Azure erneut zu fragen.</translation>
    </message>
    <message>
        <source>{name} is not in the tree of this subscription and region.</source>
        <translation>{name} ist nicht in der Struktur dieses Abonnements und dieser Region.</translation>
    </message>
    <message>
        <source>Copied {text}</source>
        <translation>{text} kopiert</translation>
    </message>
    <message>
        <source>Azure error code: {code}</source>
        <translation>Azure-Fehlercode: {code}</translation>
    </message>
    <message>
        <source>Transfers are running</source>
        <translation>Übertragungen laufen</translation>
    </message>
    <message numerus="yes">
        <source>%n upload(s) or download(s) still running. What should happen to them when the app closes?</source>
        <translation>
            <numerusform>%n Upload oder Download läuft noch. Was soll damit geschehen, wenn die App geschlossen wird?</numerusform>
            <numerusform>%n Uploads oder Downloads laufen noch. Was soll damit geschehen, wenn die App geschlossen wird?</numerusform>
        </translation>
    </message>
    <message>
        <source>&amp;Pause and quit</source>
        <translation>&amp;Anhalten und beenden</translation>
    </message>
    <message>
        <source>&amp;Cancel uploads and quit</source>
        <translation>Uploads a&amp;bbrechen und beenden</translation>
    </message>
    <message>
        <source>&amp;Keep working</source>
        <translation>&amp;Weiterarbeiten</translation>
    </message>
    <message>
        <source>&lt;p&gt;&lt;b&gt;Pause and quit&lt;/b&gt;: every upload stops where it is and resumes at the next start (a managed disk keeps its write access, held in the system keyring until then).&lt;/p&gt;</source>
        <translation>&lt;p&gt;&lt;b&gt;Anhalten und beenden&lt;/b&gt;: Jeder Upload hält an, wo er ist, und wird beim nächsten Start fortgesetzt (ein verwalteter Datenträger behält seinen Schreibzugriff, bis dahin im Schlüsselbund des Systems verwahrt).&lt;/p&gt;</translation>
    </message>
    <message>
        <source>&lt;p&gt;&lt;b&gt;Pause and quit&lt;/b&gt;: every upload stops where it is and resumes at the next start (this system has no keyring to hold a managed disk&apos;s write access, so that access is revoked too and the disk&apos;s upload starts over).&lt;/p&gt;</source>
        <translation>&lt;p&gt;&lt;b&gt;Anhalten und beenden&lt;/b&gt;: Jeder Upload hält an, wo er ist, und wird beim nächsten Start fortgesetzt (dieses System hat keinen Schlüsselbund für den Schreibzugriff eines verwalteten Datenträgers; dieser Zugriff wird daher ebenfalls widerrufen, und der Upload des Datenträgers beginnt von vorn).&lt;/p&gt;</translation>
    </message>
    <message>
        <source>&lt;p&gt;A download stops the same way: its read access is revoked, and it continues at the next start with only the data it still lacks.&lt;/p&gt;</source>
        <translation>&lt;p&gt;Ein Download wird ebenso beendet: Sein Lesezugriff wird widerrufen, und er wird beim nächsten Start nur mit den noch fehlenden Daten fortgesetzt.&lt;/p&gt;</translation>
    </message>
    <message>
        <source>&lt;p&gt;&lt;b&gt;Cancel uploads and quit&lt;/b&gt;: write access is revoked; a managed disk cannot take more data after that, so a later resume starts it over.&lt;/p&gt;&lt;p&gt;&lt;b&gt;Keep working&lt;/b&gt;: nothing changes.&lt;/p&gt;</source>
        <translation>&lt;p&gt;&lt;b&gt;Uploads abbrechen und beenden&lt;/b&gt;: Der Schreibzugriff wird widerrufen; ein verwalteter Datenträger nimmt danach keine Daten mehr an, ein späteres Fortsetzen beginnt daher von vorn.&lt;/p&gt;&lt;p&gt;&lt;b&gt;Weiterarbeiten&lt;/b&gt;: Nichts ändert sich.&lt;/p&gt;</translation>
    </message>
    <message>
        <source>Pausing the uploads for the next start…</source>
        <translation>Die Uploads werden für den nächsten Start angehalten…</translation>
    </message>
    <message>
        <source>Cancelling the uploads…</source>
        <translation>Die Uploads werden abgebrochen…</translation>
    </message>
</context>
<context>
    <name>Measures</name>
    <message>
        <source>{seconds} s</source>
        <translation>{seconds} s</translation>
    </message>
    <message>
        <source>{minutes} min {seconds} s</source>
        <translation>{minutes} Min. {seconds} s</translation>
    </message>
    <message>
        <source>{hours} h {minutes} min</source>
        <translation>{hours} Std. {minutes} Min.</translation>
    </message>
    <message>
        <source>{size}/s</source>
        <translation>{size}/s</translation>
    </message>
    <message>
        <source>{percent} %</source>
        <translation>{percent} %</translation>
    </message>
</context>
<context>
    <name>PreparePage</name>
    <message>
        <source>Prepare the VM</source>
        <translation>VM vorbereiten</translation>
    </message>
    <message>
        <source>1. Back up first</source>
        <translation>1. Zuerst sichern</translation>
    </message>
    <message>
        <source>Generalizing cannot be undone. Snapshots keep a copy of each disk as it is now, so you can build a new VM from them if anything goes wrong.</source>
        <translation>Das Verallgemeinern lässt sich nicht rückgängig machen. Momentaufnahmen bewahren eine Kopie jedes Datenträgers im jetzigen Zustand, sodass Sie daraus eine neue VM erstellen können, falls etwas schiefgeht.</translation>
    </message>
    <message>
        <source>2. Generalize</source>
        <translation>2. Verallgemeinern</translation>
    </message>
    <message>
        <source>Generalization command</source>
        <translation>Befehl zum Verallgemeinern</translation>
    </message>
    <message>
        <source>Cop&amp;y</source>
        <translation>&amp;Kopieren</translation>
    </message>
    <message>
        <source>Copy the command to the clipboard</source>
        <translation>Den Befehl in die Zwischenablage kopieren</translation>
    </message>
    <message>
        <source>&amp;I generalized it myself and shut it down</source>
        <translation>Ich habe sie selbst ver&amp;allgemeinert und heruntergefahren</translation>
    </message>
    <message>
        <source>Capture as &amp;specialized (gallery only): keep the machine as it is, with its accounts and computer name</source>
        <translation>Als &amp;spezialisiert erfassen (nur Katalog): den Computer unverändert lassen, mit seinen Konten und seinem Computernamen</translation>
    </message>
    <message>
        <source>Take a snapshot of the {disk}</source>
        <translation>Momentaufnahme erstellen von {disk}</translation>
    </message>
    <message>
        <source>Azure already marks {name} generalized: it can be captured as it is.</source>
        <translation>Azure kennzeichnet {name} bereits als verallgemeinert: Sie kann so erfasst werden, wie sie ist.</translation>
    </message>
    <message>
        <source>Inside the VM, as an administrator, run sysprep. It removes the computer&apos;s identity (SID, computer name, logs), then shuts Windows down. The switch &apos;/mode:vm&apos; (Windows Server 2012 and later, images for VMs only) skips the hardware re-detection on first start:</source>
        <translation>Führen Sie in der VM als Administrator sysprep aus. Es entfernt die Identität des Computers (SID, Computername, Protokolle) und fährt Windows anschließend herunter. Der Schalter „/mode:vm“ (ab Windows Server 2012, nur für Images für VMs) überspringt beim ersten Start die erneute Hardwareerkennung:</translation>
    </message>
    <message>
        <source>Inside the VM, run the Azure Linux agent&apos;s deprovisioning. It removes SSH host keys, DHCP leases, cloud-init state and the admin user, then shut the VM down (sudo shutdown -h now):</source>
        <translation>Führen Sie in der VM die Deprovisionierung des Azure-Linux-Agents aus. Sie entfernt SSH-Hostschlüssel, DHCP-Leases, den cloud-init-Zustand und den Administratorbenutzer. Fahren Sie die VM danach herunter (sudo shutdown -h now):</translation>
    </message>
    <message>
        <source>Without /mode:vm: {command}</source>
        <translation>Ohne /mode:vm: {command}</translation>
    </message>
    <message>
        <source>The user account &lt;b&gt;{user}&lt;/b&gt; and its home directory are removed.</source>
        <translation>Das Benutzerkonto &lt;b&gt;{user}&lt;/b&gt; und sein Basisverzeichnis werden entfernt.</translation>
    </message>
    <message>
        <source>The admin user account and its home directory are removed.</source>
        <translation>Das Konto des Administratorbenutzers und sein Basisverzeichnis werden entfernt.</translation>
    </message>
    <message>
        <source>The machine&apos;s identity is reset and the built-in Administrator is disabled; a new VM gets its admin account from its own settings. Local accounts such as &lt;b&gt;{user}&lt;/b&gt; stay in the image: remove the ones you do not want in it first.</source>
        <translation>Die Identität des Computers wird zurückgesetzt und der integrierte Administrator deaktiviert; eine neue VM erhält ihr Administratorkonto aus ihren eigenen Einstellungen. Lokale Konten wie &lt;b&gt;{user}&lt;/b&gt; bleiben im Image: Entfernen Sie vorher die, die Sie nicht darin haben möchten.</translation>
    </message>
    <message>
        <source>The machine&apos;s identity is reset and the built-in Administrator is disabled; a new VM gets its admin account from its own settings. Local accounts stay in the image: remove the ones you do not want in it first.</source>
        <translation>Die Identität des Computers wird zurückgesetzt und der integrierte Administrator deaktiviert; eine neue VM erhält ihr Administratorkonto aus ihren eigenen Einstellungen. Lokale Konten bleiben im Image: Entfernen Sie vorher die, die Sie nicht darin haben möchten.</translation>
    </message>
    <message>
        <source>&lt;b&gt;Caveats:&lt;/b&gt; a generalized VM can never be started again: capture it, then delete it or keep it only as the image&apos;s source. {accounts}</source>
        <translation>&lt;b&gt;Zu beachten:&lt;/b&gt; Eine verallgemeinerte VM kann nie wieder gestartet werden: Erfassen Sie sie, und löschen Sie sie danach oder behalten Sie sie nur als Quelle des Images. {accounts}</translation>
    </message>
    <message>
        <source>&amp;Run the generalization now through Run Command and wait until the VM has stopped</source>
        <translation>Verallgemeinerung jetzt über Run Command aus&amp;führen und warten, bis die VM beendet ist</translation>
    </message>
    <message>
        <source>&amp;Run the generalization now through Run Command and wait until the VM has stopped (needs a running VM)</source>
        <translation>Verallgemeinerung jetzt über Run Command aus&amp;führen und warten, bis die VM beendet ist (erfordert eine laufende VM)</translation>
    </message>
    <message>
        <source>The VM is &amp;generalized: capture it as it is</source>
        <translation>Die VM ist &amp;verallgemeinert: so erfassen, wie sie ist</translation>
    </message>
</context>
<context>
    <name>ProgressPage</name>
    <message>
        <source>Capturing</source>
        <translation>Wird erfasst</translation>
    </message>
    <message>
        <source>Each step as it happens. A failed step stops the capture.</source>
        <translation>Jeder Schritt, während er geschieht. Ein fehlgeschlagener Schritt beendet das Erfassen.</translation>
    </message>
    <message>
        <source>Capture steps</source>
        <translation>Schritte des Erfassens</translation>
    </message>
    <message>
        <source>%v of %m steps</source>
        <translation>%v von %m Schritten</translation>
    </message>
    <message>
        <source>Capture progress</source>
        <translation>Fortschritt des Erfassens</translation>
    </message>
    <message>
        <source>&amp;Test-boot the new image…</source>
        <translation>Das neue Image &amp;testweise starten…</translation>
    </message>
    <message>
        <source>Create a throw-away VM from the new image, show its serial log while it boots, say whether it booted and why not, then delete the VM</source>
        <translation>Eine Wegwerf-VM aus dem neuen Image erstellen, ihr serielles Protokoll beim Start zeigen, sagen, ob sie gestartet ist und warum nicht, und die VM danach löschen</translation>
    </message>
    <message>
        <source>&lt;b&gt;{step} failed.&lt;/b&gt; Azure said: {message}&lt;br&gt;&lt;b&gt;What to do:&lt;/b&gt; {advice}&lt;br&gt;No later step was run.</source>
        <translation>&lt;b&gt;{step} ist fehlgeschlagen.&lt;/b&gt; Azure meldete: {message}&lt;br&gt;&lt;b&gt;Was zu tun ist:&lt;/b&gt; {advice}&lt;br&gt;Kein weiterer Schritt wurde ausgeführt.</translation>
    </message>
    <message>
        <source>&lt;b&gt;Captured.&lt;/b&gt; The new image {image} is selected in the browser, with its disks.</source>
        <translation>&lt;b&gt;Erfasst.&lt;/b&gt; Das neue Image {image} ist im Browser ausgewählt, mit seinen Datenträgern.</translation>
    </message>
    <message>
        <source>Uploading</source>
        <translation>Upload läuft</translation>
    </message>
    <message>
        <source>You can close this window: the upload goes on in the Transfers panel.</source>
        <translation>Sie können dieses Fenster schließen: Der Upload läuft im Bereich „Übertragungen“ weiter.</translation>
    </message>
    <message>
        <source>Progress of the whole upload job</source>
        <translation>Fortschritt des gesamten Uploadvorgangs</translation>
    </message>
    <message>
        <source>Network: bytes actually sent per second. Effective: how fast the image is covered, empty blocks (never sent) included; the time left follows it.</source>
        <translation>Netzwerk: tatsächlich gesendete Bytes pro Sekunde. Effektiv: wie schnell das Image abgedeckt wird, leere Blöcke (die nie gesendet werden) eingeschlossen; die Restzeit richtet sich danach.</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>Wird gestartet…</translation>
    </message>
    <message>
        <source>&amp;Pause</source>
        <translation>&amp;Anhalten</translation>
    </message>
    <message>
        <source>&amp;Resume</source>
        <translation>F&amp;ortsetzen</translation>
    </message>
    <message>
        <source>&amp;Cancel upload</source>
        <translation>Upload a&amp;bbrechen</translation>
    </message>
    <message>
        <source>Retry with &amp;another name…</source>
        <translation>Mit anderem &amp;Namen wiederholen…</translation>
    </message>
    <message>
        <source>Make the image again from the uploaded disks under another name (a gallery version: another version number or definition); no data is uploaded again</source>
        <translation>Das Image unter einem anderen Namen erneut aus den hochgeladenen Datenträgern erstellen (eine Imageversion: andere Versionsnummer oder Imagedefinition); es werden keine Daten erneut hochgeladen</translation>
    </message>
    <message>
        <source>Steps of the upload</source>
        <translation>Schritte des Uploads</translation>
    </message>
    <message>
        <source>Network {network} · effective {effective} · time left {eta} · elapsed {elapsed}</source>
        <translation>Netzwerk {network} · effektiv {effective} · Restzeit {eta} · vergangen {elapsed}</translation>
    </message>
    <message>
        <source>Sent {sent} · skipped {skipped} (empty) · already there {present} · of {total}</source>
        <translation>Gesendet {sent} · übersprungen {skipped} (leer) · bereits vorhanden {present} · von {total}</translation>
    </message>
    <message>
        <source>Upload finished</source>
        <translation>Upload abgeschlossen</translation>
    </message>
    <message>
        <source>The upload finished and the image was created.</source>
        <translation>Der Upload ist abgeschlossen, und das Image wurde erstellt.</translation>
    </message>
    <message>
        <source>The upload finished: the disk is ready.</source>
        <translation>Der Upload ist abgeschlossen: Der Datenträger ist bereit.</translation>
    </message>
    <message>
        <source>Done. You can close this window.</source>
        <translation>Fertig. Sie können dieses Fenster schließen.</translation>
    </message>
    <message>
        <source>Image not made</source>
        <translation>Image nicht erstellt</translation>
    </message>
    <message>
        <source>{error}

The data is in Azure; only the image step failed. Retry with another name… makes the image from the uploaded disks without sending the data again.</source>
        <translation>{error}

Die Daten sind in Azure; nur der Imageschritt ist fehlgeschlagen. „Mit anderem Namen wiederholen…“ erstellt das Image aus den hochgeladenen Datenträgern, ohne die Daten erneut zu senden.</translation>
    </message>
    <message>
        <source>Upload failed</source>
        <translation>Upload fehlgeschlagen</translation>
    </message>
    <message>
        <source>The upload failed: {reason}</source>
        <translation>Der Upload ist fehlgeschlagen: {reason}</translation>
    </message>
    <message>
        <source>{error}

Nothing after the failed step was run. Resume picks up where it stopped.</source>
        <translation>{error}

Nach dem fehlgeschlagenen Schritt wurde nichts mehr ausgeführt. „Fortsetzen“ macht dort weiter, wo der Vorgang stehen geblieben ist.</translation>
    </message>
    <message>
        <source>Upload cancelled</source>
        <translation>Upload abgebrochen</translation>
    </message>
    <message>
        <source>The upload was cancelled. Resume picks up where it stopped.</source>
        <translation>Der Upload wurde abgebrochen. „Fortsetzen“ macht dort weiter, wo er stehen geblieben ist.</translation>
    </message>
    <message>
        <source>Upload interrupted</source>
        <translation>Upload unterbrochen</translation>
    </message>
    <message>
        <source>The upload stopped: {reason}</source>
        <translation>Der Upload wurde beendet: {reason}</translation>
    </message>
    <message>
        <source>Upload paused</source>
        <translation>Upload angehalten</translation>
    </message>
    <message numerus="yes">
        <source>{current} · {done} of %n step(s) done</source>
        <translation>
            <numerusform>{current} · {done} von %n Schritt erledigt</numerusform>
            <numerusform>{current} · {done} von %n Schritten erledigt</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>RegionReplicaTable</name>
    <message>
        <source>Target region</source>
        <translation>Zielregion</translation>
    </message>
    <message>
        <source>Replicas</source>
        <translation>Replikate</translation>
    </message>
    <message>
        <source>Storage type</source>
        <translation>Speichertyp</translation>
    </message>
    <message>
        <source>Target regions and replicas</source>
        <translation>Zielregionen und Replikate</translation>
    </message>
    <message>
        <source>&amp;Add region</source>
        <translation>Region &amp;hinzufügen</translation>
    </message>
    <message>
        <source>Remove regi&amp;on</source>
        <translation>Regi&amp;on entfernen</translation>
    </message>
    <message>
        <source>Target region {number}</source>
        <translation>Zielregion {number}</translation>
    </message>
    <message>
        <source>Replicas in target region {number}</source>
        <translation>Replikate in Zielregion {number}</translation>
    </message>
    <message>
        <source>Storage type in target region {number}</source>
        <translation>Speichertyp in Zielregion {number}</translation>
    </message>
    <message>
        <source>Azure keeps a region&apos;s storage type: it is chosen when the region is added.</source>
        <translation>Azure behält den Speichertyp einer Region: Er wird beim Hinzufügen der Region gewählt.</translation>
    </message>
</context>
<context>
    <name>ReplicationModel</name>
    <message>
        <source>Replicating</source>
        <translation>Wird repliziert</translation>
    </message>
    <message>
        <source>Completed</source>
        <translation>Abgeschlossen</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>Fehlgeschlagen</translation>
    </message>
    <message>
        <source>Unknown</source>
        <translation>Unbekannt</translation>
    </message>
    <message>
        <source>Region</source>
        <translation>Region</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Status</translation>
    </message>
    <message>
        <source>Progress</source>
        <translation>Fortschritt</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>Details</translation>
    </message>
    <message>
        <source>{percent} %</source>
        <translation>{percent} %</translation>
    </message>
</context>
<context>
    <name>RetryFollowUpDialog</name>
    <message>
        <source>Retry with another image name</source>
        <translation>Mit anderem Imagenamen wiederholen</translation>
    </message>
    <message>
        <source>The image {name} could not be made in {group}. Its disks are in Azure: only the image is made again, under the name you give, and no data is uploaded again.</source>
        <translation>Das Image {name} konnte in {group} nicht erstellt werden. Seine Datenträger sind in Azure: Nur das Image wird erneut erstellt, unter dem Namen, den Sie angeben; es werden keine Daten erneut hochgeladen.</translation>
    </message>
    <message>
        <source>Image &amp;name:</source>
        <translation>Image&amp;name:</translation>
    </message>
    <message>
        <source>Image name</source>
        <translation>Imagename</translation>
    </message>
    <message>
        <source>Retry with another version</source>
        <translation>Mit anderer Version wiederholen</translation>
    </message>
    <message>
        <source>Version {version} of {definition} could not be made in the gallery {gallery}. Its disks are in Azure: only the version is made again, as you give it here, and no data is uploaded again.</source>
        <translation>Die Version {version} von {definition} konnte im Katalog {gallery} nicht erstellt werden. Ihre Datenträger sind in Azure: Nur die Version wird erneut erstellt, so wie Sie sie hier angeben; es werden keine Daten erneut hochgeladen.</translation>
    </message>
    <message>
        <source>&amp;Version:</source>
        <translation>&amp;Version:</translation>
    </message>
    <message>
        <source>Version number</source>
        <translation>Versionsnummer</translation>
    </message>
    <message>
        <source>Image &amp;definition:</source>
        <translation>Image&amp;definition:</translation>
    </message>
    <message>
        <source>Image definition</source>
        <translation>Imagedefinition</translation>
    </message>
    <message>
        <source>An existing definition of the gallery must match the disk; a new name creates a definition for it.</source>
        <translation>Eine vorhandene Imagedefinition des Katalogs muss zum Datenträger passen; ein neuer Name erstellt eine Imagedefinition dafür.</translation>
    </message>
    <message>
        <source>&amp;Retry</source>
        <translation>&amp;Wiederholen</translation>
    </message>
    <message>
        <source>Could not read what exists in Azure: {error}</source>
        <translation>Was in Azure vorhanden ist, konnte nicht gelesen werden: {error}</translation>
    </message>
    <message>
        <source>Checking which image names are taken…</source>
        <translation>Es wird geprüft, welche Imagenamen vergeben sind…</translation>
    </message>
    <message>
        <source>An image named {name} exists already in {group}. Pick another name, e.g. {free}.</source>
        <translation>Ein Image namens {name} ist in {group} bereits vorhanden. Wählen Sie einen anderen Namen, z. B. {free}.</translation>
    </message>
    <message>
        <source>Checking the gallery {gallery}…</source>
        <translation>Der Katalog {gallery} wird geprüft…</translation>
    </message>
</context>
<context>
    <name>ReviewPage</name>
    <message>
        <source>Review</source>
        <translation>Überprüfen</translation>
    </message>
    <message>
        <source>Every change that will be made, in order.</source>
        <translation>Jede Änderung, die vorgenommen wird, in ihrer Reihenfolge.</translation>
    </message>
    <message>
        <source>Changes the capture makes</source>
        <translation>Änderungen durch das Erfassen</translation>
    </message>
    <message>
        <source>&amp;Capture</source>
        <translation>&amp;Erfassen</translation>
    </message>
    <message>
        <source>{name} will be marked generalized: it can never be started again.</source>
        <translation>{name} wird als verallgemeinert gekennzeichnet: Sie kann nie wieder gestartet werden.</translation>
    </message>
    <message>
        <source>Run Command ({command}) runs: {script}</source>
        <translation>Run Command ({command}) führt aus: {script}</translation>
    </message>
    <message>
        <source>{name} will be deleted once the image exists.</source>
        <translation>{name} wird gelöscht, sobald das Image existiert.</translation>
    </message>
    <message>
        <source>Source: {name} ({os}, {power}, {location}, {disks}).</source>
        <translation>Quelle: {name} ({os}, {power}, {location}, {disks}).</translation>
    </message>
    <message>
        <source>These changes are made, in this order:</source>
        <translation>Diese Änderungen werden in dieser Reihenfolge vorgenommen:</translation>
    </message>
    <message>
        <source>Nothing has been changed yet. Each step is checked again just before it runs.</source>
        <translation>Bisher wurde nichts geändert. Jeder Schritt wird unmittelbar vor seiner Ausführung erneut geprüft.</translation>
    </message>
    <message>
        <source>sysprep removes machine-specific data (SID, computer name, drivers). Local accounts such as {user} stay in the image; Azure resets the administrator credentials when a VM is created from it (from that VM&apos;s own settings).</source>
        <translation>sysprep entfernt computerspezifische Daten (SID, Computername, Treiber). Lokale Konten wie {user} bleiben im Image; Azure setzt die Administratoranmeldeinformationen zurück, wenn daraus eine VM erstellt wird (aus den Einstellungen dieser VM).</translation>
    </message>
    <message>
        <source>sysprep removes machine-specific data (SID, computer name, drivers). Local accounts stay in the image; Azure resets the administrator credentials when a VM is created from it (from that VM&apos;s own settings).</source>
        <translation>sysprep entfernt computerspezifische Daten (SID, Computername, Treiber). Lokale Konten bleiben im Image; Azure setzt die Administratoranmeldeinformationen zurück, wenn daraus eine VM erstellt wird (aus den Einstellungen dieser VM).</translation>
    </message>
    <message>
        <source>Everything that will happen, in order. Nothing has been changed yet.</source>
        <translation>Alles, was geschehen wird, in der Reihenfolge. Bisher wurde nichts geändert.</translation>
    </message>
    <message>
        <source>What the upload will do</source>
        <translation>Was der Upload tun wird</translation>
    </message>
    <message>
        <source>&amp;Upload</source>
        <translation>&amp;Hochladen</translation>
    </message>
    <message>
        <source>OS disk</source>
        <translation>Betriebssystemdatenträger</translation>
    </message>
    <message>
        <source>Data disk</source>
        <translation>Datenträger für Daten</translation>
    </message>
    <message>
        <source>managed disk {name}</source>
        <translation>verwalteter Datenträger {name}</translation>
    </message>
    <message>
        <source>page blob {url}</source>
        <translation>Seitenblob {url}</translation>
    </message>
    <message>
        <source>{file}, its disk {number}</source>
        <translation>{file}, Datenträger {number}</translation>
    </message>
    <message>
        <source>Disk</source>
        <translation>Datenträger</translation>
    </message>
    <message>
        <source>LUN</source>
        <translation>LUN</translation>
    </message>
    <message>
        <source>File</source>
        <translation>Datei</translation>
    </message>
    <message>
        <source>Size in Azure</source>
        <translation>Größe in Azure</translation>
    </message>
    <message>
        <source>Becomes</source>
        <translation>Wird zu</translation>
    </message>
    <message>
        <source>Create the managed disk &lt;b&gt;{name}&lt;/b&gt; ({sku}) for upload in &lt;b&gt;{group}&lt;/b&gt;, {location} — {os_type}, {generation}</source>
        <translation>Verwalteten Datenträger &lt;b&gt;{name}&lt;/b&gt; ({sku}) für den Upload in &lt;b&gt;{group}&lt;/b&gt;, {location} erstellen — {os_type}, {generation}</translation>
    </message>
    <message>
        <source>Create the managed disk &lt;b&gt;{name}&lt;/b&gt; ({sku}) for upload in &lt;b&gt;{group}&lt;/b&gt;, {location} — data disk at LUN {lun}</source>
        <translation>Verwalteten Datenträger &lt;b&gt;{name}&lt;/b&gt; ({sku}) für den Upload in &lt;b&gt;{group}&lt;/b&gt;, {location} erstellen — Datenträger für Daten unter LUN {lun}</translation>
    </message>
    <message>
        <source>Grant write access to the disk (a SAS, renewed if the upload runs long)</source>
        <translation>Schreibzugriff auf den Datenträger gewähren (eine SAS, die bei langem Upload erneuert wird)</translation>
    </message>
    <message>
        <source>Grant write access to each disk (a SAS each, renewed if the upload runs long)</source>
        <translation>Schreibzugriff auf jeden Datenträger gewähren (je eine SAS, die bei langem Upload erneuert wird)</translation>
    </message>
    <message numerus="yes">
        <source>Upload the data of all %n disks at the same time, within the one bandwidth limit: only ranges that hold data, then the footer; Content-MD5 checked</source>
        <translation>
            <numerusform>Die Daten des %n Datenträgers hochladen, innerhalb der einen Bandbreitengrenze: nur Bereiche mit Daten, dann die Fußzeile; Content-MD5 geprüft</numerusform>
            <numerusform>Die Daten aller %n Datenträger gleichzeitig hochladen, innerhalb der einen Bandbreitengrenze: nur Bereiche mit Daten, dann die Fußzeile; Content-MD5 geprüft</numerusform>
        </translation>
    </message>
    <message>
        <source>Upload the data: only ranges that hold data, then the footer; Content-MD5 checked</source>
        <translation>Die Daten hochladen: nur Bereiche mit Daten, dann die Fußzeile; Content-MD5 geprüft</translation>
    </message>
    <message>
        <source>Upload the data to the page blob &lt;b&gt;{url}&lt;/b&gt;: only ranges that hold data, then the footer; Content-MD5 checked</source>
        <translation>Die Daten in den Seitenblob &lt;b&gt;{url}&lt;/b&gt; hochladen: nur Bereiche mit Daten, dann die Fußzeile; Content-MD5 geprüft</translation>
    </message>
    <message>
        <source>Revoke the write access (also if the upload fails or is cancelled)</source>
        <translation>Schreibzugriff widerrufen (auch wenn der Upload fehlschlägt oder abgebrochen wird)</translation>
    </message>
    <message>
        <source>Revoke the write access to each disk (also if the upload fails or is cancelled)</source>
        <translation>Schreibzugriff auf jeden Datenträger widerrufen (auch wenn der Upload fehlschlägt oder abgebrochen wird)</translation>
    </message>
    <message>
        <source>Source: &lt;b&gt;{name}&lt;/b&gt; — {path}</source>
        <translation>Quelle: &lt;b&gt;{name}&lt;/b&gt; — {path}</translation>
    </message>
    <message>
        <source>You can close this wizard during the upload: it goes on in the Transfers panel, and an unfinished upload is offered for resume at the next start.</source>
        <translation>Sie können diesen Assistenten während des Uploads schließen: Er läuft im Bereich „Übertragungen“ weiter, und ein nicht abgeschlossener Upload wird beim nächsten Start zum Fortsetzen angeboten.</translation>
    </message>
    <message numerus="yes">
        <source>Create the managed image &lt;b&gt;{name}&lt;/b&gt; in &lt;b&gt;{group}&lt;/b&gt; ({os_type}, {os_state}), holding the OS disk and %n data disk(s)</source>
        <translation>
            <numerusform>Das verwaltete Image &lt;b&gt;{name}&lt;/b&gt; in &lt;b&gt;{group}&lt;/b&gt; erstellen ({os_type}, {os_state}), mit dem Betriebssystemdatenträger und %n Datenträger für Daten</numerusform>
            <numerusform>Das verwaltete Image &lt;b&gt;{name}&lt;/b&gt; in &lt;b&gt;{group}&lt;/b&gt; erstellen ({os_type}, {os_state}), mit dem Betriebssystemdatenträger und %n Datenträgern für Daten</numerusform>
        </translation>
    </message>
    <message>
        <source>Create the managed image &lt;b&gt;{name}&lt;/b&gt; in &lt;b&gt;{group}&lt;/b&gt; ({os_type}, {os_state})</source>
        <translation>Das verwaltete Image &lt;b&gt;{name}&lt;/b&gt; in &lt;b&gt;{group}&lt;/b&gt; erstellen ({os_type}, {os_state})</translation>
    </message>
    <message>
        <source>Create the gallery &lt;b&gt;{gallery}&lt;/b&gt; in &lt;b&gt;{group}&lt;/b&gt;</source>
        <translation>Den Katalog &lt;b&gt;{gallery}&lt;/b&gt; in &lt;b&gt;{group}&lt;/b&gt; erstellen</translation>
    </message>
    <message>
        <source>Create the image definition &lt;b&gt;{name}&lt;/b&gt; ({os_type}, {os_state}, {generation}, {security})</source>
        <translation>Die Imagedefinition &lt;b&gt;{name}&lt;/b&gt; erstellen ({os_type}, {os_state}, {generation}, {security})</translation>
    </message>
    <message>
        <source>excluded from latest</source>
        <translation>von „latest“ ausgenommen</translation>
    </message>
    <message>
        <source>end of life {date}</source>
        <translation>Ende der Lebensdauer {date}</translation>
    </message>
    <message numerus="yes">
        <source>Create version &lt;b&gt;{version}&lt;/b&gt; of &lt;b&gt;{definition}&lt;/b&gt; in &lt;b&gt;{gallery}&lt;/b&gt;, holding the OS disk and %n data disk(s)</source>
        <translation>
            <numerusform>Imageversion &lt;b&gt;{version}&lt;/b&gt; von &lt;b&gt;{definition}&lt;/b&gt; in &lt;b&gt;{gallery}&lt;/b&gt; erstellen, mit dem Betriebssystemdatenträger und %n Datenträger für Daten</numerusform>
            <numerusform>Imageversion &lt;b&gt;{version}&lt;/b&gt; von &lt;b&gt;{definition}&lt;/b&gt; in &lt;b&gt;{gallery}&lt;/b&gt; erstellen, mit dem Betriebssystemdatenträger und %n Datenträgern für Daten</numerusform>
        </translation>
    </message>
    <message>
        <source>Create version &lt;b&gt;{version}&lt;/b&gt; of &lt;b&gt;{definition}&lt;/b&gt; in &lt;b&gt;{gallery}&lt;/b&gt;</source>
        <translation>Imageversion &lt;b&gt;{version}&lt;/b&gt; von &lt;b&gt;{definition}&lt;/b&gt; in &lt;b&gt;{gallery}&lt;/b&gt; erstellen</translation>
    </message>
    <message>
        <source>Replicate to {regions}</source>
        <translation>Replikation nach {regions}</translation>
    </message>
</context>
<context>
    <name>SearchPanel</name>
    <message>
        <source>Search all images</source>
        <translation>Alle Images durchsuchen</translation>
    </message>
    <message>
        <source>Fi&amp;nd:</source>
        <translation>Such&amp;en:</translation>
    </message>
    <message>
        <source>Hide de&amp;precated</source>
        <translation>Veral&amp;tete ausblenden</translation>
    </message>
    <message>
        <source>Leave out images their publisher deprecated</source>
        <translation>Images weglassen, die ihr Herausgeber als veraltet markiert hat</translation>
    </message>
    <message>
        <source>Gen&amp;2 only</source>
        <translation>Nur Gen&amp;2</translation>
    </message>
    <message>
        <source>Only images for Hyper-V generation 2 VMs</source>
        <translation>Nur Images für virtuelle Computer der Hyper-V-Generation 2</translation>
    </message>
    <message>
        <source>Arm&amp;64 only</source>
        <translation>Nur Arm&amp;64</translation>
    </message>
    <message>
        <source>Only images for Arm64 VM sizes</source>
        <translation>Nur Images für Arm64-VM-Größen</translation>
    </message>
    <message>
        <source>T&amp;rusted Launch only</source>
        <translation>Nur Tr&amp;usted Launch</translation>
    </message>
    <message>
        <source>Only images that can start with Trusted Launch</source>
        <translation>Nur Images, die mit Trusted Launch starten können</translation>
    </message>
    <message>
        <source>Search results</source>
        <translation>Suchergebnisse</translation>
    </message>
    <message>
        <source>Images found, best first; Enter shows the selected one in the tree</source>
        <translation>Gefundene Images, die besten zuerst; die Eingabetaste zeigt das ausgewählte in der Struktur</translation>
    </message>
    <message>
        <source>Resul&amp;ts:</source>
        <translation>Er&amp;gebnisse:</translation>
    </message>
    <message>
        <source>Search the Marketplace and every gallery ({keys})…</source>
        <translation>Marketplace und alle Kataloge durchsuchen ({keys})…</translation>
    </message>
    <message>
        <source>Search the Marketplace and every gallery…</source>
        <translation>Marketplace und alle Kataloge durchsuchen…</translation>
    </message>
    <message>
        <source>Finds images by publisher, offer, SKU, alias or description, also those not loaded in the tree; Enter shows the selected result in the tree</source>
        <translation>Findet Images nach Herausgeber, Angebot, SKU, Alias oder Beschreibung, auch solche, die in der Struktur noch nicht geladen sind; die Eingabetaste zeigt das ausgewählte Ergebnis in der Struktur</translation>
    </message>
    <message>
        <source>Searching…</source>
        <translation>Suche läuft…</translation>
    </message>
    <message>
        <source>Not connected yet: nothing to search.</source>
        <translation>Noch nicht verbunden: Es gibt nichts zu durchsuchen.</translation>
    </message>
    <message>
        <source>The search failed: {reason}</source>
        <translation>Die Suche ist fehlgeschlagen: {reason}</translation>
    </message>
    <message>
        <source>No image matches “{text}”.</source>
        <translation>Kein Image passt zu „{text}“.</translation>
    </message>
    <message numerus="yes">
        <source>%n result(s)</source>
        <translation>
            <numerusform>%n Ergebnis</numerusform>
            <numerusform>%n Ergebnisse</numerusform>
        </translation>
    </message>
    <message>
        <source>{message} From the images listed so far (no Marketplace Catalog).</source>
        <translation>{message} Aus den bisher aufgelisteten Images (ohne Marketplace-Katalog).</translation>
    </message>
</context>
<context>
    <name>SearchResultsModel</name>
    <message>
        <source>Image</source>
        <translation>Image</translation>
    </message>
    <message>
        <source>Latest version</source>
        <translation>Neueste Version</translation>
    </message>
    <message>
        <source>Operating system and hardware</source>
        <translation>Betriebssystem und Hardware</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Status</translation>
    </message>
    <message>
        <source>{publisher} / {offer} / {sku}</source>
        <translation>{publisher} / {offer} / {sku}</translation>
    </message>
    <message>
        <source>{version} ({date})</source>
        <translation>{version} ({date})</translation>
    </message>
    <message>
        <source>Gen1</source>
        <translation>Gen1</translation>
    </message>
    <message>
        <source>Gen2</source>
        <translation>Gen2</translation>
    </message>
    <message>
        <source>Deprecated ({state})</source>
        <translation>Veraltet ({state})</translation>
    </message>
    <message>
        <source>Purchase plan needed</source>
        <translation>Kaufplan erforderlich</translation>
    </message>
    <message>
        <source>No plan needed</source>
        <translation>Kein Plan erforderlich</translation>
    </message>
    <message>
        <source>az alias: {alias}</source>
        <translation>az-Alias: {alias}</translation>
    </message>
    <message numerus="yes">
        <source>%n data disk(s) besides the OS disk</source>
        <translation>
            <numerusform>%n Datenträger für Daten neben dem Betriebssystemdatenträger</numerusform>
            <numerusform>%n Datenträger für Daten neben dem Betriebssystemdatenträger</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Settings</source>
        <translation>Einstellungen</translation>
    </message>
    <message>
        <source>&amp;General</source>
        <translation>&amp;Allgemein</translation>
    </message>
    <message>
        <source>&amp;Uploads</source>
        <translation>&amp;Uploads</translation>
    </message>
    <message>
        <source>&amp;Account</source>
        <translation>&amp;Konto</translation>
    </message>
    <message>
        <source>&amp;Data and cache</source>
        <translation>&amp;Daten und Cache</translation>
    </message>
    <message>
        <source>As the system</source>
        <translation>Wie das System</translation>
    </message>
    <message>
        <source>&amp;Language:</source>
        <translation>&amp;Sprache:</translation>
    </message>
    <message>
        <source>A new language is used from the next start.</source>
        <translation>Eine neue Sprache gilt ab dem nächsten Start.</translation>
    </message>
    <message>
        <source>Default &amp;subscription:</source>
        <translation>Standard-&amp;Abonnement:</translation>
    </message>
    <message>
        <source>Default l&amp;ocation:</source>
        <translation>Standard-&amp;Region:</translation>
    </message>
    <message>
        <source>none: the wizards ask</source>
        <translation>keine: die Assistenten fragen</translation>
    </message>
    <message>
        <source>Default &amp;resource group:</source>
        <translation>Standard-&amp;Ressourcengruppe:</translation>
    </message>
    <message>
        <source>Default &amp;disk type:</source>
        <translation>Standard-&amp;Datenträgertyp:</translation>
    </message>
    <message>
        <source>&amp;Requests in flight per upload:</source>
        <translation>&amp;Gleichzeitige Anforderungen pro Upload:</translation>
    </message>
    <message>
        <source>More requests help on links with a long round trip; 8 is enough for most.</source>
        <translation>Mehr Anforderungen helfen bei Verbindungen mit langer Laufzeit; 8 genügen meist.</translation>
    </message>
    <message>
        <source> Mbit/s</source>
        <translation> Mbit/s</translation>
    </message>
    <message>
        <source>No limit</source>
        <translation>Keine Begrenzung</translation>
    </message>
    <message>
        <source>&amp;Bandwidth limit:</source>
        <translation>&amp;Bandbreitenbegrenzung:</translation>
    </message>
    <message>
        <source>One limit for all uploads together; it applies at once, also to uploads that are running.</source>
        <translation>Eine Grenze für alle Uploads zusammen; sie gilt sofort, auch für laufende Uploads.</translation>
    </message>
    <message>
        <source>&amp;Delete the partial managed disk</source>
        <translation>Den unvollständigen verwalteten Datenträger &amp;löschen</translation>
    </message>
    <message>
        <source>When an upload is cancelled:</source>
        <translation>Wenn ein Upload abgebrochen wird:</translation>
    </message>
    <message>
        <source>A cancelled upload leaves a disk that holds only part of the image and is billed like any other. Keep it only to look at it.</source>
        <translation>Ein abgebrochener Upload hinterlässt einen Datenträger, der nur einen Teil des Images enthält und wie jeder andere abgerechnet wird. Behalten Sie ihn nur, um ihn zu untersuchen.</translation>
    </message>
    <message>
        <source>Browser window</source>
        <translation>Browserfenster</translation>
    </message>
    <message>
        <source>Device code (sign in on another device)</source>
        <translation>Gerätecode (Anmeldung auf einem anderen Gerät)</translation>
    </message>
    <message>
        <source>&amp;Sign-in method:</source>
        <translation>&amp;Anmeldemethode:</translation>
    </message>
    <message>
        <source>&amp;Cloud:</source>
        <translation>&amp;Cloud:</translation>
    </message>
    <message>
        <source>Both are used the next time you sign in (Account → Sign in to Azure…).</source>
        <translation>Beides gilt bei der nächsten Anmeldung (Konto → Bei Azure anmelden…).</translation>
    </message>
    <message>
        <source> min</source>
        <translation> min</translation>
    </message>
    <message>
        <source>Always ask Azure again</source>
        <translation>Azure immer erneut fragen</translation>
    </message>
    <message>
        <source>Trust cached &amp;listings for:</source>
        <translation>Zwischengespeicherten &amp;Listen vertrauen für:</translation>
    </message>
    <message>
        <source>Listings are shown from the cache at once; younger than this, Azure is not asked again, which saves Azure&apos;s read budget on large subscriptions.</source>
        <translation>Listen werden sofort aus dem Cache angezeigt; sind sie jünger als dies, wird Azure nicht erneut gefragt. Das schont das Lesekontingent von Azure bei großen Abonnements.</translation>
    </message>
    <message>
        <source>&amp;Clear the cache</source>
        <translation>Cache &amp;leeren</translation>
    </message>
    <message>
        <source>Cache:</source>
        <translation>Cache:</translation>
    </message>
    <message>
        <source>Data &amp;folder:</source>
        <translation>Daten&amp;ordner:</translation>
    </message>
    <message>
        <source>&amp;Open the data folder</source>
        <translation>Datenordner &amp;öffnen</translation>
    </message>
    <message>
        <source>It holds the settings, the log, the cache, unfinished uploads&apos; journals and the sandbox. Secrets are never written there: they stay in the system&apos;s keyring.</source>
        <translation>Er enthält die Einstellungen, das Protokoll, den Cache, die Journale unvollständiger Uploads und die Sandbox. Geheimnisse werden dort nie gespeichert: Sie bleiben im Schlüsselbund des Systems.</translation>
    </message>
    <message>
        <source>Cleared: listings are asked from Azure again.</source>
        <translation>Geleert: Listen werden erneut von Azure abgefragt.</translation>
    </message>
</context>
<context>
    <name>ShortcutsDialog</name>
    <message>
        <source>Keyboard shortcuts</source>
        <translation>Tastenkombinationen</translation>
    </message>
    <message>
        <source>Wizards and dialogs</source>
        <translation>Assistenten und Dialoge</translation>
    </message>
    <message>
        <source>Fields</source>
        <translation>Felder</translation>
    </message>
    <message>
        <source>Go to {field}</source>
        <translation>Zu „{field}“ wechseln</translation>
    </message>
    <message>
        <source>The highlighted button (Next, Upload, Capture, OK)</source>
        <translation>Die hervorgehobene Schaltfläche (Weiter, Hochladen, Erfassen, OK)</translation>
    </message>
    <message>
        <source>Cancel or close</source>
        <translation>Abbrechen oder schließen</translation>
    </message>
    <message>
        <source>Help for the page or window in front</source>
        <translation>Hilfe zur Seite oder zum Fenster im Vordergrund</translation>
    </message>
    <message>
        <source>Tab / Shift+Tab</source>
        <translation>Tab / Umschalt+Tab</translation>
    </message>
    <message>
        <source>Next or previous field (also out of a table)</source>
        <translation>Nächstes oder vorheriges Feld (auch aus einer Tabelle heraus)</translation>
    </message>
    <message>
        <source>Keys</source>
        <translation>Tasten</translation>
    </message>
    <message>
        <source>Command</source>
        <translation>Befehl</translation>
    </message>
    <message>
        <source>Where</source>
        <translation>Ort</translation>
    </message>
    <message>
        <source>&amp;Shortcuts of this window:</source>
        <translation>&amp;Tastenkombinationen dieses Fensters:</translation>
    </message>
    <message>
        <source>Next page</source>
        <translation>Nächste Seite</translation>
    </message>
    <message>
        <source>Previous page</source>
        <translation>Vorherige Seite</translation>
    </message>
    <message>
        <source>Finish</source>
        <translation>Fertigstellen</translation>
    </message>
</context>
<context>
    <name>SignInDialog</name>
    <message>
        <source>Sign in to Azure</source>
        <translation>Bei Azure anmelden</translation>
    </message>
    <message>
        <source>Cloud</source>
        <translation>Cloud</translation>
    </message>
    <message>
        <source>Browser window</source>
        <translation>Browserfenster</translation>
    </message>
    <message>
        <source>Device code (sign in on another device)</source>
        <translation>Gerätecode (auf einem anderen Gerät anmelden)</translation>
    </message>
    <message>
        <source>Sign-in method</source>
        <translation>Anmeldeverfahren</translation>
    </message>
    <message>
        <source>optional: tenant ID or domain</source>
        <translation>optional: Mandanten-ID oder Domäne</translation>
    </message>
    <message>
        <source>Tenant</source>
        <translation>Mandant</translation>
    </message>
    <message>
        <source>&amp;Keep the sign-in in memory only (sign in again next time)</source>
        <translation>Anmeldung nur im &amp;Speicher behalten (beim nächsten Mal erneut anmelden)</translation>
    </message>
    <message>
        <source>Checking where the sign-in can be kept…</source>
        <translation>Es wird geprüft, wo die Anmeldung aufbewahrt werden kann…</translation>
    </message>
    <message>
        <source>&amp;Cloud:</source>
        <translation>&amp;Cloud:</translation>
    </message>
    <message>
        <source>&amp;Method:</source>
        <translation>&amp;Verfahren:</translation>
    </message>
    <message>
        <source>&amp;Tenant:</source>
        <translation>&amp;Mandant:</translation>
    </message>
    <message>
        <source>Tip: if you use the Azure CLI, `az login` once and the app signs in by itself.</source>
        <translation>Tipp: Wenn Sie die Azure CLI verwenden, melden Sie sich einmal mit `az login` an, dann meldet sich die App selbst an.</translation>
    </message>
    <message>
        <source>&amp;Sign in</source>
        <translation>&amp;Anmelden</translation>
    </message>
    <message>
        <source>Waiting for you to finish signing in…</source>
        <translation>Warten, bis Sie die Anmeldung abgeschlossen haben…</translation>
    </message>
    <message>
        <source>Open {link} on any device and enter the code {code}. The code is valid until {time}; this window continues by itself.</source>
        <translation>Öffnen Sie {link} auf einem beliebigen Gerät und geben Sie den Code {code} ein. Der Code gilt bis {time}; dieses Fenster fährt von selbst fort.</translation>
    </message>
    <message>
        <source>&lt;b&gt;Sign-in failed.&lt;/b&gt; {reason}</source>
        <translation>&lt;b&gt;Die Anmeldung ist fehlgeschlagen.&lt;/b&gt; {reason}</translation>
    </message>
</context>
<context>
    <name>StepList</name>
    <message>
        <source>Waiting</source>
        <translation>Wartet</translation>
    </message>
    <message>
        <source>Running…</source>
        <translation>Läuft…</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>Erledigt</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>Fehlgeschlagen</translation>
    </message>
    <message>
        <source>Skipped</source>
        <translation>Übersprungen</translation>
    </message>
    <message>
        <source>Not run</source>
        <translation>Nicht ausgeführt</translation>
    </message>
    <message>
        <source>Stopped</source>
        <translation>Beendet</translation>
    </message>
    <message>
        <source>Step</source>
        <translation>Schritt</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Status</translation>
    </message>
    <message>
        <source>Duration</source>
        <translation>Dauer</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>Details</translation>
    </message>
    <message>
        <source>Steps</source>
        <translation>Schritte</translation>
    </message>
</context>
<context>
    <name>TargetPage</name>
    <message>
        <source>+ New gallery…</source>
        <translation>+ Neuer Katalog…</translation>
    </message>
    <message>
        <source>+ New image definition…</source>
        <translation>+ Neue Imagedefinition…</translation>
    </message>
    <message>
        <source>VM</source>
        <translation>VM</translation>
    </message>
    <message>
        <source>Preparation</source>
        <translation>Vorbereitung</translation>
    </message>
    <message>
        <source>Target</source>
        <translation>Ziel</translation>
    </message>
    <message>
        <source>Resource group</source>
        <translation>Ressourcengruppe</translation>
    </message>
    <message>
        <source>Image name</source>
        <translation>Imagename</translation>
    </message>
    <message>
        <source>Gallery</source>
        <translation>Katalog</translation>
    </message>
    <message>
        <source>Definition</source>
        <translation>Imagedefinition</translation>
    </message>
    <message>
        <source>Publisher/offer/SKU</source>
        <translation>Herausgeber/Angebot/SKU</translation>
    </message>
    <message>
        <source>Version</source>
        <translation>Version</translation>
    </message>
    <message>
        <source>Regions</source>
        <translation>Regionen</translation>
    </message>
    <message>
        <source>End of life</source>
        <translation>Ende der Lebensdauer</translation>
    </message>
    <message>
        <source>Choose the target</source>
        <translation>Ziel auswählen</translation>
    </message>
    <message>
        <source>&amp;Managed image</source>
        <translation>Verwaltetes &amp;Image</translation>
    </message>
    <message>
        <source>&amp;Gallery image version (Azure Compute Gallery)</source>
        <translation>&amp;Katalog-Imageversion (Azure Compute Gallery)</translation>
    </message>
    <message>
        <source>&amp;Resource group:</source>
        <translation>&amp;Ressourcengruppe:</translation>
    </message>
    <message>
        <source>&amp;Image name:</source>
        <translation>Image&amp;name:</translation>
    </message>
    <message>
        <source>A managed image lives in one region (the VM&apos;s) and holds the OS disk and every data disk. It does not support TrustedLaunch, specialized or Arm64 sources.</source>
        <translation>Ein verwaltetes Image liegt in einer Region (der der VM) und enthält den Betriebssystemdatenträger und alle Datenträger für Daten. TrustedLaunch, spezialisierte und Arm64-Quellen unterstützt es nicht.</translation>
    </message>
    <message>
        <source>name of the new gallery</source>
        <translation>Name des neuen Katalogs</translation>
    </message>
    <message>
        <source>name of the new image definition</source>
        <translation>Name der neuen Imagedefinition</translation>
    </message>
    <message>
        <source>publisher (your choice)</source>
        <translation>Herausgeber (frei wählbar)</translation>
    </message>
    <message>
        <source>Definition publisher</source>
        <translation>Herausgeber der Imagedefinition</translation>
    </message>
    <message>
        <source>offer (your choice)</source>
        <translation>Angebot (frei wählbar)</translation>
    </message>
    <message>
        <source>Definition offer</source>
        <translation>Angebot der Imagedefinition</translation>
    </message>
    <message>
        <source>SKU (your choice)</source>
        <translation>SKU (frei wählbar)</translation>
    </message>
    <message>
        <source>Definition SKU</source>
        <translation>SKU der Imagedefinition</translation>
    </message>
    <message>
        <source>major.minor.patch, e.g. 1.0.0</source>
        <translation>Haupt.Neben.Patch, z. B. 1.0.0</translation>
    </message>
    <message>
        <source>The VM&apos;s region: the version is always stored there.</source>
        <translation>Die Region der VM: Dort wird die Version immer gespeichert.</translation>
    </message>
    <message>
        <source>Target regions and replica counts</source>
        <translation>Zielregionen und Anzahl der Replikate</translation>
    </message>
    <message>
        <source>E&amp;xclude from latest (VMs asking for &apos;latest&apos; keep the previous)</source>
        <translation>Von „Neueste“ au&amp;sschließen (VMs, die „latest“ anfordern, behalten die vorherige Version)</translation>
    </message>
    <message>
        <source>&amp;End of life:</source>
        <translation>&amp;Ende der Lebensdauer:</translation>
    </message>
    <message>
        <source>End-of-life date</source>
        <translation>Datum für das Ende der Lebensdauer</translation>
    </message>
    <message>
        <source>Ga&amp;llery:</source>
        <translation>Kata&amp;log:</translation>
    </message>
    <message>
        <source>New galler&amp;y name:</source>
        <translation>Name des neuen Katalo&amp;gs:</translation>
    </message>
    <message>
        <source>Its resource g&amp;roup:</source>
        <translation>&amp;Ressourcengruppe des Katalogs:</translation>
    </message>
    <message>
        <source>&amp;Definition:</source>
        <translation>Image&amp;definition:</translation>
    </message>
    <message>
        <source>Ne&amp;w definition name:</source>
        <translation>Name der ne&amp;uen Imagedefinition:</translation>
    </message>
    <message>
        <source>&amp;Publisher/offer/SKU:</source>
        <translation>&amp;Herausgeber/Angebot/SKU:</translation>
    </message>
    <message>
        <source>&amp;Version:</source>
        <translation>&amp;Version:</translation>
    </message>
    <message>
        <source>&amp;Target regions and replica counts (the VM&apos;s region is always one):</source>
        <translation>Zielregionen und Anzahl der Re&amp;plikate (die Region der VM ist immer dabei):</translation>
    </message>
    <message>
        <source>Delete the VM a&amp;fter the capture (its disks are kept)</source>
        <translation>VM nach dem Er&amp;fassen löschen (ihre Datenträger bleiben erhalten)</translation>
    </message>
    <message>
        <source>Capture {name} ({location}) into a managed image or a new version in a Compute Gallery. Every check Azure would make is done here, before any change.</source>
        <translation>{name} ({location}) als verwaltetes Image oder als neue Version in einem Compute Gallery-Katalog erfassen. Jede Prüfung, die Azure vornehmen würde, geschieht hier, vor jeder Änderung.</translation>
    </message>
    <message>
        <source>Loading resource groups, galleries and regions…</source>
        <translation>Ressourcengruppen, Kataloge und Regionen werden geladen…</translation>
    </message>
    <message>
        <source>The new definition is described by the VM: {facts}.</source>
        <translation>Die neue Imagedefinition wird durch die VM beschrieben: {facts}.</translation>
    </message>
    <message>
        <source>Definition: {definition}. The VM: {facts}.</source>
        <translation>Imagedefinition: {definition}. Die VM: {facts}.</translation>
    </message>
    <message>
        <source>Checking with Azure…</source>
        <translation>Prüfung bei Azure…</translation>
    </message>
    <message>
        <source>{field}: {problem}</source>
        <translation>{field}: {problem}</translation>
    </message>
    <message>
        <source>Fix these before you go on:</source>
        <translation>Beheben Sie diese Punkte, bevor Sie fortfahren:</translation>
    </message>
    <message>
        <source>Where the disk goes</source>
        <translation>Wohin der Datenträger kommt</translation>
    </message>
    <message>
        <source>A managed disk by direct upload is recommended: no storage account to manage, and the disk can become an image right away.</source>
        <translation>Empfohlen wird ein verwalteter Datenträger per direktem Upload: kein Speicherkonto zu verwalten, und der Datenträger kann sofort zu einem Image werden.</translation>
    </message>
    <message>
        <source>New managed disk by direct upload (recommended)</source>
        <translation>Neuer verwalteter Datenträger per direktem Upload (empfohlen)</translation>
    </message>
    <message>
        <source>Page blob in one of the subscription&apos;s storage accounts</source>
        <translation>Seitenblob in einem der Speicherkonten des Abonnements</translation>
    </message>
    <message>
        <source>Page blob anywhere, by a pasted SAS URL</source>
        <translation>Seitenblob an beliebiger Stelle, über eine eingefügte SAS-URL</translation>
    </message>
    <message>
        <source>Subscription:</source>
        <translation>Abonnement:</translation>
    </message>
    <message>
        <source>Resource group:</source>
        <translation>Ressourcengruppe:</translation>
    </message>
    <message>
        <source>Region:</source>
        <translation>Region:</translation>
    </message>
    <message>
        <source>Disk name:</source>
        <translation>Datenträgername:</translation>
    </message>
    <message>
        <source>Disk type (SKU):</source>
        <translation>Datenträgertyp (SKU):</translation>
    </message>
    <message>
        <source>Storage account:</source>
        <translation>Speicherkonto:</translation>
    </message>
    <message>
        <source>Container:</source>
        <translation>Container:</translation>
    </message>
    <message>
        <source>Blob name:</source>
        <translation>Blobname:</translation>
    </message>
    <message>
        <source>A SAS for this one blob is made from the account key and kept in memory only.</source>
        <translation>Eine SAS nur für diesen Blob wird aus dem Kontoschlüssel erstellt und nur im Arbeitsspeicher gehalten.</translation>
    </message>
    <message>
        <source>Blob SAS URL:</source>
        <translation>Blob-SAS-URL:</translation>
    </message>
    <message>
        <source>The SAS needs write (and create) permission. It is kept in memory only.</source>
        <translation>Die SAS benötigt die Berechtigung Schreiben (und Erstellen). Sie wird nur im Arbeitsspeicher gehalten.</translation>
    </message>
    <message>
        <source>Could not list storage accounts: {error}</source>
        <translation>Die Speicherkonten konnten nicht aufgelistet werden: {error}</translation>
    </message>
    <message>
        <source>The subscription has no storage account: paste a SAS URL instead.</source>
        <translation>Das Abonnement hat kein Speicherkonto: Fügen Sie stattdessen eine SAS-URL ein.</translation>
    </message>
    <message>
        <source>Could not list containers: {error}</source>
        <translation>Die Container konnten nicht aufgelistet werden: {error}</translation>
    </message>
    <message>
        <source>{name} (OS disk)</source>
        <translation>{name} (Betriebssystemdatenträger)</translation>
    </message>
    <message>
        <source>{name} (data disk, LUN {lun})</source>
        <translation>{name} (Datenträger für Daten, LUN {lun})</translation>
    </message>
    <message>
        <source>One managed disk per disk of the image, named from the disk name:</source>
        <translation>Ein verwalteter Datenträger pro Datenträger des Images, benannt nach dem Datenträgernamen:</translation>
    </message>
    <message>
        <source>One page blob per disk of the image, named from the blob name:</source>
        <translation>Ein Seitenblob pro Datenträger des Images, benannt nach dem Blobnamen:</translation>
    </message>
    <message>
        <source>Loading the subscription&apos;s storage accounts…</source>
        <translation>Die Speicherkonten des Abonnements werden geladen…</translation>
    </message>
    <message>
        <source>Pick a container (loading them…).</source>
        <translation>Wählen Sie einen Container aus (sie werden geladen…).</translation>
    </message>
    <message>
        <source>Getting a SAS for the blob from the storage account…</source>
        <translation>Eine SAS für den Blob wird vom Speicherkonto abgerufen…</translation>
    </message>
    <message>
        <source>A pasted SAS URL names one page blob, and this image has several disks: pick a storage account of the subscription, or upload to managed disks.</source>
        <translation>Eine eingefügte SAS-URL nennt einen einzigen Seitenblob, dieses Image hat jedoch mehrere Datenträger: Wählen Sie ein Speicherkonto des Abonnements aus, oder laden Sie in verwaltete Datenträger hoch.</translation>
    </message>
    <message>
        <source>Paste the SAS URL of the page blob to write.</source>
        <translation>Fügen Sie die SAS-URL des Seitenblobs ein, in den geschrieben werden soll.</translation>
    </message>
    <message>
        <source>The SAS URL must start with https:// (a storage account&apos;s blob endpoint).</source>
        <translation>Die SAS-URL muss mit https:// beginnen (dem Blob-Endpunkt eines Speicherkontos).</translation>
    </message>
    <message>
        <source>The URL has no SAS signature (sig=…): create a SAS with write permission.</source>
        <translation>Die URL hat keine SAS-Signatur (sig=…): Erstellen Sie eine SAS mit Schreibberechtigung.</translation>
    </message>
</context>
<context>
    <name>TermsBox</name>
    <message>
        <source>Marketplace terms</source>
        <translation>Marketplace-Bedingungen</translation>
    </message>
    <message>
        <source>State of the terms</source>
        <translation>Status der Bedingungen</translation>
    </message>
    <message>
        <source>&amp;Accept terms…</source>
        <translation>Bedingungen &amp;akzeptieren…</translation>
    </message>
    <message>
        <source>Accept the plan&apos;s terms for this subscription, so VMs can be made from it</source>
        <translation>Die Bedingungen des Plans für dieses Abonnement akzeptieren, damit daraus VMs erstellt werden können</translation>
    </message>
    <message>
        <source>&amp;Withdraw acceptance…</source>
        <translation>Zustimmung &amp;widerrufen…</translation>
    </message>
    <message>
        <source>New VMs from this plan are refused again; running VMs keep running</source>
        <translation>Neue VMs aus diesem Plan werden wieder abgelehnt; laufende VMs laufen weiter</translation>
    </message>
    <message>
        <source>Plan {plan} of {product} by {publisher}</source>
        <translation>Plan {plan} von {product} (Herausgeber {publisher})</translation>
    </message>
    <message>
        <source>Reading the terms in this subscription…</source>
        <translation>Die Bedingungen in diesem Abonnement werden gelesen…</translation>
    </message>
    <message>
        <source>Accepted in this subscription on {date}.</source>
        <translation>In diesem Abonnement am {date} akzeptiert.</translation>
    </message>
    <message>
        <source>Accepted in this subscription.</source>
        <translation>In diesem Abonnement akzeptiert.</translation>
    </message>
    <message>
        <source>Not accepted in this subscription: Azure refuses VMs from this image until they are.</source>
        <translation>In diesem Abonnement nicht akzeptiert: Azure lehnt VMs aus diesem Image ab, bis sie akzeptiert sind.</translation>
    </message>
    <message>
        <source>Publisher&apos;s license</source>
        <translation>Lizenz des Herausgebers</translation>
    </message>
    <message>
        <source>Privacy policy</source>
        <translation>Datenschutzrichtlinie</translation>
    </message>
    <message>
        <source>Azure Marketplace terms</source>
        <translation>Azure Marketplace-Bedingungen</translation>
    </message>
    <message>
        <source>(Azure gave no links)</source>
        <translation>(Azure hat keine Links angegeben)</translation>
    </message>
    <message>
        <source>Accept Marketplace terms</source>
        <translation>Marketplace-Bedingungen akzeptieren</translation>
    </message>
    <message>
        <source>&lt;p&gt;Accept the terms of plan &lt;b&gt;{plan}&lt;/b&gt; ({product}, {publisher}) for the subscription &lt;b&gt;{subscription}&lt;/b&gt;?&lt;/p&gt;&lt;p&gt;You agree to the publisher&apos;s terms and the Azure Marketplace terms: {links}&lt;/p&gt;&lt;p&gt;Software costs of the plan are billed with the VMs made from it.&lt;/p&gt;</source>
        <translation>&lt;p&gt;Die Bedingungen des Plans &lt;b&gt;{plan}&lt;/b&gt; ({product}, {publisher}) für das Abonnement &lt;b&gt;{subscription}&lt;/b&gt; akzeptieren?&lt;/p&gt;&lt;p&gt;Sie stimmen den Bedingungen des Herausgebers und den Azure Marketplace-Bedingungen zu: {links}&lt;/p&gt;&lt;p&gt;Softwarekosten des Plans werden mit den daraus erstellten VMs abgerechnet.&lt;/p&gt;</translation>
    </message>
    <message>
        <source>Accept terms</source>
        <translation>Bedingungen akzeptieren</translation>
    </message>
    <message>
        <source>Withdraw acceptance</source>
        <translation>Zustimmung widerrufen</translation>
    </message>
    <message>
        <source>&lt;p&gt;Withdraw the acceptance of plan &lt;b&gt;{plan}&lt;/b&gt; for the subscription &lt;b&gt;{subscription}&lt;/b&gt;?&lt;/p&gt;&lt;p&gt;Azure then refuses new VMs from this plan; VMs that run keep running.&lt;/p&gt;</source>
        <translation>&lt;p&gt;Die Zustimmung zum Plan &lt;b&gt;{plan}&lt;/b&gt; für das Abonnement &lt;b&gt;{subscription}&lt;/b&gt; widerrufen?&lt;/p&gt;&lt;p&gt;Azure lehnt dann neue VMs aus diesem Plan ab; laufende VMs laufen weiter.&lt;/p&gt;</translation>
    </message>
    <message>
        <source>Withdraw</source>
        <translation>Widerrufen</translation>
    </message>
    <message>
        <source>Asking Azure…</source>
        <translation>Azure wird gefragt…</translation>
    </message>
</context>
<context>
    <name>TransfersDock</name>
    <message>
        <source>Transfers</source>
        <translation>Übertragungen</translation>
    </message>
    <message>
        <source>&amp;Pause</source>
        <translation>&amp;Anhalten</translation>
    </message>
    <message>
        <source>&amp;Resume</source>
        <translation>&amp;Fortsetzen</translation>
    </message>
    <message>
        <source>&amp;Cancel upload</source>
        <translation>Upload a&amp;bbrechen</translation>
    </message>
    <message>
        <source>Re&amp;move</source>
        <translation>&amp;Entfernen</translation>
    </message>
    <message>
        <source>&amp;Cancel download</source>
        <translation>Download a&amp;bbrechen</translation>
    </message>
    <message>
        <source>Stop the upload and revoke write access; what was sent is kept for a resume</source>
        <translation>Den Upload beenden und den Schreibzugriff widerrufen; das bereits Gesendete bleibt für eine Fortsetzung erhalten</translation>
    </message>
    <message>
        <source>Stop the download and revoke read access; what was received stays in the file for a resume</source>
        <translation>Den Download beenden und den Lesezugriff widerrufen; das bereits Empfangene bleibt für eine Fortsetzung in der Datei</translation>
    </message>
    <message>
        <source>Remove the upload from the list (an unfinished one can then not be resumed)</source>
        <translation>Den Upload aus der Liste entfernen (ein nicht abgeschlossener kann danach nicht mehr fortgesetzt werden)</translation>
    </message>
    <message>
        <source>Remove the download from the list (an unfinished one can then not be resumed; the partial file stays)</source>
        <translation>Den Download aus der Liste entfernen (ein nicht abgeschlossener kann danach nicht mehr fortgesetzt werden; die unvollständige Datei bleibt erhalten)</translation>
    </message>
    <message>
        <source>Pause the selected transfer; nothing is sent or received until it is resumed</source>
        <translation>Die ausgewählte Übertragung anhalten; bis zur Fortsetzung wird nichts gesendet oder empfangen</translation>
    </message>
    <message>
        <source>Continue the selected transfer where it stopped</source>
        <translation>Die ausgewählte Übertragung dort fortsetzen, wo sie stehen geblieben ist</translation>
    </message>
    <message>
        <source>Retry with &amp;another name…</source>
        <translation>Mit anderem &amp;Namen wiederholen…</translation>
    </message>
    <message>
        <source>Make the image again from the uploaded disks under another name (a gallery version: another version number or definition); no data is uploaded again</source>
        <translation>Das Image unter einem anderen Namen erneut aus den hochgeladenen Datenträgern erstellen (eine Imageversion: andere Versionsnummer oder Imagedefinition); es werden keine Daten erneut hochgeladen</translation>
    </message>
    <message>
        <source>Remove upload</source>
        <translation>Upload entfernen</translation>
    </message>
    <message>
        <source>Remove the unfinished upload of {file}? It can then no longer be resumed; an upload of it starts from the beginning.</source>
        <translation>Den nicht abgeschlossenen Upload von {file} entfernen? Er kann danach nicht mehr fortgesetzt werden; ein neuer Upload beginnt von vorn.</translation>
    </message>
    <message>
        <source>Remove download</source>
        <translation>Download entfernen</translation>
    </message>
    <message>
        <source>Remove the unfinished download to {file}? It can then no longer be resumed; a download of it starts from the beginning. The partial file stays.</source>
        <translation>Den nicht abgeschlossenen Download nach {file} entfernen? Er kann danach nicht mehr fortgesetzt werden; ein neuer Download beginnt von vorn. Die unvollständige Datei bleibt erhalten.</translation>
    </message>
    <message>
        <source>Resume upload</source>
        <translation>Upload fortsetzen</translation>
    </message>
    <message>
        <source>Paste a SAS URL with write access for
{target}
(SAS tokens are never stored, so it is needed again):</source>
        <translation>Fügen Sie eine SAS-URL mit Schreibzugriff ein für
{target}
(SAS-Token werden nie gespeichert, daher wird sie erneut benötigt):</translation>
    </message>
    <message>
        <source>Resume download</source>
        <translation>Download fortsetzen</translation>
    </message>
    <message>
        <source>Paste a SAS URL with read access for
{target}
(SAS tokens are never stored, so it is needed again):</source>
        <translation>Fügen Sie eine SAS-URL mit Lesezugriff ein für
{target}
(SAS-Token werden nie gespeichert, daher wird sie erneut benötigt):</translation>
    </message>
</context>
<context>
    <name>TransfersModel</name>
    <message>
        <source>Queued</source>
        <translation>In Warteschlange</translation>
    </message>
    <message>
        <source>Running</source>
        <translation>Läuft</translation>
    </message>
    <message>
        <source>Paused</source>
        <translation>Angehalten</translation>
    </message>
    <message>
        <source>Completed</source>
        <translation>Abgeschlossen</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>Fehlgeschlagen</translation>
    </message>
    <message>
        <source>Cancelled</source>
        <translation>Abgebrochen</translation>
    </message>
    <message>
        <source>Interrupted</source>
        <translation>Unterbrochen</translation>
    </message>
    <message>
        <source>Direction</source>
        <translation>Richtung</translation>
    </message>
    <message>
        <source>File</source>
        <translation>Datei</translation>
    </message>
    <message>
        <source>Target</source>
        <translation>Ziel</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Status</translation>
    </message>
    <message>
        <source>Progress</source>
        <translation>Fortschritt</translation>
    </message>
    <message>
        <source>Network</source>
        <translation>Netzwerk</translation>
    </message>
    <message>
        <source>Effective</source>
        <translation>Effektiv</translation>
    </message>
    <message>
        <source>Time left</source>
        <translation>Restzeit</translation>
    </message>
    <message>
        <source>Transferred</source>
        <translation>Übertragen</translation>
    </message>
    <message>
        <source>Upload to Azure, or download from Azure to this computer</source>
        <translation>Upload nach Azure oder Download von Azure auf diesen Computer</translation>
    </message>
    <message>
        <source>The file on this computer: read by an upload, written by a download</source>
        <translation>Die Datei auf diesem Computer: von einem Upload gelesen, von einem Download geschrieben</translation>
    </message>
    <message>
        <source>The Azure side: the disk, snapshot, image version or page blob</source>
        <translation>Die Azure-Seite: der Datenträger, die Momentaufnahme, die Imageversion oder der Seitenblob</translation>
    </message>
    <message>
        <source>The whole job: the data transfer and every step before and after it</source>
        <translation>Der gesamte Vorgang: die Datenübertragung und jeder Schritt davor und danach</translation>
    </message>
    <message>
        <source>Bytes actually sent or received over the network per second</source>
        <translation>Tatsächlich über das Netzwerk gesendete oder empfangene Bytes pro Sekunde</translation>
    </message>
    <message>
        <source>How fast the disk is covered: transferred bytes plus empty blocks that need no transfer</source>
        <translation>Wie schnell der Datenträger abgedeckt wird: übertragene Bytes plus leere Blöcke, die nicht übertragen werden müssen</translation>
    </message>
    <message>
        <source>Bytes sent to Azure (upload) or received from Azure (download)</source>
        <translation>An Azure gesendete (Upload) oder von Azure empfangene (Download) Bytes</translation>
    </message>
    <message>
        <source>Empty blocks: never transferred, they read as zeros</source>
        <translation>Leere Blöcke: nie übertragen, sie werden als Nullen gelesen</translation>
    </message>
    <message>
        <source>↑ Upload</source>
        <translation>↑ Upload</translation>
    </message>
    <message>
        <source>↓ Download</source>
        <translation>↓ Download</translation>
    </message>
    <message>
        <source>Upload to Azure</source>
        <translation>Upload nach Azure</translation>
    </message>
    <message>
        <source>Download to this computer</source>
        <translation>Download auf diesen Computer</translation>
    </message>
    <message>
        <source>Skipped</source>
        <translation>Übersprungen</translation>
    </message>
    <message>
        <source>Time left for the data transfer, from the effective speed</source>
        <translation>Restzeit der Datenübertragung, nach der effektiven Geschwindigkeit</translation>
    </message>
    <message>
        <source>{status}: {reason}</source>
        <translation>{status}: {reason}</translation>
    </message>
    <message>
        <source>{path}
Started {date}</source>
        <translation>{path}
Gestartet {date}</translation>
    </message>
    <message>
        <source>{job} of the whole job; data {data}</source>
        <translation>{job} des gesamten Vorgangs; Daten {data}</translation>
    </message>
</context>
<context>
    <name>UploadWizard</name>
    <message>
        <source>Upload a disk image</source>
        <translation>Datenträgerimage hochladen</translation>
    </message>
</context>
<context>
    <name>VersionEditor</name>
    <message>
        <source>Edit image version</source>
        <translation>Imageversion bearbeiten</translation>
    </message>
    <message>
        <source>Image version {path}</source>
        <translation>Imageversion {path}</translation>
    </message>
    <message>
        <source>Reading the version from Azure…</source>
        <translation>Die Version wird aus Azure gelesen…</translation>
    </message>
    <message>
        <source>None</source>
        <translation>Keins</translation>
    </message>
    <message>
        <source>End-of-life date</source>
        <translation>Enddatum</translation>
    </message>
    <message>
        <source>After this date Azure warns whoever makes a VM from the version; VMs keep running.</source>
        <translation>Nach diesem Datum warnt Azure jeden, der aus der Version eine VM erstellt; bestehende VMs laufen weiter.</translation>
    </message>
    <message>
        <source>&amp;No date</source>
        <translation>&amp;Kein Datum</translation>
    </message>
    <message>
        <source>End of &amp;life:</source>
        <translation>&amp;Enddatum:</translation>
    </message>
    <message>
        <source>E&amp;xclude from latest</source>
        <translation>Von „latest“ a&amp;usschließen</translation>
    </message>
    <message>
        <source>Exclude from latest</source>
        <translation>Von „latest“ ausschließen</translation>
    </message>
    <message>
        <source>VMs made from the definition&apos;s latest version will not use this version.</source>
        <translation>VMs, die aus der neuesten Version der Definition erstellt werden, verwenden diese Version nicht.</translation>
    </message>
    <message>
        <source>The version was made here: Azure keeps it in this region.</source>
        <translation>Die Version wurde hier erstellt: Azure behält sie in dieser Region.</translation>
    </message>
    <message>
        <source>&amp;Target regions:</source>
        <translation>&amp;Zielregionen:</translation>
    </message>
    <message>
        <source>Standard_ZRS keeps copies in the region&apos;s availability zones, so it is offered only where the region has zones. A region&apos;s storage type is chosen when it is added; Azure does not change it afterwards.</source>
        <translation>Standard_ZRS legt Kopien in den Verfügbarkeitszonen der Region ab und wird daher nur angeboten, wo die Region Zonen hat. Der Speichertyp einer Region wird beim Hinzufügen gewählt; Azure ändert ihn danach nicht mehr.</translation>
    </message>
    <message>
        <source>Allo&amp;w removing this version from replicated regions (allowDeletionOfReplicatedLocations)</source>
        <translation>Entfernen dieser Version aus replizierten Regionen e&amp;rlauben (allowDeletionOfReplicatedLocations)</translation>
    </message>
    <message>
        <source>Allow removing this version from replicated regions</source>
        <translation>Entfernen dieser Version aus replizierten Regionen erlauben</translation>
    </message>
    <message>
        <source>Replication &amp;status:</source>
        <translation>Replikations&amp;status:</translation>
    </message>
    <message>
        <source>Replication status per region</source>
        <translation>Replikationsstatus pro Region</translation>
    </message>
    <message>
        <source>&amp;Retry region</source>
        <translation>Region &amp;wiederholen</translation>
    </message>
    <message>
        <source>Sends the target regions to Azure again: it replicates the failed region again and leaves the completed ones as they are.</source>
        <translation>Sendet die Zielregionen erneut an Azure: Es repliziert die fehlgeschlagene Region noch einmal und lässt die abgeschlossenen, wie sie sind.</translation>
    </message>
    <message>
        <source>A&amp;pply</source>
        <translation>Ü&amp;bernehmen</translation>
    </message>
    <message>
        <source>Could not read the version: {error}</source>
        <translation>Die Version konnte nicht gelesen werden: {error}</translation>
    </message>
    <message>
        <source>Replication failed in {regions}: select the region and Retry.</source>
        <translation>Replikation in {regions} fehlgeschlagen: Wählen Sie die Region aus und wiederholen Sie sie.</translation>
    </message>
    <message>
        <source>Azure is replicating the version…</source>
        <translation>Azure repliziert die Version…</translation>
    </message>
    <message>
        <source>Replicated to every target region.</source>
        <translation>In alle Zielregionen repliziert.</translation>
    </message>
    <message>
        <source>none</source>
        <translation>keins</translation>
    </message>
    <message>
        <source>Made in {location}; end of life: {eol}; provisioning: {state}.</source>
        <translation>Erstellt in {location}; Enddatum: {eol}; Bereitstellung: {state}.</translation>
    </message>
    <message>
        <source>Could not read the status: {error}</source>
        <translation>Der Status konnte nicht gelesen werden: {error}</translation>
    </message>
    <message>
        <source>Removing &lt;b&gt;{regions}&lt;/b&gt;: this version&apos;s safeguard allows removing it from regions it is replicated to. Azure deletes its replicas there when you apply; VMs in that region can no longer be made from it.</source>
        <translation>&lt;b&gt;{regions}&lt;/b&gt; wird entfernt: Der Schutz dieser Version erlaubt das Entfernen aus Regionen, in die sie repliziert ist. Azure löscht beim Übernehmen ihre Replikate dort; in dieser Region lassen sich dann keine VMs mehr daraus erstellen.</translation>
    </message>
    <message>
        <source>Removing &lt;b&gt;{regions}&lt;/b&gt;: Azure protects a version from being removed from regions it is replicated to. It refuses unless the version&apos;s safeguard, &lt;i&gt;allowDeletionOfReplicatedLocations&lt;/i&gt;, is on. Turning it on is a change of its own, made first when you apply: from then on, anyone who can update this version can remove it from its regions. Removing a region deletes the replicas there; VMs in that region can no longer be made from it.</source>
        <translation>&lt;b&gt;{regions}&lt;/b&gt; wird entfernt: Azure schützt eine Version davor, aus Regionen entfernt zu werden, in die sie repliziert ist. Es lehnt ab, solange der Schutz der Version, &lt;i&gt;allowDeletionOfReplicatedLocations&lt;/i&gt;, nicht eingeschaltet ist. Ihn einzuschalten ist eine eigene Änderung, die beim Übernehmen zuerst erfolgt: Danach kann jeder, der diese Version aktualisieren darf, sie aus ihren Regionen entfernen. Das Entfernen einer Region löscht die Replikate dort; in dieser Region lassen sich dann keine VMs mehr daraus erstellen.</translation>
    </message>
    <message>
        <source>Retry failed: {error}</source>
        <translation>Wiederholen fehlgeschlagen: {error}</translation>
    </message>
    <message>
        <source>Azure is replicating {region} again…</source>
        <translation>Azure repliziert {region} erneut…</translation>
    </message>
</context>
<context>
    <name>VmActions</name>
    <message>
        <source>Create VM…</source>
        <translation>VM erstellen…</translation>
    </message>
    <message>
        <source>Create a VM from the selected image: size, network and account in one short dialog</source>
        <translation>Eine VM aus dem ausgewählten Image erstellen: Größe, Netzwerk und Konto in einem kurzen Dialog</translation>
    </message>
    <message>
        <source>Test boot…</source>
        <translation>Teststart…</translation>
    </message>
    <message>
        <source>Boot the selected image in a throw-away VM, watch its serial log, get a verdict; everything is deleted after</source>
        <translation>Das ausgewählte Image in einer Wegwerf-VM starten, das serielle Protokoll verfolgen und ein Ergebnis erhalten; danach wird alles gelöscht</translation>
    </message>
    <message>
        <source>Not connected yet: sign in first.</source>
        <translation>Noch nicht verbunden: Melden Sie sich zuerst an.</translation>
    </message>
    <message>
        <source>Choose an image version: a VM is made from one version.</source>
        <translation>Wählen Sie eine Imageversion: Eine VM wird aus genau einer Version erstellt.</translation>
    </message>
</context>
<context>
    <name>VmPage</name>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>Resource group</source>
        <translation>Ressourcengruppe</translation>
    </message>
    <message>
        <source>Power state</source>
        <translation>Betriebszustand</translation>
    </message>
    <message>
        <source>OS</source>
        <translation>Betriebssystem</translation>
    </message>
    <message>
        <source>OS state</source>
        <translation>Betriebssystemzustand</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>Größe</translation>
    </message>
    <message>
        <source>Security</source>
        <translation>Sicherheit</translation>
    </message>
    <message>
        <source>Gen / arch</source>
        <translation>Gen. / Architektur</translation>
    </message>
    <message>
        <source>Disks</source>
        <translation>Datenträger</translation>
    </message>
    <message>
        <source>Choose the VM to capture</source>
        <translation>Zu erfassende VM auswählen</translation>
    </message>
    <message>
        <source>The virtual machines of this subscription. Capturing makes an image from the VM&apos;s OS disk and data disks.</source>
        <translation>Die virtuellen Computer dieses Abonnements. Beim Erfassen entsteht ein Image aus dem Betriebssystemdatenträger und den Datenträgern für Daten der VM.</translation>
    </message>
    <message>
        <source>Virtual machines</source>
        <translation>Virtuelle Computer</translation>
    </message>
    <message>
        <source>Loading virtual machines…</source>
        <translation>Virtuelle Computer werden geladen…</translation>
    </message>
    <message>
        <source>&amp;Refresh</source>
        <translation>&amp;Aktualisieren</translation>
    </message>
    <message>
        <source>List the virtual machines again</source>
        <translation>Die virtuellen Computer erneut auflisten</translation>
    </message>
    <message>
        <source>&amp;Virtual machines:</source>
        <translation>&amp;Virtuelle Computer:</translation>
    </message>
    <message numerus="yes">
        <source>%n virtual machine(s).</source>
        <translation>
            <numerusform>%n virtueller Computer.</numerusform>
            <numerusform>%n virtuelle Computer.</numerusform>
        </translation>
    </message>
    <message>
        <source>This subscription has no virtual machines.</source>
        <translation>Dieses Abonnement enthält keine virtuellen Computer.</translation>
    </message>
    <message>
        <source>VM {name} was not found in this subscription (deleted or moved?). Pick another one.</source>
        <translation>Die VM {name} wurde in diesem Abonnement nicht gefunden (gelöscht oder verschoben?). Wählen Sie eine andere aus.</translation>
    </message>
</context>
<context>
    <name>Workflows</name>
    <message>
        <source>Delete…</source>
        <translation>Löschen…</translation>
    </message>
    <message>
        <source>Delete the selected images, versions, definitions, galleries, disks or snapshots from Azure, after a confirmation that lists them</source>
        <translation>Die ausgewählten Images, Versionen, Imagedefinitionen, Kataloge, Datenträger oder Momentaufnahmen aus Azure löschen, nach einer Bestätigung, die sie auflistet</translation>
    </message>
    <message>
        <source>Drop to upload: a wizard opens for each disk image.</source>
        <translation>Zum Hochladen ablegen: Für jedes Datenträgerimage öffnet sich ein Assistent.</translation>
    </message>
    <message>
        <source>Not a disk image</source>
        <translation>Kein Datenträgerimage</translation>
    </message>
    <message>
        <source>These files were not opened: {names}</source>
        <translation>Diese Dateien wurden nicht geöffnet: {names}</translation>
    </message>
    <message>
        <source>Drop disk images ({suffixes}) to upload them.</source>
        <translation>Legen Sie Datenträgerimages ({suffixes}) ab, um sie hochzuladen.</translation>
    </message>
    <message>
        <source>{name} opens for upload as soon as the connection is up.</source>
        <translation>{name} wird zum Hochladen geöffnet, sobald die Verbindung steht.</translation>
    </message>
    <message>
        <source>Nothing selected can be deleted here: select managed images, gallery versions, definitions, galleries, disks or snapshots of this subscription.</source>
        <translation>Nichts Ausgewähltes kann hier gelöscht werden: Wählen Sie verwaltete Images, Imageversionen, Imagedefinitionen, Kataloge, Datenträger oder Momentaufnahmen dieses Abonnements aus.</translation>
    </message>
    <message>
        <source>Not connected yet: nothing can be deleted.</source>
        <translation>Noch nicht verbunden: Nichts kann gelöscht werden.</translation>
    </message>
    <message numerus="yes">
        <source>%n unfinished upload(s) or download(s) from last time: select one in the Transfers panel and press Resume.</source>
        <translation>
            <numerusform>%n unvollständiger Upload oder Download vom letzten Mal: Wählen Sie ihn im Bereich „Übertragungen“ aus und klicken Sie auf „Fortsetzen“.</numerusform>
            <numerusform>%n unvollständige Uploads oder Downloads vom letzten Mal: Wählen Sie einen im Bereich „Übertragungen“ aus und klicken Sie auf „Fortsetzen“.</numerusform>
        </translation>
    </message>
    <message>
        <source>Download finished</source>
        <translation>Download abgeschlossen</translation>
    </message>
    <message>
        <source>{file} is on this computer: {path}</source>
        <translation>{file} ist auf diesem Computer: {path}</translation>
    </message>
    <message>
        <source>Download stopped</source>
        <translation>Download beendet</translation>
    </message>
    <message>
        <source>Download failed</source>
        <translation>Download fehlgeschlagen</translation>
    </message>
    <message>
        <source>Upload finished</source>
        <translation>Upload abgeschlossen</translation>
    </message>
    <message>
        <source>{file} is in Azure: {target}</source>
        <translation>{file} ist in Azure: {target}</translation>
    </message>
    <message>
        <source>Upload cancelled</source>
        <translation>Upload abgebrochen</translation>
    </message>
    <message>
        <source>{file} can be resumed later.</source>
        <translation>{file} kann später fortgesetzt werden.</translation>
    </message>
    <message>
        <source>Upload failed</source>
        <translation>Upload fehlgeschlagen</translation>
    </message>
    <message>
        <source>{file}: {reason}</source>
        <translation>{file}: {reason}</translation>
    </message>
    <message>
        <source>{title}: {text}</source>
        <translation>{title}: {text}</translation>
    </message>
</context>
</TS>
