"""FLUX.1-schnell throughput at 256x256 and 4 steps, with full-size randomly initialised weights.

    python benchmarks/bench_flux.py            # on a CUDA GPU (the 12B transformer in bf16 needs ~24 GB)
    python benchmarks/bench_flux.py --smoke    # a tiny FLUX of the same classes, on the CPU, in seconds

Speed depends on the shapes of the weights, not on their values, so the transformer and the VAE
are built from FLUX.1-schnell's architecture (the sizes below) with random weights: nothing is
downloaded. The text encoders (CLIP-L and T5-XXL) are not run; prompt embeddings of their output
shapes go straight to the transformer, so the figure is the 4-step denoising loop plus VAE
decoding. The data generator (``gigagan.data.flux``) runs the same pipeline class with the real
weights. Writes benchmarks/results/flux.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table, write_results  # noqa: E402

# FLUX.1 [schnell]: 19 double-stream and 38 single-stream blocks, 24 heads of 128, no guidance embedding.
FULL = {
    "transformer": dict(patch_size=1, in_channels=64, num_layers=19, num_single_layers=38, attention_head_dim=128,
                        num_attention_heads=24, joint_attention_dim=4096, pooled_projection_dim=768,
                        guidance_embeds=False, axes_dims_rope=(16, 56, 56)),
    "vae": dict(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
                up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(128, 256, 512, 512),
                layers_per_block=2, latent_channels=16, norm_num_groups=32, sample_size=1024,
                scaling_factor=0.3611, shift_factor=0.1159, use_quant_conv=False, use_post_quant_conv=False),
    "text_tokens": 256, "text_dim": 4096, "pooled_dim": 768,
}
TINY = {
    "transformer": dict(patch_size=1, in_channels=16, num_layers=1, num_single_layers=1, attention_head_dim=16,
                        num_attention_heads=2, joint_attention_dim=32, pooled_projection_dim=32,
                        guidance_embeds=False, axes_dims_rope=(4, 6, 6)),
    "vae": dict(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
                up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(8, 8, 8, 8), layers_per_block=1,
                latent_channels=4, norm_num_groups=4, sample_size=64, scaling_factor=0.3611, shift_factor=0.1159,
                use_quant_conv=False, use_post_quant_conv=False),
    "text_tokens": 16, "text_dim": 32, "pooled_dim": 32,
}


def build(sizes: dict, device: str, dtype: torch.dtype):
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel

    torch.manual_seed(0)
    with torch.device(device):  # random weights, made where they run
        transformer = FluxTransformer2DModel(**sizes["transformer"]).to(dtype)
        vae = AutoencoderKL(**sizes["vae"]).to(dtype)
    scheduler = FlowMatchEulerDiscreteScheduler(shift=1.0, use_dynamic_shifting=False)
    pipe = FluxPipeline(scheduler=scheduler, vae=vae, text_encoder=None, tokenizer=None, text_encoder_2=None,
                        tokenizer_2=None, transformer=transformer)
    return pipe, sum(p.numel() for p in transformer.parameters())


def run(pipe, sizes, batch, size, steps, device, dtype, seed):
    g = torch.Generator(device).manual_seed(seed)
    embeds = torch.randn(batch, sizes["text_tokens"], sizes["text_dim"], generator=g, device=device).to(dtype)
    pooled = torch.randn(batch, sizes["pooled_dim"], generator=g, device=device).to(dtype)
    return pipe(prompt_embeds=embeds, pooled_prompt_embeds=pooled, height=size, width=size, num_inference_steps=steps,
                guidance_scale=0.0, output_type="pt", generator=g).images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a tiny FLUX on the CPU, seconds")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    cuda = torch.cuda.is_available() and not args.smoke
    if not cuda and not args.smoke:
        parser.error("the full-size FLUX benchmark needs a CUDA GPU; use --smoke on the CPU")
    device, dtype = ("cuda", torch.bfloat16) if cuda else ("cpu", torch.float32)
    sizes = FULL if cuda else TINY
    size, batch, repeats = (args.size, args.batch, args.repeats) if cuda else (64, 1, 1)
    pipe, params = build(sizes, device, dtype)
    images = run(pipe, sizes, batch, size, args.steps, device, dtype, 0)  # warm-up
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        images = run(pipe, sizes, batch, size, args.steps, device, dtype, i + 1)
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    best = min(times)
    row = {"model": "FLUX.1-schnell architecture, random weights" if cuda else "tiny FLUX (smoke)",
           "transformer_params_B": params / 1e9, "resolution": size, "steps": args.steps, "batch": batch,
           "seconds_per_batch": best, "images_per_s": batch / best, "device": device, "dtype": str(dtype),
           "output_shape": list(images.shape)}
    if cuda:
        row["peak_gpu_gb"] = torch.cuda.max_memory_allocated() / 1024 ** 3
    print(markdown_table([row], [("model", "model"), ("transformer_params_B", "transformer params (B)"),
                                 ("resolution", "px"), ("steps", "steps"), ("batch", "batch"),
                                 ("images_per_s", "images/s"), ("peak_gpu_gb", "peak GPU GB"), ("device", "device")]))
    import diffusers

    out = write_results("flux", "FLUX.1-schnell throughput, random full-size weights", [row], args.smoke,
                        {"torch": torch.__version__, "diffusers": diffusers.__version__}, args.out,
                        note="speed does not depend on weight values; text encoders not run")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
