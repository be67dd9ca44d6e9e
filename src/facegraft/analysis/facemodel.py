"""The 3D face model: pose, identity (neutral shape) and expression from 478 landmarks.

Shapes live in a canonical frame: x toward the subject's left, y up, z out of the face,
origin at the mean of the mesh, unit = distance between the two eye centres (IOD).
The model data is built from the sample media by scripts/build_face_model.py.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from facegraft.analysis.geometry import euler_from_matrix, image_to_viewer, similarity_fit, viewer_to_image
from facegraft.analysis.types import Expression, Pose
from facegraft.models import FACE_SHAPE_MODEL, model_file

N_MESH = 468
RIGHT_IRIS, LEFT_IRIS = 468, 473
RIGHT_EYE = dict(corners=(33, 133), upper=(160, 159, 158), lower=(144, 145, 153))
LEFT_EYE = dict(corners=(263, 362), upper=(387, 386, 385), lower=(373, 374, 380))
RIGHT_BROW, LEFT_BROW = (70, 63, 105, 66, 107), (300, 293, 334, 296, 336)
INNER_LIPS = ((13, 14), (82, 87), (312, 317))
MOUTH_CORNERS = (61, 291)
LIP_CENTRES = (0, 17, 13, 14)


@dataclasses.dataclass(frozen=True)
class FaceModel:
    template: np.ndarray  # (478, 3) mean neutral face, canonical frame
    rigid: np.ndarray  # vertex indices that move with the skull
    mirror: np.ndarray  # (478,) index of each vertex's mirror image
    triangles: np.ndarray  # (T, 3) mesh faces
    ibug68: np.ndarray  # (68,) mesh vertex for each iBUG 300-W point
    basis: np.ndarray  # (K, 468, 3) orthonormal expression directions
    basis_scale: np.ndarray  # (K,) typical size of each coefficient

    @property
    def expression_size(self) -> int:
        return len(self.basis)


@functools.cache
def load_face_model() -> FaceModel:
    # Immutable data, so one cached copy serves the process (unlike the models, which Models loads).
    with open(model_file(FACE_SHAPE_MODEL), "rb") as fh:
        data = np.load(fh)
        return FaceModel(
            template=data["template"].astype(np.float64), rigid=data["rigid"], mirror=data["mirror"],
            triangles=data["triangles"], ibug68=data["ibug68"],
            basis=data["expression_basis"].astype(np.float64),
            basis_scale=data["expression_scale"].astype(np.float64))


def fit_pose(landmarks: np.ndarray, image_size: tuple[int, int], model: FaceModel) -> tuple[Pose, np.ndarray]:
    """Rigid pose from the skull-fixed vertices, and the whole shape brought into the canonical frame."""
    viewer = image_to_viewer(landmarks.astype(np.float64))
    scale, rot, trans = similarity_fit(model.template[model.rigid], viewer[model.rigid])
    shape = (rot.T @ (viewer - trans).T).T / scale
    pitch, yaw, roll = euler_from_matrix(rot)
    focal = float(max(image_size))
    tx, ty, _ = viewer_to_image(trans)
    pose = Pose(pitch=pitch, yaw=yaw, roll=roll, tx=float(tx), ty=float(ty), tz=focal / scale, scale=scale)
    return pose, shape


def project(shape: np.ndarray, pose: Pose) -> np.ndarray:
    """Canonical shape to image landmarks (pixel x, y and relative depth z) under a pose."""
    viewer = pose.scale * (pose.rotation @ shape.T).T
    viewer[:, 0] += pose.tx
    viewer[:, 1] -= pose.ty
    return viewer_to_image(viewer)


def neutral_shape(shape: np.ndarray, model: FaceModel) -> np.ndarray:
    """Identity of a single shape: the template plus the part of the difference no expression explains."""
    diff = (shape[:N_MESH] - model.template[:N_MESH]).reshape(-1)
    basis = model.basis.reshape(len(model.basis), -1)
    neutral = model.template.copy()
    neutral[:N_MESH] += (diff - basis.T @ (basis @ diff)).reshape(N_MESH, 3)
    return _centre_irises(neutral, model)


def _centre_irises(neutral: np.ndarray, model: FaceModel) -> np.ndarray:
    """Irises are gaze, not identity: put them where the template has them relative to the eye."""
    for iris, eye in ((RIGHT_IRIS, RIGHT_EYE), (LEFT_IRIS, LEFT_EYE)):
        corners = list(eye["corners"])
        shift = neutral[corners].mean(axis=0) - model.template[corners].mean(axis=0)
        neutral[iris:iris + 5] = model.template[iris:iris + 5] + shift
    return neutral


def expression_of(shape: np.ndarray, identity: np.ndarray, model: FaceModel) -> Expression:
    offsets = shape - identity
    basis = model.basis.reshape(len(model.basis), -1)
    vector = basis @ offsets[:N_MESH].reshape(-1)
    return Expression(offsets=offsets, vector=vector, named=named_coefficients(shape, model))


def named_coefficients(shape: np.ndarray, model: FaceModel) -> dict[str, float]:
    """Interpretable measures of a pose-free shape; units and neutral values are in the README."""
    template = model.template
    eye_r = _eye_opening(shape, RIGHT_EYE) / _eye_opening(template, RIGHT_EYE)
    eye_l = _eye_opening(shape, LEFT_EYE) / _eye_opening(template, LEFT_EYE)
    width = _mouth_width(shape) / _mouth_width(template)
    gaze_r, gaze_l = _gaze(shape, RIGHT_EYE, RIGHT_IRIS), _gaze(shape, LEFT_EYE, LEFT_IRIS)
    gaze = (gaze_r + gaze_l) / 2 - (_gaze(template, RIGHT_EYE, RIGHT_IRIS) + _gaze(template, LEFT_EYE, LEFT_IRIS)) / 2
    return {
        "eye_open_left": float(eye_l),
        "eye_open_right": float(eye_r),
        "jaw_open": float(_lip_gap(shape)),
        "mouth_width": float(width),
        "mouth_smile": float(_corner_lift(shape) - _corner_lift(template)),
        "lip_pucker": float(_lip_protrusion(shape) - _lip_protrusion(template) + max(0.0, 1.0 - width) / 2),
        "brow_raise_left": float(_brow_height(shape, LEFT_BROW, LEFT_EYE) - _brow_height(template, LEFT_BROW, LEFT_EYE)),
        "brow_raise_right": float(_brow_height(shape, RIGHT_BROW, RIGHT_EYE) - _brow_height(template, RIGHT_BROW, RIGHT_EYE)),
        "gaze_x": float(gaze[0]),
        "gaze_y": float(gaze[1]),
    }


def _eye_opening(shape: np.ndarray, eye: dict) -> float:
    upper, lower = shape[list(eye["upper"])], shape[list(eye["lower"])]
    a, b = shape[list(eye["corners"])]
    return float(np.mean(np.linalg.norm(upper - lower, axis=1)) / np.linalg.norm(a - b))


def _lip_gap(shape: np.ndarray) -> float:
    return float(np.mean([np.linalg.norm(shape[u] - shape[d]) for u, d in INNER_LIPS]))


def _mouth_width(shape: np.ndarray) -> float:
    return float(np.linalg.norm(shape[MOUTH_CORNERS[0]] - shape[MOUTH_CORNERS[1]]))


def _corner_lift(shape: np.ndarray) -> float:
    centre = shape[[13, 14], 1].mean()
    return float(shape[list(MOUTH_CORNERS), 1].mean() - centre)


def _lip_protrusion(shape: np.ndarray) -> float:
    return float(shape[list(LIP_CENTRES), 2].mean() - shape[list(MOUTH_CORNERS), 2].mean())


def _brow_height(shape: np.ndarray, brow: tuple[int, ...], eye: dict) -> float:
    return float(shape[list(brow), 1].mean() - shape[list(eye["corners"]), 1].mean())


def _gaze(shape: np.ndarray, eye: dict, iris: int) -> np.ndarray:
    """Iris centre relative to the eye's centre, as a fraction of the eye's width."""
    a, b = shape[list(eye["corners"])]
    return (shape[iris, :2] - (a[:2] + b[:2]) / 2) / np.linalg.norm(a - b)
