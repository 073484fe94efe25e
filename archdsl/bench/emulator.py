"""An aarch64 sysroot for the ``emulated-a72`` target: ``archdsl bench setup-emulator``.

The emulated target runs the SSH target's :mod:`.runner` with the *aarch64* build of onnxruntime
under QEMU user-mode emulation (``qemu-aarch64-static -cpu cortex-a72``). This module prepares
what that needs, once per user, and checks it before every use:

- Debian bookworm's arm64 packages of Python 3.11 and the libraries it and onnxruntime load
  (:data:`DEBS`), fetched with ``apt-get download`` through a *private* apt configuration (its
  own sources list, state and cache folders under the build folder: nothing of the system's apt
  or dpkg set-up changes, no root needed) and unpacked with ``dpkg -x`` (no maintainer script
  runs, nothing is executed);
- the aarch64 wheels of onnxruntime and numpy (:data:`WHEELS`, the versions of constraints.txt)
  fetched with ``pip download --only-binary=:all: --platform manylinux_2_28_aarch64
  --python-version 311 --no-deps`` and unzipped into the sysroot's ``dist-packages``;
- a Cortex-A72 ``/proc/cpuinfo`` (:data:`CPUINFO`, CPU part 0xd08), which the target bind-mounts
  over the host's in a private mount namespace (``unshare -m``): onnxruntime's CPU detection
  crashes (SIGSEGV) on an x86 ``/proc/cpuinfo``.

Every file is pinned by version *and* SHA-256 (the values were recorded when the pins were
made); a download whose hash differs is refused (``B413``). The sysroot lives in
``$XDG_CACHE_HOME/archdsl/emulator/<key>/`` (default ``~/.cache``; ``key`` hashes the pins, so a
new pin set gets a new folder). Folders are created ``0700`` and must belong to the user and not
be writable by others (``B411``: another user could have planted a sysroot whose Python we
would run). The sysroot is built in a temporary folder beside it and renamed into place
atomically, so a half-built sysroot is never used; the downloads are kept (``downloads/``) so
that :func:`verify` can re-check their hashes.

This is the only place archdsl downloads anything, and only when the user runs the explicit
set-up command: the tool never downloads weights or data, and ``archdsl bench`` never downloads.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .target import TargetError

FORMAT = "archdsl-emulator/1"
DEBIAN_SUITE = "bookworm"
MIRRORS = (
    f"http://deb.debian.org/debian {DEBIAN_SUITE} main",
    f"http://deb.debian.org/debian-security {DEBIAN_SUITE}-security main",
)
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
PYTHON = "usr/bin/python3.11"
SITE = "usr/lib/python3/dist-packages"
QEMU = "qemu-aarch64-static"
QEMU_CPU = "cortex-a72"

INSTALL_QEMU = "apt-get install qemu-user-static"
INSTALL_APT = "apt-get install apt dpkg debian-archive-keyring (a Debian or Ubuntu machine)"
INSTALL_UNSHARE = "apt-get install util-linux (unshare), and allow mount namespaces (run as root, or enable "
INSTALL_UNSHARE += "unprivileged user namespaces: sysctl kernel.unprivileged_userns_clone=1)"

# the tool is missing (exit 3); a cache folder another user could write (exit 3); a download that
# failed; a file whose SHA-256 is not the pinned one; a sysroot that is absent or incomplete
MISSING_TOOL, UNSAFE_CACHE, DOWNLOAD_FAILED, BAD_CHECKSUM, NO_SYSROOT = "B410", "B411", "B412", "B413", "B414"


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    file: str
    sha256: str


DEBS: tuple[Pin, ...] = (
    Pin("python3.11-minimal", "3.11.2-6+deb12u9", "python3.11-minimal_3.11.2-6+deb12u9_arm64.deb",
        "617855dbf3299e03873926c75d61feaf3d36924586aecc1951a0b965a95bc694"),
    Pin("libpython3.11-minimal", "3.11.2-6+deb12u9", "libpython3.11-minimal_3.11.2-6+deb12u9_arm64.deb",
        "dd9847d2f77c5a924b1d3dd953b81f161db9374c94d03b9216191925350928c3"),
    Pin("libpython3.11-stdlib", "3.11.2-6+deb12u9", "libpython3.11-stdlib_3.11.2-6+deb12u9_arm64.deb",
        "9937cbe3f647aa89a590fec647438ce02098c113d1c6f70e4cb1230c368d42a4"),
    Pin("libc6", "2.36-9+deb12u14", "libc6_2.36-9+deb12u14_arm64.deb",
        "01f4330719fd4f65580e16ea5a0527f372fca750e8f588d26deaf09f2d3b1cf4"),
    Pin("libgcc-s1", "12.2.0-14+deb12u1", "libgcc-s1_12.2.0-14+deb12u1_arm64.deb",
        "576926b283613db80168ddf76380a3bd877602778cf0d226caa7bfbfa71eacf3"),
    Pin("libstdc++6", "12.2.0-14+deb12u1", "libstdc++6_12.2.0-14+deb12u1_arm64.deb",
        "26e138c677a985775331373828a6c286c551ff397cb735d00e2383cb273d1cb2"),
    Pin("zlib1g", "1:1.2.13.dfsg-1+deb12u1", "zlib1g_1%3a1.2.13.dfsg-1+deb12u1_arm64.deb",
        "61477d8059daf1765683a73099cc17941e1970acb520fd238646dedf99eb16f6"),
    Pin("libexpat1", "2.5.0-1+deb12u5", "libexpat1_2.5.0-1+deb12u5_arm64.deb",
        "4a733e7f636de4a4483e3e5d7b02dc8e788b115361a04dd58df89461ce2ae65a"),
    Pin("libffi8", "3.4.4-1", "libffi8_3.4.4-1_arm64.deb",
        "80b5c36177dc0e29d531c7eddbed3cc7355cb490e49f8cfa5959572d161f27b3"),
    Pin("libssl3", "3.0.22-1~deb12u2", "libssl3_3.0.22-1~deb12u2_arm64.deb",
        "3d04ecd8d0f57fed50d205abaeedfcc84c1960073ea085719c00add44b0ccd7f"),
    Pin("libbz2-1.0", "1.0.8-5+b1", "libbz2-1.0_1.0.8-5+b1_arm64.deb",
        "d3a96ece03326498b39ff093a76800dfcbcb1d4049d6ae6e9f6fa1aa7a590ad6"),
    Pin("liblzma5", "5.4.1-1+deb12u2", "liblzma5_5.4.1-1+deb12u2_arm64.deb",
        "36358d245f246234721e6c1c2ee5d11a46c1c877023c63f7570df02cd79964f5"),
    Pin("libcrypt1", "1:4.4.33-2", "libcrypt1_1%3a4.4.33-2_arm64.deb",
        "eea0ad76ea5eb507127fea0c291622ea4ecdbb71c4b9a8ed9c76ae33fc1a0127"),
    Pin("libuuid1", "2.38.1-5+deb12u3", "libuuid1_2.38.1-5+deb12u3_arm64.deb",
        "3b2d19df0f3190108cf54228c4cfc822226c06d8f3615a5ab16a7dffb1f58aed"),
    Pin("libsqlite3-0", "3.40.1-2+deb12u2", "libsqlite3-0_3.40.1-2+deb12u2_arm64.deb",
        "a690f7f2aa6435bd1fd7cbbd2216acb9acbb8c48c9721f2c195766375439eb13"),
    Pin("libncursesw6", "6.4-4", "libncursesw6_6.4-4_arm64.deb",
        "cf32cb6751718872c6def448b82211eec494f688e2f1a3e6c71bfdaf6b0722c5"),
    Pin("libtinfo6", "6.4-4", "libtinfo6_6.4-4_arm64.deb",
        "baef0f6776f84c7eed4f1146d6e5774689567dad43216894d41da02e6608e4b3"),
    Pin("libreadline8", "8.2-1.3", "libreadline8_8.2-1.3_arm64.deb",
        "f3b162b7c1e05430607e792ebdbfc417cbd1f1d32cf83664133ae63d811a72d2"),
)  # fmt: skip

WHEELS: tuple[Pin, ...] = (
    Pin("onnxruntime", "1.32.0", "onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_aarch64.whl",
        "2303372a85299b6757b0e11e1cbf13e410ddf7e10c37f4b37e99d1c90e7daf7c"),
    Pin("numpy", "2.4.6", "numpy-2.4.6-cp311-cp311-manylinux_2_27_aarch64.manylinux_2_28_aarch64.whl",
        "0ab0a9c4ffb1a6d95ef519fe4247dba8eb6b18ad93999f76b7f657039acabd47"),
)  # fmt: skip

CPUINFO = "".join(
    f"processor\t: {i}\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n"
    "CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n"
    for i in range(4)
)
"""/proc/cpuinfo of a Raspberry Pi 4 (BCM2711: four Cortex-A72, ARM part 0xd08, ARMv8.0-A: no dotprod)."""

Log = Callable[[str], None]


class EmulatorError(TargetError):
    """A set-up or use of the emulator failed; ``code`` is its B41x code (exit 3)."""

    def __init__(self, code: str, message: str, hint: str | None = None):
        super().__init__(message, hint)
        self.code = code


def pins_key() -> str:
    """A short hash of every pin: the sysroot's folder name (new pins, new folder)."""
    data = [[p.name, p.version, p.sha256] for p in (*DEBS, *WHEELS)] + [QEMU_CPU, CPUINFO, FORMAT]
    return hashlib.sha256(json.dumps(data).encode()).hexdigest()[:16]


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "archdsl" / "emulator"


def default_dir() -> Path:
    return cache_root() / pins_key()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_checksum(path: Path, pin: Pin) -> None:
    """Raise :data:`BAD_CHECKSUM` unless ``path`` has the pinned SHA-256."""
    got = sha256_file(path)
    if got != pin.sha256:
        raise EmulatorError(
            BAD_CHECKSUM,
            f"{path.name}: SHA-256 {got} is not the pinned {pin.sha256} ({pin.name} {pin.version})",
            "the mirror served another file: do not use it; if Debian or PyPI replaced the file, update the pins "
            "in archdsl/bench/emulator.py after checking the new file",
        )


def safe_dir(path: Path, create: bool = True) -> Path:
    """``path`` as a folder of this user that no one else can write (created 0700 with ``create``)."""
    if create:
        for part in reversed([path, *path.parents]):
            if not part.exists() and part.parent.exists():
                try:
                    part.mkdir(mode=0o700)
                except FileExistsError:
                    pass
                except OSError as exc:
                    raise EmulatorError(
                        UNSAFE_CACHE, f"cannot create {part}: {exc.strerror}", "check the path"
                    ) from None
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise EmulatorError(NO_SYSROOT, f"{path} does not exist", "run `archdsl bench setup-emulator`") from None
    problem = None
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        problem = "is not a folder (a symbolic link or another file)"
    elif st.st_uid != os.getuid():
        problem = f"belongs to user id {st.st_uid}, not to you ({os.getuid()})"
    elif st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        problem = f"is writable by others (mode {stat.S_IMODE(st.st_mode):o})"
    if problem:
        raise EmulatorError(
            UNSAFE_CACHE,
            f"refusing to use the emulator cache {path}: it {problem}",
            f"remove it, or pass --dir a folder of your own (chmod 700 {path})",
        )
    return path


def require_tools(which: Callable[[str], str | None] = shutil.which, need_download: bool = False) -> dict[str, str]:
    """The programs emulation (and with ``need_download`` the set-up) needs; B410 naming the install command."""
    wanted = [(QEMU, INSTALL_QEMU), ("unshare", INSTALL_UNSHARE)]
    if need_download:
        wanted += [("apt-get", INSTALL_APT), ("dpkg-deb", INSTALL_APT)]
    found = {}
    for prog, install in wanted:
        path = which(prog)
        if not path:
            raise EmulatorError(MISSING_TOOL, f"'{prog}' is not installed (needed to emulate the Cortex-A72)", install)
        found[prog] = path
    if need_download and not Path(KEYRING).is_file():
        raise EmulatorError(MISSING_TOOL, f"Debian's archive keyring {KEYRING} is missing", INSTALL_APT)
    return found


def unshare_argv(unshare: str = "unshare", root: bool | None = None) -> list[str]:
    """``unshare`` with a private mount namespace (and, for a normal user, a user namespace to mount in)."""
    root = os.geteuid() == 0 if root is None else root
    return [unshare, "--mount"] + ([] if root else ["--map-root-user"])


def check_namespace(unshare: str = "unshare") -> None:
    """B410 unless a private mount namespace can be made and /proc/cpuinfo bind-mounted in it."""
    with tempfile.NamedTemporaryFile("w", suffix=".cpuinfo") as f:
        f.write(CPUINFO)
        f.flush()
        argv = [*unshare_argv(unshare), "sh", "-c", 'mount --bind "$1" /proc/cpuinfo && grep -q 0xd08 /proc/cpuinfo']
        try:
            proc = subprocess.run([*argv, "sh", f.name], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise EmulatorError(
                MISSING_TOOL, f"cannot make a private mount namespace: {exc}", INSTALL_UNSHARE
            ) from None
    if proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip()[-300:]
        raise EmulatorError(
            MISSING_TOOL, f"cannot bind-mount a Cortex-A72 /proc/cpuinfo in a mount namespace: {said}", INSTALL_UNSHARE
        )


def emulate_argv(sysroot: Path, args: list[str], tools: dict[str, str] | None = None) -> list[str]:
    """The command running ``python3.11 ARGS`` of ``sysroot`` as a Cortex-A72 with its own /proc/cpuinfo.

    ``unshare --mount sh -c 'mount --bind CPUINFO /proc/cpuinfo && exec "$@"'`` then
    ``qemu-aarch64-static -cpu cortex-a72 -L SYSROOT SYSROOT/usr/bin/python3.11 -s -E ARGS``
    (``-s -E``: no user site-packages, no PYTHON* variables of the host).
    """
    tools = tools or {QEMU: QEMU, "unshare": "unshare"}
    script = 'c=$1; shift; mount --bind "$c" /proc/cpuinfo && exec "$@"'
    qemu = [tools[QEMU], "-cpu", QEMU_CPU, "-L", str(sysroot), str(sysroot / PYTHON), "-s", "-E", *args]
    return [*unshare_argv(tools["unshare"]), "sh", "-c", script, "sh", str(sysroot.parent / "cpuinfo"), *qemu]


WRAPPER = "python3.11-a72"
"""A script in the emulator folder that runs the emulated Python (for the ssh target's ``remote_python``)."""


def wrapper_text(sysroot: Path, tools: dict[str, str]) -> str:
    """``#!/bin/sh`` running :func:`emulate_argv` with the script's arguments (every word quoted)."""
    import shlex

    argv = emulate_argv(sysroot, [], tools)
    return "#!/bin/sh\n# archdsl: the emulated Cortex-A72 Python 3.11 (archdsl bench setup-emulator)\n" + (
        f'exec {shlex.join(argv)} "$@"\n'
    )


def environment() -> dict[str, str]:
    """A clean environment for the emulated Python (no host PYTHONPATH, no user site)."""
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONNOUSERSITE": "1", "HOME": str(Path.home())}
    return env


def manifest_path(root: Path) -> Path:
    return root / "manifest.json"


def load(root: Path | None = None) -> Path:
    """The checked sysroot folder of ``root`` (default :func:`default_dir`); B414 when it is not set up."""
    root = Path(root) if root else default_dir()
    hint = "run `archdsl bench setup-emulator` (downloads the pinned aarch64 Python and onnxruntime once)"
    if not root.exists():
        raise EmulatorError(NO_SYSROOT, f"the emulator is not set up ({root} does not exist)", hint)
    safe_dir(root, create=False)
    try:
        data = json.loads(manifest_path(root).read_text())
    except (OSError, ValueError):
        raise EmulatorError(NO_SYSROOT, f"{root} has no readable manifest.json", hint) from None
    if data.get("format") != FORMAT or data.get("key") != pins_key():
        raise EmulatorError(NO_SYSROOT, f"{root} was set up for other pins", hint)
    sysroot = root / "sysroot"
    if not (sysroot / PYTHON).is_file() or not (root / "cpuinfo").is_file():
        raise EmulatorError(NO_SYSROOT, f"{root} is incomplete (no {PYTHON})", hint)
    return sysroot


def verify(root: Path | None = None) -> list[str]:
    """Re-check the SHA-256 of every kept download of ``root``; the files checked (B413 on a mismatch)."""
    root = Path(load(root)).parent
    checked = []
    for pin in (*DEBS, *WHEELS):
        path = root / "downloads" / pin.file
        if not path.is_file():
            raise EmulatorError(NO_SYSROOT, f"{path} is missing", "run `archdsl bench setup-emulator --force`")
        check_checksum(path, pin)
        checked.append(pin.file)
    return checked


def _run(argv: list[str], what: str, timeout: float = 600, env: dict | None = None) -> None:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise EmulatorError(DOWNLOAD_FAILED, f"{what} timed out after {timeout:g} s", "check the network") from None
    except OSError as exc:
        raise EmulatorError(MISSING_TOOL, f"cannot run {argv[0]}: {exc.strerror}", INSTALL_APT) from None
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-6:])[-1200:]
        raise EmulatorError(
            DOWNLOAD_FAILED,
            f"{what} failed (exit status {proc.returncode}): {tail}",
            "check that deb.debian.org and pypi.org are reachable (a proxy: set http_proxy); a pinned file gone "
            "from the mirror needs new pins in archdsl/bench/emulator.py",
        )


def _apt_argv(work: Path) -> list[str]:
    user = "root" if os.geteuid() == 0 else (os.environ.get("USER") or str(os.getuid()))
    opts = {
        "Dir::Etc": work / "apt/etc",
        "Dir::Etc::sourceparts": work / "apt/etc/sources.list.d",
        "Dir::Etc::preferencesparts": work / "apt/etc/preferences.d",
        "Dir::Etc::parts": work / "apt/etc/apt.conf.d",
        "Dir::State": work / "apt/state",
        "Dir::State::status": work / "apt/state/status",
        "Dir::Cache": work / "apt/cache",
        "APT::Architecture": "arm64",
        "APT::Architectures::": "arm64",
        "Debug::NoLocking": "1",
        "APT::Sandbox::User": user,
    }
    return [f"-o{k}={v}" for k, v in opts.items()]


def _apt_download(work: Path, dest: Path, log: Log) -> None:
    for sub in ("etc/sources.list.d", "etc/preferences.d", "etc/apt.conf.d", "state/lists/partial", "cache"):
        (work / "apt" / sub).mkdir(parents=True, exist_ok=True)
    (work / "apt/state/status").touch()
    sources = "".join(f"deb [arch=arm64 signed-by={KEYRING}] {m}\n" for m in MIRRORS)
    (work / "apt/etc/sources.list").write_text(sources)
    opts = _apt_argv(work)
    log(f"apt-get update (private configuration, arm64, {DEBIAN_SUITE})")
    _run(["apt-get", *opts, "-qq", "update"], "apt-get update")
    log(f"apt-get download {len(DEBS)} arm64 packages")
    _run(["apt-get", *opts, "-qq", "download", *(f"{p.name}:arm64={p.version}" for p in DEBS)], "apt-get download")
    for pin in DEBS:
        shutil.move(str(Path.cwd() / pin.file), dest / pin.file)


def _pip_download(dest: Path, log: Log) -> None:
    log("pip download " + " ".join(f"{p.name}=={p.version}" for p in WHEELS) + " (manylinux_2_28_aarch64, cp311)")
    argv = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--no-input"]
    argv += ["--platform", "manylinux_2_28_aarch64", "--python-version", "311", "-d", str(dest)]
    _run([*argv, *(f"{p.name}=={p.version}" for p in WHEELS)], "pip download")


def _unzip(wheel: Path, site: Path) -> None:
    """Unpack a wheel into ``site``; refuses members that would land outside it."""
    base = site.resolve()
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            target = (site / info.filename).resolve()
            if not target.is_relative_to(base) or info.filename.startswith("/"):
                raise EmulatorError(BAD_CHECKSUM, f"{wheel.name} has a member outside its folder: {info.filename!r}")
            zf.extract(info, site)
            mode = info.external_attr >> 16
            if mode & 0o111 and not info.is_dir():
                os.chmod(target, 0o755)


def setup(root: Path | None = None, force: bool = False, log: Log = lambda _: None) -> Path:
    """Build (or find) the sysroot of ``root`` (default :func:`default_dir`); returns the sysroot folder."""
    root = Path(root) if root else default_dir()
    tools = require_tools(need_download=True)
    check_namespace(tools["unshare"])
    safe_dir(root.parent)
    if root.exists() and not force:
        try:
            sysroot = load(root)
            log(f"already set up: {root}")
            return sysroot
        except EmulatorError as exc:
            if exc.code == UNSAFE_CACHE:
                raise
            log(f"rebuilding: {exc.message}")
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=root.parent))
    try:
        downloads = work / "downloads"
        downloads.mkdir()
        cwd = os.getcwd()
        os.chdir(work)  # apt-get download writes into the current folder
        try:
            _apt_download(work, downloads, log)
        finally:
            os.chdir(cwd)
        _pip_download(downloads, log)
        for pin in (*DEBS, *WHEELS):
            check_checksum(downloads / pin.file, pin)
        log("checksums verified (SHA-256, pinned)")
        sysroot = work / "sysroot"
        sysroot.mkdir()
        for pin in DEBS:
            _run(["dpkg-deb", "-x", str(downloads / pin.file), str(sysroot)], f"dpkg-deb -x {pin.file}")
        site = sysroot / SITE
        site.mkdir(parents=True, exist_ok=True)
        for pin in WHEELS:
            _unzip(downloads / pin.file, site)
        # shadow the host's site folders (qemu -L falls back to host paths absent from the sysroot)
        for extra in ("usr/local/lib/python3.11/dist-packages", "usr/lib/python3.11/site-packages"):
            (sysroot / extra).mkdir(parents=True, exist_ok=True)
        shutil.rmtree(work / "apt", ignore_errors=True)
        (work / "cpuinfo").write_text(CPUINFO)
        (work / WRAPPER).write_text(wrapper_text(root / "sysroot", tools))
        os.chmod(work / WRAPPER, 0o700)
        manifest = {
            "format": FORMAT,
            "key": pins_key(),
            "debian": DEBIAN_SUITE,
            "qemu_cpu": QEMU_CPU,
            "files": {p.file: {"name": p.name, "version": p.version, "sha256": p.sha256} for p in (*DEBS, *WHEELS)},
        }
        manifest_path(work).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        os.chmod(work, 0o700)
        if root.exists():  # --force, or an incomplete one: move the old one aside, then swap
            old = Path(tempfile.mkdtemp(prefix=".old-", dir=root.parent))
            os.replace(root, old / "x")
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.rename(work, root)
        except OSError:
            if root.exists():  # another setup-emulator finished first: use its sysroot
                shutil.rmtree(work, ignore_errors=True)
                return load(root)
            raise
        log(f"set up: {root}")
        return root / "sysroot"
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
