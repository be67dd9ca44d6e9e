"""What the sound itself says about the mouth, every 10 ms: how loud it is (the mouth opens wider
for louder speech) and where its spectrum lies (spread lips raise the formants, rounded lips lower
them). Used to scale the aligned mouth shapes, and alone when no speech is recognised."""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.ndimage import gaussian_filter1d

from facegraft.io.audio import Audio

STEP = 0.01  # seconds between measurements, as the recogniser's frames
WINDOW = 0.025  # seconds of sound per measurement
SILENCE_DBFS = -50.0  # quieter than this is no voice at all, whatever the recording's level
FULL_DBFS = -30.0  # a voice is only taken as loud from here up, so a near-silent track never opens wide
GATE_DB = 30.0  # frames this far under the speech's loud level are pauses


@dataclasses.dataclass(frozen=True)
class Loudness:
    level: np.ndarray  # (n,) loudness relative to the speech's loud level: 0 silent, ~1 loud
    voiced: np.ndarray  # (n,) bool: voice present (not a pause)
    brightness: np.ndarray  # (n,) log ratio of the spectral centroid to its median over voice: > 0 spread, < 0 rounded

    @property
    def times(self) -> np.ndarray:
        return np.arange(len(self.level)) * STEP


def measure(audio: Audio) -> Loudness:
    frames = _frames(audio)
    rms = np.sqrt(np.mean(frames ** 2, axis=1)) + 1e-9
    db = 20 * np.log10(rms / 32768.0)
    loud = float(np.percentile(db, 95))
    voiced = (db > max(SILENCE_DBFS, loud - GATE_DB))
    reference = max(float(np.percentile(rms[voiced], 90)) if voiced.any() else 0.0, 32768.0 * 10 ** (FULL_DBFS / 20))
    # Square root: the jaw's opening grows with loudness but far less than the sound's amplitude does.
    level = np.sqrt(np.clip(rms / reference, 0.0, 1.5)) * voiced
    level = gaussian_filter1d(level, 2.0)  # 20 ms: a syllable's swell, not each pitch period
    return Loudness(level, voiced, _brightness(frames, audio.rate, voiced))


def _frames(audio: Audio) -> np.ndarray:
    step, size = int(STEP * audio.rate), int(WINDOW * audio.rate)
    x = audio.samples.astype(np.float64)
    x = x - x.mean()
    count = max(1, int(np.ceil(len(x) / step)))
    padded = np.pad(x, (size // 2, count * step + size))
    index = np.arange(count)[:, None] * step + np.arange(size)[None, :]
    return padded[index]


def _brightness(frames: np.ndarray, rate: int, voiced: np.ndarray) -> np.ndarray:
    """Where the energy of 300-3500 Hz (the first two formants' range) lies, against the speaker's usual."""
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(frames.shape[1]), axis=1)) ** 2
    freqs = np.fft.rfftfreq(frames.shape[1], 1.0 / rate)
    band = (freqs >= 300) & (freqs <= 3500)
    power = spectrum[:, band]
    centroid = (power @ freqs[band]) / (power.sum(axis=1) + 1e-9)
    usual = float(np.median(centroid[voiced])) if voiced.any() else 1000.0
    out = np.log(np.maximum(centroid, 1.0) / usual) * voiced
    return gaussian_filter1d(out, 3.0)
