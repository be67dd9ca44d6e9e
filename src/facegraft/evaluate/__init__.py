"""Quality evaluation of swap results: the loop (run.py) over paired frames and faces (pairing.py), one
module per metric family (identity, motion, temporal, blending, realism, hands, coverage), JSON and HTML report
(report.py, with its frame strips in strips.py); the command is facegraft.cli.eval."""

from facegraft.evaluate.report import render_html, speed_section, summary_lines, to_json, write_json, write_report
from facegraft.evaluate.run import EvalConfig, Evaluation, Section, Strip, evaluate

__all__ = ["EvalConfig", "Evaluation", "Section", "Strip", "evaluate", "render_html", "speed_section",
           "summary_lines", "to_json", "write_json", "write_report"]
