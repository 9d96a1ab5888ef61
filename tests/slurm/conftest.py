"""The single-node SLURM cluster for this session: started once, stopped at the end."""

from __future__ import annotations

import pytest

from .cluster import ClusterError, SlurmCluster


@pytest.fixture(scope="session")
def slurm_cluster():
    cluster = SlurmCluster()
    try:
        cluster.start()
    except ClusterError as err:
        # CI installs the packages (.ci/run): a missing cluster is a failure, never a skip.
        pytest.fail(f"cannot start the single-node SLURM test cluster: {err}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()
