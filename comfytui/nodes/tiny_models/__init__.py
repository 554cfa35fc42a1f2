"""comfytui tiny models: a ComfyUI custom-node package with a loader for seeded random-weight models."""

from .tiny import TinyCheckpointLoader

NODE_CLASS_MAPPINGS = {"TinyCheckpointLoader": TinyCheckpointLoader}
NODE_DISPLAY_NAME_MAPPINGS = {"TinyCheckpointLoader": "Tiny Checkpoint Loader (comfytui)"}

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
