"""``upload --disk``: the wizard's managed-disk upload and its image from the command line, against
the sandbox over real HTTP: a qcow2 made by qemu-img becomes a managed disk and a gallery version
in the regions asked, an OVA's two disks a managed image with a data disk; every bad input exits
2 with one line saying what to do; a missing group 4, a refused sign-in 3, Azure's refusal 1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gui.azure.arm import enum_text
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import RG_IMAGES
from tests.commands.helpers import (
    ROOT,
    disk_names,
    json_of,
    one_line,
    qcow2_disk,
    read_back,
    run_child,
    run_cli,
)
from tests.fixtures.appliance_images import (
    OvfDisk,
    make_ova,
    ovf_text,
    raw_file,
    stream_optimized_vmdk,
)
from tests.fixtures.disk_images import MIB
from tests.fixtures.qcow2_images import create, qemu_io


@pytest.fixture
def server(fresh_sandbox: SandboxServer) -> Iterator[SandboxServer]:
    fresh_sandbox.lro_seconds = 0.05
    fresh_sandbox.replication_seconds_per_region = 0.1
    yield fresh_sandbox


def target(server: SandboxServer, disk: str, *more: str) -> list[str]:
    return ["--sandbox", server.arm_url, "--disk", disk, "--resource-group", RG_IMAGES,
            "--location", "westeurope", "--progress", "none", *more]


LINUX_V2 = ("--os-type", "Linux", "--hyper-v-generation", "V2")


def test_a_qcow2_becomes_a_gallery_version_in_the_regions_asked(
    server: SandboxServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = qcow2_disk(tmp_path, 32 * MIB)
    code, out, err = run_cli(
        capsys, "upload", str(made),
        *target(server, "cli-disk", "--sku", "premium_lrs", *LINUX_V2, "--json",
                "--gallery-version", "cli_gallery/cli-ubuntu/1.0.0",
                "--regions", "westeurope=2,northeurope=1"))
    assert code == 0, err
    result = json_of(out)
    assert result["kind"] == "managed-disk" and result["file"] == str(made)
    assert result["disk_id"].endswith(f"/resourceGroups/{RG_IMAGES}/providers/"
                                      "Microsoft.Compute/disks/cli-disk")
    assert result["upload"]["upload_size"] == 32 * MIB + 512
    # A managed disk cannot keep a Content-MD5: the stream is not hashed for nothing.
    assert result["upload"]["content_md5"] is None
    assert [(step["key"], step["state"]) for step in result["steps"]] == [
        ("create-disk", "Done"), ("grant", "Done"), ("upload", "Done"), ("revoke", "Done"),
        ("gallery", "Done"), ("definition", "Done"), ("version", "Done"),
        ("replicate:westeurope", "Done"), ("replicate:northeurope", "Done")]
    version_id = result["image"]["id"]
    assert version_id.endswith("/galleries/cli_gallery/images/cli-ubuntu/versions/1.0.0")

    async def version(compute: Any) -> Any:
        return await compute.gallery_image_versions.get(
            RG_IMAGES, "cli_gallery", "cli-ubuntu", "1.0.0")

    async def definition(compute: Any) -> Any:
        return await compute.gallery_images.get(RG_IMAGES, "cli_gallery", "cli-ubuntu")

    async def disk(compute: Any) -> Any:
        return await compute.disks.get(RG_IMAGES, "cli-disk")

    props = read_back(server, version).get("properties")
    # Azure answers with display names ("West Europe"), as the sandbox does.
    regions = {r["name"].lower().replace(" ", ""): r["regionalReplicaCount"]
               for r in props["publishingProfile"]["targetRegions"]}
    assert regions == {"westeurope": 2, "northeurope": 1}
    assert props["provisioningState"] == "Succeeded"
    assert props["storageProfile"]["osDiskImage"]["source"]["id"].casefold() == (
        result["disk_id"].casefold())
    made_definition = read_back(server, definition).get("properties")
    assert (made_definition["osType"], made_definition["hyperVGeneration"]) == ("Linux", "V2")
    assert made_definition["identifier"]["publisher"] == "azure-image-studio"
    uploaded = read_back(server, disk)
    assert enum_text(uploaded.sku.name) == "Premium_LRS"
    assert enum_text(uploaded.disk_state) == "Unattached"


def test_an_existing_version_or_a_mismatched_definition_exits_2_before_any_upload(
    server: SandboxServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = qcow2_disk(tmp_path, 24 * MIB)
    first = target(server, "first-disk", *LINUX_V2, "--gallery-version", "g1/def/1.0.0")
    assert run_cli(capsys, "upload", str(made), *first)[0] == 0
    again = target(server, "second-disk", *LINUX_V2, "--gallery-version", "g1/def/1.0.0")
    code, _out, err = run_cli(capsys, "upload", str(made), *again)
    assert code == 2
    assert "exists already. Pick a new number, e.g. 1.0.1" in one_line(err)
    windows = target(server, "third-disk", "--os-type", "Windows", "--hyper-v-generation", "V2",
                     "--gallery-version", "g1/def/1.0.1")
    code, _out, err = run_cli(capsys, "upload", str(made), *windows)
    assert code == 2
    assert "is for OS type Linux, but the disk is Windows" in one_line(err)
    assert "first-disk" in disk_names(server, RG_IMAGES)
    assert not {"second-disk", "third-disk"} & set(disk_names(server, RG_IMAGES))


def two_disk_ova(tmp_path: Path) -> Path:
    """vm.ova: an OS disk (unit 0) and a data disk (unit 1) as streamOptimized VMDKs."""
    os_size, data_size = 24 * MIB, 20 * MIB
    os_vmdk = stream_optimized_vmdk(
        raw_file(tmp_path / "os.raw", os_size, [(0, b"\x5a" * MIB)]), tmp_path / "vm-os.vmdk")
    data_vmdk = stream_optimized_vmdk(
        raw_file(tmp_path / "data.raw", data_size, [(MIB, b"\xa5" * MIB)]),
        tmp_path / "vm-data.vmdk")
    ovf = tmp_path / "vm.ovf"
    ovf.write_text(ovf_text([OvfDisk("vm-os.vmdk", os_size, unit=0),
                             OvfDisk("vm-data.vmdk", data_size, unit=1)]))
    return make_ova(tmp_path / "vm.ova", [ovf, os_vmdk, data_vmdk])


def test_an_ova_uploads_every_disk_and_makes_a_managed_image_with_its_data_disk(
    server: SandboxServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ova = two_disk_ova(tmp_path)
    code, out, err = run_cli(capsys, "upload", str(ova),
                             *target(server, "app", *LINUX_V2, "--image", "app-image", "--json"))
    assert code == 0, err
    result = json_of(out)
    assert result["disk_id"].endswith("/disks/app-osdisk")
    assert [d.rsplit("/", 1)[1] for d in result["data_disk_ids"]] == ["app-datadisk-0"]

    async def image(compute: Any) -> Any:
        return await compute.images.get(RG_IMAGES, "app-image")

    profile = read_back(server, image).storage_profile
    assert profile.os_disk.managed_disk.id.casefold() == result["disk_id"].casefold()
    assert [(d.lun, d.managed_disk.id.rsplit("/", 1)[1]) for d in profile.data_disks] == [
        (0, "app-datadisk-0")]


@pytest.mark.parametrize(
    ("more", "says"),
    [
        (("--gallery-version", "g/d/1.0.0", "--regions", "westeurope:2"),
         "write REGION=REPLICAS pairs separated by commas, e.g. --regions westeurope=2"),
        (("--gallery-version", "g/d/1.0.0", "--regions", "westeurope=2,,"),
         "write REGION=REPLICAS pairs"),
        (("--gallery-version", "g/d/1.0.0", "--regions", "westeurope=0"), "give 1 to 100"),
        (("--gallery-version", "g/d/1.0.0", "--regions", "westeurope=1,westeurope=2"),
         "westeurope is named twice"),
        (("--sku", "UltraSSD_LRS"), "--sku 'UltraSSD_LRS': use one of Standard_LRS, "),
        (("--gallery-version", "my-gallery/d/1.0.0"), "A gallery name has 1–80 letters"),
        (("--gallery-version", "g/d"), "write GALLERY/DEFINITION/VERSION"),
        (("--gallery-version", "g/d/1.0"), "A version is three numbers"),
        (("--image", "i", "--gallery-version", "g/d/1.0.0"), "either --image or --gallery"),
        (("--regions", "westeurope=1"), "--regions belongs to --gallery-version"),
        (("--image", "bad name!"), "An image name has 1–80 letters"),
        (("--image", "i", "--os-state", "Specialized"), "A managed image needs a generalized"),
        (("--os-type", "BeOS"), "--os-type 'BeOS': use one of Linux, Windows"),
    ],
)
def test_bad_input_exits_2_with_one_line_saying_what_to_do(
    more: tuple[str, ...], says: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    made = qcow2_disk(tmp_path, 24 * MIB)
    # Never contacted: every one of these is refused before anything is sent.
    argv = ["--sandbox", "http://127.0.0.1:9", "--disk", "d", "--resource-group", RG_IMAGES,
            "--location", "westeurope", *LINUX_V2, *more]
    code, out, err = run_cli(capsys, "upload", str(made), *argv)
    assert code == 2
    assert says in one_line(err)
    assert one_line(err).startswith("upload: ")
    assert out == ""


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--image", "i"], "--image needs a target: add --disk NAME (a managed disk), or --to"),
        (["--image", "i", "--connection-string", "x", "--container", "c", "--name", "b"],
         "an image from a page blob takes the blob's SAS URL (--to"),
        (["--image", "i", "--to", "http://example.com/c/b.vhd?sig=x", "--resource-group", "rg",
          "--location", "westeurope"], "plain http:// is allowed only to this machine"),
        (["--image", "i", "--to", "https://a.blob.core.windows.net/c/b.vhd?sig=x",
          "--resource-group", "rg", "--location", "westeurope", "--sku", "Premium_LRS",
          "--subscription", "8d5f2b7e-3c41-4a8e-9b0f-6e2d1c7a9f35"], "--sku belongs to --disk"),
        (["--disk", "bad name!", "--resource-group", "rg", "--location", "westeurope"],
         "A disk name has 1–80 letters"),
        (["--disk", "d", "--location", "westeurope"], "give --resource-group RG and --location"),
        (["--disk", "d", "--resource-group", "rg", "--location", "westeurope", "--overwrite"],
         "--overwrite belongs to a page blob: a managed disk is never replaced"),
        (["--disk", "d", "--resource-group", "rg", "--location", "West Europe!"],
         "is not a region name; use the short name"),
        (["--disk", "d", "--resource-group", "rg", "--location", "westeurope"],
         "give --subscription ID"),
        (["--disk", "d", "--resource-group", "rg", "--location", "westeurope",
          "--subscription", "nope"], "is not a subscription id"),
        (["--disk", "d", "--resource-group", "rg", "--location", "westeurope",
          "--to", "https://a.blob.core.windows.net/c/b.vhd?sig=x"], "not both"),
        (["--sandbox", "http://10.0.0.1:8080", "--disk", "d", "--resource-group", "rg",
          "--location", "westeurope"], "--sandbox http://10.0.0.1:8080"),
    ],
)
def test_bad_targets_exit_2_with_one_line(
    argv: list[str], says: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    made = qcow2_disk(tmp_path, 24 * MIB)
    code, out, err = run_cli(capsys, "upload", str(made), *argv, "--json")
    assert code == 2
    assert says in one_line(err)
    error = json_of(out)
    assert error["exit_code"] == 2
    assert error["error"]["type"] in ("UsageError", "InsecureTransportError")
    assert says in error["error"]["message"]


def test_a_disk_that_does_not_tell_its_os_needs_os_type_for_an_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = qcow2_disk(tmp_path, 24 * MIB)
    argv = ["--sandbox", "http://127.0.0.1:9", "--disk", "d", "--resource-group", RG_IMAGES,
            "--location", "westeurope", "--image", "i"]
    code, _, err = run_cli(capsys, "upload", str(made), *argv)
    assert code == 2
    assert "does not tell its OS type: give --os-type Linux or --os-type Windows" in (
        one_line(err))
    code, _, err = run_cli(capsys, "upload", str(made), *argv, "--os-type", "Linux")
    assert code == 2
    assert "give --hyper-v-generation V1 (BIOS) or V2 (UEFI)" in one_line(err)


def test_a_missing_resource_group_exits_4(
    server: SandboxServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = qcow2_disk(tmp_path, 24 * MIB)
    argv = target(server, "d", *LINUX_V2, "--json")
    argv[argv.index(RG_IMAGES)] = "rg-that-is-not-there"
    code, out, err = run_cli(capsys, "upload", str(made), *argv)
    assert code == 4, err
    assert "rg-that-is-not-there" in one_line(err)
    document = json_of(out)
    assert document["exit_code"] == 4 and document["error"]["type"] == "NotFoundError"
    assert [(step["key"], step["state"]) for step in document["steps"]] == [
        ("create-disk", "Failed")]
    assert "rg-that-is-not-there" in document["steps"][0]["message"]


def test_a_refused_authorization_exits_3(
    server: SandboxServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = qcow2_disk(tmp_path, 24 * MIB)
    server.faults.add(r"/disks/denied$", status=403, code="AuthorizationFailed", method="PUT")
    code, _, err = run_cli(capsys, "upload", str(made), *target(server, "denied", *LINUX_V2))
    assert code == 3
    assert "AuthorizationFailed" in one_line(err)


def test_a_disk_name_taken_exits_1_saying_what_to_do(
    server: SandboxServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = qcow2_disk(tmp_path, 24 * MIB)
    assert run_cli(capsys, "upload", str(made), *target(server, "taken", *LINUX_V2))[0] == 0
    code, _, err = run_cli(capsys, "upload", str(made), *target(server, "taken", *LINUX_V2))
    assert code == 1
    assert "choose another name, or delete that disk first" in one_line(err)


def test_bare_sandbox_in_a_child_process_runs_on_a_sandbox_of_its_own(
    tmp_path: Path
) -> None:
    made = qcow2_disk(tmp_path, 24 * MIB)
    done = run_child(
        "upload", str(made), "--sandbox", "--disk", "own-disk", "--resource-group",
        RG_IMAGES, "--location", "westeurope", *LINUX_V2, "--image", "own-image", "--json",
        "--progress", "json", env={"AZURE_IMAGE_STUDIO_HOME": str(tmp_path / "home")})
    assert done.returncode == 0, done.stderr
    result = json_of(done.stdout)
    assert result["disk_id"] == (f"/subscriptions/{PRODUCTION_SUBSCRIPTION_ID}/resourceGroups/"
                                 f"{RG_IMAGES}/providers/Microsoft.Compute/disks/own-disk")
    assert result["image"]["kind"] == "managed-image"
    events = [json_of(line) for line in done.stderr.splitlines()]
    done_steps = [e["key"] for e in events if e["event"] == "step" and e["state"] == "Done"]
    assert done_steps == ["create-disk", "grant", "upload", "revoke", "image"]
    assert any(e["event"] == "progress" and e["state"] == "completed" for e in events)
    # The command's own sandbox was in a temporary directory, not the app's data directory.
    assert not (tmp_path / "home" / "sandbox").exists()


def test_ctrl_c_exits_130_and_the_same_command_resumes_where_it_stopped(
    server: SandboxServer, tmp_path: Path
) -> None:
    disk = create(tmp_path / "big.qcow2", 64 * MIB)
    qemu_io(disk, [f"write -P 0x11 0 {32 * MIB}"])
    env = {
        # The write SAS waits in keyring's documented file backend (a file in this test's
        # directory) while the upload is stopped, as it would in the OS keyring.
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        "AZURE_IMAGE_STUDIO_HOME": str(tmp_path / "home"),
    }
    argv = ["upload", str(disk), *target(server, "resumed-disk", *LINUX_V2, "--concurrency",
                                         "1", "--json")]
    argv[argv.index("none")] = "json"  # --progress json: the test waits for the data to flow
    server.faults.latency = 0.25  # every request takes a while: Ctrl+C lands mid-upload
    process = subprocess.Popen([sys.executable, "-m", "gui", *argv], cwd=ROOT, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, **env})
    assert process.stderr is not None
    for line in process.stderr:
        event = json.loads(line)
        if event["event"] == "progress" and event["sent"] > 0:
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1] == (
        "upload: interrupted; run the same command again to resume")
    assert json_of(out)["exit_code"] == 130

    async def state(compute: Any) -> str:
        return enum_text((await compute.disks.get(RG_IMAGES, "resumed-disk")).disk_state)

    assert read_back(server, state) == "ActiveUpload"  # kept open for the resume, not sealed
    server.faults.latency = 0.0
    again = run_child(*argv, env=env)
    assert again.returncode == 0, again.stderr
    upload = json_of(again.stdout)["upload"]
    assert upload["resumed"] is True
    assert upload["bytes_present"] > 0  # what the first run sent is not sent again
    assert upload["bytes_sent"] + upload["bytes_present"] >= 32 * MIB
    assert read_back(server, state) == "Unattached"


def test_a_page_blob_then_a_gallery_version_as_the_wizard_makes_it(
    server: SandboxServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gui.sandbox.seed.world import STORAGE_ACCOUNT_PROD

    made = qcow2_disk(tmp_path, 24 * MIB)
    url = server.blob_sas_url(STORAGE_ACCOUNT_PROD, "vhds", "cli-blob.vhd")
    code, out, err = run_cli(
        capsys, "upload", str(made), "--to", url, "--sandbox", server.arm_url,
        "--resource-group", RG_IMAGES, "--location", "westeurope", *LINUX_V2,
        "--gallery-version", "blob_gallery/from-blob/1.0.0", "--regions", "northeurope",
        "--progress", "none", "--json")
    assert code == 0, err
    result = json_of(out)
    assert result["kind"] == "page-blob" and result["disk_id"] is None
    assert result["blob_url"] == url.partition("?")[0]
    assert url.partition("sig=")[2].split("&")[0] not in out + err

    async def version(compute: Any) -> Any:
        return await compute.gallery_image_versions.get(
            RG_IMAGES, "blob_gallery", "from-blob", "1.0.0")

    props = read_back(server, version).get("properties")
    source = props["storageProfile"]["osDiskImage"]["source"]
    assert source["uri"] == result["blob_url"]
    # Found by the blob endpoint, as the wizard finds it for a pasted SAS URL.
    assert source["storageAccountId"].endswith(f"/storageAccounts/{STORAGE_ACCOUNT_PROD}")
    regions = {r["name"].lower().replace(" ", ""): r["regionalReplicaCount"]
               for r in props["publishingProfile"]["targetRegions"]}
    assert regions == {"westeurope": 1, "northeurope": 1}


def test_an_ova_of_two_disks_is_refused_for_one_page_blob(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        capsys, "upload", str(two_disk_ova(tmp_path)), "--sandbox", "http://127.0.0.1:9",
        "--to", "http://127.0.0.1:9/acct/vhds/vm.vhd?sig=x", "--resource-group", RG_IMAGES,
        "--location", "westeurope", *LINUX_V2, "--image", "vm-image")
    assert code == 2 and out == ""
    assert "vm.ova holds 2 disks and a page blob takes one: upload them to managed disks " \
           "with --disk NAME" in one_line(err)


def test_the_guest_is_read_from_the_disk_when_no_flag_says_it(
    server: SandboxServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.fixtures.guest_images import ESP_ARM64, Part, guest_disks_in

    disks = guest_disks_in(tmp_path)
    arm = disks.gpt("arm", [Part(34, "EF00", "esp", ESP_ARM64), Part(32, "8300", "ext4")])
    code, out, err = run_cli(capsys, "upload", str(arm), *target(
        server, "arm-disk", "--gallery-version", "arm_gallery/arm-linux/1.0.0", "--json"))
    assert code == 0, err
    assert json_of(out)["os_type"] == "Linux"

    async def definition(compute: Any) -> Any:
        return await compute.gallery_images.get(RG_IMAGES, "arm_gallery", "arm-linux")

    props = read_back(server, definition).get("properties")
    assert (props["osType"], props["hyperVGeneration"], props["architecture"]) == (
        "Linux", "V2", "Arm64")


def test_a_32_bit_guest_is_refused_with_what_azure_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.fixtures.guest_images import MACHINE_I386, Part, guest_disks_in, pe_file

    disks = guest_disks_in(tmp_path)
    esp = {"EFI/BOOT/BOOTIA32.EFI": pe_file(MACHINE_I386)}
    ia32 = disks.gpt("ia32", [Part(34, "EF00", "esp", esp), Part(32, "8300", "ext4")])
    code, _, err = run_cli(capsys, "upload", str(ia32), "--sandbox", "http://127.0.0.1:9",
                           "--disk", "d", "--resource-group", RG_IMAGES, "--location",
                           "westeurope", "--image", "i")
    assert code == 2
    assert "boots a x86 system and Azure runs x64 and Arm64 VMs only; give --architecture " \
           "if that is wrong" in one_line(err)


def test_a_disk_that_tells_no_os_and_makes_no_image_goes_up_as_a_data_disk(
    server: SandboxServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = qcow2_disk(tmp_path, 24 * MIB)  # data, but no partition table: no guest to read
    code, out, err = run_cli(capsys, "upload", str(made), *target(server, "data-only", "--json"))
    assert code == 0, err
    assert json_of(out)["os_type"] is None

    async def disk(compute: Any) -> Any:
        return await compute.disks.get(RG_IMAGES, "data-only")

    assert read_back(server, disk).os_type is None
