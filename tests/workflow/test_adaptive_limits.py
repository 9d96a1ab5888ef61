"""A 429 storm shared by two processes on one data root (as a run's SLURM jobs share it): the
calls in flight to the provider stay within one cap for both, fall to one at a time while the
provider refuses, and climb back once it answers again. Read from the provider's own log (each
request logs how many were in flight when it arrived)."""

from __future__ import annotations

import os
import subprocess
import sys

from .project import Project

WORKER = """
import sys
from concurrent.futures import ThreadPoolExecutor
from daydreaming.llm import GenerationSettings
from daydreaming.runtime import Runtime
from daydreaming.yamlio import read_yaml_file

config = read_yaml_file(sys.argv[1])
rt = Runtime.from_config(config)
name, calls = sys.argv[2], int(sys.argv[3])

def call(i):
    rt.llm.generate("writer", f"prompt {name} {i}", GenerationSettings(max_tokens=16), generation=f"draft/{name}{i}")

with ThreadPoolExecutor(16) as pool:
    list(pool.map(call, range(calls)))
print("done", flush=True)
"""


def test_a_429_storm_shared_by_two_processes_backs_off_together_and_recovers(tmp_path, llm_server):
    project = Project.create(tmp_path, llm_server.base_url)
    project.config["llm"]["providers"]["offline"].update(
        max_concurrent=8, max_retries=30, backoff_base_s=0.05, backoff_max_s=0.3)
    project.save_config()
    llm_server.latency_s = 0.2
    for i in range(70):  # the 9th to the 48th request meet a storm of 429s, then it is over
        llm_server.add_fault(status=429, retry_after=0.1) if 8 <= i < 48 else llm_server.add_fault()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-c", WORKER, str(project.root / "config" / "config.yaml")]
    workers = [subprocess.Popen([*cmd, name, "60"], stdout=subprocess.PIPE, text=True, env=env)
               for name in ("a", "b")]
    assert [w.communicate(timeout=300)[0] for w in workers] == ["done\n", "done\n"]

    log = [r for r in llm_server.requests if r["path"].endswith("/chat/completions")]
    refused = [i for i, r in enumerate(log) if (r["fault"] or {}).get("status") == 429]
    assert len(refused) == 40 and sum(1 for r in log if not r["fault"] or not r["fault"]["status"]) == 120
    # one cap for both processes (each alone may have 16 threads asking)
    assert llm_server.max_in_flight <= 8
    # while the provider refuses, the two processes back off together: at the end of the storm
    # requests arrive one at a time
    assert max(log[i]["in_flight"] for i in refused[-10:]) <= 2
    # once it answers again, the limit climbs back: the last requests run side by side again
    assert max(r["in_flight"] for r in log[refused[-1] + 1:]) >= 6
