"""Tiny SD1.5-shaped MODEL / CLIP / VAE built in memory from seeded random weights.

Runs inside ComfyUI's own Python (imports ``comfy.*`` and ``torch``). The models are real ComfyUI objects, so the
stock nodes (CLIPTextEncode, KSampler, VAEDecode, VAEEncode, SaveImage, ...) run them unchanged, on the CPU, in
milliseconds per step. To make images look like something, the denoiser blends its random UNet toward the ideal
Gaussian denoiser of a smooth, prompt-dependent colour field, and the VAE blends its random decoder/encoder with a
linear latent<->RGB map (the same factors ComfyUI uses for latent2rgb previews).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import torch
import torch.nn.functional as F

import comfy.latent_formats
import comfy.model_base
import comfy.model_management
import comfy.model_patcher
import comfy.sd
import comfy.sd1_clip
import comfy.supported_models
import comfy.supported_models_base
from comfy.ldm.models.autoencoder import AutoencoderKL

log = logging.getLogger("comfytui.tiny_models")

CONTEXT_DIM = 64

UNET_CONFIG: dict[str, Any] = {
    "use_checkpoint": False,
    "image_size": 32,
    "out_channels": 4,
    "use_spatial_transformer": True,
    "legacy": False,
    "adm_in_channels": None,
    "in_channels": 4,
    "model_channels": 32,
    "num_res_blocks": [1, 1, 1],
    "transformer_depth": [0, 0, 1],
    "channel_mult": [1, 2, 2],
    "transformer_depth_middle": 1,
    "use_linear_in_transformer": False,
    "context_dim": CONTEXT_DIM,
    "transformer_depth_output": [0, 0, 0, 0, 1, 1],
    "use_temporal_resblock": False,
    "use_temporal_attention": False,
}

CLIP_CONFIG: dict[str, Any] = {
    "hidden_size": CONTEXT_DIM,
    "intermediate_size": 128,
    "num_attention_heads": 2,
    "num_hidden_layers": 2,
    "projection_dim": CONTEXT_DIM,
}

VAE_DDCONFIG: dict[str, Any] = {
    "double_z": True,
    "z_channels": 4,
    "resolution": 256,
    "in_channels": 3,
    "out_ch": 3,
    "ch": 32,
    "ch_mult": [1, 1, 1, 1],
    "num_res_blocks": 1,
    "attn_resolutions": [],
    "dropout": 0.0,
}

# The fake "data distribution" the denoiser is ideal for, in model (scaled latent) space, where ComfyUI's latent2rgb
# previews apply the SD1.5 latent_rgb_factors directly: x0 = mu(prompt) + smooth field + fine grain.
PATTERN_GRID = 4  # mu is a PATTERN_GRID x PATTERN_GRID grid of 4-channel values, bicubically upsampled
BASE_STD = 0.45  # per-checkpoint part of mu
PROMPT_STD = 0.06  # prompt-dependent part of mu (amplified by cfg)
SMOOTH_STD = 0.6  # per-sample smooth (low-pass) variation: what the noise seed chooses
SMOOTH_CELL = 4  # latent pixels per low-pass cell
GRAIN_STD = 0.08  # per-sample fine grain
UNET_WEIGHT = 0.3  # how much of the random UNet's (tanh-squashed) eps is mixed in
VAE_NET_WEIGHT = 0.15  # how much of the random VAE decoder is added to the linear latent->RGB image
VAE_NET_MAX_LATENT = 16  # the random VAE nets run on at most 16x16 latents (128 px), so 512 px decodes stay fast


def fill_(module: torch.nn.Module, seed: int) -> None:
    """Fill every floating-point tensor of ``module`` deterministically (comfy allocates them uninitialised)."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    with torch.no_grad():
        for name, tensor in sorted(module.state_dict(keep_vars=True).items()):
            if not torch.is_floating_point(tensor):
                continue
            shape = tuple(tensor.shape)
            if len(shape) >= 2:
                fan_in = max(1, tensor.numel() // shape[0])
                value = torch.randn(shape, generator=gen) / fan_in**0.5
            elif len(shape) == 1 and name.endswith("weight"):  # norm scales
                value = 1.0 + 0.1 * torch.randn(shape, generator=gen)
            elif len(shape) == 1:
                value = 0.02 * torch.randn(shape, generator=gen)
            else:
                value = torch.zeros(shape)
            tensor.data.copy_(value.to(tensor.dtype))
    module.requires_grad_(False)


def _low_pass(x: torch.Tensor, cell: int = SMOOTH_CELL) -> torch.Tensor:
    """Average over cell x cell blocks, bilinearly upsampled back: the smooth part of ``x``."""
    h, w = x.shape[-2:]
    coarse = F.interpolate(x, size=(max(1, -(-h // cell)), max(1, -(-w // cell))), mode="area")
    return F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)


def _smooth_field(coeffs: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(B, C, g, g) coefficients -> (B, C, height, width) smooth field."""
    return F.interpolate(coeffs, size=(height, width), mode="bicubic", align_corners=True)


class TinyModel(comfy.model_base.BaseModel):
    """SD1.5-family EPS model whose random UNet is blended with an ideal Gaussian denoiser."""

    def __init__(self, model_config: Any, seed: int, device: Any = None) -> None:
        super().__init__(model_config, model_type=comfy.model_base.ModelType.EPS, device=device)
        gen = torch.Generator(device="cpu").manual_seed(seed * 7 + 3)
        g = PATTERN_GRID
        self.register_buffer("tiny_base", BASE_STD * torch.randn((1, 4, g, g), generator=gen), persistent=False)
        self.register_buffer(
            "tiny_proj", torch.randn((CONTEXT_DIM, 4 * g * g), generator=gen) / CONTEXT_DIM**0.5, persistent=False
        )

    def tiny_mean(self, context: torch.Tensor | None, batch: int, height: int, width: int) -> torch.Tensor:
        """The mean of the fake data distribution for this conditioning, (B, 4, H, W)."""
        coeffs = self.tiny_base.expand(batch, -1, -1, -1)
        if context is not None:
            pooled = context.float().mean(dim=1)
            pooled = (pooled - pooled.mean(dim=-1, keepdim=True)) / (pooled.std(dim=-1, keepdim=True) + 1e-6)
            extra = torch.tanh(pooled @ self.tiny_proj.to(pooled.device)).view(-1, 4, PATTERN_GRID, PATTERN_GRID)
            if extra.shape[0] != batch:
                extra = extra.repeat(batch // max(1, extra.shape[0]), 1, 1, 1)[:batch]
            coeffs = coeffs.to(extra.device) + PROMPT_STD * extra
        return _smooth_field(coeffs, height, width)

    def _apply_model(self, x, t, c_concat=None, c_crossattn=None, control=None, transformer_options={}, **kwargs):
        denoised_net = super()._apply_model(x, t, c_concat, c_crossattn, control, transformer_options, **kwargs)
        sigma = t.float().view(-1, *([1] * (x.ndim - 1))).to(x.device)
        x32 = x.float()
        eps_net = torch.tanh((x32 - denoised_net.float()) / sigma.clamp(min=1e-4))
        mu = self.tiny_mean(c_crossattn, x.shape[0], x.shape[-2], x.shape[-1]).to(x.device)
        # ideal denoiser for x0 = mu + smooth + grain, treating the low-pass of (x - mu) as an average of cell**2 pixels
        var = sigma**2
        s_hi, s_lo = GRAIN_STD**2, SMOOTH_STD**2 + GRAIN_STD**2 / SMOOTH_CELL**2
        w_lo = s_lo / (s_lo + var / SMOOTH_CELL**2)
        w_hi = s_hi / (s_hi + var)
        d = x32 - mu
        d_lo = _low_pass(d)
        denoised_ideal = mu + w_lo * d_lo + w_hi * (d - d_lo)
        eps_ideal = (x32 - denoised_ideal) / sigma.clamp(min=1e-4)
        eps = eps_ideal + UNET_WEIGHT * eps_net * (sigma / (sigma + 1.0))
        return x32 - sigma * eps


class TinySD15(comfy.supported_models.SD15):
    """SD15 model config whose get_model builds a TinyModel."""

    tiny_seed = 0

    def get_model(self, state_dict, prefix="", device=None):
        return TinyModel(self, seed=self.tiny_seed, device=device)


class TinyAutoencoderKL(AutoencoderKL):
    """AutoencoderKL blended with a linear latent<->RGB map, so images are colourful and img2img round-trips."""

    def _factors(self, z: torch.Tensor) -> torch.Tensor:
        fmt = comfy.latent_formats.SD15()
        # raw latents -> RGB in [-1, 1], exactly as the latent2rgb preview maps scaled latents
        return fmt.scale_factor * torch.tensor(fmt.latent_rgb_factors, dtype=torch.float32, device=z.device)  # (4, 3)

    @staticmethod
    def _net_size(h: int, w: int) -> tuple[int, int]:
        f = max(1, -(-max(h, w) // VAE_NET_MAX_LATENT))
        return max(1, -(-h // f)), max(1, -(-w // f))

    def decode(self, z: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        h, w = z.shape[-2:]
        size = (h * 8, w * 8)
        nh, nw = self._net_size(h, w)
        z_net = z if (nh, nw) == (h, w) else F.interpolate(z, size=(nh, nw), mode="area")
        net = super().decode(z_net, **kwargs).float()
        if net.shape[-2:] != size:
            net = F.interpolate(net, size=size, mode="bilinear", align_corners=False)
        rgb = torch.einsum("bchw,cr->brhw", z.float(), self._factors(z))
        rgb = F.interpolate(rgb, size=size, mode="bilinear", align_corners=False)
        return (rgb + VAE_NET_WEIGHT * torch.tanh(net)).to(z.dtype)

    def encode(self, x: torch.Tensor, return_reg_log: bool = False) -> Any:
        h, w = x.shape[-2] // 8, x.shape[-1] // 8
        nh, nw = self._net_size(h, w)
        x_net = x if (nh, nw) == (h, w) else F.interpolate(x, size=(nh * 8, nw * 8), mode="area")
        out = super().encode(x_net, return_reg_log=return_reg_log)
        net = out[0] if return_reg_log else out
        if net.shape[-2:] != (h, w):
            net = F.interpolate(net.float(), size=(h, w), mode="bilinear", align_corners=False)
        small = F.interpolate(x.float(), size=(h, w), mode="area")
        pinv = torch.linalg.pinv(self._factors(x))  # (3, 4)
        z = torch.einsum("brhw,rc->bchw", small, pinv) + 0.05 * torch.tanh(net.float())
        z = z.to(x.dtype)
        return (z, out[1]) if return_reg_log else z


def build_model(seed: int) -> comfy.model_patcher.ModelPatcher:
    """The MODEL output: a tiny SD1.5-shaped UNet in a ModelPatcher."""
    config = TinySD15(dict(UNET_CONFIG))
    config.tiny_seed = seed
    config.set_inference_dtype(torch.float32, None)
    model = config.get_model({})
    fill_(model.diffusion_model, seed * 7 + 1)
    load_device = comfy.model_management.get_torch_device()
    offload_device = comfy.model_management.unet_offload_device()
    return comfy.model_patcher.ModelPatcher(model, load_device=load_device, offload_device=offload_device)


def build_clip(seed: int) -> comfy.sd.CLIP:
    """The CLIP output: the stock SD1 tokenizer with a 2-layer, 64-wide clip_l text model."""
    target = comfy.supported_models_base.ClipTarget(comfy.sd1_clip.SD1Tokenizer, comfy.sd1_clip.SD1ClipModel)
    clip = comfy.sd.CLIP(
        target,
        model_options={"clip_l_model_config": dict(CLIP_CONFIG), "dtype": torch.float32},
        parameters=1,
    )
    fill_(clip.cond_stage_model, seed * 7 + 2)
    return clip


def build_vae(seed: int) -> comfy.sd.VAE:
    """The VAE output: a 32-channel AutoencoderKL blended with a linear latent<->RGB map."""
    params = {"embed_dim": 4, "ddconfig": dict(VAE_DDCONFIG)}
    donor = AutoencoderKL(**params)
    fill_(donor, seed * 7 + 4)
    sd = {k: v.detach().clone() for k, v in donor.state_dict().items()}
    vae = comfy.sd.VAE(sd=sd, config={"params": params}, dtype=torch.float32)
    vae.first_stage_model.__class__ = TinyAutoencoderKL
    return vae


_CACHE: dict[int, tuple[Any, Any, Any]] = {}
_LOCK = threading.Lock()


def load_tiny(seed: int) -> tuple[Any, Any, Any]:
    """(MODEL, CLIP, VAE) for ``seed``, built once per process."""
    with _LOCK:
        if seed not in _CACHE:
            start = time.perf_counter()
            with torch.random.fork_rng(devices=[]):
                _CACHE[seed] = (build_model(seed), build_clip(seed), build_vae(seed))
            log.info("comfytui tiny models for seed %d built in %.3f s", seed, time.perf_counter() - start)
        return _CACHE[seed]


class TinyCheckpointLoader:
    """Loader node: MODEL, CLIP and VAE from seeded random weights (no files needed)."""

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "seed": ("INT", {"default": 0, "min": 0, "max": 2**32 - 1, "tooltip": "Seed for the random weights."}),
            }
        }

    RETURN_TYPES = ("MODEL", "CLIP", "VAE")
    RETURN_NAMES = ("MODEL", "CLIP", "VAE")
    OUTPUT_TOOLTIPS = ("Tiny SD1.5-shaped diffusion model.", "Tiny CLIP text encoder.", "Tiny VAE.")
    FUNCTION = "load"
    CATEGORY = "loaders"
    DESCRIPTION = "Builds a tiny SD1.5-shaped checkpoint from seeded random weights, for tests on a CPU."

    def load(self, seed: int) -> tuple[Any, Any, Any]:
        return load_tiny(int(seed))
