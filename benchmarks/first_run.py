"""A user's first run, measured: a fresh clone, MNIST placed, `kedro run --env quick`.

    python benchmarks/first_run.py --mnist path/to/mnist.npz

Clones this repository's HEAD into a temporary folder, places MNIST where the project caches it
(data/01_raw/mnist.npz), and runs `kedro run --env quick` there as a user would (the installed
`kedro` and project, no WGAN_VERBOSE, no TF_CPP_MIN_LOG_LEVEL) under `/usr/bin/time -v`. It
records the wall time and peak memory, the console (how many lines; any TensorFlow C++ line,
Python warning or traceback; the last lines), and judges the kept generator's digits: 10,000
samples classified by the judge the run trained (each digit's share). Writes
benchmarks/results/first_run.json (README's quick-run figures come from it) and the run's entry
in benchmarks/results/cpu_runs.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "src"))

from wgan_pipeline.native_log import NATIVE_LINE  # noqa: E402

SAMPLES = 10_000


def run_quick(clone: Path, extra: list[str]) -> tuple[subprocess.CompletedProcess, dict]:
    env = {k: v for k, v in os.environ.items() if k not in ("WGAN_VERBOSE", "TF_CPP_MIN_LOG_LEVEL")}
    env["KEDRO_DISABLE_TELEMETRY"] = "1"
    timing = clone.parent / "time.txt"
    done = subprocess.run(
        ["/usr/bin/time", "-v", "-o", str(timing), "kedro", "run", "--env", "quick", *extra],
        cwd=clone, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    text = timing.read_text()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text).group(1)
    seconds = sum(float(part) * 60**i for i, part in enumerate(reversed(wall.split(":"))))
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return done, {"wall_s": round(seconds, 1), "peak_rss_gb": round(rss_kb / 1024**2, 1)}


def kept(console: str) -> dict:
    """The kept generator's epoch and FID, from the run's closing lines."""
    found = re.search(r"Kept epoch (\d+)(?: \(moving average\))?: FID ([\d.,]+) on ([\d,]+) samples",
                      console)  # fmt: skip
    return {"epoch": int(found.group(1)), "fid": float(found.group(2).replace(",", "")),
            "samples": int(found.group(3).replace(",", ""))}  # fmt: skip


def console_facts(console: str) -> dict:
    lines = console.splitlines()
    return {
        "lines": len(lines),
        "tensorflow_cpp_lines": sum(bool(NATIVE_LINE.match(line.encode())) for line in lines),
        "python_warnings": sum("Warning: " in line for line in lines),
        "tracebacks": console.count("Traceback (most recent call last)"),
        "last_lines": lines[-4:],
    }


def digit_shares(clone: Path) -> dict:
    """The kept generator's digits: SAMPLES of them, classified by the run's own judge."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415
    import yaml  # noqa: PLC0415

    from wgan_pipeline.gan.images import scale_images  # noqa: PLC0415
    from wgan_pipeline.gan.judge import draw_digits  # noqa: PLC0415

    models = clone / "data" / "06_models" / "mnist"
    (version,) = sorted((models / "generator.keras").iterdir())  # the run saved one
    generator = keras.saving.load_model(version / "generator.keras", safe_mode=True)
    judge = keras.saving.load_model(models / "judge.keras", safe_mode=True)
    conf = {}
    for env in ("base", "quick"):
        for path in sorted((clone / "conf" / env).glob("parameters*.yml")):
            for group, values in (yaml.safe_load(path.read_text()) or {}).items():
                conf.setdefault(group, {}).update(values)
    digits = draw_digits(
        generator, SAMPLES, conf["training"]["noise"], conf["evaluation"]["seed"], 500
    )
    predicted = judge.predict(scale_images(digits), batch_size=1000, verbose=0).argmax(axis=1)
    shares = np.bincount(predicted, minlength=10) / SAMPLES
    return {"samples": SAMPLES, "shares": [round(float(s), 4) for s in shares],
            "rarest_share": round(float(shares.min()), 4)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist", type=Path, required=True, help="an mnist.npz to place")
    parser.add_argument("--params", default=None, help="extra --params for the run (a trial)")
    parser.add_argument("--out", type=Path, default=RESULTS / "first_run.json")
    parser.add_argument("--machine", default="2-core x86-64 CPU with AVX-512 (a virtual "
                        "machine), no GPU; TensorFlow 2.21 with oneDNN")  # fmt: skip
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                            capture_output=True, check=True).stdout.strip()  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="first-run-") as tmp:
        clone = Path(tmp) / "wgan-pipeline"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        shutil.copy(args.mnist, clone / "data" / "01_raw" / "mnist.npz")
        extra = ["--params", args.params] if args.params else []
        done, timing = run_quick(clone, extra)
        console = done.stdout + done.stderr
        if done.returncode != 0:
            sys.exit(f"kedro run --env quick failed ({done.returncode}):\n{console[-3000:]}")
        result = {
            "command": " ".join(["kedro run --env quick", *extra]),
            "machine": args.machine,
            "date": datetime.date.today().isoformat(),
            "recorded_in_commit": commit,
            **timing,
            "console": console_facts(console),
            "kept": kept(console),
            "digits": digit_shares(clone),
        }
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    if not extra:  # README's run table: the quick run's time and memory
        runs = json.loads((RESULTS / "cpu_runs.json").read_text())
        for run in runs["runs"]:
            if run["id"] == "quick":
                run.update(wall_s=timing["wall_s"], peak_rss_gb=timing["peak_rss_gb"],
                           date=result["date"], recorded_in_commit=commit)  # fmt: skip
        (RESULTS / "cpu_runs.json").write_text(
            json.dumps(runs, indent=2, ensure_ascii=False) + "\n"
        )
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
