"""Settings for the test suite: the real settings, in a throw-away data directory."""

import os
import tempfile

os.environ.setdefault("SAFESTEP_DATA_DIR", tempfile.mkdtemp(prefix="safestep-test-"))
# The benchmark's own tests run with the suite: bench mode loads its app when it is there.
os.environ.setdefault("SAFESTEP_BENCH", "true")

from safestep.settings import *  # noqa: F403
from safestep.settings import CONFIG, DATABASES

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A real file, not SQLite's shared in-memory database: WAL, locking and the busy
    # timeout then behave as they do in production, which the concurrency tests rely on.
    DATABASES["default"]["TEST"] = {"NAME": str(CONFIG.data_dir / "test.sqlite3")}

# Hashing is deliberately slow in production; tests create many users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
