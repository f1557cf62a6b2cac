"""The benchmark's tests use SafeStep's shared fixtures: a small district, a case, and each
test's own audit checkpoint file. Fixtures are found by name, so importing them is enough.
"""

from safestep.conftest import (  # noqa: F401
    _audit_triggers_allow_test_flush,
    _own_checkpoint_file,
    district,
    open_case,
)
