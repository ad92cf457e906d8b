"""Fixtures shared by the CM tests (imported into their modules)."""
import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny CMs run several times faster on one thread when other test processes share the two cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
