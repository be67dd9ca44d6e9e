"""A talking portrait's motion from its speech: one DriverState per output frame.

The mouth comes from the aligned phones (or from the sound alone when nothing is recognised); the
rest is what a still face does while it talks: a blink every 2-6 s and a head that never quite
holds still (a slow random walk of a degree or two, nodding a little with the louder syllables).
The states are relative to a neutral one that has no motion at all, so the run's motion transfer
adds them to the portrait's own pose and shape, at the portrait's own scale.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d

from facegraft.analysis.geometry import matrix_from_euler
from facegraft.io.audio import read_audio
from facegraft.reenact import loudness as sound
from facegraft.reenact import visemes
from facegraft.reenact.driver import DriverState
from facegraft.reenact.mouth import MouthRig
from facegraft.reenact.speech import recognise

BLINK_EVERY = (2.0, 6.0)  # seconds between blinks, drawn uniformly
BLINK_CLOSE, BLINK_OPEN = 0.06, 0.09  # seconds: lids fall fast and rise slower (~190 ms in all)
BLINK_SHUT = 0.04  # seconds fully shut between: at 25 fps a frame always lands on the closed lids
HEAD_SPREAD = np.array([1.0, 1.3, 0.5])  # degrees: pitch, yaw, roll of the slow wander
HEAD_SECONDS = 1.5  # how slowly the head wanders (the walk's time constant)
NOD_DEGREES = 0.8  # extra pitch down on a loud syllable
SEED = 17  # the same audio always gives the same video


@dataclasses.dataclass(frozen=True)
class Talk:
    states: list[DriverState]
    neutral: DriverState
    mouth_from: str  # "speech" (aligned phones) or "sound" (loudness and spectrum)
    note: str | None  # why the sound alone drove the mouth
    words: tuple[str, ...]
    track: visemes.MouthTrack


def neutral_state() -> DriverState:
    return DriverState(0, 0.0, np.eye(3), np.zeros(2), 1.0, np.zeros((478, 3), np.float32), np.zeros(2), None,
                       np.ones(2))


def talk(audio_path: Path, portrait_shape: np.ndarray, fps: float, transcript: str | None = None) -> Talk:
    """The states of a portrait speaking the audio of `audio_path`, `fps` frames a second."""
    audio = read_audio(audio_path)
    loud = sound.measure(audio)
    heard = recognise(audio, transcript)
    if heard.phones and any(p.name != "SIL" for p in heard.phones):
        track, mouth_from, note = visemes.from_phones(heard.phones, loud), "speech", None
    else:
        track, mouth_from = visemes.from_sound(loud), "sound"
        note = f"{heard.problem or 'no speech was recognised'}: the mouth follows the loudness and spectrum instead"
    count = max(1, int(round(audio.duration * fps)))
    states = frame_states(track, loud, MouthRig(portrait_shape), count, fps)
    return Talk(states, neutral_state(), mouth_from, note, heard.words, track)


def frame_states(track: visemes.MouthTrack, loud: sound.Loudness, rig: MouthRig, count: int,
                 fps: float) -> list[DriverState]:
    rng = np.random.default_rng(SEED)
    times = np.arange(count) / fps
    eyes = blinks(times, rng)
    angles = head_angles(times, loud, rng)
    states = []
    for i, t in enumerate(times):
        # The shape shown during a frame is the one at its middle.
        offsets = rig.offsets(*track.at(t + 0.5 / fps))
        states.append(DriverState(i, float(t), matrix_from_euler(*angles[i]), np.zeros(2), 1.0, offsets,
                                  np.zeros(2), None, np.array([eyes[i], eyes[i]])))
    return states


def blinks(times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Eye openness per frame (1 open, 0 shut)."""
    openness = np.ones(len(times))
    end = float(times[-1]) if len(times) else 0.0
    start = rng.uniform(0.8, BLINK_EVERY[0])
    while start < end:
        closing = np.clip((times - start) / BLINK_CLOSE, 0.0, 1.0)
        opening = np.clip((times - start - BLINK_CLOSE - BLINK_SHUT) / BLINK_OPEN, 0.0, 1.0)
        shut = np.where(times < start + BLINK_CLOSE, closing, 1.0 - opening)
        openness = np.minimum(openness, 1.0 - np.sin(np.pi / 2 * shut))
        start += rng.uniform(*BLINK_EVERY)
    return openness


def head_angles(times: np.ndarray, loud: sound.Loudness, rng: np.random.Generator) -> np.ndarray:
    """(frames, 3) pitch, yaw, roll in degrees: an Ornstein-Uhlenbeck walk, plus small nods."""
    angles = np.zeros((len(times), 3))
    state = np.zeros(3)
    for i in range(1, len(times)):
        dt = times[i] - times[i - 1]
        keep = np.exp(-dt / HEAD_SECONDS)
        state = state * keep + HEAD_SPREAD * np.sqrt(1 - keep ** 2) * rng.standard_normal(3)
        angles[i] = state
    level = np.interp(times, loud.times, sound_level_slow(loud))
    angles[:, 0] -= NOD_DEGREES * level
    return angles


def sound_level_slow(loud: sound.Loudness) -> np.ndarray:
    """The loudness over a syllable or two (a nod is slower than the jaw)."""
    return gaussian_filter1d(loud.level, 0.15 / sound.STEP)
