"""A TAESD-shaped preview decoder for the tiny models, so ``--preview-method taesd`` works with no download.

Its weights are not trained: they are set so the network computes ComfyUI's SD1.5 latent2rgb map (split into positive
and negative halves to pass the ReLUs, carried unchanged through the residual blocks and nearest upsampling), so TAESD
previews show what the latent2rgb previews show, at 8x the size. It is registered only when no real
``taesd_decoder.*`` is on the ``vae_approx`` paths, and written under the server's user directory.
"""

from __future__ import annotations

import logging
import os

import torch

import comfy.latent_formats
import folder_paths
from comfy.taesd.taesd import Decoder

log = logging.getLogger("comfytui.tiny_models")

FILE_NAME = "taesd_decoder.safetensors"


def build_decoder_state_dict() -> dict[str, torch.Tensor]:
    """State dict for ``comfy.taesd.taesd.Decoder`` computing 0.5 + 0.5 * (latent @ latent_rgb_factors)."""
    dec = Decoder(latent_channels=4)
    sd = {k: torch.zeros_like(v) for k, v in dec.state_dict().items()}
    factors = torch.tensor(comfy.latent_formats.SD15().latent_rgb_factors, dtype=torch.float32)  # (4, 3)
    first = sd["1.weight"]  # conv(4, 64, 3x3) right after Clamp
    for j in range(3):
        first[j, :, 1, 1] = factors[:, j]
        first[3 + j, :, 1, 1] = -factors[:, j]
    for name, tensor in sd.items():  # the bias-free convs after each Upsample: identity on the six channels
        if name.endswith(".weight") and "." not in name[: -len(".weight")] and name != "1.weight":
            if tensor.shape[:2] == (64, 64):
                for c in range(6):
                    tensor[c, c, 1, 1] = 1.0
    last = max(int(k.split(".")[0]) for k in sd)
    out_w, out_b = sd[f"{last}.weight"], sd[f"{last}.bias"]  # conv(64, 3)
    for j in range(3):
        out_w[j, j, 1, 1] = 0.5
        out_w[j, 3 + j, 1, 1] = -0.5
    out_b.fill_(0.5)
    return sd


def register() -> str | None:
    """Write the decoder (once) and add its folder to ``vae_approx``; returns the folder, or None if not needed."""
    try:
        if any(n.startswith("taesd_decoder") for n in folder_paths.get_filename_list("vae_approx")):
            return None
        folder = os.path.join(folder_paths.get_user_directory(), "comfytui_tiny_models", "vae_approx")
        path = os.path.join(folder, FILE_NAME)
        if not os.path.isfile(path):
            import safetensors.torch

            os.makedirs(folder, exist_ok=True)
            tmp = f"{path}.{os.getpid()}.tmp"
            safetensors.torch.save_file({k: v.contiguous() for k, v in build_decoder_state_dict().items()}, tmp)
            os.replace(tmp, path)
        folder_paths.add_model_folder_path("vae_approx", folder)
        log.info("comfytui tiny models: TAESD preview decoder at %s", path)
        return folder
    except Exception:  # previews are a nicety; never break the node package over them
        log.exception("comfytui tiny models: could not set up the TAESD preview decoder")
        return None
