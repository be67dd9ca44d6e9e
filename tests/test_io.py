"""facegraft.io against real sample media: decode, encode, atomic outputs, and bad input."""

from __future__ import annotations

import fractions
import os
import stat
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from facegraft import samples
from facegraft.errors import FacegraftError
from facegraft.io import (
    MediaKind,
    VideoReader,
    VideoWriter,
    atomic_output,
    probe,
    read_image,
    write_image,
)
from facegraft.io.atomic import check_output_path


# ---------------------------------------------------------------- helpers


def _read_all(path: Path) -> tuple:
    with VideoReader(path) as reader:
        return reader.info, list(reader)


def _one_line(excinfo: pytest.ExceptionInfo) -> str:
    message = str(excinfo.value)
    assert message.strip(), "error message is empty"
    assert "\n" not in message and "\r" not in message, f"multi-line message: {message!r}"
    return message


def _mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def _remux_video(source: Path, dest: Path, options: dict | None = None, shift_frames: int = 0) -> None:
    """Copy the video stream packet for packet; `shift_frames` makes an edit-list cut like `ffmpeg -ss -c copy`."""
    with av.open(str(source)) as inp:
        stream = inp.streams.video[0]
        packets = [p for p in inp.demux(stream) if p.dts is not None]
        shift = sorted(p.pts for p in packets)[shift_frames] if shift_frames else 0
        with av.open(str(dest), "w", options=options or {}) as out:
            out_stream = out.add_stream_from_template(stream)
            for packet in packets:
                packet.pts -= shift
                packet.dts -= shift
                packet.stream = out_stream
                out.mux(packet)


def _packet_ends(path: Path) -> list[int]:
    """Byte offsets where each video packet of `path` ends."""
    with av.open(str(path)) as container:
        return [p.pos + p.size for p in container.demux(container.streams.video[0]) if p.size and p.pos >= 0]


@pytest.fixture(scope="module")
def single_face() -> tuple:
    """single_face.mp4 decoded once: (path, info, frames)."""
    path = samples.path("single_face.mp4")
    info, frames = _read_all(path)
    return path, info, frames


@pytest.fixture(scope="module")
def carphone() -> tuple:
    path = samples.path("carphone_pristine.mp4")
    info, frames = _read_all(path)
    return path, info, frames


# ---------------------------------------------------------------- VideoReader


def test_info_single_face(single_face):
    _, info, frames = single_face
    assert (info.width, info.height) == (640, 360)
    assert info.fps == 30
    assert info.frame_count == 72 == len(frames)
    assert info.duration == pytest.approx(2.4, abs=0.05)
    assert info.has_audio is True
    assert info.codec == "h264"
    assert info.rotation == 0


def test_info_carphone(carphone):
    _, info, frames = carphone
    assert (info.width, info.height) == (176, 144)
    assert info.fps == fractions.Fraction(30000, 1001)
    assert info.frame_count == 120 == len(frames)
    assert info.has_audio is False


def test_info_hevc_mov():
    with VideoReader(samples.path("face_noface.mov")) as reader:
        info = reader.info
        first = next(iter(reader))
    assert (info.width, info.height) == (960, 540)
    assert info.codec == "hevc"
    assert info.frame_count == 169
    assert info.has_audio is True
    assert first.rgb.shape == (540, 960, 3)


def test_frame_count_leaves_out_hidden_pre_roll():
    # no_face.mp4's header counts 98 frames; its edit list hides 3 B-frame pre-roll packets that
    # no decoder shows. Every command (and the UI) must count the 95 a viewer sees.
    with VideoReader(samples.path("no_face.mp4")) as reader:
        count = reader.info.frame_count
        frames = [f.index for f in reader]
    assert count == len(frames) == 95


@pytest.mark.parametrize("fixture", ["single_face", "carphone"])
def test_frames_in_order_rgb_upright(fixture, request):
    _, info, frames = request.getfixturevalue(fixture)
    assert [f.index for f in frames] == list(range(len(frames)))
    times = np.array([f.time for f in frames])
    assert times[0] == pytest.approx(0.0, abs=1e-6)
    assert np.all(np.diff(times) > 0), "frame times must strictly increase"
    assert np.allclose(np.diff(times), 1 / float(info.fps), atol=1e-3)  # both samples are constant-rate
    for frame in frames[:: max(1, len(frames) // 5)]:
        assert frame.rgb.dtype == np.uint8
        assert frame.rgb.shape == (info.height, info.width, 3)  # rows = height: upright, not transposed
        assert frame.rgb.flags.c_contiguous
    # Real pictures, not blank frames.
    assert frames[0].rgb.std() > 10


def test_channel_order_is_rgb(tmp_path):
    out = tmp_path / "rgb.mp4"
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    with atomic_output(out) as tmp, VideoWriter(tmp, 64, 48, fractions.Fraction(10)) as writer:
        for colour in colours:
            writer.write(np.full((48, 64, 3), colour, dtype=np.uint8))
    _, frames = _read_all(out)
    assert len(frames) == 3
    for frame, colour in zip(frames, colours):
        assert int(np.argmax(frame.rgb[24, 32])) == int(np.argmax(colour))
        assert frame.rgb[24, 32].max() > 200


def test_stopping_early_is_not_an_error(single_face):
    path, _, _ = single_face
    with VideoReader(path) as reader:
        taken = []
        for frame in reader:
            taken.append(frame.index)
            if len(taken) == 3:
                break
    assert taken == [0, 1, 2]


# ---------------------------------------------------------------- VideoWriter


def test_round_trip_with_audio(tmp_path, single_face):
    path, info, frames = single_face
    out = tmp_path / "out.mp4"
    with atomic_output(out, inputs=(path,)) as tmp:
        assert tmp.parent.parent == tmp_path and tmp.suffix == ".mp4" and tmp != out
        with VideoWriter(tmp, info.width, info.height, info.fps, audio_from=path,
                         metadata={"title": "facegraft round trip"}) as writer:
            for frame in frames:
                writer.write(frame.rgb)
        assert not out.exists(), "output must not appear before the block ends"
    assert sorted(os.listdir(tmp_path)) == ["out.mp4"], "temporary files left behind"

    back_info, back = _read_all(out)
    assert len(back) == len(frames) == back_info.frame_count
    assert (back_info.width, back_info.height) == (info.width, info.height)
    assert back_info.fps == info.fps
    assert back_info.has_audio is True
    assert back_info.duration == pytest.approx(info.duration, abs=0.05)
    for i in (0, len(frames) // 2, len(frames) - 1):
        assert _mad(back[i].rgb, frames[i].rgb) < 6, f"frame {i} differs too much"
    # Frames stay in order: a frame matches its own source better than a distant one.
    assert _mad(back[0].rgb, frames[0].rgb) < _mad(back[0].rgb, frames[-1].rgb)

    with av.open(str(out)) as written, av.open(str(path)) as source:
        assert written.metadata.get("title") == "facegraft round trip"
        a_out, a_src = written.streams.audio[0], source.streams.audio[0]
        assert a_out.codec_context.name == a_src.codec_context.name  # copied, not re-encoded
        assert a_out.sample_rate == a_src.sample_rate
        # All of the audio is copied, not just the first packets.
        out_packets = sum(1 for p in written.demux(a_out) if p.size)
    with av.open(str(path)) as source:
        src_packets = sum(1 for p in source.demux(source.streams.audio[0]) if p.size)
    assert out_packets == src_packets


def test_odd_size_frames(tmp_path, carphone):
    _, info, frames = carphone
    width, height = info.width - 1, info.height - 1  # 175 x 143
    sources = [f.rgb[:height, :width] for f in frames[:12]]
    out = tmp_path / "odd.mp4"
    with atomic_output(out) as tmp, VideoWriter(tmp, width, height, info.fps) as writer:
        for rgb in sources:
            writer.write(rgb)
    back_info, back = _read_all(out)
    assert len(back) == len(sources)
    # yuv420p H.264 cannot hold odd sizes: the writer pads one edge-replicated row and column.
    assert (back_info.width, back_info.height) == (width + 1, height + 1)
    for src, got in zip(sources, back):
        assert got.rgb.shape == (height + 1, width + 1, 3)
        assert _mad(got.rgb[:height, :width], src) < 6
    # The padding repeats the edge instead of adding a black border.
    assert _mad(back[0].rgb[:height, width], sources[0][:, width - 1]) < 12
    assert _mad(back[0].rgb[height, :width], sources[0][height - 1, :]) < 12


# ---------------------------------------------------------------- atomic_output


def test_failure_leaves_nothing(tmp_path):
    target = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_output(target) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("boom")
    assert not target.exists()
    assert os.listdir(tmp_path) == []


def test_failure_mid_video_leaves_nothing(tmp_path, carphone):
    _, info, frames = carphone
    target = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp, VideoWriter(tmp, info.width, info.height, info.fps) as writer:
            for frame in frames[:5]:
                writer.write(frame.rgb)
            raise RuntimeError("stopped halfway")
    assert os.listdir(tmp_path) == []


def test_temporary_file_is_private_and_goes_with_its_directory(tmp_path):
    target = tmp_path / "out.png"
    with atomic_output(target) as tmp:
        # Beside the output (same file system, so the rename is atomic) but in a directory only
        # its owner can enter: a half-written swap is not readable by other users.
        assert tmp.parent.parent == tmp_path and tmp.name == "out.png"
        assert tmp.parent.is_dir() and stat.S_IMODE(tmp.parent.stat().st_mode) == 0o700
        tmp.write_bytes(b"result")
        private = tmp.parent
    assert not private.exists()
    assert os.listdir(tmp_path) == ["out.png"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_umask()  # the usual mode, not owner-only


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_failure_keeps_existing_output(tmp_path):
    target = tmp_path / "out.png"
    target.write_bytes(b"previous result")
    with pytest.raises(KeyboardInterrupt):
        with atomic_output(target) as tmp:
            tmp.write_bytes(b"half of a new one")
            raise KeyboardInterrupt
    assert target.read_bytes() == b"previous result"
    assert os.listdir(tmp_path) == ["out.png"]
    # A successful block does replace it.
    with atomic_output(target) as tmp:
        tmp.write_bytes(b"new result")
    assert target.read_bytes() == b"new result"
    assert os.listdir(tmp_path) == ["out.png"]


def test_output_may_not_be_an_input(tmp_path, monkeypatch):
    source = tmp_path / "in.mp4"
    source.write_bytes(samples.path("carphone_pristine.mp4").read_bytes())
    original = source.read_bytes()
    link = tmp_path / "link.mp4"
    link.symlink_to(source)
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    for output in (source, Path("in.mp4"), tmp_path / "sub" / ".." / "in.mp4", link):
        with pytest.raises(FacegraftError) as excinfo:
            with atomic_output(output, inputs=(source,)):
                pytest.fail("the block must not run")
        assert "same file as input" in _one_line(excinfo)
    with pytest.raises(FacegraftError):
        write_image(tmp_path / "in.png", np.zeros((4, 4, 3), np.uint8), inputs=(tmp_path / "in.png",))
    assert source.read_bytes() == original
    assert sorted(os.listdir(tmp_path)) == ["in.mp4", "link.mp4", "sub"]
    # A different name in the same place is fine.
    assert check_output_path(tmp_path / "out.mp4", (source,)) == tmp_path / "out.mp4"


def test_output_path_checks(tmp_path):
    with pytest.raises(FacegraftError) as excinfo:
        check_output_path(tmp_path)
    assert "directory" in _one_line(excinfo)
    with pytest.raises(FacegraftError) as excinfo:
        check_output_path(tmp_path / "missing" / "out.mp4")
    assert "does not exist" in _one_line(excinfo)


# ---------------------------------------------------------------- bad input


def _bad_inputs(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "folder.mp4").mkdir()
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "text.mp4").write_text("this is not a video\n")
    (tmp_path / "text.jpg").write_text("this is not an image\n")
    return {
        "missing": tmp_path / "missing.mp4",
        "directory": tmp_path / "folder.mp4",
        "empty": tmp_path / "empty.mp4",
        "text_mp4": tmp_path / "text.mp4",
        "text_jpg": tmp_path / "text.jpg",
    }


BAD = ["missing", "directory", "empty", "text_mp4", "text_jpg"]


@pytest.mark.parametrize("kind", BAD)
@pytest.mark.parametrize("opener", (_read_all, read_image, probe), ids=("video_reader", "read_image", "probe"))
def test_bad_input_is_a_one_line_error_naming_the_file(tmp_path, opener, kind):
    path = _bad_inputs(tmp_path)[kind]
    with pytest.raises(FacegraftError) as excinfo:
        opener(path)
    assert str(path) in _one_line(excinfo)


def test_probe_real_media():
    assert probe(samples.path("single_face.jpg")) is MediaKind.IMAGE
    assert probe(samples.path("astronaut.png")) is MediaKind.IMAGE
    assert probe(samples.path("single_face.mp4")) is MediaKind.VIDEO
    assert probe(samples.path("face_noface.mov")) is MediaKind.VIDEO


def test_truncated_video(tmp_path):
    data = samples.path("single_face.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.3)])
    with pytest.raises(FacegraftError) as excinfo:  # opening or iterating, either is fine
        _read_all(cut)
    assert str(cut) in _one_line(excinfo)


@pytest.mark.parametrize("where", ["30%", "90%", "packet boundary"])
def test_truncated_video_index_first(tmp_path, where):
    # With the index at the front (faststart) a cut file still opens and decodes up to the cut;
    # the reader must notice the missing rest instead of returning a short video.
    whole = tmp_path / "faststart.mp4"
    _remux_video(samples.path("single_face.mp4"), whole, options={"movflags": "faststart"})
    data = whole.read_bytes()
    if where == "packet boundary":
        size = _packet_ends(whole)[40]
    else:
        size = int(len(data) * int(where[:-1]) / 100)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[:size])
    assert len(_read_all(whole)[1]) == 72
    with pytest.raises(FacegraftError) as excinfo:
        _read_all(cut)
    assert "truncated" in _one_line(excinfo)


def test_edit_list_cut_is_not_truncated(tmp_path):
    # `ffmpeg -ss 1.7 -c copy` style output: 120 packets stored, the first 50 hidden by an edit list.
    cut = tmp_path / "trimmed.mp4"
    _remux_video(samples.path("carphone_pristine.mp4"), cut, shift_frames=50)
    info, frames = _read_all(cut)
    assert len(frames) == 70
    assert info.duration == pytest.approx(70 * 1001 / 30000, abs=0.05)


def test_audio_only_file(tmp_path):
    audio = tmp_path / "audio.mp4"
    with av.open(str(samples.path("single_face.mp4"))) as inp, av.open(str(audio), "w") as out:
        stream = out.add_stream_from_template(inp.streams.audio[0])
        for packet in inp.demux(inp.streams.audio[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    with pytest.raises(FacegraftError) as excinfo:
        VideoReader(audio)
    assert "no video stream" in _one_line(excinfo)
    with pytest.raises(FacegraftError):
        probe(audio)


def test_truncated_jpeg(tmp_path):
    data = samples.path("single_face.jpg").read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(FacegraftError) as excinfo:
        read_image(cut)
    assert str(cut) in _one_line(excinfo)


def test_video_is_not_an_image():
    path = samples.path("single_face.mp4")
    with pytest.raises(FacegraftError) as excinfo:
        read_image(path)
    assert str(path) in _one_line(excinfo)


def test_image_pixel_limit():
    with pytest.raises(FacegraftError) as excinfo:
        read_image(samples.path("astronaut.png"), max_pixels=100_000)  # 512 x 512 = 262,144
    assert "512x512" in _one_line(excinfo)


# ---------------------------------------------------------------- images


def test_read_image_real():
    rgb = read_image(samples.path("single_face.jpg"))
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
    assert rgb.flags.c_contiguous
    with Image.open(samples.path("single_face.jpg")) as im:
        assert rgb.shape[:2] == (im.height, im.width)
    astronaut = read_image(samples.path("astronaut.png"))
    assert astronaut.shape == (512, 512, 3)


def test_exif_orientation(tmp_path):
    with Image.open(samples.path("single_face.jpg")) as im:
        im = im.convert("RGB")
        # Same pixels encoded twice, once tagged "rotate 90 clockwise to display" (orientation 6).
        im.save(tmp_path / "plain.jpg", quality=95)
        exif = Image.Exif()
        exif[0x0112] = 6
        im.save(tmp_path / "tagged.jpg", quality=95, exif=exif.tobytes())
    plain = read_image(tmp_path / "plain.jpg")
    tagged = read_image(tmp_path / "tagged.jpg")
    assert plain.shape[0] != plain.shape[1], "sample must not be square for this test"
    assert tagged.shape == (plain.shape[1], plain.shape[0], 3)
    np.testing.assert_array_equal(tagged, np.rot90(plain, k=-1))


def test_write_png_round_trip(tmp_path):
    rgb = read_image(samples.path("0-f1-su-ph.jpg"))
    out = tmp_path / "out.png"
    text = {"Description": "Synthetic image: face swapped by facegraft — ünïcode ok", "Software": "facegraft 0.1"}
    assert write_image(out, rgb, text=text) == out
    np.testing.assert_array_equal(read_image(out), rgb)
    with Image.open(out) as im:
        assert im.format == "PNG"
        assert im.text["Description"] == text["Description"]
        assert im.text["Software"] == text["Software"]
    assert os.listdir(tmp_path) == ["out.png"]


@pytest.mark.parametrize("suffix", [".jpg", ".jpeg"])
def test_write_jpeg_round_trip(tmp_path, suffix):
    rgb = read_image(samples.path("0-f1-su-ph.jpg"))
    out = tmp_path / f"out{suffix}"
    write_image(out, rgb, text={"Description": "Synthetic image made by facegraft", "Software": "facegraft 0.1"})
    back = read_image(out)
    assert back.shape == rgb.shape
    assert _mad(back, rgb) < 3
    with Image.open(out) as im:
        assert im.format == "JPEG"
        exif = im.getexif()
        assert exif.get(0x010E) == "Synthetic image made by facegraft"
        assert exif.get(0x0131) == "facegraft 0.1"
    assert os.listdir(tmp_path) == [out.name]


def test_write_image_odd_size_and_bad_suffix(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, size=(7, 5, 3), dtype=np.uint8)
    write_image(tmp_path / "odd.png", rgb)
    np.testing.assert_array_equal(read_image(tmp_path / "odd.png"), rgb)
    with pytest.raises(FacegraftError) as excinfo:
        write_image(tmp_path / "out.bmp", rgb)
    assert ".png" in _one_line(excinfo)
    assert os.listdir(tmp_path) == ["odd.png"]


def test_frame_at_seeks_to_the_frame_on_screen(single_face):
    path, info, frames = single_face
    with VideoReader(path) as reader:
        for index in (0, 1, 35, len(frames) - 1):
            seconds = frames[index].time + 0.4 / float(info.fps)  # inside that frame's display time
            assert np.array_equal(reader.frame_at(seconds), frames[index].rgb), index


@pytest.mark.parametrize("size", [(10000, 8000), (10000, 9500)])
def test_too_large_image_names_the_limit(size, tmp_path):
    # 80 MP trips facegraft's own check; 95 MP already trips Pillow's decompression-bomb warning on open.
    Image.new("RGB", size).save(tmp_path / "huge.png", compress_level=1)
    with pytest.raises(FacegraftError, match=r"limit (is|of) 64 megapixels"):
        read_image(tmp_path / "huge.png")


def test_complete_mkv_reads_to_the_end_and_a_cut_one_is_refused(tmp_path):
    with VideoReader(samples.path("single_face.mp4")) as reader:
        info = reader.info
        with VideoWriter(tmp_path / "whole.mkv", info.width, info.height, info.fps) as writer:
            for frame in reader:
                writer.write(frame.rgb)
    with VideoReader(tmp_path / "whole.mkv") as reader:
        assert sum(1 for _ in reader) == 72
    data = (tmp_path / "whole.mkv").read_bytes()
    (tmp_path / "cut.mkv").write_bytes(data[: int(len(data) * 0.4)])
    with pytest.raises(FacegraftError, match=r"truncated: its frames stop at 0\.\d\d s of 2\.40 s"):
        with VideoReader(tmp_path / "cut.mkv") as reader:
            for _ in reader:
                pass
