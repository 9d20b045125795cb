// Sends packets built by the `ilp-packet` npm package to a peerlab connector over
// ILP-over-HTTP, the way ilp-plugin-http does, and decodes every reply with `ilp-packet`.
// Usage: node ilp_packet.mjs <connector URL> <bearer token> <receiver address>
// Prints one JSON object per case.
import { createHash, randomBytes } from 'node:crypto'
import IlpPacket from 'ilp-packet'

const [url, token, receiver] = process.argv.slice(2)
const sha256 = (b) => createHash('sha256').update(b).digest()
const PEER_CONDITION = sha256(Buffer.alloc(32))

async function send (prepare) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/ilp+octet-stream',
      'ILP-Peer-Name': 'interop'
    },
    body: IlpPacket.serializeIlpPrepare(prepare)
  })
  const body = Buffer.from(await response.arrayBuffer())
  const packet = IlpPacket.deserializeIlpPacket(body)
  return { status: response.status, packet }
}

function readVarOctets (buf, offset) {
  const first = buf[offset]
  if (first < 0x80) return [buf.subarray(offset + 1, offset + 1 + first), offset + 1 + first]
  const n = first & 0x7f
  const length = buf.readUIntBE(offset + 1, n)
  const start = offset + 1 + n
  return [buf.subarray(start, start + length), start + length]
}

const expiresAt = () => new Date(Date.now() + 10000)
const results = []

// IL-DCP, as every JS STREAM client asks first.
{
  const { status, packet } = await send({
    amount: '0', executionCondition: PEER_CONDITION, expiresAt: expiresAt(), destination: 'peer.config', data: Buffer.alloc(0)
  })
  const [address, next] = readVarOctets(packet.data.data, 0)
  const scale = packet.data.data[next]
  const [code] = readVarOctets(packet.data.data, next + 1)
  results.push({ case: 'ildcp', status, type: packet.typeString, clientAddress: address.toString(), assetScale: scale, assetCode: code.toString() })
}

// A packet the receiver fulfills.
{
  const preimage = randomBytes(32)
  const condition = sha256(preimage)
  const { status, packet } = await send({
    amount: '1234', executionCondition: condition, expiresAt: expiresAt(), destination: `${receiver}.bob`, data: preimage
  })
  const matches = packet.typeString === 'ilp_fulfill' && sha256(packet.data.fulfillment).equals(condition)
  results.push({ case: 'fulfill', status, type: packet.typeString, fulfillmentMatchesCondition: matches })
}

// No route: F02 from the connector.
{
  const { status, packet } = await send({
    amount: '5', executionCondition: randomBytes(32), expiresAt: expiresAt(), destination: 'test.nowhere.bob', data: Buffer.alloc(0)
  })
  results.push({ case: 'unreachable', status, type: packet.typeString, code: packet.data.code, triggeredBy: packet.data.triggeredBy, message: packet.data.message })
}

// Above the max packet amount: F08 with its data.
{
  const { status, packet } = await send({
    amount: '1000001', executionCondition: randomBytes(32), expiresAt: expiresAt(), destination: `${receiver}.bob`, data: Buffer.alloc(0)
  })
  const data = packet.data.data
  results.push({
    case: 'too_large', status, type: packet.typeString, code: packet.data.code,
    receivedAmount: data.length >= 16 ? data.readBigUInt64BE(0).toString() : null,
    maximumAmount: data.length >= 16 ? data.readBigUInt64BE(8).toString() : null
  })
}

for (const result of results) console.log(JSON.stringify(result))
