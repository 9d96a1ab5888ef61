"""HTML building blocks of the report pages (pure: values in, escaped strings out).

Every value is escaped: ids, model names, essays and judges' answers are data, not markup. The
style is scoped under ``.dd-report`` because the same fragment is also embedded in Snakemake's
report page. Tables take the page width and wrap inside cells (between words; a number's
interval and counts on a second line), so the browser's automatic layout fits them at 1400 px
without horizontal scrolling; figures scale down to the width.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from html import escape
from typing import Any

import pandas as pd

STYLE = """<style>
.dd-report{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;font-size:13px;line-height:1.35;color:#1f2937;
  max-width:1600px;margin:0 auto;padding:0 12px;box-sizing:border-box;text-align:left}
.dd-report h1{font-size:22px;margin:14px 0 4px}.dd-report h2{font-size:17px;margin:22px 0 6px;
  border-bottom:1px solid #e5e7eb;padding-bottom:3px}.dd-report h3{font-size:14px;margin:14px 0 4px}
.dd-report table{border-collapse:collapse;margin:6px 0 14px;width:100%;max-width:100%}
.dd-report th,.dd-report td{border:1px solid #d1d5db;padding:3px 6px;text-align:left;vertical-align:top;
  overflow-wrap:break-word}
.dd-report th{background:#f3f4f6;font-weight:600}
.dd-report th.sortable{cursor:pointer}.dd-report th.sortable:after{content:" \\2195";color:#9ca3af}
.dd-report td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.dd-report td.num .muted{white-space:normal}
.dd-report .muted{color:#6b7280;font-size:11px}.dd-report .warn{color:#b45309}.dd-report .bad{color:#b91c1c}
.dd-report .good{color:#047857}
.dd-report pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f9fafb;padding:8px;border:1px solid #e5e7eb;
  max-width:100%;box-sizing:border-box}
.dd-report svg{max-width:100%;height:auto}
.dd-report nav a{margin-right:12px}
.dd-report details{margin:6px 0}.dd-report summary{cursor:pointer}
</style>"""

# Click a header to sort its table by that column (numbers by their data-v value).
SORT_SCRIPT = """<script>
document.querySelectorAll('.dd-report table.sortable').forEach(function(t){
  t.querySelectorAll('th').forEach(function(th,i){th.classList.add('sortable');th.addEventListener('click',function(){
    var b=t.tBodies[0],rows=Array.from(b.rows),d=th.dataset.dir==='a'?-1:1;th.dataset.dir=d===1?'a':'d';
    function k(r){var c=r.cells[i];if(!c)return '';var v=c.dataset.v;return v!==undefined?parseFloat(v):c.textContent;}
    rows.sort(function(x,y){var a=k(x),z=k(y);if(typeof a==='number'&&typeof z==='number'){
      if(isNaN(a))return 1;if(isNaN(z))return -1;return d*(a-z);}return d*String(a).localeCompare(String(z));});
    rows.forEach(function(r){b.appendChild(r);});});});});
</script>"""


def missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def text(value: Any) -> str:
    """An escaped value, empty when missing."""
    return "" if missing(value) else escape(str(value))


def num(value: Any, digits: int = 2) -> str:
    """A formatted number (integers as they are), an en dash when missing."""
    if missing(value):
        return "&ndash;"
    if isinstance(value, float) and not math.isfinite(value):
        return "&ndash;"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return escape(str(value))


def num_cell(value: Any, digits: int = 2, extra: str = "", css: str = "num") -> str:
    """A right-aligned numeric cell that sorts by its value."""
    sort = "" if missing(value) else f' data-v="{float(value)!r}"'
    return f'<td class="{css}"{sort}>{num(value, digits)}{extra}</td>'


def interval(value: Any, low: Any, high: Any, digits: int = 2) -> str:
    """``value [low, high]``, or just the value when the interval is unknown."""
    if missing(low) or missing(high):
        return num(value, digits)
    return f"{num(value, digits)} <span class=\"muted\">[{num(low, digits)}, {num(high, digits)}]</span>"


def link(href: str, label: str) -> str:
    return f'<a href="{escape(href, quote=True)}">{escape(label)}</a>'


def table(header: Iterable[str], rows: Iterable[Iterable[str]], css_class: str = "", sortable: bool = True) -> str:
    """A table from already-escaped cells; a cell starting with ``<td`` is used as is."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in row) + "</tr>"
                   for row in rows)
    classes = " ".join(c for c in (css_class, "sortable" if sortable else "") if c)
    return f'<table class="{classes}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def section(css_id: str, title: str, body: str) -> str:
    return f'<section id="{css_id}"><h2>{escape(title)}</h2>{body}</section>'


def note(html_text: str) -> str:
    return f'<p class="muted">{html_text}</p>'


def inline_svg(svg: str) -> str:
    """An SVG file's markup, without its XML prolog, for embedding in a page."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else ""


def page(title: str, body: str) -> str:
    """A complete, self-contained HTML document."""
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(title)}</title>'
            f'{STYLE}</head><body><main class="dd-report">{body}</main>{SORT_SCRIPT}</body></html>\n')
