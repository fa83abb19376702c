"""Jinja2 templates of the HTML reports, kept as Python strings so the package ships no data files.

Autoescaping is on for every template (``html.py``): a note, name or target label is always text,
never markup. Images are ``data:`` URIs, so the report is one self-contained file that opens
anywhere (also from an e-mail or the chart system) and prints on A4 (the ``@page`` rule).
"""

from __future__ import annotations

__all__ = ["TEMPLATES"]

BASE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="generator" content="tmsnav {{ header.version }}">
<title>{{ header.kind }} {{ header.course_id }}</title>
<style>
@page { size: A4; margin: 16mm 16mm 18mm 16mm; }
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; font-size: 10.5pt; color: #111;
       max-width: 178mm; margin: 1em auto; line-height: 1.35; }
h1 { font-size: 17pt; margin: 0 0 2pt 0; }
h2 { font-size: 12.5pt; border-bottom: 1.2pt solid #0072B2; padding-bottom: 2pt; margin: 16pt 0 6pt 0;
     page-break-after: avoid; }
.sub { color: #444; margin: 0 0 8pt 0; }
table { border-collapse: collapse; width: 100%; margin: 2pt 0 6pt 0; page-break-inside: auto; }
th, td { text-align: left; vertical-align: top; padding: 2.5pt 5pt; border-bottom: 0.5pt solid #bbb; }
th { background: #e8eef4; font-weight: 600; }
table.kv th { width: 38%; background: none; font-weight: normal; color: #333; }
tr { page-break-inside: avoid; }
tr.target td { border-bottom: none; padding-bottom: 0; }
tr.why td { font-size: 9.5pt; color: #333; padding-left: 14pt; }
tr.target { page-break-after: avoid; }
td.n { text-align: right; white-space: nowrap; }
img.fig { width: 100%; max-width: 178mm; page-break-inside: avoid; }
figure { margin: 4pt 0 10pt 0; page-break-inside: avoid; }
figcaption { font-size: 9pt; color: #444; }
.alert { border: 2.5pt solid #b00020; background: #fde8ea; color: #5c0010; padding: 6pt 9pt; margin: 8pt 0;
         font-weight: 600; font-size: 11.5pt; }
.alert ul { margin: 3pt 0 0 0; }
.caveat { border-left: 3pt solid #E69F00; background: #fff6e0; padding: 4pt 8pt; margin: 6pt 0; }
.note { white-space: pre-wrap; border-left: 3pt solid #999; padding: 2pt 8pt; margin: 4pt 0; }
.muted { color: #555; }
footer { margin-top: 18pt; font-size: 8.5pt; color: #555; border-top: 0.5pt solid #bbb; padding-top: 3pt; }
</style>
</head>
<body>
<header>
<h1>{{ header.kind }}</h1>
<p class="sub">Patient {{ header.pseudonym }} · course {{ header.course_id }}{% block subtitle %}{% endblock %}</p>
</header>
{% block alerts %}{% endblock %}
{% for c in caveats %}<p class="caveat">{{ c }}</p>
{% endfor %}
{% block body %}{% endblock %}
<footer>{{ footer }}. Research software, not a certified medical device.</footer>
</body>
</html>
"""

MACROS = """{% macro kv(rows) -%}
<table class="kv">{% for label, value in rows %}
<tr><th scope="row">{{ label }}</th><td>{{ value }}</td></tr>{% endfor %}
</table>
{%- endmacro %}
{% macro table(t, numeric=()) -%}
{% if t[1] %}<table><thead><tr>{% for h in t[0] %}<th scope="col">{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in t[1] %}<tr>{% for cell in row %}
<td{% if loop.index0 in numeric %} class="n"{% endif %}>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>{% else %}<p class="muted">None recorded.</p>{% endif %}
{%- endmacro %}
{% macro shots(screenshots) -%}
{% if screenshots %}<h2>Plan screenshots</h2>
{% for s in screenshots %}{% if s.uri %}{{ figure(s.uri, s.caption) }}
{% else %}<p class="caveat">{{ s.caption }}</p>{% endif %}{% endfor %}
{% endif %}
{%- endmacro %}
{% macro targets(t) -%}
{% if t[1] %}<table><thead><tr>{% for h in t[0][:4] %}<th scope="col">{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in t[1] %}<tr class="target">{% for cell in row[:4] %}<td>{{ cell }}</td>{% endfor %}</tr>
<tr class="why"><td colspan="4">{{ row[4] }}</td></tr>
{% endfor %}</tbody></table>{% else %}<p class="muted">None recorded.</p>{% endif %}
{%- endmacro %}
{% macro figure(uri, caption) -%}
{% if uri %}<figure><img class="fig" src="{{ uri }}" alt="{{ caption }}">
<figcaption>{{ caption }}</figcaption></figure>{% endif %}
{%- endmacro %}
"""

SESSION = """{% extends "base.html" %}{% import "macros.html" as m %}
{% block subtitle %} · session {{ d.session_number }}, {{ session_date }}{% endblock %}
{% block body %}
<h2>Patient and protocol</h2>
{{ m.kv(identity) }}
{{ m.kv(protocol) }}
<h2>Session</h2>
{{ m.kv(session) }}
<h2>Registration quality</h2>
{{ m.kv(registration) }}
<h2>Calibrations</h2>
{{ m.table(calibrations) }}
<h2>Targets and their evidence</h2>
{{ m.targets(targets) }}
<h2>Pulses: position error</h2>
{{ m.kv(statistics) }}
{% if error_uri %}{{ m.figure(error_uri, error_caption) }}{% else %}
<p class="muted">No pulse has a position error (no tracked pose with an active target): nothing to plot.</p>
{% endif %}
<h2>Adverse events</h2>
{{ m.table(adverse) }}
<h2>Notes</h2>
{% for n in d.notes %}<p class="note">{{ n }}</p>{% else %}<p class="muted">None.</p>{% endfor %}
{{ m.shots(screenshots) }}
{% endblock %}
"""

COURSE = """{% extends "base.html" %}{% import "macros.html" as m %}
{% block alerts %}{% if alerts %}<div class="alert" role="alert">SAFETY ALERT: review before the next session
<ul>{% for a in alerts %}<li>{{ a }}</li>{% endfor %}</ul></div>{% endif %}{% endblock %}
{% block body %}
<h2>Patient and protocol</h2>
{{ m.kv(identity) }}
{{ m.kv(protocol) }}
{{ m.kv(summary) }}
{% if d.course_notes %}<p class="note">{{ d.course_notes }}</p>{% endif %}
<h2>Targets and their evidence</h2>
{{ m.targets(targets) }}
<h2>Sessions</h2>
{{ m.table(sessions, numeric=(0, 3, 4, 5, 6, 7, 8)) }}
{{ m.figure(trend_uri, trend_caption) }}
<h2>Coil position across sessions</h2>
{{ m.table(spread, numeric=(0, 1, 3)) }}
<h2>Outcomes</h2>
{% if outcome_uri %}{{ m.figure(outcome_uri, "Outcome scales over the course") }}{% endif %}
{% if d.outcome_note %}<p class="muted">{{ d.outcome_note }}</p>{% endif %}
{{ m.table(trajectories) }}
{% if amendments[1] %}<h2>Amendments</h2>
<p class="muted">{{ amendments_note }}</p>
{{ m.table(amendments) }}{% endif %}
<h2>Adverse events</h2>
{{ m.table(adverse) }}
{{ m.shots(screenshots) }}
{% endblock %}
"""

TEMPLATES = {"base.html": BASE, "macros.html": MACROS, "session.html": SESSION, "course.html": COURSE}
