"""The page's settings (JSON objects) checked and turned into the library's config dataclasses.

Only the keys listed here are accepted; anything else, or a value of the wrong type or range, is
answered with one line naming the setting. kinds.py says which parser reads which kind's form.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, Callable, Mapping, TypeVar

from facegraft.api import Settings
from facegraft.config import BLEND_MODES, PRESETS, AnalysisConfig, ProvenanceConfig, SmoothingConfig, preset
from facegraft.reenact import ReenactSettings
from facegraft.refine.background import Background
from facegraft.select import SelectionConfig
from facegraft.ui.errors import ApiError

CORNERS = ("bottom-right", "bottom-left", "top-right", "top-left")
MAX_LABEL = 60
MAX_REFERENCES = 8
MAX_BACKGROUND = 40
COMMON = {"consent", "label_text", "label_corner"}
SWAP_KEYS = COMMON | {"preset", "shape_transfer", "detail", "blend", "eyes", "occlusion", "faces", "references",
                      "report", "background"}
REENACT_KEYS = COMMON | {"absolute", "driver_neutral"}
ANALYZE_KEYS = {"format", "max_faces", "smoothing", "overlay"}
LIVE_KEYS = COMMON | {"preset", "shape_transfer", "detail", "blend", "eyes", "faces"}


T = TypeVar("T")


def _one_line_errors(parse: Callable[..., T]) -> Callable[..., T]:
    """The config dataclasses check their own ranges with ValueError; the page gets a 400."""
    @functools.wraps(parse)
    def checked(*args: Any) -> T:
        try:
            return parse(*args)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
    return checked


@dataclasses.dataclass(frozen=True)
class Reference:
    """A face the user clicked: the `face`-th face (largest first) of the target at `time` seconds."""

    time: float
    face: int


class Form:
    """Typed reads of one settings object, each failing with a one-line 400."""

    def __init__(self, data: Any, allowed: set[str]):
        if not isinstance(data, Mapping):
            raise ApiError(400, "settings must be a JSON object")
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ApiError(400, f"unknown setting {unknown[0]!r}")
        self.data = data

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise ApiError(400, f"{key} must be true or false")
        return value

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ApiError(400, f"{key} must be a number")
        if not low <= value <= high:
            raise ApiError(400, f"{key} must be between {low:g} and {high:g}")
        return float(value)

    def whole(self, key: str, default: int | None, low: int, high: int) -> int | None:
        value = self.data.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ApiError(400, f"{key} must be a whole number")
        if not low <= value <= high:
            raise ApiError(400, f"{key} must be between {low} and {high}")
        return value

    def choice(self, key: str, options: tuple[str, ...] | list[str], default: str) -> str:
        value = self.data.get(key, default)
        if value not in options:
            raise ApiError(400, f"{key} must be one of {', '.join(options)}")
        return value

    def text(self, key: str, default: str, most: int) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str) or not value.strip() or len(value) > most or not value.isprintable():
            raise ApiError(400, f"{key} must be printable text of 1 to {most} characters")
        return value.strip()


def require_consent(form: Form) -> None:
    if form.data.get("consent") is not True:
        raise ApiError(400, "consent is required: confirm that everyone whose face is used agreed to it")


def provenance(form: Form) -> ProvenanceConfig:
    require_consent(form)
    return ProvenanceConfig(consent=True, label_text=form.text("label_text", "AI-generated", MAX_LABEL),
                            label_corner=form.choice("label_corner", CORNERS, "bottom-right"))


@_one_line_errors
def swap_settings(data: Any, keys: set[str] = SWAP_KEYS) -> Settings:
    form = Form(data, keys)
    name = form.choice("preset", list(PRESETS), "balanced")
    overrides = {}
    for key in ("shape_transfer", "detail"):
        if key in form.data:
            overrides[key] = form.number(key, 0.0, 0.0, 1.0)
    if "blend" in form.data:
        overrides["blend"] = form.choice("blend", BLEND_MODES, "multiband")
    if "eyes" in form.data:
        overrides["eyes"] = form.choice("eyes", ("target", "source"), "target")
    if "occlusion" in form.data:
        overrides["occlusion"] = form.flag("occlusion", True)
    mode = form.choice("faces", ("one", "all", "reference"), "one")
    return Settings(swap=preset(name, **overrides), selection=SelectionConfig(mode=mode), provenance=provenance(form),
                    background=background(form))


def background(form: Form) -> Background | None:
    """The `--background` text ("none", "blur:1.5", "color:#00ff00"); Background.parse's ValueError is a 400."""
    text = form.data.get("background", "none")
    if not isinstance(text, str) or len(text) > MAX_BACKGROUND:
        raise ApiError(400, "background must be text such as none, blur, blur:2 or color:#00ff00")
    if text.strip().lower() in ("", "none"):
        return None
    setting = Background.parse(text)
    if setting.kind == "image":
        # The page names no files on the server by their paths; an image background is the command line's.
        raise ApiError(400, "the page blurs the background or puts a colour behind the person; for an image "
                            "use facegraft swap --background image:PATH")
    return setting


def live_settings(data: Any) -> Settings:
    """The Live tab's swap settings: a swap's, from the fewer keys LIVE_KEYS lists."""
    return swap_settings(data, LIVE_KEYS)


def references(data: Any) -> list[Reference]:
    """The clicked faces of a swap form ([] unless faces is "reference")."""
    if not isinstance(data, Mapping) or data.get("faces") != "reference":
        return []
    items = data.get("references", [])
    if not isinstance(items, list) or not items:
        raise ApiError(400, "click at least one face on the target to swap, or choose another face setting")
    if len(items) > MAX_REFERENCES:
        raise ApiError(400, f"at most {MAX_REFERENCES} faces can be picked")
    found = []
    for item in items:
        form = Form(item, {"time", "face"})
        found.append(Reference(form.number("time", 0.0, 0.0, 1e7), form.whole("face", 0, 0, 63)))
    return found


def report_wanted(data: Any) -> bool:
    return Form(data, SWAP_KEYS).flag("report", True)


@_one_line_errors
def reenact_settings(data: Any) -> ReenactSettings:
    form = Form(data, REENACT_KEYS)
    return ReenactSettings(absolute=form.flag("absolute", False),
                           driver_neutral=form.whole("driver_neutral", None, 0, 10_000_000),
                           provenance=provenance(form))


@dataclasses.dataclass(frozen=True)
class AnalyzeSettings:
    format: str  # jsonl | csv
    analysis: AnalysisConfig
    overlay: bool  # also write the input with the mesh and pose axes drawn on it


@_one_line_errors
def analyze_settings(data: Any) -> AnalyzeSettings:
    form = Form(data, ANALYZE_KEYS)
    analysis = AnalysisConfig(max_faces=form.whole("max_faces", 4, 1, 16),
                              smoothing=SmoothingConfig(enabled=form.flag("smoothing", True)))
    return AnalyzeSettings(form.choice("format", ("jsonl", "csv"), "jsonl"), analysis, form.flag("overlay", False))
