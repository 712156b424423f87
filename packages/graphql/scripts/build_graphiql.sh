#!/usr/bin/env bash
# Fetch GraphiQL's standalone builds from the npm registry, pinned, and copy them with their
# licences into src/bareasgi_graphql/static/ (committed: the page works offline, no CDN).
#
# GraphiQL 3.x is the last line with a standalone (UMD) build; it needs React 18's UMD builds
# (React 19 has none). graphql-ws's browser build gives GraphiQL subscriptions over the same
# endpoint (ws://). `npm pack` checks each tarball against the registry's integrity hash.
#
# Usage: packages/graphql/scripts/build_graphiql.sh   (needs npm and network access)
set -euo pipefail

GRAPHIQL=3.8.3
REACT=18.3.1
GRAPHQL_WS=6.0.8

here="$(cd "$(dirname "$0")" && pwd)"
static="$here/../src/bareasgi_graphql/static"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" "graphql-ws@$GRAPHQL_WS" >/dev/null
for package in "graphiql-$GRAPHIQL" "react-$REACT" "react-dom-$REACT" "graphql-ws-$GRAPHQL_WS"; do
    mkdir "$package"
    tar xzf "$package.tgz" -C "$package"
done

mkdir -p "$static"
rm -f "$static"/*
cp "graphiql-$GRAPHIQL/package/graphiql.min.js" "graphiql-$GRAPHIQL/package/graphiql.min.css" "$static/"
cp "react-$REACT/package/umd/react.production.min.js" "$static/"
cp "react-dom-$REACT/package/umd/react-dom.production.min.js" "$static/"
cp "graphql-ws-$GRAPHQL_WS/package/umd/graphql-ws.min.js" "$static/"
cp "graphiql-$GRAPHIQL/package/LICENSE" "$static/LICENSE.graphiql.txt"
cp "react-$REACT/package/LICENSE" "$static/LICENSE.react.txt"
cp "react-dom-$REACT/package/LICENSE" "$static/LICENSE.react-dom.txt"
cp "graphql-ws-$GRAPHQL_WS/package/LICENSE.md" "$static/LICENSE.graphql-ws.txt"
# The source maps are left out: they only help debugging GraphiQL itself.
sed -i -e '/sourceMappingURL=/d' "$static/graphiql.min.js" "$static/graphiql.min.css"
cat >"$static/VERSIONS.txt" <<VERSIONS
Fetched from the npm registry by scripts/build_graphiql.sh:
graphiql $GRAPHIQL (graphiql.min.js, graphiql.min.css; MIT, LICENSE.graphiql.txt)
react $REACT (umd/react.production.min.js; MIT, LICENSE.react.txt)
react-dom $REACT (umd/react-dom.production.min.js; MIT, LICENSE.react-dom.txt)
graphql-ws $GRAPHQL_WS (umd/graphql-ws.min.js; MIT, LICENSE.graphql-ws.txt)
VERSIONS
du -cb "$static"/* | tail -1 | awk '{printf "static/: %.1f MiB\n", $1 / 1048576}'
