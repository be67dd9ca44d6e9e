"""Show that a change leaves outputs byte-identical: run swap, reenact and analyze on the sample
media with a fixed run id and creation time, and compare the outputs' sha256 with another revision.

    python scripts/same_outputs.py                 # this tree against HEAD
    python scripts/same_outputs.py --against REV   # ... against any git revision
    python scripts/same_outputs.py --only          # just print this tree's hashes

The other revision is checked out into a temporary git worktree and run with the same Python
(its own `src/` first on the path), so both sides share the venv, the media cache and the machine.
The run id and time are fixed by patching `secrets.randbits` and `time.gmtime` in the child
process, which works for any revision, old or new. Exit status 0 when every output matches.

Each side runs every case twice (three times while any hash varies), so an output that is not
repeatable run to run shows as such instead of as a difference; a case counts as the same when the
two sides share a hash. (Reenacting `single_face.jpg` as the portrait is such a case, so it is
not used here: its output varies slightly from run to run even on one revision.)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Each case: output file name and the CLI arguments (sample names are resolved from the media cache).
CASES = (
    ("swap_image.png", ["swap", "--consent", "--source", "{astronaut.png}", "--target", "{45-m7-di-ph.jpg}"]),
    ("swap_video.mp4", ["swap", "--consent", "--source", "{astronaut.png}", "--target", "{single_face.mp4}"]),
    ("swap_fast.mp4", ["swap", "--consent", "--preset", "fast", "--source", "{single_face.jpg}",
                       "--target", "{carphone_pristine.mp4}"]),
    ("reenact_video.mp4", ["reenact", "--consent", "--source", "{astronaut.png}", "--driver", "{carphone_pristine.mp4}"]),
    ("analyze.jsonl", ["analyze", "--quiet", "{single_face.mp4}"]),
    ("analyze.csv", ["analyze", "--quiet", "{carphone_pristine.mp4}"]),
    ("analyze_image.jsonl", ["analyze", "--quiet", "{0-f1-su-ph.jpg}"]),
    ("reenact_motion.mp4", ["reenact", "--consent", "--source", "{0-f15-hao-ph.jpg}", "--driver", "@analyze.jsonl"]),
)

CHILD = r"""
import secrets, sys, time
secrets.randbits = lambda k: 0xBEEF & ((1 << k) - 1)
_fixed = time.struct_time((2026, 1, 2, 3, 4, 5, 4, 2, 0))
time.gmtime = lambda *a: _fixed
from facegraft.cli import main
sys.exit(main(sys.argv[1:]))
"""


def sample(name: str) -> str:
    cache = Path(os.environ.get("FACEGRAFT_CACHE", Path.home() / ".cache" / "facegraft"))
    return str(cache / "media" / name)


def run_tree(src: Path, out: Path, tries: int = 1) -> dict[str, set[str]]:
    """Hashes of each case's output; a case is run up to `tries` times while its hash keeps changing."""
    hashes: dict[str, set[str]] = {}
    for attempt in range(tries):
        for name, got in run_once(src, out).items():
            hashes.setdefault(name, set()).add(got)
        if attempt >= 1 and all(len(h) == 1 for h in hashes.values()):
            break
    return hashes


def run_once(src: Path, out: Path) -> dict[str, str]:
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(src))
    hashes = {}
    for name, args in CASES:
        argv = [sample(a[1:-1]) if a.startswith("{") else a for a in args]
        argv = [str(out / a[1:]) if a.startswith("@") else a for a in argv]
        argv += ["--output", str(out / name)]
        done = subprocess.run([sys.executable, "-c", CHILD, *argv], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            hashes[name] = f"failed: {done.stderr.strip().splitlines()[-1:] or done.returncode}"
            continue
        hashes[name] = hashlib.sha256((out / name).read_bytes()).hexdigest()
    return hashes


def other_tree(rev: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where), rev], check=True,
                   capture_output=True)
    return where


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="HEAD", help="git revision to compare with (default HEAD)")
    parser.add_argument("--only", action="store_true", help="only print this tree's hashes")
    parser.add_argument("--json", help="write the hashes of both sides to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="facegraft-same-") as tmp:
        mine = run_tree(ROOT / "src", Path(tmp) / "this", tries=1 if args.only else 3)
        if args.only:
            print(json.dumps({k: sorted(v) for k, v in mine.items()}, indent=1))
            return 0
        tree = other_tree(args.against, Path(tmp) / "tree")
        try:
            theirs = run_tree(tree / "src", Path(tmp) / "other", tries=3)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True)
    same = True
    for name, _ in CASES:
        common = mine[name] & theirs[name]
        ok = bool(common) and not any(h.startswith("failed") for h in common)
        same &= ok
        note = "" if len(mine[name]) == len(theirs[name]) == 1 else "  (not repeatable run to run; a shared hash counts)"
        shown = lambda hs: ",".join(h[:12] for h in sorted(hs))
        print(f"{'same' if ok else 'DIFFERENT':9s} {name:22s} {shown(mine[name])}  {args.against}: {shown(theirs[name])}{note}")
    if args.json:
        Path(args.json).write_text(json.dumps({"this": {k: sorted(v) for k, v in mine.items()},
                                               args.against: {k: sorted(v) for k, v in theirs.items()}}, indent=1))
    print("all outputs byte-identical" if same else "outputs differ")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
