"""The app the wire and node tests serve with hypercorn: the HTTP test schema at /graphql."""

from __future__ import annotations

from http_schema import root_value, schema

from bareasgi import Application
from bareasgi_graphql import add_graphql

app = Application()
add_graphql(app, schema, root_value=root_value)
