<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de" sourcelanguage="en">
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
</TS>
