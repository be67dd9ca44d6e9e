"""Invisible watermark: a Reed-Solomon coded payload spread over mid-band block-DCT coefficients of
the Haar-DWT approximation of the frame's luminance, resized to a square working grid.

- Working grid: the luminance is resized to a square grid before embedding and before reading,
  so the mark survives rescaling (half-size downscales included) and any aspect ratio. The grid
  grows with the frame (LAYOUTS), so a chip covers about the same number of pixels on a 360p and
  a 1080p frame: on a fixed grid larger frames got coarser, more visible grain.
- DWT approximation band, low-to-mid DCT frequencies: what survives H.264 at CRF 32 and JPEG 70.
- Perceptual shaping: each block's chips are as strong as a contrast-masking model of the eye
  (the perceptual module) lets them be there unseen, at MARGIN of the threshold and under a cap.
  A fixed strength showed as a mottled grain on flat bright areas (a white door, a clear sky)
  while textured blocks, which hide far more, carried no more than they did. Video frames get
  higher caps than still images, which need not survive H.264. The reader needs no original and
  does not need to know which was used: it computes the same allowance from what it reads.
- Weighted reading, the matched filter: each block's chips count by the amplitude the allowance
  gave them over the block's own AC energy (the image is the noise a blind reader fights, and
  after a lossy re-encode it dominates busy blocks). Embedding cancels most of the image's
  weighted projection on every bit's chips, the one the reader measures (informed embedding).
- Reed-Solomon coding (8 parity bytes on a 4-byte payload), decoded by maximum likelihood: the
  reader scores every one of the 2^24 payloads that carry the facegraft marker against the soft
  evidence and keeps the best, which needs about half the evidence hard-decision decoding does.
- Detection threshold (Z_MIN): a payload's score is its correlation with the chips, in standard
  deviations of the picture's own contribution. On unmarked media each chip's sign comes from the
  key, independent of the picture, so a score is a Rademacher sum and P(score >= z) <= 4.46 Q(z)
  (Pinelis 1994); over all payloads and grids, under one false positive in a billion reads.
  Video decisions add up the chips of many frames (a chip's sign is the same in every frame, so
  it is the sums that enter the bound).
"""

from __future__ import annotations

import dataclasses
import functools
import zlib

import cv2
import numpy as np
from reedsolo import ReedSolomonError, RSCodec
from scipy.fft import dctn

from facegraft.provenance.perceptual import GRID_BLOCK, least_allowance_per_block

MARKER = b"\xfa"  # "facegraft" in one byte
PAYLOAD_BYTES = 4  # marker (1) + version (1) + run id (2)
PARITY_BYTES = 8
BITS = 8 * (PAYLOAD_BYTES + PARITY_BYTES)
LEVELS = 1  # Haar DWT levels before the block DCT
BLOCK = 8


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where the chips of the payload go on one square working grid, and how strong they are."""

    grid: int  # side of the working grid
    positions: tuple[tuple[int, int], ...]  # DCT coefficients of each 8x8 block that carry chips
    seed: int  # added to KEY for this layout
    video_strength: float  # the most a chip may be given (luminance units in the DCT domain) on video frames
    still_strength: float  # on still images
    floor: float = 0.0  # the least a chip gets, even where the eye could see it

    @property
    def name(self) -> str:
        return f"grid {self.grid}"


# Low-to-mid frequencies of each 8x8 block: kept by video and JPEG quantisation, not as visible as DC.
MID = ((1, 1), (1, 2), (2, 1))
# Tiny frames (short side under 288 px) have few blocks, so each carries more, slightly higher, chips.
TINY = ((1, 2), (2, 1), (2, 2), (1, 3), (3, 1), (3, 2), (2, 3), (0, 3), (3, 0), (1, 1))
# Each block's chips are as strong as the eye allows there (the perceptual allowance), up to these
# caps: a flat sky gets faint chips, textured blocks stronger ones. Video frames get higher caps
# than stills, which need only survive JPEG 70 and half size, not x264 at CRF 32. Larger grids
# carry four and sixteen times the chips of the 512 one, so each can be weaker; tiny frames get
# one fixed strength, what the PSNR budget of 25k pixels allows: with 256 blocks, shaped chips (faint
# flat ones, stronger busy ones) lost the mark at CRF 23 (carphone: 0-10.7 against 13-15 fixed).
LAYOUTS = (Layout(256, TINY, 256, 11.0, 11.0, floor=11.0), Layout(512, MID + ((2, 2),), 514, 28.0, 21.0),
           Layout(1024, MID, 1024, 20.0, 16.0), Layout(2048, MID, 2048, 20.0, 16.0))
_LAYOUT_BY_NAME = {layout.name: layout for layout in LAYOUTS}
# Grid by the frame's short side: each grid serves short sides from about half its size up.
SHORT_SIDE_FROM = {256: 0, 512: 288, 1024: 540, 2048: 1080}
MIN_PSNR = 40.5  # the mark is scaled down on the rare frame where it would cost more than this
CANCEL = 0.9  # share of the image's own projection removed while embedding
MARGIN = 0.7  # chips reach this share of the threshold of visibility, where their cap allows
KEY = zlib.crc32(b"facegraft watermark v1")
WEIGHT_FLOOR = 16.0  # noise energy below which a block counts as flat
# 2^24 payloads x 4 grids x 4.46 Q(8.7) is 5e-10: the false-positive rate per read.
Z_MIN = 8.7


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
    confidence: float  # 0..1: share of coded bits whose sign agrees with the payload's codeword
    score: float  # evidence for the payload in standard deviations of an unmarked read (>= Z_MIN)
    layout: str = ""  # the layout it was read from (a Layout name), "" when nothing was found


NOTHING = Reading(None, 0.0, 0.0)


@functools.cache
def _codec() -> RSCodec:
    return RSCodec(PARITY_BYTES)


@functools.cache
def _chip_plan(layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """For each chip (coefficient): which bit it carries and its sign, fixed by the key."""
    chips = (layout.grid // 2 ** LEVELS // BLOCK) ** 2 * len(layout.positions)
    rng = np.random.default_rng(KEY + layout.seed)
    bit_of_chip = rng.permutation(np.arange(chips) % BITS)
    signs = rng.choice(np.array([-1.0, 1.0], np.float32), size=chips)
    return bit_of_chip, signs


def layout_for(height: int, width: int) -> Layout:
    """The layout a frame of this size is marked with."""
    short = min(height, width)
    return [layout for layout in LAYOUTS if short >= SHORT_SIDE_FROM[layout.grid]][-1]


def layouts_to_read(height: int, width: int) -> list[Layout]:
    """Every layout a frame of this size may carry: its own, and those of frames up to about
    twice as large, downscaled."""
    short = min(height, width)
    return [layout for layout in LAYOUTS if 2.1 * short >= SHORT_SIDE_FROM[layout.grid]]


def _bits(data: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(data, np.uint8)).astype(np.float32) * 2 - 1


def _block_dct(approx: np.ndarray) -> np.ndarray:
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


def _chips(coeffs: np.ndarray, layout: Layout) -> np.ndarray:
    rows, cols = zip(*layout.positions)
    return coeffs[:, :, rows, cols].reshape(-1)


def embed(rgb: np.ndarray, payload: Payload, still: bool = False) -> np.ndarray:
    """The frame with the payload hidden in its luminance (uint8 RGB in, uint8 RGB out).

    `still`: the frame is a still image (survives JPEG and rescaling), not a video frame (also
    survives H.264 re-encoding, so its chips may be stronger where the picture masks them)."""
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    luma = ycc[..., 0].astype(np.float32)
    h, w = luma.shape
    layout = layout_for(h, w)
    bit_of_chip, signs = _chip_plan(layout)
    coeffs, unseen = _analysis(luma, layout)
    amplitude = np.clip(unseen, layout.floor, layout.still_strength if still else layout.video_strength)
    weighted, weights = _chip_evidence(coeffs, layout, unseen)
    # Informed embedding: remove most of the picture's own projection on each bit, as the reader
    # weighs it, and add the bit's own; each block's chips scaled to what it hides unseen.
    reach = np.repeat(amplitude.reshape(-1), len(layout.positions))
    spread = np.bincount(bit_of_chip, weights=weights * reach, minlength=BITS)
    num = np.bincount(bit_of_chip, weights=signs * weighted, minlength=BITS)
    per_bit = _bits(_codec().encode(payload.to_bytes())) - CANCEL * num / np.maximum(spread, 1e-12)
    n = coeffs.shape[0]
    change = (per_bit[bit_of_chip] * signs * reach).reshape(n, n, len(layout.positions)).astype(np.float32)
    # The cancelling share can push a block past what it hides: hold each block to its allowance.
    size = np.sqrt(np.sum(change * change, axis=2))
    most = np.maximum(unseen, layout.floor) * np.sqrt(len(layout.positions))
    change *= np.minimum(1.0, most / np.maximum(size, 1e-6))[..., None]
    # The transforms are linear, so the frame's change is the inverse transform of the change alone:
    # per block, the chips' DCT basis patterns times their values.
    approx = np.einsum("ijk,kab->iajb", change, _basis(layout.positions)).reshape(n * BLOCK, n * BLOCK)
    delta = cv2.resize(haar_synthesis(approx), (w, h), interpolation=cv2.INTER_LINEAR)
    rms = float(np.sqrt(np.mean(delta * delta)))
    limit = 255.0 / 10 ** (MIN_PSNR / 20)
    if rms > limit:
        delta *= limit / rms
    ycc[..., 0] = np.clip(luma + delta + 0.5, 0, 255).astype(np.uint8)
    return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)


def _analysis(luma: np.ndarray, layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """The block-DCT of the frame's DWT band on the layout's grid, and per block the chip amplitude
    that stays under the threshold of visibility all over the block (the perceptual allowance)."""
    work = cv2.resize(luma, (layout.grid, layout.grid), interpolation=cv2.INTER_AREA)
    coeffs = _block_dct(haar_approximation(work))
    n = coeffs.shape[0]
    h, w = luma.shape
    rms = least_allowance_per_block(luma, GRID_BLOCK * np.sqrt(h * w) / layout.grid, n)
    # A block's pattern of K chips of amplitude a has an RMS of a sqrt(K) / 16 on the grid (the
    # orthonormal 8x8 DCT, and the inverse Haar step halving it); resizing keeps the RMS.
    return coeffs, MARGIN * rms * 2 * BLOCK / np.sqrt(len(layout.positions))


@functools.cache
def _basis(positions: tuple[tuple[int, int], ...]) -> np.ndarray:
    """The 8x8 pattern of each chip position: its orthonormal DCT-II basis image."""
    dct = dctn(np.eye(BLOCK), axes=(0,), norm="ortho")  # row k: frequency k at each sample
    return np.stack([np.outer(dct[r], dct[c]) for r, c in positions]).astype(np.float32)


def evidence(rgb: np.ndarray) -> dict[str, np.ndarray]:
    """Per layout the frame may carry (by name), every chip's weighted value and its weight
    (2 x chips). The evidence of several frames of one video is their sum."""
    luma = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)[..., 0].astype(np.float32)
    found = {}
    for layout in layouts_to_read(*luma.shape):
        coeffs, unseen = _analysis(luma, layout)
        found[layout.name] = np.stack(_chip_evidence(coeffs, layout, unseen))
    return found


def _chip_evidence(coeffs: np.ndarray, layout: Layout, unseen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each chip's weighted value and its weight: the matched filter, the amplitude a block's chips
    were given over the noise the picture puts on them."""
    reach = np.clip(unseen, layout.floor, layout.video_strength)
    weights = np.repeat((reach * _chip_weights(coeffs, layout)).reshape(-1), len(layout.positions))
    return weights * _chips(coeffs, layout), weights


def _bit_sums(values: np.ndarray, layout: Layout) -> tuple[np.ndarray, np.ndarray, float]:
    """Per coded bit, the signed sum of its chips' weighted values and the sum of their weights; and
    the root of the summed squares of the chip values: the spread a payload's sum has when the
    chips hold only the picture."""
    bit_of_chip, signs = _chip_plan(layout)
    weighted, weights = values
    num = np.bincount(bit_of_chip, weights=signs * weighted, minlength=BITS)
    den = np.bincount(bit_of_chip, weights=weights, minlength=BITS)
    return num, den, float(np.sqrt(np.sum(weighted ** 2)))


def _chip_weights(coeffs: np.ndarray, layout: Layout) -> np.ndarray:
    """Per block, how much to trust its chips: the inverse of the block's own AC energy outside them.

    After a lossy re-encode most of what a chip reads is the image itself, and busy blocks carry far
    more of it than flat ones; weighting by the inverse of that noise is the matched filter."""
    ac = coeffs ** 2
    ac[:, :, 0, 0] = 0.0
    rows, cols = zip(*layout.positions)
    ac[:, :, rows, cols] = 0.0
    energy = ac.sum(axis=(2, 3)) / (BLOCK * BLOCK - 1 - len(layout.positions))
    return 1.0 / (WEIGHT_FLOOR + energy)


def decode(values: np.ndarray, layout: str, threshold: float = Z_MIN) -> Reading:
    """The payload the evidence of one layout (by name) carries, if its score reaches `threshold`
    (a lower one shows how close unmarked media come)."""
    num, den, noise = _bit_sums(values, _LAYOUT_BY_NAME[layout])
    if noise == 0.0:
        return NOTHING
    message = _hard_decode(num)
    if message is None or _score(num, message, noise) < threshold:
        if np.abs(num).sum() < threshold * noise:  # no codeword at all can reach it
            return NOTHING
        message = _most_likely(num)
    codeword = _codeword(message)
    score = float(num @ codeword / noise)
    if score < threshold:
        return NOTHING
    agreement = float(np.mean(np.sign(num) == codeword))
    return Reading(Payload.from_bytes(message), agreement, score, layout)


def _codeword(message: bytes) -> np.ndarray:
    return _bits(bytes(_codec().encode(message)))


def _score(num: np.ndarray, message: bytes, noise: float) -> float:
    return float(num @ _codeword(message) / noise)


def _hard_decode(num: np.ndarray) -> bytes | None:
    """The quick answer when the evidence is strong: Reed-Solomon on the signs of the bits."""
    try:
        message, _, _ = _codec().decode(np.packbits((num > 0).astype(np.uint8)).tobytes())
    except ReedSolomonError:
        return None
    return bytes(message) if bytes(message[:1]) == MARKER else None


def _most_likely(num: np.ndarray) -> bytes:
    """The message (marker plus 24 free bits) whose codeword correlates best with the evidence.

    The code is linear over GF(2), so codeword(x) = codeword(0) xor f(high 12 bits) xor g(low 12
    bits); in +-1 form the xors are products, and all 2^24 correlations are one 4096 x 96 x 4096
    matrix product."""
    base, high, low = _codeword_tables()
    weighted = high * (num * base).astype(np.float32)
    best, best_at = -np.inf, 0
    for start in range(0, len(high), 1024):  # 16 MB of scores at a time
        scores = weighted[start:start + 1024] @ low.T
        at = int(np.argmax(scores))
        if scores.flat[at] > best:
            best, best_at = float(scores.flat[at]), start * len(low) + at
    return MARKER + best_at.to_bytes(3, "big")


@functools.cache
def _codeword_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """+-1 codeword of the marker with zero bits, and the +-1 flips that each value of the high and
    of the low 12 free bits makes to it (4096 x BITS each)."""
    # free bit k alone, as 0/1 codeword bits
    basis = np.array([_codeword(bytes(1) + (1 << k).to_bytes(3, "big")) > 0 for k in range(24)], np.int64)
    values = (np.arange(4096)[:, None] >> np.arange(12)) & 1
    flips = lambda rows: (1 - 2 * ((values @ rows) % 2)).astype(np.float32)  # noqa: E731
    return _codeword(MARKER + bytes(3)), flips(basis[12:]), flips(basis[:12])


def read(rgb: np.ndarray) -> Reading:
    """The reading of one frame."""
    return best_reading(evidence(rgb), rgb.shape[:2])


def best_reading(values: dict[str, np.ndarray], size: tuple[int, int]) -> Reading:
    """The reading of evidence from frames of `size` (height, width): on their own layout if the
    mark is there, else the best of the layouts a larger original would have carried (a search
    of those costs tens of ms each, so it is skipped when the frame's own layout answers)."""
    own = layout_for(*size).name
    first = decode(values[own], own)
    if first.payload is not None:
        return first
    others = [decode(v, name) for name, v in values.items() if name != own]
    return max([first, *others], key=lambda r: (r.payload is not None, r.score))
