"""Jinja2 templates for bareASGI: async rendering, autoescape on for HTML, streamed large pages.

```python
app = Application(plugins={"jinja2": {"directory": "templates"}})  # or add_jinja2(app, "templates")

@app.on_http_request({"GET"}, "/page/{name}")
async def page(scope, info, matches, content):
    return await render_template(scope, "page.html", {"name": matches["name"]})
```
"""

from __future__ import annotations

from ._environment import (
    DEFAULT_AUTOESCAPE_EXTENSIONS,
    TEMPLATE_SUFFIXES,
    CoalescingCodeGenerator,
    TemplateEnvironment,
    content_type_for,
    create_environment,
)
from ._render import (
    DEFAULT_BUFFER_SIZE,
    DEFAULT_CHUNK_SIZE,
    PLUGIN_NAME,
    Renderer,
    TemplateHandler,
    TemplateStream,
    jinja2_state,
    render_template,
    template,
    template_location,
)
from .plugin import Jinja2Options, add_jinja2

__all__ = [
    "DEFAULT_AUTOESCAPE_EXTENSIONS",
    "DEFAULT_BUFFER_SIZE",
    "DEFAULT_CHUNK_SIZE",
    "PLUGIN_NAME",
    "TEMPLATE_SUFFIXES",
    "CoalescingCodeGenerator",
    "Jinja2Options",
    "Renderer",
    "TemplateEnvironment",
    "TemplateHandler",
    "TemplateStream",
    "add_jinja2",
    "content_type_for",
    "create_environment",
    "jinja2_state",
    "render_template",
    "template",
    "template_location",
]
