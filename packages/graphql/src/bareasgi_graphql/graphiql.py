"""GraphiQL, offline: the page and its assets, shipped inside the package.

The assets (GraphiQL 3 with React 18's UMD builds, and graphql-ws's browser build for
subscriptions) are in `static/`, put there by `scripts/build_graphiql.sh` from pinned npm
packages with their licences. They are read once, when the plugin is set up, and served under
the endpoint as `<path>/_assets/<name>?v=<hash>`: versioned URLs, cached for a year.
"""

from __future__ import annotations

import hashlib
import html
from importlib import resources
from typing import Final, final

from bareasgi import Content, HttpResponse, Info, Matches, Scope

ASSETS_DIR: Final = "_assets"
"""The assets' folder under the endpoint's path."""

SCRIPTS: Final = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphql-ws.min.js",
    "graphiql.min.js",
)
STYLES: Final = ("graphiql.min.css",)

_TYPES: Final = {
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".txt": b"text/plain; charset=utf-8",
}
_IMMUTABLE: Final = (b"cache-control", b"public, max-age=31536000, immutable")
_PAGE_HEADERS: Final = (
    (b"content-type", b"text/html; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"vary", b"accept"),
    (b"x-content-type-options", b"nosniff"),
)

_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
<style>html, body, #graphiql {{ height: 100%; margin: 0; }}</style>
{styles}
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
{scripts}
<script>
(function () {{
  var url = new URL(window.location.pathname, window.location.href).href;
  var wsClient = graphqlWs.createClient({{url: url.replace(/^http/, 'ws'), lazy: true}});
  var fetcher = GraphiQL.createFetcher({{url: url, wsClient: wsClient}});
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, {{fetcher: fetcher}}));
}})();
</script>
</body>
</html>
"""


@final
class GraphiQLAssets:
    """The GraphiQL page and its assets, in memory, for the endpoint at `path`."""

    def __init__(self, path: str, title: str = "GraphiQL") -> None:
        static = resources.files(__package__).joinpath("static")
        self._assets: dict[str, tuple[bytes, bytes, bytes]] = {}
        versions: dict[str, str] = {}
        for name in (*SCRIPTS, *STYLES):
            data = static.joinpath(name).read_bytes()
            digest = hashlib.sha256(data).hexdigest()[:16]
            media = _TYPES[name[name.rindex(".") :]]
            self._assets[name] = (data, media, f'"{digest}"'.encode())
            versions[name] = digest
        base = html.escape(path.rsplit("/", 1)[-1])  # relative: works under a root_path
        styles = "\n".join(
            f'<link rel="stylesheet" href="{base}/{ASSETS_DIR}/{name}?v={versions[name]}">'
            for name in STYLES
        )
        scripts = "\n".join(
            f'<script src="{base}/{ASSETS_DIR}/{name}?v={versions[name]}"></script>'
            for name in SCRIPTS
        )
        self.page = _PAGE.format(title=html.escape(title), styles=styles, scripts=scripts).encode()

    def page_response(self, scope: Scope) -> HttpResponse:
        """The GraphiQL page."""
        return 200, list(_PAGE_HEADERS), self.page

    async def asset(
        self, scope: Scope, info: Info, matches: Matches, content: Content
    ) -> HttpResponse:
        """One asset by name (the route's `name` parameter), with ETag and 304."""
        found = self._assets.get(str(matches.get("name", "")))
        if found is None:
            return 404, [(b"content-type", b"text/plain; charset=utf-8")], b"Not Found"
        data, media, etag = found
        for name, value in scope["headers"]:
            if name == b"if-none-match" and etag in value:
                return 304, [(b"etag", etag), _IMMUTABLE], None
        return 200, [(b"content-type", media), (b"etag", etag), _IMMUTABLE], data


__all__ = ["ASSETS_DIR", "GraphiQLAssets"]
