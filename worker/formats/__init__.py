"""What imgpipe knows about image files without decoding a pixel, and the arithmetic of sizes.

Pure Python below the engine: `sniff` (the format from the first bytes), `jpeg` (the marker
scan: SOF size, EXIF orientation, Adobe/ICC segments), `jpeg_quality` (a JPEG's own quality from
its quantisation tables), `icc`, `heif_items` and `heif_orientation` (HEIF boxes), and
`geometry` (output sizes, shrink-on-load factors, the resize cascade). Nothing here imports
libvips, so the Pillow baseline, the sweep and the tests use it without loading the engine.
"""
