"""Quality evaluation of swap results: metrics (metrics.py), JSON and HTML report (report.py); the command is facegraft.cli.eval."""

from facegraft.evaluate.metrics import EvalConfig, Evaluation, Section, Strip, evaluate
from facegraft.evaluate.report import render_html, speed_section, summary_lines, to_json, write_json, write_report

__all__ = ["EvalConfig", "Evaluation", "Section", "Strip", "evaluate", "render_html", "speed_section",
           "summary_lines", "to_json", "write_json", "write_report"]
