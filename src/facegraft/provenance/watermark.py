"""Invisible watermark: a Reed-Solomon coded payload spread over mid-band block-DCT coefficients of
the Haar-DWT approximation of the frame's luminance, resized to a fixed working grid.

- Working grid: the luminance is resized to a fixed square before embedding and before reading,
  so the mark survives any rescaling (half-size downscales included) and any aspect ratio.
- DWT approximation band, low-to-mid DCT frequencies: what survives H.264 at CRF 32 and JPEG 70.
- Three layouts, one per kind of output (see SCHEMES): weak chips in every block for video and,
  weaker, for still images; a smaller grid for tiny frames. Reading tries all.
- Weighted reading: each block's chips count in inverse proportion to the block's own AC energy
  (the image is the noise a blind reader fights, and after a lossy re-encode it dominates busy
  blocks). Embedding cancels the image's weighted projection, the same one the reader measures.
- Spread spectrum with informed embedding: every bit is spread over many coefficients with a
  pseudo-random sign pattern; embedding cancels most of the image's own projection on that
  pattern, so reading needs no original.
- Reed-Solomon coding (8 parity bytes on a 4-byte payload) corrects up to 4 wrong bytes; the
  fixed marker plus the code's consistency make a false positive on unmarked media about one in
  a billion per read, and video decisions add up the evidence of many frames.
"""

from __future__ import annotations

import dataclasses
import functools
import zlib

import cv2
import numpy as np
from reedsolo import ReedSolomonError, RSCodec
from scipy.fft import dctn, idctn

MARKER = b"\xfa"  # "facegraft" in one byte
PAYLOAD_BYTES = 4  # marker (1) + version (1) + run id (2)
PARITY_BYTES = 8
BITS = 8 * (PAYLOAD_BYTES + PARITY_BYTES)
LEVELS = 1  # Haar DWT levels before the block DCT
BLOCK = 8
# Low-to-mid frequencies of each 8x8 block: kept by video and JPEG quantisation, not as visible as DC.


@dataclasses.dataclass(frozen=True)
class Scheme:
    """How the payload is spread on one working grid."""

    name: str
    grid: int  # side of the square working grid
    positions: tuple[tuple[int, int], ...]  # DCT coefficients of each 8x8 block that carry chips
    active: float  # share of blocks that carry chips
    strength: float  # chip amplitude (luminance units in the DCT domain)
    seed: int  # added to KEY for this layout


# Video: weak chips in every block, a little stronger than for stills because x264 at CRF 32 zeroes
# most coefficients under its quantiser step (at 22 it keeps enough of them: the weighted reading
# below finds every frame of single_face.mp4 alone after a CRF 32 re-encode). RMS about 3 grey
# levels on flat areas: a faint grain, seen at 200% on 640x360 and, side by side, at 100% on
# 960x540 (the fixed grid makes chips coarser on larger frames; a known defect).
VIDEO = Scheme("video", 512, ((1, 1), (1, 2), (2, 1)), 1.0, 22.0, 514)
# Still images need to survive JPEG 70 and half-size downscales, which keep weaker chips.
STILL = Scheme("still", 512, ((1, 1), (1, 2), (2, 1)), 1.0, 16.0, 513)
# Tiny frames (under 288 px) have too few blocks for either and use weak chips on a smaller grid.
SMALL = Scheme("small", 256, ((1, 2), (2, 1), (2, 2), (1, 3), (3, 1), (3, 2), (2, 3), (0, 3), (3, 0), (1, 1)),
               1.0, 11.0, 256)
SCHEMES = {scheme.name: scheme for scheme in (VIDEO, STILL, SMALL)}
SMALL_SIDE = 288  # frames whose short side is under this use SMALL
MIN_PSNR = 40.5  # the mark is scaled down on the rare frame where it would cost more than this
CANCEL = 0.9  # share of the image's own projection removed while embedding
KEY = zlib.crc32(b"facegraft watermark v1")
WEIGHT_FLOOR = 16.0  # noise energy below which a block counts as flat


@dataclasses.dataclass(frozen=True)
class Payload:
    version: int  # facegraft version packed as major*16 + minor
    run_id: int  # 16-bit id of the run that made the file

    def to_bytes(self) -> bytes:
        return MARKER + bytes([self.version & 0xFF]) + (self.run_id & 0xFFFF).to_bytes(2, "big")

    @staticmethod
    def from_bytes(data: bytes) -> "Payload | None":
        if len(data) != PAYLOAD_BYTES or data[:1] != MARKER:
            return None
        return Payload(version=data[1], run_id=int.from_bytes(data[2:4], "big"))

    @property
    def version_text(self) -> str:
        return f"{self.version >> 4}.{self.version & 0xF}"

    @property
    def run_text(self) -> str:
        return f"{self.run_id:04x}"


@dataclasses.dataclass(frozen=True)
class Reading:
    payload: Payload | None
    confidence: float  # 0..1: share of coded bits that agreed with the corrected codeword
    strength: float  # mean signed correlation over the coded bits, in units of the scheme's strength
    scheme: str = ""  # the layout it was read from (a SCHEMES name), "" when nothing was found


@functools.cache
def _codec() -> RSCodec:
    return RSCodec(PARITY_BYTES)



@functools.cache
def _layout(scheme: Scheme) -> tuple[np.ndarray, np.ndarray]:
    """For each chip (coefficient): which bit it carries (BITS = none) and its sign, fixed by the key."""
    blocks = (scheme.grid // 2 ** LEVELS // BLOCK) ** 2
    rng = np.random.default_rng(KEY + scheme.seed)
    active = np.zeros(blocks, bool)
    active[rng.permutation(blocks)[:max(1, int(round(blocks * scheme.active)))]] = True
    chip_active = np.repeat(active, len(scheme.positions))
    n_active = int(chip_active.sum())
    bit_of_chip = np.full(len(chip_active), BITS)
    bit_of_chip[chip_active] = rng.permutation(np.arange(n_active) % BITS)
    signs = np.where(chip_active, rng.choice(np.array([-1.0, 1.0], np.float32), size=len(chip_active)), 0.0)
    return bit_of_chip, signs.astype(np.float32)


def scheme_for(height: int, width: int, still: bool = False) -> Scheme:
    """The layout a frame of this size gets: tiny frames SMALL, otherwise STILL or VIDEO."""
    if min(height, width) < SMALL_SIDE:
        return SMALL
    return STILL if still else VIDEO


def _bits(data: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(data, np.uint8)).astype(np.float32) * 2 - 1


def _coefficients(luma: np.ndarray, grid: int) -> np.ndarray:
    """Block-DCT of the Haar-DWT approximation of the luminance on the working grid."""
    work = cv2.resize(luma, (grid, grid), interpolation=cv2.INTER_AREA)
    approx = haar_approximation(work)
    n = approx.shape[0] // BLOCK
    blocks = approx.reshape(n, BLOCK, n, BLOCK).transpose(0, 2, 1, 3)
    return dctn(blocks, axes=(2, 3), norm="ortho")


def haar_approximation(work: np.ndarray) -> np.ndarray:
    """The Haar-DWT approximation band LEVELS deep: pywt.wavedec2(work, "haar")[0], which per level
    is twice the mean of each 2x2 block. An exact 2x box average in OpenCV gives it about ten
    times faster than pywt's general filter bank, and every output frame pays for it."""
    for _ in range(LEVELS):
        h, w = work.shape
        work = cv2.resize(work, (w // 2, h // 2), interpolation=cv2.INTER_AREA) * 2.0
    return work


def haar_synthesis(approx: np.ndarray) -> np.ndarray:
    """The inverse Haar DWT, LEVELS deep, of an approximation band whose details are all zero:
    pywt.idwt2((approx, (None, None, None)), "haar") per level, which puts half of each value into
    each pixel of its 2x2 block. A nearest-neighbour upscale gives it exactly, about ten times faster."""
    for _ in range(LEVELS):
        h, w = approx.shape
        approx = cv2.resize(approx, (2 * w, 2 * h), interpolation=cv2.INTER_NEAREST) * 0.5
    return approx


def _chips(coeffs: np.ndarray, scheme: Scheme) -> np.ndarray:
    rows, cols = zip(*scheme.positions)
    return coeffs[:, :, rows, cols].reshape(-1)


def embed(rgb: np.ndarray, payload: Payload, still: bool = False) -> np.ndarray:
    """The frame with the payload hidden in its luminance (uint8 RGB in, uint8 RGB out).

    `still`: the frame is a still image (survives JPEG and rescaling), not a video frame (also
    survives H.264 re-encoding, at a slightly higher cost in PSNR)."""
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    luma = ycc[..., 0].astype(np.float32)
    h, w = luma.shape
    scheme = scheme_for(h, w, still)
    bit_of_chip, signs = _layout(scheme)
    coeffs = _coefficients(luma, scheme.grid)
    wanted = _bits(_codec().encode(payload.to_bytes()))
    # The last slot is for the chips no bit uses: they stay unchanged.
    per_bit = np.append(scheme.strength * wanted - CANCEL * _soft_bits(coeffs, scheme), 0.0)
    change = per_bit[bit_of_chip] * signs
    rows, cols = zip(*scheme.positions)
    n = coeffs.shape[0]
    # The transforms are linear, so the frame's change is the inverse transform of the change alone.
    delta_blocks = np.zeros_like(coeffs)
    delta_blocks[:, :, rows, cols] = change.reshape(n, n, len(scheme.positions))
    approx = idctn(delta_blocks, axes=(2, 3), norm="ortho").transpose(0, 2, 1, 3).reshape(n * BLOCK, n * BLOCK)
    delta = cv2.resize(haar_synthesis(approx.astype(np.float32)), (w, h), interpolation=cv2.INTER_LINEAR)
    rms = float(np.sqrt(np.mean(delta * delta)))
    limit = 255.0 / 10 ** (MIN_PSNR / 20)
    if rms > limit:
        delta *= limit / rms
    ycc[..., 0] = np.clip(luma + delta + 0.5, 0, 255).astype(np.uint8)
    return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)


def correlations(rgb: np.ndarray) -> dict[str, np.ndarray]:
    """Per scheme (by name), the soft value of every coded bit (sign = bit, size = evidence)."""
    luma = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)[..., 0].astype(np.float32)
    coefficients = {grid: _coefficients(luma, grid) for grid in {s.grid for s in SCHEMES.values()}}
    return {name: _soft_bits(coefficients[scheme.grid], scheme) for name, scheme in SCHEMES.items()}


def _soft_bits(coeffs: np.ndarray, scheme: Scheme) -> np.ndarray:
    """Weighted mean of each bit's chips (times their signs)."""
    bit_of_chip, signs = _layout(scheme)
    weights = np.repeat(_chip_weights(coeffs, scheme).reshape(-1), len(scheme.positions)) * np.abs(signs)
    num = np.bincount(bit_of_chip, weights=weights * signs * _chips(coeffs, scheme), minlength=BITS + 1)
    den = np.bincount(bit_of_chip, weights=weights, minlength=BITS + 1)
    return (num / np.maximum(den, 1e-12))[:BITS]


def _chip_weights(coeffs: np.ndarray, scheme: Scheme) -> np.ndarray:
    """Per block, how much to trust its chips: the inverse of the block's own AC energy outside them.

    After a lossy re-encode most of what a chip reads is the image itself, and busy blocks carry far
    more of it than flat ones; weighting by the inverse of that noise is the matched filter."""
    ac = coeffs ** 2
    ac[:, :, 0, 0] = 0.0
    rows, cols = zip(*scheme.positions)
    ac[:, :, rows, cols] = 0.0
    energy = ac.sum(axis=(2, 3)) / (BLOCK * BLOCK - 1 - len(scheme.positions))
    return 1.0 / (WEIGHT_FLOOR + energy)


def decode(soft: np.ndarray, scheme: str = VIDEO.name) -> Reading:
    """Payload from soft bit values, if the marker and the error-correcting code agree."""
    hard = np.packbits((soft > 0).astype(np.uint8)).tobytes()
    try:
        message, codeword, _ = _codec().decode(hard)
    except ReedSolomonError:
        return Reading(None, 0.0, 0.0)
    payload = Payload.from_bytes(bytes(message))
    if payload is None:
        return Reading(None, 0.0, 0.0)
    expected = _bits(bytes(codeword))
    agreement = float(np.mean(np.sign(soft) == expected))
    return Reading(payload, agreement, float(np.mean(soft * expected) / SCHEMES[scheme].strength), scheme)


def read(rgb: np.ndarray) -> Reading:
    """The best reading of one frame over the schemes."""
    readings = [decode(soft, name) for name, soft in correlations(rgb).items()]
    return max(readings, key=lambda r: (r.payload is not None, r.confidence))
