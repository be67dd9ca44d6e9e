"""The Analyze tab's picture of a motion file: head pose and expression over time, per person."""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from facegraft.io import atomic_output
from facegraft.io.motion import read_motion

POSE = (("yaw", "yaw"), ("pitch", "pitch"), ("roll", "roll"))
EXPRESSION = (("jaw_open", "jaw open"), ("eye_open_left", "eye open (left)"), ("eye_open_right", "eye open (right)"),
              ("mouth_smile", "smile"), ("brow_raise_left", "brow raise (left)"))
STYLES = ("-", "--", ":", "-.")  # one line style per tracked person, colours per quantity


def write_motion_plot(motion: Path, output: Path) -> Path:
    """Two panels (pose in degrees, expression coefficients) against time, as a PNG."""
    records = read_motion(motion)
    figure = Figure(figsize=(9, 5.2), dpi=110, layout="constrained")
    pose_ax, expr_ax = figure.subplots(2, 1, sharex=True)
    tracks = sorted({r["track"] for r in records})
    for style, track in zip(STYLES * 8, tracks):
        rows = [r for r in records if r["track"] == track]
        times = [r["time"] for r in rows]
        who = f" #{track}" if len(tracks) > 1 else ""
        for key, name in POSE:
            pose_ax.plot(times, [r["pose"][key] for r in rows], style, label=name + who, linewidth=1.4)
        for key, name in EXPRESSION:
            expr_ax.plot(times, [r["expression"][key] for r in rows], style, label=name + who, linewidth=1.4)
    pose_ax.set_ylabel("head pose (degrees)")
    expr_ax.set_ylabel("expression")
    expr_ax.set_xlabel("time (s)")
    for ax in (pose_ax, expr_ax):
        ax.grid(alpha=0.3)
        if records:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    if not records:
        pose_ax.text(0.5, 0.5, "no face found", ha="center", va="center", transform=pose_ax.transAxes)
    elif len({r["frame"] for r in records}) == 1:
        figure.suptitle("a single frame: one value per quantity", fontsize=9)
        for ax in (pose_ax, expr_ax):
            for line in ax.get_lines():
                line.set_marker("o")
    canvas = FigureCanvasAgg(figure)
    with atomic_output(output, (motion,)) as tmp:
        canvas.print_png(str(tmp))
    return output
