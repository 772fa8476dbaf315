"""Gibbs samples per second of BayesianMF against K, beside exact ALS sweeps in the same run.

One Gibbs sample = the hyperparameter draws, every user's draw, then every movie's
(``BayesianMF._sweep``); one ALS sweep = every user's exact ridge solve, then every movie's
(``BiasedMF._sweep``). Both are timed by their ``history_.seconds`` (set-up, the MAP start
and monitoring excluded), on the same MovieLens-shaped synthetic ratings
(``recsys_helpers.data.synthetic.make_ratings`` at ``--scale`` × the ML-25M shape and
skew), float32, numba threads at their default. Each of ``--repeats`` rounds fits both
models (alternating which goes first) for ``--sweeps`` + 1 sweeps and drops each fit's
first sweep (JIT and cold memory); reported are the medians over all kept sweeps and the
ratio ``median Gibbs sample / median ALS sweep`` (the project's target: at most 1.3 at
K = 64 on the full ML-25M shape).

Usage::

    python -m benchmarks.bench_bayes --scale 0.2 --factors 16 32 64   # development
    python -m benchmarks.bench_bayes --scale 1 --factors 64 --repeats 3

Writes ``benchmarks/results/bayes.json`` and ``bayes.md``.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import warnings

from sklearn.exceptions import ConvergenceWarning

from benchmarks.results_io import machine, markdown_table, save, versions
from recsys_helpers.data.synthetic import ML25M_SHAPE, ML25M_SKEW, make_ratings
from recsys_helpers.models import kernels_numba
from recsys_helpers.models.als import BiasedMF
from recsys_helpers.models.bayes import BayesianMF

logger = logging.getLogger("bench_bayes")


def shape_at(scale: float) -> dict[str, int]:
    """The ML-25M shape times ``scale`` (at least 50 of each)."""
    return {key: max(int(round(value * scale)), 50) for key, value in ML25M_SHAPE.items()}


def sweep_seconds(model, frame) -> list[float]:
    """Seconds of each sweep of ``model.fit(frame)`` after the first."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(frame)
    return model.history_["seconds"].to_list()[1:]


def measure(frame, n_factors: int, sweeps: int, repeats: int) -> dict:
    """Median seconds per ALS sweep and per Gibbs sample, and their ratio, for one K."""
    als = BiasedMF(n_factors=n_factors, n_iter=sweeps + 1, dtype="float32")
    gibbs = BayesianMF(n_factors=n_factors, n_samples=sweeps + 1, burn_in=0, n_kept=1, init_iter=1)
    times = {"als": [], "gibbs": []}
    for round_ in range(repeats):
        order = [("als", als), ("gibbs", gibbs)]
        for name, model in order if round_ % 2 == 0 else order[::-1]:
            times[name] += sweep_seconds(model, frame)
            logger.info("K=%d %s round %d: %s", n_factors, name, round_, times[name][-sweeps:])
    als_median, gibbs_median = (statistics.median(times[name]) for name in ("als", "gibbs"))
    return {
        "n_factors": n_factors,
        "als_seconds": times["als"],
        "gibbs_seconds": times["gibbs"],
        "als_median": als_median,
        "gibbs_median": gibbs_median,
        "samples_per_second": 1.0 / gibbs_median,
        "ratio": gibbs_median / als_median,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="× the ML-25M shape")
    parser.add_argument("--factors", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--sweeps", type=int, default=3, help="timed sweeps per fit")
    parser.add_argument("--repeats", type=int, default=2, help="fits of each model per K")
    parser.add_argument("--out-dir", default=None, help="default benchmarks/results/")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    shape = shape_at(args.scale)
    frame, _ = make_ratings(**shape, n_factors=8, skew=ML25M_SKEW, random_state=0)
    kernels_numba.warm_up()
    before = machine()
    rows, results = [], []
    for n_factors in args.factors:
        result = measure(frame, n_factors, args.sweeps, args.repeats)
        results.append(result)
        rows.append(
            [
                n_factors,
                result["als_median"],
                result["gibbs_median"],
                result["samples_per_second"],
                result["ratio"],
            ]
        )
        print(
            markdown_table(["K", "ALS s/sweep", "Gibbs s/sample", "samples/s", "ratio"], rows[-1:])
        )
    header = ["K", "ALS s/sweep (median)", "Gibbs s/sample (median)", "samples/s", "Gibbs / ALS"]
    markdown = (
        f"{shape['n_ratings']:,} ratings, {shape['n_users']:,} users, {shape['n_items']:,} "
        f"movies; {args.repeats} × {args.sweeps} timed sweeps per model and K\n\n"
        + markdown_table(header, rows)
    )
    record = {
        "benchmark": "bayes",
        "shape": shape,
        "scale": args.scale,
        "sweeps": args.sweeps,
        "repeats": args.repeats,
        "versions": versions(),
        "machine_before": before,
        "machine_after": machine(),
        "results": results,
    }
    path = save("bayes", record, markdown, args.out_dir)
    print(markdown)
    print(f"written: {path} and {path.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
