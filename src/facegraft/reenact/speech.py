"""Speech recognition and forced alignment with pocketsphinx: the phones of an utterance, with times.

pocketsphinx's wheel ships the US English acoustic model, the CMU dictionary and a word language
model, so this runs offline. Words are decoded first (or taken from a known transcript), then
aligned twice: a word-level pass, then the sub-word pass that gives each phone's start and length.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from facegraft.io.audio import SPEECH_RATE, Audio
from facegraft.models import SPEECH_MODEL, model_file

FRAME_SECONDS = 0.01  # pocketsphinx counts time in 10 ms frames
SILENCE = "SIL"
UNALIGNED = "?"  # speech whose words could not be aligned: the sound alone shapes the mouth there
CHUNK_PAUSE = 0.25  # seconds: recognised words are aligned in stretches split at pauses this long
CHUNK_PAD = 0.1  # seconds of audio kept either side of a stretch
NOISE_PHONES = ("+NSN+", "+SPN+", "+BREATH+", "+COUGH+", "+LAUGH+", "+SMACK+", "+UM+", "+UH+", "+GARBAGE+")


@dataclasses.dataclass(frozen=True)
class Phone:
    name: str  # ARPAbet without stress ("AA", "M"), or SIL for silence
    start: float  # seconds
    end: float


@dataclasses.dataclass(frozen=True)
class Recognition:
    words: tuple[str, ...]  # what was aligned (recognised or the transcript's known words)
    phones: tuple[Phone, ...]  # empty when nothing could be recognised or aligned
    problem: str | None  # why there are no phones, in a few words


def recognise(audio: Audio, transcript: str | None = None) -> Recognition:
    """The phones of `audio` (16 kHz mono), aligned to `transcript` when given, else to what is heard."""
    if audio.rate != SPEECH_RATE:
        raise ValueError(f"speech must be sampled at {SPEECH_RATE} Hz, not {audio.rate}")
    decoder = _decoder()
    pcm = _without_dc(audio.samples).tobytes()
    if transcript is not None:
        words = known_words(decoder, transcript)
        if not words:
            return Recognition((), (), "none of the transcript's words are in the English dictionary")
        phones = _align(decoder, pcm, words)
    else:
        timed = _decode_words(decoder, pcm)
        words = tuple(w for w, _, _ in timed)
        if not words:
            return Recognition((), (), "no English words were recognised")
        phones = _align_stretches(decoder, pcm, timed)
    if not any(p.name not in (SILENCE, UNALIGNED) for p in phones):
        return Recognition(words, (), "the words could not be aligned to the audio")
    return Recognition(words, phones, None)


def _decoder():
    # Found through the model list first, so a missing package is one line saying what to install.
    hmm = model_file(SPEECH_MODEL).parent
    # Imported here: the library is only needed for lip sync, and loading its model takes a second.
    import pocketsphinx
    return pocketsphinx.Decoder(hmm=str(hmm), dict=str(hmm.parent / "cmudict-en-us.dict"),
                                lm=str(hmm.parent / "en-us.lm.bin"), loglevel="FATAL")


def _without_dc(samples: np.ndarray) -> np.ndarray:
    # An offset in the recording shifts every feature; the model was trained on centred audio.
    centred = samples.astype(np.float64) - float(np.mean(samples))
    return np.clip(np.round(centred), -32768, 32767).astype(np.int16)


def _run(decoder, pcm: bytes) -> None:
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)  # the whole utterance at once: batch cepstral normalisation
    decoder.end_utt()


def _decode_words(decoder, pcm: bytes) -> list[tuple[str, float, float]]:
    """The recognised words with their start and end in seconds (alternative pronunciations' "(2)" dropped)."""
    _run(decoder, pcm)
    words = []
    for seg in decoder.seg():
        word = re.sub(r"\(\d+\)$", "", seg.word)
        if not word.startswith(("<", "[", "+")):
            words.append((word, seg.start_frame * FRAME_SECONDS, (seg.end_frame + 1) * FRAME_SECONDS))
    return words


def _align_stretches(decoder, pcm: bytes, timed: list[tuple[str, float, float]]) -> tuple[Phone, ...]:
    """Align each stretch of words between pauses on its own audio: one long utterance often has no
    path through all its words, and one bad stretch then costs only itself (marked UNALIGNED)."""
    phones: list[Phone] = []
    bytes_per_second = SPEECH_RATE * 2
    for stretch in _stretches(timed):
        start, end = max(0.0, stretch[0][1] - CHUNK_PAD), stretch[-1][2] + CHUNK_PAD
        chunk = pcm[int(start * SPEECH_RATE) * 2: int(end * SPEECH_RATE) * 2]
        aligned = _align(decoder, chunk, tuple(w for w, _, _ in stretch))
        if not aligned:
            phones.append(Phone(UNALIGNED, stretch[0][1], stretch[-1][2]))
            continue
        phones += [Phone(p.name, p.start + start, p.end + start) for p in aligned
                   if p.start + start < len(pcm) / bytes_per_second]
    return tuple(phones)


def _stretches(timed: list[tuple[str, float, float]]) -> list[list[tuple[str, float, float]]]:
    groups: list[list[tuple[str, float, float]]] = []
    for word in timed:
        if groups and word[1] - groups[-1][-1][2] < CHUNK_PAUSE:
            groups[-1].append(word)
        else:
            groups.append([word])
    return groups


def known_words(decoder, transcript: str) -> tuple[str, ...]:
    """The transcript as dictionary words: lower case, punctuation dropped, unknown words left out
    (alignment needs every word in the dictionary; a missing one only loses its mouth shapes)."""
    words = re.findall(r"[a-z']+", transcript.lower())
    return tuple(w for w in (w.strip("'") for w in words) if w and decoder.lookup_word(w) is not None)


def _align(decoder, pcm: bytes, words: tuple[str, ...]) -> tuple[Phone, ...]:
    try:
        decoder.set_align_text(" ".join(words))
        _run(decoder, pcm)
        decoder.set_alignment()
        _run(decoder, pcm)
        alignment = decoder.get_alignment()
    except RuntimeError:
        return ()  # the search found no path through the words (the audio does not hold them)
    if alignment is None:
        return ()
    phones = []
    for entry in alignment.phones():
        name = SILENCE if entry.name in NOISE_PHONES else re.sub(r"\d", "", entry.name)
        start = entry.start * FRAME_SECONDS
        phones.append(Phone(name, start, start + entry.duration * FRAME_SECONDS))
    return tuple(phones)
