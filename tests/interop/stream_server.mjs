// The reference STREAM server (ilp-protocol-stream over ilp-plugin-http), peered with a peerlab
// connector: prints its receiving address and shared secret, then, once `amount` has arrived,
// what it received, and exits.
// Usage: node stream_server.mjs <connector URL> <bearer token> <plugin port> <amount>
import PluginHttp from 'ilp-plugin-http'
import { createServer } from 'ilp-protocol-stream'

const [connector, token, port, amount] = process.argv.slice(2)
const plugin = new PluginHttp({
  incoming: { port: Number(port), staticToken: 'from-peerlab' },
  outgoing: { url: connector, staticToken: token, name: 'js-server' }
})
const server = await createServer({ plugin })
let received = 0n
const done = new Promise((resolve) => {
  server.on('connection', (connection) => {
    connection.on('stream', (stream) => {
      stream.setReceiveMax('18446744073709551615')
      stream.on('money', (arrived) => {
        received += BigInt(arrived)
        if (received >= BigInt(amount)) resolve()
      })
    })
  })
})
const { destinationAccount, sharedSecret } = server.generateAddressAndSecret()
console.log(JSON.stringify({ destinationAccount, sharedSecret: sharedSecret.toString('base64') }))
const timeout = setTimeout(() => {
  console.log(JSON.stringify({ received: received.toString(), timedOut: true }))
  process.exit(1)
}, 30000)
await done
clearTimeout(timeout)
// Let the sender's closing packet arrive before the server goes away.
await new Promise((resolve) => setTimeout(resolve, 200))
console.log(JSON.stringify({ received: received.toString() }))
// Not server.close(): it waits for every connection to end, which is the sender's business.
process.exit(0)
