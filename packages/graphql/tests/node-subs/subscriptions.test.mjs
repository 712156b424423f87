// The graphql-ws and graphql-sse clients against bareasgi-graphql served by hypercorn.
// Run by test_subs_node.py: `node --test` with GQL_URL set to the endpoint's http URL.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';

const URL_HTTP = process.env.GQL_URL;
assert.ok(URL_HTTP, 'GQL_URL is not set');
const URL_WS = URL_HTTP.replace(/^http/, 'ws');
const COUNTDOWN = 'subscription ($from: Int!) { countdown(from: $from, delay: 0.01) }';

// Every result of one operation, in order, until it completes (or the error it ends with).
function collect(client, payload) {
  return new Promise((resolve, reject) => {
    const results = [];
    client.subscribe(payload, {
      next: (result) => results.push(result),
      error: reject,
      complete: () => resolve(results),
    });
  });
}

async function openSources() {
  const response = await fetch(URL_HTTP, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ openSources }' }),
  });
  return (await response.json()).data.openSources;
}

async function waitFor(predicate, what) {
  const deadline = Date.now() + 10_000;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const countdown = (from) => Array.from({ length: from + 1 }, (_, i) => ({ data: { countdown: from - i } }));

// Subscribe, take the first result, unsubscribe: resolves once the server closed the source.
async function unsubscribeEarly(client) {
  await new Promise((resolve, reject) => {
    const stop = client.subscribe(
      { query: 'subscription { forever }' },
      { next: () => {}, error: reject, complete: () => {} },
    );
    waitFor(async () => (await openSources()) === 1, 'the source to open')
      .then(() => {
        stop();
        resolve();
      })
      .catch(reject);
  });
  await waitFor(async () => (await openSources()) === 0, 'the source to close');
}

const transports = {
  'graphql-ws': () =>
    createWsClient({ url: URL_WS, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true }),
  'graphql-sse distinct connections': () =>
    createSseClient({ url: URL_HTTP, retryAttempts: 0 }),
  'graphql-sse single connection': () =>
    createSseClient({ url: URL_HTTP, singleConnection: true, retryAttempts: 0 }),
};

for (const [name, make] of Object.entries(transports)) {
  describe(name, () => {
    const client = make();
    after(() => client.dispose());

    test('a countdown arrives in order', async () => {
      assert.deepEqual(await collect(client, { query: COUNTDOWN, variables: { from: 5 } }), countdown(5));
    });

    test('two concurrent subscriptions', async () => {
      const [a, b] = await Promise.all([
        collect(client, { query: COUNTDOWN, variables: { from: 4 } }),
        collect(client, { query: COUNTDOWN, variables: { from: 3 } }),
      ]);
      assert.deepEqual(a, countdown(4));
      assert.deepEqual(b, countdown(3));
    });

    test('a query too', async () => {
      assert.deepEqual(await collect(client, { query: '{ hello }' }), [{ data: { hello: 'world' } }]);
    });

    test('early unsubscribe closes the source, then resubscribe', async () => {
      await unsubscribeEarly(client);
      assert.deepEqual(await collect(client, { query: COUNTDOWN, variables: { from: 2 } }), countdown(2));
    });

    test('an invalid subscription is answered with errors', async () => {
      let outcome;
      try {
        outcome = await collect(client, { query: 'subscription { nope }' });
      } catch (error) {
        outcome = error;
      }
      if (outcome instanceof Error && outcome.response) {
        // graphql-sse's single connection mode: the operation's POST is answered 400 with the
        // errors, as GraphQL over HTTP answers a document that does not validate (the client
        // aborts the body; test_subs_sse.py reads it).
        assert.equal(outcome.response.status, 400);
        return;
      }
      const text = JSON.stringify(outcome instanceof Error ? String(outcome) : outcome);
      assert.match(text, /Cannot query field 'nope' on type 'Subscription'/);
    });
  });
}
