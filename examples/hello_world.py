"""The article's first program: hello world with decorator routing.

Run it with `python examples/hello_world.py` and browse to http://127.0.0.1:9009/hello-world.
"""

import asyncio

from hypercorn.asyncio import serve
from hypercorn.config import Config

from bareasgi import Application, Content, HttpResponse, Info, Matches, Scope, bytes_writer

app = Application()


@app.on_http_request({"GET"}, "/hello-world")
async def http_request_handler(
    scope: Scope, info: Info, matches: Matches, content: Content
) -> HttpResponse:
    return 200, [(b"content-type", b"text/plain")], bytes_writer(b"This is not a test")


if __name__ == "__main__":
    config = Config()
    config.bind = ["127.0.0.1:9009"]
    asyncio.run(serve(app, config))  # type: ignore[arg-type]
