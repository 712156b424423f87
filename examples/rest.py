"""The article's REST program: GET and POST JSON at /info, sharing `info`.

    curl -H 'accept: application/json' http://127.0.0.1:9009/info
    curl -X POST -H 'content-type: application/json' -d '{"name": "Peter Sellers"}' \
        http://127.0.0.1:9009/info

The handlers answer 500 when the request is not JSON, as in the article.
"""

import asyncio
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

if __name__ == "__main__":
    config = Config()
    config.bind = ["127.0.0.1:9009"]
    asyncio.run(serve(app, config))  # type: ignore[arg-type]
