"""Data-layer timings at ML-25M shape: parse the CSV, reload the parquet cache, build matrices.

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_data                 # ML-25M shape (heavy: ~10 GiB)
    .venv/bin/python -m benchmarks.bench_data --scale 0.1     # quick run, a tenth of the size

The ratings are MovieLens-shaped synthetic data (``recsys_helpers.data.synthetic.make_ratings``
with ``ML25M_SHAPE`` times ``--scale``), written in the MovieLens CSV format
(``userId,movieId,rating,timestamp``, sorted by user then movie like the release, ratings
as ``4.0``/``3.5``) and as parquet to a temporary folder. Each step then runs ``--repeats``
times, every run in a fresh Python process that first loads the step's input (so freed
memory of earlier steps cannot hide a peak). The table gives the median and the fastest
wall time and two memory peaks of the step itself:

* ``peak RSS +GiB``: the rise of the resident-set high-water mark over the resident size
  just before the step (Linux ``VmHWM``, reset through ``/proc/self/clear_refs``), the
  largest over the runs; it counts every allocator, Arrow's included;
* ``traced peak GiB``: the peak of Python and NumPy allocations under ``tracemalloc``, in
  an extra untimed call in the first run (blind to Arrow's own memory pool).

Neither counts the step's inputs (for ``RatingMatrix.from_frame``, the ratings frame
itself). ``from_frame`` is timed twice: on rows in file order (its no-sort fast path) and
on shuffled rows (the general path with one ``argsort``). Results go to
``benchmarks/results/data.{json,md}``.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from benchmarks import results_io
from recsys_helpers.data import movielens
from recsys_helpers.data.ratings import RatingMatrix
from recsys_helpers.data.synthetic import ML25M_SHAPE, ML25M_SKEW, make_ratings

logger = logging.getLogger("benchmarks.bench_data")

GIB = 2.0**30
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def scaled_shape(scale: float) -> dict[str, int]:
    """``ML25M_SHAPE`` times ``scale`` (ratings capped by the number of pairs)."""
    if not 0 < scale <= 1:
        raise ValueError(f"--scale must be in (0, 1], got {scale}")
    n_users = max(1, round(ML25M_SHAPE["n_users"] * scale))
    n_items = max(1, round(ML25M_SHAPE["n_items"] * scale))
    n_ratings = min(round(ML25M_SHAPE["n_ratings"] * scale), n_users * n_items)
    return {"n_users": n_users, "n_items": n_items, "n_ratings": n_ratings}


def write_movielens_csv(ratings: pd.DataFrame, path: Path) -> None:
    """Half-star ratings in the release's CSV layout (``4.0``, ``3.5``; LF line ends)."""
    doubled = np.rint(ratings["rating"].to_numpy() * 2).astype(np.int64)
    if doubled.min() < 0 or doubled.max() > 10 or not np.allclose(doubled / 2, ratings["rating"]):
        raise ValueError("write_movielens_csv: ratings must be half stars in [0, 5]")
    stars = np.array([f"{k / 2:.1f}" for k in range(11)])
    table = pa.table(
        {
            "userId": ratings["userId"].to_numpy(),
            "movieId": ratings["movieId"].to_numpy(),
            "rating": pa.array(stars[doubled]),
            "timestamp": ratings["timestamp"].to_numpy(),
        }
    )
    with open(path, "wb") as stream:
        stream.write(b"userId,movieId,rating,timestamp\n")
        pa_csv.write_csv(
            table, stream, pa_csv.WriteOptions(include_header=False, quoting_style="none")
        )


def _status_kib(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_high_water_mark() -> bool:
    """Reset ``VmHWM`` to the current RSS (Linux); False when not possible."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def _timed(step: Callable[[], Any]) -> tuple[dict[str, Any], Any]:
    """Wall seconds and the rise of the RSS high-water mark during ``step()``."""
    gc.collect()
    resettable = _reset_high_water_mark()
    before = _status_kib("VmRSS")
    start = time.perf_counter()
    result = step()
    seconds = time.perf_counter() - start
    high = _status_kib("VmHWM")
    rise = None
    if resettable and before is not None and high is not None:
        rise = (high - before) * 1024 / GIB
    return {"seconds": seconds, "peak_rss_gib": rise}, result


def _traced_peak(step: Callable[[], Any]) -> float:
    """Peak GiB of Python and NumPy allocations while ``step()`` runs."""
    gc.collect()
    tracemalloc.start()
    try:
        step()
        return tracemalloc.get_traced_memory()[1] / GIB
    finally:
        tracemalloc.stop()


def worker(step: str, workdir: Path, shape: dict[str, int], seed: int, traced: bool) -> dict:
    """Run one step once in this (fresh) process; inputs are read from ``workdir`` first."""
    csv_path, parquet_path = workdir / "ratings.csv", workdir / "ratings.parquet"
    if step == "generate":
        record, (ratings, _) = _timed(
            lambda: make_ratings(**shape, skew=ML25M_SKEW, random_state=seed)
        )
        written, _ = _timed(lambda: write_movielens_csv(ratings, csv_path))
        ratings.to_parquet(parquet_path, engine="pyarrow", index=False)
        record["write_csv_seconds"] = written["seconds"]
        record["csv_bytes"] = csv_path.stat().st_size
        record["parquet_bytes"] = parquet_path.stat().st_size
        return record
    if step == "parse":
        run_step = lambda: movielens.read_ratings(csv_path)  # noqa: E731
    elif step == "reload":
        run_step = lambda: pd.read_parquet(parquet_path, engine="pyarrow")  # noqa: E731
    elif step in ("matrix", "matrix_shuffled"):
        frame = pd.read_parquet(parquet_path, engine="pyarrow")
        if step == "matrix_shuffled":
            frame = frame.sample(frac=1.0, random_state=seed)
        run_step = lambda: RatingMatrix.from_frame(frame)  # noqa: E731
    else:
        raise ValueError(f"unknown step {step!r}")
    record, result = _timed(run_step)
    if isinstance(result, RatingMatrix):
        record["matrix_shape"] = [result.n_users, result.n_items, result.nnz]
    del result
    record["traced_peak_gib"] = _traced_peak(run_step) if traced else None
    return record


def _spawn(step: str, workdir: Path, shape: dict[str, int], seed: int, traced: bool) -> dict:
    command = [
        sys.executable,
        "-m",
        "benchmarks.bench_data",
        "--worker",
        step,
        "--workdir",
        str(workdir),
        "--shape",
        json.dumps(shape),
        "--seed",
        str(seed),
    ]
    if traced:
        command.append("--traced")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"worker {step} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


STEPS = {
    "parse CSV (movielens.read_ratings)": "parse",
    "reload cache (parquet)": "reload",
    "RatingMatrix.from_frame (file order)": "matrix",
    "RatingMatrix.from_frame (shuffled rows)": "matrix_shuffled",
}


def run(scale: float, repeats: int, seed: int, workdir: Path) -> dict[str, Any]:
    """All steps at ``scale``, each repeat in a fresh process; returns the JSON record."""
    shape = scaled_shape(scale)
    logger.info("shape %s", shape)
    generated = _spawn("generate", workdir, shape, seed, traced=False)
    steps: dict[str, dict[str, Any]] = {
        "generate (make_ratings)": _summary([generated]),
        "write CSV (pyarrow)": _summary([{"seconds": generated["write_csv_seconds"]}]),
    }
    matrix_shape = None
    for name, step in STEPS.items():
        runs = [_spawn(step, workdir, shape, seed, traced=(k == 0)) for k in range(repeats)]
        logger.info("%s: %s", name, [round(r["seconds"], 3) for r in runs])
        steps[name] = _summary(runs)
        matrix_shape = runs[0].get("matrix_shape", matrix_shape)
    return {
        "benchmark": "data",
        "scale": scale,
        "shape": shape,
        "matrix_shape": matrix_shape,
        "csv_bytes": generated["csv_bytes"],
        "parquet_bytes": generated["parquet_bytes"],
        "repeats": repeats,
        "seed": seed,
        "steps": steps,
        "machine": results_io.machine(),
        "versions": results_io.versions(),
    }


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = [r["seconds"] for r in runs]
    peaks = [r["peak_rss_gib"] for r in runs if r.get("peak_rss_gib") is not None]
    traced = [r["traced_peak_gib"] for r in runs if r.get("traced_peak_gib") is not None]
    return {
        "seconds": seconds,
        "median_s": statistics.median(seconds),
        "min_s": min(seconds),
        "peak_rss_gib": max(peaks) if peaks else None,
        "traced_peak_gib": max(traced) if traced else None,
    }


def to_markdown(record: dict[str, Any]) -> str:
    shape = record["shape"]
    title = (
        f"Data layer at {record['scale']:g} x ML-25M shape: {shape['n_users']:,} users, "
        f"{shape['n_items']:,} movies, {shape['n_ratings']:,} ratings "
        f"(CSV {record['csv_bytes'] / 2**20:,.0f} MiB, parquet "
        f"{record['parquet_bytes'] / 2**20:,.0f} MiB); median of {record['repeats']} runs.\n\n"
    )
    rows = [
        [
            name,
            step["median_s"],
            step["min_s"],
            len(step["seconds"]),
            step["peak_rss_gib"],
            step["traced_peak_gib"],
        ]
        for name, step in record["steps"].items()
    ]
    header = ["step", "median s", "min s", "runs", "peak RSS +GiB", "traced peak GiB"]
    return title + results_io.markdown_table(header, rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of ML-25M shape")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per step")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="data", help="results file stem")
    parser.add_argument(
        "--out", type=Path, default=results_io.RESULTS_DIR, help="folder for JSON and markdown"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--shape", type=json.loads, help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        record = worker(args.worker, args.workdir, args.shape, args.seed, args.traced)
        print(json.dumps(record))
        return 0
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="bench_data_") as workdir:
        record = run(args.scale, args.repeats, args.seed, Path(workdir))
    markdown = to_markdown(record)
    path = results_io.save(args.name, record, markdown, args.out)
    print(markdown)
    print(f"written {path} and {path.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
