"""The article's hello world again, routed with `app.http_router.add` (the author's preference).

Run it with `python examples/hello_world_router.py` and browse to
http://127.0.0.1:9009/hello-world.
"""

import asyncio

from hypercorn.asyncio import serve
from hypercorn.config import Config

from bareasgi import Application, Content, HttpResponse, Info, Matches, Scope, bytes_writer


async def http_request_handler(
    scope: Scope, info: Info, matches: Matches, content: Content
) -> HttpResponse:
    return 200, [(b"content-type", b"text/plain")], bytes_writer(b"This is not a test")


app = Application()
app.http_router.add({"GET"}, "/hello-world", http_request_handler)

if __name__ == "__main__":
    config = Config()
    config.bind = ["127.0.0.1:9009"]
    asyncio.run(serve(app, config))  # type: ignore[arg-type]
