"""The environment: content types by name, autoescape rules, and the coalescing compiler."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2_support import TEMPLATES

from bareasgi_jinja2 import (
    TemplateEnvironment,
    content_type_for,
    create_environment,
    template_location,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("page.html", "text/html; charset=utf-8"),
        ("PAGE.HTM", "text/html; charset=utf-8"),
        ("admin/page.html", "text/html; charset=utf-8"),
        ("notes.txt", "text/plain; charset=utf-8"),
        ("feed.xml", "text/xml; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("data.json", "application/json; charset=utf-8"),
        ("icon.svg", "image/svg+xml; charset=utf-8"),
        ("table.csv", "text/csv; charset=utf-8"),
        ("page.html.j2", "text/html; charset=utf-8"),
        ("notes.txt.jinja2", "text/plain; charset=utf-8"),
        ("data.json.jinja", "application/json; charset=utf-8"),
        ("card.jinja", "text/html; charset=utf-8"),
        ("card.j2", "text/html; charset=utf-8"),
        ("Makefile", "text/plain; charset=utf-8"),
        ("raw.tmpl", "text/plain; charset=utf-8"),
        ("archive.gz", "text/plain; charset=utf-8"),
        ("folder.d/readme", "text/plain; charset=utf-8"),
        ("picture.png", "image/png"),
    ],
)
def test_content_type_follows_the_extension(name: str, expected: str) -> None:
    assert content_type_for(name) == expected


def test_content_type_overrides() -> None:
    overrides = {"txt": "text/markdown; charset=utf-8", "jinja": "application/xhtml+xml"}
    assert content_type_for("notes.txt", overrides) == "text/markdown; charset=utf-8"
    assert content_type_for("notes.txt.j2", overrides) == "text/markdown; charset=utf-8"
    assert content_type_for("card.jinja", overrides) == "application/xhtml+xml"
    assert content_type_for("page.html", overrides) == "text/html; charset=utf-8"


def test_autoescape_follows_the_extension() -> None:
    env = create_environment(TEMPLATES)
    value = "<b>&amp;</b>"
    escaped = "&lt;b&gt;&amp;amp;&lt;/b&gt;"
    assert callable(env.autoescape)
    for name in ("page.html", "feed.xml", "card.jinja", "x.htm", "X.HTML"):
        assert env.autoescape(name), name
    for name in ("notes.txt", "card.html.j2", "raw.tmpl", "page.html.txt"):
        assert not env.autoescape(name), name
    assert escaped in env.get_template("card.jinja").render(name=value)
    assert escaped in env.get_template("feed.xml").render(name=value)
    assert value in env.get_template("notes.txt").render(name=value)
    assert value in env.get_template("raw.tmpl").render(name=value)
    # `.html.j2` does not end in an autoescaped extension unless the user lists it.
    assert value in env.get_template("card.html.j2").render(name=value)
    listed = create_environment(TEMPLATES, autoescape_extensions=("html", "html.j2"))
    assert escaped in listed.get_template("card.html.j2").render(name=value)
    # Templates made from strings are escaped.
    assert env.from_string("{{ v }}").render(v=value) == escaped


def test_create_environment_options() -> None:
    env = create_environment(
        [TEMPLATES, TEMPLATES / "admin"],
        enable_async=False,
        auto_reload=False,
        extensions=["jinja2.ext.loopcontrols"],
        trim_blocks=True,
    )
    assert isinstance(env, TemplateEnvironment)
    assert not env.is_async
    assert not env.auto_reload
    assert env.trim_blocks
    assert env.get_template("deep.html").filename == str(TEMPLATES / "admin" / "deep.html")
    text = env.from_string(
        "{% for i in x %}{% if i > 1 %}{% break %}{% endif %}{{ i }}{% endfor %}"
    )
    assert text.render(x=[0, 1, 2, 3]) == "01"


@pytest.mark.parametrize("directory", ["does-not-exist", [], [str(TEMPLATES / "page.html")]])
def test_create_environment_refuses_missing_directories(directory: Any) -> None:
    with pytest.raises(ValueError, match="directory"):
        create_environment(directory)


# ---- the coalescing compiler --------------------------------------------------------------------


def _plain(enable_async: bool, loader: jinja2.BaseLoader) -> jinja2.Environment:
    return jinja2.Environment(
        loader=loader, enable_async=enable_async, autoescape=jinja2.select_autoescape()
    )


def _ours(enable_async: bool, loader: jinja2.BaseLoader) -> jinja2.Environment:
    return TemplateEnvironment(
        loader=loader, enable_async=enable_async, autoescape=jinja2.select_autoescape()
    )


def _render(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    template = env.get_template(name)
    if env.is_async:
        return asyncio.run(template.render_async(context))
    return template.render(context)


CONTEXTS = [
    ("features.html", {"name": "<Ann & Bob>", "items": ["a", "<b>"]}),
    ("features.html", {"name": "", "items": []}),
    ("greeting_child.html", {"name": "<i>x</i>"}),
    ("dynamic_child.html", {"name": "n<1>", "layout": "base.html"}),
    ("dynamic_child.html", {"name": "n<1>", "layout": None}),
    ("page.html", {"name": "\"quoted\" 'single'", "url_for": lambda *a, **k: "/u?a=1&b=2"}),
    ("rows.html", {"rows": range(50), "label": "<x>"}),
    ("async_page.html", {"fetch": str.upper, "name": "n", "items": [1, 2], "numbers": [3, 4]}),
]


@pytest.mark.parametrize("enable_async", [True, False])
@pytest.mark.parametrize(("name", "context"), CONTEXTS)
def test_coalesced_output_is_jinjas(enable_async: bool, name: str, context: dict[str, Any]) -> None:
    loader = jinja2.FileSystemLoader(TEMPLATES)
    expected = _render(_plain(enable_async, loader), name, context)
    assert _render(_ours(enable_async, loader), name, context) == expected


def test_coalesced_templates_yield_fewer_pieces() -> None:
    loader = jinja2.FileSystemLoader(TEMPLATES)
    context = {"rows": range(20), "label": "x"}
    plain = list(_plain(False, loader).get_template("rows.html").generate(context))
    ours = list(_ours(False, loader).get_template("rows.html").generate(context))
    assert "".join(ours) == "".join(plain)
    assert len(ours) * 3 < len(plain)


@pytest.mark.parametrize("enable_async", [True, False])
@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("runtime_error.html", ("runtime_error.html", 4)),
        ("child.html", ("child.html", 5)),
        ("admin/deep.html", ("admin/deep.html", 2)),
    ],
)
def test_coalesced_templates_keep_line_numbers(
    enable_async: bool, name: str, where: tuple[str, int]
) -> None:
    def explode() -> str:
        raise LookupError("boom")

    context = {"name": "n", "explode": explode}
    for env in (
        _plain(enable_async, jinja2.FileSystemLoader(TEMPLATES)),
        _ours(enable_async, jinja2.FileSystemLoader(TEMPLATES)),
    ):
        template = env.get_template(name)
        events = template.root_render_func(template.new_context(context))
        with pytest.raises(LookupError) as caught:
            _drain(events, enable_async)
        assert template_location(caught.value) == where


def _drain(events: Any, enable_async: bool) -> None:
    if enable_async:

        async def run() -> None:
            async for _ in events:
                pass

        asyncio.run(run())
    else:
        for _ in events:
            pass


# Random templates: text, values, conditions, loops, assignments and macros, nested.
_TEXT = st.sampled_from(["", "a", "<p>", " & ", "\n", "'q'", '"dq"', "x y"])
_VALUE = st.sampled_from(["{{ v }}", "{{ n + 1 }}", "{{ v | upper }}", "{{ w }}", "{{ loop_v }}"])


def _blocks(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    many = st.lists(children, max_size=4).map("".join)
    return st.one_of(
        many.map(lambda body: "{% if n > 1 %}" + body + "{% else %}e{% endif %}"),
        many.map(lambda body: "{% for loop_v in xs %}" + body + "{% else %}none{% endfor %}"),
        many.map(lambda body: "{% set w %}" + body + "{% endset %}[{{ w }}]"),
        many.map(lambda body: "{% macro m() %}" + body + "{% endmacro %}{{ m() }}{{ m() }}"),
        many.map(lambda body: "{% filter upper %}" + body + "{% endfilter %}"),
        many.map(lambda body: "{% autoescape false %}" + body + "{% endautoescape %}"),
        many,
    )


_TEMPLATE = st.recursive(st.one_of(_TEXT, _VALUE), _blocks, max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(
    source=_TEMPLATE,
    v=st.sampled_from(["<b>", "plain", "&amp;", ""]),
    n=st.integers(0, 3),
    xs=st.lists(st.sampled_from(["<x>", "y"]), max_size=3),
    enable_async=st.booleans(),
)
def test_random_templates_render_as_jinja_does(
    source: str, v: str, n: int, xs: list[str], enable_async: bool
) -> None:
    loader = jinja2.DictLoader({"t.html": source})
    context = {"v": v, "n": n, "xs": xs, "w": "<w>", "loop_v": "<outer>"}
    expected = _render(_plain(enable_async, loader), "t.html", context)
    assert _render(_ours(enable_async, loader), "t.html", context) == expected


def test_template_location_without_template_frames() -> None:
    assert template_location(ValueError("x")) == (None, None)
    assert template_location(jinja2.TemplateNotFound("gone.html")) == ("gone.html", None)


def test_template_location_of_a_syntax_error(tmp_path: Path) -> None:
    (tmp_path / "bad.html").write_text("line one\n{% for %}\n", encoding="utf-8")
    env = create_environment(tmp_path)
    with pytest.raises(jinja2.TemplateSyntaxError) as caught:
        env.get_template("bad.html")
    assert template_location(caught.value) == ("bad.html", 2)
