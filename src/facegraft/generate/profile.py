"""Source profiles: who the source person is, built once from their photos and reused.

A profile holds the identity embedding, the neutral 3D shape and the skin texture unwrapped
into texture space, with the parts no photo shows completed from the mirrored side.
"""

from __future__ import annotations

import dataclasses
import io
import zipfile
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from facegraft.analysis import Face, analyze_image
from facegraft.analysis.colour import colour_stats, transfer_colour
from facegraft.analysis.embedding import face_descriptor
from facegraft.analysis.eyes import iris_colour
from facegraft.analysis.regions import hair_band, skin_weights
from facegraft.errors import FacegraftError
from facegraft.analysis.texture import Unwrapped, mirror_texture, texel_attribute, unwrap, uv_layout
from facegraft.io import atomic_output, read_image

PROFILE_VERSION = 1
TEXTURE_SIZE = 512
# Mirrored texels stand in only where the photos show little: a real view always wins.
MIRROR_TRUST = 0.35
SEEN = 0.05  # texel weight below which a texel counts as unseen


@dataclasses.dataclass(frozen=True)
class SourceProfile:
    texture: np.ndarray  # (S, S, 3) uint8 RGB in texture space
    seen: np.ndarray  # (S, S) float32 0..1: how directly the photos showed each texel
    skin: np.ndarray  # (S, S) float32 0..1: 0 where the photos show hair over the face, not skin
    identity: np.ndarray  # (478, 3) neutral shape, canonical frame
    descriptor: np.ndarray  # (128,) dlib identity embedding
    names: tuple[str, ...]  # the photos it was built from (file names only)
    iris: np.ndarray  # (3,) Lab colour of the irises (NaN when no photo showed them)


def largest_face(rgb: np.ndarray, name: str) -> Face:
    faces = analyze_image(rgb)
    if not faces:
        raise FacegraftError(f"{name}: no face found in the source photo")
    return faces[0]


def build_profile(photos: Sequence[tuple[np.ndarray, str]], size: int = TEXTURE_SIZE) -> SourceProfile:
    """A profile from one or more (rgb, name) photos of the same person."""
    if not photos:
        raise FacegraftError("no source photo given")
    faces = [largest_face(rgb, name) for rgb, name in photos]
    views = [unwrap(rgb, face, size) for (rgb, _), face in zip(photos, faces)]
    views = _same_colour(views)
    texture, seen = _merge(views, size)
    skin = skin_map(texture, seen, size)
    identity = np.mean([f.identity for f in faces], axis=0)
    descriptor = np.mean([face_descriptor(rgb, f) for (rgb, _), f in zip(photos, faces)], axis=0)
    irises = [c for c in (iris_colour(rgb, f) for (rgb, _), f in zip(photos, faces)) if c is not None]
    iris = np.mean(irises, axis=0) if irises else np.full(3, np.nan)
    return SourceProfile(texture=texture, seen=seen, skin=skin, identity=identity, descriptor=descriptor.astype(np.float32),
                         names=tuple(Path(name).name for _, name in photos), iris=iris.astype(np.float32))


def skin_map(texture: np.ndarray, seen: np.ndarray, size: int) -> np.ndarray:
    """Texels of the hair band that look like skin (1) or like hair (0), by the face's own skin colour."""
    layout = uv_layout(size)
    attrs = texel_attribute(layout, np.stack([skin_weights(), hair_band()], axis=1).astype(np.float64))
    bare, band = attrs[..., 0] * (seen > 0.2), attrs[..., 1]
    return non_hair(texture, bare, band)


def non_hair(rgb: np.ndarray, bare_skin: np.ndarray, band: np.ndarray) -> np.ndarray:
    """1 where a pixel is plausibly skin, 0 where, within the hair band, it is far from the skin colour."""
    if bare_skin.sum() < 100:
        return np.ones(rgb.shape[:2], np.float32)
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    pick = bare_skin > 0.5
    mean, std = lab[pick].mean(axis=0), lab[pick].std(axis=0) + (2.0, 1.5, 1.5)
    # Hair is darker than skin and less saturated; lighting varies L more than a/b, so L gets slack.
    z = (lab - mean) / std
    distance = np.sqrt((np.minimum(z[..., 0], 0.0) / 1.5) ** 2 + z[..., 1] ** 2 + z[..., 2] ** 2)
    by_colour = np.clip((distance - 2.5) / 1.5, 0.0, 1.0)
    # Hair the colour of skin still gives itself away by its strands: far more fine texture.
    lightness = lab[..., 0]
    energy = cv2.GaussianBlur(np.abs(lightness - cv2.GaussianBlur(lightness, (0, 0), 1.5)), (0, 0), 3.0)
    skin_energy = float(np.median(energy[pick])) + 0.3
    by_texture = np.clip((energy / skin_energy - 2.0) / 1.5, 0.0, 1.0)
    hair = np.maximum(by_colour, by_texture) * band
    hair = cv2.morphologyEx(hair, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    hair = cv2.GaussianBlur(hair, (0, 0), 2.0)
    return np.clip(1.0 - hair * 1.3, 0.0, 1.0).astype(np.float32)


def _same_colour(views: list[Unwrapped]) -> list[Unwrapped]:
    """Photos taken in different light are brought to the first photo's colour before merging."""
    if len(views) < 2:
        return views
    ref = views[0]
    ref_stats = colour_stats(ref.texture.clip(0, 255).astype(np.uint8), ref.weight)
    out = [ref]
    for view in views[1:]:
        tex = view.texture.clip(0, 255).astype(np.uint8)
        moved = transfer_colour(tex, (view.weight > 0).astype(np.float32), colour_stats(tex, view.weight), ref_stats)
        out.append(Unwrapped(moved.astype(np.float32), view.weight))
    return out


def _merge(views: list[Unwrapped], size: int) -> tuple[np.ndarray, np.ndarray]:
    total = np.zeros((size, size, 3), np.float64)
    weight = np.zeros((size, size), np.float64)
    for view in views:
        total += view.texture * view.weight[..., None]
        weight += view.weight
    direct = weight.copy()
    for view in views:
        mirrored_w = mirror_texture(view.weight) * MIRROR_TRUST * np.clip(1.0 - direct / 0.5, 0.0, 1.0)
        total += mirror_texture(view.texture) * mirrored_w[..., None]
        weight += mirrored_w
    texture = np.where(weight[..., None] > 1e-6, total / np.maximum(weight, 1e-6)[..., None], 0.0)
    # Texels seen only at grazing angles are smeared; neighbours seen properly are a better guess.
    texture = _fill_holes(texture.clip(0, 255).astype(np.uint8), weight > 0.03)
    return texture, np.clip(direct, 0.0, 1.0).astype(np.float32)


def _fill_holes(texture: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Fill texels no photo (nor its mirror) showed, so sampling near edges never pulls in black."""
    hole = (~known).astype(np.uint8)
    if not hole.any() or not known.any():
        return texture
    # Inpaint at a quarter size (fast), then keep every known texel at full resolution.
    small = cv2.resize(texture, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(hole, small.shape[1::-1], interpolation=cv2.INTER_NEAREST)
    filled = cv2.inpaint(small, small_hole, 3, cv2.INPAINT_TELEA)
    filled = cv2.resize(filled, texture.shape[1::-1], interpolation=cv2.INTER_LINEAR)
    return np.where(known[..., None], texture, filled)


def profile_from_files(paths: Sequence[Path]) -> SourceProfile:
    return build_profile([(read_image(Path(p)), str(p)) for p in paths])


def load_sources(sources: Sequence[str | Path]) -> SourceProfile:
    """A profile from photos of one person, or from a saved profile (.npz)."""
    paths = [Path(p) for p in sources]
    if not paths:
        raise FacegraftError("no source given")
    profiles = [p for p in paths if p.suffix.lower() == ".npz"]
    if profiles and len(paths) > 1:
        raise FacegraftError("give either one saved profile (.npz) or source photos, not both")
    if profiles:
        return load_profile(profiles[0])
    return profile_from_files(paths)


def save_profile(profile: SourceProfile, path: Path, inputs: Sequence[Path] = ()) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".npz":
        raise FacegraftError(f"{path}: a profile file ends in .npz")
    buffer = io.BytesIO()
    np.savez_compressed(buffer, version=np.array(PROFILE_VERSION), texture=profile.texture, seen=profile.seen,
                        skin=profile.skin, iris=profile.iris,
                        identity=profile.identity, descriptor=profile.descriptor, names=np.array(profile.names))
    with atomic_output(path, tuple(inputs)) as tmp:
        tmp.write_bytes(buffer.getvalue())
    return path


def load_profile(path: Path) -> SourceProfile:
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["version"]) != PROFILE_VERSION:
                raise FacegraftError(f"{path}: profile version {int(data['version'])} is not supported; rebuild it")
            profile = SourceProfile(texture=data["texture"], seen=data["seen"], skin=data["skin"], identity=data["identity"],
                                    descriptor=data["descriptor"], names=tuple(str(n) for n in data["names"]),
                                    iris=data["iris"])
    except FacegraftError:
        raise
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise FacegraftError(f"{path}: not a facegraft profile ({type(exc).__name__})") from None
    _check(profile, path)
    return profile


def _check(profile: SourceProfile, path: Path) -> None:
    size = profile.texture.shape[0]
    ok = (profile.texture.shape == (size, size, 3) and profile.texture.dtype == np.uint8
          and profile.seen.shape == (size, size) and profile.skin.shape == (size, size)
          and profile.identity.shape == (478, 3)
          and profile.descriptor.shape == (128,) and profile.iris.shape == (3,) and np.isfinite(profile.identity).all() and size >= 64)
    if not ok:
        raise FacegraftError(f"{path}: profile is damaged (unexpected array shapes)")
    uv_layout(size)  # any size the layout supports
