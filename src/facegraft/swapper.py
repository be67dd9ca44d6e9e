"""The swap: each selected target face gets the source's identity, keeping the target's motion.

Per face and frame: render the source's flat-lit texture on the target's geometry (generate), then
refine it: the target's light fitted over the output surface (spherical harmonics) and as a smooth
field, the target's skin tone, the target's expression creases, fine grain at the target's level,
the target's specular sheen, the source's own brow contrast; then occluders and blending.
Per-track state (light, colour statistics, neutral look, expected appearance) keeps video steady.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import cv2
import numpy as np

from facegraft.analysis import Face
from facegraft.analysis.glasses import PRESENT, PRESENT_AGAIN, find_glasses
from facegraft.analysis.hands import Hand, HandFinder, hand_mask, hands_in_front_of
from facegraft.analysis.lighting import Lighting, blend_lighting
from facegraft.config import SwapConfig
from facegraft.generate.base import SourceProfile
from facegraft.generate.mesh import MeshRenderer
from facegraft.models import Models
from facegraft.refine.blend import alpha_blend, multiband_blend, poisson_blend
from facegraft.analysis.colour import MAX_SCALE, MIN_SCALE
from facegraft.refine.colour import (ColourStats, blend_stats, colour_stats, match_grain, temper_lips,
                                    transfer_colour, transfer_detail)
from facegraft.refine.brows import keep_brow_contrast, source_brow_contrast
from facegraft.refine.composite import (FACE_WIDTH_IOD, Placed, face_alpha, grow_window, kept_behind,
                                       person_keep, place_generated)
from facegraft.refine.creases import NeutralLook, apply_creases, crease_texture
from facegraft.refine.eyes import recolour_irises
from facegraft.refine.shading import (apply_lighting, carry_highlights, match_shading_contrast, relight,
                                     target_lighting)
from facegraft.refine.occlusion import AppearanceModel, occlusion_in_image, occlusion_texture
from facegraft.refine.matte import PersonMatte
from facegraft.refine.occluders import HandMemory, steady_hands
from facegraft.refine.temporal import Previous, steady

# With the target's light put on explicitly, tone transfer may only gently change lightness contrast.
LIT_LIGHTNESS_SCALE = (0.8, 1.25)
# The target's spread of skin colour comes from its own light, blush and makeup as much as from its
# skin: stretching the source's chroma to it turns freckles and a flash's yellow cast into blotches.
LIT_CHROMA_SCALE = (0.6, 1.0)
CREASE_EVERY = 2  # frames between crease measurements in video
MARGIN = 0.25  # share of the face size added around it for blending
FORGET_AFTER = 60  # frames after which a vanished track's state is dropped


@dataclasses.dataclass
class _TrackState:
    source_stats: ColourStats | None = None
    target_stats: ColourStats | None = None
    appearance: AppearanceModel = dataclasses.field(default_factory=AppearanceModel)
    lighting: Lighting | None = None
    neutral: NeutralLook = dataclasses.field(default_factory=NeutralLook)
    creases: np.ndarray | None = None
    previous: Previous | None = None  # the last refined face, for temporal steadiness
    glasses: bool = False  # whether the face wore glasses last frame
    hands: HandMemory | None = None  # the last kept hand mask, so it does not flicker
    last_frame: int = 0


@dataclasses.dataclass(frozen=True)
class FaceResult:
    """What was done to one face: kept for previews, debugging and evaluation."""

    track: int
    source: int
    window: tuple[int, int, int, int]  # x0, y0, x1, y1 of the blended region
    alpha: np.ndarray  # (h, w) float32 blend weight over the window
    occlusion: np.ndarray  # (h, w) float32 share of each pixel kept from the target as covered
    hands: np.ndarray  # (h, w) float32 the part of `occlusion` that is hands
    occluders: np.ndarray  # (h, w) float32 the rest: the appearance model's occluders and glasses


class FaceSwapper:
    """Swaps faces frame by frame; one instance per image or video (it keeps per-track state)."""

    def __init__(self, profiles: Sequence[SourceProfile], config: SwapConfig = SwapConfig(), video: bool = False,
                 models: Models | None = None):
        self.profiles = list(profiles)
        self.config = config
        self.generator = MeshRenderer(config.shape_transfer, config.render_max_side)
        self.video = video
        # Each source's own brow contrast, measured once in its flat-lit texture.
        self._brows = {id(p): source_brow_contrast(p.appearance.texture, p.appearance.seen, p.appearance.skin) for p in self.profiles}
        self._tracks: dict[int, _TrackState] = {}
        self._frame = 0
        self._models = models
        self._hand_finder: HandFinder | None = None  # this swapper's own, closed with it
        self._matte: PersonMatte | None = None  # the person's silhouette (occlusion on), closed with it

    def swap_frame(self, rgb: np.ndarray, chosen: Sequence[tuple[Face, int]]) -> tuple[np.ndarray, list[FaceResult]]:
        """`chosen` pairs each target face to swap with the index of its source profile."""
        self._frame += 1
        out = rgb.copy()
        results = []
        hands = self._hands(rgb) if chosen else ()
        person = self._person(rgb) if chosen else None
        # Far faces first, so a nearer face is blended over a farther one where they overlap.
        for face, source in sorted(chosen, key=lambda item: item[0].pose.scale):
            result = self._swap_face(out, rgb, face, self.profiles[source], source, hands, person)
            if result is not None:
                results.append(result)
        self._forget_old_tracks()
        return out, results

    def _swap_face(self, out: np.ndarray, original: np.ndarray, face: Face, profile: SourceProfile,
                   source: int, hands: tuple[Hand, ...] = (), person: np.ndarray | None = None) -> FaceResult | None:
        cfg = self.config
        rendered = self.generator.generate(profile, face, out.shape[:2])
        if rendered is None or not rendered.valid.any():
            return None
        state = self._tracks.setdefault(face.track, _TrackState())
        state.last_frame = self._frame
        face_px = FACE_WIDTH_IOD * face.pose.scale
        x0, y0, x1, y1 = grow_window(rendered.window, face_px * MARGIN, out.shape[:2])
        target = original[y0:y1, x0:x1]
        placed = place_generated(rendered, (x0, y0, x1, y1), target)
        covered = placed.covered
        coloured = self._colour(placed, target, original, face, state, profile)
        if cfg.shading:
            coloured = temper_lips(coloured, target, rendered.points - (x0, y0), covered, face.pose.scale)
        grey = cv2.cvtColor(target, cv2.COLOR_RGB2GRAY)  # for steadiness and glasses alike
        if self.video:
            coloured, state.previous = steady(coloured, grey, covered, (x0, y0), state.previous, cfg.steady)
        alpha = face_alpha(rendered, (x0, y0), covered, placed.weight, face_px)
        others = self._occlusion(original, face, placed.uv, covered, state, profile)
        others = np.maximum(others, self._glasses(grey, face, (x0, y0), state))
        in_front = self._hand_mask(hands, target, grey, face, (x0, y0), state)
        occlusion = np.maximum(others, in_front)  # fingers stay in front of the new face, lips and mouth included
        alpha = alpha * (1.0 - occlusion)
        # The background past a turned cheek is never painted with skin.
        keep = person_keep(person[y0:y1, x0:x1], covered, face_px) if person is not None else None
        behind = out[y0:y1, x0:x1]
        blended = self._blend(behind, coloured, alpha if keep is None else alpha * keep)
        out[y0:y1, x0:x1] = blended if keep is None else kept_behind(behind, blended, keep)
        if cfg.eyes == "source" and np.isfinite(profile.identity.iris).all():
            recolour_irises(out, original, face, profile.identity.iris)
        return FaceResult(track=face.track, source=source, window=(x0, y0, x1, y1), alpha=alpha, occlusion=occlusion,
                          hands=in_front, occluders=others)

    def _colour(self, placed: Placed, target: np.ndarray, frame: np.ndarray, face: Face, state: _TrackState,
                profile: SourceProfile) -> np.ndarray:
        """The generated face in the target's light, tone, creases, grain and with its own brows."""
        canvas = self._light(placed, target, state)
        image = self._tone(canvas, placed, target, state)
        return self._surface(image, placed, target, frame, face, state, profile)

    def _light(self, placed: Placed, target: np.ndarray, state: _TrackState) -> np.ndarray:
        # The source's skin is flat-lit (generate.delight), so it always takes the target's light.
        if placed.normals is None:
            return placed.canvas
        now = target_lighting(target, placed.normals, placed.covered, placed.skin)
        state.lighting = blend_lighting(state.lighting, now, self.config.temporal if self.video else 0.0)
        if state.lighting is None:
            return placed.canvas
        return apply_lighting(placed.canvas, placed.normals, placed.covered, placed.skin, state.lighting)

    def _tone(self, canvas: np.ndarray, placed: Placed, target: np.ndarray, state: _TrackState) -> np.ndarray:
        cfg = self.config
        # Tone is measured on bare skin only: brows, eyes, lips and hairline differ between people;
        # where the source photo showed hair over the face (weight 0), its stats would count the hair.
        inner = placed.skin * placed.weight
        inner = inner if inner.sum() > 50 else placed.covered.astype(np.float32)
        # Every other pixel measures the same statistics at a quarter of the cost.
        source_now, target_now = colour_stats(canvas[::2, ::2], inner[::2, ::2]), colour_stats(target[::2, ::2], inner[::2, ::2])
        keep = cfg.temporal if self.video else 0.0
        state.source_stats = blend_stats(state.source_stats, source_now, keep)
        state.target_stats = blend_stats(state.target_stats, target_now, keep)
        lit = cfg.shading and state.lighting is not None
        lightness, chroma = (LIT_LIGHTNESS_SCALE, LIT_CHROMA_SCALE) if lit else ((MIN_SCALE, MAX_SCALE),) * 2
        image = transfer_colour(canvas, placed.covered.astype(np.float32), state.source_stats, state.target_stats,
                                cfg.colour_strength, lightness, chroma)
        return relight(image, target, placed.covered, placed.skin) if cfg.shading else image

    def _surface(self, image: np.ndarray, placed: Placed, target: np.ndarray, frame: np.ndarray, face: Face,
                 state: _TrackState, profile: SourceProfile) -> np.ndarray:
        """Creases, fine detail and brows: what lies on the skin at a few pixels' scale."""
        cfg, covered = self.config, placed.covered
        size = profile.appearance.texture.shape[0]
        if cfg.shading:
            image = match_shading_contrast(image, target, covered, placed.skin, face.pose.scale)
        if cfg.creases and state.lighting is not None and placed.uv is not None:
            # In video the creases (in texture space, so they move with the face) are measured every
            # other frame: they come and go over several frames, and measuring costs a third of a swap.
            if not self.video or state.creases is None or self._frame % CREASE_EVERY == 0:
                state.creases = crease_texture(frame, face, state.lighting, state.neutral if self.video else None)
            image = apply_creases(image, covered, placed.uv, size, state.creases)
        if cfg.detail < 1.0:
            face_px = FACE_WIDTH_IOD * face.pose.scale
            image = transfer_detail(image, target, covered, cfg.detail, sigma=max(1.0, face_px / 60))
        image = match_grain(image, target, covered, placed.skin, sigma=max(0.8, face.pose.scale / 16))
        if state.lighting is not None and placed.normals is not None:
            image = carry_highlights(image, target, placed.normals, covered, placed.skin, state.lighting)
        if placed.uv is None:
            return image
        return keep_brow_contrast(image, covered, placed.weight, placed.uv, size, self._brows[id(profile)])

    def _occlusion(self, original: np.ndarray, face: Face, uv: np.ndarray | None, covered: np.ndarray,
                   state: _TrackState, profile: SourceProfile) -> np.ndarray:
        # The appearance model lives in texture space: a face without texture coordinates gets none.
        if not (self.config.occlusion and self.video) or uv is None:
            return np.zeros(covered.shape, np.float32)
        texture_occ = occlusion_texture(state.appearance, original, face)
        if not texture_occ.any():
            return np.zeros(covered.shape, np.float32)
        size = profile.appearance.texture.shape[0]
        occ = occlusion_in_image(texture_occ, uv, size) * covered
        occ = cv2.GaussianBlur(occ.astype(np.float32), (0, 0), 2.0)
        return np.clip(occ * 1.5, 0.0, 1.0)

    def _hand_mask(self, hands: tuple[Hand, ...], target: np.ndarray, grey: np.ndarray, face: Face,
                   origin: tuple[int, int], state: _TrackState) -> np.ndarray:
        """The hands in front of this face over its window; in video steadied over the track's frames
        (refine/occluders.py), as each frame's landmarks alone jitter and now and then miss a hand."""
        hands = hands_in_front_of(hands, face.landmarks, face.pose.scale)
        now = hand_mask(hands, target, origin) if hands else np.zeros(grey.shape, np.float32)
        if not self.video:
            return now
        mask, state.hands = steady_hands(now, grey, face.landmarks, origin, state.hands, found=bool(hands))
        return mask

    def _hands(self, rgb: np.ndarray) -> tuple[Hand, ...]:
        """The hands in the frame (occlusion on only): one landmarker per swapper, tracking in video."""
        if not self.config.occlusion:
            return ()
        if self._hand_finder is None:
            self._hand_finder = HandFinder(still=not self.video, models=self._models)
        return self._hand_finder.find(rgb)

    def _person(self, rgb: np.ndarray) -> np.ndarray | None:
        """The person's matte over the frame (occlusion on only): steadied over time in video."""
        if not self.config.occlusion:
            return None
        if self._matte is None:
            self._matte = PersonMatte(self._models, video=self.video)
        return self._matte(rgb)

    def close(self) -> None:
        if self._hand_finder is not None:
            self._hand_finder.close()
            self._hand_finder = None
        if self._matte is not None:
            self._matte.close()
            self._matte = None

    def __enter__(self) -> "FaceSwapper":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _glasses(self, grey: np.ndarray, face: Face, origin: tuple[int, int], state: _TrackState) -> np.ndarray:
        """The target's glasses frames stay in front of the new face (stills and video)."""
        if not self.config.occlusion:
            return np.zeros(grey.shape, np.float32)
        found = find_glasses(grey, face.landmarks[:, :2] - origin, PRESENT_AGAIN if state.glasses else PRESENT)
        state.glasses = found.mask is not None
        return found.mask if found.mask is not None else np.zeros(grey.shape, np.float32)

    def _blend(self, background: np.ndarray, foreground: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        if self.config.blend == "poisson":
            return poisson_blend(background, foreground, alpha)
        if self.config.blend == "alpha":
            return alpha_blend(background, foreground, alpha)
        return multiband_blend(background, foreground, alpha)

    def _forget_old_tracks(self) -> None:
        old = [t for t, s in self._tracks.items() if self._frame - s.last_frame > FORGET_AFTER]
        for track in old:
            del self._tracks[track]
