// The reference STREAM client (ilp-protocol-stream over ilp-plugin-http) pays a wallet address:
// it asks the wallet address URL for SPSP details, connects through a peerlab connector and sends
// `amount`. Prints {"sent", "delivered"} as the client counts them.
// Usage: node stream_client.mjs <connector URL> <bearer token> <plugin port> <SPSP URL> <amount>
import PluginHttp from 'ilp-plugin-http'
import { createConnection } from 'ilp-protocol-stream'

const [connector, token, port, spspUrl, amount] = process.argv.slice(2)
const answer = await fetch(spspUrl, { headers: { accept: 'application/spsp4+json' } })
if (answer.status !== 200) throw new Error(`SPSP answered ${answer.status}`)
if (!answer.headers.get('content-type').startsWith('application/spsp4+json')) {
  throw new Error(`SPSP content type ${answer.headers.get('content-type')}`)
}
const { destination_account: destinationAccount, shared_secret: sharedSecret } = await answer.json()
const plugin = new PluginHttp({
  incoming: { port: Number(port), staticToken: 'from-peerlab' },
  outgoing: { url: connector, staticToken: token, name: 'js-client' }
})
const connection = await createConnection({
  plugin,
  destinationAccount,
  sharedSecret: Buffer.from(sharedSecret, 'base64'),
  slippage: 0.01
})
const stream = connection.createStream()
await stream.sendTotal(amount, { timeout: 20000 })
console.log(JSON.stringify({ sent: stream.totalSent, delivered: connection.totalDelivered }))
await connection.end()
process.exit(0)
