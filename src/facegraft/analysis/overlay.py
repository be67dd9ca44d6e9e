"""Drawing analysis results over frames: mesh, 68 points, irises and head-pose axes."""

from __future__ import annotations

import functools

import cv2
import numpy as np

from facegraft.analysis.facemodel import load_face_model, project
from facegraft.analysis.types import Face

AXIS_COLOURS = ((230, 60, 60), (60, 200, 60), (70, 120, 255))  # x red, y green, z blue (RGB)


@functools.cache
def _mesh_edges() -> np.ndarray:
    tris = load_face_model().triangles
    edges = np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]])
    return np.unique(np.sort(edges, axis=1), axis=0)


def draw_faces(rgb: np.ndarray, faces: tuple[Face, ...] | list[Face]) -> np.ndarray:
    out = rgb.copy()
    for face in faces:
        # Marks scale with the face, so small faces in small videos stay readable.
        thickness = max(1, round(face.pose.scale / 60))
        _draw_mesh(out, face, thickness)
        _draw_axes(out, face, thickness + 1)
        x0, y0 = face.box[:2].astype(int)
        cv2.putText(out, f"#{face.track}", (x0, max(12, y0 - 6)), cv2.FONT_HERSHEY_SIMPLEX,
                    max(0.35, face.pose.scale / 150), (255, 255, 0), thickness, cv2.LINE_AA)
    return out


def _draw_mesh(out: np.ndarray, face: Face, thickness: int) -> None:
    pts = np.round(face.landmarks[:, :2] * 16).astype(np.int32)  # 4 fractional bits: smooth lines
    lines = pts[_mesh_edges()]
    overlay = out.copy()
    cv2.polylines(overlay, list(lines), False, (200, 220, 255), 1, cv2.LINE_AA, shift=4)
    cv2.addWeighted(overlay, 0.45, out, 0.55, 0, dst=out)
    for x, y in np.round(face.landmarks68).astype(int):
        cv2.circle(out, (x, y), thickness, (255, 210, 0), -1, cv2.LINE_AA)
    for iris in (face.iris_left, face.iris_right):
        cv2.circle(out, tuple(np.round(iris).astype(int)), thickness + 1, (0, 255, 255), 1, cv2.LINE_AA)


def _draw_axes(out: np.ndarray, face: Face, thickness: int) -> None:
    ends = project(np.array([[0.0, 0.0, 0.0], [1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]]), face.pose)[:, :2]
    origin = tuple(np.round(ends[0]).astype(int))
    for end, colour in zip(ends[1:], AXIS_COLOURS):
        cv2.arrowedLine(out, origin, tuple(np.round(end).astype(int)), colour, thickness, cv2.LINE_AA, tipLength=0.15)
