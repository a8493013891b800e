"""Draw the GigaGAN data-flow diagram used in ``book/research/architecture.md``.

The drawing is our own schematic of the system described by Kang et al. (CVPR 2023):
text branch, mapping network, synthesis network with interleaved adaptive convolution,
self-attention and cross-attention, the image pyramid, and the multi-scale input,
multi-scale output (MS-I/O) discriminator. It uses matplotlib only.

Run from the repository root::

    .venv/bin/python book/research/figures/make_architecture_diagram.py

It writes ``book/research/figures/architecture.png`` next to this script.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

OUT = Path(__file__).resolve().parent / "architecture.png"

# Colour per role: text (blue), latent/style (orange), synthesis (green),
# discriminator (purple), losses (grey).
COLOURS = {
    "text": "#dbe9f6",
    "style": "#fde3c8",
    "synth": "#dff2df",
    "disc": "#e8def3",
    "loss": "#eeeeee",
    "frozen": "#c9d7e6",
}
EDGE = "#333333"


def box(ax, x, y, w, h, text, role, *, fontsize=9.0, bold=False):
    """Draw a rounded box whose lower-left corner is (x, y); return its centre."""
    patch = FancyBboxPatch(
        (x, y),
        w,
        h,
        boxstyle="round,pad=0.25,rounding_size=0.8",
        linewidth=1.1,
        edgecolor=EDGE,
        facecolor=COLOURS[role],
    )
    ax.add_patch(patch)
    ax.text(
        x + w / 2,
        y + h / 2,
        text,
        ha="center",
        va="center",
        fontsize=fontsize,
        fontweight="bold" if bold else "normal",
        wrap=True,
    )
    return (x + w / 2, y + h / 2)


def arrow(ax, start, end, *, label=None, style="-|>", colour=EDGE, rad=0.0, lw=1.2,
          label_offset=(0.0, 0.8), fontsize=8.0):
    """Draw an arrow from ``start`` to ``end`` with an optional label at its middle."""
    patch = FancyArrowPatch(
        start,
        end,
        arrowstyle=style,
        mutation_scale=11,
        linewidth=lw,
        color=colour,
        connectionstyle=f"arc3,rad={rad}",
        shrinkA=0,
        shrinkB=0,
    )
    ax.add_patch(patch)
    if label:
        mx = (start[0] + end[0]) / 2 + label_offset[0]
        my = (start[1] + end[1]) / 2 + label_offset[1]
        ax.text(mx, my, label, ha="center", va="bottom", fontsize=fontsize,
                style="italic", color=colour)


def main() -> None:
    fig, ax = plt.subplots(figsize=(13.0, 7.6))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 60)
    ax.axis("off")

    ax.text(50, 58.6, "GigaGAN: data flow (schematic)", ha="center", va="center",
            fontsize=13, fontweight="bold")

    # ------------------------------------------------------------------ text branch
    ax.text(1, 54.2, "Text branch", fontsize=10, fontweight="bold", color="#1f4e79")
    box(ax, 1, 47.5, 10, 5, "Prompt $c$", "text")
    box(ax, 15, 47.5, 14, 5, "CLIP text encoder\n(pretrained, frozen)", "frozen")
    box(ax, 33, 47.5, 13, 5, "Learned text\nlayers $T$", "text")
    box(ax, 52, 51.0, 14, 4.2, "$t_{\\mathrm{local}}$\n(one vector per word)", "text",
             fontsize=8.5)
    box(ax, 52, 44.6, 14, 4.2, "$t_{\\mathrm{global}}$\n(end-of-text token)", "text",
        fontsize=8.5)
    arrow(ax, (11.5, 50.0), (14.5, 50.0))
    arrow(ax, (29.5, 50.0), (32.5, 50.0))
    arrow(ax, (46.5, 50.5), (51.5, 53.1))
    arrow(ax, (46.5, 49.5), (51.5, 46.7))

    # ------------------------------------------------------------- mapping network
    ax.text(70, 54.2, "Style mapping", fontsize=10, fontweight="bold", color="#8a4b08")
    z = box(ax, 70, 40.0, 9, 4.0, "$z \\sim \\mathcal{N}(0, I)$", "style")
    box(ax, 70, 45.4, 12, 5, "Mapping\nnetwork $M$", "style")
    w = box(ax, 87, 45.4, 10, 5, "style\nvector $w$", "style", bold=True)
    arrow(ax, (66.5, 46.7), (69.5, 47.6))
    arrow(ax, (z[0], 44.2), (z[0], 45.2))
    arrow(ax, (82.5, 47.9), (86.5, 47.9))

    # ----------------------------------------------------------- synthesis network
    synth = FancyBboxPatch((1, 16.5), 97, 20.0, boxstyle="round,pad=0.3,rounding_size=1.2",
                           linewidth=1.0, edgecolor="#2e7d32", facecolor="none",
                           linestyle="--")
    ax.add_patch(synth)
    ax.text(2.0, 34.6, "Synthesis network $\\tilde{G}$ (one block per resolution, repeated "
            "from coarse to fine)", fontsize=10, fontweight="bold", color="#2e7d32")

    const = box(ax, 3, 23.5, 10, 5.5, "Learned\nconstant", "synth")
    conv = box(ax, 18, 22.5, 17, 7.5,
               "Adaptive convolution\nkernel bank $K_1, \\ldots, K_N$,\nsoftmax weights from $w$,\n"
               "then modulation / demod.", "synth", fontsize=8.3)
    sa = box(ax, 40, 22.5, 15, 7.5, "Self-attention\n(L2-distance logits)", "synth",
             fontsize=8.5)
    xa = box(ax, 60, 22.5, 15, 7.5,
             "Cross-attention\nqueries: image features\nkeys, values: $t_{\\mathrm{local}}$",
             "synth", fontsize=8.3)
    rgb = box(ax, 81, 22.5, 15, 7.5, "toRGB:\nan image at this\nresolution", "synth",
              fontsize=8.5)
    arrow(ax, (13.5, const[1]), (17.5, conv[1]))
    arrow(ax, (35.5, conv[1]), (39.5, sa[1]))
    arrow(ax, (55.5, sa[1]), (59.5, xa[1]))
    arrow(ax, (75.5, xa[1]), (80.5, rgb[1]))
    # Repeat: features go on to the next (finer) block.
    arrow(ax, (67.5, 22.0), (26.5, 22.0), rad=-0.16, colour="#2e7d32", lw=1.0)
    ax.text(47.0, 17.6, "features go on to the next, finer block", ha="center",
            fontsize=8, style="italic", color="#2e7d32")

    # w feeds every layer; t_local feeds cross-attention.
    arrow(ax, (w[0], 45.0), (w[0], 38.2), colour="#8a4b08")
    ax.plot([w[0], 26.5], [38.2, 38.2], color="#8a4b08", lw=1.2)
    for xpos in (26.5, 47.5):
        arrow(ax, (xpos, 38.2), (xpos, 30.5), colour="#8a4b08")
    ax.text(71.5, 38.7, "$w$ modulates every layer", fontsize=8.5, style="italic",
            color="#8a4b08")
    arrow(ax, (66.6, 53.1), (67.5, 30.5), colour="#1f4e79", rad=-0.12)
    ax.text(68.2, 33.0, "$t_{\\mathrm{local}}$", fontsize=9, color="#1f4e79")

    # ---------------------------------------- image pyramid, discriminator, losses
    # The bottom row reads from right to left: pyramid -> discriminator -> objectives.
    pyr = box(ax, 76, 2.5, 22, 9.5,
              "Image pyramid\n$x_0$ (full size), $x_1, \\ldots, x_{L-1}$\n"
              "one RGB image per scale,\nevery scale is trained", "synth", fontsize=8.5)
    arrow(ax, (rgb[0], 16.0), (rgb[0], 12.5), colour="#2e7d32")

    d = box(ax, 36, 2.0, 34, 10.5,
            "MS-I/O discriminator\n"
            "$x_i$ enters the feature extractor $\\phi$ at its own depth;\n"
            "heads $\\psi_j$ judge it at every coarser scale $j > i$:\n"
            "$D_{ij} = \\psi_j(\\phi_{i\\to j}(x_i), t_D)"
            " + \\mathrm{Conv}_{1\\times 1}(\\phi_{i\\to j}(x_i))$",
            "disc", fontsize=8.2)
    arrow(ax, (75.5, pyr[1]), (70.5, d[1]))
    box(ax, 47, 13.4, 12, 2.0, "text descriptor $t_D$", "disc", fontsize=8.0)
    arrow(ax, (53.0, 13.2), (53.0, 12.9), colour="#5e35b1")

    box(ax, 1, 2.0, 29, 10.5,
        "Objectives\nnon-saturating GAN loss over all $(i, j)$\n"
        "+ matching-aware loss (on G and D)\n+ CLIP contrastive loss\n"
        "+ vision-aided GAN loss; R1 on D",
        "loss", fontsize=8.2)
    arrow(ax, (35.5, d[1]), (30.5, d[1]))

    fig.tight_layout(pad=0.4)
    fig.savefig(OUT, dpi=100)
    plt.close(fig)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.1f} KiB)")


if __name__ == "__main__":
    main()
