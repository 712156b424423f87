"""The article's REST program: GET and POST JSON at /info, sharing `info`.

    curl -H 'accept: application/json' http://127.0.0.1:9009/info
    curl -X POST -H 'content-type: application/json' -d '{"name": "Peter Sellers"}' \
        http://127.0.0.1:9009/info

The handlers answer 500 when the request is not JSON, as in the article.

Beside the article's program, a form page with an upload at /upload, written with core's
request helpers (`read_form`, `redirect`): the file is read as it streams, spooled to a
temporary file past 1 MiB, and that file is removed when the response is over.
"""

import asyncio
import hashlib
import html
import json

import bareutils.header as header
from hypercorn.asyncio import serve
from hypercorn.config import Config

from bareasgi import (
    Application,
    Content,
    HttpResponse,
    Info,
    Matches,
    Scope,
    read_form,
    redirect,
    text_reader,
    text_writer,
)


async def get_info(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    accept = header.find(b"accept", scope["headers"])
    if accept != b"application/json":
        return 500
    text = json.dumps(info)
    headers = [(b"content-type", b"application/json")]
    return 200, headers, text_writer(text)


async def set_info(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    content_type = header.find(b"content-type", scope["headers"])
    if content_type != b"application/json":
        return 500
    text = await text_reader(content)
    data = json.loads(text)
    info.update(data)
    return 204


app = Application(info={"name": "Michael Caine"})
app.http_router.add({"GET"}, "/info", get_info)
app.http_router.add({"POST"}, "/info", set_info)

# ---- beyond the article: a form with an upload, written with core's request helpers ----------

UPLOADS: list[tuple[str, str, int, str]] = []
"""What was uploaded: (title, filename, size, sha-256), newest first, at most 20."""

UPLOAD_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Upload</title></head>
<body><h1>Upload a file</h1>
<form method="post" enctype="multipart/form-data">
<p><label>Title <input name="title" required></label></p>
<p><input type="file" name="file" required></p>
<p><button>Upload</button></p>
</form><h2>Uploaded</h2><ul>{items}</ul></body></html>"""


async def upload_page(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    items = "".join(
        f"<li>{html.escape(title)}: {html.escape(filename)}, {size} bytes,"
        f" sha-256 {digest[:16]}…</li>"
        for title, filename, size, digest in UPLOADS
    )
    page = UPLOAD_PAGE.format(items=items or "<li>nothing yet</li>")
    return 200, [(b"content-type", b"text/html; charset=utf-8")], text_writer(page)


async def upload(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    form = await read_form(scope, content)  # 400/413/415 with the reason when it must
    title = form.value("title")
    file = form.file("file")
    digest = hashlib.sha256()
    while chunk := file.file.read(65536):
        digest.update(chunk)
    UPLOADS.insert(0, (title, file.filename or "(no name)", file.size, digest.hexdigest()))
    del UPLOADS[20:]
    return redirect(scope.get("root_path", "") + app.url_for("upload"))  # 303: GET the page


app.http_router.add({"GET"}, "/upload", upload_page, name="upload")
app.http_router.add({"POST"}, "/upload", upload, max_body_size=32 * 1024 * 1024)

if __name__ == "__main__":
    config = Config()
    config.bind = ["127.0.0.1:9009"]
    asyncio.run(serve(app, config))  # type: ignore[arg-type]
