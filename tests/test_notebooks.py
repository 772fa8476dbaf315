"""The report notebooks: committed clean, uniform in layout, and each runs on smoke parameters."""

from __future__ import annotations

import ast
import json
import re

import nbformat
import pytest

from recsys_helpers import config, report
from recsys_helpers.report import build

NOTEBOOK_DIR = config.PROJECT_ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
KERNEL_NAME = "movielens-als"  # registered by `make kernel`; see the Makefile

ALL_NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))  # the report's and the template

by_name = pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])


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


@pytest.mark.notebooks
@pytest.mark.slow
@by_name
def test_notebook_runs_on_smoke_parameters(path, mirror, tmp_path, monkeypatch):
    monkeypatch.setenv(config.REPORT_DIR_ENV, str(tmp_path / "report"))
    output = tmp_path / "report" / path.name
    build.execute_notebook(path, output, parameters={"smoke": True}, progress=False)
    record = json.loads((tmp_path / "report" / "metrics" / f"{path.stem}.json").read_text())
    assert record["parameters"]["smoke"] is True
    assert record["metrics"], f"{path.name}: no headline metrics"
    code = "\n".join(c.source for c in _read(path).cells if c.cell_type == "code")
    for name in re.findall(r'save_figure\(\s*\w+,\s*"([^"]+)"', code):
        assert (config.figures_dir() / f"{name}.png").is_file(), name
        assert (config.figures_dir() / f"{name}.svg").is_file(), name
