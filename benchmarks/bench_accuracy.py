"""Accuracy of the peer libraries and ours on ml-latest-small, one shared protocol.

Run from the repository root in the benchmark environment (``make bench-env``)::

    MOVIELENS_MIRROR=/path/to/mirror .venv-bench/bin/python -m benchmarks.bench_accuracy
    .venv-bench/bin/python -m benchmarks.bench_accuracy --peers lenskit,surprise --quick

The protocol (split, validation, tuning, fills for missing predictions) is described in
``benchmarks/protocol.py``; the grids are in each adapter under ``benchmarks/peers/``.
Writes ``benchmarks/results/accuracy.{json,md}`` and prints the markdown table.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import logging
import sys
import time
from importlib.util import find_spec
from typing import Any

import numpy as np

from benchmarks import protocol, results_io

logger = logging.getLogger("benchmarks.bench_accuracy")

# (library label, adapter module, model kind inside the adapter)
MODELS: dict[str, list[tuple[str, str]]] = {
    "surprise": [("BaselineOnly (ALS)", "baseline"), ("SVD", "svd")],
    "lenskit": [("BiasScorer", "bias"), ("BiasedMFScorer (ALS)", "als")],
    "spark": [("ALS", "als")],
    "myfm": [("MyFMRegressor (Gibbs)", "bpmf")],
    "cmfrec": [("CMF (ALS, Cholesky)", "als"), ("CMF (ALS, CG)", "als_cg")],
    "ours": [
        ("BiasedMF, K=0 (biases only)", "bias"),
        ("BiasedMF", "als"),
        ("BayesianMF (defaults)", "bayes"),
        ("BayesianMF (shared diagonal hyperprior)", "bayes_shared"),
        ("TimeAwareMF (defaults)", "time"),
        ("BayesianTimeMF (defaults)", "bayes_time"),
    ],
}
ADAPTERS = {
    "surprise": "benchmarks.peers.surprise_peer",
    "lenskit": "benchmarks.peers.lenskit_peer",
    "spark": "benchmarks.peers.spark_peer",
    "myfm": "benchmarks.peers.myfm_peer",
    "cmfrec": "benchmarks.peers.cmfrec_peer",
    "ours": "benchmarks.peers.ours",
}

# Test RMSE measured earlier with this protocol (global-mean fill where the peer gives NaN).
REFERENCE_RMSE = {
    ("global mean", "μ"): 1.054,
    ("surprise", "baseline"): 0.876,
    ("surprise", "svd"): 0.861,
    ("lenskit", "bias"): 0.873,
    ("lenskit", "als"): 0.852,
    ("spark", "als"): 0.879,
    ("myfm", "bpmf"): 0.830,
}


def _quick(grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
    return {name: values[:1] for name, values in grid.items()}


def global_mean_result(ratings, proto: protocol.Protocol) -> protocol.PeerResult:
    """The floor every model must beat: r̂ = μ of the training part."""
    train, test, _, _ = proto.splits(ratings)
    start = time.perf_counter()
    mu = float(train["rating"].mean())
    seconds = time.perf_counter() - start
    _, scores = protocol.score_predictions(train, test, np.full(len(test), mu))
    return protocol.PeerResult(
        library="global mean",
        model="μ",
        params={},
        fit_seconds=seconds,
        n_missing=0,
        n_test=len(test),
        unknown_policy="μ",
        scores=scores,
    )


def run(peers: list[str], *, mirror=None, seed: int = 42, quick: bool = False):
    """Evaluate every model of ``peers``; returns ``(results, kinds)`` in table order."""
    ratings = protocol.load_small_ratings(mirror)
    proto = protocol.Protocol(seed=seed)
    results = [global_mean_result(ratings, proto)]
    kinds = ["μ"]
    for peer in peers:
        adapter = importlib.import_module(ADAPTERS[peer])
        for label, kind in MODELS[peer]:
            grid = adapter.ACCURACY_GRIDS[kind]
            grid = _quick(grid) if quick else grid
            logger.info("%s %s: %d grid points", peer, label, len(protocol.grid_points(grid)))
            result = protocol.evaluate(
                peer,
                label,
                adapter.make_model(kind),
                grid,
                ratings,
                proto,
                unknown_policy=adapter.UNKNOWN_POLICY[kind],
            )
            results.append(result)
            kinds.append(kind)
        if peer == "spark":
            adapter.stop()
    return results, kinds


def table(results: list[protocol.PeerResult], kinds: list[str]) -> str:
    """Markdown table: both fills side by side (equal when nothing was missing)."""
    header = [
        "library",
        "model",
        "chosen parameters",
        "fit s",
        "NaN rows",
        "RMSE (μ fill)",
        "MAE (μ fill)",
        "RMSE (μ+b_u fill)",
        "MAE (μ+b_u fill)",
        "reference RMSE",
        "unseen user/movie",
    ]
    rows = []
    for result, kind in zip(results, kinds, strict=True):
        plain = result.scores.get("global_mean", result.scores.get("none"))
        user = result.scores.get("user_bias", result.scores.get("none"))
        params = ", ".join(f"{k}={v}" for k, v in result.params.items()) or "–"
        rows.append(
            [
                result.library,
                result.model,
                params,
                result.fit_seconds,
                f"{result.n_missing} / {result.n_test}",
                plain["rmse"],
                plain["mae"],
                user["rmse"],
                user["mae"],
                REFERENCE_RMSE.get((result.library, kind)),
                result.unknown_policy,
            ]
        )
    return results_io.markdown_table(header, rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--peers",
        default="surprise,lenskit,spark,myfm,cmfrec,ours",
        help="comma-separated subset of: " + ",".join(ADAPTERS),
    )
    parser.add_argument("--mirror", default=None, help="MovieLens mirror (default: env)")
    parser.add_argument("--seed", type=int, default=42, help="split seed (default 42)")
    parser.add_argument("--quick", action="store_true", help="first grid point only, no tuning")
    parser.add_argument("--out-dir", default=None, help="default benchmarks/results/")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each grid point")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(name)s: %(message)s"
    )
    peers = [name.strip() for name in args.peers.split(",") if name.strip()]
    unknown = sorted(set(peers) - set(ADAPTERS))
    if unknown:
        parser.error(f"--peers: unknown {', '.join(unknown)}; choose from {', '.join(ADAPTERS)}")
    if "ours" in peers and find_spec("recsys_helpers.models.als") is None:
        logger.warning("recsys_helpers.models.als is not available; skipping 'ours'")
        peers.remove("ours")

    results, kinds = run(peers, mirror=args.mirror, seed=args.seed, quick=args.quick)
    markdown = table(results, kinds)
    record = {
        "benchmark": "accuracy",
        "dataset": "ml-latest-small",
        "protocol": dataclasses.asdict(protocol.Protocol(seed=args.seed)),
        "quick": args.quick,
        "versions": results_io.versions(),
        "machine": results_io.machine(),
        "results": [dataclasses.asdict(result) for result in results],
    }
    path = results_io.save("accuracy", record, markdown, args.out_dir)
    print(markdown)
    print(f"written: {path} and {path.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
