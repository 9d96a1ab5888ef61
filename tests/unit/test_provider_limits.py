"""Limits learned from a provider's x-ratelimit-* headers, tokens per minute, and the adaptive
number of calls in flight (halved on a 429, grown back on successes) shared across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from daydreaming.concurrency import QUIET_S, AdaptiveConcurrency
from daydreaming.llm import GenerationSettings, LLMClient, ModelRoute, ProviderConfig
from daydreaming.offline.server import serve
from daydreaming.paths import Paths
from daydreaming.provider_limits import ProviderLimits, learned_limits, parse_duration
from daydreaming.provider_state import ProviderState
from daydreaming.ratelimit import RateLimiter
from tests.unit.clock import FakeTime


@pytest.mark.parametrize("text, seconds", [("1s", 1.0), ("6m0s", 360.0), ("20ms", 0.02), ("1h2m3s", 3723.0),
                                           ("1.5", 1.5), ("0.5s", 0.5), ("soon", None), ("", None)])
def test_reset_durations_as_providers_write_them(text, seconds):
    assert parse_duration(text) == (pytest.approx(seconds) if seconds is not None else None)


def test_headers_teach_per_minute_limits_and_when_nothing_remains():
    headers = {"x-ratelimit-limit-requests": "60", "x-ratelimit-limit-tokens": "150000",
               "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "2s",
               "x-ratelimit-remaining-tokens": "1200", "x-ratelimit-reset-tokens": "6m0s"}
    assert learned_limits(headers, 100.0) == {"rpm": 60.0, "tpm": 150000.0, "blocked_until": 102.0}
    assert learned_limits({"x-ratelimit-limit-requests": "lots"}, 0.0) == {}


def test_tokens_per_minute_space_requests_by_their_size(tmp_path):
    fake = FakeTime()
    limiter = RateLimiter(tmp_path / "p.tokens", 60_000, clock=fake.clock, sleep=fake.sleep)
    waits = [limiter.acquire(cost) for cost in (3000, 1000, 500)]
    assert waits == pytest.approx([0.0, 3.0, 4.0])  # 3,000 tokens take 3 s of a 60,000/min budget
    assert limiter.acquire(100, per_minute=6000) == pytest.approx(4.5)  # a lower learned limit wins


def test_a_429_halves_the_limit_once_per_interval_and_successes_grow_it_back(tmp_path):
    fake = FakeTime(advance_on_sleep=True)
    state = ProviderState(tmp_path / "p.json", clock=lambda: fake.now + 1e6)  # no cached reads
    flow = AdaptiveConcurrency(tmp_path / "slots", state, 16, clock=fake.clock, sleep=fake.sleep)
    assert flow.limit() == 16
    for _ in range(5):  # the 429s of calls already in flight (within a round trip) are one signal
        flow.throttled(None, round_trip_s=1.0)
    assert flow.limit() == 8
    fake.now += 1.0
    flow.throttled(None, round_trip_s=1.0)
    assert flow.limit() == 4
    fake.now += 1.0
    flow.throttled(retry_after=30.0, round_trip_s=1.0)  # asked to wait 30 s: the next cut waits as long
    fake.now += 1.0
    flow.throttled(None, round_trip_s=1.0)
    assert flow.limit() == 2
    for _ in range(4):  # additive: one more per round of calls
        flow.succeeded()
    assert flow.limit() == 3
    fake.now += QUIET_S  # no 429 for a while: it climbs back fast
    for _ in range(13):
        flow.succeeded()
    assert flow.limit() == 16
    assert json.loads((tmp_path / "p.json").read_text())["limit"] == 16


HOLDER = """
import sys, time
from daydreaming.concurrency import AdaptiveConcurrency
from daydreaming.provider_state import ProviderState
flow = AdaptiveConcurrency(sys.argv[1], ProviderState(sys.argv[2]), 8)
import threading
printing = threading.Lock()
def hold():
    with flow.slot():
        with printing:  # one whole line per holder (print writes the text and its newline apart)
            sys.stdout.write("held\\n")
            sys.stdout.flush()
        time.sleep(float(sys.argv[3]))
threads = [threading.Thread(target=hold) for _ in range(int(sys.argv[4]))]
for t in threads: t.start()
for t in threads: t.join()
"""


def test_the_limit_holds_across_processes_and_a_killed_holder_frees_its_slots(tmp_path):
    state = ProviderState(tmp_path / "p.json")
    state.update(lambda s: {**s, "limit": 3})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-c", HOLDER, str(tmp_path / "slots"), str(tmp_path / "p.json")]
    first = subprocess.Popen([*cmd, "30", "2"], stdout=subprocess.PIPE, text=True, env=env)
    assert [first.stdout.readline() for _ in range(2)] == ["held\n", "held\n"]
    second = subprocess.Popen([*cmd, "0", "3"], stdout=subprocess.PIPE, text=True, env=env)
    assert second.stdout.readline() == "held\n"  # the third slot
    first.kill()  # a SIGKILL: the kernel frees its two slots
    first.wait()
    assert second.communicate(timeout=30)[0] == "held\nheld\n"


def _client(base_url: str, limits: ProviderLimits) -> LLMClient:
    providers = {"p": ProviderConfig(base_url=base_url, max_retries=2, backoff_base_s=0.0)}
    routes = {"m": ModelRoute(model_id="m", model="offline/demo", provider="p")}
    return LLMClient(providers=providers, routes=routes, limits={"p": limits})


def test_the_client_learns_limits_from_the_provider_and_waits_for_the_reset(tmp_path):
    paths, fake = Paths(tmp_path), FakeTime(advance_on_sleep=True)
    fake.now = __import__("time").time()
    state = ProviderState(paths.ratelimit_state_file("p"))
    made: list[float] = []

    def rpm_limiter(per_minute: float) -> RateLimiter:
        made.append(per_minute)
        return RateLimiter(paths.ratelimit_file("p"), per_minute, clock=fake.clock, sleep=fake.sleep)

    limits = ProviderLimits(state, rpm_limiter=rpm_limiter, clock=fake.clock, sleep=fake.sleep)
    with serve() as srv:
        client = _client(srv.base_url, limits)
        srv.add_fault(headers={"x-ratelimit-limit-requests": "30", "x-ratelimit-remaining-requests": "0",
                               "x-ratelimit-reset-requests": "5s"})
        client.generate("m", "hello", GenerationSettings(max_tokens=8))
        learned = json.loads(paths.ratelimit_state_file("p").read_text())
        assert learned["rpm"] == 30 and learned["blocked_until"] == pytest.approx(fake.now + 5.0, abs=1.0)
        state._read_at = float("-inf")  # read the file again now
        client.generate("m", "hello again", GenerationSettings(max_tokens=8))
        assert fake.slept and fake.slept[0] == pytest.approx(5.0, abs=1.0)  # none remaining: waited the reset
        assert made == [30.0]  # and from then on, 30 requests per minute
        client.generate("m", "and again", GenerationSettings(max_tokens=8))
        assert fake.slept[-1] == pytest.approx(2.0)
        client.close()


def test_a_429_through_the_client_cuts_the_shared_limit(tmp_path):
    state = ProviderState(tmp_path / "p.json")
    limits = ProviderLimits(state, concurrency=AdaptiveConcurrency(tmp_path / "slots", state, 8))
    with serve() as srv:
        client = _client(srv.base_url, limits)
        srv.add_fault(status=429, retry_after=0)
        client.generate("m", "hello", GenerationSettings(max_tokens=8))  # a retry answers it
        assert json.loads((tmp_path / "p.json").read_text())["limit"] == pytest.approx(4.0 + 1 / 4.0)
        client.close()
