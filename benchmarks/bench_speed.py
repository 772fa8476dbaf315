"""Seconds per ALS epoch and peak memory: ours against LensKit, cmfrec, Spark MLlib, Surprise.

Run from the repository root in the benchmark environment (``make bench-env``)::

    .venv-bench/bin/python -m benchmarks.bench_speed                  # ML-25M shape, K=64
    .venv-bench/bin/python -m benchmarks.bench_speed --scale 0.04 --repeats 1 --epochs 2

The ratings are MovieLens-shaped synthetic data (``recsys_helpers.data.synthetic.make_ratings``
with ``ML25M_SHAPE`` times ``--scale``), generated once and stored in a temporary ``.npz``.
Each (library, repeat) then runs in its own Python process, so peaks don't mix: the parent
samples the resident memory of the worker and all its descendants (the Spark JVM included)
every 50 ms. An epoch is one sweep over users and items; Spark's and cmfrec's per-iteration
times are differences of fits of 1 and 1 + n iterations (see ``benchmarks/peers/spark_peer.py``
and ``cmfrec_peer.py``).
Reports the median epoch seconds over all repeats and epochs, the peak memory, and the
ratios ours/peer, as ``benchmarks/results/speed.{json,md}``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import results_io
from recsys_helpers.data.synthetic import ML25M_SHAPE

logger = logging.getLogger("benchmarks.bench_speed")

LIBRARIES = ("ours", "ours-cg", "lenskit", "cmfrec", "cmfrec-cg", "spark", "surprise")
#: Conjugate-gradient steps per half-step of the "ours-cg" variant (exact Cholesky otherwise).
OURS_CG_STEPS = 3
ADAPTERS = {
    "lenskit": "benchmarks.peers.lenskit_peer",
    "cmfrec": "benchmarks.peers.cmfrec_peer",
    "cmfrec-cg": "benchmarks.peers.cmfrec_peer",
    "spark": "benchmarks.peers.spark_peer",
    "surprise": "benchmarks.peers.surprise_peer",
}
MODEL_NAMES = {
    "ours": "recsys_helpers.models.als.BiasedMF",
    "ours-cg": f"recsys_helpers.models.als.BiasedMF(cg_steps={OURS_CG_STEPS})",
    "lenskit": "lenskit.als.BiasedMFScorer",
    "cmfrec": "cmfrec.CMF(method='als')",
    "cmfrec-cg": "cmfrec.CMF(method='als', use_cg=True)",
    "spark": "pyspark.ml.recommendation.ALS",
    "surprise": "surprise.SVD (SGD)",
}
#: Keyword arguments of a library's ``epoch_seconds`` that tell its variants apart.
TIMER_OPTIONS = {"ours-cg": {"cg_steps": OURS_CG_STEPS}, "cmfrec-cg": {"use_cg": True}}
GIB = 2.0**30


# --------------------------------------------------------------------------------------------
# data


def scaled_shape(scale: float) -> dict[str, int]:
    """``ML25M_SHAPE`` with every count multiplied by ``scale`` (at least 10 users/items)."""
    if not 0.0 < scale <= 1.0:
        raise ValueError(f"--scale must be in (0, 1], got {scale!r}")
    return {
        "n_users": max(10, round(ML25M_SHAPE["n_users"] * scale)),
        "n_items": max(10, round(ML25M_SHAPE["n_items"] * scale)),
        "n_ratings": max(100, round(ML25M_SHAPE["n_ratings"] * scale)),
    }


def make_data(shape: dict[str, int], seed: int) -> tuple[dict[str, np.ndarray], str]:
    """Synthetic ratings of the given shape: ``({"users", "items", "ratings"}, source)``.

    ``users``/``items`` are int64 raw ids, ``ratings`` float32 stars. Uses
    ``recsys_helpers.data.synthetic.make_ratings`` when the package provides it, otherwise
    :func:`fallback_ratings`.
    """
    try:
        from recsys_helpers.data.synthetic import ML25M_SKEW, make_ratings
    except ImportError:
        make_ratings = None
    if make_ratings is not None:
        frame, _ = make_ratings(**shape, n_factors=8, skew=ML25M_SKEW, random_state=seed)
        arrays = {
            "users": frame["userId"].to_numpy(np.int64),
            "items": frame["movieId"].to_numpy(np.int64),
            "ratings": frame["rating"].to_numpy(np.float32),
        }
        return arrays, "recsys_helpers.data.synthetic.make_ratings"
    return fallback_ratings(**shape, seed=seed), "bench_speed.fallback_ratings"


def fallback_ratings(
    n_users: int, n_items: int, n_ratings: int, *, seed: int = 0
) -> dict[str, np.ndarray]:
    """Unique (user, item) pairs with power-law activity/popularity and half-star ratings.

    User and item draw probabilities fall as rank^-0.5; duplicates are removed and the deficit
    topped up until exactly ``n_ratings`` pairs remain. Ratings are
    clip(round₀.₅(3.5 + b_u + b_i + ε), 0.5, 5) with b ~ N(0, 0.4²), ε ~ N(0, 0.9²).
    """
    if n_ratings > n_users * n_items:
        raise ValueError(f"n_ratings={n_ratings} exceeds n_users * n_items")
    rng = np.random.default_rng(seed)
    user_p = rng.permutation(np.arange(1, n_users + 1, dtype=np.float64) ** -0.5)
    item_p = rng.permutation(np.arange(1, n_items + 1, dtype=np.float64) ** -0.5)
    user_p /= user_p.sum()
    item_p /= item_p.sum()
    keys = np.empty(0, dtype=np.int64)
    while keys.size < n_ratings:
        draw = int((n_ratings - keys.size) * 1.1) + 100
        users = rng.choice(n_users, size=draw, p=user_p)
        items = rng.choice(n_items, size=draw, p=item_p)
        keys = np.unique(np.concatenate([keys, users * np.int64(n_items) + items]))
    keys = rng.permutation(keys)[:n_ratings]
    users, items = np.divmod(keys, n_items)
    user_bias = rng.normal(0.0, 0.4, n_users)
    item_bias = rng.normal(0.0, 0.4, n_items)
    raw = 3.5 + user_bias[users] + item_bias[items] + rng.normal(0.0, 0.9, n_ratings)
    ratings = np.clip(np.round(raw * 2.0) / 2.0, 0.5, 5.0).astype(np.float32)
    return {"users": users + 1, "items": items + 1, "ratings": ratings}


# --------------------------------------------------------------------------------------------
# worker (one library, one process)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as stream:
        return int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _threads(library: str) -> int | str | None:
    """Worker threads the library ran with (Spark: its master URL)."""
    if library.startswith("ours") and find_spec("numba") is not None:
        import numba

        return numba.get_num_threads()
    if library == "lenskit":
        # its ALS kernels run in LensKit's Rust (Rayon) pool of `threads` workers
        from lenskit.parallel import get_parallel_config

        return get_parallel_config().threads
    if library == "spark":
        return os.environ.get("BENCH_SPARK_MASTER", "local[2]")
    return 1 if library == "surprise" else None


def ours_epoch_seconds(
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray,
    *,
    n_factors: int,
    n_epochs: int,
    seed: int = 0,
    cg_steps: int | None = None,
) -> dict[str, Any]:
    """Per-iteration seconds of ``recsys_helpers.models.als.BiasedMF`` (its ``history_``).

    ``setup_seconds`` is the model's ``setup_seconds_`` (everything before the first sweep,
    as ``fit --json`` reports it); ``monitor_seconds`` the rest of the fit outside the
    sweeps (the objective and training RMSE scored after every sweep)."""
    import warnings

    import pandas as pd
    from sklearn.exceptions import ConvergenceWarning

    from recsys_helpers.models.als import BiasedMF

    frame = pd.DataFrame({"userId": users, "movieId": items, "rating": ratings})
    model = BiasedMF(n_factors=n_factors, n_iter=n_epochs, random_state=seed, cg_steps=cg_steps)
    start = time.perf_counter()
    with warnings.catch_warnings():
        # a few timed sweeps never reach tol; the warning says nothing about speed
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(frame)
    fit_seconds = time.perf_counter() - start
    seconds = [float(s) for s in model.history_["seconds"]]
    numba = find_spec("numba") is not None
    return {
        "kernels": "numba" if numba and model.solver in ("auto", "numba") else "numpy",
        "setup_seconds": float(model.setup_seconds_),
        "monitor_seconds": fit_seconds - model.setup_seconds_ - sum(seconds),
        "epoch_seconds": seconds,
        "params": {k: repr(v) for k, v in model.get_params().items()},
    }


def worker(
    library: str, data_path: Path, out_path: Path, *, n_factors: int, n_epochs: int, seed: int
) -> None:
    """Time one library on the stored ratings; write its JSON record to ``out_path``."""
    with np.load(data_path, allow_pickle=False) as data:
        users, items, ratings = data["users"], data["items"], data["ratings"]
    loaded_rss = _rss_bytes()
    if library.startswith("ours"):
        timer = ours_epoch_seconds
    else:
        timer = importlib.import_module(ADAPTERS[library]).epoch_seconds
    record = timer(
        users,
        items,
        ratings,
        n_factors=n_factors,
        n_epochs=n_epochs,
        seed=seed,
        **TIMER_OPTIONS.get(library, {}),
    )
    record["threads"] = record.get("threads", _threads(library))
    record["loaded_rss_bytes"] = loaded_rss
    record["self_max_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    results_io.atomic_write_text(out_path, json.dumps(record))


# --------------------------------------------------------------------------------------------
# parent


def run_worker(
    library: str,
    data_path: Path,
    folder: Path,
    *,
    n_factors: int,
    n_epochs: int,
    seed: int,
    repeat: int,
    env: dict[str, str],
    timeout: float | None,
) -> dict[str, Any]:
    """Run :func:`worker` in a subprocess; add its sampled peak memory (process tree)."""
    import psutil

    out_path = folder / f"{library}-{repeat}.json"
    command = [
        sys.executable,
        "-m",
        "benchmarks.bench_speed",
        "--worker",
        library,
        "--data",
        str(data_path),
        "--worker-out",
        str(out_path),
        "--factors",
        str(n_factors),
        "--epochs",
        str(n_epochs),
        "--seed",
        str(seed),
    ]
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env)
    peak = 0
    parent = psutil.Process(process.pid)
    while process.poll() is None:
        total = 0
        try:
            for member in [parent, *parent.children(recursive=True)]:
                total += member.memory_info().rss
        except psutil.Error:
            pass
        peak = max(peak, total)
        if timeout is not None and time.perf_counter() - start > timeout:
            process.kill()
            process.wait()
            raise TimeoutError(f"{library}: worker exceeded {timeout:.0f} s")
        time.sleep(0.05)
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise RuntimeError(f"{library}: worker exited with status {process.returncode}")
    record = json.loads(out_path.read_text())
    record.update(
        {"library": library, "repeat": repeat, "wall_seconds": wall, "peak_tree_rss_bytes": peak}
    )
    return record


def _warm(seconds: list[float]) -> list[float]:
    return seconds[1:] if len(seconds) > 1 else seconds


def summarise(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per library: median/min seconds of the warm epochs (all but each process's first,
    when there are more), the first epoch's median, setup seconds and peak memory."""
    summary: dict[str, dict[str, Any]] = {}
    for library in dict.fromkeys(record["library"] for record in records):
        mine = [record for record in records if record["library"] == library]
        # The first epoch of a process carries one-off costs (JIT compilation, allocation);
        # it is reported apart and left out of the median when later epochs exist.
        epochs = [s for record in mine for s in _warm(record["epoch_seconds"])]
        summary[library] = {
            "model": MODEL_NAMES[library],
            "median_epoch_seconds": statistics.median(epochs),
            "min_epoch_seconds": min(epochs),
            "n_epoch_timings": len(epochs),
            "median_first_epoch_seconds": statistics.median(
                record["epoch_seconds"][0] for record in mine
            ),
            "median_setup_seconds": statistics.median(r["setup_seconds"] for r in mine),
            "peak_rss_gib": max(r["peak_tree_rss_bytes"] for r in mine) / GIB,
            "loaded_rss_gib": max(r["loaded_rss_bytes"] for r in mine) / GIB,
        }
    return summary


def table(summary: dict[str, dict[str, Any]], reference: str = "ours") -> str:
    """Markdown table with the ratios ``reference``/library of time and peak memory."""
    header = [
        "library",
        "model",
        "median s/epoch",
        "min s/epoch",
        "timings",
        "first epoch s",
        "setup s",
        "peak RSS GiB",
        "RSS after load GiB",
        f"{reference}/lib time",
        f"{reference}/lib memory",
    ]
    base = summary.get(reference)
    rows = []
    for library, row in summary.items():
        time_ratio = memory_ratio = None
        if base is not None:
            time_ratio = base["median_epoch_seconds"] / row["median_epoch_seconds"]
            memory_ratio = base["peak_rss_gib"] / row["peak_rss_gib"]
        rows.append(
            [
                library,
                row["model"],
                row["median_epoch_seconds"],
                row["min_epoch_seconds"],
                row["n_epoch_timings"],
                row["median_first_epoch_seconds"],
                row["median_setup_seconds"],
                row["peak_rss_gib"],
                row["loaded_rss_gib"],
                time_ratio,
                memory_ratio,
            ]
        )
    return results_io.markdown_table(header, rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fraction of the ML-25M shape (default 1.0)"
    )
    parser.add_argument(
        "--peers",
        default="lenskit,cmfrec,cmfrec-cg,spark",
        help="comma-separated peers besides ours: lenskit,cmfrec,cmfrec-cg,spark,surprise",
    )
    parser.add_argument("--no-ours", action="store_true", help="time the peers only")
    parser.add_argument("--repeats", type=int, default=3, help="processes per library")
    parser.add_argument(
        "--spark-repeats",
        type=int,
        default=None,
        help="processes for Spark (default: --repeats); each fits 1 and 1 + --epochs iterations",
    )
    parser.add_argument("--epochs", type=int, default=3, help="epochs timed per process")
    parser.add_argument("--factors", type=int, default=64, help="K (default 64)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--spark-memory", default="16g", help="Spark driver memory")
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds allowed per worker process"
    )
    parser.add_argument("--out-dir", default=None, help="default benchmarks/results/")
    parser.add_argument("--worker", choices=LIBRARIES, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")

    if args.worker:
        worker(
            args.worker,
            Path(args.data),
            Path(args.worker_out),
            n_factors=args.factors,
            n_epochs=args.epochs,
            seed=args.seed,
        )
        return 0

    peers = [name.strip() for name in args.peers.split(",") if name.strip()]
    unknown = sorted(set(peers) - set(ADAPTERS))
    if unknown:
        parser.error(f"--peers: unknown {', '.join(unknown)}; choose from {', '.join(ADAPTERS)}")
    if args.repeats < 1 or args.epochs < 1:
        parser.error("--repeats and --epochs must be at least 1")
    libraries = peers if args.no_ours else ["ours", "ours-cg", *peers]
    if "ours" in libraries and find_spec("recsys_helpers.models.als") is None:
        logger.warning("recsys_helpers.models.als is not available; timing the peers only")
        libraries = peers

    spark_repeats = args.repeats if args.spark_repeats is None else args.spark_repeats
    shape = scaled_shape(args.scale)
    env = dict(
        os.environ, SPARK_DRIVER_MEMORY=args.spark_memory, BENCH_SPARK_MASTER=args.spark_master
    )
    machine_before = results_io.machine()
    records = []
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as folder:
        folder = Path(folder)
        start = time.perf_counter()
        arrays, source = make_data(shape, args.seed)
        logger.info(
            "generated %s ratings with %s in %.1f s",
            f"{len(arrays['ratings']):,}",
            source,
            time.perf_counter() - start,
        )
        data_path = folder / "ratings.npz"
        np.savez(data_path, **arrays)
        del arrays
        for repeat in range(args.repeats):
            for library in libraries:
                if library == "spark" and repeat >= spark_repeats:
                    continue
                record = run_worker(
                    library,
                    data_path,
                    folder,
                    n_factors=args.factors,
                    n_epochs=args.epochs,
                    seed=args.seed,
                    repeat=repeat,
                    env=env,
                    timeout=args.timeout,
                )
                logger.info(
                    "%s repeat %d: epochs %s s, peak %.2f GiB",
                    library,
                    repeat,
                    ", ".join(f"{s:.2f}" for s in record["epoch_seconds"]),
                    record["peak_tree_rss_bytes"] / GIB,
                )
                records.append(record)
    summary = summarise(records)
    markdown = table(summary)
    record = {
        "benchmark": "speed",
        "shape": shape,
        "scale": args.scale,
        "data_source": source,
        "n_factors": args.factors,
        "epochs_per_process": args.epochs,
        "repeats": args.repeats,
        "spark_repeats": spark_repeats,
        "spark": {"master": args.spark_master, "driver_memory": args.spark_memory},
        "versions": results_io.versions(),
        "machine_before": machine_before,
        "machine_after": results_io.machine(),
        "summary": summary,
        "runs": records,
    }
    path = results_io.save("speed", record, markdown, args.out_dir)
    print(f"ML-25M shape x {args.scale:g}: {shape}, K={args.factors}, data: {source}")
    print(markdown)
    print(f"written: {path} and {path.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
