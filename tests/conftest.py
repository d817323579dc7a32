"""Shared fixtures. Tests never write into the repository: class folders live in tmp dirs."""

import os

import pytest

# Keep TensorFlow quiet in the test process too.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def tf():
    from utils.notebook import setup

    setup(seed=0, verbose=False)
    import tensorflow

    return tensorflow
