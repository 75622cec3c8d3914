"""Imaging both engines share: loading user pictures and masks, cover-cropping, aspect ratios,
PNG writing and the motion-brush (cut-and-drag) render. Neither engine imports the other."""
