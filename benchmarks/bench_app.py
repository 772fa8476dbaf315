"""Load test of the live recommender: N clients against one server on 127.0.0.1, T seconds.

Run from the repository root (``make bench-app``)::

    .venv/bin/python -m benchmarks.bench_app --clients 8 --seconds 20

The default model (``BiasedMF``, K = 64) is fitted on every rating of ml-latest-small (or
``--model FILE`` is served), saved to a temporary file and served by
``python -m recsys_helpers serve --workers W`` in its own processes, exactly as a user
starts it (``--workers``, default 2: one per core of the 2-core reference machine). After
a sequential warm-up, ``--clients`` client processes each keep one HTTP/1.1 connection
open and send ``POST /api/recommendations`` bodies of ``--ratings`` ratings (random movies
among the 2,000 most rated, random half stars, a fixed seed; ``n = 10``) one after
another, until ``--seconds`` have passed or ``--max-requests`` have been sent, whichever
comes first. Every answer must be HTTP 200 with 10 items, else it counts as an error.
Each client is its own process, as real clients are separate programs: threads of one
Python process would queue for its interpreter lock, and that wait would be counted as
latency.

Reported: requests per second, latency percentiles seen by the clients (p50, p90, p99,
max), errors, the server's memory (PSS of all its processes: pages the workers share
are split between them, not counted twice) after the warm-up and after the load, the
server's CPU time per request, and the load average of the machine before and after
(the clients share the machine with the server, and others may too). Results go to
``benchmarks/results/app.{json,md}``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from benchmarks import results_io

logger = logging.getLogger("benchmarks.bench_app")

HOST = "127.0.0.1"  # never anything else: the load stays on this machine
MIB = 2.0**20


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _wait_for_server(port: int, process: subprocess.Popen, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=2)
            connection.request("GET", "/api/health")
            return json.loads(connection.getresponse().read())
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("the server exited before answering") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer within {timeout:.0f} s") from None
            time.sleep(0.25)


def _bodies(model, count: int, n_ratings: int, seed: int) -> list[bytes]:
    """Request bodies: ``n_ratings`` distinct popular movies with random half stars."""
    rng = np.random.default_rng(seed)
    popular = model.items_.ids[np.argsort(-model.item_counts_, kind="stable")[:2000]]
    low, high = model.rating_range_
    levels = np.arange(low, high + 0.25, 0.5)
    bodies = []
    for _ in range(count):
        movies = rng.choice(popular, size=n_ratings, replace=False)
        stars = rng.choice(levels, size=n_ratings)
        ratings = {str(int(m)): float(s) for m, s in zip(movies, stars, strict=True)}
        bodies.append(json.dumps({"ratings": ratings, "n": 10}).encode())
    return bodies


def _client(port, bodies, stop_at, budget, offset, results) -> None:
    """One client process: one keep-alive connection, requests back to back until
    ``stop_at`` (``time.monotonic``, shared by all processes) or ``budget`` requests; puts
    ``(latencies in s, errors)`` on ``results``."""
    latencies, errors = [], []
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    headers = {"Content-Type": "application/json"}
    k = offset
    while time.monotonic() < stop_at and len(latencies) + len(errors) < budget:
        body = bodies[k % len(bodies)]
        k += 1
        start = time.perf_counter()
        try:
            connection.request("POST", "/api/recommendations", body, headers)
            response = connection.getresponse()
            payload = response.read()
            elapsed = time.perf_counter() - start
            if response.status != 200 or len(json.loads(payload)["items"]) != 10:
                errors.append(f"HTTP {response.status}: {payload[:200]!r}")
            latencies.append(elapsed)
        except (OSError, http.client.HTTPException, ValueError, KeyError) as error:
            errors.append(repr(error))
            connection.close()
            connection = http.client.HTTPConnection(HOST, port, timeout=30)
    connection.close()
    results.put((latencies, errors))


def _server_usage(process: psutil.Process) -> tuple[float, float]:
    """Memory (PSS: shared pages split between the workers, bytes) and CPU seconds of
    the server, its worker processes included."""
    processes = [process, *process.children(recursive=True)]
    pss = sum(p.memory_full_info().pss for p in processes)
    cpu = sum(sum(p.cpu_times()[:2]) for p in processes)
    return pss, cpu


def _fit_or_load(args):
    from recsys_helpers.data import movielens
    from recsys_helpers.models import BiasedMF, load_model

    if args.model is not None:
        return load_model(args.model)
    ratings = movielens.load_ratings(args.dataset, mirror=args.mirror, progress=False)
    logger.info("fitting BiasedMF(n_factors=%d) on %d ratings", args.n_factors, len(ratings))
    return BiasedMF(n_factors=args.n_factors).fit(ratings)


def run(args) -> dict:
    model = _fit_or_load(args)
    bodies = _bodies(model, 2000, args.ratings, args.seed)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.npz"
        model.save(path)
        port = _free_port()
        command = [
            sys.executable, "-m", "recsys_helpers", "serve", "--model", str(path),
            "--dataset", args.dataset, "--host", HOST, "--port", str(port),
        ]  # fmt: skip
        command += ["--workers", str(args.workers)]
        if args.mirror:
            command += ["--mirror", args.mirror]
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        try:
            health = _wait_for_server(port, server, timeout=180)
            process = psutil.Process(server.pid)
            warm = http.client.HTTPConnection(HOST, port, timeout=30)
            for body in bodies[: args.warmup]:
                warm.request(
                    "POST", "/api/recommendations", body, {"Content-Type": "application/json"}
                )
                warm.getresponse().read()
            warm.close()
            rss_before, cpu_before = _server_usage(process)
            load_before = os.getloadavg()
            context = multiprocessing.get_context("fork")
            results = context.Queue()
            stop_at = time.monotonic() + args.seconds
            budget = -(-args.max_requests // args.clients)  # per client, rounded up
            clients = [
                context.Process(
                    target=_client, args=(port, bodies, stop_at, budget, k * 997, results)
                )
                for k in range(args.clients)
            ]
            started = time.perf_counter()
            for client in clients:
                client.start()
            answers = [results.get(timeout=args.seconds + 60) for _ in clients]
            for client in clients:
                client.join(30)
            wall = time.perf_counter() - started
            rss_after, cpu_after = _server_usage(process)
            cpu = cpu_after - cpu_before
            load_after = os.getloadavg()
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
    latencies = np.concatenate([np.asarray(times, dtype=float) for times, _ in answers]) * 1000.0
    errors = [e for _, found in answers for e in found]
    for error in errors[:5]:
        logger.error("error: %s", error)
    p50, p90, p99 = np.percentile(latencies, [50, 90, 99]) if len(latencies) else [np.nan] * 3
    return {
        "model": health["model"],
        "n_factors": health["n_factors"],
        "dataset": health["dataset"],
        "clients": args.clients,
        "workers": args.workers,
        "ratings_per_request": args.ratings,
        "seconds": wall,
        "requests": int(len(latencies)),
        "requests_per_second": len(latencies) / wall,
        "latency_ms": {
            "p50": float(p50),
            "p90": float(p90),
            "p99": float(p99),
            "max": float(latencies.max()) if len(latencies) else None,
        },
        "errors": len(errors),
        "server_pss_mib": {"before": rss_before / MIB, "after": rss_after / MIB},
        "server_cpu_ms_per_request": 1000.0 * cpu / max(len(latencies), 1),
        "load_average_before": list(load_before),
        "load_average_after": list(load_after),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the load (s)")
    parser.add_argument(
        "--max-requests", type=int, default=200_000, help="stop after this many requests"
    )
    parser.add_argument("--ratings", type=int, default=10, help="ratings per request")
    parser.add_argument("--workers", type=int, default=2, help="server processes (default 2)")
    parser.add_argument("--warmup", type=int, default=200, help="sequential requests first")
    parser.add_argument("--dataset", default="ml-latest-small")
    parser.add_argument("--mirror", default=None, help="folder of MovieLens releases")
    parser.add_argument("--model", type=Path, default=None, help="serve this saved model")
    parser.add_argument("--n-factors", type=int, default=64, help="K of the fitted model")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not (1 <= args.clients <= 64 and 0 < args.seconds <= 600 and args.max_requests >= 1):
        parser.error("choose 1-64 clients, 0-600 seconds and at least one request")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    record = run(args)
    record.update(versions=results_io.versions(), machine=results_io.machine())
    lat = record["latency_ms"]
    header = [
        "clients", "workers", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors",
        "server PSS MiB before → after", "server CPU ms/request", "load avg before → after",
    ]  # fmt: skip
    row = [
        record["clients"],
        record["workers"],
        record["requests"],
        round(record["requests_per_second"], 1),
        round(lat["p50"], 2),
        round(lat["p90"], 2),
        round(lat["p99"], 2),
        round(lat["max"], 1),
        record["errors"],
        f"{record['server_pss_mib']['before']:.0f} → {record['server_pss_mib']['after']:.0f}",
        round(record["server_cpu_ms_per_request"], 2),
        f"{record['load_average_before'][0]:.2f} → {record['load_average_after'][0]:.2f}",
    ]
    table = results_io.markdown_table(header, [row])
    title = (
        f"POST /api/recommendations, {record['ratings_per_request']} ratings, n = 10, "
        f"{record['model']} K = {record['n_factors']} on {record['dataset']}, "
        f"{record['seconds']:.1f} s, {os.cpu_count()} CPUs\n\n"
    )
    results_io.save("app", record, title + table)
    print(title + table)
    return 1 if record["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
