import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { resolveConnection } from '../../../src/lib/cli/settings.js'

const dir = mkdtempSync(path.join(tmpdir(), 'settings-'))
const envFile = path.join(dir, 'pds.env')
writeFileSync(envFile, 'PDS_HOSTNAME=file.example\nPDS_ADMIN_PASSWORD=from-file\nPDS_CRAWLERS=https://r1.example, https://r2.example\n')

test('URL precedence: --url, PDS_URL, PDS_HOST (goat), PDS_HOSTNAME (pdsadmin), env file, context', async () => {
  const ctx = { url: 'https://ctx.example' }
  const full = { PDS_URL: 'https://url.example', PDS_HOST: 'https://host.example', PDS_HOSTNAME: 'hostname.example' }
  assert.equal((await resolveConnection({ url: 'https://flag.example' }, full, ctx)).url, 'https://flag.example')
  assert.equal((await resolveConnection({}, full, ctx)).url, 'https://url.example')
  assert.equal((await resolveConnection({}, { ...full, PDS_URL: '' }, ctx)).url, 'https://host.example')
  const s = await resolveConnection({}, { PDS_HOSTNAME: 'hostname.example' }, ctx)
  assert.equal(s.url, 'https://hostname.example')
  assert.equal(s.urlSource, 'PDS_HOSTNAME')
  assert.equal((await resolveConnection({ 'env-file': envFile }, {}, ctx)).url, 'https://file.example')
  assert.equal((await resolveConnection({}, { PDS_ENV_FILE: envFile }, ctx)).url, 'https://file.example')
  assert.equal((await resolveConnection({}, {}, ctx)).url, 'https://ctx.example')
  assert.equal((await resolveConnection({}, {}, undefined)).url, undefined)
})

test('admin password precedence: stdin flag, kube secret flag, env, env file, context', async () => {
  const env = { PDS_ADMIN_PASSWORD: 'from-env' }
  assert.deepEqual((await resolveConnection({ 'admin-password-stdin': true, 'env-file': envFile }, env)).adminPassword, { kind: 'stdin' })
  assert.deepEqual((await resolveConnection({ 'kube-secret': 'pds:pw', 'kube-service': 'pds' }, env)).adminPassword, { kind: 'kube-secret', name: 'pds', key: 'pw' })
  assert.deepEqual((await resolveConnection({ 'env-file': envFile }, env)).adminPassword, { kind: 'value', value: 'from-env', origin: 'PDS_ADMIN_PASSWORD' })
  assert.deepEqual((await resolveConnection({ 'env-file': envFile }, {})).adminPassword, { kind: 'value', value: 'from-file', origin: envFile })
  assert.deepEqual((await resolveConnection({}, {}, { adminPassword: { from: 'kube-secret', secret: 's' } })).adminPassword, { kind: 'kube-secret', name: 's', key: undefined })
  assert.deepEqual((await resolveConnection({}, {})).adminPassword, { kind: 'prompt' })
})

test('crawlers and hostname come from the env file', async () => {
  const s = await resolveConnection({ 'env-file': envFile }, {})
  assert.deepEqual(s.crawlers, ['https://r1.example', 'https://r2.example'])
  assert.equal(s.hostname, 'file.example')
})

test('--kube: Kubernetes without naming the Service (found later, in the cluster), beating PDS_URL; still exclusive with --url', async () => {
  const s = await resolveConnection({ kube: true }, { PDS_URL: 'https://env.example' })
  assert.deepEqual(s.kube, { namespace: undefined, service: undefined, pod: undefined, port: 3000, context: undefined, kubectl: 'kubectl', timeoutS: undefined, find: true })
  assert.equal(s.url, undefined)
  const ns = await resolveConnection({ kube: true, 'kube-namespace': 'bluesky', 'kube-context': 'home' }, {})
  assert.deepEqual([ns.kube?.namespace, ns.kube?.context, ns.kube?.find], ['bluesky', 'home', true])
  await assert.rejects(resolveConnection({ kube: true, url: 'https://x.example' }, {}), /--url and --kube-\* flags cannot be used together/)
  await assert.rejects(resolveConnection({ 'kube-namespace': 'ns' }, {}), (err: { line?: string }) => err.line === '--kube-namespace needs --kube-service NAME or --kube-pod NAME. Name the Service (or Pod) that runs the PDS, or pass --kube to find it')
})

test('kube flags: validated, exclusive with --url, and beat a context URL', async () => {
  const s = await resolveConnection({ 'kube-namespace': 'bluesky', 'kube-service': 'bluesky' }, {}, { url: 'https://ctx.example' })
  assert.deepEqual(s.kube, { namespace: 'bluesky', service: 'bluesky', pod: undefined, port: 3000, context: undefined, kubectl: 'kubectl', timeoutS: undefined })
  assert.equal(s.url, undefined)
  await assert.rejects(resolveConnection({ url: 'https://x.example', 'kube-service': 'pds' }, {}), /--url and --kube-\* flags cannot be used together/)
  await assert.rejects(resolveConnection({ 'kube-service': 'a', 'kube-pod': 'b' }, {}), /cannot be used together/)
  await assert.rejects(resolveConnection({ 'kube-namespace': 'ns' }, {}), /needs --kube-service NAME or --kube-pod NAME/)
  await assert.rejects(resolveConnection({ 'kube-service': 'Bad_Name' }, {}), /not a valid Kubernetes name/)
  await assert.rejects(resolveConnection({ 'kube-secret': 'a:b:c', 'kube-service': 'x' }, {}), /not NAME or NAME:KEY/)
  const ctx = await resolveConnection({}, {}, { kube: { namespace: 'n', service: 's', port: 8080 } })
  assert.equal(ctx.kube?.port, 8080)
})
