"""Whether a claim's worker process is provably gone (intake.pipeline.claimant_is_gone)."""

from __future__ import annotations

import socket
import subprocess
import time

from intake.pipeline import _process_start, claimant_is_gone, worker_identity


def _claim_of(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}:{_process_start(pid)}:1:nonce"


def test_claimant_is_gone_false_while_process_runs() -> None:
    with subprocess.Popen(["sleep", "30"]) as child:
        claim = _claim_of(child.pid)
        try:
            assert claimant_is_gone(claim, worker_identity()) is False
        finally:
            child.kill()


def test_claimant_is_gone_true_once_killed_even_before_reaped() -> None:
    child = subprocess.Popen(["sleep", "30"])
    claim = _claim_of(child.pid)
    child.kill()
    time.sleep(0.2)  # a zombie now: dead, not yet reaped

    assert claimant_is_gone(claim, worker_identity()) is True
    child.wait()
    assert claimant_is_gone(claim, worker_identity()) is True


def test_claimant_is_gone_true_for_an_earlier_claim_of_this_thread() -> None:
    assert claimant_is_gone(f"{worker_identity()}:earlier", worker_identity()) is True


def test_claimant_is_gone_false_for_another_host() -> None:
    assert claimant_is_gone("elsewhere:1:1:1:nonce", worker_identity()) is False


def test_claimant_is_gone_true_when_pid_was_reused_by_a_newer_process() -> None:
    with subprocess.Popen(["sleep", "30"]) as child:
        claim = f"{socket.gethostname()}:{child.pid}:1:1:nonce"  # started at tick 1: not it
        try:
            assert claimant_is_gone(claim, worker_identity()) is True
        finally:
            child.kill()
