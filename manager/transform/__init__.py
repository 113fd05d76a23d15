"""Transform at the edge (seed 000, "Transform Service"): the manager converts a
document the device does not accept into one it does, next to the device, so documents
never need to be readable in the cloud.

* formats.py — which formats turn into which; the plan for one document; what a device
  reaches after transforms (what its queue advertises).
* options.py — resolution, colour, sides and page size from the ticket and the device.
* convert.py — the converters (Ghostscript, cups-filters' texttopdf, img2pdf).
Each converter runs in a subprocess with a time limit (manager/tools.py).
"""

from .convert import Converted, Transformer, TransformFailed
from .formats import plan, reachable
from .options import RenderOptions, render_options

__all__ = [
    "Converted",
    "RenderOptions",
    "TransformFailed",
    "Transformer",
    "plan",
    "reachable",
    "render_options",
]
