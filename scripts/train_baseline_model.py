"""Train the baseline model through the training-pipeline flow (a thin entry kept for old habits).

    python scripts/train_baseline_model.py --auto-promote
    python scripts/train_baseline_model.py --trainer torch --device cuda

Without --auto-promote the run is registered and gated, but the champion does not move.
"""

from __future__ import annotations

import argparse

from rakuten_mlops.commands.common import apply_defaults


def main() -> None:
    """Parse the flags and run the flow; print the summary as JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--auto-promote", action="store_true", help="promote the model if it beats the champion"
    )
    parser.add_argument("--trainer", choices=["sklearn", "torch"], default="sklearn")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--search", choices=["off", "quick", "full"], default="quick")
    parser.add_argument(
        "--budget-minutes", type=float, help="search budget (default: sized by the catalogue)"
    )
    args = parser.parse_args()
    apply_defaults()
    from flows.pipeline_flow import training_pipeline

    summary = training_pipeline(
        trainer=args.trainer, device=args.device, promote=args.auto_promote, search=args.search,
        budget_minutes=args.budget_minutes,
    )  # fmt: skip
    print(summary.model_dump_json())


if __name__ == "__main__":
    main()
