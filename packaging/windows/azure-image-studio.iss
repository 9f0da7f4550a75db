; Inno Setup 6 script for the Windows installer, built from the PyInstaller bundle:
;   pyinstaller packaging\azure-image-studio.spec
;   iscc /DAppVersion=0.1.0 packaging\windows\azure-image-studio.iss
; It writes dist\azure-image-studio-<version>-setup.exe. Installs per user by default (no
; administrator needed; the setup offers all users), adds a Start-menu entry, and offers the app
; in "Open with" for the disk-image formats. The registration
; never takes a file type over: .vhd/.vhdx keep opening with Windows' own disk mounter.
; tests/packaging/test_platform_builds.py checks this file against the Linux bundle and against
; packaging/buildinfo.py (the file types), since it cannot be run there.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "Azure Image Studio"
#define AppExe "azure-image-studio.exe"
#define CliExe "azure-image-studio-cli.exe"
#define ProgIdPrefix "AzureImageStudio"

[Setup]
; A fixed AppId keeps upgrades in place; never change it.
AppId={{6F0C4C8E-2B7A-4D0E-9C55-3E2A9B6D1F47}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=The Azure Image Studio contributors
AppPublisherURL=https://github.com/azure-image-studio/azure-image-studio
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
ChangesAssociations=yes
OutputDir=..\..\dist
OutputBaseFilename=azure-image-studio-{#AppVersion}-setup
SetupIconFile=..\..\build\azure-image-studio\icons\azure-image-studio.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2
SolidCompression=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "..\..\dist\azure-image-studio\{#AppExe}"; DestDir: "{app}"; Flags: ignoreversion
Source: "..\..\dist\azure-image-studio\{#CliExe}"; DestDir: "{app}"; Flags: ignoreversion
Source: "..\..\dist\azure-image-studio\_internal\*"; DestDir: "{app}\_internal"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
; One ProgID per format, listed under the extension's OpenWithProgids: "Open with" offers the app,
; the user's default stays as it was. uninsdeletevalue/uninsdeletekey remove exactly this.
Root: HKA; Subkey: "Software\Classes\.vhd\OpenWithProgids"; ValueType: string; ValueName: "{#ProgIdPrefix}.vhd"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.avhd\OpenWithProgids"; ValueType: string; ValueName: "{#ProgIdPrefix}.vhd"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.vhd"; ValueType: string; ValueName: ""; ValueData: "VHD disk image"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.vhd\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.vhd\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""
Root: HKA; Subkey: "Software\Classes\.vhdx\OpenWithProgids"; ValueType: string; ValueName: "{#ProgIdPrefix}.vhdx"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.avhdx\OpenWithProgids"; ValueType: string; ValueName: "{#ProgIdPrefix}.vhdx"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.vhdx"; ValueType: string; ValueName: ""; ValueData: "VHDX disk image"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.vhdx\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.vhdx\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""
Root: HKA; Subkey: "Software\Classes\.vmdk\OpenWithProgids"; ValueType: string; ValueName: "{#ProgIdPrefix}.vmdk"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.vmdk"; ValueType: string; ValueName: ""; ValueData: "VMDK disk image"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.vmdk\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.vmdk\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""
Root: HKA; Subkey: "Software\Classes\.qcow2\OpenWithProgids"; ValueType: string; ValueName: "{#ProgIdPrefix}.qcow2"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.qcow\OpenWithProgids"; ValueType: string; ValueName: "{#ProgIdPrefix}.qcow2"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.qcow2"; ValueType: string; ValueName: ""; ValueData: "QEMU qcow2 disk image"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.qcow2\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.qcow2\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""
Root: HKA; Subkey: "Software\Classes\.vdi\OpenWithProgids"; ValueType: string; ValueName: "{#ProgIdPrefix}.vdi"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.vdi"; ValueType: string; ValueName: ""; ValueData: "VirtualBox VDI disk image"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.vdi\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.vdi\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""
Root: HKA; Subkey: "Software\Classes\.ova\OpenWithProgids"; ValueType: string; ValueName: "{#ProgIdPrefix}.ova"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.ova"; ValueType: string; ValueName: ""; ValueData: "OVA virtual appliance"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.ova\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.ova\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""
Root: HKA; Subkey: "Software\Classes\.img\OpenWithProgids"; ValueType: string; ValueName: "{#ProgIdPrefix}.img"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.img"; ValueType: string; ValueName: ""; ValueData: "Raw disk image"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.img\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"
Root: HKA; Subkey: "Software\Classes\{#ProgIdPrefix}.img\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
