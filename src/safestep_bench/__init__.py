"""SafeStep's benchmark and reliability drills: a development tool, not part of the product.

It lives beside the ``safestep`` package in a source checkout and is never in a built wheel.
Django loads it as an app only when ``SAFESTEP_BENCH`` is on and it can be imported (see
``safestep/settings.py``); ``safestep bench`` and ``safestep seed-bench`` switch that on
for their own process.
"""
