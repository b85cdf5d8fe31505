"""Write a real-text set as the challenge's X/Y files: `python -m scripts.datasets wordnet --output DIR`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scripts.datasets import debian_packages, wordnet
from scripts.datasets.common import TextDataset, write_challenge_files


def main(argv: list[str] | None = None) -> int:
    """Build the named set, write its files, print where they are with the row and class counts."""
    parser = argparse.ArgumentParser(prog="python -m scripts.datasets", description=__doc__)
    parser.add_argument("set", choices=["wordnet", "debian-packages"])
    parser.add_argument(
        "--output", type=Path, required=True, help="folder for X_<set>.csv, Y_<set>.csv, labels_<set>.csv"
    )
    parser.add_argument(
        "--source",
        choices=["apt", "dpkg"],
        default="apt",
        help="debian-packages: apt's indexes or dpkg's status",
    )
    parser.add_argument("--min-rows", type=int, default=20, help="debian-packages: smallest section kept")
    args = parser.parse_args(argv)
    try:
        dataset: TextDataset = (
            wordnet.build()
            if args.set == "wordnet"
            else debian_packages.build(args.source, min_rows=args.min_rows)
        )
    except (FileNotFoundError, OSError) as exc:
        print(f"cannot build {args.set}: {exc}", file=sys.stderr)
        return 1
    files = write_challenge_files(dataset, args.output)
    print(json.dumps({"set": dataset.name, "rows": dataset.rows, "classes": dataset.classes, "x": str(files.x),
                      "y": str(files.y), "labels": str(files.labels), "source": dataset.source}))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
