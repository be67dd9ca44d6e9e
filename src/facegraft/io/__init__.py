"""Reading and writing images and videos; every output is written atomically."""

from facegraft.io.atomic import atomic_output, make_folder
from facegraft.io.image import read_image, write_image
from facegraft.io.media import MediaKind, probe
from facegraft.io.video import VideoFrame, VideoInfo, VideoReader, VideoWriter

__all__ = [
    "MediaKind",
    "VideoFrame",
    "VideoInfo",
    "VideoReader",
    "VideoWriter",
    "atomic_output",
    "make_folder",
    "probe",
    "read_image",
    "write_image",
]
