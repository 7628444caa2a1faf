"""The pictures of a run, drawn from what training and the evaluation saved: the sample grid, the
class histogram, the Wasserstein and loss curves, a walk through the latent space, the progress
strip and the judge's curve. The numbers themselves are the evaluation's."""

from __future__ import annotations

from typing import Literal

import keras
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from PIL import Image

from wgan_pipeline.gan.images import image_grid, latent_noise
from wgan_pipeline.gan.models import check_generator, predict_in_batches
from wgan_pipeline.params import CLASS_NAMES, DataParams, EvaluationParams


def make_sample_grid(samples: np.ndarray, params: EvaluationParams) -> Image.Image:
    """The first grid_rows**2 samples as one greyscale image, magnified by grid_scale."""
    grid = image_grid(samples[: params.grid_rows**2], rows=params.grid_rows)
    return _magnified(grid, params.grid_scale)


def plot_class_histogram(metrics: pd.DataFrame, data: DataParams) -> Figure:
    """Share of each predicted class (by name) for generated, real and noise images; 10% is
    uniform."""
    names = CLASS_NAMES[data.dataset]
    figure = Figure(figsize=(7, 3.2), layout="constrained")
    axes = figure.subplots()
    width = 0.8 / len(metrics)
    digits = np.arange(10)
    for i, row in enumerate(metrics.to_dict("records")):
        shares = [row[f"share_{d}"] for d in digits]
        axes.bar(digits + (i - (len(metrics) - 1) / 2) * width, shares, width, label=row["set"])
    axes.axhline(0.1, color="black", linewidth=0.8, linestyle="--", label="uniform (10%)")
    axes.set(xticks=digits, xlabel=f"predicted class ({data.dataset})", ylabel="share of images")
    axes.set_xticklabels(
        names, rotation=30 if len(max(names, key=len)) > 2 else 0, fontsize="small"
    )
    axes.set_title("What the classifier sees in each set")
    axes.legend(ncols=4, fontsize="small")
    return figure


def plot_wasserstein_curve(steps: pd.DataFrame, params: EvaluationParams) -> Figure:
    """The critic's Wasserstein estimate at every critic step, raw and median-filtered, as the
    WGAN paper plots it (it should fall as the samples improve)."""
    figure = Figure(figsize=(7, 3.2), layout="constrained")
    axes = figure.subplots()
    estimate = steps["wasserstein_estimate"]
    axes.plot(
        steps["critic_step"], estimate, color="tab:blue", alpha=0.3, linewidth=0.6, label="raw"
    )
    window = min(params.curve_window, len(estimate))
    smooth = estimate.rolling(window, center=True, min_periods=1).median()
    axes.plot(steps["critic_step"], smooth, color="tab:blue", label=f"median of {window} steps")
    axes.set(xlabel="critic step", ylabel="mean D(real) - mean D(fake)")
    axes.set_title("Wasserstein estimate during training")
    axes.legend(fontsize="small")
    return figure


def plot_judge_curve(judge_history: pd.DataFrame, history: pd.DataFrame) -> Figure:
    """FID per judged epoch (the raw generator and, when there is one, its moving average), the
    kept one marked, beside the critic's per-epoch Wasserstein estimate: does the estimate the
    critic trains on track the quality the judge sees?"""
    figure = Figure(figsize=(7, 3.2), layout="constrained")
    axes = figure.subplots()
    estimate = axes.twinx()
    estimate.plot(
        history["epoch"],
        history["wasserstein_estimate"],
        color="tab:grey",
        alpha=0.7,
        linewidth=1,
        label="Wasserstein estimate (right)",
    )
    estimate.set_ylabel("epoch mean of D(real) - D(fake)")
    for source, colour in (("raw", "tab:blue"), ("ema", "tab:orange")):
        rows = judge_history[judge_history["source"] == source]
        if len(rows):
            axes.plot(
                rows["epoch"],
                rows["fid"],
                marker="o",
                markersize=3,
                color=colour,
                label=f"FID, {source} generator",
            )
    kept = judge_history[judge_history["kept"].astype(bool)] if len(judge_history) else []
    if len(kept):
        epoch, fid = int(kept["epoch"].iloc[0]), float(kept["fid"].iloc[0])
        axes.plot(
            [epoch],
            [fid],
            marker="*",
            markersize=14,
            color="tab:red",
            linestyle="none",
            label=f"kept: epoch {epoch} ({kept['source'].iloc[0]}), FID {fid:.1f}",
        )
    else:
        axes.text(
            0.5,
            0.5,
            "not judged during training (evaluation.every_epochs: null)",
            transform=axes.transAxes,
            ha="center",
        )
    axes.set(xlabel="epoch", ylabel="FID (lower is better)")
    axes.set_title("The judge's FID during training, beside the critic's estimate")
    lines = axes.get_legend_handles_labels()[0] + estimate.get_legend_handles_labels()[0]
    axes.legend(handles=lines, fontsize="small")
    return figure


def plot_losses(history: pd.DataFrame) -> Figure:
    """Per-epoch mean critic and generator losses (and the gradient penalty when there is one)."""
    figure = Figure(figsize=(7, 3.2), layout="constrained")
    axes = figure.subplots()
    for column in ("critic_loss", "generator_loss", "gradient_penalty"):
        if column in history:
            axes.plot(history["epoch"], history[column], marker="o", markersize=3, label=column)
    axes.axhline(0.0, color="black", linewidth=0.6)
    axes.set(xlabel="epoch", ylabel="mean over the epoch")
    axes.set_title("Losses during training")
    axes.legend(fontsize="small")
    return figure


def interpolate_latent(
    generator: keras.Model,
    params: EvaluationParams,
    noise_kind: Literal["uniform", "normal"],
) -> Image.Image:
    """Rows of digits along straight lines between random latent points: a smooth walk means
    the generator has learned a continuous map rather than a lookup of memorised images."""
    latent_dim = check_generator(generator)
    ends = latent_noise(2 * params.interpolation_rows, latent_dim, noise_kind, params.seed + 1)
    start, end = ends[::2, np.newaxis], ends[1::2, np.newaxis]
    t = np.linspace(0, 1, params.interpolation_steps, dtype=np.float32)[:, np.newaxis]
    walk = (start + t * (end - start)).reshape(-1, latent_dim)
    images = predict_in_batches(generator, walk, params.batch_size)
    grid = image_grid(images, rows=params.interpolation_rows)
    return _magnified(grid, params.grid_scale)


def make_progress_strip(epoch_samples: np.ndarray, params: EvaluationParams) -> Image.Image:
    """One row per epoch: the first ``progress_digits`` fixed-noise digits after that epoch."""
    digits = epoch_samples[:, : params.progress_digits]
    rows = len(digits)
    grid = image_grid(digits.reshape(-1, *digits.shape[2:]), rows=rows)
    return _magnified(grid, params.grid_scale)


def _magnified(grid: np.ndarray, scale: int) -> Image.Image:
    image = Image.fromarray(grid)  # 2-D uint8: greyscale ("L")
    return image.resize((image.width * scale, image.height * scale), Image.NEAREST)
