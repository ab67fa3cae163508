"""Batch lines on a Ray cluster: a pool of actors, each holding one loaded model.

Imported only for ``emotrack batch --ray``; Ray is the optional extra
``pip install 'emotrack[ray]'``. ``ADDRESS`` is what ``ray.init`` takes: ``auto`` (the
cluster this machine belongs to, e.g. after ``ray start``), ``ray://HEAD:10001`` (Ray
Client), or ``local`` to start a private instance on this machine. A Ray session that is
already initialised in this process (a test, a notebook) is used as it is.

When the cluster has GPUs, each actor takes one GPU and runs the models on CUDA;
otherwise each takes one CPU. Actors read the audio and write the outputs at the paths
the driver gives them, so the inputs and OUTDIR must be on a file system every node
mounts at the same path (NFS, a cloud file store, a FUSE mount of a bucket). The
driver keeps the ledger and summary; results stream back as lines finish.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import EmotrackError, ParameterError, first_line
from .work import BatchSettings, LineJob, LineWorker


def connect(address: str):
    try:
        import ray
    except ImportError:
        raise ParameterError("--ray needs Ray, an optional extra: pip install 'emotrack[ray]'") from None
    if not ray.is_initialized():
        try:
            if address == "local":
                # Workers of a private instance import emotrack from where this process does.
                package_root = str(Path(__file__).resolve().parents[2])
                path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)
                ray.init(include_dashboard=False, log_to_driver=False,
                         runtime_env={"env_vars": {"PYTHONPATH": path}})
            else:
                ray.init(address=address, log_to_driver=False)
        except (ConnectionError, ValueError, RuntimeError) as error:
            first = first_line(error) or type(error).__name__
            raise ParameterError(f"cannot connect to the Ray cluster at {address}: {first}") from None
    return ray


def run_ray(jobs: list[LineJob], settings: BatchSettings, address: str, workers: int | None,
            on_result: Callable[[dict[str, Any]], None]) -> None:
    """Run ``jobs`` on ``workers`` actors (default: one per GPU, else one per CPU of the
    cluster), calling ``on_result`` here with each record as it comes."""
    if not jobs:
        return
    ray = connect(address)
    from ray.util import ActorPool

    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    if gpus:
        per_actor = {"num_gpus": 1, "num_cpus": 1}
        settings = replace(settings, device="cuda" if settings.device == "auto" else settings.device)
        capacity = gpus
    else:
        per_actor = {"num_cpus": 1}
        capacity = max(1, int(resources.get("CPU", 1)))
    # Never more actors than the cluster can place: an actor waiting for resources would
    # hold its queued lines forever.
    count = max(1, min(workers or capacity, capacity, len(jobs)))
    # One torch thread per actor: Ray gives each actor one CPU.
    settings = replace(settings, torch_threads=settings.torch_threads or 1)
    actor_class = ray.remote(**per_actor)(LineWorker)
    actors = [actor_class.remote(settings) for _ in range(count)]
    try:
        pool = ActorPool(actors)
        for record in pool.map_unordered(lambda actor, job: actor.run.remote(job), jobs):
            on_result(record)
    except ray.exceptions.RayError as error:
        first = first_line(error) or type(error).__name__
        raise EmotrackError(f"the Ray batch stopped ({type(error).__name__}: {first}); the finished "
                            "lines are kept, run the batch again to continue") from None
    finally:
        for actor in actors:
            ray.kill(actor)
