"""The devices a run computes on are logged; a GPU the driver sees but the backend does not is
named with the install line that fixes it (on a real NVIDIA H200 with JAX_PLATFORMS=cpu too:
benchmarks/README.md)."""

from __future__ import annotations

import logging

from wgan_pipeline.training_run.devices import GPU_INSTALL, report_devices


def fake_nvidia_smi(folder, listing: str) -> str:
    """A PATH whose ``nvidia-smi -L`` prints ``listing``: the driver's view on a GPU machine."""
    script = folder / "nvidia-smi"
    script.write_text(f"#!/bin/sh\nprintf '{listing}'\n")
    script.chmod(0o755)
    return str(folder)


def test_the_devices_are_logged_and_returned(caplog, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", fake_nvidia_smi(tmp_path, ""))
    with caplog.at_level(logging.INFO, "wgan_pipeline.training_run.devices"):
        found = report_devices()
    assert found and "CPU" in found.upper()  # no GPU on the machines the suite runs on
    assert f"computes on: {found}" in caplog.text and GPU_INSTALL not in caplog.text


def test_a_gpu_the_backend_does_not_see_is_named_with_the_install_line(
    caplog, monkeypatch, tmp_path
):
    gpu = "GPU 0: NVIDIA H200 (UUID: GPU-0)"
    monkeypatch.setenv("PATH", fake_nvidia_smi(tmp_path, gpu + "\\n"))
    with caplog.at_level(logging.INFO, "wgan_pipeline.training_run.devices"):
        report_devices()
    warning = next(r for r in caplog.records if r.levelno == logging.WARNING).getMessage()
    assert gpu in warning and "trains on the CPU" in warning and GPU_INSTALL in warning
