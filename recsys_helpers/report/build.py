"""The report pipeline behind ``make report``: run notebooks, render HTML and PDF.

``make report`` drives this module through its command line::

    python -m recsys_helpers.report run notebooks/01_x.ipynb report/01_x.ipynb -p smoke True
    python -m recsys_helpers.report metrics
    python -m recsys_helpers.report html report/index.html report/01_x.ipynb ...
    python -m recsys_helpers.report pdf report/report.pdf report/01_x.ipynb ...

Every output is written through :mod:`recsys_helpers.atomic`, so an interrupted build never
leaves a half-written file behind. Outputs go to :func:`recsys_helpers.config.report_dir`
(``$RECSYS_REPORT_DIR`` or ``<project>/report``). What notebooks themselves import lives in
:mod:`recsys_helpers.report` (metrics and the notebook set-up), not here.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from recsys_helpers import atomic
from recsys_helpers.errors import RecsysError
from recsys_helpers.report.metrics import (
    TIMINGS_FILE,
    ReportError,
    read_timings,
    write_metrics_summary,
)
from recsys_helpers.serialise import json_safe

__all__ = [
    "HIDE_INPUT_TAG",
    "declared_parameters",
    "execute_notebook",
    "main",
    "render_html",
    "render_pdf",
]

logger = logging.getLogger(__name__)

DEFAULT_TITLE = "Biased matrix factorisation of MovieLens ratings by alternating least squares"
DEFAULT_KERNEL = "python3"
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"
HIDE_INPUT_TAG = "hide-input"
"""Cell tag: the cell's code is left out of the HTML and the PDF, its output is kept.

Notebooks put it on cells that only build prose (``display(Markdown(f"..."))``)."""

# Symbols that the notebooks write as text (table headers like "λ_b", code strings like
# "global mean μ") and that the Latin Modern text and typewriter fonts lack: typeset from
# the math font instead of dropped.
_UNICODE_MATH = {
    "α": r"\alpha",
    "β": r"\beta",
    "γ": r"\gamma",
    "ε": r"\varepsilon",
    "λ": r"\lambda",
    "μ": r"\mu",
    "σ": r"\sigma",
    "τ": r"\tau",
    "Ω": r"\Omega",
    "≤": r"\leq",
    "≥": r"\geq",
    "≈": r"\approx",
    "‖": r"\|",
    "→": r"\to",
}

# A LaTeX book layout (title page, table of contents, one chapter per notebook) whose
# section numbers come from the notebooks' own headings ("## 2. Degrees"). Code cells are
# drawn in the Jupyter style (framed, line breaks kept, long lines wrapped): the book
# layout's default style drops the Verbatim block when prompts are excluded, and the code
# then runs on as one paragraph.
_LATEX_TEMPLATE = (
    r"""((* set cell_style = 'style_jupyter.tex.j2' *))
((*- extends 'report.tex.j2' -*))
((* block docclass *))\documentclass[11pt,a4paper]{report}((* endblock docclass *))
((* block packages *))
((( super() )))
\usepackage{newunicodechar}
"""
    + "\n".join(rf"\newunicodechar{{{c}}}{{\ensuremath{{{m}}}}}" for c, m in _UNICODE_MATH.items())
    + r"""
((* endblock packages *))
((* block commands *))
((( super() )))
\setcounter{secnumdepth}{-1}
\setcounter{tocdepth}{1}
((* endblock commands *))
"""
)


# The lab page without the scripts it would fetch from the network (require.js for
# widgets, mermaid for diagrams; the report uses neither), and MathJax told to use the
# STIX web fonts, the only fonts the local MathJax copy ships.
_HTML_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_js_mathjax -%}
<script type="text/x-mathjax-config">
MathJax.Hub.Config({"HTML-CSS": {
  availableFonts: [], preferredFont: null, imageFont: null, webFont: "STIX-Web"
}});
</script>
{{ super() }}
{%- endblock html_head_js_mathjax -%}
"""


def execute_notebook(
    source: str | os.PathLike,
    output: str | os.PathLike,
    *,
    parameters: Mapping[str, Any] | None = None,
    optional_parameters: Mapping[str, Any] | None = None,
    kernel_name: str = DEFAULT_KERNEL,
    progress: bool = True,
    cwd: str | os.PathLike | None = None,
) -> Path:
    """Run a notebook with papermill and write the executed copy to ``output``.

    The executed notebook is written under a temporary name next to ``output`` and
    renamed only on success. On failure it is kept as ``<output stem>.failed.ipynb`` (to
    open and inspect) and :class:`ReportError` names the failing cell and the error. The
    run's wall time (kernel start included) is recorded under the notebook's stem in
    ``timings.json`` beside ``output`` (:func:`recsys_helpers.report.metrics.read_timings`).

    Parameters
    ----------
    source, output : path-like
        Notebook to run and where the executed copy goes.
    parameters : mapping, optional
        Values injected after the ``parameters``-tagged cell (papermill).
    optional_parameters : mapping, optional
        Values injected only where the notebook's ``parameters`` cell declares the name
        (``cg_steps`` means nothing to a notebook that fits no model); the others are left
        out. ``parameters`` wins over these.
    kernel_name : str, default "python3"
        Jupyter kernel; ``"python3"`` is the interpreter running this function.
    progress : bool, default True
        Show a progress bar over cells.
    cwd : path-like, optional
        Working directory of the kernel; defaults to the notebook's folder.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    source, output = Path(source), Path(output)
    if not source.is_file():
        raise ReportError(f"{source}: notebook not found")
    failed = output.with_name(f"{output.stem}.failed.ipynb")
    declared = declared_parameters(source) if optional_parameters else set()
    injected = {k: v for k, v in (optional_parameters or {}).items() if k in declared}
    injected.update(parameters or {})
    started = time.perf_counter()
    with atomic.atomic_path(output, suffix=".ipynb") as temporary:
        try:
            papermill.execute_notebook(
                os.fspath(source),
                os.fspath(temporary),
                parameters=injected,
                kernel_name=kernel_name,
                progress_bar=progress,
                cwd=os.fspath(cwd if cwd is not None else source.parent),
            )
        except PapermillExecutionError as exc:
            os.replace(temporary, failed)
            raise ReportError(
                f"{source}: cell {exc.cell_index} (execution count {exc.exec_count}) failed "
                f"with {exc.ename}: {exc.evalue}\n{''.join(exc.traceback[-3:])}\n"
                f"executed copy kept in {failed}"
            ) from exc
    seconds = time.perf_counter() - started
    failed.unlink(missing_ok=True)
    _record_timing(output, seconds, injected)
    logger.info("executed %s -> %s in %.1f s", source, output, seconds)
    return output


def declared_parameters(notebook: str | os.PathLike) -> set[str]:
    """Names assigned in a notebook's ``parameters``-tagged cell (empty when it has none)."""
    import nbformat

    names: set[str] = set()
    for cell in nbformat.read(os.fspath(notebook), as_version=4).cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            for statement in ast.parse(cell.source).body:
                if isinstance(statement, ast.Assign):
                    names.update(t.id for t in statement.targets if isinstance(t, ast.Name))
    return names


def _record_timing(output: Path, seconds: float, parameters: Mapping[str, Any]) -> None:
    """Add one notebook's wall time to ``timings.json`` beside its executed copy."""
    timings = read_timings(output.parent)
    timings[output.stem] = {"seconds": round(seconds, 2), "parameters": json_safe(parameters)}
    text = json.dumps(dict(sorted(timings.items())), indent=2) + "\n"
    atomic.write_bytes(output.parent / TIMINGS_FILE, text.encode("utf-8"))


def _read_notebooks(paths: Sequence[str | os.PathLike]) -> list[tuple[str, Any]]:
    import nbformat

    if not paths:
        raise ReportError("no executed notebooks to render")
    notebooks = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise ReportError(f"{path}: executed notebook not found (run it first)")
        notebooks.append((path.stem, nbformat.read(path, as_version=4)))
    return notebooks


def _notebook_title(name: str, notebook: Any) -> str:
    """The first Markdown heading of a notebook, or its file stem."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return name


def title_with_source(title: str, notebooks: Sequence[tuple[str, Any]]) -> str:
    """``title``, followed by a warning when the notebooks ran on a synthetic release.

    The release is the ``dataset`` parameter papermill recorded in each notebook; it is
    looked up where the notebooks found it (:func:`recsys_helpers.data.fetch.locate`).
    """
    from recsys_helpers.data.fetch import locate

    parameters = (nb.metadata.get("papermill", {}).get("parameters", {}) for _, nb in notebooks)
    notes = []
    for dataset in sorted({p["dataset"] for p in parameters if isinstance(p.get("dataset"), str)}):
        try:
            source = locate(dataset)
        except RecsysError:
            continue
        if source is not None and source.synthetic:
            notes.append(f"{dataset} is {source.describe()}")
    return f"{title}. SYNTHETIC DATA: {'; '.join(notes)}" if notes else title


def _effective_parameters(source: str, injected: Mapping[str, Any]) -> str:
    """A parameters cell's code with the injected values written in place of the defaults.

    Each ``name = literal  # comment`` line keeps its comment; a name injected but not
    assigned in the cell is appended. The reader sees the values the notebook ran with.
    """
    lines = source.splitlines()
    replaced = set()
    for statement in reversed(ast.parse(source).body):  # bottom-up keeps positions valid
        if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
            continue
        name = getattr(statement.targets[0], "id", None)
        if name not in injected:
            continue
        value = statement.value
        first, last = value.lineno - 1, value.end_lineno - 1
        head = lines[first].encode()[: value.col_offset].decode()
        tail = lines[last].encode()[value.end_col_offset :].decode()
        lines[first : last + 1] = [f"{head}{_literal(injected[name])}{tail}"]
        replaced.add(name)
    lines += [f"{name} = {_literal(v)}" for name, v in injected.items() if name not in replaced]
    return "\n".join(lines)


def _literal(value: Any) -> str:
    """Python source of a parameter value, strings in double quotes as the notebooks write them."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)


def _combined_notebook(
    notebooks: Sequence[tuple[str, Any]], title: str, *, html_contents: bool
) -> Any:
    """One notebook holding every notebook's cells, in order.

    Papermill's injected-parameters cell is left out and its values are written into the
    ``parameters`` cell instead (:func:`_effective_parameters`), so each chapter shows one
    cell with the settings it actually ran with. With ``html_contents`` a linked list of
    the notebooks opens the document and each notebook starts with an HTML anchor (the PDF
    gets LaTeX's own table of contents).
    """
    import nbformat

    title = title_with_source(title, notebooks)
    combined = nbformat.v4.new_notebook()
    combined.metadata = copy.deepcopy(notebooks[0][1].metadata)
    combined.metadata["title"] = title
    if html_contents:
        items = "\n".join(
            f"{number}. [{_notebook_title(name, nb)}](#{name})"
            for number, (name, nb) in enumerate(notebooks, start=1)
        )
        combined.cells.append(nbformat.v4.new_markdown_cell(f"# {title}\n\n## Contents\n\n{items}"))
    for name, notebook in notebooks:
        injected = notebook.metadata.get("papermill", {}).get("parameters", {})
        for index, cell in enumerate(notebook.cells):
            tags = cell.get("metadata", {}).get("tags", [])
            if "injected-parameters" in tags:
                continue
            cell = copy.deepcopy(cell)
            if "parameters" in tags and injected:
                cell.source = _effective_parameters(cell.source, injected)
            if "id" in cell:  # ids repeat across notebooks; keep them unique in the whole
                cell["id"] = f"{name}-{cell['id']}"[:64]
            if html_contents and index == 0 and cell.cell_type == "markdown":
                cell.source = f'<a id="{name}"></a>\n\n{cell.source}'
            combined.cells.append(cell)
    return combined


def _hide_tagged_inputs() -> Any:
    """nbconvert configuration: no code shown for cells tagged :data:`HIDE_INPUT_TAG`."""
    from traitlets.config import Config

    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_input_tags = {HIDE_INPUT_TAG}
    return config


def _copy_mathjax(target: Path) -> str:
    """Copy MathJax 2 (from the jupyter-server-mathjax package) beside the HTML page.

    Returns the script URL relative to the page, so that math renders from disk.
    """
    try:
        import jupyter_server_mathjax
    except ImportError as exc:
        raise ReportError(
            "offline math needs MathJax: pip install jupyter-server-mathjax (make report-deps)"
        ) from exc
    static = Path(jupyter_server_mathjax.__file__).parent / "static"
    if not (target / "MathJax.js").is_file():
        shutil.rmtree(target, ignore_errors=True)
        with atomic.atomic_path(target) as temporary:
            shutil.copytree(static, temporary)
    return f"{target.name}/MathJax.js?config={MATHJAX_CONFIG}"


def render_html(
    notebooks: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    *,
    title: str = DEFAULT_TITLE,
) -> Path:
    """Render executed notebooks into one self-contained HTML page, readable offline.

    Figures are embedded (base64), code cells are kept except those tagged
    :data:`HIDE_INPUT_TAG` (their outputs stay), and math is typeset by a local copy of
    MathJax placed in ``<output folder>/mathjax/``.

    Parameters
    ----------
    notebooks : sequence of path-like
        Executed notebooks, in reading order.
    output : path-like
        The HTML file to write (e.g. ``report/index.html``).
    title : str
        Page title and top heading.
    """
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    mathjax_url = _copy_mathjax(output.parent / "mathjax")
    combined = _combined_notebook(_read_notebooks(notebooks), title, html_contents=True)
    exporter = HTMLExporter(
        config=_hide_tagged_inputs(),
        template_name="lab",
        extra_loaders=[DictLoader({"movielens_report.html.j2": _HTML_TEMPLATE})],
        template_file="movielens_report.html.j2",
        embed_images=True,
        mathjax_url=mathjax_url,
        exclude_input_prompt=True,
        exclude_output_prompt=True,  # outputs (figures, tables, prose) flush with the text
    )
    body, _ = exporter.from_notebook_node(combined, resources={"metadata": {"name": title}})
    atomic.write_bytes(output, body.encode("utf-8"))
    logger.info("wrote %s", output)
    return output


def render_pdf(
    notebooks: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    *,
    title: str = DEFAULT_TITLE,
    include_code: bool = True,
) -> Path:
    """Typeset executed notebooks as one PDF: title page, contents, a chapter per notebook.

    Uses nbconvert's LaTeX route (pandoc for Markdown, xelatex for typesetting). As in
    the HTML page, the code of cells tagged :data:`HIDE_INPUT_TAG` is left out (all code
    without ``include_code``); outputs (figures, tables, prose) stay.

    Raises
    ------
    ReportError
        If pandoc or xelatex is missing (``make report-deps`` installs them) or LaTeX fails.
    """
    from nbconvert import PDFExporter
    from nbconvert.exporters.pdf import LatexFailed

    missing = [tool for tool in ("pandoc", "xelatex") if shutil.which(tool) is None]
    if missing:
        raise ReportError(f"PDF needs {' and '.join(missing)} on PATH: run `make report-deps`")
    from jinja2 import DictLoader

    output = Path(output)
    combined = _combined_notebook(_read_notebooks(notebooks), title, html_contents=False)
    exporter = PDFExporter(
        config=_hide_tagged_inputs(),
        extra_loaders=[DictLoader({"movielens_report.tex.j2": _LATEX_TEMPLATE})],
        template_file="movielens_report.tex.j2",
        exclude_input=not include_code,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    try:
        pdf, _ = exporter.from_notebook_node(combined, resources={"metadata": {"name": title}})
    except LatexFailed as exc:
        log = output.with_suffix(".latex.log")
        atomic.write_bytes(log, str(exc.output).encode("utf-8"))
        raise ReportError(f"xelatex failed while building {output}; its log is in {log}") from exc
    atomic.write_bytes(output, pdf)
    logger.info("wrote %s", output)
    return output


def _parse_value(text: str) -> Any:
    """A command-line parameter as a Python literal where it is one (``True``, ``3``, ``0.1``)."""
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def build_parser() -> argparse.ArgumentParser:
    """Command-line parser of ``python -m recsys_helpers.report``."""
    parser = argparse.ArgumentParser(prog="python -m recsys_helpers.report", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="execute one notebook with papermill")
    run.add_argument("source", type=Path)
    run.add_argument("output", type=Path)
    run.add_argument(
        "-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE")
    )
    run.add_argument(
        "-o",
        "--optional-parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="injected only if the notebook's parameters cell declares NAME",
    )
    run.add_argument("-k", "--kernel", default=DEFAULT_KERNEL)
    run.add_argument("--no-progress", action="store_true")

    metrics = commands.add_parser("metrics", help="write metrics.json and headline.md")
    metrics.add_argument("--folder", type=Path, default=None)
    metrics.add_argument(
        "notebooks",
        type=Path,
        nargs="*",
        help="the report's executed notebooks; metrics of any other notebook are left out",
    )

    for name, what in (("html", "HTML page"), ("pdf", "PDF")):
        render = commands.add_parser(name, help=f"render executed notebooks as one {what}")
        render.add_argument("output", type=Path)
        render.add_argument("notebooks", type=Path, nargs="+")
        render.add_argument("--title", default=DEFAULT_TITLE)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (1 with a one-line message on a handled error)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "run":
            parameters = {name: _parse_value(value) for name, value in args.parameter}
            optional = {name: _parse_value(value) for name, value in args.optional_parameter}
            execute_notebook(
                args.source,
                args.output,
                parameters=parameters,
                optional_parameters=optional,
                kernel_name=args.kernel,
                progress=not args.no_progress,
            )
        elif args.command == "metrics":
            stems = [path.stem for path in args.notebooks] or None
            for path in write_metrics_summary(args.folder, stems):
                print(path)
        elif args.command == "html":
            print(render_html(args.notebooks, args.output, title=args.title))
        else:
            print(render_pdf(args.notebooks, args.output, title=args.title))
    except RecsysError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
