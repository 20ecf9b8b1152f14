"""Reports of a :class:`SessionAnalysis`: text, JSON, per-utterance rows, and HTML.

Why: the counselor learns from the utterances behind each number, so every format shows them.
The HTML is self-contained (inline CSS, inline SVG timeline, no external assets) and comes as a
full page or as a fragment the web app can embed.
"""

from __future__ import annotations

import html
from typing import Any

from alliance.core.transcripts.analysis import SessionAnalysis
from alliance.core.transcripts.packs import EMPATHY_HEADS
from alliance.core.transcripts.presentation import (
    CODE_COLOURS,
    code_label,
    legend,
    level_mark,
    metric_rows,
    threshold_text,
)

ID_COLUMNS = ("transcript_id", "utterance_id", "speaker", "role")


def utterance_rows(analysis: SessionAnalysis, with_text: bool = False) -> list[dict[str, Any]]:
    """One flat row per utterance (codes empty where not applicable), plus probabilities; the
    empathy columns only when the analysis used the research pack."""
    codes = analysis.code_columns
    cols = [*ID_COLUMNS, *codes, *(f"{c}_p" for c in codes)]
    if with_text:
        cols.append("text")
    return [{c: r.get(c) if r.get(c) is not None else "" for c in cols} for r in analysis.rows]


def to_text(analysis: SessionAnalysis, examples: int = 3) -> str:
    """A readable report: MI quality, metrics against thresholds, example utterances."""
    by_id = {r["utterance_id"]: r for r in analysis.rows}
    lines = [
        f"Transcript {analysis.transcript.transcript_id} "
        f"({len(analysis.rows)} utterances, format {analysis.transcript.source_format})"
    ]
    roles = {r["speaker"]: r["role"] for r in analysis.rows}
    lines.append("Speakers: " + ", ".join(f"{s} = {r}" for s, r in roles.items()))
    for w in analysis.warnings:
        lines.append(f"Warning: {w}")
    lines.append(f"Note: {analysis.packs_note}")
    if analysis.mi_quality:
        lines.append(
            f"MI quality estimate: {analysis.mi_quality} "
            f"(P(high) = {analysis.mi_quality_probability:.2f})"
        )
    lines.append("")
    for m in analysis.metrics:
        thr = f"  [{threshold_text(m.to_dict())}]" if m.fair is not None else ""
        lines.append(f"{m.name}: {m.display} {level_mark(m.level)}{thr}")
        lines.append(f"    source: {m.citation}")
        for uid in m.utterance_ids[:examples]:
            r = by_id[uid]
            lines.append(f"    #{uid} {r['speaker']}: {_short(r['text'])}  <{code_label(r)}>")
    return "\n".join(lines) + "\n"


def _short(text: str, n: int = 90) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


_CSS = """
.al-report{font-family:system-ui,sans-serif;max-width:60rem;margin:auto;color:#222}
.al-report table{border-collapse:collapse;width:100%}
.al-report td,.al-report th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left;
vertical-align:top;overflow-wrap:break-word}
.al-scroll{overflow-x:auto}
@media (max-width:40rem){.al-report{font-size:.9rem}.al-report td,.al-report th{padding:.2rem}}
.al-good{color:#2e7d32}.al-fair{color:#b26a00}.al-below{color:#c62828}
.al-legend span{display:inline-block;margin-right:.8rem}
.al-legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.2rem}
.al-report details{margin:.2rem 0 .6rem 1rem}.al-client{color:#555}
"""


def _timeline(analysis: SessionAnalysis) -> str:
    """Inline SVG: counselor codes on the top lane, client talk on the bottom lane."""
    n = max(len(analysis.rows), 1)
    width = 900
    bars = []
    for i, r in enumerate(analysis.rows):
        code = r["therapist_behaviour"] if r["role"] == "counselor" else r["client_talk"]
        y = 5 if r["role"] == "counselor" else 35
        x = i * width / n
        tip = html.escape(
            f"#{r['utterance_id']} {r['speaker']} <{code_label(r)}>: {_short(r['text'])}"
        )
        bars.append(
            f'<rect x="{x:.1f}" y="{y}" width="{max(width / n, 1):.1f}" height="25" '
            f'fill="{CODE_COLOURS.get(code, "#ccc")}"><title>{tip}</title></rect>'
        )
    return (
        f'<svg viewBox="0 0 {width} 65" width="100%" role="img" '
        f'aria-label="session timeline">{"".join(bars)}</svg>'
    )


def to_html(analysis: SessionAnalysis, full_page: bool = True) -> str:
    """Self-contained HTML report; ``full_page=False`` gives an embeddable fragment."""
    e = html.escape
    parts = [
        f'<div class="al-report"><style>{_CSS}</style>',
        f"<h1>Session {e(analysis.transcript.transcript_id)}</h1>",
    ]
    parts += [f"<p><strong>Warning:</strong> {e(w)}</p>" for w in analysis.warnings]
    parts.append(f"<p class='al-packs'>{e(analysis.packs_note)}</p>")
    if analysis.mi_quality:
        parts.append(
            f"<p>MI quality estimate: <strong>{e(analysis.mi_quality)}</strong> "
            f"(P(high) = {analysis.mi_quality_probability:.2f})</p>"
        )
    keys = "".join(f'<span><i style="background:{c}"></i>{e(k)}</span>' for k, c in legend())
    parts.append(
        f"<h2>Timeline</h2><p>Top: counselor behaviour; bottom: client talk.</p>"
        f"{_timeline(analysis)}<p class='al-legend'>{keys}</p>"
    )
    parts.append(
        "<h2 id='al-metrics'>Metrics</h2><div class='al-scroll' tabindex='0' role='region' "
        "aria-labelledby='al-metrics'><table><tr><th>metric</th><th>value</th>"
        "<th>threshold</th>"
        "<th>source</th></tr>"
    )
    for m in metric_rows(analysis.to_dict()):
        utts = "".join(
            f"<li>#{e(u.utterance_id)} {e(u.speaker)}: {e(u.text)} <em>&lt;{e(u.code)}&gt;</em></li>"
            for u in m.evidence
        )
        parts.append(
            f"<tr><td>{e(m.name)}<details><summary>{m.count} utterances</summary>"
            f"<ul>{utts}</ul></details></td><td class='al-{m.level}'>{e(m.display)} "
            f"{e(m.mark)}</td><td>{e(m.threshold)}</td><td>{e(m.citation)}</td></tr>"
        )
    parts.append(
        "</table></div><h2 id='al-utterances'>Utterances</h2><div class='al-scroll' "
        "tabindex='0' role='region' aria-labelledby='al-utterances'><table><tr><th>#</th>"
        "<th>speaker</th>"
        "<th>text</th><th>code (p)</th>"
        + ("<th>empathy ER/IP/EX (research pack)</th>" if analysis.research else "")
        + "</tr>"
    )
    for r in analysis.rows:
        p = r.get("client_talk_p") if r["role"] == "client" else r.get("therapist_behaviour_p")
        emp = ""
        if analysis.research:
            levels = "/".join(str(r[h]) for h in EMPATHY_HEADS) if r["role"] == "counselor" else ""
            emp = f"<td>{levels}</td>"
        parts.append(
            f"<tr class='al-{e(r['role'])}'><td>{e(r['utterance_id'])}</td>"
            f"<td>{e(r['speaker'])}</td><td>{e(r['text'])}</td>"
            f"<td>{e(code_label(r))} ({p if p is not None else ''})</td>{emp}</tr>"
        )
    parts.append("</table></div></div>")
    body = "\n".join(parts)
    if not full_page:
        return body
    title = e(f"alliance — session {analysis.transcript.transcript_id}")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title></head><body>{body}</body></html>\n"
    )


def timeline_svg(analysis: SessionAnalysis) -> str:
    """The session timeline on its own (for pages that render the rest themselves)."""
    return _timeline(analysis)
