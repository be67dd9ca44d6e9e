"""The refine stage on real faces: colour transfer, shading, detail, feathering and blending."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from facegraft import analyze_image, samples
from facegraft.io import read_image
from facegraft.refine import (ColourStats, alpha_blend, blend_stats, colour_stats, feather, match_shading,
                              multiband_blend, poisson_blend, pyramid_levels, transfer_colour, transfer_detail)

TARGET = "single_face.jpg"
DONOR = "0-f1-su-ph.jpg"  # a different person, warped onto the target's face as the "rendered" face


@dataclass(frozen=True)
class Scene:
    target: np.ndarray  # the target frame
    rendered: np.ndarray  # the donor's photo warped onto the target's face, same size
    mask: np.ndarray  # bool, the target face's landmark hull
    face_px: float  # width of the target face's box


def hull_mask(landmarks: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.rint(landmarks[:, :2]).astype(np.int32)), 1)
    return mask.astype(bool)


@pytest.fixture(scope="module")
def scene() -> Scene:
    target = read_image(samples.path(TARGET))
    donor = read_image(samples.path(DONOR))
    face, donor_face = analyze_image(target)[0], analyze_image(donor)[0]
    matrix, _ = cv2.estimateAffinePartial2D(donor_face.landmarks68.astype(np.float32),
                                            face.landmarks68.astype(np.float32))
    rendered = cv2.warpAffine(donor, matrix, (target.shape[1], target.shape[0]), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT)
    return Scene(target, rendered, hull_mask(face.landmarks, target.shape), float(face.box[2] - face.box[0]))


def lab_of(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)


def lightness(rgb: np.ndarray) -> np.ndarray:
    return lab_of(rgb)[..., 0]


def highpass(image: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    image = image.astype(np.float32)
    return image - cv2.GaussianBlur(image, (0, 0), sigma)


def inner(mask: np.ndarray, px: float) -> np.ndarray:
    """The part of the mask more than `px` from its edge."""
    return cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE) > px


def outer_distance(mask: np.ndarray) -> np.ndarray:
    """Distance of each pixel outside the mask to the mask."""
    return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def seam_score(image: np.ndarray, background: np.ndarray, ring: np.ndarray) -> float:
    """Mean gradient magnitude on the ring, relative to the same ring in the untouched background."""
    def gradient(rgb: np.ndarray) -> np.ndarray:
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
        return np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    return float(gradient(image)[ring].mean() / gradient(background)[ring].mean())


def largest_step(change: np.ndarray, where: np.ndarray) -> int:
    """Largest difference between neighbouring pixels of `change`, both in `where`."""
    down = np.abs(change[1:] - change[:-1]).max(axis=-1)[where[1:] & where[:-1]]
    across = np.abs(change[:, 1:] - change[:, :-1]).max(axis=-1)[where[:, 1:] & where[:, :-1]]
    return int(max(down.max(), across.max()))


# --- colour ---------------------------------------------------------------------------------------

def test_transfer_colour_moves_face_to_target_stats(scene):
    source, target = colour_stats(scene.rendered, scene.mask), colour_stats(scene.target, scene.mask)
    assert np.abs(source.mean - target.mean).max() > 10, "the two people must differ for this test to mean anything"
    out = transfer_colour(scene.rendered, scene.mask, source, target)
    # Measured here with plain numpy, not with colour_stats, so a broken colour_stats cannot hide.
    lab = lab_of(out)[scene.mask]
    assert np.abs(lab.mean(axis=0) - target.mean).max() < 2.0
    assert np.all(np.abs(lab.std(axis=0) / target.std - 1) < 0.15)
    assert np.array_equal(out[~scene.mask], scene.rendered[~scene.mask])
    assert np.array_equal(transfer_colour(scene.rendered, scene.mask, source, target, strength=0.0), scene.rendered)
    half = lab_of(transfer_colour(scene.rendered, scene.mask, source, target, strength=0.5))[scene.mask].mean(axis=0)
    assert np.abs(half - (source.mean + target.mean) / 2).max() < 2.5


def test_colour_stats_are_weighted_and_ignore_highlights(scene):
    plain = lab_of(scene.target)[scene.mask]
    stats = colour_stats(scene.target, scene.mask)
    assert np.abs(stats.mean - plain.mean(axis=0)).max() < 2.0
    assert np.all(stats.std <= plain.std(axis=0) + 1e-6)
    # Specular highlights: 1.5% of the face's pixels blown out to white.
    shiny = scene.target.copy()
    rows, cols = np.nonzero(scene.mask)
    pick = np.random.default_rng(0).choice(rows.size, rows.size * 3 // 200, replace=False)
    shiny[rows[pick], cols[pick]] = 255
    shiny_plain, shiny_stats = lab_of(shiny)[scene.mask], colour_stats(shiny, scene.mask)
    # Trimming the lightest 2% drops the highlights but lets in the next-lightest skin, so the mean
    # still moves a little; the spread, which sets the contrast of the transfer, hardly does.
    assert abs(shiny_stats.mean[0] - stats.mean[0]) < 0.7 * abs(shiny_plain[:, 0].mean() - plain[:, 0].mean())
    assert abs(shiny_stats.std[0] - stats.std[0]) < 0.3 * abs(shiny_plain[:, 0].std() - plain[:, 0].std())
    # Soft weights: the face counts fully, the hair and background around it at 0.3.
    weights = np.where(scene.mask, 1.0, np.where(outer_distance(scene.mask) < 40, 0.3, 0.0))
    lab = lab_of(scene.target)
    weighted = (lab * weights[..., None]).sum(axis=(0, 1)) / weights.sum()
    assert np.abs(lab[weights > 0].mean(axis=0) - weighted).max() > 4, "the weights must matter for this test"
    assert np.abs(colour_stats(scene.target, weights).mean - weighted).max() < 1.5
    with pytest.raises(ValueError):
        colour_stats(scene.target, np.zeros(scene.mask.shape))


def test_blend_stats_smooths_alternating_frames(scene):
    a, b = colour_stats(scene.target, scene.mask), colour_stats(scene.rendered, scene.mask)
    assert blend_stats(None, a, keep=0.8) is a
    assert np.allclose(blend_stats(a, b, keep=0.0).mean, b.mean)
    smoothed, history = None, []
    for frame in range(60):
        smoothed = blend_stats(smoothed, a if frame % 2 else b, keep=0.8)
        history.append(smoothed)
    raw_step = np.abs(a.mean - b.mean)
    steps = [np.abs(later.mean - earlier.mean) for earlier, later in zip(history[-10:], history[-9:])]
    assert np.all(np.max(steps, axis=0) < 0.25 * raw_step)
    mid = (a.mean + b.mean) / 2
    settled = (history[-1].mean + history[-2].mean) / 2
    assert np.all(np.abs(settled - mid) < 0.01 * raw_step + 1e-9)
    assert np.all(np.abs(history[-1].std - (a.std + b.std) / 2) < np.abs(a.std - b.std) / 2 + 1e-9)
    with pytest.raises(ValueError):
        blend_stats(a, b, keep=1.5)


def side_lit(rgb: np.ndarray, mask: np.ndarray, darkest: float = 0.35) -> np.ndarray:
    """Darken the left half of the face with a horizontal gradient, as a light from the right would."""
    cols = np.nonzero(mask)[1]
    left, centre = cols.min(), (cols.min() + cols.max()) / 2
    x = np.arange(rgb.shape[1], dtype=np.float32)
    gain = np.clip(darkest + (1 - darkest) * (x - left) / (centre - left), darkest, 1.0)
    return np.clip(rgb * gain[None, :, None], 0, 255).astype(np.uint8)


def left_right_ratio(rgb: np.ndarray, mask: np.ndarray) -> float:
    cols = np.nonzero(mask)[1]
    centre = (cols.min() + cols.max()) // 2
    light = lightness(rgb)
    return float(light[:, :centre][mask[:, :centre]].mean() / light[:, centre:][mask[:, centre:]].mean())


def log_detail(rgb: np.ndarray, where: np.ndarray) -> float:
    """Fine detail relative to the local brightness, so shading alone does not change it."""
    return float(highpass(np.log(lightness(rgb) + 1.0))[where].std())


def test_match_shading_carries_side_light_and_keeps_detail(scene):
    rendered, mask = scene.target, scene.mask
    lit = side_lit(rendered, mask)
    wanted, before = left_right_ratio(lit, mask), left_right_ratio(rendered, mask)
    assert abs(before / wanted - 1) > 0.2, "the simulated light must change the face for the test to mean anything"
    out = match_shading(rendered, lit, mask, sigma=scene.face_px / 8)
    assert abs(left_right_ratio(out, mask) / wanted - 1) < 0.10
    core = inner(mask, 4)
    assert log_detail(out, core) >= 0.8 * log_detail(rendered, core)
    assert np.array_equal(out[~mask], rendered[~mask])
    # A different background must not leak into the face's edge: same face, other surroundings.
    elsewhere = np.where(mask[..., None], rendered, scene.rendered)
    assert np.abs(match_shading(rendered, elsewhere, mask, sigma=scene.face_px / 8).astype(int) - rendered).max() <= 1
    # Another person's face (lit from the other side in its photo: ratio 1.3) under the same light:
    # it takes the light, within the ratio clamp, but keeps its own detail.
    donor = match_shading(scene.rendered, lit, mask, sigma=scene.face_px / 8)
    assert abs(left_right_ratio(donor, mask) / wanted - 1) < 0.15
    detail = [highpass(np.log(lightness(img) + 1.0))[core] for img in (donor, scene.rendered, lit)]
    assert correlation(detail[0], detail[1]) > 0.9 > 0.5 > correlation(detail[0], detail[2])


def test_transfer_detail_mixes_high_frequencies(scene):
    mask, rendered, target = scene.mask, scene.rendered, scene.target
    sigma = scene.face_px / 60
    assert np.array_equal(transfer_detail(rendered, target, mask, detail=1.0, sigma=sigma), rendered)
    nearly = transfer_detail(rendered, target, mask, detail=0.999, sigma=sigma)
    assert np.abs(nearly.astype(int) - rendered).max() <= 1
    out = transfer_detail(rendered, target, mask, detail=0.0, sigma=sigma)
    core = inner(mask, 2 * sigma)
    grey = {name: highpass(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY))[core]
            for name, img in (("out", out), ("target", target), ("rendered", rendered))}
    with_target, with_rendered = correlation(grey["out"], grey["target"]), correlation(grey["out"], grey["rendered"])
    assert with_target > 0.8
    assert with_rendered < with_target - 0.4
    # A different background must not leak into the face's edge.
    elsewhere = np.where(mask[..., None], rendered, scene.target)
    assert np.array_equal(transfer_detail(rendered, elsewhere, mask, detail=0.0, sigma=sigma), rendered)
    # The low frequencies stay the rendered face's.
    low = {name: cv2.GaussianBlur(img.astype(np.float32), (0, 0), 4 * sigma)[inner(mask, 8 * sigma)]
           for name, img in (("out", out), ("rendered", rendered))}
    assert np.abs(low["out"] - low["rendered"]).mean() < 3.0
    assert np.array_equal(out[~mask], rendered[~mask])


# --- feathering and blending ----------------------------------------------------------------------

def test_feather_fades_inside_the_mask(scene):
    mask, erode, blur = scene.mask, 6.0, 12.0
    alpha = feather(mask, erode, blur)
    assert alpha.dtype == np.float32 and alpha.shape == mask.shape
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    depth = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    assert np.all(alpha[~mask] == 0)
    assert np.all(alpha[depth >= erode + blur + 1] == 1)
    assert np.all(depth[alpha > 0] > erode), "the faded edge must lie inside the original mask"
    assert np.all(alpha[mask & (depth <= erode)] == 0)
    # Along every row: rises to a plateau and falls again, never wobbling on the way out.
    for row in np.nonzero(mask.any(axis=1))[0][::5]:
        values = alpha[row]
        peak = int(np.argmax(values))
        assert np.all(np.diff(values[: peak + 1]) >= -1e-6)
        assert np.all(np.diff(values[peak:]) <= 1e-6)
    assert np.array_equal(feather(mask, 0, 0) > 0, mask)


@pytest.fixture(scope="module")
def seam_scene(scene):
    """A colour-shifted donor face pasted with a feathered mask: a visible seam when hard-pasted."""
    shifted = scene.rendered.astype(np.int16)
    shifted[..., 0] += 25
    foreground = np.clip(shifted, 0, 255).astype(np.uint8)
    alpha = feather(scene.mask, scene.face_px / 40, scene.face_px / 15)
    edge = alpha > 0.5
    ring = (inner(edge, 0) & ~inner(edge, 3)) | ((outer_distance(edge) > 0) & (outer_distance(edge) <= 3))
    hard = alpha_blend(scene.target, foreground, edge)
    return foreground, alpha, ring, seam_score(hard, scene.target, ring)


def test_multiband_blend_hides_the_seam(scene, seam_scene):
    foreground, alpha, ring, hard_score = seam_scene
    levels = pyramid_levels(int(scene.face_px))
    out = multiband_blend(scene.target, foreground, alpha, levels=levels)
    # A feathered alpha blend alone removes about half of the seam's excess; these must remove 3/4.
    assert seam_score(out, scene.target, ring) - 1 < 0.25 * (hard_score - 1)
    far = outer_distance(alpha > 0) > 2 ** (levels + 1) + 1
    assert np.array_equal(out[far], scene.target[far])
    # No step where the crop it works on ends: the change fades out smoothly.
    assert largest_step(out.astype(int) - scene.target, alpha == 0) <= 20
    deep = inner(alpha == 1, 2 ** levels)
    assert np.abs(out[deep].astype(int) - foreground[deep]).mean() < 1.0


def test_poisson_blend_hides_the_seam(scene, seam_scene):
    foreground, alpha, ring, hard_score = seam_scene
    out = poisson_blend(scene.target, foreground, alpha)
    assert seam_score(out, scene.target, ring) - 1 < 0.25 * (hard_score - 1)
    outside = alpha <= 0.5
    assert np.array_equal(out[outside], scene.target[outside])
    # Its colour follows the background, but it keeps the foreground's detail.
    inside = inner(alpha > 0.5, 3)
    detail = [highpass(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY))[inside] for img in (out, foreground)]
    assert correlation(*detail) > 0.9
    # A face that differs from the background only by a constant comes back as the background,
    # which also shows the clone lands exactly where it came from (one pixel off doubles the error).
    brighter = np.clip(scene.target.astype(int) + 20, 0, 255).astype(np.uint8)
    same = poisson_blend(scene.target, brighter, alpha)
    assert np.abs(same[alpha > 0.5].astype(int) - scene.target[alpha > 0.5]).mean() < 3.0


def test_alpha_blend_is_exact_at_zero_and_one(scene):
    alpha = feather(scene.mask, 4, 10)
    out = alpha_blend(scene.target, scene.rendered, alpha)
    assert np.array_equal(out[alpha == 0], scene.target[alpha == 0])
    assert np.array_equal(out[alpha == 1], scene.rendered[alpha == 1])
    middle = (alpha > 0.4) & (alpha < 0.6)
    expected = scene.target[middle] * (1 - alpha[middle, None]) + scene.rendered[middle] * alpha[middle, None]
    assert np.abs(out[middle] - expected).max() <= 1.0


# --- awkward inputs -------------------------------------------------------------------------------

def test_odd_sizes_and_masks_touching_the_border(scene):
    # An odd-sized crop that cuts the face at its left and bottom edges.
    crop = np.s_[120:391, 231:572]
    target, rendered, mask = scene.target[crop], scene.rendered[crop], scene.mask[crop]
    assert target.shape[:2] == (271, 341) and mask[:, 0].any() and mask[-1].any()
    alpha = feather(mask, 3, 10)
    # The frame edge is not the face's edge: no fade along it.
    assert np.all(alpha[100:200, 0][mask[100:200, 0]] == 1)
    source, goal = colour_stats(rendered, mask), colour_stats(target, mask)
    results = {
        "colour": transfer_colour(rendered, mask, source, goal),
        "shading": match_shading(rendered, target, mask, sigma=30),
        "detail": transfer_detail(rendered, target, mask, 0.3, sigma=4),
        "alpha": alpha_blend(target, rendered, alpha),
        "multiband": multiband_blend(target, rendered, alpha),
        "deep multiband": multiband_blend(target, rendered, alpha, levels=8),
        "poisson": poisson_blend(target, rendered, alpha),
    }
    for name, out in results.items():
        assert out.shape == target.shape and out.dtype == np.uint8, name
    for name in ("colour", "shading", "detail"):
        assert np.array_equal(results[name][~mask], rendered[~mask]), name
    core = alpha == 1
    for name, tolerance in (("alpha", 0), ("multiband", 3), ("deep multiband", 20)):
        assert np.abs(results[name][core].astype(int) - rendered[core]).mean() <= tolerance, name
    # Poisson takes its colour from the background, its detail from the face.
    detail = [highpass(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY))[inner(core, 2)] for img in (results["poisson"], rendered)]
    assert correlation(*detail) > 0.9
    assert np.array_equal(results["poisson"][alpha <= 0.5], target[alpha <= 0.5])
    # The face fills the whole frame.
    full = np.ones(target.shape[:2], bool)
    assert np.array_equal(multiband_blend(target, rendered, full), rendered)
    assert np.abs(poisson_blend(target, rendered, full).astype(int) - target).mean() > 5


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (5, 4), (17, 33)])
def test_tiny_images(scene, shape):
    crop = np.s_[200:200 + shape[0], 250:250 + shape[1]]  # a patch of the real face
    target, rendered = scene.target[crop], scene.rendered[crop]
    mask = np.ones(shape, bool)
    alpha = feather(mask, 0, 2)
    stats = colour_stats(target, mask)
    outs = [transfer_colour(rendered, mask, colour_stats(rendered, mask), stats),
            match_shading(rendered, target, mask, sigma=10), transfer_detail(rendered, target, mask, 0.0, sigma=2),
            alpha_blend(target, rendered, alpha), multiband_blend(target, rendered, alpha),
            multiband_blend(target, rendered, mask, levels=6), poisson_blend(target, rendered, mask)]
    for out in outs:
        assert out.shape == target.shape and out.dtype == np.uint8
    assert np.array_equal(outs[4], rendered), "a mask covering the frame has alpha 1 everywhere"


def test_empty_mask_changes_nothing(scene):
    target, rendered = scene.target, scene.rendered
    empty = np.zeros(target.shape[:2], bool)
    stats = ColourStats(np.array([50.0, 0, 0]), np.array([10.0, 5, 5]))
    assert not feather(empty, 3, 10).any()
    for out in (transfer_colour(rendered, empty, stats, stats), match_shading(rendered, target, empty, 20),
                transfer_detail(rendered, target, empty, 0.0, 3)):
        assert np.array_equal(out, rendered)
    for out in (alpha_blend(target, rendered, empty), multiband_blend(target, rendered, empty),
                poisson_blend(target, rendered, empty)):
        assert np.array_equal(out, target)
