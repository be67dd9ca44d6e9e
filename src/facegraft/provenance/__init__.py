"""Provenance: every output says it is AI-generated, visibly, invisibly and in its metadata."""

from __future__ import annotations

import dataclasses
import secrets
import time

import numpy as np

from facegraft.config import ProvenanceConfig
from facegraft.errors import FacegraftError
from facegraft.provenance.label import LabelPatch, apply_label, render_label
from facegraft.provenance.watermark import Payload, embed

CONSENT_TEXT = "The user stated they have the consent of the people whose faces are used."


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("facegraft")
    except PackageNotFoundError:
        return "0.0.0"


def packed_version(text: str) -> int:
    parts = (text.split(".") + ["0", "0"])[:2]
    try:
        major, minor = (int("".join(c for c in p if c.isdigit()) or 0) for p in parts)
    except ValueError:
        major, minor = 0, 0
    return (min(major, 15) << 4) | min(minor, 15)


def require_consent(config: ProvenanceConfig) -> None:
    if not config.consent:
        raise FacegraftError("refusing to work without consent: confirm with --consent that everyone whose "
                             "face is used agreed to it")


@dataclasses.dataclass(frozen=True)
class Stamp:
    """What one run writes into its outputs: the label, the watermark payload and the metadata."""

    config: ProvenanceConfig
    payload: Payload
    created: str

    @staticmethod
    def new(config: ProvenanceConfig) -> "Stamp":
        payload = Payload(version=packed_version(package_version()), run_id=secrets.randbits(16))
        return Stamp(config, payload, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))

    def metadata(self) -> dict[str, str]:
        text = (f"AI-generated: face edited by facegraft {package_version()} on {self.created} "
                f"(run {self.payload.run_text}). {CONSENT_TEXT if self.config.consent else ''}").strip()
        return {"Description": text, "Software": f"facegraft {package_version()}", "AI-generated": "true",
                "Consent": CONSENT_TEXT if self.config.consent else "not stated",
                "facegraft-run": self.payload.run_text}


    def container_metadata(self) -> dict[str, str]:
        """The metadata a video container carries: its comment, description and encoder tags."""
        stamp = self.metadata()
        return {"comment": stamp["Description"], "description": f"AI-generated. Consent: {stamp['Consent']}",
                "encoder": stamp["Software"]}


class FrameMarker:
    """Applies the visible label and the invisible watermark to output frames."""

    def __init__(self, stamp: Stamp):
        self.stamp = stamp
        self._patches: dict[tuple[int, int], LabelPatch] = {}

    def check(self) -> None:
        """Fail now, before any work, if the label cannot be drawn."""
        if self.stamp.config.visible_label:
            render_label(self.stamp.config.label_text, (720, 1280), self.stamp.config.label_corner,
                         self.stamp.config.label_opacity, self.stamp.config.label_font)

    def mark(self, rgb: np.ndarray, still: bool = False) -> np.ndarray:
        """The frame labelled and watermarked; `still` for an image output (see watermark.embed)."""
        cfg = self.stamp.config
        if cfg.visible_label:
            shape = rgb.shape[:2]
            if shape not in self._patches:
                self._patches[shape] = render_label(cfg.label_text, shape, cfg.label_corner, cfg.label_opacity,
                                                    cfg.label_font)
            rgb = apply_label(rgb, self._patches[shape])
        return embed(rgb, self.stamp.payload, still)
