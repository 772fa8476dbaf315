"""Time-aware biases on ml-latest-small: the ablation table and the search behind the defaults.

Run from the repository root::

    MOVIELENS_MIRROR=/path/to/mirror .venv/bin/python -m benchmarks.bench_temporal
    MOVIELENS_MIRROR=/path/to/mirror .venv/bin/python -m benchmarks.bench_temporal --tune

Default: :func:`recsys_helpers.evaluation.temporal.time_effects_ablation` with the
estimator's defaults on two splits, the benchmark split (``random_split(ratings, 0.1,
random_state=42)``, as ``benchmarks/protocol.py``) and each user's last ``--last-k``
ratings held out (:func:`recsys_helpers.data.split.last_k_split`), and the cost of a sweep
with every time term relative to one without (median of ``--repeats`` fits of each);
writes ``benchmarks/results/temporal.{json,md}``.

``--tune``: the validation search the defaults of
:class:`~recsys_helpers.models.temporal.TimeAwareMF` come from. The benchmark split's
training part is split again 90/10 (seed 7); the test part is never used. Two stages, the
second around the best point of the first: the time penalties (``reg_day``, ``reg_drift``,
``reg_bin``), then ``reg`` and ``reg_bias``; then, around that point, the sensitivity to
``n_bins`` and ``beta`` and the spread over three initialisation seeds (the scale of
differences that mean nothing); writes ``benchmarks/results/temporal_tuning.{json,md}``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from benchmarks import results_io
from recsys_helpers import config
from recsys_helpers.data import movielens
from recsys_helpers.data.split import last_k_split, random_split
from recsys_helpers.evaluation.temporal import shared_user_days, time_effects_ablation
from recsys_helpers.evaluation.tuning import best_params, grid_search
from recsys_helpers.models.temporal import TIME_EFFECTS, TimeAwareMF

STAGES = (
    {
        "reg_day": [3.0, 10.0, 30.0],
        "reg_drift": [10.0, 100.0, 1000.0, 10000.0],
        "reg_bin": [10.0, 50.0, 200.0],
    },
    {"reg": [10.0, 12.0, 15.0, 20.0], "reg_bias": [2.0, 3.0, 5.0]},
)
"""The validation search: each stage's grid, tried around the best point so far."""

SENSITIVITY = (
    {"n_bins": [15, 30, 60], "beta": [0.2, 0.4, 0.6]},
    {"random_state": [0, 1, 2]},
)
"""Grids tried around the best point to show how little they move the validation RMSE."""


def tune(train, out_dir) -> str:
    """Run :data:`STAGES` on a 90/10 split of ``train`` (seed 7); the markdown report."""
    fit, valid = random_split(train, 0.1, random_state=7)
    best, tables, lines, records = {}, [], [], []
    for number, grid in enumerate(STAGES + SENSITIVITY, start=1):
        fixed = {name: [value] for name, value in best.items() if name not in grid}
        stage = grid_search((fit, valid), {**fixed, **grid}, estimator=TimeAwareMF)
        winner = stage.loc[stage["rank"] == 1].iloc[0]
        if number <= len(STAGES):
            best = best_params(stage)
            lines.append(
                f"stage {number}: best {best} (validation RMSE {winner['valid_rmse']:.4f})"
            )
        else:
            spread = stage["valid_rmse"].max() - stage["valid_rmse"].min()
            lines.append(f"around it, {', '.join(grid)}: validation RMSE spread {spread:.4f}")
        columns = [*grid, "valid_rmse"]
        rows = [[*row[:-1], f"{row[-1]:.4f}"] for row in stage[columns].itertuples(index=False)]
        tables.append(results_io.markdown_table(columns, rows))
        records.append(stage.assign(stage=number).to_dict(orient="records"))
    defaults = TimeAwareMF().get_params()
    markdown = "\n".join(
        ["Validation search for TimeAwareMF (ml-latest-small, seed 42, then 90/10 seed 7)", ""]
        + lines
        + ["", f"defaults now: { {k: defaults[k] for k in best} }", ""]
        + tables
    )
    record = {
        "stages": records,
        "best": best,
        "versions": results_io.versions(),
        "machine": results_io.machine(),
    }
    results_io.save("temporal_tuning", record, markdown, out_dir)
    return markdown


def sweep_ratio(train, repeats: int) -> tuple[float, list[float], list[float]]:
    """Median seconds per sweep with every time term over that without, in the same run.

    ``repeats`` fits of each, alternated; each fit contributes the median of its 15 sweeps.
    """
    seconds = {"none": [], "all": []}
    for _ in range(repeats):
        for name, effects in (("none", ()), ("all", TIME_EFFECTS)):
            model = TimeAwareMF(time_effects=effects).fit(train)
            seconds[name].append(float(model.history_["seconds"].median()))
    return float(np.median(seconds["all"]) / np.median(seconds["none"])), *seconds.values()


def ablation(ratings, last_k: int, repeats: int, out_dir) -> str:
    """The ablation on the benchmark split and on the last-k split; the markdown report."""
    splits = {
        "random 90/10 (seed 42)": random_split(ratings, 0.1, random_state=42),
        f"last {last_k} per user": last_k_split(ratings, last_k),
    }
    parts, record = [], {"splits": {}}
    columns = ["variant", "rmse", "mae", "gain", "train_rmse", "fit_seconds"]
    for name, (train, test) in splits.items():
        table, _ = time_effects_ablation(train, test)
        shared = shared_user_days(train, test)
        rows = [
            [row[0], *(f"{value:.4f}" for value in row[1:5]), f"{row[5]:.1f}"]
            for row in table[columns].itertuples(index=False)
        ]
        parts.append(
            f"### {name}: {len(train):,} training, {len(test):,} test ratings; "
            f"{shared:.1%} of the test ratings share a (user, day) with training\n\n"
            + results_io.markdown_table(columns, rows)
        )
        record["splits"][name] = {
            "n_train": len(train),
            "n_test": len(test),
            "shared_user_days": shared,
            "rows": table.to_dict(orient="records"),
        }
    ratio, none, every = sweep_ratio(splits["random 90/10 (seed 42)"][0], repeats)
    parts.append(
        f"One sweep with every time term takes {ratio:.2f}x one without (median of {repeats} "
        f"fits each, alternated; seconds per sweep without {np.median(none):.3f}, with "
        f"{np.median(every):.3f})\n"
    )
    record |= {
        "sweep_ratio_all_vs_none": ratio,
        "sweep_seconds": {"none": none, "all": every},
        "versions": results_io.versions(),
        "machine": results_io.machine(),
    }
    markdown = "\n".join(parts)
    results_io.save("temporal", record, markdown, out_dir)
    return markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default=config.DEFAULT_DATASET)
    parser.add_argument("--tune", action="store_true", help="run the validation search")
    parser.add_argument("--last-k", type=int, default=10, help="test ratings per user")
    parser.add_argument("--repeats", type=int, default=3, help="timed fits of each model")
    parser.add_argument("--out-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    warnings.simplefilter("ignore", ConvergenceWarning)
    ratings = movielens.load_ratings(args.dataset, progress=False)
    if args.tune:
        train, _ = random_split(ratings, 0.1, random_state=42)
        print(tune(train, args.out_dir))
    else:
        print(ablation(ratings, args.last_k, args.repeats, args.out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
