"""facegraft: local face analysis and face swapping that keeps the target's motion."""

from facegraft.analysis import AnalyzedFrame, Expression, Face, FaceTracker, Pose, analyze, analyze_image
from facegraft.capture import CaptureSummary, capture_motion
from facegraft.config import AnalysisConfig, SmoothingConfig
from facegraft.errors import FacegraftError

__all__ = ["AnalysisConfig", "AnalyzedFrame", "CaptureSummary", "Expression", "Face", "FaceTracker",
           "FacegraftError", "Pose", "SmoothingConfig", "analyze", "analyze_image", "capture_motion"]
