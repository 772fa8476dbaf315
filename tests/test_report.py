"""Tests for recsys_helpers.report: metrics files, papermill runs, HTML and PDF rendering."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import nbformat
import numpy as np
import pandas as pd
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


def test_metrics_summary_leaves_out_notebooks_not_in_the_report(report_folder):
    """A file left by a renamed notebook (04_old) stays out when the notebooks are named."""
    report.record_metrics("01_data", {"n_ratings": 10})
    report.record_metrics("04_old", {"rmse": 0.9})
    report.record_metrics("04_new", {"rmse": 0.8})
    json_path, md_path = report.write_metrics_summary(notebooks=["01_data", "04_new"])
    assert list(json.loads(json_path.read_text())) == ["01_data", "04_new"]
    assert "04_old" not in md_path.read_text()
    executed = [str(report_folder / "01_data.ipynb"), str(report_folder / "04_new.ipynb")]
    assert build.main(["metrics", *executed]) == 0
    assert list(json.loads(json_path.read_text())) == ["01_data", "04_new"]
    assert build.main(["metrics"]) == 0  # without names: every file, the old one too
    assert "04_old" in json.loads(json_path.read_text())


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


def test_markdown_table_aligns_columns_on_request():
    table = report.markdown_table(
        [("a", 1), ("a longer name", 2)], header=("name", "n"), align="lr"
    )
    assert table.splitlines()[1] == "| :------------ | --: |"  # dashes as wide as the column
    assert report.markdown_table([], header=("a", "b"), align="c-").splitlines()[1] == (
        "| :-: | --- |"
    )
    with pytest.raises(ValueError, match=r"align='x' needs one of l, r, c, - per column \(2"):
        report.markdown_table([("a", 1)], header=("name", "n"), align="x")


def test_wide_table_gives_every_column_room_for_its_longest_word():
    title = "A very long title that needs a lot of room to be shown in full"
    table = report.markdown_table(
        [(1, title, title)], header=("rank", "first", "second"), align="rll"
    )
    dashes = [len(rule.strip()) for rule in table.splitlines()[1].strip("|").split("|")]
    assert dashes[1] == dashes[2] == len(title)  # titles: as wide as they are
    assert dashes[0] / sum(dashes) >= (len("rank") + 2) / 80  # "rank" does not break


def test_frame_table_formats_columns_and_right_aligns_numbers():
    frame = pd.DataFrame(
        {
            "model": ["*batteries not included", "bias_only"],
            "rmse": [0.86123, np.nan],
            "share": [0.25, 0.5],
            "n": [1234567, 8],
        }
    )
    table = report.frame_table(frame, {"rmse": "{:.3f}", "share": "{:.0%}"}, header={"n": "count"})
    assert table.splitlines() == [
        "| model | rmse | share | count |",
        "| :----------------------- | ----: | ----: | --------: |",
        r"| \*batteries not included | 0.861 | 25% | 1,234,567 |",  # Markdown stays literal
        r"| bias\_only | — | 50% | 8 |",  # a missing value is a dash, never "nan"
    ]
    assert report.frame_table(frame, columns=["n"]).splitlines()[2] == "| 1,234,567 |"
    assert report.frame_table(frame, {"share": lambda v: f"{v:.1f}"}, columns=["share"]).endswith(
        "| 0.5 |\n"
    )


def test_frame_table_shows_the_index_on_request_and_names_unknown_columns():
    frame = pd.DataFrame({"title": ["A", "B"]}, index=pd.RangeIndex(1, 3, name="rank"))
    assert report.frame_table(frame, index=True).splitlines()[:3] == [
        "| rank | title |",
        "| ---: | :---- |",
        "| 1 | A |",
    ]
    with pytest.raises(KeyError, match=r"formats for column\(s\) \['score'\] not in the table"):
        report.frame_table(frame, {"score": "{:.2f}"})


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


def test_execute_notebook_records_wall_time_and_injects_declared_options(tmp_path, report_folder):
    source = tmp_path / "01_tiny.ipynb"
    nbformat.write(
        _notebook("print('scale is', scale)", parameters="scale = 1\nsmoke = False"), source
    )
    assert build.declared_parameters(source) == {"scale", "smoke"}
    output = build.execute_notebook(
        source,
        report_folder / "01_tiny.ipynb",
        parameters={"smoke": True},
        optional_parameters={"scale": 7, "cg_steps": 3},  # cg_steps is not declared
        progress=False,
    )
    executed = nbformat.read(output, as_version=4)
    assert "scale is 7" in executed.cells[-1].outputs[0]["text"]
    assert executed.metadata["papermill"]["parameters"] == {"scale": 7, "smoke": True}
    timings = report.read_timings(report_folder)
    assert list(timings) == ["01_tiny"]
    assert 0 < timings["01_tiny"]["seconds"] < 600
    assert timings["01_tiny"]["parameters"] == {"scale": 7, "smoke": True}
    report.record_metrics("01_tiny", {"n": 1})
    json_path, md_path = report.write_metrics_summary()
    assert (
        json.loads(json_path.read_text())["01_tiny"]["wall_seconds"]
        == timings["01_tiny"]["seconds"]
    )
    lines = md_path.read_text().splitlines()
    assert lines[lines.index("## Wall time per notebook") + 5].startswith("| **total** | **")
    (report_folder / "timings.json").write_text("{oops")
    with pytest.raises(ReportError, match=r"timings.json: line 1: not valid JSON"):
        report.read_timings(report_folder)


def test_cli_run_takes_optional_parameters(tmp_path, report_folder):
    source = tmp_path / "01_tiny.ipynb"
    nbformat.write(_notebook("print('scale is', scale)"), source)
    output = report_folder / "01_tiny.ipynb"
    argv = ["run", str(source), str(output), "--no-progress", "-o", "scale", "4", "-o", "grid", "x"]
    assert build.main(argv) == 0
    executed = nbformat.read(output, as_version=4)
    assert executed.metadata["papermill"]["parameters"] == {"scale": 4}


def test_effective_parameters_write_injected_values_in_place():
    source = (
        "# Parameters\n"
        'dataset = "ml-latest-small"  # a release\n'
        "grid = [1,\n        2]  # spans lines\n"
        "smoke = False"
    )
    shown = build._effective_parameters(source, {"dataset": "ml-100k", "grid": [3], "extra": 1})
    assert shown.splitlines() == [
        "# Parameters",
        'dataset = "ml-100k"  # a release',
        "grid = [3]  # spans lines",
        "smoke = False",
        "extra = 1",
    ]


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
        "rows = [('rmse', 0.85), ('λ_b', 3)]\n"
        "display(Markdown(markdown_table(rows, header=('metric', 'value'))))"
    )
    first = _notebook(figure_code)
    first.cells.append(
        nbformat.v4.new_code_cell(
            "hidden_prose_builder = 'A paragraph built by code.'\n"
            "display(Markdown(hidden_prose_builder))",
            metadata={"tags": [build.HIDE_INPUT_TAG]},
        )
    )
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
    # What a pandas Styler leaves in an executed notebook: HTML and its repr.
    third = _notebook("frame.style")
    third.cells[0].source = "# Notebook 03_styled"
    third.cells[-1].outputs = [
        nbformat.v4.new_output(
            "execute_result",
            data={
                "text/html": "<table><tr><td>styled cell</td></tr></table>",
                "text/plain": "<pandas.io.formats.style.Styler at 0x7f3a5c2b1d90>",
            },
            execution_count=1,
        )
    ]
    nbformat.write(third, folder / "out" / "03_styled.ipynb")
    return [executed, folder / "out" / "02_second.ipynb", folder / "out" / "03_styled.ipynb"]


OBJECT_REPR = re.compile(r"(object|Styler) at 0x[0-9a-fA-F]+")


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
    # the prose cell's output is there, its code is not; teaching code stays
    assert "A paragraph built by code." in html and "hidden_prose_builder" not in html
    assert "subplots" in html
    # a Styler is an HTML table here: the HTML page never shows its repr
    assert "styled cell" in html and not OBJECT_REPR.search(html)


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
        assert "rmse" in text and "0.85" in text  # the Markdown table is typeset
        # Greek in text, which the text fonts lack, comes from the math font (as 𝜆), not dropped
        assert re.search("[λ𝜆]_b", text)
        assert "A paragraph built by code." in text and "hidden_prose_builder" not in text
        assert "subplots" in text  # teaching code is shown, one statement per line
        assert re.search(r"^\s*import matplotlib\.pyplot as plt\s*$", text, re.MULTILINE)
        # the PDF has no HTML: a Styler prints as its repr, which the report's own check
        # (tests/test_notebooks.py) finds; here it is the one raw object in the text
        assert [m.group(0) for m in OBJECT_REPR.finditer(text)] == ["Styler at 0x7f3a5c2b1d90"]


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
    assert all(
        line.endswith("-p dataset ml-100k -p smoke True -o grid auto -o max_ratings auto")
        for line in runs
    )
    rendering = [line.split()[3] for line in plan if re.search(r"report (html|pdf|metrics)", line)]
    assert sorted(rendering) == ["html", "metrics", "pdf"]
    assert max(plan.index(line) for line in runs) < min(
        i for i, line in enumerate(plan) if re.search(r"report (html|pdf|metrics)", line)
    )
    solver = subprocess.run(
        ["make", "-n", "-B", "report", "CG_STEPS=3", "GRID=small", "MAX_RATINGS=0", "PY=python"],
        cwd=config.PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    runs = [line for line in solver if "recsys_helpers.report run " in line]
    assert runs and all(
        line.endswith("-o grid small -o max_ratings 0 -o cg_steps 3") for line in runs
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
