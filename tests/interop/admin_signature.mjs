// Signs admin requests the way Rafiki's own clients do (its Bruno collection's
// generateBackendApiSignature, its test library's Apollo client; reference/rafiki.md §7): HMAC-SHA256
// with node's crypto over `<Date.now()>.` + the RFC 8785 canonical JSON of
// {query, variables, operationName} made by the `json-canonicalize` package Rafiki uses, sent as
// `signature: t=<ms>, v1=<hex>` with `tenant-id`.
// Usage: node admin_signature.mjs <GraphQL URL> <secret> <tenant id> <fixture folder>
// Prints one JSON object per case: { case, status, body }.
import { createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { canonicalize } from 'json-canonicalize'

const [url, secret, tenantId, fixtures] = process.argv.slice(2)
const operation = (name) => readFileSync(join(fixtures, `${name}.graphql`), 'utf8')

// As rafiki.md §7's snippet, with the timestamp given so that a case can use another one.
function sign (timestamp, { query, variables, operationName }) {
  const payload = `${timestamp}.${canonicalize({ query, variables, operationName })}`
  const digest = createHmac('sha256', secret).update(payload).digest('hex')
  return `t=${timestamp}, v1=${digest}`
}

async function send (name, headers, body) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body
  })
  const text = await response.text()
  let parsed
  try { parsed = JSON.parse(text) } catch { parsed = text }
  console.log(JSON.stringify({ case: name, status: response.status, body: parsed }))
  return parsed
}

// Rafiki's own createAsset request (its Bruno collection's variables), with keys out of canonical
// order and an idempotency key that only canonical JSON's string rules leave unchanged.
const create = {
  query: operation('CreateAsset'),
  variables: {
    input: {
      code: 'JPY',
      scale: 6,
      withdrawalThreshold: null,
      liquidityThreshold: '100000000',
      idempotencyKey: `clé ☕ \u2028 "quoted" ${Date.now()}`
    }
  },
  operationName: 'CreateAsset'
}
const signature = sign(Date.now(), create)
const created = await send('signed', { signature, 'tenant-id': tenantId }, JSON.stringify(create))
await send('replayed', { signature, 'tenant-id': tenantId }, JSON.stringify(create))
await send('no_tenant', { signature: sign(Date.now(), create) }, JSON.stringify(create))
// Rafiki's docs page says seconds; Rafiki compares with Date.now(), so this is always too old.
await send(
  'seconds_timestamp',
  { signature: sign(Math.round(Date.now() / 1000), create), 'tenant-id': tenantId },
  JSON.stringify(create)
)

// The body as sent need not be canonical: pretty-printed, keys reversed, still the same request.
const get = {
  operationName: 'GetAsset',
  variables: { id: created?.data?.createAsset?.asset?.id ?? 'missing' },
  query: operation('GetAsset')
}
await send(
  'reformatted_body',
  { signature: sign(Date.now(), get), 'tenant-id': tenantId },
  JSON.stringify(get, null, 2)
)
