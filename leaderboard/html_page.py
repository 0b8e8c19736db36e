"""The static leaderboard page: one self-contained HTML file with inline CSS and JavaScript.

Every string taken from a result file passes through ``html.escape`` before it enters the
page. Images are PNG files beside the page, referenced by relative, URL-quoted paths.
"""

from __future__ import annotations

import html
import json
import urllib.parse
from collections.abc import Mapping, Sequence

from .store import StoredResult
from .table import (
    MISSING,
    MetricColumn,
    display_name,
    format_count,
    format_measurement,
    format_number,
    function_evaluations,
    is_reference,
    metric_map,
    ranks,
    speed,
)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 80rem; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.35rem 0.6rem; text-align: left; white-space: nowrap; }
th { cursor: pointer; user-select: none; background: #f4f4f4; position: sticky; top: 0; }
th[aria-sort="ascending"]::after { content: " \\25B2"; }
th[aria-sort="descending"]::after { content: " \\25BC"; }
tr.reference td { background: #fff8dc; font-style: italic; }
.interval { color: #777; font-size: 0.8em; }
.grids { display: flex; flex-wrap: wrap; gap: 1.5rem; }
figure { margin: 0; }
figcaption { font-size: 0.85rem; margin-top: 0.3rem; }
img { image-rendering: pixelated; max-width: 100%; }
.samples img { width: 24rem; }
pre { background: #f8f8f8; padding: 0.5rem; overflow-x: auto; font-size: 0.8rem; }
"""

# Clicking a header sorts by that column, and a second click reverses the order. Cells
# carry their raw value in data-sort, and empty values always sort last.
SCRIPT = """
(function () {
  const table = document.getElementById("leaderboard");
  const body = table.tBodies[0];
  const headers = Array.from(table.tHead.rows[0].cells);
  function key(row, column, numeric) {
    const raw = row.cells[column].dataset.sort;
    if (raw === undefined || raw === "") { return null; }
    return numeric ? Number(raw) : raw.toLowerCase();
  }
  function sortBy(column) {
    const header = headers[column];
    const numeric = header.dataset.type === "number";
    const current = header.getAttribute("aria-sort");
    const first = header.dataset.first || "ascending";
    const order = current === "ascending" ? "descending" : current === "descending" ? "ascending" : first;
    const sign = order === "ascending" ? 1 : -1;
    const rows = Array.from(body.rows);
    rows.sort(function (a, b) {
      const x = key(a, column, numeric);
      const y = key(b, column, numeric);
      if (x === null || y === null) { return (x === null) - (y === null); }
      if (x < y) { return -sign; }
      if (x > y) { return sign; }
      return 0;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", order);
  }
  headers.forEach(function (header, column) {
    header.tabIndex = 0;
    header.addEventListener("click", function () { sortBy(column); });
    header.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortBy(column); }
    });
  });
})();
"""


def render_page(
    results: Sequence[StoredResult],
    columns: Sequence[MetricColumn],
    grid_paths: Mapping[str, str],
    histogram_paths: Mapping[str, str],
) -> str:
    """Return the HTML page for results in display order.

    ``grid_paths`` maps run ids to sample-grid PNG paths relative to the page, and
    ``histogram_paths`` maps observable names to overlay PNG paths.
    """
    dataset = results[0].record["dataset"]
    title = f"lartpc-bench leaderboard: {dataset['name']} (version {dataset['version']})"
    primary = columns[0]
    direction = "lower is better" if primary.lower_is_better else "higher is better"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # An empty icon, so browsers do not request /favicon.ico from the server.
        '<link rel="icon" href="data:,">',
        f"<title>{_text(title)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{_text(title)}</h1>",
        f"<p>Scored against the <code>{_text(dataset['eval_split'])}</code> split; sorted by "
        f"<code>{_text(primary.name)}</code> ({direction}). Click a column header to sort by it. "
        "Metric cells read value ± half-width with the interval below; the highlighted reference row "
        "scores real held-out images like a model: a faithful model matches it within noise, and one far better on a "
        "single metric exploits that metric (raw-pixel distances favour near-blank images). nn_train_ratio is best near 1.</p>",
        _table(results, columns),
        "<h2>Samples</h2>",
        _grids(results, grid_paths),
        "<h2>Observables</h2>",
        _histograms(histogram_paths),
        "<h2>Details</h2>",
        *(_details(result) for result in results),
        f"<script>{SCRIPT}</script>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts)


def _table(results: Sequence[StoredResult], columns: Sequence[MetricColumn]) -> str:
    headers = [
        _header("#", "number"),
        _header("Submission", "text"),
        _header("Family", "text"),
        _header("Params", "number", first="descending"),
        _header("Images/s", "number", first="descending"),
        _header("NFE/image", "number"),
    ]
    for index, column in enumerate(columns):
        unit = f" [{column.unit}]" if column.unit else ""
        first = "ascending" if column.lower_is_better else "descending"
        initial = first if index == 0 else None
        headers.append(_header(f"{column.name}{unit} {column.arrow}", "number", first=first, current=initial))
    lines = ['<table id="leaderboard">', "<thead><tr>" + "".join(headers) + "</tr></thead>", "<tbody>"]
    for position, (rank, result) in enumerate(zip(ranks(results), results)):
        record = result.record
        cells = [
            _cell(rank, position),
            _cell(display_name(result), record["submission"]["name"]),
            _cell(record["submission"]["family"], record["submission"]["family"]),
            _cell(format_count(record["num_parameters"]), record["num_parameters"]),
            _number_cell(speed(result)),
            _number_cell(function_evaluations(result)),
        ]
        metrics = metric_map(result)
        cells.extend(_metric_cell(metrics.get(column.name)) for column in columns)
        css = ' class="reference"' if is_reference(result) else ""
        lines.append(f'<tr{css} data-run-id="{_attribute(result.run_id)}">' + "".join(cells) + "</tr>")
    lines += ["</tbody>", "</table>"]
    return "\n".join(lines)


def _header(label: str, kind: str, *, first: str = "ascending", current: str | None = None) -> str:
    sort = f' aria-sort="{current}"' if current else ""
    return f'<th scope="col" data-type="{kind}" data-first="{first}"{sort}>{_text(label)}</th>'


def _cell(text: object, sort_value: object) -> str:
    value = "" if sort_value is None else str(sort_value)
    return f'<td data-sort="{_attribute(value)}">{_text(str(text))}</td>'


def _number_cell(value: float | None) -> str:
    if value is None:
        return _cell(MISSING, None)
    return _cell(format_number(value), repr(float(value)))


def _metric_cell(metric: Mapping | None) -> str:
    if metric is None:
        return _cell(MISSING, None)
    value, low, high = metric["value"], metric["ci_low"], metric["ci_high"]
    text = format_measurement(value, low, high)
    sort = "" if value is None else repr(float(value))
    main, _, interval = text.partition(" [")
    interval_html = f'<br><span class="interval">[{_text(interval)}</span>' if interval else ""
    return f'<td data-sort="{_attribute(sort)}">{_text(main)}{interval_html}</td>'


def _grids(results: Sequence[StoredResult], grid_paths: Mapping[str, str]) -> str:
    figures = []
    # Real images from reference rows first, so every model's grid can be compared with them.
    ordered = [r for r in results if is_reference(r)] + [r for r in results if not is_reference(r)]
    for result in ordered:
        path = grid_paths.get(result.run_id)
        if path is None:
            continue
        name = result.record["submission"]["name"]
        caption = f"Real images ({name}, held-out split)" if is_reference(result) else name
        count = result.record["preview"]["shape"][0]
        figures.append(
            f'<figure><img src="{_url(path)}" alt="{_attribute(caption)}: {count} images">'
            f"<figcaption>{_text(caption)}</figcaption></figure>"
        )
    if not figures:
        return "<p>No previews recorded.</p>"
    return '<div class="grids samples">' + "\n".join(figures) + "</div>"


def _histograms(histogram_paths: Mapping[str, str]) -> str:
    if not histogram_paths:
        return "<p>No observables recorded.</p>"
    figures = [
        f'<figure><img src="{_url(path)}" alt="histograms of {_attribute(name)}">'
        f"<figcaption>{_text(name)}</figcaption></figure>"
        for name, path in histogram_paths.items()
    ]
    return '<div class="grids">' + "\n".join(figures) + "</div>"


def _details(result: StoredResult) -> str:
    record = result.record
    summary = {
        "run_id": result.run_id,
        "submission": record["submission"],
        "num_parameters": record["num_parameters"],
        "training": record["training"],
        "sampling": record["sampling"],
        "metrics": [
            {key: metric[key] for key in ("name", "value", "ci_low", "ci_high", "n_real", "n_generated", "version", "estimator")}
            for metric in record["metrics"]
        ],
        "dataset": record["dataset"],
        "provenance": record["provenance"],
    }
    body = json.dumps(summary, indent=2, ensure_ascii=False)
    return (
        f"<details><summary>{_text(record['submission']['name'])} "
        f"<code>{_text(result.run_id)}</code></summary><pre>{_text(body)}</pre></details>"
    )


def _text(value: str) -> str:
    return html.escape(value, quote=True)


def _attribute(value: str) -> str:
    return html.escape(value, quote=True)


def _url(path: str) -> str:
    return _attribute(urllib.parse.quote(path))
