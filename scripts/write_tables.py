"""Writes the measured tables of README.md and benchmarks/README.md from benchmarks/results/*.json.

    python scripts/write_tables.py            # rewrite the tables in place
    python scripts/write_tables.py --check    # exit 1, with a diff, where a table differs

A table sits between ``<!-- table:NAME -->`` and ``<!-- /table:NAME -->``; everything between the
two markers is this script's. Each table is written in one place only, so a figure is stated
once, next to the command and machine of the results file it comes from. To change a figure,
change (or re-measure) the results file and run this script; tests/test_docs.py fails while the
committed markdown differs from what it writes.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib.util
import io
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

from wgan_pipeline.gan import metrics

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOCS = (ROOT / "README.md", ROOT / "benchmarks" / "README.md")
BLOCK = re.compile(r"(<!-- table:([\w-]+) -->\n)(.*?)(<!-- /table:\2 -->)", re.S)


def load(name: str) -> dict:
    return json.loads((RESULTS / name).read_text())


def row(*cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def table(header: list[str], rows: list[list]) -> str:
    return "\n".join([row(*header), row(*["---"] * len(header)), *(row(*r) for r in rows)])


def duration(run: dict) -> str:
    if "wall_min" in run:
        return f"{run['wall_min']} min"
    seconds = run["wall_s"]
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def three_figures(value: float) -> float:
    return float(f"{value:.3g}")


def pct(share: float) -> str:
    return f"{100 * share:.1f}%"


def source(results: dict, name: str) -> str:
    """The line under a table: where its figures come from."""
    return (
        f"From `benchmarks/results/{name}` ({results['date']}, commit "
        f"{results['recorded_in_commit']}): {results['machine']}."
    )


def judged_runs_line(runs: str, results: dict, name: str) -> str:
    """The line under a table of runs judged together: the runs, the judging, the source."""
    return f"\n\nRuns: {runs}. Judged: {results['judged']} (`{results['command']}`). " + source(
        results, name
    )


# README.md


def runs() -> str:
    results = load("cpu_runs.json")
    rows = []
    for run in results["runs"]:
        measured = duration(run) + (f" ({run['note']})" if "note" in run else "")
        if "peak_rss_gb" in run:
            measured += f", {run['peak_rss_gb']} GB"
        extra = run["command"].removeprefix(run["row"]).strip()
        rows.append([
            f"`{run['row']}`", run["does"], measured,
            (f"with `{extra}`, " if extra else "") + run["date"]
            + (f", {run['measured_note']}" if "measured_note" in run else ""),
        ])  # fmt: skip
    header = ["run", "what it does", "wall time, peak memory", "measured"]
    ratios = sorted(
        (r[-1] for r in another_cpu_runs() if r[-1].endswith("×")), key=lambda r: float(r[:-1])
    )
    return (
        table(header, rows) + f"\n\nOn a {results['machine']}, with `/usr/bin/time -v` "
        "(`benchmarks/results/cpu_runs.json` names the commit each was recorded in). On a CPU "
        f"with AVX2 and no AVX-512 they took {ratios[0]} to {ratios[-1]} as long and trained another "
        "judge: compare FIDs under one `judge.hash` ([why](benchmarks/README.md#on-a-cpu-without-avx-512))."
    )


def first_run() -> str:
    """What a user's first `kedro run --env quick` prints and draws (its time: the runs table)."""
    results = load("first_run.json")
    console, digits = results["console"], results["digits"]
    shares = digits["shares"]
    low, high = min(range(10), key=shares.__getitem__), max(range(10), key=shares.__getitem__)
    clean = not (
        console["tensorflow_cpp_lines"] or console["python_warnings"] or console["tracebacks"]
    )
    return (
        f"The first `{results['command']}` on a fresh clone (MNIST placed; the judge trained in "
        f"it) prints {console['lines']} lines"
        + (" (no TensorFlow C++ line, no warning, no traceback)" if clean else "")
        + f" and ends naming its sample grid and MLflow run. Its kept generator (epoch "
        f"{results['kept']['epoch']}, FID {results['kept']['fid']} on {results['kept']['samples']:,} "
        f"samples) draws every digit: of {digits['samples']:,} samples classified by the run's "
        f"judge, {pct(shares[low])} "
        f"are {low}s (the rarest) and {pct(shares[high])} {high}s (the commonest). "
        f"Measured by `python benchmarks/first_run.py --mnist <mnist.npz>`. "
        + source(results, "first_run.json")
    )


def gpu_epochs() -> str:
    """README's first screen: an epoch on a GPU, from benchmarks/gpu_epochs.py's file."""
    results = load("gpu_epochs_h200.json")
    rows = []
    for name, run in results["configurations"].items():
        first, *rest = run["epoch_seconds"]
        rows.append([f"`{name}`", f"{min(rest)} s", f"{first} s", f"{run['script_wall_s']} s"])
    header = ["configuration", "an epoch (60,000 images)", "the first epoch (compiles)",
              f"{len(run['epoch_seconds'])} epochs, start to end"]  # fmt: skip
    return (
        table(header, rows)
        + f"\n\nOn one {results['device']} ({results['machine']['cpus']} CPU cores), Keras "
        f"{results['software']['keras']} on JAX {results['software']['jax']}, trained by "
        f"{results['trainer']}: `{results['command']}` (`benchmarks/results/gpu_epochs_h200.json`)."
    )


def clipped_on_gpu() -> str:
    """benchmarks/README.md: WGAN-GP's networks with weight clipping against --env best, by epoch
    (benchmarks/judged_epochs.py on a GPU)."""
    results = load("judged_epochs_h200.json")
    rows = []
    for name, run in results["runs"].items():
        fids = {e["epoch"]: e["fid"] for e in run["epochs"]}
        best, met = run["best_judged_10000"], sum(run["targets"].values())
        rows.append([f"`{name}`", f"`{run['args']}`",
                     *(f"{fids[e]:.1f}" for e in (5, 10, 16, 25)),
                     f"{best['fid']:.1f} (epoch {run['best_epoch']})", f"{best['precision']:.2f}",
                     f"{best['recall']:.2f}", f"{pct(best['rarest_class_share'])} / "
                     f"{pct(best['commonest_class_share'])}", f"{met} of 4"])  # fmt: skip
    header = ["run", "arguments", "FID, epoch 5", "10", "16", "25", "best, 10,000 images",
              "precision", "recall", "rarest / commonest", "targets met"]  # fmt: skip
    return (
        table(header, rows)
        + f"\n\nJudge {results['judge']['hash']} (test accuracy {results['judge']['test_accuracy']}), "
        f"floor FID {results['floor_fid']}; {results['machine']}; `{results['command']}` "
        "(`benchmarks/results/judged_epochs_h200.json`)."
    )


def configurations() -> str:
    """README.md: the configurations' kept generators, judged together."""
    return judged_together("configurations.json")


def time_to_quality() -> str:
    """benchmarks/README.md: the chapter, --env clipped and --env best judged together (the
    runs of the FID-against-minutes figure)."""
    return judged_together("time_to_quality.json")


def truncation() -> str:
    """benchmarks/README.md: one kept generator judged on noise of a smaller spread."""
    results = load("truncation.json")
    targets, floor = results["targets"], results["floor_fid"]
    rows = [
        [f"{r['scale']:g}", f"{r['fid']:.1f}", f"{r['precision']:.2f}", f"{r['recall']:.2f}",
         f"{pct(r['rarest_share'])} / {pct(r['commonest_share'])}",
         sum(targets_met(r, floor, targets))]
        for r in results["rows"]
    ]  # fmt: skip
    header = [
        "noise scale",
        "FID",
        "precision",
        "recall",
        "rarest / commonest digit",
        "targets met",
    ]
    return (
        table(header, rows) + f"\n\nThe kept generator of `{results['run']['command']}`, judged on "
        f"{results['judged_images']:,} images (judge {results['judge']}; floor FID {floor}, so "
        f"the FID target is ≤ {targets['fid_times_floor'] * floor:.1f}) by "
        f"`{results['command']}`. " + source(results, "truncation.json")
    )


def targets_met(r: dict, floor_fid: float, targets: dict) -> list[bool]:
    """Whether a results file's row meets each of the four quality targets ``targets`` (the
    ones the file recorded), in their order, checked as a run checks its kept generator
    (gan/metrics.py's ``targets_met``). A row names the class shares ``rarest_share`` and
    ``commonest_share``."""
    scorecard = {**r, "rarest_class_share": r["rarest_share"],
                 "commonest_class_share": r["commonest_share"]}  # fmt: skip
    return list(metrics.targets_met(scorecard, floor_fid, targets).values())


def judged_together(name: str) -> str:
    """The table of a results file that scripts/judge_configurations.py --out wrote."""
    results = load(name)
    targets, floor = results["targets"], results["floor"]
    best_fid = min(r["fid"] for r in results["runs"])

    def metrics(r: dict) -> list:
        return [
            f"{r['mnist_score']:.2f}",
            f"{pct(r['rarest_share'])} / {pct(r['commonest_share'])}",
            *(f"{r[k]:.2f}" for k in ("precision", "recall", "density", "coverage")),
        ]

    def verdict(met: bool) -> str:
        return "**yes**" if met else "no"

    rows = []
    for r in results["runs"]:
        bold = r["fid"] == best_fid
        met = targets_met(r, floor["fid"], targets)
        rows.append([
            f"**{r['name']}**" if bold else r["name"], r["architecture"], r["epochs"],
            f"{r['training_min']} min", f"**{r['fid']:.1f}**" if bold else f"{r['fid']:.1f}",
            *metrics(r), *map(verdict, met),
        ])  # fmt: skip
    for ref in (floor, results["ceiling"]):
        rows.append([ref["name"], "", "", "", f"{ref['fid']:.1f}", *metrics(ref), "", "", "", ""])
    header = [
        "configuration", "architecture", "epochs", "training", "FID", "MNIST score",
        "rarest / commonest digit", "precision", "recall", "density", "coverage",
        f"FID ≤ {targets['fid_times_floor']}× floor",
        f"every digit {100 * targets['class_share_low']:.0f}–{100 * targets['class_share_high']:.0f}%",
        f"precision ≥ {targets['precision']}", f"recall ≥ {targets['recall']}",
    ]  # fmt: skip
    commands = ", ".join(f"{r['name']}: `{r['command']}`" for r in results["runs"])
    judge = f" Judge {results['judge']['hash']}." if "judge" in results else ""
    # a run re-measured later, judged alone by the same judge on the same noise, and the
    # earlier run of the same command it replaced: where two runs differ, both are stated
    later = "".join(
        f" {r['name']}: {r['date']}, commit {r['recorded_in_commit']}, the same judge"
        + (f" ({r['training_note']})" if "training_note" in r else "") + "."
        for r in results["runs"] if "recorded_in_commit" in r
    ) + "".join(
        f" The same `{e['command']}` on {e['date']} (commit {e['recorded_in_commit']}): FID "
        f"{e['fid']:.1f}, epochs {e['epochs']}, precision {e['precision']:.2f}, recall "
        f"{e['recall']:.2f}, {e['training_min']} min."
        for e in results.get("earlier", [])
    )  # fmt: skip
    return table(header, rows) + judged_runs_line(commands, results, name) + later + judge


# benchmarks/README.md


def clipped_batchnorm() -> str:
    """Runs compared at equal training minutes (benchmarks/equal_minutes.py --out)."""
    results = load("clipped_batchnorm.json")
    marks = list(results["runs"][0]["at_minutes"])

    def met(targets: dict) -> str:
        passed = [name for name, ok in targets.items() if ok]
        return f"{len(passed)} of {len(targets)}" + (f" ({', '.join(passed)})" if passed else "")

    def at(point: dict | None) -> str:
        if point is None:
            return "no judging yet"
        end = ", its end" if point["ended_before"] else ""
        return (f"epoch {point['epoch']} ({point['minutes']:.0f} min{end}): FID "
                f"{point['fid']:.1f}, {met(point['targets'])}")  # fmt: skip

    rows = []
    for r in results["runs"]:
        final = r["final"]
        rows.append([
            r["name"], r["normalization"], f"{r['minutes_per_epoch']:.2f}",
            *(at(r["at_minutes"][m]) for m in marks),
            f"{r['kept_epoch']} of {r['epochs']}", f"{final['fid']:.1f}",
            f"{final['precision']:.2f}", f"{final['recall']:.2f}",
            f"{pct(final['rarest_class_share'])} / {pct(final['commonest_class_share'])}",
            met(final["targets"]),
        ])  # fmt: skip
    header = [
        "run", "normalization", "minutes an epoch", *(f"at {m} min (judged on 2,000)" for m in marks),
        "kept epoch", "FID", "precision", "recall", "rarest / commonest digit", "targets (10,000)",
    ]  # fmt: skip
    commands = ", ".join(f"{r['name']}: `{r['command']}`" for r in results["runs"])
    return (
        table(header, rows)
        + f"\n\nRuns: {commands}. Compared: `{results['command']}`. "
        + source(results, "clipped_batchnorm.json")
    )


def train_speed() -> str:
    """The table `python benchmarks/train_speed.py` prints, from the file it wrote."""
    spec = importlib.util.spec_from_file_location(
        "train_speed", ROOT / "benchmarks" / "train_speed.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # stdlib imports only at the top
    results = load("latest.json")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        module.print_table(results["results"], results["summary"])
    machine = results["machine"]
    return (
        f"```\n{printed.getvalue()}```\n\n`{results['command']}` on {results['date']} "
        f"(`benchmarks/results/latest.json`): {machine['cpus']} CPU cores, {machine['platform']}."
    )


def jax_h100() -> str:
    results = load("jax_h100.json")
    modes = {
        "fit": "`fit`, float32",
        "fit_spe": "`fit`, `steps_per_execution=100`, float32",
        "scan": "scanned epoch, float32",
        "fit_bf16": "`fit`, mixed bfloat16",
        "fit_spe_bf16": "`fit`, `steps_per_execution=100`, mixed bfloat16",
        "scan_bf16": "scanned epoch, mixed bfloat16",
    }
    rows = [
        [label, f"{results[m]['epoch_60k_s']:.2f} s", f"{three_figures(results[m]['steps_per_s']):,.0f}",
         f"{results[m]['executed_tflops']:.1f} TFLOP/s"]
        for m, label in modes.items()
    ]  # fmt: skip
    return (
        table(["mode", "one 60,000-image epoch", "steps/s", "executed"], rows)
        + f"\n\n`{results['command']}` (`benchmarks/results/jax_h100.json`): one "
        f"{results['device'].split(': ')[1]}, JAX {results['jax']}, Keras {results['keras']}; "
        f"peak GPU memory {results['peak_device_memory_mb'] / 1000:.1f} GB."
    )


def judged_runs() -> str:
    results = load("judged_runs.json")
    rows = [
        [r["env"], r["epochs"], r["epoch_s"], f"{r['judge_s']:.2f} / {r['judge_raw_and_ema_s']:.2f}",
         pct(r["judge_share_of_epoch"]),
         f"{r['raw_best']['fid']:.1f} (epoch {r['raw_best']['epoch']}) / {r['raw_last']:.1f}",
         f"{r['ema_best']['fid']:.1f} (epoch {r['ema_best']['epoch']}) / {r['ema_last']:.1f}",
         r["kept"], f"{r['final_fid']:.1f}"]
        for r in results["runs"]
    ]  # fmt: skip
    header = [
        "env", "epochs", "epoch s", "judging s per epoch (raw / raw+EMA)", "share of the epoch",
        "raw FID best / last", "EMA FID best / last", "kept", "final FID (kept, 10,000)",
    ]  # fmt: skip
    return table(header, rows) + "\n\n" + source(results, "judged_runs.json")


def moving_average() -> str:
    results = load("judged_runs.json")
    rows = []
    for r in results["runs"]:
        raw10, ema10 = r["raw_epoch_10"], r["ema_epoch_10"]
        raw, ema = r["raw_best"], r["ema_best"]
        rows.append([
            r["config"],
            f"**{raw10:.1f}**" if raw10 <= ema10 else f"{raw10:.1f}",
            f"**{ema10:.1f}**" if ema10 < raw10 else f"{ema10:.1f}",
            f"**{raw['fid']:.1f}** ({raw['epoch']})" if raw["fid"] <= ema["fid"] else f"{raw['fid']:.1f} ({raw['epoch']})",
            f"**{ema['fid']:.1f}** ({ema['epoch']})" if ema["fid"] < raw["fid"] else f"{ema['fid']:.1f} ({ema['epoch']})",
        ])  # fmt: skip
    header = [
        "config",
        "raw FID, epoch 10",
        "EMA FID, epoch 10",
        "raw, best epoch",
        "EMA, best epoch",
    ]
    return table(header, rows) + "\n\nThe same runs as the table above (`judged_runs.json`)."


def best_search() -> str:
    results = load("best_search.json")
    rows = []
    for r in results["runs"]:
        name = r["trained_with"]
        if r.get("chosen"):
            first, _, rest = name.partition(", ")
            name = f"**{first}**, {rest}"
        seconds = str(r["training_s"]) + (
            f" ({r['training_note']})" if "training_note" in r else ""
        )
        final = f"**{r['final_fid']:.1f}**" if r.get("chosen") else f"{r['final_fid']:.1f}"
        rows.append([
            name, f"{r['epochs']} ({r['critic_updates']:,} / {r['generator_updates']:,})", seconds,
            ", ".join(map(str, r["judged_fid"])), final, f"{r['mnist_score']:.2f}",
        ])  # fmt: skip
    header = [
        "dcgan trained with", "epochs (critic / generator updates)", "training s",
        "judged FID per epoch (2,000 images)", "final FID (10,000)", "MNIST score",
    ]  # fmt: skip
    commands = "\n".join(r["command"] for r in results["runs"])
    return (
        f"```bash\n{commands}\n```\n\n"
        + table(header, rows) + "\n\n" + source(results, "best_search.json")
    )  # fmt: skip


def fashion_mnist() -> str:
    results = load("fashion_mnist.json")
    floor, ceiling = results["floor"], results["ceiling_fid"]
    rows = [
        [r["name"], r["training_min"], f"**{r['fid']:.1f}** ({floor['fid']:.2f} / {ceiling})",
         f"{r['classifier_score']:.2f}", f"{r['rarest']} / {r['commonest']}",
         *(f"{r[k]:.2f}" for k in ("precision", "recall", "coverage"))]
        for r in results["runs"]
    ]  # fmt: skip
    rows.append([
        floor["name"], "", f"{floor['fid']:.2f}", f"{floor['classifier_score']:.2f}",
        f"{floor['rarest']} / {floor['commonest']}",
        *(f"{floor[k]:.2f}" for k in ("precision", "recall", "coverage")),
    ])  # fmt: skip
    header = [
        "config", "training min", "FID (floor / ceiling)", "classifier score",
        "rarest / commonest class", "precision", "recall", "coverage",
    ]  # fmt: skip
    made = " then ".join(f"`{c}`" for c in results["runs_made_by"])
    return table(header, rows) + judged_runs_line(made, results, "fashion_mnist.json")


def sweep_table(name: str) -> str:
    """A sweep's trials, from the results file scripts/sweep_results.py wrote (the parent run's
    ``trials.csv``); the best final FID in bold."""
    results = load(name)
    keys = results.get("keys", ["clip_value", "n_critic", "learning_rate"])
    trials = results["trials"]
    best = min(t["fid"] for t in trials if t["fid"] is not None)

    def cell(value) -> str:
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    def fid(t: dict) -> str:
        if t["fid"] is None:
            return ""
        return f"**{t['fid']:.1f}**" if t["fid"] == best else f"{t['fid']:.1f}"

    epochs = ["epochs"] if "epochs" in trials[0] else []
    rows = [
        [t["trial"], t["status"], *(cell(t[k]) for k in keys), *(t[e] for e in epochs), fid(t),
         "" if t["best_judged_fid"] is None else f"{t['best_judged_fid']:.1f}",
         f"{t['seconds']:.0f}"]
        for t in trials
    ]  # fmt: skip
    header = ["trial", "status", *keys, *epochs, "FID (final)", "best judged FID", "seconds"]
    peak = results.get("driver_peak_rss_gb")
    memory = f", {peak} GB peak RSS for the driver" if peak else ""
    return (
        table(header, rows) + f"\n\n`{results['command']}`: {results['setup']}. "
        f"{duration({'wall_s': results['wall_s']})} wall (`/usr/bin/time -v`){memory}; the "
        "table is the parent run's `trials.csv`. " + source(results, name)
    )


def another_cpu_runs() -> list[list[str]]:
    """cpu_avx2.json's runs: command, wall time and memory, and the ratio to README's run."""
    reference = {run["id"]: run for run in load("cpu_runs.json")["runs"]}
    first_epoch = {r["command"]: 60 * r["curve"]["minutes"][0] for r in load("levers.json")["runs"]}
    rows = []
    for run in load("cpu_avx2.json")["runs"]:
        if "first_epoch_s" in run:  # a run of hours here: its first epoch against levers.json's
            measured = f"{run['first_epoch_s']:.0f} s its first epoch"
            ratio = run["first_epoch_s"] / first_epoch[run["command"]]
        elif run["id"] in reference:
            measured = f"{duration(run)}, {run['peak_rss_gb']} GB"
            ratio = run["wall_s"] / reference[run["id"]]["wall_s"]
        else:  # the env has changed since (e.g. quick-2-epochs: the earlier --env quick)
            rows.append([f"`{run['command']}` ({run.get('note', run['id'])})",
                         f"{duration(run)}, {run['peak_rss_gb']} GB", "not re-run"])  # fmt: skip
            continue
        rows.append([f"`{run['command']}`", measured, f"{ratio:.1f}×"])
    return rows


def another_cpu() -> str:
    """benchmarks/README.md: the runs and the judge on a CPU without AVX-512, against README's."""
    results = load("cpu_avx2.json")
    timing = table(["run", "on this CPU", "against README's CPU"], another_cpu_runs())
    judges = []
    for judge in results["judges"]:
        generator, floor, ceiling = judge["generator"], judge["floor"], judge["ceiling"]
        judges.append([judge["trained_with"], f"`{judge['command']}`", judge["hash"],
                       judge["test_accuracy"], f"{generator['fid']:.1f}",
                       f"{generator['precision']:.2f}", f"{generator['recall']:.2f}",
                       f"{floor['fid']:.1f}", f"{ceiling['fid']:.1f}"])  # fmt: skip
    header = ["judge trained with", "command", "hash", "test accuracy", "generator FID",
              "precision", "recall", "floor FID", "ceiling FID"]  # fmt: skip
    return (
        timing
        + "\n\n"
        + table(header, judges)
        + f"\n\nThe generator: `{results['generator']['command']}` on this CPU, "
        f"{results['generator']['judged']}, each judge's floor and ceiling beside it "
        f"(`{results['command']}`); wall time and peak memory with `/usr/bin/time -v`, the "
        "ratios against `benchmarks/results/cpu_runs.json` and, for the first epoch, "
        "`benchmarks/results/levers.json`. " + source(results, "cpu_avx2.json")
    )


def sweep_costs() -> str:
    sqlite, server = load("sweep_sqlite.json"), load("sweep_server.json")

    def spread(values: list[float]) -> str:
        low, high = round(min(values)), round(max(values))
        return f"{low} s" if low == high else f"{low} to {high} s"

    def cells(get: Callable[[dict], str]) -> list[str]:
        return [get(sqlite), get(server)]

    rows = [
        ["`ray.init()` + `ray.shutdown()` of a local cluster",
         *cells(lambda r: f"{r['ray_init_and_shutdown_s']:.1f} s")],
        ["the same `kedro run --pipelines gan` alone", *cells(lambda r: f"{r['kedro_run_alone_s']:.1f} s")],
        ["sweep, 1 trial at a time: wall", *cells(lambda r: f"{r['sweep_1_at_once']['wall_s']:.1f} s")],
        ["the overhead: wall less 3 runs alone (per trial)",
         *cells(lambda r: f"{r['sweep_overhead_s']:.1f} s ({r['overhead_per_trial_s']:.1f} s)")],
        ["sweep, 2 trials at a time: wall", *cells(lambda r: f"{r['sweep_2_at_once']['wall_s']:.1f} s")],
        ["one trial's MLflow run, start to end, at 1 / 2 at a time",
         *cells(lambda r: f"{spread(r['sweep_1_at_once']['trial_s'])} / {spread(r['sweep_2_at_once']['trial_s'])}")],
    ]  # fmt: skip
    return (
        table(["", "SQLite", "MLflow server"], rows)
        + f"\n\n`{sqlite['command']}`, once with MLflow in SQLite and once with `conf/test` "
        "tracking to an `mlflow server` (1 worker) on PostgreSQL 15 with proxied artifacts on the "
        f"same machine, {sqlite['date']} (`benchmarks/results/sweep_sqlite.json`, "
        f"`sweep_server.json`): {sqlite['machine']}."
    )


TABLES: dict[str, Callable[[], str]] = {
    f.__name__: f
    for f in (runs, first_run, gpu_epochs, clipped_on_gpu, configurations, time_to_quality, truncation, train_speed, jax_h100, judged_runs, moving_average,
              best_search, fashion_mnist, sweep_costs, another_cpu)
} | {
    "sweep_quick": lambda: sweep_table("sweep_quick.json"),
    "sweep_clipped": lambda: sweep_table("sweep_clipped.json"),
    "levers": lambda: judged_together("levers.json"),
    "best_16_epochs": lambda: judged_together("best_16_epochs.json"),
    "clipped_batchnorm": clipped_batchnorm,
}  # fmt: skip


def render(text: str) -> str:
    """The markdown with every marked table rewritten."""

    def fill(match: re.Match) -> str:
        opening, name, _, closing = match.groups()
        if name not in TABLES:
            raise SystemExit(f"unknown table {name!r}: the tables are {sorted(TABLES)}")
        return f"{opening}{TABLES[name]().rstrip()}\n{closing}"

    return BLOCK.sub(fill, text)


def written() -> dict[Path, str]:
    """Each doc as this script writes it. Every table must appear exactly once in all docs."""
    found = [
        name for doc in DOCS for name in re.findall(r"<!-- table:([\w-]+) -->", doc.read_text())
    ]
    twice = sorted({n for n in found if found.count(n) > 1})
    missing = sorted(set(TABLES) - set(found))
    if twice or missing:
        raise SystemExit(f"each table once: {twice} appear twice, {missing} nowhere")
    return {doc: render(doc.read_text()) for doc in DOCS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report differences")
    args = parser.parse_args()
    stale = []
    for doc, text in written().items():
        if text == doc.read_text():
            continue
        stale.append(doc)
        if args.check:
            name = str(doc.relative_to(ROOT))
            sys.stdout.writelines(difflib.unified_diff(
                doc.read_text().splitlines(True), text.splitlines(True), name, f"{name} (written)"
            ))  # fmt: skip
        else:
            doc.write_text(text)
            print(f"wrote {doc.relative_to(ROOT)}")
    if args.check and stale:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
