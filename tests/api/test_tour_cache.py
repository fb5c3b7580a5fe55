"""The in-process caches of the driver's tour: access answers with their invalidation, and tour bodies."""

from __future__ import annotations

import gzip
import threading
import time

import pytest

from wasteroute.api.tours import AccessCache, TourCache, etag_matches


def test_an_access_answer_is_served_until_its_time_is_up() -> None:
    cache = AccessCache(ttl_s=0.2)
    assert cache.get("k1") is None
    assert cache.put("k1", "route 7 v1", cache.generation)
    assert cache.get("k1") == "route 7 v1"
    time.sleep(0.25)
    assert cache.get("k1") is None


def test_an_answer_read_before_a_clear_is_not_stored_after_it() -> None:
    """A tour fetch reads the route version, a stop event commits and clears, then the fetch stores
    what it read: the old version must not come back."""
    cache = AccessCache(ttl_s=60)
    before = cache.generation
    # ... the fetch's database read happens here; meanwhile a stop event is recorded:
    cache.clear()
    assert not cache.put("k1", "route 7 v1", before)
    assert cache.get("k1") is None
    assert cache.put("k1", "route 7 v2", cache.generation)
    assert cache.get("k1") == "route 7 v2"


def test_clear_drops_every_answer_at_once() -> None:
    cache = AccessCache(ttl_s=60)
    for i in range(5):
        cache.put(f"k{i}", i, cache.generation)
    cache.clear()
    assert [cache.get(f"k{i}") for i in range(5)] == [None] * 5


def test_concurrent_clears_refuse_every_stale_put() -> None:
    cache = AccessCache(ttl_s=60)

    def reader(i: int) -> None:
        for _ in range(200):
            seen = cache.generation
            time.sleep(0)  # the database read
            cache.put(f"k{i}", seen, seen)

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for _ in range(200):
        cache.clear()
    for t in threads:
        t.join()
    # whatever is cached now was read in the current generation
    assert all(cache.get(f"k{i}") in (None, cache.generation) for i in range(4))


def test_a_full_access_cache_starts_over_instead_of_growing() -> None:
    cache = AccessCache(ttl_s=60, size=3)
    for i in range(4):
        cache.put(f"k{i}", i, cache.generation)
    assert cache.get("k3") == 3 and cache.get("k0") is None
    with pytest.raises(ValueError):
        AccessCache(ttl_s=-1)


def test_tour_bodies_are_kept_per_version_least_recently_used_first_out() -> None:
    cache = TourCache(size=2)
    a = cache.put(1, 1, '{"v": 1}')
    assert a.etag == '"tour-1-1"' and gzip.decompress(a.gzip) == a.json == b'{"v": 1}'
    cache.put(1, 2, '{"v": 2}')
    assert cache.get(1, 1) is a  # touched: now the most recent
    cache.put(2, 1, '{"w": 1}')
    assert cache.get(1, 2) is None and cache.get(1, 1) is a and len(cache) == 2
    assert etag_matches('W/"x", "tour-1-1"', a.etag) and etag_matches("*", a.etag)
    assert not etag_matches('"tour-1-2"', a.etag) and not etag_matches(None, a.etag)
