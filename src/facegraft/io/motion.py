"""Face motion capture files: JSON Lines or CSV, one record per face per frame (format in README)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any, Iterator, Mapping, TextIO

from facegraft.errors import FacegraftError

FORMATS = (".jsonl", ".csv")
POSE_KEYS = ("pitch", "yaw", "roll", "tx", "ty", "tz", "scale")
REQUIRED_EXPRESSION = ("jaw_open", "eye_open_left", "eye_open_right", "mouth_smile", "brow_raise_left", "brow_raise_right")
Record = dict[str, Any]


def check_motion_path(path: Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise FacegraftError(f"{path}: motion files end in .jsonl or .csv")
    return path


def _rounded(value: float, digits: int = 4) -> float:
    return round(float(value), digits)


class MotionWriter:
    """Writes records to an open text file; the caller owns the file (and its atomic rename)."""

    def __init__(self, stream: TextIO, fmt: str):
        self._stream = stream
        self._csv = fmt == ".csv"
        self._writer: csv.writer | None = None
        self._columns: list[str] | None = None
        self.count = 0

    def write(self, record: Record) -> None:
        if self._csv:
            flat = flatten(record)
            if self._columns is None:
                self._columns = list(flat)
                self._writer = csv.writer(self._stream)
                self._writer.writerow(self._columns)
            self._writer.writerow([flat.get(c, "") for c in self._columns])
        else:
            self._stream.write(json.dumps(record, separators=(",", ":")) + "\n")
        self.count += 1


def face_record(frame: int, time: float, face) -> Record:
    """The stable motion record of one analysed face (`facegraft.analysis.Face`)."""
    return {
        "frame": int(frame),
        "time": _rounded(time, 6),
        "track": int(face.track),
        "pose": {k: _rounded(getattr(face.pose, k)) for k in POSE_KEYS},
        "expression": {k: _rounded(v) for k, v in face.expression.named.items()},
        "expression_vector": [_rounded(v) for v in face.expression.vector],
        "landmarks68": [[_rounded(x, 2), _rounded(y, 2)] for x, y in face.landmarks68],
        "box": [_rounded(v, 2) for v in face.box],
        "score": _rounded(face.score),
        "iris": {"left": [_rounded(v, 2) for v in face.iris_left], "right": [_rounded(v, 2) for v in face.iris_right]},
    }


def flatten(record: Mapping[str, Any]) -> dict[str, Any]:
    """CSV columns: pose_yaw, expression_jaw_open, expression_vector_0, landmarks68_0_x, ..."""
    flat: dict[str, Any] = {"frame": record["frame"], "time": record["time"], "track": record["track"]}
    for key, value in record["pose"].items():
        flat[f"pose_{key}"] = value
    for key, value in record["expression"].items():
        flat[f"expression_{key}"] = value
    for i, value in enumerate(record["expression_vector"]):
        flat[f"expression_vector_{i}"] = value
    for i, (x, y) in enumerate(record["landmarks68"]):
        flat[f"landmarks68_{i}_x"], flat[f"landmarks68_{i}_y"] = x, y
    for i, value in enumerate(record.get("box", [])):
        flat[f"box_{i}"] = value
    if "score" in record:
        flat["score"] = record["score"]
    for side in ("left", "right"):
        if "iris" in record:
            flat[f"iris_{side}_x"], flat[f"iris_{side}_y"] = record["iris"][side]
    return flat


def read_motion(path: Path) -> list[Record]:
    """Read and validate a motion file written by `facegraft analyze`."""
    path = check_motion_path(Path(path))
    if not path.is_file():
        raise FacegraftError(f"{path}: no such motion file")
    try:
        with open(path, encoding="utf-8") as fh:
            records = list(_read_csv(fh) if path.suffix.lower() == ".csv" else _read_jsonl(fh, path))
    except UnicodeDecodeError:
        raise FacegraftError(f"{path}: not a text motion file") from None
    for number, record in enumerate(records, 1):
        _validate(record, path, number)
    return records


def _read_jsonl(fh: TextIO, path: Path) -> Iterator[Record]:
    for number, line in enumerate(fh, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FacegraftError(f"{path}: line {number} is not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise FacegraftError(f"{path}: line {number} is not a motion record")
        yield record


def _read_csv(fh: TextIO) -> Iterator[Record]:
    for row in csv.DictReader(fh):
        yield _unflatten(row)


def _unflatten(row: Mapping[str, str]) -> Record:
    def num(text: str) -> float:
        try:
            return float(text)
        except (TypeError, ValueError):
            return math.nan
    record: Record = {"pose": {}, "expression": {}, "expression_vector": [], "landmarks68": []}
    vector: dict[int, float] = {}
    marks: dict[int, list[float]] = {}
    for key, text in row.items():
        if key in ("frame", "track"):
            record[key] = int(num(text)) if not math.isnan(num(text)) else text
        elif key == "time":
            record[key] = num(text)
        elif key.startswith("pose_"):
            record["pose"][key[5:]] = num(text)
        elif key.startswith("expression_vector_"):
            vector[int(key.rsplit("_", 1)[1])] = num(text)
        elif key.startswith("expression_"):
            record["expression"][key[11:]] = num(text)
        elif key.startswith("landmarks68_"):
            _, index, axis = key.split("_")
            marks.setdefault(int(index), [math.nan, math.nan])[0 if axis == "x" else 1] = num(text)
    record["expression_vector"] = [vector[i] for i in sorted(vector)]
    record["landmarks68"] = [marks[i] for i in sorted(marks)]
    return record


def _validate(record: Record, path: Path, number: int) -> None:
    def fail(reason: str) -> None:
        raise FacegraftError(f"{path}: record {number} {reason}")
    for key in ("frame", "time", "track", "pose", "expression", "expression_vector", "landmarks68"):
        if key not in record:
            fail(f"has no '{key}'")
    if not isinstance(record["frame"], int) or record["frame"] < 0:
        fail("has a bad frame index")
    pose, expression = record["pose"], record["expression"]
    if not isinstance(pose, dict) or any(not _finite(pose.get(k)) for k in POSE_KEYS):
        fail("has a missing or non-numeric pose value")
    if not isinstance(expression, dict) or any(not _finite(expression.get(k)) for k in REQUIRED_EXPRESSION):
        fail("has a missing or non-numeric expression value")
    if not _finite(record["time"]) or len(record["landmarks68"]) != 68:
        fail("has a bad time or not 68 landmarks")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
