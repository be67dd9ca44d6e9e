"""Generate and refine, array in and array out, on the astronaut portrait that ships inside
scikit-image (no fetched media): a source profile built from the array, the mesh renderer's face on
a mirrored and shifted copy of her, and the compositing, colour and blending helpers around it."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from facegraft import samples
from facegraft.analysis import analyze_image
from facegraft.analysis.colour import to_lab
from facegraft.analysis.eyes import iris_pixels
from facegraft.analysis.regions import hair_band, hair_rim, skin_weights
from facegraft.analysis.texture import mirror_texture, texel_attribute, uv_layout
from facegraft.config import SwapConfig
from facegraft.generate.mesh import MESH, MeshRenderer
from facegraft.generate.profile import build_profile, load_profile, save_profile
from facegraft.io import read_image
from facegraft.refine.blend import alpha_blend, feather, multiband_blend, poisson_blend, pyramid_levels
from facegraft.refine.colour import match_shading, transfer_detail
from facegraft.refine.composite import FACE_WIDTH_IOD, face_alpha, grow_window, place_generated
from facegraft.refine.temporal import Previous, steady
from facegraft.swapper import FaceSwapper

CHEEKS = (50, 280)
FOREHEAD_TOP = 10
OFFSET = (120, 50)  # where the 512x512 portrait lands on the target canvas (x, y)


def on_canvas(rgb: np.ndarray) -> np.ndarray:
    """The portrait on a larger, plain canvas, so crop and frame coordinates differ."""
    canvas = np.full((600, 700, 3), (40, 60, 80), np.uint8)
    x, y = OFFSET
    canvas[y:y + rgb.shape[0], x:x + rgb.shape[1]] = rgb
    return canvas


def only_face(rgb: np.ndarray, models):
    faces = analyze_image(rgb, models=models)
    assert len(faces) == 1
    return faces[0]


def largest_face(rgb: np.ndarray, models):
    # The mirrored canvas also gives a weak false face on her collar ring (score 0.67): the portrait
    # is what matters here, and analyze_image puts the largest face first.
    faces = analyze_image(rgb, models=models)
    assert faces and faces[0].score > 0.9
    return faces[0]


def at(image: np.ndarray, xy: np.ndarray, origin=(0, 0)):
    return image[int(round(xy[1])) - origin[1], int(round(xy[0])) - origin[0]]


@pytest.fixture(scope="module")
def profile(astronaut, models):
    return build_profile([(astronaut, "astronaut.png")], models=models)


@pytest.fixture(scope="module")
def target(astronaut):
    """Her mirror image, shifted on a larger canvas: a different face position, the light from the other side."""
    return on_canvas(np.ascontiguousarray(astronaut[:, ::-1]))


@pytest.fixture(scope="module")
def target_face(target, models):
    return largest_face(target, models)


@pytest.fixture(scope="module")
def generated(profile, target, target_face):
    return MESH.generate(profile, target_face, target.shape[:2])


@pytest.fixture(scope="module")
def placed(generated, target, target_face):
    """The generated face placed on the target, over the region the swapper blends."""
    region = grow_window(generated.window, 0.25 * FACE_WIDTH_IOD * target_face.pose.scale, target.shape[:2])
    x0, y0, x1, y1 = region
    background = target[y0:y1, x0:x1]
    return region, background, place_generated(generated, region, background)


def test_profile_from_an_array_holds_her_identity_and_skin(astronaut, profile, models):
    who = profile.identity
    assert who.shape.shape == (478, 3) and np.isfinite(who.shape).all()
    assert who.descriptor.shape == (128,) and who.descriptor.dtype == np.float32
    assert who.names == ("astronaut.png",) and profile.generator == MESH.name
    assert 10 < who.iris[0] < 60  # dark eyes, measured (Lab L)
    look = profile.appearance
    assert look.texture.shape == (512, 512, 3) and look.texture.dtype == np.uint8
    for name in ("seen", "skin"):
        values = getattr(look, name)
        assert values.shape == (512, 512) and values.min() >= 0.0 and values.max() <= 1.0 + 1e-5
    assert (look.seen > 0.5).mean() > 0.15
    # The texture's bare skin has the colour of her skin in the photo.
    bare = texel_attribute(uv_layout(512), skin_weights()[:, None].astype(np.float64))[..., 0]
    texels = (bare > 0.9) & (look.seen > 0.5)
    face = only_face(astronaut, models)
    cheeks = np.array([to_lab(astronaut)[int(y) - 3:int(y) + 4, int(x) - 3:int(x) + 4].reshape(-1, 3).mean(axis=0)
                       for x, y in face.landmarks[list(CHEEKS), :2]]).mean(axis=0)
    assert np.abs(to_lab(look.texture)[texels].mean(axis=0) - cheeks).max() < 8.0


def test_a_fringe_over_the_forehead_is_hair_and_a_bare_forehead_is_skin(profile, models):
    # Her light brown fringe is near skin colour, but it is the same hair as at the mesh's top edge.
    bare = build_profile([(read_image(samples.path("single_face.jpg")), "single_face.jpg")], models=models)
    for look, rim_skin in ((profile.appearance, (0.0, 0.2)), (bare.appearance, (0.85, 1.0))):
        size = look.skin.shape[0]
        at = texel_attribute(uv_layout(size), np.stack([hair_rim(), skin_weights(), hair_band()], 1).astype(np.float64))
        rim = (at[..., 0] > 0.5) & (look.seen > 0.2)
        cheeks = (at[..., 1] > 0.9) & (at[..., 2] < 0.05) & (look.seen > 0.5)
        assert rim_skin[0] <= look.skin[rim].mean() <= rim_skin[1]
        assert look.skin[cheeks].mean() > 0.95


def test_what_no_photo_showed_is_left_to_the_target(models):
    # A frontal photo sees its far cheeks edge-on: stretched streaks that a turned target would show
    # large. Neither she nor her mirror image shows them, so they carry no weight in the swap.
    look = build_profile([(read_image(samples.path("0-f15-hao-ph.jpg")), "0-f15-hao-ph.jpg")], models=models).appearance
    size = look.skin.shape[0]
    known = np.maximum(look.seen, mirror_texture(look.seen))
    inside = uv_layout(size).covered
    assert (look.skin[inside & (known < 0.03)] == 0).all() and (inside & (known < 0.03)).sum() > 1000
    cheeks = texel_attribute(uv_layout(size), np.stack([skin_weights(), hair_band()], 1).astype(np.float64))
    assert look.skin[(cheeks[..., 0] > 0.9) & (cheeks[..., 1] < 0.05) & (look.seen > 0.5)].mean() > 0.95


def test_profile_survives_a_save_and_load(profile, tmp_path):
    back = load_profile(save_profile(profile, tmp_path / "astronaut.npz"))
    assert back.generator == profile.generator and back.identity.names == profile.identity.names
    for name in ("shape", "descriptor", "iris"):
        assert np.array_equal(getattr(back.identity, name), getattr(profile.identity, name))
    assert np.array_equal(back.appearance.texture, profile.appearance.texture)


def test_generated_face_fields_on_the_mirrored_target(generated, target, target_face):
    h, w = generated.valid.shape
    assert generated.rgb.shape == (h, w, 3) and generated.rgb.dtype == np.uint8
    assert generated.valid.dtype == np.bool_ and generated.uv.shape == (h, w, 2)
    for name in ("weight", "skin"):
        values = getattr(generated, name)
        assert values.shape == (h, w) and values.dtype == np.float32
        assert values.min() >= 0.0 and values.max() <= 1.0 + 1e-5  # barycentric rounding may pass 1 by 1e-7
        assert (values[~generated.valid] == 0).all()
    # The mesh renderer draws in frame coordinates: its crop is a whole-pixel shift of the frame.
    x0, y0, x1, y1 = generated.window
    assert generated.shift == (x0, y0) and (x1 - x0, y1 - y0) == (w, h)
    assert 0 <= x0 and 0 <= y0 and x1 <= target.shape[1] and y1 <= target.shape[0]
    box = target_face.box
    assert x0 <= box[0] and y0 <= box[1] and box[2] <= x1 and box[3] <= y1
    assert generated.points.shape == (478, 2)
    for i in CHEEKS:
        cheek = generated.points[i]
        assert at(generated.valid, cheek, (x0, y0)) and at(generated.weight, cheek, (x0, y0)) > 0.95
    # The eye openings show the target's own eyes, and the swap fades out toward the hairline.
    iris = iris_pixels(target.shape[:2], target_face.landmarks)[y0:y1, x0:x1]
    assert generated.valid[iris].mean() < 0.2
    assert at(generated.weight, generated.points[FOREHEAD_TOP], (x0, y0)) < 0.1


def fine_detail(rgb: np.ndarray) -> np.ndarray:
    """Lightness minus its blur: features and skin texture, not the light (which a profile may take out)."""
    lightness = to_lab(rgb)[..., 0]
    return lightness - cv2.GaussianBlur(lightness, (0, 0), 3.0)


def test_render_on_her_own_photo_lands_where_to_frame_says(astronaut, profile, models):
    frame = on_canvas(astronaut)
    face = only_face(frame, models)
    rendered = MESH.generate(profile, face, frame.shape[:2])
    x0, y0 = rendered.shift
    h, w = rendered.valid.shape
    drawn, photo = fine_detail(rendered.rgb), fine_detail(frame)

    def agreement(dx: int, dy: int) -> float:
        under = photo[y0 + dy:y0 + dy + h, x0 + dx:x0 + dx + w]
        return float(np.corrcoef(drawn[rendered.valid], under[rendered.valid])[0, 1])

    assert agreement(0, 0) > 0.7
    for dx, dy in ((3, 0), (0, 3), (-3, -3)):
        assert agreement(dx, dy) < agreement(0, 0) - 0.25


def test_without_shape_transfer_the_render_keeps_the_target_geometry(profile, target, target_face):
    kept = MeshRenderer(shape_transfer=0.0).generate(profile, target_face, target.shape[:2])
    assert np.abs(kept.points - target_face.landmarks[:, :2]).max() < 0.01
    full = MeshRenderer(shape_transfer=1.0).generate(profile, target_face, target.shape[:2])
    assert np.abs(full.points - target_face.landmarks[:, :2]).max() > 0.5


def test_a_face_moved_off_frame_is_not_generated(profile, target, target_face):
    gone = dataclasses.replace(target_face, pose=dataclasses.replace(target_face.pose, tx=-5000.0))
    assert MESH.generate(profile, gone, target.shape[:2]) is None


def test_place_generated_keeps_the_target_outside_the_face(generated, placed):
    region, background, face = placed
    covered = face.covered
    assert face.canvas.shape == background.shape and covered.shape == background.shape[:2]
    assert np.array_equal(face.canvas[~covered], background[~covered])
    x0, y0 = generated.shift[0] - region[0], generated.shift[1] - region[1]
    h, w = generated.valid.shape
    assert covered.sum() == generated.valid.sum()
    assert np.array_equal(covered[y0:y0 + h, x0:x0 + w], generated.valid)
    assert np.array_equal(face.canvas[y0:y0 + h, x0:x0 + w][generated.valid], generated.rgb[generated.valid])
    assert np.array_equal(face.weight[y0:y0 + h, x0:x0 + w], generated.weight)
    assert (face.weight[~covered] == 0).all() and (face.skin[~covered] == 0).all()


def test_face_alpha_is_solid_on_the_cheeks_and_clear_off_the_face(generated, placed, target_face):
    region, _, face = placed
    origin = region[:2]
    alpha = face_alpha(generated, origin, face.covered, face.weight, FACE_WIDTH_IOD * target_face.pose.scale)
    covered = face.covered
    assert alpha.shape == covered.shape and 0.0 <= alpha.min() and alpha.max() <= 1.0 + 1e-5
    assert all(at(alpha, generated.points[i], origin) > 0.9 for i in CHEEKS)
    assert alpha[:5].max() == 0 and alpha[-5:].max() == 0 and alpha[:, :5].max() == 0
    iris = iris_pixels((region[3], region[2]), target_face.landmarks)[region[1]:, region[0]:]
    assert alpha[iris].mean() < 0.3  # the openings stay the target's


def test_face_alpha_ignores_pinholes_in_the_rendered_cover(generated, placed, target_face):
    # Thin lid and lip triangles leave single uncovered pixels that come and go from frame to frame;
    # eroded for the feather, each became a disc of the target's skin, and the face flickered.
    region, _, face = placed
    origin = region[:2]
    face_px = FACE_WIDTH_IOD * target_face.pose.scale
    cracked = face.covered.copy()
    for i in CHEEKS:
        x, y = np.round(generated.points[i] - origin).astype(int)
        cracked[y, x] = cracked[y + 1, x + 2] = False
    whole = face_alpha(generated, origin, face.covered, face.weight, face_px)
    alpha = face_alpha(generated, origin, cracked, face.weight * cracked, face_px)
    for i in CHEEKS:
        x, y = np.round(generated.points[i] - origin).astype(int)
        near = np.s_[y - 3:y + 4, x - 3:x + 4]
        assert np.abs(alpha[near] - whole[near]).max() < 0.1


def untouched_zone(alpha: np.ndarray, blend) -> np.ndarray:
    """Where a blend must return the background bit for bit: off the alpha for the pixel-wise
    blends; for the pyramid blend, farther from it than its pyramid reaches (2 ** (levels + 1) px)."""
    if blend is not multiband_blend:
        return alpha == 0
    rows, cols = np.nonzero(alpha > 0)
    reach = 2 ** (pyramid_levels(min(np.ptp(rows), np.ptp(cols)) + 1) + 1)
    distance = cv2.distanceTransform((alpha == 0).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return distance > reach


@pytest.mark.parametrize("blend", [alpha_blend, multiband_blend, poisson_blend], ids=lambda b: b.__name__)
def test_blends_change_the_face_and_nothing_far_from_it(blend, target, placed):
    region, _, face = placed
    canvas, covered = face.canvas, face.covered
    # The whole frame as background, so the pyramid has room to spread past the face's region.
    x0, y0, x1, y1 = region
    foreground, alpha = target.copy(), np.zeros(target.shape[:2], np.float32)
    foreground[y0:y1, x0:x1] = canvas
    alpha[y0:y1, x0:x1] = feather(covered, 2.0, 4.0)
    out = blend(target, foreground, alpha)
    assert out.shape == target.shape and out.dtype == np.uint8
    far = untouched_zone(alpha, blend)
    assert far.sum() > 0.5 * far.size
    assert np.array_equal(out[far], target[far])
    solid = alpha > 0.99
    assert np.abs(out[solid].astype(int) - target[solid]).mean() > 5
    if blend is alpha_blend:
        assert np.array_equal(out[alpha == 1], foreground[alpha == 1]) and (alpha == 1).sum() > 1000


def test_colour_shading_and_detail_change_only_the_masked_pixels(placed):
    _, background, face = placed
    canvas, covered = face.canvas, face.covered
    shaded = match_shading(canvas, background, covered, sigma=10.0)
    detailed = transfer_detail(canvas, background, covered, detail=0.3, sigma=2.0)
    for out in (shaded, detailed):
        assert np.array_equal(out[~covered], canvas[~covered])
        assert np.abs(out[covered].astype(int) - canvas[covered]).mean() > 1.0
    # The mirrored light is carried over: shading moves the face's lightness toward the target's.
    lightness = lambda rgb: to_lab(rgb)[..., 0][covered]  # noqa: E731
    before = np.abs(lightness(canvas) - lightness(background)).mean()
    assert np.abs(lightness(shaded) - lightness(background)).mean() < 0.8 * before


def test_swapper_changes_the_face_and_nothing_outside_its_window(astronaut, profile, target, target_face, models):
    out, results = FaceSwapper([profile], SwapConfig(), video=False).swap_frame(target, [(target_face, 0)])
    assert len(results) == 1 and results[0].track == target_face.track
    x0, y0, x1, y1 = results[0].window
    outside = np.ones(target.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(out[outside], target[outside])
    solid = results[0].alpha > 0.5
    assert np.abs(out[y0:y1, x0:x1].astype(int) - target[y0:y1, x0:x1])[solid].mean() > 8
    # Swapped onto her own photo she stays herself: the swap changes little.
    own = on_canvas(astronaut)
    own_face = only_face(own, models)
    same, [result] = FaceSwapper([profile], SwapConfig(), video=False).swap_frame(own, [(own_face, 0)])
    x0, y0, x1, y1 = result.window
    assert np.abs(same[y0:y1, x0:x1].astype(int) - own[y0:y1, x0:x1])[result.alpha > 0.5].mean() < 6


def test_steady_holds_a_still_face_and_lets_a_moving_one_through(astronaut):
    """Output shimmer where the target is still is pulled back; where the target changed, nothing is."""
    target = np.ascontiguousarray(astronaut[40:240, 150:350])
    covered = np.ones(target.shape[:2], bool)
    grey = cv2.cvtColor(target, cv2.COLOR_RGB2GRAY).astype(np.float32)
    before = Previous((150, 40), target.copy(), grey, covered)
    rng = np.random.default_rng(0)
    shimmer = np.clip(target.astype(np.int16) + rng.integers(-6, 7, target.shape), 0, 255).astype(np.uint8)
    held, remembered = steady(shimmer, grey.astype(np.uint8), covered, (150, 40), before, 0.6)
    error = lambda image: float(np.abs(image.astype(np.int16) - target).mean())
    assert error(held) < 0.5 * error(shimmer)
    assert remembered.face is held and np.array_equal(remembered.target_grey, grey)
    moved = np.ascontiguousarray(astronaut[52:252, 162:362])  # the head moved by 12 pixels
    passed, _ = steady(shimmer, cv2.cvtColor(moved, cv2.COLOR_RGB2GRAY), covered, (150, 40), before, 0.6)
    changed = np.abs(cv2.cvtColor(moved, cv2.COLOR_RGB2GRAY).astype(np.int16) - cv2.cvtColor(target, cv2.COLOR_RGB2GRAY)) > 20
    assert changed.mean() > 0.2
    assert np.abs(passed[changed].astype(np.int16) - shimmer[changed]).max() <= 1
    # A crop shifted in the frame is compared where the two crops overlap, and nowhere else.
    shifted, _ = steady(shimmer, grey.astype(np.uint8), covered, (150 + 500, 40), before, 0.6)
    assert np.array_equal(shifted, shimmer)
