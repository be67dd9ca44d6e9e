"""Measurements anyone can rerun: analysis speed, and what smoothing does to jitter, lag and blinks.

`facegraft bench` prints these; the README quotes its output.
"""

from __future__ import annotations

import dataclasses
import platform
import time
from typing import Callable, Iterable

import cv2
import numpy as np

from facegraft import samples
from facegraft.analysis import FaceTracker
from facegraft.analysis.types import Face
from facegraft.config import AnalysisConfig, SmoothingConfig
from facegraft.io import VideoReader, read_image

FPS = 30.0


def machine() -> str:
    import os
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _frames(name: str, size: tuple[int, int] | None = None, limit: int | None = None) -> list[np.ndarray]:
    out = []
    with VideoReader(samples.path(name)) as reader:
        for frame in reader:
            rgb = frame.rgb if size is None else cv2.resize(frame.rgb, size, interpolation=cv2.INTER_LINEAR)
            out.append(rgb)
            if limit and len(out) >= limit:
                break
    return out


@dataclasses.dataclass(frozen=True)
class Speed:
    mean_ms: float
    median_ms: float
    p95_ms: float


def analysis_speed(size: tuple[int, int], max_faces: int, repeats: int = 2) -> Speed:
    """Milliseconds per frame for detection, tracking and model fit on single_face.mp4 resized to `size`.

    The mean includes the periodic searches for new faces; the median is a frame without one.
    """
    frames = _frames("single_face.mp4", size)
    times = []
    for _ in range(repeats):
        with FaceTracker(AnalysisConfig(max_faces=max_faces)) as tracker:
            for index, rgb in enumerate(frames):
                start = time.perf_counter()
                tracker.update(rgb, index / FPS)
                times.append(time.perf_counter() - start)
    ms = 1000.0 * np.array(times[10:])  # the first frames load the models
    return Speed(float(ms.mean()), float(np.median(ms)), float(np.percentile(ms, 95)))


def track(frames: Iterable[np.ndarray], smoothing: SmoothingConfig) -> list[Face | None]:
    """The largest face of each frame, or None."""
    out: list[Face | None] = []
    with FaceTracker(AnalysisConfig(max_faces=1, smoothing=smoothing)) as tracker:
        for index, rgb in enumerate(frames):
            faces = tracker.update(rgb, index / FPS)
            out.append(faces[0] if faces else None)
    return out


def landmark_jitter(faces: list[Face]) -> float:
    """RMS frame-to-frame landmark movement, in % of the inter-ocular distance."""
    steps = []
    for a, b in zip(faces, faces[1:]):
        iod = np.linalg.norm(b.landmarks[468, :2] - b.landmarks[473, :2])
        steps.append(np.sqrt(np.mean(np.sum((b.landmarks[:, :2] - a.landmarks[:, :2]) ** 2, axis=1))) / iod)
    return 100.0 * float(np.sqrt(np.mean(np.square(steps))))


def pose_jitter(faces: list[Face]) -> float:
    """RMS frame-to-frame change of pitch, yaw and roll together, in degrees."""
    angles = np.array([[f.pose.pitch, f.pose.yaw, f.pose.roll] for f in faces])
    return float(np.sqrt(np.mean(np.sum(np.diff(angles, axis=0) ** 2, axis=1))))


def lag_frames(raw: np.ndarray, smooth: np.ndarray, max_lag: float = 6.0) -> float:
    """Delay (frames, sub-frame) that best lines the smoothed signal up with the raw one."""
    t = np.arange(len(raw), dtype=np.float64)
    best, best_err = 0.0, np.inf
    for lag in np.arange(0.0, max_lag, 0.05):
        shifted = np.interp(t - lag, t, raw)
        err = float(np.mean((shifted[int(max_lag):] - smooth[int(max_lag):]) ** 2))
        if err < best_err:
            best, best_err = float(lag), err
    return best


def still_photo_frames(count: int = 60, noise: float = 2.0) -> list[np.ndarray]:
    """A perfectly still face with camera-like sensor noise: any motion measured is jitter."""
    rng = np.random.default_rng(7)
    base = read_image(samples.path("single_face.jpg")).astype(np.float32)
    return [np.clip(base + rng.normal(0, noise, base.shape), 0, 255).astype(np.uint8) for _ in range(count)]


def fast_turn_frames(degrees_per_second: float = 300.0) -> tuple[list[np.ndarray], np.ndarray]:
    """A real photo held still, turned fast by 40 degrees in-plane, held, and turned back."""
    base = read_image(samples.path("single_face.jpg"))
    step = degrees_per_second / FPS
    ramp = np.arange(0.0, 40.0, step)
    angles = np.concatenate([np.zeros(15), ramp, np.full(15, 40.0), ramp[::-1], np.zeros(15)])
    h, w = base.shape[:2]
    frames = [cv2.warpAffine(base, cv2.getRotationMatrix2D((w / 2, h / 2), a, 1.0), (w, h),
                             borderMode=cv2.BORDER_REFLECT) for a in angles]
    return frames, angles


def blink_depth(raw: np.ndarray, smooth: np.ndarray) -> float:
    """Share of the deepest raw eye closure that survives smoothing (1 = fully kept)."""
    low = int(np.argmin(raw))
    baseline = float(np.median(raw))
    window = smooth[max(0, low - 2): low + 3]
    return float((baseline - window.min()) / (baseline - raw[low]))


@dataclasses.dataclass(frozen=True)
class SmoothingReport:
    still_jitter_raw: float
    still_jitter_smoothed: float
    still_pose_jitter_raw: float
    still_pose_jitter_smoothed: float
    video_still_jitter_raw: float
    video_still_jitter_smoothed: float
    turn_lag_frames: float
    turn_peak_error_deg: float
    carphone_roll_lag_frames: float
    carphone_yaw_lag_frames: float
    blink_kept: float


def _series(faces: list[Face | None], get: Callable[[Face], float]) -> np.ndarray:
    return np.array([get(f) for f in faces if f is not None])


def smoothing_report(smoothing: SmoothingConfig = SmoothingConfig()) -> SmoothingReport:
    off = dataclasses.replace(smoothing, enabled=False)
    still = still_photo_frames()
    raw_still, smooth_still = track(still, off)[5:], track(still, smoothing)[5:]
    # single_face.mp4 holds still from frame 7 to 15 (measured frame-to-frame motion < 0.3 px).
    clip = _frames("single_face.mp4", limit=16)
    raw_clip, smooth_clip = track(clip, off)[7:], track(clip, smoothing)[7:]
    turn, _ = fast_turn_frames()
    raw_turn, smooth_turn = track(turn, off), track(turn, smoothing)
    roll_raw, roll_smooth = _series(raw_turn, lambda f: f.pose.roll), _series(smooth_turn, lambda f: f.pose.roll)
    car = _frames("carphone_pristine.mp4")
    raw_car, smooth_car = track(car, off), track(car, smoothing)
    blink = []
    for raw, smooth in ((raw_car[30:60], smooth_car[30:60]), (track(clip_all := _frames("single_face.mp4"), off)[15:40],
                                                             track(clip_all, smoothing)[15:40])):
        eye = lambda f: (f.expression.named["eye_open_left"] + f.expression.named["eye_open_right"]) / 2
        blink.append(blink_depth(_series(raw, eye), _series(smooth, eye)))
    return SmoothingReport(
        still_jitter_raw=landmark_jitter(raw_still), still_jitter_smoothed=landmark_jitter(smooth_still),
        still_pose_jitter_raw=pose_jitter(raw_still), still_pose_jitter_smoothed=pose_jitter(smooth_still),
        video_still_jitter_raw=landmark_jitter(raw_clip), video_still_jitter_smoothed=landmark_jitter(smooth_clip),
        turn_lag_frames=lag_frames(roll_raw, roll_smooth),
        turn_peak_error_deg=float(np.max(np.abs(roll_raw - roll_smooth))),
        carphone_roll_lag_frames=lag_frames(_series(raw_car, lambda f: f.pose.roll), _series(smooth_car, lambda f: f.pose.roll)),
        carphone_yaw_lag_frames=lag_frames(_series(raw_car, lambda f: f.pose.yaw), _series(smooth_car, lambda f: f.pose.yaw)),
        blink_kept=float(min(blink)))


def swap_speed(size: tuple[int, int], preset_name: str) -> Speed:
    """Milliseconds per frame for analysis + swap (astronaut.png onto single_face.mp4 resized to `size`),
    without decoding and encoding, on one thread."""
    from facegraft.config import preset
    from facegraft.generate.profile import build_profile
    from facegraft.select import FaceSelector
    from facegraft.swapper import FaceSwapper
    profile = build_profile([(read_image(samples.path("astronaut.png")), "astronaut.png")])
    frames = _frames("single_face.mp4", size)
    swapper, selector = FaceSwapper([profile], preset(preset_name), video=True), FaceSelector()
    times = []
    with FaceTracker(AnalysisConfig(max_faces=1)) as tracker:
        for index, rgb in enumerate(frames):
            start = time.perf_counter()
            swapper.swap_frame(rgb, selector.choose(rgb, tracker.update(rgb, index / FPS)))
            times.append(time.perf_counter() - start)
    ms = 1000.0 * np.array(times[5:])
    return Speed(float(ms.mean()), float(np.median(ms)), float(np.percentile(ms, 95)))


def pipeline_fps(preset_name: str, workers: int) -> float:
    """Frames per second of a whole `facegraft swap` run on single_face.mp4 (decode, swap, encode, audio)."""
    import tempfile
    from facegraft.api import Settings, swap
    from facegraft.config import ProvenanceConfig, VideoConfig, preset
    with tempfile.TemporaryDirectory() as tmp:
        # The sample faces are public test media published for research use.
        settings = Settings(swap=preset(preset_name), video=VideoConfig(workers=workers),
                            provenance=ProvenanceConfig(consent=True))
        summary = swap([samples.path("astronaut.png")], samples.path("single_face.mp4"), f"{tmp}/out.mp4", settings)
    return summary.fps


@dataclasses.dataclass(frozen=True)
class ReenactReport:
    identity_median: float  # dlib distance of output faces to the portrait
    eye_correlation: float  # mean eye openness, output vs driver, over time
    jaw_correlation: float
    roll_correlation: float
    frames: int
    fps: float


def reenact_report(portrait: str, driver: str) -> ReenactReport:
    """Reenact a sample portrait with a sample driver and measure how well the output follows it."""
    import tempfile
    from facegraft.analysis import analyze, analyze_image
    from facegraft.analysis.embedding import descriptor_distance, face_descriptor
    from facegraft.config import ProvenanceConfig
    from facegraft.models import Models
    from facegraft.reenact import ReenactSettings, reenact
    portrait_rgb = read_image(samples.path(portrait))
    models = Models()
    reference = face_descriptor(portrait_rgb, analyze_image(portrait_rgb, models=models)[0], models=models)
    with tempfile.TemporaryDirectory() as tmp:
        settings = ReenactSettings(provenance=ProvenanceConfig(consent=True))
        summary = reenact(samples.path(portrait), samples.path(driver), f"{tmp}/out.mp4", settings)
        raw = AnalysisConfig(max_faces=1)  # both sides measured the same way, with the default smoothing
        out = [(a.frame.rgb, a.faces[0] if a.faces else None) for a in analyze(f"{tmp}/out.mp4", raw)]
    drv = [a.faces[0] if a.faces else None for a in analyze(samples.path(driver), raw)]
    pairs = [(o, d) for (_, o), d in zip(out, drv) if o is not None and d is not None]
    def corr(get) -> float:
        a, b = np.array([get(o) for o, _ in pairs]), np.array([get(d) for _, d in pairs])
        return float(np.corrcoef(a, b)[0, 1])
    eye = lambda f: (f.expression.named["eye_open_left"] + f.expression.named["eye_open_right"]) / 2
    step = max(1, len(out) // 20)
    distances = [descriptor_distance(reference, face_descriptor(rgb, face, models=models)) for rgb, face in out[::step] if face]
    return ReenactReport(float(np.median(distances)), corr(eye), corr(lambda f: f.expression.named["jaw_open"]),
                         corr(lambda f: f.pose.roll), summary.frames, summary.frames / summary.seconds)


@dataclasses.dataclass(frozen=True)
class LiveReport:
    clip: str
    size: tuple[int, int]
    source_fps: float
    seconds: float  # span measured, after the warm-up
    frames: int  # output frames in that span
    fps: float
    latency_median_ms: float
    latency_p95_ms: float
    latency_max_ms: float
    dropped_share: float  # of the source frames in that span


def live_clip(name: str, output, size: tuple[int, int] = (640, 480), seconds: float = 20.0) -> float:
    """Write `name` fitted to `size`, played forward and backward until it lasts `seconds`: one long
    take without the jump a loop makes (which would restart face tracking). Returns its frame rate."""
    from facegraft.io import VideoWriter
    from facegraft.live import fit_to_box
    with VideoReader(samples.path(name)) as reader:
        fps = reader.info.fps
        frames = [fit_to_box(frame.rgb, *size) for frame in reader]
    there_and_back = frames + frames[-2:0:-1]
    count = int(np.ceil(seconds * float(fps)))
    with VideoWriter(output, *size, fps, crf=18, preset="ultrafast") as writer:
        for index in range(count):
            writer.write(there_and_back[index % len(there_and_back)])
    return float(fps)


def live_report(name: str = "single_face.mp4", size: tuple[int, int] = (640, 480), seconds: float = 20.0,
                warmup: float = 2.0) -> LiveReport:
    """astronaut.png swapped live into `name` played as a camera would deliver it: at its own frame
    rate, fitted to `size`, frames dropped when processing falls behind (fast preset, one face).

    The first `warmup` seconds (models starting, the first face search) are left out."""
    import tempfile
    from facegraft.api import Settings, load_sources
    from facegraft.config import ProvenanceConfig, preset
    from facegraft.live import LiveConfig, LiveSwap
    profile = load_sources([samples.path("astronaut.png")])
    # The sample faces are public test media published for research use.
    settings = Settings(swap=preset("fast"), analysis=AnalysisConfig(max_faces=1),
                        provenance=ProvenanceConfig(consent=True))
    with tempfile.TemporaryDirectory() as tmp:
        clip = f"{tmp}/live.mp4"
        fps = live_clip(name, clip, size, seconds + warmup + 1.0)
        rows = []
        with LiveSwap(profile, settings, LiveConfig(clip, *size, realtime=True)) as live:
            started = time.perf_counter()
            for frame in live:
                now = time.perf_counter() - started
                if now >= warmup:
                    rows.append((now, frame.latency_ms, frame.index, frame.dropped))
                if now >= warmup + seconds:
                    break
    times, latency, index, dropped = (np.array(column) for column in zip(*rows))
    span = float(times[-1] - times[0])
    return LiveReport(clip=name, size=size, source_fps=fps, seconds=span, frames=len(rows),
                      fps=(len(rows) - 1) / span, latency_median_ms=float(np.median(latency)),
                      latency_p95_ms=float(np.percentile(latency, 95)), latency_max_ms=float(latency.max()),
                      dropped_share=float((dropped[-1] - dropped[0]) / max(1, index[-1] - index[0])))


@dataclasses.dataclass(frozen=True)
class PreviewReport:
    profile_seconds: float  # building the source profile, once per set of source photos
    settings_change_ms: float  # median: a slider moved, same frame (frame, faces and profile cached)
    new_frame_ms: float  # median: the target scrubbed to another time (seek, decode, analyse, swap)


def preview_report(repeats: int = 8) -> PreviewReport:
    """What the web UI's swap preview costs, through the same cached code the UI serves it with
    (astronaut.png onto single_face.mp4, balanced, without the HTTP round trip and JPEG)."""
    from facegraft.api import Settings
    from facegraft.config import ProvenanceConfig, preset
    from facegraft.ui.frames import Previews
    previews = Previews()
    sources, target = [samples.path("astronaut.png")], samples.path("single_face.mp4")
    started = time.perf_counter()
    previews.profile(sources)
    profile_seconds = time.perf_counter() - started
    consented = ProvenanceConfig(consent=True)  # public test media published for research use
    settings = [Settings(swap=preset("balanced", detail=d), provenance=consented)
                for d in np.linspace(0.2, 1.0, repeats)]
    previews.swap(sources, target, "video", 0.0, settings[0], ())
    changes, frames = [], []
    for index, s in enumerate(settings):
        started = time.perf_counter()
        previews.swap(sources, target, "video", 0.0, s, ())
        changes.append(time.perf_counter() - started)
        started = time.perf_counter()
        previews.swap(sources, target, "video", 0.1 + 0.25 * index, s, ())
        frames.append(time.perf_counter() - started)
    return PreviewReport(profile_seconds, 1000 * float(np.median(changes)), 1000 * float(np.median(frames)))
