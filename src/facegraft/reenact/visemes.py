"""Phones to mouth shapes over time, with coarticulation, or the mouth from the sound alone.

A shape is four numbers: `jaw` (the inner-lip gap in IOD, absolute: 0 closed), `width` (the
mouth's width change, relative), `pucker` (lip protrusion in IOD) and `press` (0..1, lips pressed
together). The rules, after Rhubarb Lip Sync's: p/b/m close the lips whatever the smoothing does;
a rounded sound rounds the lips up to 200 ms before it; no shape is shorter than 70 ms (shorter
phones share their neighbours' time, so they are undershot, as in real speech); short pauses hold
the mouth, longer ones relax it to rest; vowels open wider when louder.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.ndimage import gaussian_filter1d

from facegraft.reenact.loudness import STEP, Loudness
from facegraft.reenact.speech import SILENCE, UNALIGNED, Phone

# (jaw, width, pucker) per phone, for a typical loud syllable.
VOWELS = {
    "AA": (0.30, 0.00, 0.00), "AE": (0.26, 0.05, 0.00), "AH": (0.22, 0.00, 0.00), "AO": (0.25, -0.06, 0.04),
    "AW": (0.25, -0.04, 0.03), "AY": (0.26, 0.03, 0.00), "EH": (0.20, 0.05, 0.00), "ER": (0.12, -0.06, 0.04),
    "EY": (0.16, 0.07, 0.00), "IH": (0.12, 0.06, 0.00), "IY": (0.08, 0.09, 0.00), "OW": (0.18, -0.10, 0.07),
    "OY": (0.20, -0.07, 0.05), "UH": (0.12, -0.08, 0.05), "UW": (0.08, -0.14, 0.09),
}
CONSONANTS = {
    "F": (0.03, 0.00, 0.00), "V": (0.03, 0.00, 0.00), "W": (0.05, -0.15, 0.09), "R": (0.08, -0.06, 0.05),
    "SH": (0.06, -0.06, 0.05), "ZH": (0.06, -0.06, 0.05), "CH": (0.06, -0.06, 0.05), "JH": (0.06, -0.06, 0.05),
    "S": (0.05, 0.03, 0.00), "Z": (0.05, 0.03, 0.00), "T": (0.07, 0.0, 0.0), "D": (0.07, 0.0, 0.0),
    "N": (0.07, 0.0, 0.0), "TH": (0.07, 0.0, 0.0), "DH": (0.07, 0.0, 0.0), "L": (0.12, 0.0, 0.0),
    "K": (0.10, 0.0, 0.0), "G": (0.10, 0.0, 0.0), "NG": (0.09, 0.0, 0.0), "HH": (0.12, 0.0, 0.0),
    "Y": (0.08, 0.05, 0.0),
}
BILABIALS = ("P", "B", "M")
LABIODENTALS = ("F", "V")
# Consonants made behind the lips take much of the mouth shape of the vowel that follows them.
FOLLOW_VOWEL = 0.45
ANTICIPATE = 0.20  # seconds: how early lips round for a coming rounded sound
MIN_SHAPE = 0.07  # seconds: no shape is held for less
HOLD_PAUSE, RELAX_PAUSE = 0.12, 0.35  # seconds: shorter pauses hold the mouth, longer ones relax it
SMOOTH = 0.02  # seconds: the sigma of the muscles' smoothing
CLOSING_RAMP = 0.04  # seconds over which the lips close into and open out of p/b/m


@dataclasses.dataclass(frozen=True)
class MouthTrack:
    """Mouth shapes every STEP seconds."""

    jaw: np.ndarray
    width: np.ndarray
    pucker: np.ndarray
    press: np.ndarray

    def at(self, t: float) -> tuple[float, float, float, float]:
        i = int(np.clip(round(t / STEP), 0, len(self.jaw) - 1))
        return float(self.jaw[i]), float(self.width[i]), float(self.pucker[i]), float(self.press[i])


def from_phones(phones: tuple[Phone, ...], loudness: Loudness) -> MouthTrack:
    n = len(loudness.level)
    targets = _targets(phones, n)
    jaw, width, pucker = (gaussian_filter1d(targets[:, k], SMOOTH / STEP) for k in range(3))
    # Louder syllables open wider; the aligned shape keeps the kind of opening.
    jaw = jaw * (0.35 + 0.85 * np.clip(loudness.level, 0.0, 1.2))
    press = np.zeros(n)
    _close_lips(phones, jaw, press)
    return _sound_where_unaligned(MouthTrack(jaw, width, pucker, press), phones, loudness)


def _sound_where_unaligned(track: MouthTrack, phones: tuple[Phone, ...], loudness: Loudness) -> MouthTrack:
    """Stretches of speech the aligner could not place take the sound-driven mouth, eased in and out."""
    n = len(track.jaw)
    mask = np.zeros(n)
    for p in phones:
        if p.name == UNALIGNED:
            mask[_index(p.start, n):_index(p.end, n)] = 1.0
    if not mask.any():
        return track
    mask = gaussian_filter1d(mask, SMOOTH / STEP)
    sound = from_sound(loudness)
    mix = lambda a, b: a * (1 - mask) + b * mask  # noqa: E731
    return MouthTrack(mix(track.jaw, sound.jaw), mix(track.width, sound.width), mix(track.pucker, sound.pucker),
                      track.press * (1 - mask))


def from_sound(loudness: Loudness) -> MouthTrack:
    """The mouth from loudness and spectrum alone: for sound no recogniser could follow."""
    level = np.clip(loudness.level, 0.0, 1.2)
    jaw = 0.24 * level
    bright = np.clip(loudness.brightness / 0.3, -1.0, 1.0)
    width = np.where(bright > 0, 0.07 * bright, 0.10 * bright) * (level > 0.1)
    pucker = np.clip(-bright, 0.0, 1.0) * 0.06 * (level > 0.1)
    return MouthTrack(gaussian_filter1d(jaw, 3.0), gaussian_filter1d(width, 4.0), gaussian_filter1d(pucker, 4.0),
                      np.zeros_like(jaw))


def _shape(name: str) -> tuple[float, float, float]:
    if name in BILABIALS or name in (SILENCE, UNALIGNED):
        return (0.0, 0.0, 0.0)
    return VOWELS.get(name) or CONSONANTS.get(name) or (0.07, 0.0, 0.0)


def _targets(phones: tuple[Phone, ...], n: int) -> np.ndarray:
    """Each phone's shape over at least MIN_SHAPE seconds; overlapping shapes are averaged."""
    shapes = _coarticulated(phones)
    total, weight = np.zeros((n, 3)), np.zeros(n)
    for phone, shape in zip(phones, shapes):
        middle, half = (phone.start + phone.end) / 2, max(phone.end - phone.start, MIN_SHAPE) / 2
        a, b = _index(middle - half, n), max(_index(middle + half, n), _index(middle - half, n) + 1)
        total[a:b] += shape
        weight[a:b] += 1.0
    rest = weight == 0
    weight[rest] = 1.0
    return total / weight[:, None]


def _coarticulated(phones: tuple[Phone, ...]) -> list[np.ndarray]:
    """Each phone's own shape in its context."""
    shapes = [np.array(_shape(p.name), float) for p in phones]
    for i, p in enumerate(phones):
        if p.name in VOWELS or p.name in BILABIALS or p.name in LABIODENTALS or p.name in (SILENCE, UNALIGNED):
            continue
        following = next((shapes[j] for j in range(i + 1, min(i + 3, len(phones))) if phones[j].name in VOWELS), None)
        if following is not None:  # least effort: the tongue works while the jaw heads for the vowel
            shapes[i][:2] = (1 - FOLLOW_VOWEL) * shapes[i][:2] + FOLLOW_VOWEL * following[:2]
    _anticipate_rounding(phones, shapes)
    return [_pause(phones, shapes, i) if p.name == SILENCE else shapes[i] for i, p in enumerate(phones)]


def _anticipate_rounding(phones: tuple[Phone, ...], shapes: list[np.ndarray]) -> None:
    for i, p in enumerate(phones):
        if shapes[i][2] <= 0.03:
            continue
        for j in range(i - 1, -1, -1):  # back over the consonants before it, up to ANTICIPATE seconds
            q = phones[j]
            if q.name in VOWELS or q.name in (SILENCE, UNALIGNED) or p.start - q.end > ANTICIPATE:
                break
            shapes[j][2] = max(shapes[j][2], 0.7 * shapes[i][2])
            shapes[j][1] = min(shapes[j][1], 0.7 * shapes[i][1])


def _pause(phones: tuple[Phone, ...], shapes: list[np.ndarray], i: int) -> np.ndarray:
    length = phones[i].end - phones[i].start
    inside = 0 < i < len(phones) - 1
    if inside and length < HOLD_PAUSE:
        return (shapes[i - 1] + shapes[i + 1]) / 2  # a breath between words: the mouth stays about as it was
    if inside and length < RELAX_PAUSE:
        return 0.3 * (shapes[i - 1] + shapes[i + 1]) / 2  # half way to rest
    return np.zeros(3)


def _close_lips(phones: tuple[Phone, ...], jaw: np.ndarray, press: np.ndarray) -> None:
    """p/b/m: the lips meet for the whole closure (at least MIN_SHAPE), after all smoothing, with
    the opening eased in and out so the lips do not snap."""
    n = len(jaw)
    t = np.arange(n) * STEP
    for p in phones:
        if p.name not in BILABIALS:
            continue
        middle, half = (p.start + p.end) / 2, max(p.end - p.start, MIN_SHAPE) / 2
        distance = np.maximum(np.abs(t - middle) - half, 0.0)  # 0 inside the closure
        near = np.clip(distance / CLOSING_RAMP, 0.0, 1.0)
        ease = near * near * (3 - 2 * near)
        np.minimum(jaw, jaw * ease, out=jaw)
        np.maximum(press, 1.0 - ease, out=press)


def _index(t: float, n: int) -> int:
    return int(np.clip(round(t / STEP), 0, n))
