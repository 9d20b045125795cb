// Loads peerlab's admin schema the way GraphiQL, Bruno and codegen do, with the real graphql-js:
// sends getIntrospectionQuery() with every option on, builds the schema with
// buildClientSchema, and validates every operation under the given fixture folders against it.
// Usage: node graphql_schema.mjs <GraphQL URL> <fixture folder>...
// Prints one JSON object: { introspectionStatus, validated: [files], failures: [{ file, errors }] }.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { buildClientSchema, getIntrospectionQuery, parse, validate } from 'graphql'

const [url, ...folders] = process.argv.slice(2)

const query = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
  oneOf: true
})
const response = await fetch(url, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
  body: JSON.stringify({ query, operationName: 'IntrospectionQuery' })
})
const answer = await response.json()
const result = { introspectionStatus: response.status, validated: [], failures: [] }
if (answer.errors) {
  result.failures.push({ file: 'introspection', errors: answer.errors.map((e) => e.message) })
  console.log(JSON.stringify(result))
  process.exit(0)
}
const schema = buildClientSchema(answer.data)

function graphqlFiles (folder) {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name)
    if (statSync(path).isDirectory()) return graphqlFiles(path)
    return name.endsWith('.graphql') ? [path] : []
  })
}

for (const folder of folders) {
  for (const file of graphqlFiles(folder)) {
    let errors
    try {
      errors = validate(schema, parse(readFileSync(file, 'utf8'))).map((e) => e.message)
    } catch (error) {
      errors = [String(error)]
    }
    result.validated.push(file)
    if (errors.length > 0) result.failures.push({ file, errors })
  }
}
console.log(JSON.stringify(result))
