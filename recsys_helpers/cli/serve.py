"""``serve``: the live recommender (web page and JSON API) over a saved model.

The model comes from ``--model FILE`` (written by ``fit --save``); without it the default
:class:`~recsys_helpers.models.als.BiasedMF` is fitted on every rating of ``--dataset``
at start-up (nothing is saved). Titles come from ``--dataset NAME`` (default
ml-latest-small; its ratings also give existing users' stars) or ``--movies FILE``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
from pathlib import Path

from recsys_helpers import config
from recsys_helpers.cli import options
from recsys_helpers.errors import DataError

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def register(subparsers) -> None:
    """Add ``serve`` to ``subparsers``."""
    serve = subparsers.add_parser(
        "serve",
        help="the live recommender: a web page and a JSON API over a saved model",
        description=(
            "Serve a saved model: a page where a person rates movies by title and gets a "
            "list, and the JSON API behind it (documented at /docs). Listens on 127.0.0.1 "
            "unless --host says otherwise."
        ),
    )
    serve.add_argument(
        "--model",
        type=Path,
        metavar="FILE",
        help="a model saved by fit --save (default: fit BiasedMF on --dataset now)",
    )
    titles = serve.add_mutually_exclusive_group()
    titles.add_argument(
        "--dataset",
        metavar="NAME",
        help=f"MovieLens release for titles and users' ratings (default {config.DEFAULT_DATASET})",
    )
    titles.add_argument(
        "--movies",
        type=Path,
        metavar="FILE",
        help="movies .csv or .parquet (movieId, title, genres) instead of a release",
    )
    serve.add_argument("--mirror", metavar="DIR", help="local folder of MovieLens releases")
    serve.add_argument(
        "--host", default=DEFAULT_HOST, help=f"interface to listen on (default {DEFAULT_HOST})"
    )
    serve.add_argument(
        "--port",
        type=options.positive_int,
        default=DEFAULT_PORT,
        help=f"TCP port (default {DEFAULT_PORT})",
    )
    serve.add_argument(
        "--workers",
        type=options.positive_int,
        default=1,
        help="server processes sharing the port (default 1; one per core under load)",
    )
    serve.set_defaults(run=run_serve, parser=serve)


def build_app(args: argparse.Namespace):
    """The ASGI app ``serve`` runs, from the parsed arguments (no network access)."""
    from recsys_helpers.app.server import create_app
    from recsys_helpers.cli.recommend import load_model
    from recsys_helpers.data import movielens, userfiles

    ratings = None
    if args.movies is not None:
        if args.model is None:
            raise DataError("--movies needs --model FILE (there are no ratings to fit on)")
        movies, source = userfiles.read_movies_file(args.movies), str(args.movies)
    else:
        source = args.dataset or config.DEFAULT_DATASET
        movies = movielens.load_movies(source, mirror=args.mirror, progress=args.verbose)
        ratings = movielens.load_ratings(source, mirror=args.mirror, progress=args.verbose)
    if args.model is not None:
        model = load_model(args.model)
    else:
        from recsys_helpers.models import BiasedMF

        logger.warning("no --model: fitting BiasedMF on all %d ratings of %s", len(ratings), source)
        model = BiasedMF().fit(ratings)
    return create_app(model, movies, ratings=ratings, dataset=source)


def run_serve(args: argparse.Namespace) -> int:
    """Serve until interrupted.

    BLAS runs single-threaded in the server: concurrent requests already keep the cores
    busy, and a BLAS thread pool per request product (a 9,724 × 64 matrix-vector product
    on ml-latest-small) only adds contention (measured: 3.3 ms with 2 threads against
    0.7 ms with one, on an otherwise idle 2-core machine).
    """
    from threadpoolctl import threadpool_limits

    app = build_app(args)
    print(f"serving on http://{args.host}:{args.port}/  (API documentation at /docs)")
    with threadpool_limits(limits=1):
        serve_forever(app, args.host, args.port, args.workers)
    return 0


def serve_forever(app, host: str, port: int, workers: int = 1) -> None:
    """Run ``app`` with uvicorn until interrupted, in ``workers`` processes on one socket.

    One process answers one request at a time (the answers are short NumPy work under the
    interpreter lock), so on a machine with several cores more processes answer more
    requests at once. The model is loaded once, before the socket is shared and the
    workers are forked (its arrays are shared copy-on-write, not copied); the kernel
    hands each new connection to one of them. Serving uses only NumPy, never a numba
    thread pool, so forking after the model is loaded is safe.
    """
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_level="warning")
    if workers == 1:
        uvicorn.Server(config).run()
        return
    sock = config.bind_socket()
    children = []
    for _ in range(workers - 1):
        pid = os.fork()
        if pid == 0:  # a worker: serve until interrupted, then leave without cleanup
            try:
                uvicorn.Server(config).run(sockets=[sock])
            finally:
                os._exit(0)
        children.append(pid)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)
        for pid in children:
            os.waitpid(pid, 0)
        sock.close()
