"""Memory over a long video: a swap of a 20-minute clip must peak where a 20-second one does.

Video is streamed a frame at a time, so nothing in a swap should grow with the clip's length: not
the tracker's history, the smoother's state, the watermark's schedule nor the encoder's queue. The
bench proves it end to end: the sample clip is looped (its packets re-muxed with shifted times, no
re-encoding) to a short and a long target, each is swapped in a fresh `facegraft swap` process, and
the peak resident memory of the two runs (the kernel's own account of each child) is compared.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import av

from facegraft import samples

CLIP = "carphone_pristine.mp4"  # 176x144: the long run measures memory, not speed, so the small clip keeps it quick
SOURCE = "single_face.jpg"
FLAT_WITHIN = 0.10  # the long run's peak may exceed the short run's by this share at most


@dataclasses.dataclass(frozen=True)
class MemoryRun:
    seconds_of_video: float
    frames: int
    peak_mb: float  # the process's peak resident set (ru_maxrss)
    rss_mb_at: tuple[float, ...]  # resident set sampled at 10%, 50% and 90% of the run's wall time
    wall_s: float


@dataclasses.dataclass(frozen=True)
class MemoryReport:
    short: MemoryRun
    long: MemoryRun
    preset: str

    @property
    def growth(self) -> float:
        return self.long.peak_mb / self.short.peak_mb - 1.0

    @property
    def flat(self) -> bool:
        return self.growth <= FLAT_WITHIN


def looped_clip(name: str, seconds: float, dest: Path) -> int:
    """Write `name` repeated until it lasts `seconds` (stream copy); returns the frames written."""
    with av.open(str(samples.path(name))) as src:
        stream = src.streams.video[0]
        packets = [p for p in src.demux(stream) if p.dts is not None and p.size]
        step = max(p.pts + (p.duration or 0) for p in packets) - min(p.pts for p in packets)
        per_loop = len(packets)
        loops = max(1, round(seconds / float(step * stream.time_base)))
        with av.open(str(dest), "w") as out:
            copy = out.add_stream_from_template(stream)
            for loop in range(loops):
                for packet in packets:
                    packet.pts += step if loop else 0
                    packet.dts += step if loop else 0
                    packet.stream = copy
                    out.mux(packet)
    return loops * per_loop


def swap_memory(target: Path, frames: int, seconds: float, preset: str, folder: Path) -> MemoryRun:
    """Swap `target` in a child process and read its peak memory from the kernel (wait4)."""
    command = [sys.executable, "-m", "facegraft.cli", "swap", "--source", str(samples.path(SOURCE)), "--target",
               str(target), "--output", str(folder / f"out-{target.stem}.mp4"), "--preset", preset, "--consent",
               "--quiet"]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    samples_mb: list[tuple[float, float]] = []
    watcher = threading.Thread(target=_watch_rss, args=(child.pid, samples_mb), daemon=True)
    watcher.start()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    watcher.join(2.0)
    stderr = child.stderr.read().decode(errors="replace") if child.stderr else ""
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"the memory bench's swap failed ({child.returncode}): {stderr.strip()[-300:]}")
    return MemoryRun(seconds, frames, usage.ru_maxrss / 1024, _at_shares(samples_mb, wall, (0.1, 0.5, 0.9)), wall)


def _watch_rss(pid: int, into: list[tuple[float, float]]) -> None:
    started = time.perf_counter()
    status = Path(f"/proc/{pid}/status")
    while True:
        try:
            text = status.read_text()
        except OSError:
            return
        rss = next((line.split()[1] for line in text.splitlines() if line.startswith("VmRSS:")), None)
        if rss is None:  # a zombie has no memory left to report
            return
        into.append((time.perf_counter() - started, int(rss) / 1024))
        time.sleep(0.5)


def _at_shares(samples_mb: list[tuple[float, float]], wall: float, shares: tuple[float, ...]) -> tuple[float, ...]:
    if not samples_mb:
        return tuple(0.0 for _ in shares)
    return tuple(min(samples_mb, key=lambda s: abs(s[0] - share * wall))[1] for share in shares)


def memory_report(short_s: float = 20.0, long_s: float = 1200.0, preset: str = "fast") -> MemoryReport:
    with tempfile.TemporaryDirectory(prefix="facegraft-memory-") as tmp:
        folder = Path(tmp)
        runs = []
        for seconds in (short_s, long_s):
            clip = folder / f"loop-{int(seconds)}s.mp4"
            frames = looped_clip(CLIP, seconds, clip)
            runs.append(swap_memory(clip, frames, seconds, preset, folder))
            clip.unlink()
    return MemoryReport(runs[0], runs[1], preset)
