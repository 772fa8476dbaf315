"""Seconds per ALS sweep of our kernels, against K and against data size.

One sweep = all users given the movies, then all movies given the users, biases included
(``BiasedMF._sweep``, timed by ``BiasedMF.history_.seconds``). Data: MovieLens-shaped
synthetic ratings (``recsys_helpers.data.synthetic.make_ratings``) at ``scale`` × the ML-25M shape.

Reported per configuration: median and min seconds per sweep over ``--sweeps`` sweeps (JIT
compilation is done before timing and reported separately), the process's peak resident
memory so far, achieved GFLOP/s of the nominal work
``Σ_sides [nnz (K+1)(K+2) + n_rows (K+1)³/3]`` (symmetric Gram updates plus Cholesky) beside
a float32 matrix-multiply rate measured in the same run, and, for the smallest configuration,
the NumPy reference kernel's sweep time and its ratio to the compiled one.

With ``--baseline FILE`` (an earlier ``kernels_numba.py``, e.g. from ``git show``), the
K = 64 sweeps at ``--scale`` are also timed with that file's kernels and the current ones,
fits alternating in the same process (``--repeats`` each), so that a before/after shares the
machine's load.

Usage::

    python benchmarks/bench_sweep.py --scale 0.04            # quick, ~1M ratings
    python benchmarks/bench_sweep.py --scale 1.0 --sweeps 3  # the full ML-25M shape
    git show main:recsys_helpers/models/kernels_numba.py > /tmp/kernels_before.py
    python benchmarks/bench_sweep.py --scale 0.2 --factors 64 --numpy-scale 0 \
        --baseline /tmp/kernels_before.py --repeats 3

Writes ``benchmarks/results/sweep.json`` and ``sweep.md`` (``--name`` changes the stem).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.results_io import machine, markdown_table, save, versions
from recsys_helpers.data.synthetic import ML25M_SHAPE, ML25M_SKEW, make_ratings
from recsys_helpers.models import base, kernels_numba
from recsys_helpers.models.als import BiasedMF

logger = logging.getLogger("bench_sweep")


def peak_rss_gib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def matmul_gflops(size: int = 2048, repeats: int = 3) -> float:
    """Best float32 ``size × size`` matrix-multiply rate, GFLOP/s (all BLAS threads)."""
    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    a @ b
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


def nominal_flops(n_users: int, n_items: int, nnz: int, n_factors: int) -> float:
    """Nominal floating-point work of one sweep (see the module docstring)."""
    width = n_factors + 1
    gram = 2 * nnz * width * (width + 1)
    cholesky = (n_users + n_items) * width**3 / 3
    return gram + cholesky


def shape_at(scale: float) -> dict[str, int]:
    return {key: max(int(round(value * scale)), 50) for key, value in ML25M_SHAPE.items()}


def time_sweeps(
    frame, n_factors: int, sweeps: int, solver: str, dtype: str, cg_steps: int | None = None
) -> np.ndarray:
    """Seconds of each sweep after the first (the first may still touch cold memory)."""
    model = BiasedMF(
        n_factors=n_factors,
        n_iter=sweeps + 1,
        solver=solver,
        dtype=dtype,
        tol=None,
        cg_steps=cg_steps,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(frame)
    return model.history_.seconds.to_numpy()[1:]


def load_kernels(path: Path):
    """The kernels module of another version, loaded from its file (for a before/after)."""
    spec = importlib.util.spec_from_file_location("kernels_baseline", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # numba's disk cache re-imports the module by name
    spec.loader.exec_module(module)
    return module


def compare(frame, baseline, args: argparse.Namespace) -> list[dict]:
    """Median s/sweep at K = 64 with the baseline's kernels and the current ones.

    Fits alternate (baseline, current, baseline, …; ``args.repeats`` each) so both see the
    same load; each fit contributes its sweeps after the first.
    """
    methods = [None] + ([args.cg_steps] if args.cg_steps else [])
    kernels = {"baseline": baseline, "current": kernels_numba}
    seconds = {(name, cg): [] for name in kernels for cg in methods}
    loader = base._numba_kernels
    try:
        for module in kernels.values():  # compile (or load) both before timing
            base._numba_kernels = lambda module=module: module
            for cg_steps in methods:
                time_sweeps(frame.head(5000), 64, 1, "numba", args.dtype, cg_steps)
        for _ in range(args.repeats):
            for cg_steps in methods:
                for name, module in kernels.items():
                    base._numba_kernels = lambda module=module: module
                    seconds[name, cg_steps].extend(
                        time_sweeps(frame, 64, args.sweeps, "numba", args.dtype, cg_steps)
                    )
    finally:
        base._numba_kernels = loader
    rows = []
    for cg_steps in methods:
        before = float(np.median(seconds["baseline", cg_steps]))
        after = float(np.median(seconds["current", cg_steps]))
        rows.append(
            {
                "method": f"cg{cg_steps}" if cg_steps else "cholesky",
                "baseline_s": before,
                "current_s": after,
                "speed_up": before / after,
                "sweeps_each": len(seconds["current", cg_steps]),
            }
        )
        logger.info("%s: baseline %.3f s, current %.3f s", rows[-1]["method"], before, after)
    return rows


def run(args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    warm_up = kernels_numba.warm_up()
    logger.info("numba warm-up (compile or cache load): %.1f s", warm_up)
    rate = matmul_gflops()
    logger.info("float32 matmul: %.0f GFLOP/s", rate)
    configurations = [(args.scale, k) for k in args.factors]
    configurations += [(s, 64) for s in args.size_scales if (s, 64) not in configurations]
    configurations = [(scale, k, None) for scale, k in configurations]
    if args.cg_steps:
        configurations += [
            (scale, 64, args.cg_steps) for scale in sorted({c[0] for c in configurations})
        ]
    frames: dict[float, object] = {}
    rows = []
    for scale, n_factors, cg_steps in configurations:
        if scale not in frames:
            shape = shape_at(scale)
            frames[scale], _ = make_ratings(**shape, n_factors=8, skew=ML25M_SKEW, random_state=0)
            logger.info("data at scale %g: %s", scale, shape)
        frame = frames[scale]
        n_users, n_items = frame.userId.nunique(), frame.movieId.nunique()
        seconds = time_sweeps(frame, n_factors, args.sweeps, "numba", args.dtype, cg_steps)
        median = float(np.median(seconds))
        row = {
            "scale": scale,
            "n_ratings": len(frame),
            "n_users": n_users,
            "n_items": n_items,
            "n_factors": n_factors,
            "dtype": args.dtype,
            "method": f"cg{cg_steps}" if cg_steps else "cholesky",
            "median_s": median,
            "min_s": float(seconds.min()),
            "sweeps": len(seconds),
            "gflops": None
            if cg_steps
            else nominal_flops(n_users, n_items, len(frame), n_factors) / median / 1e9,
            "peak_rss_gib": peak_rss_gib(),
            "numpy_s": None,
            "numpy_over_numba": None,
        }
        logger.info("scale %g K=%d %s: %.3f s/sweep", scale, n_factors, row["method"], median)
        rows.append(row)
    comparison = []
    if args.baseline is not None:
        comparison = compare(frames[args.scale], load_kernels(args.baseline), args)
    if args.numpy_scale > 0:
        frame, _ = make_ratings(
            **shape_at(args.numpy_scale), n_factors=8, skew=ML25M_SKEW, random_state=0
        )
        for n_factors in (16, 64):
            numpy_s = float(np.median(time_sweeps(frame, n_factors, 1, "numpy", args.dtype)))
            numba_s = float(np.median(time_sweeps(frame, n_factors, 3, "numba", args.dtype)))
            rows.append(
                {
                    "scale": args.numpy_scale,
                    "n_ratings": len(frame),
                    "n_users": frame.userId.nunique(),
                    "n_items": frame.movieId.nunique(),
                    "n_factors": n_factors,
                    "dtype": args.dtype,
                    "method": "cholesky",
                    "median_s": numba_s,
                    "min_s": numba_s,
                    "sweeps": 3,
                    "gflops": None,
                    "peak_rss_gib": peak_rss_gib(),
                    "numpy_s": numpy_s,
                    "numpy_over_numba": numpy_s / numba_s,
                }
            )
    return {
        "benchmark": "als_sweep",
        "machine": machine(),
        "versions": versions(),
        "numba_threads": _numba_threads(),
        "warm_up_s": warm_up,
        "matmul_float32_gflops": rate,
        "total_s": time.perf_counter() - started,
        "rows": rows,
        "baseline": None if args.baseline is None else str(args.baseline),
        "comparison": comparison,
    }


def _numba_threads() -> int:
    import numba

    return int(numba.get_num_threads())


def to_markdown(record: dict) -> str:
    header = [
        "ratings",
        "users",
        "movies",
        "K",
        "solve",
        "median s/sweep",
        "min s",
        "GFLOP/s",
        "% of matmul",
        "peak RSS GiB",
        "NumPy s",
        "NumPy/numba",
    ]
    rate = record["matmul_float32_gflops"]
    rows = [
        [
            r["n_ratings"],
            r["n_users"],
            r["n_items"],
            r["n_factors"],
            r["method"],
            r["median_s"],
            r["min_s"],
            r["gflops"],
            None if r["gflops"] is None else 100 * r["gflops"] / rate,
            r["peak_rss_gib"],
            r["numpy_s"],
            r["numpy_over_numba"],
        ]
        for r in record["rows"]
    ]
    notes = (
        f"\nfloat32 matmul {rate:.0f} GFLOP/s; numba threads {record['numba_threads']}; "
        f"JIT warm-up {record['warm_up_s']:.1f} s (not in the timings); "
        f"load average {record['machine']['load_average_1_5_15']}.\n"
    )
    text = "# ALS sweep timings\n\n" + markdown_table(header, rows) + notes
    if record.get("comparison"):
        text += f"\nBefore/after at K = 64, alternating fits (baseline {record['baseline']}):\n\n"
        text += markdown_table(
            ["solve", "baseline s/sweep", "current s/sweep", "speed-up", "sweeps each"],
            [
                [c["method"], c["baseline_s"], c["current_s"], c["speed_up"], c["sweeps_each"]]
                for c in record["comparison"]
            ],
        )
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale",
        type=float,
        default=0.04,
        help="fraction of the ML-25M shape for the K sweep (default 0.04)",
    )
    parser.add_argument("--factors", type=int, nargs="+", default=[16, 32, 64, 128])
    parser.add_argument(
        "--size-scales",
        type=float,
        nargs="*",
        default=[],
        help="extra scales timed at K=64, e.g. 0.04 0.2 1.0",
    )
    parser.add_argument("--sweeps", type=int, default=3, help="timed sweeps per configuration")
    parser.add_argument(
        "--numpy-scale",
        type=float,
        default=0.004,
        help="scale of the NumPy-reference comparison (0 skips it)",
    )
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument(
        "--cg-steps",
        type=int,
        default=3,
        help="also time K=64 with this many CG steps per half-step (0 skips)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="an earlier kernels_numba.py to time against the current kernels (K=64, --scale)",
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="alternating fits per kernel version (--baseline)"
    )
    parser.add_argument("--name", default="sweep", help="stem of the result files")
    parser.add_argument("--out", type=Path, default=None, help="results folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    record = run(args)
    path = save(args.name, record, to_markdown(record), args.out)
    print(to_markdown(record))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
