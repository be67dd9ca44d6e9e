"""Reenactment: a still portrait driven by someone else's motion (a driving video or a motion file).

Relative motion by default: the driver's change of pose and expression from its own neutral frame
is applied to the portrait's own pose and shape, so the portrait keeps its face shape and framing.
The face is re-rendered from the portrait's own skin on the new geometry; hair, ears and neck follow
the head; the background stays; eyes follow the driver's gaze; an opened mouth gets the driver's
mouth interior, brought to the portrait's brightness.

- `driver`: the driver's motion per frame (DriverState) from a video or a motion file; the neutral frame;
- `retarget`: the driver's motion turned into the portrait's shape and pose (MotionTransfer, eyelids);
- `render`: one portrait frame for one driver state (PortraitRenderer);
- `run`: the whole run (`reenact`, `speak`, their settings and summary); `preview`: single frames (ReenactPreview);
- lip sync from audio (`speak`): `speech` (recognition and phone alignment with pocketsphinx), `loudness`
  (the sound's level and spectrum), `visemes` (phones to mouth shapes over time), `mouth` (a mouth shape
  as the portrait's expression offsets), `talking` (the per-frame states, with blinks and head motion).
"""

from facegraft.reenact.driver import DriverState, choose_neutral, states_from_motion, states_from_video
from facegraft.reenact.preview import ReenactPreview
from facegraft.reenact.retarget import MotionTransfer, scale_eyelids
from facegraft.reenact.render import PortraitRenderer
from facegraft.reenact.run import ReenactSettings, ReenactSummary, reenact, speak

__all__ = ["DriverState", "MotionTransfer", "PortraitRenderer", "ReenactPreview", "ReenactSettings", "ReenactSummary",
           "choose_neutral", "reenact", "scale_eyelids", "speak", "states_from_motion", "states_from_video"]
