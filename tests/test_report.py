"""Tests for recsys_helpers.report: metrics files, papermill runs, HTML and PDF rendering."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import nbformat
import numpy as np
import pytest

from recsys_helpers import config, report
from recsys_helpers.report import ReportError, build


@pytest.fixture
def report_folder(tmp_path, monkeypatch):
    folder = tmp_path / "report"
    monkeypatch.setenv(config.REPORT_DIR_ENV, str(folder))
    return folder


def _notebook(*cells, parameters: str = "scale = 1") -> nbformat.NotebookNode:
    """A tiny notebook: a title, a tagged parameters cell, then the given code cells."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell("# Tiny\n\nWith $\\alpha = 1$ inline."))
    nb.cells.append(nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    nb.cells.extend(nbformat.v4.new_code_cell(source) for source in cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def _leftovers(folder):
    return sorted(p.name for p in folder.rglob("*") if ".tmp" in p.name)


def test_record_metrics_writes_json_with_plain_values(report_folder):
    path = report.record_metrics(
        "01_tiny",
        {"rmse": np.float32(0.875), "n": np.int64(3), "name": "x", "missing": float("nan")},
        parameters={"dataset": "ml-latest-small", "smoke": True},
    )
    assert path == report_folder / "metrics" / "01_tiny.json"
    record = json.loads(path.read_text())
    assert record == {
        "notebook": "01_tiny",
        "parameters": {"dataset": "ml-latest-small", "smoke": True},
        "metrics": {"rmse": 0.875, "n": 3, "name": "x", "missing": None},
    }
    assert list(record["metrics"]) == ["rmse", "n", "name", "missing"]
    assert _leftovers(report_folder) == []


@pytest.mark.parametrize("name", ["tiny", "1_tiny", "01-tiny", "01_Tiny", "01_tiny.json"])
def test_record_metrics_rejects_names_that_are_not_notebook_stems(report_folder, name):
    with pytest.raises(ValueError, match=r"notebook=.* must be a notebook stem like"):
        report.record_metrics(name, {"a": 1})


def test_record_metrics_rejects_non_scalar_values_and_empty_metrics(report_folder):
    with pytest.raises(ValueError, match=r"metric 'curve': value \[1, 2\] of type list"):
        report.record_metrics("01_tiny", {"curve": [1, 2]})
    with pytest.raises(ValueError, match="no metrics given for '01_tiny'"):
        report.record_metrics("01_tiny", {})
    assert not (report_folder / "metrics").exists()


def test_metrics_summary_aggregates_notebooks_in_order(report_folder):
    report.record_metrics("02_model", {"rmse": 0.86123456}, parameters={"dataset": "ml-x"})
    report.record_metrics("01_data", {"n_ratings": 100836, "density": 0.0169997})
    json_path, md_path = report.write_metrics_summary()
    combined = json.loads(json_path.read_text())
    assert list(combined) == ["01_data", "02_model"]
    assert combined["02_model"]["metrics"] == {"rmse": 0.86123456}
    assert md_path.read_text().splitlines() == [
        "# Headline metrics",
        "",
        "| notebook | metric | value |",
        "| --- | --- | --- |",
        "| 01_data | n_ratings | 100,836 |",
        "| 01_data | density | 0.017 |",
        "| 02_model (ml-x) | rmse | 0.8612 |",
    ]


def test_metrics_summary_names_a_broken_file(report_folder):
    (report_folder / "metrics").mkdir(parents=True)
    (report_folder / "metrics" / "01_bad.json").write_text('{"metrics": {"a": 1},\n oops}')
    with pytest.raises(ReportError, match=r"01_bad.json: line 2: not valid JSON"):
        report.write_metrics_summary()
    (report_folder / "metrics" / "01_bad.json").write_text('{"values": {}}')
    with pytest.raises(ReportError, match=r"01_bad.json: expected an object with a 'metrics'"):
        report.write_metrics_summary()


def test_metrics_summary_needs_at_least_one_notebook(report_folder):
    with pytest.raises(ReportError, match="no notebook recorded metrics"):
        report.write_metrics_summary()
    assert build.main(["metrics"]) == 1


def test_markdown_table_formats_and_escapes_cells():
    table = report.markdown_table(
        [("a|b", 1234567, 0.000012345), ("c", True, None)], header=("name", "count", "x")
    )
    assert table.splitlines() == [
        "| name | count | x |",
        "| --- | --- | --- |",
        r"| a\|b | 1,234,567 | 1.234e-05 |",
        "| c | True | — |",
    ]
    with pytest.raises(ValueError, match="markdown_table: row 2 has 1 cells, header 3"):
        report.markdown_table([(1, 2, 3), (1,)], header=("a", "b", "c"))


def test_execute_notebook_injects_parameters_and_records_metrics(tmp_path, report_folder):
    source = tmp_path / "01_tiny.ipynb"
    nbformat.write(
        _notebook(
            "from recsys_helpers import report\n"
            "report.record_metrics('01_tiny', {'doubled': 2 * scale})\n"
            "print('scale is', scale)"
        ),
        source,
    )
    output = build.execute_notebook(
        source, report_folder / "01_tiny.ipynb", parameters={"scale": 21}, progress=False
    )
    executed = nbformat.read(output, as_version=4)
    assert "scale is 21" in executed.cells[-1].outputs[0]["text"]
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    assert json.loads((report_folder / "metrics" / "01_tiny.json").read_text())["metrics"] == {
        "doubled": 42
    }
    assert _leftovers(report_folder) == []


def test_execute_notebook_failure_names_the_cell_and_keeps_no_output(tmp_path, report_folder):
    source = tmp_path / "01_broken.ipynb"
    nbformat.write(_notebook("x = 1", "y = scale / 0"), source)
    output = report_folder / "01_broken.ipynb"
    with pytest.raises(
        ReportError, match=r"01_broken.ipynb: cell 3 .* failed with ZeroDivisionError"
    ):
        build.execute_notebook(source, output, progress=False)
    assert not output.exists()
    assert (report_folder / "01_broken.failed.ipynb").is_file()
    assert _leftovers(report_folder) == []
    # Fixed and re-run: the output appears and the failed copy goes away.
    nbformat.write(_notebook("x = 1", "y = scale / 1"), source)
    build.execute_notebook(source, output, progress=False)
    assert output.is_file() and not (report_folder / "01_broken.failed.ipynb").exists()


def test_execute_notebook_missing_source(tmp_path):
    with pytest.raises(ReportError, match=r"nope.ipynb: notebook not found"):
        build.execute_notebook(tmp_path / "nope.ipynb", tmp_path / "out.ipynb")


@pytest.fixture(scope="module")
def executed_notebooks(tmp_path_factory):
    """Two notebooks in reading order, the first executed (a figure and a Markdown table)."""
    folder = tmp_path_factory.mktemp("executed")
    figure_code = (
        "import matplotlib.pyplot as plt\n"
        "from IPython.display import Markdown, display\n"
        "from recsys_helpers.report import markdown_table\n"
        "fig, ax = plt.subplots(); ax.plot([1, 2, 3])\n"
        "display(Markdown(markdown_table([('rmse', 0.85)], header=('metric', 'value'))))"
    )
    first = _notebook(figure_code)
    first.cells[0].source = "# Notebook 01_first\n\n## 1. Part\n\n$$r_{ui} = \\mu + b_u$$"
    nbformat.write(first, folder / "01_first.ipynb")
    executed = build.execute_notebook(
        folder / "01_first.ipynb", folder / "out" / "01_first.ipynb", progress=False
    )
    # Rendering needs no kernel: the second notebook carries a hand-made output.
    second = _notebook("print(scale)")
    second.cells[0].source = "# Notebook 02_second"
    second.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    nbformat.write(second, folder / "out" / "02_second.ipynb")
    paths = [executed, folder / "out" / "02_second.ipynb"]
    return paths


def test_render_html_is_one_offline_page_with_embedded_figures(executed_notebooks, tmp_path):
    page = build.render_html(executed_notebooks, tmp_path / "index.html", title="Tiny report")
    html = page.read_text()
    assert '<script src="mathjax/MathJax.js?config=' in html
    assert (tmp_path / "mathjax" / "MathJax.js").is_file()
    assert 'webFont: "STIX-Web"' in html  # the only fonts the local copy ships
    assert 'src="https://' not in html and 'src="http://' not in html
    assert html.count('src="data:image/png;base64,') == 1
    assert '<a href="#01_first">Notebook 01_first</a>' in html
    assert '<a href="#02_second">Notebook 02_second</a>' in html
    assert html.index('id="01_first"') < html.index('id="02_second"')
    assert "injected-parameters" not in html


@pytest.mark.skipif(
    shutil.which("xelatex") is None or shutil.which("pandoc") is None,
    reason="needs pandoc and xelatex (make report-deps)",
)
def test_render_pdf_has_title_contents_and_both_notebooks(executed_notebooks, tmp_path):
    pdf = build.render_pdf(executed_notebooks, tmp_path / "report.pdf", title="Tiny report")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert text.index("Tiny report") < text.index("Contents") < text.index("Notebook 02_second")
        assert "rmse" in text and "0.85" in text


def test_render_requires_executed_notebooks(tmp_path):
    with pytest.raises(ReportError, match="01_x.ipynb: executed notebook not found"):
        build.render_html([tmp_path / "01_x.ipynb"], tmp_path / "index.html")
    with pytest.raises(ReportError, match="no executed notebooks to render"):
        build.render_html([], tmp_path / "index.html")


def test_cli_parses_parameters_as_literals():
    assert build._parse_value("True") is True
    assert build._parse_value("0.1") == 0.1
    assert build._parse_value("ml-latest-small") == "ml-latest-small"


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_make_report_runs_every_numbered_notebook_in_order():
    from recsys_helpers import config

    notebooks = sorted((config.PROJECT_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    plan = subprocess.run(
        ["make", "-n", "-B", "report", "SMOKE=True", "DATASET=ml-100k", "PY=python"],
        cwd=config.PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    runs = [line for line in plan if "recsys_helpers.report run " in line]
    assert [line.split()[4] for line in runs] == [f"notebooks/{p.name}" for p in notebooks]
    assert all(line.endswith("-p dataset ml-100k -p smoke True") for line in runs)
    rendering = [line.split()[3] for line in plan if re.search(r"report (html|pdf|metrics)", line)]
    assert sorted(rendering) == ["html", "metrics", "pdf"]
    assert max(plan.index(line) for line in runs) < min(
        i for i, line in enumerate(plan) if re.search(r"report (html|pdf|metrics)", line)
    )


def test_title_page_says_the_notebooks_ran_on_a_synthetic_release(
    executed_notebooks, tmp_path, monkeypatch
):
    from _movielens_files import write_csv_release

    write_csv_release(tmp_path / "mirror" / "ml-25m", synthetic=False)
    copies = []
    for path in executed_notebooks:
        notebook = nbformat.read(path, as_version=4)
        notebook.metadata["papermill"] = {"parameters": {"dataset": "ml-25m", "smoke": True}}
        copies.append(tmp_path / path.name)
        nbformat.write(notebook, copies[-1])
    monkeypatch.setenv(config.MIRROR_ENV, str(tmp_path / "mirror"))
    plain = build.render_html(copies, tmp_path / "plain.html", title="Tiny report").read_text()
    assert "SYNTHETIC" not in plain  # a folder without the marker is not called synthetic
    (tmp_path / "mirror" / "ml-25m" / "SYNTHETIC.json").write_text(
        '{"synthetic": true, "like": "ml-25m", "generator": "the test"}'
    )
    page = build.render_html(copies, tmp_path / "index.html", title="Tiny report").read_text()
    assert (
        "Tiny report. SYNTHETIC DATA: ml-25m is synthetic (like ml-25m, generated by the test)"
        in page
    )
