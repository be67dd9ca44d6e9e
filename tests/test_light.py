"""Light, creases and grain on real faces: the SH light fit, taking the source photo's light out of
its skin, the target's expression creases and the matching of fine detail."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facegraft import analyze_image, samples
from facegraft.analysis.lighting import Lighting, fit_lighting, sh_basis
from facegraft.analysis.regions import skin_weights
from facegraft.analysis.texture import texel_surface, unwrap
from facegraft.generate.delight import delit
from facegraft.io import read_image
from facegraft.refine.colour import match_grain
from facegraft.refine.creases import SIZE, NeutralLook, crease_texture

SIZE_TEX = 256


@pytest.fixture(scope="module")
def portrait():
    rgb = read_image(samples.path("astronaut.png"))
    return rgb, analyze_image(rgb)[0]


def texel_normals(face, size: int) -> tuple[np.ndarray, np.ndarray]:
    normals, attrs = texel_surface(face, size, skin_weights()[:, None])
    return normals, attrs[..., 0]


SIDE_LIGHT = np.array([[150.0] * 3, [-45.0] * 3, [12.0] * 3, [20.0] * 3, [0.0] * 3, [-6.0] * 3, [0.0] * 3,
                       [4.0] * 3, [3.0] * 3])  # strong light from the image's left, a little from above


def test_fit_lighting_recovers_a_known_light_on_real_skin_despite_highlights(portrait):
    rgb, face = portrait
    view = unwrap(rgb, face, SIZE_TEX)
    normals, bare = texel_normals(face, SIZE_TEX)
    weight = bare * view.weight
    truth = Lighting(SIDE_LIGHT)
    lit = view.texture * truth.relative_shading(normals, weight)
    # Specular glints: small patches far brighter than the diffuse light would make them.
    ys, xs = np.nonzero(weight > 0.5)
    pick = np.random.default_rng(0).choice(len(ys), 40, replace=False)
    glints = np.zeros(weight.shape, np.float32)
    glints[ys[pick], xs[pick]] = 1.0
    glints = cv2.GaussianBlur(glints, (0, 0), 2.0) * 60
    lit = np.clip(lit + glints[..., None] * 8, 0, 249)
    fitted = fit_lighting(lit.reshape(-1, 3), normals.reshape(-1, 3), weight.reshape(-1))
    assert fitted is not None
    on = weight > 0.3
    got, want = fitted.relative_shading(normals, weight)[on, 1], truth.relative_shading(normals, weight)[on, 1]
    # The real skin's own pattern (and the photo's own light) stays in, so agreement is high, not exact.
    assert np.corrcoef(got, want)[0, 1] > 0.9
    assert np.median(np.abs(got / want - 1)) < 0.08


def test_fit_lighting_refuses_too_few_samples():
    normals = np.tile([[0.0, 0.0, 1.0]], (50, 1))
    assert fit_lighting(np.full((50, 3), 120.0), normals, np.ones(50)) is None
    assert sh_basis(normals).shape == (50, 9)


def left_right_ratio(texture: np.ndarray, weight: np.ndarray) -> float:
    """Mean brightness of the face's left half (in the texture) over its right half, on well-seen skin."""
    lum, half = texture.mean(axis=2), texture.shape[1] // 2
    left, right = weight[:, :half] > 0.3, weight[:, half:] > 0.3
    return float(lum[:, :half][left].mean() / lum[:, half:][right].mean())


def test_delit_takes_a_side_light_out_of_the_source_skin(portrait):
    rgb, face = portrait
    view = unwrap(rgb, face, SIZE_TEX)
    normals, bare = texel_normals(face, SIZE_TEX)
    weight = bare * view.weight
    before = left_right_ratio(view.texture, weight)
    lit = np.clip(view.texture * Lighting(SIDE_LIGHT).relative_shading(normals, weight), 0, 255).astype(np.float32)
    lit_view = type(view)(lit, view.weight)
    assert abs(left_right_ratio(lit, weight) - before) > 0.25  # the added light is plain to see
    flat, _ = delit(lit_view, face, SIZE_TEX)
    assert abs(left_right_ratio(flat.texture, weight) - before) < 0.1


@pytest.fixture(scope="module")
def clip_frames():
    from facegraft.analysis import analyze

    frames = []
    for analysed in analyze(samples.path("single_face.mp4")):
        if analysed.faces:
            frames.append((analysed.frame.rgb, analysed.faces[0]))
        if len(frames) == 24:
            break
    return frames


def test_creases_carry_what_the_target_adds_to_its_neutral_look(clip_frames):
    neutral = NeutralLook()
    light = Lighting(np.array([[150.0] * 3] + [[0.0] * 3] * 8))
    for rgb, face in clip_frames[:-1]:
        crease_texture(rgb, face, light, neutral)
    rgb, face = clip_frames[-1]
    calm = crease_texture(rgb, face, light, neutral)
    # A frown line: a dark, narrow fold across the real frame's forehead.
    creased = rgb.copy()
    iod = face.pose.scale
    brow_y = int(face.landmarks[[105, 334], 1].mean() - 0.35 * iod)
    x0, x1 = int(face.landmarks[105, 0]), int(face.landmarks[334, 0])
    cv2.line(creased, (x0, brow_y), (x1, brow_y), (0, 0, 0), max(2, int(iod * 0.06)))
    creased = cv2.addWeighted(rgb, 0.6, cv2.GaussianBlur(creased, (0, 0), 1.5), 0.4, 0)
    fold = crease_texture(creased, face, light, neutral)
    assert calm.shape == (SIZE, SIZE)
    assert np.abs(calm).mean() < 0.02  # a frame like its neighbours adds little
    assert fold.min() < -0.08 and (fold < -0.05).sum() > 30


def test_match_grain_brings_a_soft_face_to_the_target_detail(portrait):
    rgb, face = portrait
    target = rgb
    soft = cv2.GaussianBlur(rgb, (0, 0), 2.5)
    covered = np.zeros(rgb.shape[:2], bool)
    x0, y0, x1, y1 = face.box.astype(int)
    covered[y0:y1, x0:x1] = True
    skin = covered.astype(np.float32)

    def detail(image: np.ndarray) -> float:
        grey = image[y0:y1, x0:x1].astype(np.float32).mean(axis=2)
        return float(np.std(grey - cv2.GaussianBlur(grey, (0, 0), 2.0)))

    sharpened = match_grain(soft, target, covered, skin, sigma=2.0)
    assert detail(soft) < 0.5 * detail(target)
    assert detail(sharpened) > 1.5 * detail(soft)
    softened = match_grain(target, soft, covered, skin, sigma=2.0)
    assert detail(softened) < 0.8 * detail(target)
    outside = ~covered
    assert np.array_equal(sharpened[outside], soft[outside])


def test_brows_are_darkened_back_to_the_source_contrast_and_never_lightened():
    from facegraft.generate.profile import build_profile
    from facegraft.refine.brows import brow_texels, keep_brow_contrast, source_brow_contrast

    profile = build_profile([(read_image(samples.path("single_face.jpg")), "single_face.jpg")])
    look = profile.appearance
    size = look.texture.shape[0]
    wanted = source_brow_contrast(look.texture, look.seen, look.skin)
    assert wanted is not None and wanted > 0.1  # a man with dark brows
    # The texture itself as the "output crop": uv is the identity map of texture space.
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    uv = np.stack([xs, ys], axis=2)
    covered = look.seen > 0.3
    brow, _ = brow_texels(size)
    washed = look.texture.astype(np.float32)
    washed = (washed + (np.array([200.0, 170.0, 150.0]) - washed) * (0.6 * brow)[..., None]).astype(np.uint8)
    faded = source_brow_contrast(washed, look.seen, look.skin)
    assert faded < 0.5 * wanted
    fixed = keep_brow_contrast(washed, covered, np.ones(covered.shape, np.float32), uv, size, wanted)
    assert source_brow_contrast(fixed, look.seen, look.skin) > faded + 0.5 * (wanted - faded)
    assert np.array_equal(fixed[brow == 0], washed[brow == 0])  # only the brows change
    # Brows already as dark as wanted are left alone.
    same = keep_brow_contrast(look.texture, covered, np.ones(covered.shape, np.float32), uv, size, wanted * 0.5)
    assert np.array_equal(same, look.texture)


def test_the_target_sheen_is_carried_over_and_nothing_else(portrait):
    from facegraft.generate.mesh import MESH
    from facegraft.generate.profile import build_profile
    from facegraft.refine.composite import place_generated
    from facegraft.refine.shading import carry_highlights, target_lighting

    rgb, face = portrait
    profile = build_profile([(read_image(samples.path("single_face.jpg")), "single_face.jpg")])
    generated = MESH.generate(profile, face, rgb.shape[:2])
    region = generated.window
    x0, y0, x1, y1 = region
    target = rgb[y0:y1, x0:x1].copy()
    # A glint on the real target's cheek: skin far brighter than its light explains.
    cheek = np.round(face.landmarks[205, :2] - (x0, y0)).astype(int)
    cv2.circle(target, tuple(int(v) for v in cheek), max(3, int(face.pose.scale * 0.08)), (255, 255, 255), -1)
    placed = place_generated(generated, region, target)
    light = target_lighting(target, placed.normals, placed.covered, placed.skin)
    out = carry_highlights(placed.canvas, target, placed.normals, placed.covered, placed.skin, light)
    gain = out.astype(np.float32).mean(axis=2) - placed.canvas.astype(np.float32).mean(axis=2)
    assert gain[cheek[1], cheek[0]] > 20
    assert np.median(gain[placed.skin > 0.5]) < 1.0  # the rest of the skin barely changes
    assert np.array_equal(out[~placed.covered], placed.canvas[~placed.covered])


def test_match_grain_holds_the_whole_face_to_the_target_detail(portrait, monkeypatch):
    # A sharp photo's brows, lids and lip lines on a soft target (a far or smoothed video face): the
    # skin grain alone may match while those edges stay crisp, read as pasted on and shimmer as the
    # face moves. Here the skin mask is a cheek patch only, so the skin step leaves the features be.
    from facegraft.refine import colour
    rgb, face = portrait
    target = cv2.GaussianBlur(rgb, (0, 0), 1.6)
    covered = np.zeros(rgb.shape[:2], bool)
    x0, y0, x1, y1 = face.box.astype(int)
    covered[y0:y1, x0:x1] = True
    skin = np.zeros(rgb.shape[:2], np.float32)
    cx, cy = face.landmarks[205, :2].astype(int)
    skin[cy - 12:cy + 12, cx - 12:cx + 12] = 1.0
    inner = slice(y0 + 8, y1 - 8), slice(x0 + 8, x1 - 8)

    def detail(image: np.ndarray) -> float:
        grey = image.astype(np.float32).mean(axis=2)
        return float(np.sqrt(np.mean((grey - cv2.GaussianBlur(grey, (0, 0), 2.0))[inner] ** 2)))

    held = match_grain(rgb, target, covered, skin, sigma=2.0)
    monkeypatch.setattr(colour, "DETAIL_CAP", 100.0)
    loose = match_grain(rgb, target, covered, skin, sigma=2.0)
    assert detail(rgb) > 1.5 * detail(target)
    assert detail(loose) > 1.3 * detail(target)  # the skin step alone keeps the crisp features
    assert detail(held) < 1.15 * detail(target)
    assert np.array_equal(held[~covered], rgb[~covered])


def test_a_source_photo_modelling_is_brought_to_the_target_contrast(portrait):
    # The source photo's own deep sockets and bright nose ridge, on a target lit flat: on skin, the
    # band where that modelling lives is scaled to the target's local contrast; on a target with the
    # same modelling nothing moves.
    from facegraft.generate.mesh import MESH
    from facegraft.generate.profile import build_profile
    from facegraft.refine.composite import place_generated
    from facegraft.refine.shading import CONTRAST_BAND_IOD, match_shading_contrast

    rgb, face = portrait
    profile = build_profile([(read_image(samples.path("0-f1-su-ph.jpg")), "0-f1-su-ph.jpg")])
    generated = MESH.generate(profile, face, rgb.shape[:2])
    x0, y0, x1, y1 = generated.window
    placed = place_generated(generated, generated.window, rgb[y0:y1, x0:x1].copy())
    canvas, iod = placed.canvas, face.pose.scale
    fine, coarse = (iod * s for s in CONTRAST_BAND_IOD)

    def band(image):
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        return cv2.GaussianBlur(grey, (0, 0), fine) - cv2.GaussianBlur(grey, (0, 0), coarse)

    flat = np.clip(canvas.astype(np.float32) - 0.7 * band(canvas)[..., None], 0, 255).astype(np.uint8)
    skin = (placed.skin * placed.covered) > 0.5
    out = match_shading_contrast(canvas, flat, placed.covered, placed.skin, iod)
    same = match_shading_contrast(canvas, canvas, placed.covered, placed.skin, iod)
    rms = lambda image: float(np.sqrt(np.mean(band(image)[skin] ** 2)))  # noqa: E731
    assert rms(flat) < 0.6 * rms(canvas)
    assert rms(out) < 0.75 * rms(canvas)
    assert np.abs(same.astype(int) - canvas.astype(int))[skin].mean() < 0.6
    assert np.array_equal(out[~placed.covered], canvas[~placed.covered])
    # The same for colour: a flushed patch of the source on a target whose redness is even.
    def redness(image):
        a = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., 1]
        return cv2.GaussianBlur(a, (0, 0), fine) - cv2.GaussianBlur(a, (0, 0), coarse)

    cheek = np.round(face.landmarks[205, :2] - (x0, y0)).astype(int)
    flush = np.zeros(canvas.shape[:2], np.float32)
    cv2.circle(flush, tuple(int(v) for v in cheek), int(0.25 * iod), 1.0, -1)
    flush = cv2.GaussianBlur(flush, (0, 0), 0.12 * iod)[..., None] * np.array([30.0, -10.0, -5.0], np.float32)
    flushed = np.clip(canvas.astype(np.float32) + flush, 0, 255).astype(np.uint8)
    calmed = match_shading_contrast(flushed, canvas, placed.covered, placed.skin, iod)
    patch = skin & (flush[..., 0] > 10.0)
    red = lambda image: float(np.sqrt(np.mean(redness(image)[patch] ** 2)))  # noqa: E731
    assert red(flushed) > 1.5 * red(canvas)
    assert red(calmed) < 0.8 * red(flushed)


def test_lipstick_is_toned_down_to_the_target_lips():
    # A source's lipstick on a bare-lipped target: here the real single_face.jpg's own lips painted
    # redder. Lips no more coloured than the target's keep their colour.
    from facegraft.analysis.regions import INNER_LIPS, OUTER_LIPS
    from facegraft.refine.colour import LIP_SLACK, temper_lips
    rgb = read_image(samples.path("single_face.jpg"))
    face = analyze_image(rgb)[0]
    points, iod = face.landmarks[:, :2], face.pose.scale
    outer, inner = (np.zeros(rgb.shape[:2], np.uint8) for _ in range(2))
    cv2.fillPoly(outer, [np.round(points[OUTER_LIPS]).astype(np.int32)], 1)
    cv2.fillPoly(inner, [np.round(points[INNER_LIPS]).astype(np.int32)], 1)
    lips = outer > inner
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    lab[..., 1] += 18.0 * lips
    painted = cv2.convertScaleAbs(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), alpha=255.0)
    covered = np.ones(rgb.shape[:2], bool)

    def redness(image):
        a = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., 1]
        core = cv2.erode(lips.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        return float(np.median(a[core]))

    toned = temper_lips(painted, rgb, points, covered, iod)
    assert redness(painted) > redness(rgb) + 12
    assert redness(toned) < redness(rgb) + LIP_SLACK + 2.5
    assert np.array_equal(temper_lips(rgb, rgb, points, covered, iod), rgb)
    far = ~(cv2.dilate(outer, np.ones((41, 41), np.uint8)) > 0)
    assert np.array_equal(toned[far], painted[far])
