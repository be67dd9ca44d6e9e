"""The mesh renderer's own part of a profile: the source's skin unwrapped into texture space.

Each photo is unwrapped onto the face model's texture layout and its own light and expression folds
taken out (generate.delight); photos in different light are brought
to the first one's colour, merged by how directly each showed a texel, and what no photo shows is
completed from the mirrored side (and, failing that, inpainted). Texels of the hair band that look
like hair rather than skin are marked, so the target's own forehead stays there.
"""

from __future__ import annotations

import cv2
import numpy as np

from facegraft.analysis.colour import colour_stats, transfer_colour
from facegraft.analysis.regions import hair_band, hair_rim, outline_band, skin_weights
from facegraft.analysis.texture import Unwrapped, mirror_texture, texel_attribute, unwrap, uv_layout
from facegraft.analysis.types import Face
from facegraft.generate.delight import delit

TEXTURE_SIZE = 512
# Mirrored texels stand in only where the photos show little: a real view always wins.
MIRROR_TRUST = 0.35


def skin_texture(photos, faces: list[Face], size: int = TEXTURE_SIZE,
                 delight: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(texture, seen, skin) from (rgb, name) photos and their faces: see the module's docstring."""
    unwrapped = [unwrap(rgb, face, size) for (rgb, _), face in zip(photos, faces)]
    if delight:
        delit_views = [delit(view, face, size) for view, face in zip(unwrapped, faces)]
    else:
        delit_views = [(view, np.zeros(view.weight.shape, np.float32)) for view in unwrapped]
    views = _same_colour([view for view, _ in delit_views])
    # With several photos, each texel leans on the least expressive ones (their folds are the face's own).
    if len(views) > 1:
        views = [Unwrapped(v.texture, v.weight * (1.0 - 0.8 * active)) for v, (_, active) in zip(views, delit_views)]
    texture, seen = _merge(views, size)
    return texture, seen, skin_map(texture, seen, size)


def skin_map(texture: np.ndarray, seen: np.ndarray, size: int) -> np.ndarray:
    """Texels of the hair band that look like skin (1) or like hair (0), by the face's own skin colour."""
    layout = uv_layout(size)
    per_vertex = np.stack([skin_weights(), np.maximum(hair_band(), outline_band()), hair_rim()], axis=1)
    attrs = texel_attribute(layout, per_vertex.astype(np.float64))
    bare, band, rim = attrs[..., 0] * (seen > 0.2), attrs[..., 1], attrs[..., 2] * (seen > 0.2)
    return non_hair(texture, bare, band, rim) * shown(seen)


SHOWN = (0.03, 0.12)  # how directly a texel must have been seen (itself or mirrored) to be drawn


def shown(seen: np.ndarray) -> np.ndarray:
    """0 where neither the photos nor the face's mirror image showed a texel, fading to 1.

    The far sides of a frontal photo are seen edge-on: their texels are the photo's last pixels
    stretched into streaks (and what no photo saw is inpainted). A turned target shows that side
    large, and the streaks printed as a blocky band with a straight seam across the cheek; there the
    target's own cheek is the better guess."""
    known = np.maximum(seen, mirror_texture(seen))
    return np.clip((known - SHOWN[0]) / (SHOWN[1] - SHOWN[0]), 0.0, 1.0).astype(np.float32)


def non_hair(rgb: np.ndarray, bare_skin: np.ndarray, band: np.ndarray, rim: np.ndarray | None = None) -> np.ndarray:
    """1 where a pixel is plausibly skin, 0 where, within the hair band, it is far from the skin colour
    (or, given the `rim` where hair would surely be, closer to the colour of the hair found there)."""
    if bare_skin.sum() < 100:
        return np.ones(rgb.shape[:2], np.float32)
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    # The skin's colour from below the band, which hair over the forehead cannot reach.
    pick = (bare_skin > 0.5) & (band < 0.2)
    pick = pick if pick.sum() >= 100 else bare_skin > 0.5
    mean, std = lab[pick].mean(axis=0), lab[pick].std(axis=0) + SKIN_SLACK
    # Hair is darker than skin and less saturated; lighting varies L more than a/b, so L gets slack.
    z = (lab - mean) / std
    distance = np.sqrt((np.minimum(z[..., 0], 0.0) / 1.5) ** 2 + z[..., 1] ** 2 + z[..., 2] ** 2)
    by_colour = np.clip((distance - 2.5) / 1.5, 0.0, 1.0)
    # Hair the colour of skin still gives itself away by its strands: far more fine texture.
    lightness = lab[..., 0]
    energy = cv2.GaussianBlur(np.abs(lightness - cv2.GaussianBlur(lightness, (0, 0), 1.5)), (0, 0), 3.0)
    skin_energy = float(np.median(energy[pick])) + 0.3
    by_texture = np.clip((energy / skin_energy - 2.0) / 1.5, 0.0, 1.0)
    by_model = _like_rim_hair(lab, z, distance, rim) if rim is not None else 0.0
    hair = np.maximum(np.maximum(by_colour, by_texture), by_model) * band
    hair = cv2.morphologyEx(hair, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    hair = cv2.GaussianBlur(hair, (0, 0), 2.0)
    return np.clip(1.0 - hair * 1.3, 0.0, 1.0).astype(np.float32)


SKIN_SLACK = np.array([2.0, 1.5, 1.5], np.float32)  # Lab units added to the skin's spread
RIM_HAIR_DISTANCE = 2.0  # rim texels this far from the skin colour are taken as hair samples
RIM_HAIR_SHARE = 0.2  # below this share of hair-like rim texels, the photo shows no hair over the face


def _like_rim_hair(lab: np.ndarray, z: np.ndarray, distance: np.ndarray, rim: np.ndarray) -> np.ndarray | float:
    """How much more likely each texel is the hair seen at the rim than skin (0..1).

    Light or golden hair over the forehead (a fringe) is too near skin colour for a fixed distance,
    but it is the same hair as at the mesh's top edge: a second colour model from there tells it
    apart by which of the two it resembles."""
    on_rim = rim > 0.5
    samples = on_rim & (distance > RIM_HAIR_DISTANCE)
    if samples.sum() < 50 or samples.sum() < RIM_HAIR_SHARE * on_rim.sum():
        return 0.0
    hair_lab = lab[samples]
    z_hair = (lab - hair_lab.mean(axis=0)) / (hair_lab.std(axis=0) + SKIN_SLACK)
    # Log-likelihood ratio of two diagonal Gaussians (the constant of their spreads cancels in the margin).
    ratio = 0.5 * ((z * z).sum(axis=2) - (z_hair * z_hair).sum(axis=2))
    return np.clip((ratio - 2.0) / 4.0, 0.0, 1.0)


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
