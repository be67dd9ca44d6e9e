"""Source profiles: who the source person is, built once from their photos and reused.

A profile holds the identity every generator needs (neutral 3D shape, identity embedding, iris
colour) and the part of the generator that built it (for the mesh renderer, the skin texture).
Saved as .npz with the generator's name, so a profile is only used with its own generator.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path
from typing import Sequence

import numpy as np

from facegraft.analysis import Face, analyze_image
from facegraft.analysis.embedding import face_descriptor
from facegraft.analysis.eyes import iris_colour
from facegraft.errors import FacegraftError
from facegraft.generate.base import Generator, Identity, SourceProfile
from facegraft.generate.mesh import MESH
from facegraft.io import atomic_output, read_image
from facegraft.models import Models

PROFILE_VERSION = 1
# The generators a profile may name; a learned generator adds itself here.
GENERATORS: dict[str, Generator] = {MESH.name: MESH}


def largest_face(rgb: np.ndarray, name: str, models: Models | None = None) -> Face:
    faces = analyze_image(rgb, models=models)
    if not faces:
        raise FacegraftError(f"{name}: no face found in the source photo")
    return faces[0]


def build_profile(photos: Sequence[tuple[np.ndarray, str]], generator: Generator = MESH,
                  models: Models | None = None) -> SourceProfile:
    """A profile from one or more (rgb, name) photos of the same person."""
    if not photos:
        raise FacegraftError("no source photo given")
    models = models or Models()
    faces = [largest_face(rgb, name, models) for rgb, name in photos]
    return SourceProfile(identity=source_identity(photos, faces, models), generator=generator.name,
                         appearance=generator.prepare(photos, faces))


def source_identity(photos: Sequence[tuple[np.ndarray, str]], faces: Sequence[Face],
                    models: Models | None = None) -> Identity:
    shape = np.mean([f.identity for f in faces], axis=0)
    descriptor = np.mean([face_descriptor(rgb, f, models=models) for (rgb, _), f in zip(photos, faces)], axis=0)
    irises = [c for c in (iris_colour(rgb, f) for (rgb, _), f in zip(photos, faces)) if c is not None]
    iris = np.mean(irises, axis=0) if irises else np.full(3, np.nan)
    return Identity(shape=shape, descriptor=descriptor.astype(np.float32), iris=iris.astype(np.float32),
                    names=tuple(Path(name).name for _, name in photos))


def profile_from_files(paths: Sequence[Path], models: Models | None = None) -> SourceProfile:
    return build_profile([(read_image(Path(p)), str(p)) for p in paths], models=models)


def load_sources(sources: Sequence[str | Path], models: Models | None = None) -> SourceProfile:
    """A profile from photos of one person, or from a saved profile (.npz)."""
    paths = [Path(p) for p in sources]
    if not paths:
        raise FacegraftError("no source given")
    profiles = [p for p in paths if p.suffix.lower() == ".npz"]
    if profiles and len(paths) > 1:
        raise FacegraftError("give either one saved profile (.npz) or source photos, not both")
    if profiles:
        return load_profile(profiles[0])
    return profile_from_files(paths, models)


def save_profile(profile: SourceProfile, path: Path, inputs: Sequence[Path] = ()) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".npz":
        raise FacegraftError(f"{path}: a profile file ends in .npz")
    who = profile.identity
    buffer = io.BytesIO()
    np.savez_compressed(buffer, version=np.array(PROFILE_VERSION), generator=np.array(profile.generator),
                        **GENERATORS[profile.generator].save(profile.appearance), iris=who.iris, identity=who.shape,
                        descriptor=who.descriptor, names=np.array(who.names))
    with atomic_output(path, tuple(inputs)) as tmp:
        tmp.write_bytes(buffer.getvalue())
    return path


def load_profile(path: Path) -> SourceProfile:
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["version"]) != PROFILE_VERSION:
                raise FacegraftError(f"{path}: profile version {int(data['version'])} is not supported; rebuild it")
            # Profiles written before generators had names are the mesh renderer's.
            name = str(data["generator"]) if "generator" in data else MESH.name
            if name not in GENERATORS:
                raise FacegraftError(f"{path}: made for the generator {name!r}, which this facegraft does not have")
            arrays = {key: data[key] for key in data.files}
            identity = Identity(shape=arrays["identity"], descriptor=arrays["descriptor"], iris=arrays["iris"],
                                names=tuple(str(n) for n in arrays["names"]))
            profile = SourceProfile(identity, name, GENERATORS[name].load(arrays))
    except FacegraftError:
        raise
    # zlib.error: a damaged member of the compressed archive, found only when it is read.
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
        reason = "a part is missing" if isinstance(exc, KeyError) else "damaged or not a profile .npz"
        raise FacegraftError(f"{path}: not a facegraft profile ({reason}); make one with `facegraft profile`") from None
    _check(profile.identity, path)
    return profile


def _check(identity: Identity, path: Path) -> None:
    ok = (identity.shape.shape == (478, 3) and identity.descriptor.shape == (128,) and identity.iris.shape == (3,)
          and np.isfinite(identity.shape).all())
    if not ok:
        raise FacegraftError(f"{path}: profile is damaged (unexpected array shapes)")
