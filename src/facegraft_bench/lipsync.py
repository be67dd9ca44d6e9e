"""Lip sync from audio, measured: a portrait is made to speak each development clip's audio, and the
output's mouth opening (measured from the output video with the project's own analysis) is
correlated with the clip's own measured mouth opening and with the audio's loudness, at the best lag
within +-10 frames. The null test drives the portrait with another clip's audio: it should not
correlate with this clip's mouth."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Callable

import av
import numpy as np

from facegraft.analysis import analyze
from facegraft.config import AnalysisConfig, ProvenanceConfig
from facegraft.io.audio import read_audio
from facegraft.reenact import ReenactSettings
from facegraft.reenact import loudness as sound
from facegraft.reenact.run import speak
from facegraft.reenact.speech import recognise

CLIPS = ("d3", "d6", "d9", "d10", "d11", "d14", "d18", "d19")  # the talking heads with an audio track
PORTRAIT = "d12.jpg"
MAX_LAG = 10
SILENT_DBFS = -60.0  # a track this quiet throughout holds no speech to sync to


@dataclasses.dataclass(frozen=True)
class ClipResult:
    clip: str
    frames: int
    mouth_from: str  # "speech", "sound", or "silent" (the clip's track holds no sound)
    words: int
    to_clip: tuple[float, int]  # correlation with the clip's own mouth, and its lag in frames (> 0: output later)
    to_loudness: tuple[float, int]
    null: tuple[float, int]  # another clip's audio against this clip's mouth
    clip_to_its_loudness: tuple[float, int]  # the clip's own mouth against its own audio: how much the sound says
    closed_at_bilabials: float  # median output jaw_open in frames of p/b/m (IOD)
    open_at_vowels: float  # median output jaw_open in frames of open vowels (IOD)
    seconds: float


def mouth_opening(video: Path) -> np.ndarray:
    """The inner-lip gap (jaw_open, IOD) per frame of `video`, NaN where no face is found."""
    return np.array([a.faces[0].expression.named["jaw_open"] if a.faces else np.nan
                     for a in analyze(video, AnalysisConfig(max_faces=1))])


def loudness_per_frame(audio: Path, fps: float, count: int) -> np.ndarray:
    loud = sound.measure(read_audio(audio))
    times = (np.arange(count) + 0.5) / fps
    return np.interp(times, loud.times, loud.level)


def best_lag(output: np.ndarray, reference: np.ndarray, max_lag: int = MAX_LAG) -> tuple[float, int]:
    """The highest Pearson correlation of `output` shifted by -max_lag..max_lag frames against
    `reference`, and that shift (> 0: the output comes later than the reference)."""
    best = (-2.0, 0)
    for lag in range(-max_lag, max_lag + 1):
        a = output[max(lag, 0): len(output) + min(lag, 0)]
        b = reference[max(-lag, 0): len(reference) - max(lag, 0)]
        n = min(len(a), len(b))
        a, b = a[:n], b[:n]
        ok = np.isfinite(a) & np.isfinite(b)
        if ok.sum() < 20 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
            continue
        r = float(np.corrcoef(a[ok], b[ok])[0, 1])
        best = max(best, (r, lag))
    return best if best[0] > -2 else (float("nan"), 0)


def extract_wav(video: Path, wav: Path) -> None:
    """The clip's first audio track as 16-bit PCM WAV at its own rate (as a user would extract it)."""
    with av.open(str(video)) as src, av.open(str(wav), "w") as dst:
        stream = src.streams.audio[0]
        out = dst.add_stream("pcm_s16le", rate=stream.rate, layout=stream.layout.name)
        for frame in src.decode(stream):
            frame.pts = None
            for packet in out.encode(frame):
                dst.mux(packet)
        for packet in out.encode(None):
            dst.mux(packet)


def run_clip(dev: Path, clip: str, other: str, portrait: Path, work: Path) -> ClipResult:
    video = dev / f"{clip}.mp4"
    wav, other_wav = work / f"{clip}.wav", work / f"{other}.wav"
    extract_wav(video, wav)
    extract_wav(dev / f"{other}.mp4", other_wav)
    with av.open(str(video)) as c:
        fps = c.streams.video[0].average_rate
    settings = ReenactSettings(provenance=ProvenanceConfig(consent=True))
    out, null_out = work / f"{clip}_out.mp4", work / f"{clip}_null.mp4"
    summary = speak(portrait, wav, out, settings, fps=fps)
    speak(portrait, other_wav, null_out, settings, fps=fps)
    own, made, null_made = mouth_opening(video), mouth_opening(out), mouth_opening(null_out)
    loud = loudness_per_frame(wav, float(fps), len(made))
    silent = _peak_dbfs(wav) < SILENT_DBFS
    heard = recognise(read_audio(wav))
    bilabial, vowel = _at_phones(heard.phones, made, float(fps))
    return ClipResult(clip, len(made), "silent" if silent else summary.mouth_from or "", len(heard.words),
                      best_lag(made, own), best_lag(made, loud), best_lag(null_made, own),
                      best_lag(loudness_per_frame(wav, float(fps), len(own)), own), bilabial, vowel, summary.seconds)


def _peak_dbfs(wav: Path) -> float:
    samples = np.abs(read_audio(wav).samples.astype(np.float64))
    return float(20 * np.log10(max(samples.max(initial=0.0), 1.0) / 32768.0))


def _at_phones(phones, jaw: np.ndarray, fps: float) -> tuple[float, float]:
    """Median output jaw opening in frames whose middle lies in a p/b/m, and in an open vowel."""
    def median_in(names) -> float:
        frames = [int(t * fps) for p in phones if p.name in names
                  for t in [(p.start + p.end) / 2] if int(t * fps) < len(jaw)]
        values = jaw[frames] if frames else np.array([np.nan])
        return float(np.nanmedian(values)) if np.isfinite(values).any() else float("nan")
    return median_in(("P", "B", "M")), median_in(("AA", "AE", "AH", "AO", "AW", "AY"))


def report(dev: Path, portrait: str = PORTRAIT, clips: tuple[str, ...] = CLIPS,
           on_clip: Callable[[ClipResult], None] | None = None) -> list[ClipResult]:
    """Every clip's result; the null test of each uses the next clip that has sound (d3, d18 and d19
    carry silent tracks)."""
    results = []
    with tempfile.TemporaryDirectory(prefix="facegraft-lipsync-") as tmp:
        present = [c for c in clips if (dev / f"{c}.mp4").is_file()]
        audible = [c for c in present if _peak_dbfs_of_video(dev / f"{c}.mp4") >= SILENT_DBFS]
        for clip in present:
            others = [c for c in audible if c != clip] or [clip]
            other = next((c for c in others if present.index(c) > present.index(clip)), others[0])
            results.append(run_clip(dev, clip, other, dev / portrait, Path(tmp)))
            if on_clip is not None:
                on_clip(results[-1])
    return results


def _peak_dbfs_of_video(video: Path) -> float:
    return _peak_dbfs(video)


def line(r: ClipResult) -> str:
    return (f"lipsync {r.clip} ({r.frames} frames, mouth from {r.mouth_from}, {r.words} words): "
            f"to the clip's mouth {r.to_clip[0]:.2f} at lag {r.to_clip[1]:+d}, to loudness {r.to_loudness[0]:.2f} "
            f"at {r.to_loudness[1]:+d}; null {r.null[0]:.2f} at {r.null[1]:+d}; the clip's own mouth to its "
            f"loudness {r.clip_to_its_loudness[0]:.2f} at {r.clip_to_its_loudness[1]:+d}; jaw at p/b/m {r.closed_at_bilabials:.3f}, "
            f"at open vowels {r.open_at_vowels:.3f} IOD; {r.frames / max(r.seconds, 1e-6):.1f} frames/s")
