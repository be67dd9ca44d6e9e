"""Option building blocks: number parsers, defaults read from the config dataclasses, shared option groups.

A default a command shows or uses comes from the config field it feeds (`default(Config, "field")`)
and help texts print it with argparse's %(default)s, so each default is written once, in the config.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from facegraft.config import PRESETS, ProvenanceConfig, VideoConfig
from facegraft.provenance.label import CORNERS

# SwapConfig's own values are the balanced preset's (its overrides are empty).
DEFAULT_PRESET = "balanced"


def default(config: type, name: str) -> Any:
    """The default of field `name` of the config dataclass `config`."""
    field = next((f for f in dataclasses.fields(config) if f.name == name), None)
    if field is None:
        raise AttributeError(f"{config.__name__} has no field {name!r}")
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    if field.default is dataclasses.MISSING:
        raise AttributeError(f"{config.__name__}.{name} has no default")
    return field.default


def positive_int(text: str) -> int:
    value = _whole_number(text, "whole number")
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def port_number(text: str) -> int:
    value = _whole_number(text, "port number")
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be between 0 and 65535 (0: any free port)")
    return value


def _whole_number(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a {what}: {text}") from None


def add_preset_option(parser: argparse.ArgumentParser, preset: str = DEFAULT_PRESET, help: str | None = None) -> None:
    parser.add_argument("--preset", choices=tuple(PRESETS), default=preset, help=help)


def add_video_options(parser: argparse.ArgumentParser, encoder_help: str | None, quality_help: str) -> None:
    parser.add_argument("--encoder", default=default(VideoConfig, "encoder"), help=encoder_help)
    parser.add_argument("--quality", type=int, default=default(VideoConfig, "quality"), help=quality_help)


def background_value(text: str):
    """`--background`'s value as a facegraft.refine.background.Background; a bad one is refused at once."""
    from facegraft.refine.background import Background  # loads OpenCV: only when the option is given
    try:
        setting = Background.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if setting.image is not None and not setting.image.is_file():
        raise argparse.ArgumentTypeError(f"background image {setting.image} not found")
    return setting


def add_background_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--background", type=background_value, metavar="blur[:N]|color:#RRGGBB|image:PATH",
                        help="blur what is behind the person (N: strength, 1 looks like a phone's portrait mode; "
                             "default 1), or replace it with a colour or an image (scaled to cover the frame)")


def add_provenance_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--consent", action="store_true",
                        help="state that everyone whose face is used agreed to it (required)")
    parser.add_argument("--no-visible-label", action="store_true",
                        help="leave out the visible label (the invisible watermark and metadata stay)")
    parser.add_argument("--label-text", default=default(ProvenanceConfig, "label_text"),
                        help='visible label text (default "%(default)s")')
    parser.add_argument("--label-corner", default=default(ProvenanceConfig, "label_corner"), choices=CORNERS)
    parser.add_argument("--label-opacity", type=float, default=default(ProvenanceConfig, "label_opacity"),
                        help="0..1 (default %(default)s)")
    parser.add_argument("--label-font", default=default(ProvenanceConfig, "label_font"),
                        help="TrueType font file for the label (default: an installed font that has its characters)")


def provenance_config(args: argparse.Namespace) -> ProvenanceConfig:
    """The options of add_provenance_options; a refused value raises ValueError."""
    return ProvenanceConfig(consent=args.consent, visible_label=not args.no_visible_label, label_text=args.label_text,
                            label_corner=args.label_corner, label_opacity=args.label_opacity, label_font=args.label_font)
