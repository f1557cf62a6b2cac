"""The URL configuration of a process in bench mode: SafeStep's own, then the floor's.

Settings use it in place of ``safestep.urls`` only when the benchmark app is loaded, so
SafeStep's URL configuration knows nothing of the benchmark.
"""

from django.urls import include, path

from safestep.urls import handler500
from safestep.urls import urlpatterns as safestep_urlpatterns

__all__ = ["handler500", "urlpatterns"]

urlpatterns = [
    *safestep_urlpatterns,
    # Empty unless SAFESTEP_BENCH_FLOOR is set (only `safestep bench` sets it).
    path("", include("safestep_bench.urls")),
]
