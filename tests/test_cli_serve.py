"""The ``serve`` command: arguments, the app it builds, and a real server process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest
from _app_fixtures import fitted
from fastapi.testclient import TestClient

from recsys_helpers.cli import build_parser, main
from recsys_helpers.cli.serve import build_app


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A saved model and a movies CSV with the year inside the titles."""
    folder = tmp_path_factory.mktemp("serve")
    model, movies, _ = fitted()
    model.save(folder / "model.npz")
    frame = movies.assign(
        title=[f"{t} ({y})" for t, y in zip(movies["title"], movies["year"], strict=True)],
        genres=["|".join(g) for g in movies["genres"]],
    )[["movieId", "title", "genres"]]
    frame.to_csv(folder / "movies.csv", index=False)
    return folder / "model.npz", folder / "movies.csv", model


def test_serve_options_and_defaults():
    args = build_parser().parse_args(["serve", "--model", "m.npz", "--movies", "f.csv"])
    assert (args.host, args.port) == ("127.0.0.1", 8000)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--dataset", "x", "--movies", "f.csv"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--port", "0"])


def test_build_app_from_a_model_file_and_a_movies_file(files):
    model_file, movies_file, model = files
    args = build_parser().parse_args(
        ["serve", "--model", str(model_file), "--movies", str(movies_file)]
    )
    client = TestClient(build_app(args))
    health = client.get("/api/health").json()
    assert health["n_movies"] == len(model.items_) and health["dataset"] == str(movies_file)
    found = client.get("/api/movies", params={"q": "matrix 1999"}).json()["items"]
    assert found[0]["title"] == "Matrix, The" and found[0]["year"] == 1999
    assert found[0]["genres"] and isinstance(found[0]["genres"], list)


def test_errors_are_one_line(files, tmp_path, capsys):
    _, movies_file, _ = files
    assert main(["serve", "--movies", str(movies_file)]) == 1
    assert "--movies needs --model" in capsys.readouterr().err
    assert main(["serve", "--model", str(tmp_path / "none.npz"), "--movies", str(movies_file)]) == 1
    assert "no such model file" in capsys.readouterr().err


@pytest.mark.parametrize("workers", [1, 2])
def test_the_command_serves_on_127_0_0_1_until_interrupted(files, workers):
    model_file, movies_file, _ = files
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "recsys_helpers",
        "serve",
        "--model",
        str(model_file),
        "--movies",
        str(movies_file),
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ
    )
    children = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                    health = json.load(r)
                break
            except OSError:
                assert process.poll() is None, process.stderr.read().decode()
                assert time.monotonic() < deadline, "the server did not start within 60 s"
                time.sleep(0.2)
        assert health["model"] == "BiasedMF"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
            assert b"<title>MovieLens recommender</title>" in page.read()
        children = psutil.Process(process.pid).children(recursive=True)
        assert len(children) == workers - 1
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode is not None
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, "a worker outlived the interrupted server"
