"""The app test_helpers_forms.py serves with a real hypercorn: uploads read with read_form.

Temporary files go to `$UPLOAD_DIR`; `GET /open-uploads` counts this process's open files in
it (from /proc/self/fd), so a test can see a spooled upload's file open, then closed.
"""

from __future__ import annotations

import hashlib
import os

from bareasgi import (
    Application,
    Content,
    HttpResponse,
    Info,
    Matches,
    Scope,
    json_response,
    read_form,
)

UPLOAD_DIR = os.environ.get("UPLOAD_DIR")
MIB = 1024 * 1024

app = Application()  # the default body limit: 10 MiB


async def describe_form(scope: Scope, content: Content) -> HttpResponse:
    form = await read_form(scope, content, upload_dir=UPLOAD_DIR)
    files = {
        name: [
            {
                "filename": upload.filename,
                "size": upload.size,
                "sha256": hashlib.sha256(upload.read()).hexdigest(),
                "in_memory": upload.in_memory,
            }
            for upload in uploads
        ]
        for name, uploads in form.files.items()
    }
    return json_response({"fields": form.fields, "files": files})


@app.on_http_request({"POST"}, "/upload", max_body_size=1024 * MIB)
async def upload(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return await describe_form(scope, content)


@app.on_http_request({"POST"}, "/small")
async def small(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    return await describe_form(scope, content)


@app.on_http_request({"GET"}, "/open-uploads")
async def open_uploads(
    scope: Scope, info: Info, matches: Matches, content: Content
) -> HttpResponse:
    count = 0
    if UPLOAD_DIR:
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if target.startswith(UPLOAD_DIR):
                count += 1
    return json_response(count)
