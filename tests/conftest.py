"""Test-session settings shared by every test file."""

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="session")
def _single_threaded_blas():
    # The suite's problems are tiny: BLAS threads only add overhead, and on
    # small shared VMs (2 vCPUs) multi-threaded kernels ran up to 40x slower
    # than single-threaded ones (a LogisticRegression fit on digits: 4.0 s
    # against 0.1 s). Results do not depend on the thread count.
    with threadpool_limits(limits=1):
        yield
