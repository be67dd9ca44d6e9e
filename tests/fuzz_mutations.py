"""Byte-level mutations for the fuzz test (tests/test_fuzz.py), as JSON-able recipes.

A mutation is a dict: its `kind` and the explicit numbers it needs (offsets, lengths, seeds), so a
case that once failed can be written to tests/fuzz_corpus.json and replayed byte for byte on the
same base file. `plan` draws those numbers from a seeded `random.Random`; `mutate` applies them.
Offsets past the end of a (slightly different) base wrap around rather than fail, so a corpus
recipe still applies where an encoder made the base a few bytes longer or shorter.

Only the standard library here: the fuzz worker imports this module before any native decoder.
"""

from __future__ import annotations

import random
from typing import Any

Mutation = dict[str, Any]

# The first bytes of other formats, to put a wrong header on a file (with the suffix that format uses).
MAGIC: dict[str, tuple[bytes, str]] = {
    "png": (b"\x89PNG\r\n\x1a\n", ".png"),
    "jpeg": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01", ".jpg"),
    "gif": (b"GIF89a", ".gif"),
    "webp": (b"RIFF\x24\x00\x00\x00WEBPVP8 ", ".webp"),
    "mp4": (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", ".mp4"),
    "mov": (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ", ".mov"),
    "mkv": (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01", ".mkv"),
    "zip": (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", ".npz"),
    "bmp": (b"BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00\x00\x00", ".jpg"),
    "tiff": (b"II*\x00\x08\x00\x00\x00", ".png"),
    "json": (b'{"frame": 0, "time": ', ".jsonl"),
}

HEADER_BYTES = 1024  # "header region": where containers keep their signature, sizes and codec setup

KINDS = ("flip_header", "flip_body", "flips", "truncate_empty", "truncate_one", "truncate", "wrong_header",
         "zero_chunk", "shuffle_chunks", "duplicate_chunk", "junk_appended", "wrong_extension")


def plan(kind: str, size: int, rng: random.Random, suffix: str) -> tuple[Mutation, str]:
    """The mutation of `kind` for a base of `size` bytes, and the suffix the mutated file gets."""
    size = max(size, 2)
    head = min(size, HEADER_BYTES)
    if kind == "flip_header":
        return _flips(rng, [rng.randrange(head)]), suffix
    if kind == "flip_body":
        return _flips(rng, [rng.randrange(head, size) if size > head else rng.randrange(size)]), suffix
    if kind == "flips":
        count = rng.choice((2, 8, 64))
        return _flips(rng, sorted(rng.randrange(size) for _ in range(count))), suffix
    if kind == "truncate_empty":
        return {"kind": "truncate", "length": 0}, suffix
    if kind == "truncate_one":
        return {"kind": "truncate", "length": 1}, suffix
    if kind == "truncate":
        # Half the cuts inside the header, where parsers read sizes they then cannot find.
        length = rng.randrange(2, head) if rng.random() < 0.5 else rng.randrange(head, size) if size > head else 1
        return {"kind": "truncate", "length": length}, suffix
    if kind == "wrong_header":
        name = rng.choice(sorted(n for n, (_, s) in MAGIC.items() if s != suffix))
        mode = rng.choice(("overwrite", "prepend"))
        # Half of them also carry the suffix the false header claims: JPEG bytes behind a PNG header, named .png.
        new_suffix = MAGIC[name][1] if rng.random() < 0.5 else suffix
        return {"kind": "header", "format": name, "mode": mode}, new_suffix
    if kind == "zero_chunk":
        length = rng.choice((16, 256, 4096))
        return {"kind": "zero", "offset": rng.randrange(size), "length": length}, suffix
    if kind == "shuffle_chunks":
        chunk = rng.choice((64, 512, 4096))
        return {"kind": "shuffle", "offset": rng.randrange(size), "chunk": chunk, "count": rng.randrange(2, 9),
                "seed": rng.randrange(2**31)}, suffix
    if kind == "duplicate_chunk":
        return {"kind": "duplicate", "offset": rng.randrange(size), "length": rng.choice((8, 300, 5000)),
                "at": rng.randrange(size)}, suffix
    if kind == "junk_appended":
        return {"kind": "junk", "length": rng.choice((1, 17, 4096, 65536)), "seed": rng.randrange(2**31)}, suffix
    if kind == "wrong_extension":
        others = sorted({s for _, s in MAGIC.values()} - {suffix})
        return {"kind": "none"}, rng.choice(others)
    raise ValueError(f"unknown mutation kind {kind!r}")


def _flips(rng: random.Random, offsets: list[int]) -> Mutation:
    return {"kind": "flip", "offsets": offsets, "bits": [rng.randrange(8) for _ in offsets]}


def mutate(data: bytes, mutation: Mutation) -> bytes:
    """`data` changed as `mutation` says."""
    kind = mutation["kind"]
    if kind == "none":
        return data
    if kind == "truncate":
        return data[: mutation["length"]]
    if kind == "junk":
        return data + random.Random(mutation["seed"]).randbytes(mutation["length"])
    if kind == "header":
        magic = MAGIC[mutation["format"]][0]
        return magic + data if mutation["mode"] == "prepend" else magic + data[len(magic):]
    if not data:
        return data
    buf = bytearray(data)
    if kind == "flip":
        for offset, bit in zip(mutation["offsets"], mutation["bits"]):
            buf[offset % len(buf)] ^= 1 << bit
    elif kind == "zero":
        start = mutation["offset"] % len(buf)
        end = min(len(buf), start + mutation["length"])
        buf[start:end] = bytes(end - start)
    elif kind == "shuffle":
        start = mutation["offset"] % len(buf)
        chunk = mutation["chunk"]
        pieces = [bytes(buf[start + i * chunk: start + (i + 1) * chunk]) for i in range(mutation["count"])]
        random.Random(mutation["seed"]).shuffle(pieces)
        joined = b"".join(pieces)
        buf[start:start + len(joined)] = joined
    elif kind == "duplicate":
        start = mutation["offset"] % len(buf)
        piece = bytes(buf[start:start + mutation["length"]])
        at = mutation["at"] % len(buf)
        buf[at:at] = piece
    else:
        raise ValueError(f"unknown mutation kind {kind!r}")
    return bytes(buf)
