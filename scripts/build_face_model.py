"""Build src/facegraft/analysis/data/face_model.npz from the project's sample media.

The model is everything the analysis needs beyond the landmark network: a mean neutral face
in a canonical frame, the vertices used for rigid pose, mirror pairs, mesh triangles, the
mapping to the 68 iBUG points and an expression basis learnt from the sample videos.

Run: PYTHONPATH=src .venv/bin/python scripts/build_face_model.py
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from facegraft import samples
from facegraft.analysis.geometry import image_to_viewer, similarity_fit
from facegraft.analysis.landmarker import FaceDetector, MeshLandmarker
from facegraft.io import VideoReader, read_image

OUT = Path(__file__).resolve().parents[1] / "src/facegraft/analysis/data/face_model.npz"
N_MESH = 468  # the iris points (468..477) are not part of the face surface

# Vertices that move with the skull, not with expressions: forehead, nose bridge and tip,
# eye corners, temples and upper cheeks. Mouth, jaw, brows and lids are left out.
RIGID = [10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 33, 133, 362, 263, 127, 356, 162, 389,
         21, 251, 54, 284, 103, 332, 67, 297, 109, 338, 116, 345, 117, 346, 123, 352, 50, 280,
         101, 330, 226, 446, 35, 265, 143, 372, 6, 122, 351, 193, 417, 245, 465, 188, 412]
NEUTRAL_PHOTOS = ["single_face.jpg", "15-f13-anc-ph.jpg", "astronaut.png"]
VIDEOS = ["carphone_pristine.mp4", "single_face.mp4", "face_noface.mov"]


def photo_landmarks(name: str) -> np.ndarray:
    rgb = read_image(samples.path(name))
    box = FaceDetector().detect(rgb)[0].box
    return MeshLandmarker().landmarks(rgb, box)


def video_tracks(name: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Raw landmarks of the first face in each frame, plus the frames (for the dlib mapping)."""
    detector, marker = FaceDetector(), MeshLandmarker(video=True)
    shapes, frames, box = [], [], None
    with VideoReader(samples.path(name)) as reader:
        for frame in reader:
            if box is None:
                found = detector.detect(frame.rgb)
                box = found[0].box if found else None
            points = marker.landmarks(frame.rgb, box) if box is not None else None
            box = None if points is None else np.r_[points[:N_MESH, :2].min(0), points[:N_MESH, :2].max(0)]
            if points is not None:
                shapes.append(points)
                frames.append(frame.rgb)
    return shapes, frames


def align(shapes: list[np.ndarray], reference: np.ndarray, rigid: np.ndarray) -> np.ndarray:
    out = []
    for shape in shapes:
        s, r, t = similarity_fit(shape[rigid], reference[rigid])
        out.append((s * (r @ shape.T)).T + t)
    return np.array(out)


def canonical_frame(shape: np.ndarray) -> np.ndarray:
    """Rotate/scale/centre a viewer-frame shape into the canonical face frame."""
    right_eye = (shape[33] + shape[133]) / 2
    left_eye = (shape[263] + shape[362]) / 2
    x = left_eye - right_eye
    iod = np.linalg.norm(x)
    x /= iod
    up = shape[10] - shape[152]
    y = up - (up @ x) * x
    y /= np.linalg.norm(y)
    z = np.cross(x, y)
    rot = np.stack([x, y, z])
    centred = shape - shape[:N_MESH].mean(axis=0)
    return (rot @ centred.T).T / iod


def mirror_pairs(template: np.ndarray) -> np.ndarray:
    mirrored = template[:N_MESH] * np.array([-1.0, 1.0, 1.0])
    dist = np.linalg.norm(template[:N_MESH, None] - mirrored[None], axis=2)
    # An assignment on the symmetrised cost gives a permutation that pairs vertices both ways.
    _, pairs = linear_sum_assignment(dist + dist.T)
    bad = np.sum(pairs[pairs] != np.arange(N_MESH))
    print(f"mirror pairs: {bad} vertices are not a clean involution", file=sys.stderr)
    # The iris points mirror as blocks: 468..472 (right) <-> 473..477 (left).
    return np.concatenate([pairs, np.arange(473, 478), np.arange(468, 473)])


def symmetrise(shape: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    return (shape + shape[pairs] * np.array([-1.0, 1.0, 1.0])) / 2


def triangles() -> np.ndarray:
    import mediapipe as mp
    edges = mp.solutions.face_mesh_connections.FACEMESH_TESSELATION
    neighbours: dict[int, set[int]] = {}
    for a, b in edges:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    tris = set()
    for a, b in edges:
        for c in neighbours[a] & neighbours[b]:
            tris.add(tuple(sorted((a, b, c))))
    return np.array(sorted(tris), np.int32)


def dlib_68(images: list[np.ndarray], meshes: list[np.ndarray]) -> np.ndarray:
    """For each iBUG point, the mesh vertex that lands closest to dlib's prediction."""
    import dlib
    from importlib import resources
    models = resources.files("face_recognition_models") / "models"
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(models / "shape_predictor_68_face_landmarks.dat"))
    errors = []
    for rgb, mesh in zip(images, meshes):
        boxes = detector(rgb, 1)
        if len(boxes) != 1:
            continue
        pts = predictor(rgb, boxes[0])
        ibug = np.array([(p.x, p.y) for p in pts.parts()], np.float64)
        iod = np.linalg.norm(mesh[33, :2] - mesh[263, :2])
        errors.append(np.linalg.norm(ibug[:, None] - mesh[None, :N_MESH, :2], axis=2) / iod)
    errors = np.array(errors)
    index = np.median(errors, axis=0).argmin(axis=1)
    err = np.median(errors, axis=0)[np.arange(68), index]
    print(f"68-point map from {len(errors)} faces: median error {np.median(err):.3f} IOD, "
          f"worst {err.max():.3f}", file=sys.stderr)
    return index.astype(np.int32)


def main() -> None:
    samples.fetch(quiet=True)
    rigid = np.array(sorted(set(RIGID)))
    photos = [image_to_viewer(photo_landmarks(n)) for n in NEUTRAL_PHOTOS]
    tracks, dlib_frames, dlib_meshes = [], [], []
    for name in VIDEOS:
        shapes, frames = video_tracks(name)
        tracks.append([image_to_viewer(s) for s in shapes])
        dlib_frames += frames[::4]
        dlib_meshes += shapes[::4]
    for name in NEUTRAL_PHOTOS + ["0-f1-su-ph.jpg", "0-f15-hao-ph.jpg"]:
        dlib_frames.append(read_image(samples.path(name)))
        dlib_meshes.append(photo_landmarks(name))

    # Generalised Procrustes on the neutral photos and each track's mean shape.
    reference = canonical_frame(photos[0])
    members = photos + [np.mean(align(t, reference, rigid), axis=0) for t in tracks]
    for _ in range(5):
        reference = canonical_frame(np.mean(align(members, reference, rigid), axis=0))
    pairs = mirror_pairs(reference)
    template = canonical_frame(symmetrise(reference, pairs))

    # Expression: each frame's deviation from its own track mean, after rigid alignment.
    deviations = []
    for track in tracks:
        aligned = align(track, template, rigid)
        deviations.append((aligned - aligned.mean(axis=0))[:, :N_MESH])
    dev = np.concatenate(deviations)
    mirrored = (dev * np.array([-1.0, 1.0, 1.0]))[:, pairs[:N_MESH]]
    data = np.concatenate([dev, mirrored]).reshape(len(dev) * 2, -1)
    _, sing, vt = np.linalg.svd(data, full_matrices=False)
    explained = np.cumsum(sing ** 2) / np.sum(sing ** 2)
    k = int(np.searchsorted(explained, 0.99) + 1)
    k = min(max(k, 8), 32)
    print(f"expression basis: {k} components explain {explained[k - 1]:.3f} of {len(data)} "
          "mirrored frame deviations", file=sys.stderr)
    basis = vt[:k].reshape(k, N_MESH, 3)
    scales = sing[:k] / np.sqrt(len(data))  # typical size of each coefficient

    np.savez_compressed(
        OUT, template=template.astype(np.float32), rigid=rigid.astype(np.int32),
        mirror=pairs.astype(np.int32), triangles=triangles(),
        ibug68=dlib_68(dlib_frames, dlib_meshes), expression_basis=basis.astype(np.float32),
        expression_scale=scales.astype(np.float32))
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
