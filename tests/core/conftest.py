import pytest


@pytest.fixture(scope="session")
def anny_body():
    """The Anny body model (its cache is built by `make` before the tests run)."""
    from core.body.anny_body import AnnyBody, anny_cache_is_warm

    if not anny_cache_is_warm():
        pytest.skip("Anny's cache is cold; run `make test` (it builds the cache first).")
    return AnnyBody()
