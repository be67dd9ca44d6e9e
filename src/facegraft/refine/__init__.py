"""Refine stage: make a rendered face sit in the target frame (colour, light, detail, blending).

Typical order for one frame (rendered: the swapped face drawn on the target's geometry, valid
where `mask` > 0; face_px: the face's width in pixels):

    stats = blend_stats(stats, colour_stats(target, mask), keep=0.8)        # smoothed over frames
    face = transfer_colour(rendered, mask, colour_stats(rendered, mask), stats)
    face = match_shading(face, target, mask, sigma=face_px / 8)
    face = transfer_detail(face, target, mask, detail=0.7, sigma=face_px / 60)
    frame = multiband_blend(target, face, feather(mask, face_px / 40, face_px / 15))
"""

from facegraft.refine.blend import alpha_blend, feather, multiband_blend, poisson_blend, pyramid_levels
from facegraft.refine.colour import (ColourStats, blend_stats, colour_stats, mask_box, match_shading,
                                     transfer_colour, transfer_detail)

__all__ = ["ColourStats", "alpha_blend", "blend_stats", "colour_stats", "feather", "mask_box", "match_shading",
           "multiband_blend", "poisson_blend", "pyramid_levels", "transfer_colour", "transfer_detail"]
