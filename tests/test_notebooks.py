"""The report notebooks: committed clean, uniform in layout, each runs on smoke parameters with
headline metrics in their bands, on every release format, and renders without raw objects."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess

import nbformat
import pytest
from _movielens_files import LAYOUT_RELEASES, write_synthetic_release

from recsys_helpers import config, report
from recsys_helpers.data import movielens
from recsys_helpers.report import build

NOTEBOOK_DIR = config.PROJECT_ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
KERNEL_NAME = "movielens-als"  # registered by `make kernel`; see the Makefile

ALL_NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))  # the report's and the template

by_name = pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])

OBJECT_REPR = re.compile(r"(object|Styler) at 0x[0-9a-fA-F]+")
"""What a Python object without a rich display looks like in a report."""


def _read(path):
    return nbformat.read(path, as_version=4)


def _parameters_cell(notebook):
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"expected one cell tagged 'parameters', found {len(tagged)}"
    return tagged[0]


def test_notebooks_are_numbered_without_gaps():
    assert NOTEBOOKS, f"no notebooks in {NOTEBOOK_DIR}"
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers == list(range(1, len(NOTEBOOKS) + 1))
    for path in NOTEBOOKS:
        assert report.NOTEBOOK_NAME.match(path.stem), path.name


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=[p.stem for p in ALL_NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path):
    notebook = _read(path)
    nbformat.validate(notebook)
    for number, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: cell {number} has outputs"
            assert cell.execution_count is None, (
                f"{path.name}: cell {number} has an execution count"
            )
    assert "papermill" not in notebook.metadata, f"{path.name}: papermill metadata left in"


def _is_table_call(node) -> bool:
    return isinstance(node, ast.Call) and getattr(node.func, "attr", "").endswith("table")


def _prose_markdown(tree) -> list[int]:
    """Lines of ``Markdown(...)`` calls building a paragraph (two lines or more, not a table)."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == "Markdown"
        and node.args
        and not _is_table_call(node.args[0])
        and node.end_lineno > node.lineno
    ]


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=[p.stem for p in ALL_NOTEBOOKS])
def test_prose_cells_hide_their_code_and_tables_are_markdown(path):
    for number, cell in enumerate(_read(path).cells):
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        tree = ast.parse(cell.source)
        tags = cell.metadata.get("tags", [])
        if _prose_markdown(tree):
            assert build.HIDE_INPUT_TAG in tags, (
                f"{path.name}: cell {number} builds a paragraph; tag it {build.HIDE_INPUT_TAG!r}"
            )
        styled = [n.lineno for n in ast.walk(tree) if getattr(n, "attr", None) == "style"]
        assert not styled, (
            f"{path.name}: cell {number} line {styled[0]} uses a pandas Styler, which the PDF "
            "prints as <Styler at 0x...>; use report.frame_table"
        )


@by_name
def test_notebook_follows_the_template(path):
    notebook = _read(path)
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "title first"
    assert "**Question.**" in first.source, f"{path.name}: the title cell states the question"
    assert notebook.metadata["kernelspec"]["name"] == KERNEL_NAME

    parameters = _parameters_cell(notebook)
    tree = ast.parse(parameters.source)
    names = []
    for statement in tree.body:
        assert isinstance(statement, ast.Assign), f"{path.name}: parameters are assignments"
        ast.literal_eval(statement.value)  # plain literals only: papermill cannot recompute
        names.extend(target.id for target in statement.targets)
    assert "smoke" in names and "dataset" in names, f"{path.name}: needs dataset and smoke"

    headings = [
        line
        for cell in notebook.cells
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if line.startswith("## ")
    ]
    numbers = [int(m.group(1)) for h in headings if (m := re.match(r"## (\d+)\. ", h))]
    assert numbers == list(range(1, len(headings) + 1)), f"{path.name}: numbered sections"

    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    last_code = [c for c in notebook.cells if c.cell_type == "code"][-1]
    assert re.search(rf'record_metrics\(\s*"{path.stem}"', last_code.source), (
        f"{path.name}: the last code cell records the headline metrics under its own name"
    )
    saved = re.findall(r'save_figure\(\s*\w+,\s*"([^"]+)"', code)
    assert all(name.startswith(path.stem[:3]) for name in saved), saved
    assert "savefig(" not in code, f"{path.name}: figures go through plots.save_figure"


# ---------------------------------------------------------------------------------------
# Headline metrics of a smoke run, within bands. ``ratings`` is the smoke subsample the
# notebook worked on; ``real`` marks MovieLens data (not a planted synthetic release), for
# the checks that only real ratings are known to pass.
# ---------------------------------------------------------------------------------------


def _movies_with(ratings, at_least: int) -> int:
    return int((ratings["movieId"].value_counts() >= at_least).sum())


def _bands_01(m, ratings, real):
    n_users, n_movies = ratings["userId"].nunique(), ratings["movieId"].nunique()
    assert (m["n_ratings"], m["n_users"], m["n_movies"]) == (len(ratings), n_users, n_movies)
    assert m["n_users"] == report.notebook.SMOKE_USERS
    assert m["density"] == pytest.approx(len(ratings) / (n_users * n_movies))
    assert m["mean_rating"] == pytest.approx(ratings["rating"].mean(), rel=1e-5)
    assert m["user_degree_alpha"] > 1 and m["movie_degree_alpha"] > 1
    assert m["user_degree_xmin"] >= ratings["userId"].value_counts().min()
    for key in ("user_degree_lognormal_p", "movie_degree_lognormal_p"):
        assert 0 <= m[key] <= 1
    assert m["zipf_exponent"] > 0


def _bands_02(m, ratings, real):
    assert 0.8 < m["global_mean_rmse"] < 1.4
    # the offsets must beat the global mean clearly, on real and planted ratings alike
    assert 0.6 < m["bias_only_rmse"] < m["global_mean_rmse"] - 0.05
    assert m["chosen_reg_bias"] in (0.0, 1.0, 10.0)  # the smoke grid
    assert 0.6 < m["chosen_valid_rmse"] < 1.2
    assert abs(m["n_test"] - 0.1 * len(ratings)) <= 1


def _bands_03(m, ratings, real):
    for key in ("global_mean_rmse", "bias_only_rmse", "latent_only_rmse", "biased_mf_rmse"):
        assert 0.6 < m[key] < 1.4, key
    assert m["biased_mf_rmse"] < m["global_mean_rmse"] - 0.05
    assert m["latent_only_rmse"] < m["global_mean_rmse"]
    assert m["biased_mf_rmse"] < m["bias_only_rmse"] + 0.01  # no worse than its biases alone
    assert m["biased_mf_rmse"] < m["latent_only_rmse"]
    assert m["unregularised_valid_rmse"] > m["chosen_valid_rmse"] + 0.05  # it over-fits
    assert (m["chosen_n_factors"], m["chosen_reg"]) in {(k, r) for k in (2, 8) for r in (3, 12)}


def _bands_04(m, ratings, real):
    rmse_keys = ("bayes_rmse", "map_rmse", "running_mean_rmse", "first_sample_rmse")
    for key in (*rmse_keys, "shared_diagonal_rmse", "time_bayes_rmse", "time_map_rmse"):
        assert 0.6 < m[key] < 1.5, key  # the last three: sections 7 and 8
    assert m["running_mean_rmse"] < m["first_sample_rmse"]  # averaging draws helps
    coverage = [m["coverage_50"], m["coverage_80"], m["coverage_95"]]
    assert coverage == sorted(coverage) and 0.3 < coverage[0] and coverage[-1] <= 1
    assert m["sweep_seconds_median"] > 0 and m["noise_precision"] > 0
    if real:  # the intervals are roughly honest; a smoke chain (20 samples on 100 users) is
        # too short to beat the MAP point it starts from, but must not wander far from it
        assert 0.85 < m["coverage_95"] < 0.99
        assert m["bayes_rmse"] < m["map_rmse"] + 0.03
        assert m["time_bayes_rmse"] < m["time_map_rmse"] + 0.03
        assert m["shared_diagonal_rmse"] < m["map_rmse"] + 0.03


def _bands_05(m, ratings, real):
    assert m["min_ratings"] == 5
    assert m["n_ranked_movies"] == _movies_with(ratings, 5)
    assert -1 <= m["spearman_std_vs_norm"] <= 1
    assert 0 <= m["top_overlap"] <= 1 and 0 <= m["bottom_overlap"] <= 1
    if real:  # a long vector goes with a wide spread of ratings
        assert m["spearman_std_vs_norm"] > 0.2


def _bands_06(m, ratings, real):
    assert m["min_ratings"] == 3
    assert m["n_movies_drawn"] == _movies_with(ratings, 3)
    assert 0 < m["genre_agreement_chance"] < 1
    for key in ("k2_genre_agreement", "genre_agreement", "tsne_genre_agreement"):
        assert 0 <= m[key] <= 1, key
    assert 0 < m["pca_explained_2d"] <= 1
    if real:  # the vectors find genres they were never shown
        assert m["genre_agreement"] > m["genre_agreement_chance"] + 0.02


def _bands_07(m, ratings, real):
    assert m["newcomer_median_ratings_floor"] >= 2  # the smoke floor: every movie has 2
    for key in ("newcomer_median_ratings_full_bias", "newcomer_median_ratings_downweighted"):
        assert m[key] >= 1, key  # movies the model knows, each rated at least once
    for key in ("users_share_obscure_full_bias", "other_scaling_share_obscure_full_bias"):
        assert 0 <= m[key] <= 1, key
    assert m["examples_by_title"] == (6 if real else 0)


def _bands_08(m, ratings, real):
    for key in ("cold_rmse_content", "cold_rmse_als", "cold_rmse_hybrid", "warm_rmse_als"):
        assert 0.5 < m[key] < 1.5, key
    assert m["cold_ndcg10_hybrid"] > m["cold_ndcg10_als"]  # ALS ties a user's cold movies
    if real:  # the feature prior helps unrated movies
        assert m["cold_rmse_hybrid"] < m["cold_rmse_als"] - 0.01
    else:  # a few hundred cold ratings of a small planted release: no worse, within noise
        assert m["cold_rmse_hybrid"] < m["cold_rmse_als"] + 0.02
    for key in ("cold_ndcg10_content", "cold_ndcg10_als", "cold_ndcg10_hybrid"):
        assert 0 < m[key] <= 1, key
    assert m["n_features"] > 0


def _bands_09(m, ratings, real):
    for key in ("random_rmse_none", "random_rmse_all", "last_k_rmse_none", "last_k_rmse_all"):
        assert 0.6 < m[key] < 1.5, key
    random_reach = m["share_test_on_training_days_random"]
    last_reach = m["share_test_on_training_days_last_k"]
    assert 0 <= last_reach <= random_reach <= 1  # later ratings fall on new days more often
    # planted releases have no time effects: there the penalised terms fit a little noise
    assert m["random_rmse_all"] < m["random_rmse_none"] + (0.01 if real else 0.03)
    if real:  # a user's day explains part of the rating
        assert m["random_gain_user_day"] > 0
        assert m["random_rmse_all"] < m["random_rmse_none"]


BANDS = {
    "01_data_and_eda": _bands_01,
    "02_bias_only_als": _bands_02,
    "03_bias_latent_als": _bands_03,
    "04_bayesian_pmf": _bands_04,
    "05_polarisation": _bands_05,
    "06_embeddings": _bands_06,
    "07_recommendations": _bands_07,
    "08_hybrid_cold_start": _bands_08,
    "09_temporal_dynamics": _bands_09,
}


def test_every_notebook_has_bands():
    missing = sorted({p.stem for p in NOTEBOOKS} - set(BANDS))
    assert not missing, f"add the bands of {missing}'s headline metrics to BANDS"


def _raw_objects(text: str) -> list[str]:
    return sorted({m.group(0) for m in OBJECT_REPR.finditer(text)})


def _check_executed(path, output) -> None:
    """What a reader would stumble on in an executed notebook: warnings and raw objects."""
    for number, cell in enumerate(_read(output).cells):
        for item in cell.get("outputs", []):
            if item.get("output_type") == "stream":
                assert item["name"] != "stderr", (
                    f"{path.name}: cell {number} writes to stderr, which the report shows: "
                    f"{item['text'][:300]}"
                )
            plain = item.get("data", {}).get("text/plain", "")
            if item.get("output_type") in ("display_data", "execute_result") and not any(
                kind in item["data"] for kind in ("image/png", "text/markdown", "text/html")
            ):
                raise AssertionError(f"{path.name}: cell {number} shows a bare value: {plain}")
            assert not _raw_objects(plain if isinstance(plain, str) else "".join(plain))


def _run_smoke(path, folder, **parameters) -> dict:
    output = folder / path.name
    build.execute_notebook(path, output, parameters={"smoke": True, **parameters}, progress=False)
    _check_executed(path, output)
    record = json.loads((folder / "metrics" / f"{path.stem}.json").read_text())
    assert record["parameters"]["smoke"] is True
    assert record["metrics"], f"{path.name}: no headline metrics"
    return record


def _check_figures(path) -> None:
    code = "\n".join(c.source for c in _read(path).cells if c.cell_type == "code")
    for name in re.findall(r'save_figure\(\s*\w+,\s*"([^"]+)"', code):
        assert (config.figures_dir() / f"{name}.png").is_file(), name
        assert (config.figures_dir() / f"{name}.svg").is_file(), name


@pytest.fixture(scope="module")
def smoke_report(mirror, tmp_path_factory):
    """Every notebook run once on ml-latest-small with smoke=True: (folder, errors by stem)."""
    folder = tmp_path_factory.mktemp("smoke-report")
    root = tmp_path_factory.getbasetemp()  # module scope: set up before conftest's autouse
    errors = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(config.REPORT_DIR_ENV, str(folder))
        patch.setenv(config.DATA_DIR_ENV, str(root / "data"))
        patch.setenv(config.FIGURES_DIR_ENV, str(root / "figures"))
        for path in NOTEBOOKS:
            try:
                build.execute_notebook(
                    path, folder / path.name, parameters={"smoke": True}, progress=False
                )
            except report.ReportError as exc:
                errors[path.stem] = exc
    return folder, errors


@pytest.fixture(scope="module")
def smoke_ratings(mirror, tmp_path_factory):
    """The smoke subsample of ml-latest-small that the notebooks work on."""
    ratings = movielens.load_ratings(
        "ml-latest-small", data_dir=tmp_path_factory.getbasetemp() / "data", progress=False
    )
    return report.smoke_subsample(ratings, 0)


@pytest.mark.notebooks
@pytest.mark.slow
@by_name
def test_notebook_runs_on_smoke_parameters_within_bands(path, smoke_report, smoke_ratings):
    folder, errors = smoke_report
    if path.stem in errors:
        raise errors[path.stem]
    output = folder / path.name
    _check_executed(path, output)
    record = json.loads((folder / "metrics" / f"{path.stem}.json").read_text())
    assert record["parameters"]["smoke"] is True
    if path.stem in BANDS:
        BANDS[path.stem](record["metrics"], smoke_ratings, real=True)
    _check_figures(path)


@pytest.mark.notebooks
@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("xelatex") is None or shutil.which("pandoc") is None,
    reason="needs pandoc and xelatex (make report-deps)",
)
@pytest.mark.skipif(
    shutil.which("pdftotext") is None,
    reason="needs pdftotext to read the PDF (poppler-utils; make report-deps installs it)",
)
def test_rendered_smoke_report_shows_no_raw_objects_and_no_prose_code(smoke_report, tmp_path):
    folder, errors = smoke_report
    executed = [folder / p.name for p in NOTEBOOKS if p.stem not in errors]
    assert executed, f"no notebook ran: {errors}"
    html = build.render_html(executed, tmp_path / "index.html").read_text(encoding="utf-8")
    pdf = build.render_pdf(executed, tmp_path / "report.pdf")
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert _raw_objects(html) == [], "the HTML shows Python objects instead of tables"
    assert _raw_objects(text) == [], "the PDF shows Python objects instead of tables"
    shown = {"HTML": _words(_visible_text(html)), "PDF": _words(text)}
    hidden, taught = _code_lines(executed)
    for where, words in shown.items():
        leaked = [line for line in hidden if _words(line) in words]
        assert not leaked, f"the {where} shows the code of prose cells: {leaked[:3]}"
        assert any(_words(line) in words for line in taught), f"the {where} shows no code"
    assert "Headline metrics" in text


def _visible_text(html: str) -> str:
    import html as html_module

    html = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", html)
    return html_module.unescape(re.sub(r"<[^>]+>", "", html))


def _words(text: str) -> str:
    return " ".join(text.split())


def _code_lines(executed) -> tuple[list[str], list[str]]:
    """A distinctive code line of each hidden (prose) cell and of each shown code cell."""
    hidden, taught = [], []
    for output in executed:
        for cell in _read(output).cells:
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            lines = [line.strip() for line in cell.source.splitlines()]
            lines = [line for line in lines if len(line) > 25 and not line.startswith("#")]
            if lines:
                tags = cell.metadata.get("tags", [])
                (hidden if build.HIDE_INPUT_TAG in tags else taught).append(lines[0][:60])
    return hidden, taught


# ---------------------------------------------------------------------------------------
# Every release: each notebook in smoke mode on a small planted release written in each
# file layout (csv: ml-25m, dat: ml-10m, 100k: ml-100k).
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic_mirror(tmp_path_factory):
    """A mirror with one small release per layout, a private cache and their smoke subsamples."""
    mirror = tmp_path_factory.mktemp("synthetic-mirror")
    cache = tmp_path_factory.mktemp("synthetic-cache")
    subsamples = {
        name: report.smoke_subsample(write_synthetic_release(mirror, name, seed=seed), 0)
        for seed, name in enumerate(LAYOUT_RELEASES.values())
    }
    return mirror, cache, subsamples


@pytest.mark.notebooks
@pytest.mark.slow
@pytest.mark.parametrize("release", list(LAYOUT_RELEASES.values()))
@by_name
def test_notebook_runs_on_every_release_format(
    path, release, synthetic_mirror, tmp_path, monkeypatch
):
    mirror, cache, subsamples = synthetic_mirror
    monkeypatch.setenv(config.MIRROR_ENV, str(mirror))
    monkeypatch.setenv(config.DATA_DIR_ENV, str(cache))
    monkeypatch.setenv(config.REPORT_DIR_ENV, str(tmp_path / "report"))
    record = _run_smoke(path, tmp_path / "report", dataset=release)
    assert record["parameters"]["dataset"] == release
    ratings = subsamples[release]
    assert record["parameters"]["smoke"] is True
    if path.stem in BANDS:
        BANDS[path.stem](record["metrics"], ratings, real=False)
    _check_figures(path)
