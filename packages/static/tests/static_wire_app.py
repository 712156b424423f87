"""The application the static wire tests serve with a real hypercorn (`static_wire_app:app`).

The folder named by `BAREASGI_STATIC_ROOT` is served three times: through the plugin at
`/static` and (its `mounts` option) at `/`, and through `add_static_files` at `/files`.
"""

from __future__ import annotations

import os

from bareasgi import Application
from bareasgi_static import add_static_files

ROOT = os.environ["BAREASGI_STATIC_ROOT"]

app = Application(
    plugins={
        "static": {
            "directory": ROOT,
            "mount": "/static",
            "cache_control": "no-cache",
            "mounts": [{"directory": ROOT, "mount": "/"}],
        }
    }
)
add_static_files(app, ROOT, "/files", chunk_size=64 * 1024)
