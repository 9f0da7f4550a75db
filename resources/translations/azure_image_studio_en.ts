<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en" sourcelanguage="en">
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
</TS>
