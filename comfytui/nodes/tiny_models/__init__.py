"""comfytui tiny models: a ComfyUI custom-node package with a loader for seeded random-weight models."""

from .taesd_preview import register as _register_taesd_preview
from .tiny import TinyCheckpointLoader

NODE_CLASS_MAPPINGS = {"TinyCheckpointLoader": TinyCheckpointLoader}
NODE_DISPLAY_NAME_MAPPINGS = {"TinyCheckpointLoader": "Tiny Checkpoint Loader (comfytui)"}

_register_taesd_preview()

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
