"""The diffusers engine's child process, driven by fake pipelines: progress per step, warm
pipelines, cancel, crashes and out-of-memory errors (the task fails, the child restarts)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from openreel.engines.base import EngineError, RenderJob, TaskKind, VideoSpec
from openreel.engines.diffusers.engine import DiffusersEngine
from openreel.engines.diffusers.spec import EngineConfigError, ModelSpec
from openreel.render import RenderCancelled

FAKE = "tests.fakes.diffusers_adapters:StepAdapter"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[DiffusersEngine]:
    (tmp_path / "weights").mkdir()
    spec = ModelSpec(adapter=FAKE, weights=str(tmp_path / "weights"), steps=4)
    engine = DiffusersEngine({"fake": spec}, cancel_grace=2.0)
    yield engine
    engine.close()


def job(tmp_path: Path, prompt: str = "", name: str = "out") -> RenderJob:
    return RenderJob(
        "t1",
        TaskKind.IMAGE2VIDEO,
        "fake",
        {"prompt": prompt},
        {},
        tmp_path / name,
        7,
        video=VideoSpec(720, 24, 5),
    )


def made_by(output_dir: Path) -> tuple[int, int]:
    (marker,) = output_dir.glob("made-by-*")
    pid, loads = marker.name.removeprefix("made-by-").split("-")
    return int(pid), int(loads)


def test_progress_per_step_and_a_warm_pipeline(engine: DiffusersEngine, tmp_path: Path) -> None:
    seen: list[float] = []
    output = engine.run(job(tmp_path), seen.append)
    assert output.files[0].path.read_bytes()[4:8] == b"ftyp"
    steps = [f for f in dict.fromkeys(seen) if f > 0]
    assert steps == [0.25, 0.5, 0.75, 1.0]
    assert made_by(tmp_path / "out") == (engine.child_pid, 1)

    engine.run(job(tmp_path, name="again"), lambda _: None)
    assert made_by(tmp_path / "again") == (engine.child_pid, 1)  # same process, loaded once


def test_a_crash_fails_the_task_and_the_next_one_gets_a_new_process(
    engine: DiffusersEngine, tmp_path: Path
) -> None:
    engine.run(job(tmp_path, name="first"), lambda _: None)
    first_pid = engine.child_pid
    with pytest.raises(EngineError, match=r"died while generating \(exit code 137"):
        engine.run(job(tmp_path, "crash"), lambda _: None)
    engine.run(job(tmp_path, name="after"), lambda _: None)
    assert made_by(tmp_path / "after")[0] == engine.child_pid != first_pid


def test_out_of_memory_fails_with_advice_and_restarts(
    engine: DiffusersEngine, tmp_path: Path
) -> None:
    engine.run(job(tmp_path, name="first"), lambda _: None)
    first_pid = engine.child_pid
    with pytest.raises(EngineError, match="out of GPU memory.*cpu_offload"):
        engine.run(job(tmp_path, "oom"), lambda _: None)
    engine.run(job(tmp_path, name="after"), lambda _: None)
    assert engine.child_pid != first_pid


def test_pipeline_errors_fail_the_task_and_keep_the_process(
    engine: DiffusersEngine, tmp_path: Path
) -> None:
    engine.run(job(tmp_path, name="first"), lambda _: None)
    pid = engine.child_pid
    with pytest.raises(EngineError, match="generation failed: ValueError: bad tensor shape"):
        engine.run(job(tmp_path, "boom"), lambda _: None)
    with pytest.raises(EngineError, match="^this model needs an image_tail$"):
        engine.run(job(tmp_path, "refuse"), lambda _: None)
    engine.run(job(tmp_path, name="after"), lambda _: None)
    assert engine.child_pid == pid


def test_cancel_stops_at_the_next_step(engine: DiffusersEngine, tmp_path: Path) -> None:
    engine.run(job(tmp_path, name="warm"), lambda _: None)
    pid = engine.child_pid

    def progress(fraction: float) -> None:
        if fraction >= 0.5:
            raise RenderCancelled()

    started = time.monotonic()
    with pytest.raises(RenderCancelled):
        engine.run(job(tmp_path, "slow", name="cancelled"), progress)
    assert time.monotonic() - started < 1.5  # 4 slow steps would take 1.2 s more
    assert not (tmp_path / "cancelled" / "video.mp4").exists()
    engine.run(job(tmp_path, name="after"), lambda _: None)
    assert engine.child_pid == pid  # stopped between steps: the process lives on


def test_configuration_errors_name_the_problem(tmp_path: Path) -> None:
    missing = ModelSpec(adapter=FAKE, weights=str(tmp_path / "nope"))
    with pytest.raises(EngineConfigError, match=f"weights directory {tmp_path / 'nope'} does"):
        DiffusersEngine({"m": missing})
    (tmp_path / "w").mkdir()
    with pytest.raises(EngineConfigError, match="unknown diffusers adapter 'wan_magic'"):
        DiffusersEngine({"m": ModelSpec(adapter="wan_magic", weights=str(tmp_path / "w"))})
    with pytest.raises(EngineConfigError, match="cannot be imported"):
        DiffusersEngine({"m": ModelSpec(adapter="no.such:Thing", weights=str(tmp_path / "w"))})
    with pytest.raises(EngineConfigError, match="set weights or hf_repo"):
        DiffusersEngine({"m": ModelSpec(adapter=FAKE)})
