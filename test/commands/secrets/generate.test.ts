import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, lstatSync, writeFileSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parse } from 'yaml'
import { Secp256k1Keypair, verifySignature } from '@atproto/crypto'
import { runCli } from '../../helpers/cli.js'
import { parseEnvFile } from '../../../src/lib/cli/envFile.js'
import type { GeneratedSecrets } from '../../../src/lib/selfhost/secrets.js'

const dirs: string[] = []
const tempDir = (prefix: string) => {
  const d = mkdtempSync(path.join(tmpdir(), prefix))
  dirs.push(d)
  return d
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

test('json: hex lengths as the installer makes them; the rotation key is a valid secp256k1 key matching its did:key', async () => {
  const res = await runCli(['secrets', 'generate', '--json'])
  assert.equal(res.code, 0, res.stderr)
  const s = JSON.parse(res.stdout) as GeneratedSecrets
  assert.match(s.jwtSecret, /^[0-9a-f]{32}$/)
  assert.match(s.adminPassword, /^[0-9a-f]{32}$/)
  assert.match(s.plcRotationKey, /^[0-9a-f]{64}$/)
  assert.notEqual(s.jwtSecret, s.adminPassword)
  const key = await Secp256k1Keypair.import(s.plcRotationKey)
  assert.equal(key.did(), s.rotationKeyDidKey)
  assert.match(s.rotationKeyDidKey, /^did:key:zQ3s/)
  const msg = new TextEncoder().encode('pdsctl')
  assert.ok(await verifySignature(s.rotationKeyDidKey, msg, await key.sign(msg)))
  assert.match(res.stderr, /PLC rotation key \(public\): did:key:/)
  const again = JSON.parse((await runCli(['secrets', 'generate', '--json'])).stdout) as GeneratedSecrets
  assert.notEqual(again.plcRotationKey, s.plcRotationKey)
})

test('env: a pds.env fragment that pdsctl (and a shell) read back', async () => {
  const res = await runCli(['secrets', 'generate', '--smtp-url', 'smtps://user:p@ss@smtp.example.com:465', '--from-address', 'pds@example.com'])
  assert.equal(res.code, 0, res.stderr)
  assert.match(res.stdout, /^# Secrets: never commit this file/)
  const env = parseEnvFile(res.stdout)
  assert.match(env.PDS_JWT_SECRET, /^[0-9a-f]{32}$/)
  assert.match(env.PDS_ADMIN_PASSWORD, /^[0-9a-f]{32}$/)
  assert.match(env.PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX, /^[0-9a-f]{64}$/)
  assert.equal(env.PDS_EMAIL_SMTP_URL, 'smtps://user:p@ss@smtp.example.com:465')
  assert.equal(env.PDS_EMAIL_FROM_ADDRESS, 'pds@example.com')
})

test('k8s: a Secret whose data base64-decodes to the generated values; written with mode 0600, never overwritten without --force', async () => {
  const dir = tempDir('secrets-')
  const file = path.join(dir, 'secret.yaml')
  const res = await runCli(['secrets', 'generate', '--format', 'k8s', '--namespace', 'bluesky', '--name', 'bluesky', '--smtp-url', 'smtp://mail:25', '--from-address', 'a@example.com', '--output', file])
  assert.equal(res.code, 0, res.stderr)
  assert.equal(res.stdout, '')
  assert.equal(statSync(file).mode & 0o777, 0o600)
  const doc = parse(readFileSync(file, 'utf8'))
  assert.equal(doc.kind, 'Secret')
  assert.deepEqual(doc.metadata.name, 'bluesky')
  assert.deepEqual(doc.metadata.namespace, 'bluesky')
  assert.deepEqual(Object.keys(doc.data).sort(), ['adminPassword', 'jwtSecret', 'plcRotationKey', 'smtpFromAddress', 'smtpServer'])
  const dec = (k: string) => Buffer.from(doc.data[k], 'base64').toString()
  assert.match(dec('adminPassword'), /^[0-9a-f]{32}$/)
  assert.match(dec('plcRotationKey'), /^[0-9a-f]{64}$/)
  assert.equal(dec('smtpServer'), 'smtp://mail:25')
  assert.equal((await Secp256k1Keypair.import(dec('plcRotationKey'))).did(), doc.metadata.annotations['pdsctl/rotation-key-did'])
  const again = await runCli(['secrets', 'generate', '--output', file])
  assert.equal(again.code, 2)
  assert.match(again.stderr, /exists\. Pass --force/)
  writeFileSync(path.join(dir, 'open.env'), 'x')
  chmodSync(path.join(dir, 'open.env'), 0o644)
  const forced = await runCli(['secrets', 'generate', '--output', path.join(dir, 'open.env'), '--force'])
  assert.equal(forced.code, 0, forced.stderr)
  assert.equal(statSync(path.join(dir, 'open.env')).mode & 0o777, 0o600)
})

test('bad input: SMTP URL, from-address, names', async () => {
  for (const args of [['--smtp-url', 'http://smtp.example.com'], ['--smtp-url', 'nonsense'], ['--from-address', 'nope'], ['--format', 'k8s', '--name', 'Bad_Name'], ['--format', 'yaml']]) {
    const res = await runCli(['secrets', 'generate', ...args])
    assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`)
    assert.equal(res.stdout, '')
  }
})

test('--output EXISTING without --force fails before generating: no rotation key is printed and lost', async () => {
  const dir = tempDir('secrets-')
  const file = path.join(dir, 'pds.env')
  writeFileSync(file, 'KEEP=1\n')
  const res = await runCli(['secrets', 'generate', '--output', file])
  assert.equal(res.code, 2, res.stderr)
  assert.equal(res.stdout, '')
  assert.doesNotMatch(res.stderr, /did:key|rotation key/i)
  assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr)
  assert.equal(readFileSync(file, 'utf8'), 'KEEP=1\n')
})

test('--force never writes through a symbolic link; a regular file is replaced whole, mode 0600, no temp file left', async () => {
  const dir = tempDir('secrets-')
  const victim = path.join(dir, 'victim.txt')
  writeFileSync(victim, 'not yours\n')
  const link = path.join(dir, 'secret.env')
  symlinkSync(victim, link)
  const res = await runCli(['secrets', 'generate', '--output', link, '--force'])
  assert.equal(res.code, 2, res.stderr)
  assert.match(res.stderr, /symbolic link/)
  assert.doesNotMatch(res.stderr, /did:key/)
  assert.equal(readFileSync(victim, 'utf8'), 'not yours\n')
  assert.ok(lstatSync(link).isSymbolicLink())
  // A dangling link (what an attacker plants before the file exists) is refused too.
  const dangling = path.join(dir, 'new.env')
  symlinkSync(path.join(dir, 'elsewhere.env'), dangling)
  for (const args of [['--output', dangling], ['--output', dangling, '--force']]) {
    const r = await runCli(['secrets', 'generate', ...args])
    assert.equal(r.code, 2, r.stderr)
  }
  assert.deepEqual(readdirSync(dir).sort(), ['new.env', 'secret.env', 'victim.txt'])

  const real = path.join(dir, 'real.env')
  writeFileSync(real, 'OLD=1\n')
  chmodSync(real, 0o644)
  const forced = await runCli(['secrets', 'generate', '--output', real, '--force'])
  assert.equal(forced.code, 0, forced.stderr)
  const env = parseEnvFile(readFileSync(real, 'utf8'))
  assert.match(env.PDS_ADMIN_PASSWORD ?? '', /^[0-9a-f]{32}$/)
  assert.equal(env.OLD, undefined)
  assert.equal(statSync(real).mode & 0o777, 0o600)
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [])
})
