"""Cold-start accuracy of the content baseline, plain ALS and hybrid ALS on ml-latest-small.

Run from the repository root::

    MOVIELENS_MIRROR=/path/to/mirror .venv/bin/python -m benchmarks.bench_cold_start
    .venv/bin/python -m benchmarks.bench_cold_start --n-factors 8 --n-iter 5   # quick

Loads the release with :func:`recsys_helpers.data.movielens.load` and calls
:func:`recsys_helpers.evaluation.experiments.cold_start_comparison` (cold: every rating of a seeded
10% of movies held out; warm: a seeded random 10% of ratings) and writes
``benchmarks/results/cold_start.{json,md}``, printing the markdown table.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from benchmarks import results_io
from recsys_helpers import config
from recsys_helpers.data import movielens
from recsys_helpers.evaluation.experiments import cold_start_comparison


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default=config.DEFAULT_DATASET)
    parser.add_argument("--n-factors", type=int, default=16)
    parser.add_argument("--n-iter", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    release = movielens.load(args.dataset, progress=False)
    ratings, movies, tags = release.ratings, release.movies, release.tags
    started = time.perf_counter()
    table = cold_start_comparison(
        ratings, movies, tags, n_factors=args.n_factors, n_iter=args.n_iter, random_state=args.seed
    )
    seconds = time.perf_counter() - started
    header = list(table.columns)
    markdown = (
        f"Cold start on {args.dataset} (K={args.n_factors}, {args.n_iter} sweeps, "
        f"seed {args.seed}; {seconds:.0f} s)\n\n"
        + results_io.markdown_table(header, [list(row) for row in table.itertuples(index=False)])
    )
    record = {
        "dataset": args.dataset,
        "settings": vars(args) | {"out_dir": str(args.out_dir)},
        "seconds": seconds,
        "rows": table.to_dict(orient="records"),
        "versions": results_io.versions(),
        "machine": results_io.machine(),
    }
    results_io.save("cold_start", record, markdown, args.out_dir)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
