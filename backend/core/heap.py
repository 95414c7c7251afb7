"""The process's heap and Python's cyclic garbage collector.

A server process makes most of its objects as it starts (modules, the app, its routes and dependencies, compiled
templates, SQL and caches) and keeps them until it ends. Python's collector nevertheless walks all of them at
every full pass, which it makes every hundred or so requests under load; each pass took tens to a hundred and
more milliseconds, during which every request in flight waited (bench/http_bench.py: the submission's p99 and
about a seventh of its CPU time). ``freeze_startup_heap`` moves what exists once the process is ready out of the
collector's sight (``gc.freeze``, made for this). Objects freed by their reference count are freed as before; only
reference cycles among the frozen objects would stay, and a process holds few of those at its start.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> bool:
    """Once per process, when it is ready to serve: collect what start-up left behind, then freeze the rest.
    False if the heap was frozen already (a process that starts several apps, such as the test suite)."""
    if gc.get_freeze_count():
        return False
    gc.collect()
    gc.freeze()
    return True
