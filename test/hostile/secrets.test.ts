// The hostile-data suite, family `secrets`: a server that echoes the Authorization header
// (or the password pdsctl sent in a body, or the SMTP AUTH it got) in its error, as a JSON
// message, a plain-text body, an HTML page or a 401; for long and short passwords and
// passwords with tabs, double spaces and colons; in text, --json and --debug. And URL
// userinfo in every error, and every child process's environment. Each case: no form of
// the secret in any output, the documented exit code.
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe } from 'node:test'
import assert from 'node:assert/strict'
import { startLyingServer, type Lie, type LyingServer } from '../bed/lying.js'
import { startFakeKube } from '../bed/fakeKube.js'
import { tableChooser } from '../helpers/tablePart.js'
import {
  COMMANDS,
  assertNoSecret,
  hostileCase,
  hostileSmtp,
  makeExecutable,
  newCtx,
  newTally,
  printTally,
  secretForms,
  spawnCli,
  startHostileWorld,
  stopHostileWorld,
  type CommandSpec,
  type HostileWorld,
  type Run,
} from './support.js'

/** Admin passwords: long, 3 characters, and one with a tab, two spaces and colons. */
const PASSWORDS: Record<string, string> = {
  long: 'Hx7-adm1n-p4ss-9QzR',
  short: 'k9!',
  'tabs and colons': 'tab\tpw  x:y',
}

type Echo = 'json-message' | 'text-body' | 'html-page' | 'text-401'

/** Answers that quote the Authorization header (and its decoded form) back. */
function echo(kind: Echo, authorization: string): Lie {
  const decoded = authorization.startsWith('Basic ') ? Buffer.from(authorization.slice(6), 'base64').toString('utf8') : authorization
  switch (kind) {
    case 'json-message':
      return { status: 400, json: { error: 'InvalidRequest', message: `bad request; you sent authorization: ${authorization} (${decoded})` } }
    case 'text-body':
      // The header starts within the first 60 characters, so a cut there would keep a prefix.
      return { status: 500, headers: { 'content-type': 'text/plain' }, body: `authorization: ${authorization}\nuser:pass ${decoded}\n${'x'.repeat(200)}` }
    case 'html-page':
      return { status: 500, headers: { 'content-type': 'text/html' }, body: `<html><head><title>Error ${authorization}</title></head><body><pre>${decoded}</pre></body></html>` }
    case 'text-401':
      return { status: 401, headers: { 'content-type': 'text/plain' }, body: `Unauthorized: ${authorization} ${decoded}` }
  }
}

/** What each echo is documented to end with (README, "Exit codes"): 1 a server error, 3 a credential rejected; backup 5 (some accounts failed). */
function expectedCodes(spec: CommandSpec, kind: Echo): number[] {
  if (spec.name.startsWith('backup')) return [5]
  return kind === 'text-401' ? [3] : [1]
}

const ECHOES: Echo[] = ['json-message', 'text-body', 'html-page', 'text-401']

async function runEcho(w: HostileWorld, spec: CommandSpec, kind: Echo, password: string, mode: 'text' | 'json' | 'debug'): Promise<void> {
  const c = await newCtx(w, password)
  try {
    const setup = await spec.error!(c, '')
    c.pds.clear()
    c.pds.answer(spec.adminKey!, (req) => echo(kind, String(req.headers.authorization ?? '')))
    const args = [...setup.args, ...(mode === 'json' ? ['--json'] : mode === 'debug' ? ['--debug'] : [])]
    const run = await spawnCli(args, setup.env ?? {}, 60_000, setup.stdin, setup.bin)
    const label = `${spec.name} [${kind}, ${JSON.stringify(password)}] ${mode}`
    assert.ok(c.pds.requests.some((r) => r.nsid === spec.adminKey && r.headers.authorization), `${label}: the call never carried the admin password\n${run.stderr}`)
    assertNoSecret(label, run, secretForms(password))
    assert.ok(expectedCodes(spec, kind).includes(run.code ?? -1), `${label}: exit ${run.code}, documented ${expectedCodes(spec, kind)}\n${run.stderr}`)
  } finally {
    await c.close()
  }
}

describe('hostile suite: secrets', { concurrency: 4 }, () => {
  let w: HostileWorld
  const tally = newTally('secrets', tableChooser())
  before(async () => {
    w = await startHostileWorld('0.5')
  })
  after(async () => {
    printTally(tally)
    await stopHostileWorld(w)
  })

  // Every command whose key call carries the admin password × every echo × every password, text and --json; --debug too.
  for (const spec of COMMANDS.filter((s) => s.adminKey && s.error)) {
    for (const kind of spec.secretsEchoes ?? ECHOES) {
      for (const [pwName, password] of Object.entries(PASSWORDS)) {
        for (const mode of (kind === 'json-message' ? ['text', 'json', 'debug'] : ['text', 'json']) as Array<'text' | 'json' | 'debug'>) {
          hostileCase(tally, `${spec.name} [${kind}, ${pwName} password] ${mode}`, () => runEcho(w, spec, kind, password, mode))
        }
      }
    }
  }

  // Account passwords pdsctl sends in a body (read from stdin), echoed back in the error.
  /** The access and refresh tokens of every session the real PDS makes through `server` (filled as they are made). */
  const sessionTokens = (server: LyingServer): string[] => {
    const tokens: string[] = []
    server.lie('com.atproto.server.createSession', (real) => {
      const j = real.json as { accessJwt?: string; refreshJwt?: string } | undefined
      for (const t of [j?.accessJwt, j?.refreshJwt]) if (t) tokens.push(t)
      return undefined
    })
    return tokens
  }
  const bodyEcho = (status: number): ((req: { body: Buffer }) => Lie) => (req) => ({ status, json: { error: 'InvalidRequest', message: `you sent ${req.body.toString('utf8')}` } })
  const ACCOUNT_PW = 'Acct-pw-stdin-77'
  for (const mode of ['text', 'json', 'debug'] as const) {
    const flag = mode === 'json' ? ['--json'] : mode === 'debug' ? ['--debug'] : []
    hostileCase(tally, `account create --password-stdin [body echoed] ${mode}`, async () => {
      const c = await newCtx(w)
      try {
        c.pds.answer('com.atproto.server.createAccount', bodyEcho(400))
        const run = await spawnCli(['account', 'create', '--handle', `echo${Math.random().toString(36).slice(2, 8)}.test`, '--email', 'echo@example.com', '--password-stdin', ...flag], { PDS_URL: c.pds.url, PDS_ADMIN_PASSWORD: w.bed.adminPassword }, 60_000, ACCOUNT_PW)
        assertNoSecret(`account create ${mode}`, run, [ACCOUNT_PW])
        // createAccount's InvalidRequest is bad input (exit 2, README "Exit codes").
        assert.equal(run.code, 2, run.stderr)
      } finally {
        await c.close()
      }
    })
    hostileCase(tally, `account reset-password --password-stdin [body echoed] ${mode}`, async () => {
      const c = await newCtx(w)
      try {
        c.pds.answer('com.atproto.admin.updateAccountPassword', bodyEcho(400))
        const run = await spawnCli(['account', 'reset-password', w.acct.b.did, '--password-stdin', '--yes', ...flag], { PDS_URL: c.pds.url, PDS_ADMIN_PASSWORD: w.bed.adminPassword }, 60_000, ACCOUNT_PW)
        assertNoSecret(`account reset-password ${mode}`, run, [ACCOUNT_PW])
        assert.equal(run.code, 1, run.stderr)
      } finally {
        await c.close()
      }
    })
    hostileCase(tally, `email confirm --password-stdin [password echoed by createSession] ${mode}`, async () => {
      const c = await newCtx(w)
      try {
        c.pds.answer('com.atproto.server.createSession', bodyEcho(401))
        const run = await spawnCli(['email', 'confirm', w.acct.a.did, '--password-stdin', ...flag], { PDS_URL: c.pds.url, PDS_ADMIN_PASSWORD: w.bed.adminPassword }, 60_000, w.acct.a.password)
        assertNoSecret(`email confirm ${mode}`, run, [w.acct.a.password])
        assert.equal(run.code, 3, run.stderr)
      } finally {
        await c.close()
      }
    })
    hostileCase(tally, `email confirm --password-stdin [session token echoed] ${mode}`, async () => {
      const c = await newCtx(w)
      try {
        let jwt = ''
        c.pds.lie('com.atproto.server.createSession', (real) => {
          jwt = String((real.json as { accessJwt?: string })?.accessJwt ?? '')
          return undefined
        })
        c.pds.answer('com.atproto.server.requestEmailConfirmation', (req) => ({ status: 400, json: { error: 'InvalidRequest', message: `token ${req.headers.authorization} / ${String(req.headers.authorization).slice(7)}` } }))
        const run = await spawnCli(['email', 'confirm', w.acct.a.did, '--password-stdin', ...flag], { PDS_URL: c.pds.url, PDS_ADMIN_PASSWORD: w.bed.adminPassword }, 60_000, w.acct.a.password)
        assert.ok(jwt.length > 20, `no session was made: ${run.stderr}`)
        assertNoSecret(`email confirm (token) ${mode}`, run, [jwt, w.acct.a.password])
        assert.equal(run.code, 1, run.stderr)
      } finally {
        await c.close()
      }
    })
    hostileCase(tally, `email test [the SMTP server quotes the AUTH it got] ${mode}`, async () => {
      const c = await newCtx(w)
      try {
        const SMTP_PW = 'Smtp-pw-echo-5'
        const port = await hostileSmtp(c, { auth: (user, pass) => `5.7.8 bad credentials ${user}:${pass} ${Buffer.from(`\0${user}\0${pass}`).toString('base64')}` })
        const run = await spawnCli(['email', 'test', '--to', 'op@example.com', '--from', 'pds@example.com', '--smtp-url-stdin', '--smtp-timeout', '30', ...flag], { PDS_URL: c.pds.url }, 60_000, `smtp://mailer:${SMTP_PW}@127.0.0.1:${port}`)
        assertNoSecret(`email test ${mode}`, run, [SMTP_PW, Buffer.from(`\0mailer\0${SMTP_PW}`).toString('base64')])
        assert.equal(run.code, 6, run.stderr)
      } finally {
        await c.close()
      }
    })
  }

  // identity add-rotation-key and account migrate sign in as the account (its password from
  // stdin) and carry its session: a PDS that quotes either back.
  for (const mode of ['text', 'json', 'debug'] as const) {
    const flag = mode === 'json' ? ['--json'] : mode === 'debug' ? ['--debug'] : []
    const addKey = async (c: Awaited<ReturnType<typeof newCtx>>) => {
      const { Secp256k1Keypair } = await import('@atproto/crypto')
      return ['identity', 'add-rotation-key', w.acct.b.did, '--key', (await Secp256k1Keypair.create()).did(), '--password-stdin', '--plc-url', w.bed.plcUrl, ...flag]
    }
    hostileCase(tally, `identity add-rotation-key --password-stdin [password echoed by createSession] ${mode}`, async () => {
      const c = await newCtx(w)
      try {
        c.pds.answer('com.atproto.server.createSession', bodyEcho(401))
        const run = await spawnCli(await addKey(c), { PDS_URL: c.pds.url }, 60_000, w.acct.b.password)
        assertNoSecret(`identity add-rotation-key ${mode}`, run, [w.acct.b.password])
        assert.equal(run.code, 3, run.stderr)
      } finally {
        await c.close()
      }
    })
    hostileCase(tally, `identity add-rotation-key [session token echoed by requestPlcOperationSignature] ${mode}`, async () => {
      const c = await newCtx(w)
      try {
        const jwts = sessionTokens(c.pds)
        c.pds.answer('com.atproto.identity.requestPlcOperationSignature', (req) => ({ status: 400, json: { error: 'InvalidRequest', message: `token ${req.headers.authorization} / ${String(req.headers.authorization).slice(7)}` } }))
        const run = await spawnCli(await addKey(c), { PDS_URL: c.pds.url }, 60_000, w.acct.b.password)
        assert.ok(jwts.length > 0 && jwts.every((j) => j.length > 20), `no session was made: ${run.stderr}`)
        assertNoSecret(`identity add-rotation-key (token) ${mode}`, run, [...jwts, w.acct.b.password])
        assert.equal(run.code, 1, run.stderr)
      } finally {
        await c.close()
      }
    })
    // Migrating in from a second lying server in front of the same PDS: the connected one says it does not have the account yet.
    const migrateIn = async (c: Awaited<ReturnType<typeof newCtx>>) => {
      const old = await startLyingServer({ upstream: w.bed.url })
      c.later(() => old.close())
      c.pds.answer('com.atproto.sync.getRepoStatus', (req) => ({ status: 400, json: { error: 'RepoNotFound', message: `Could not find repo for DID: ${req.query.get('did')}` } }))
      return { old, args: ['account', 'migrate', w.acct.b.did, '--from', old.url, '--password-stdin', '--yes', '--plc-url', w.bed.plcUrl, ...flag] }
    }
    hostileCase(tally, `account migrate --password-stdin [password echoed by the old PDS's createSession] ${mode}`, async () => {
      const c = await newCtx(w)
      try {
        const { old, args } = await migrateIn(c)
        old.answer('com.atproto.server.createSession', bodyEcho(401))
        const run = await spawnCli(args, { PDS_URL: c.pds.url, PDS_ADMIN_PASSWORD: w.bed.adminPassword }, 60_000, w.acct.b.password + '\n')
        assert.ok(old.requests.some((r) => r.nsid === 'com.atproto.server.createSession'), `the password was never sent: ${run.stderr}`)
        assertNoSecret(`account migrate ${mode}`, run, [w.acct.b.password, ...secretForms(w.bed.adminPassword)])
        assert.equal(run.code, 3, run.stderr)
      } finally {
        await c.close()
      }
    })
    hostileCase(tally, `account migrate [the old session's token echoed by getServiceAuth] ${mode}`, async () => {
      const c = await newCtx(w)
      try {
        const { old, args } = await migrateIn(c)
        const jwts = sessionTokens(old)
        old.answer('com.atproto.server.getServiceAuth', (req) => ({ status: 400, json: { error: 'InvalidRequest', message: `token ${req.headers.authorization} / ${String(req.headers.authorization).slice(7)}` } }))
        const run = await spawnCli(args, { PDS_URL: c.pds.url, PDS_ADMIN_PASSWORD: w.bed.adminPassword }, 60_000, w.acct.b.password + '\n')
        assert.ok(jwts.length > 0, `no session was made: ${run.stderr}`)
        assertNoSecret(`account migrate (token) ${mode}`, run, [...jwts, w.acct.b.password, ...secretForms(w.bed.adminPassword)])
        assert.equal(run.code, 1, run.stderr)
      } finally {
        await c.close()
      }
    })
  }

  // A password inside a URL is never repeated: in the error, in the "try http://" hint.
  const URL_PW = 'Url-pw-93'
  const badUrls: Array<[string, string[], Record<string, string>]> = [
    ['ftp:// with credentials', ['health', '--url', `ftp://admin:${URL_PW}@pds.example.com`], {}],
    ['a URL that does not parse', ['health', '--url', `https://admin:${URL_PW}@[::1`], {}],
    ['no scheme, loopback', ['health', '--url', `admin:${URL_PW}@127.0.0.1:3000`], {}],
    ['PDS_URL', ['account', 'list'], { PDS_URL: `https://admin:${URL_PW}@pds.example.com`, PDS_ADMIN_PASSWORD: 'x-admin' }],
    ['a relay URL', ['relay', 'status', '--relay', `https://admin:${URL_PW}@relay.example.com`, '--hostname', 'pds.example.com', '--no-pds'], {}],
    ['a PLC directory URL', ['backup', 'verify', '/nonexistent', '--plc-url', `ftp://admin:${URL_PW}@plc.example.com`], {}],
  ]
  for (const [name, args, env] of badUrls) {
    for (const json of [false, true]) {
      hostileCase(tally, `URL userinfo: ${name}${json ? ' --json' : ''}`, async () => {
        const run = await spawnCli([...args, ...(json ? ['--json'] : [])], env)
        assertNoSecret(`URL userinfo: ${name}`, run, [URL_PW])
        assert.equal(run.code, 2, run.stderr)
      })
    }
  }

  // Every child process (kubectl: a get, a port-forward, a Secret read) gets an environment without pdsctl's secrets.
  const secretEnv = () => ({
    PDS_ADMIN_PASSWORD: w.bed.adminPassword,
    PDS_JWT_SECRET: 'env-jwt-secret-value-31',
    PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: 'ab'.repeat(32),
    PDS_RATE_LIMIT_BYPASS_KEY: 'env-bypass-key-31',
    PDS_EMAIL_SMTP_URL: 'smtps://mailer:Env-smtp-pw-31@smtp.example.com:465',
    MY_COPY_OF_THE_PASSWORD: w.bed.adminPassword,
  })
  const childRuns: Array<[string, (ns: string[]) => string[]]> = [
    ['k8s status (kubectl get, port-forward)', (kube) => ['k8s', 'status', ...kube]],
    ['account list through a port-forward', (kube) => ['account', 'list', ...kube]],
    ['account list with --kube-secret (kubectl get secret)', (kube) => ['account', 'list', ...kube, '--kube-secret', 'pds-secrets']],
  ]
  for (const [name, args] of childRuns) {
    hostileCase(tally, `child environment: ${name}`, async () => {
      const c = await newCtx(w)
      try {
        const f = await startFakeKube({ backendPort: w.bed.port, secrets: { 'pds-secrets': { adminPassword: w.bed.adminPassword } } })
        c.later(() => f.close())
        const dumps = path.join(c.dir, 'envs')
        const wrapper = makeExecutable(path.join(c.dir, 'kubectl'), `#!/bin/sh\nmkdir -p '${dumps}'\nenv > '${dumps}'/env.$$\nexec kubectl "$@"\n`)
        const secretValues = secretEnv()
        const env = { ...f.env, ...secretValues, ...(name.includes('--kube-secret') ? { PDS_ADMIN_PASSWORD: undefined, MY_COPY_OF_THE_PASSWORD: undefined } : {}) }
        const run: Run = await spawnCli([...args(['--kube-namespace', 'bluesky', '--kube-service', 'bluesky']), '--kubectl', wrapper], env, 90_000)
        const files = readdirSync(dumps)
        assert.ok(files.length > 0, `kubectl never ran: ${run.stderr}`)
        const secrets = [...Object.values(secretValues), 'Env-smtp-pw-31']
        for (const file of files) {
          const text = readFileSync(path.join(dumps, file), 'utf8')
          for (const s of secrets) assert.ok(!text.includes(s), `${name}: kubectl's environment holds ${s.slice(0, 6)}…:\n${text.split('\n').filter((l) => l.includes(s)).join('\n')}`)
          assert.match(text, /^KUBECONFIG=/m, 'the rest of the environment is kept')
        }
        assertNoSecret(name, run, secrets)
        assert.ok([0, 6].includes(run.code ?? -1), `${name}: exit ${run.code}\n${run.stderr}`)
      } finally {
        await c.close()
      }
    })
  }
})
