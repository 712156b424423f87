"""The application `test_cors_wire.py` serves with a real hypercorn (`cors_wire_app:app`)."""

from __future__ import annotations

from bareasgi import Application, Content, HttpResponse, Info, Matches, Scope, WebSocket

app = Application(
    plugins={
        "cors": {
            "allow_origins": ["https://good.example.com"],
            "allow_methods": ["PUT"],
            "allow_headers": ["x-custom"],
            "allow_credentials": True,
            "expose_headers": ["x-visible"],
            "guard_websockets": True,
        }
    }
)


@app.on_http_request({"GET", "PUT"}, "/things")
async def things(scope: Scope, info: Info, matches: Matches, content: Content) -> HttpResponse:
    headers = [
        (b"content-type", b"text/plain"),
        (b"vary", b"accept-encoding"),
        (b"x-visible", b"1"),
        (b"x-hidden", b"2"),
    ]
    return 200, headers, f"{scope['method']} things".encode()


@app.on_ws_request("/ws")
async def echo(scope: Scope, info: Info, matches: Matches, web_socket: WebSocket) -> None:
    await web_socket.accept()
    await web_socket.close()
