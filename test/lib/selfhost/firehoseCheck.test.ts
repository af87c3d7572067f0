// The doctor's firehose check on its own, against real beds: the test event arrives on the
// public URL's firehose and changes nothing; when the public URL's firehose is another PDS's
// (a proxy or DNS pointing at an old instance), the event never arrives and the check fails.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestBed, xrpc, type SeededAccount, type TestBed } from '../../bed/pds.js'
import { checkFirehoseEvent } from '../../../src/lib/selfhost/firehoseCheck.js'
import { PdsClient } from '../../../src/lib/pds/xrpcClient.js'
import { directTarget } from '../../../src/lib/pds/target.js'

let bed: TestBed
let other: TestBed
let admin: PdsClient
let alice: SeededAccount
before(async () => {
  ;[bed, other] = await Promise.all([startTestBed(), startTestBed()])
  const seeded = await bed.seed(2, 'fh')
  // The check writes for the account listRepos names first (the PDS's order, not the seed's).
  const first = ((await (await fetch(`${bed.url}/xrpc/com.atproto.sync.listRepos?limit=1`)).json()) as { repos: Array<{ did: string }> }).repos[0].did
  alice = seeded.find((a) => a.did === first)!
  admin = new PdsClient({ target: directTarget(bed.url), adminPassword: async () => bed.adminPassword, timeoutMs: 10_000 })
})
after(async () => {
  await admin.close()
  await Promise.all([bed.close(), other.close()])
})

const auth = () => ({ authorization: 'Basic ' + Buffer.from(`admin:${bed.adminPassword}`).toString('base64') })

test("the event arrives within seconds; the account, its sessions and the PDS's records are as they were", async () => {
  const session = await xrpc(bed.url, 'com.atproto.server.createSession', { identifier: alice.did, password: alice.password })
  const view = async () => (await fetch(`${bed.url}/xrpc/com.atproto.admin.getAccountInfo?did=${alice.did}`, { headers: auth() })).json()
  const status = async () => (await fetch(`${bed.url}/xrpc/com.atproto.admin.getSubjectStatus?did=${alice.did}`, { headers: auth() })).json()
  const [viewBefore, statusBefore] = [await view(), await status()]
  const latestBefore = await (await fetch(`${bed.url}/xrpc/com.atproto.sync.getLatestCommit?did=${alice.did}`)).json()
  // How fast is not this test's business (a loaded machine is slow): the pass bound is wide here.
  const check = await checkFirehoseEvent({ publicUrl: bed.url, admin, passMs: 60_000 })
  assert.equal(check.status, 'pass', check.message)
  assert.match(check.message, new RegExp(`^an #account event for ${alice.did} \\(updateSubjectStatus with no change: the account's status restated\\) reached the firehose at the public URL as seq \\d+ \\d+ ms after the write$`))
  assert.deepEqual(await view(), viewBefore)
  assert.deepEqual(await status(), statusBefore)
  assert.deepEqual(await (await fetch(`${bed.url}/xrpc/com.atproto.sync.getLatestCommit?did=${alice.did}`)).json(), latestBefore, 'no commit')
  const refreshed = await fetch(`${bed.url}/xrpc/com.atproto.server.refreshSession`, { method: 'POST', headers: { authorization: `Bearer ${session.refreshJwt}` } })
  assert.equal(refreshed.status, 200, 'the session still works')
})

test('an event slower than the pass bound is a warning naming the delay', async () => {
  const check = await checkFirehoseEvent({ publicUrl: bed.url, admin, passMs: -1 })
  assert.equal(check.status, 'warn')
  assert.match(check.message, /reached the firehose at the public URL as seq \d+ only \d+\.\d s after the write$/)
  assert.match(check.fix!, /delays the event stream/)
})

test("a public URL whose firehose is another PDS's never shows the event: fail, naming relays", async () => {
  const check = await checkFirehoseEvent({ publicUrl: other.url, admin, deadlineMs: 2000 })
  assert.equal(check.status, 'fail')
  assert.match(check.message, /did not reach the firehose at the public URL within 2 s \(no event\): relays would not see new posts/)
})

test('no admin password, or no account yet: a warning that says what to pass', async () => {
  const none = await checkFirehoseEvent({ publicUrl: bed.url, admin: null })
  assert.equal(none.status, 'warn')
  assert.match(none.fix!, /--env-file .*PDS_ADMIN_PASSWORD/)
  const empty = new PdsClient({ target: directTarget(other.url), adminPassword: async () => other.adminPassword, timeoutMs: 10_000 })
  try {
    const check = await checkFirehoseEvent({ publicUrl: other.url, admin: empty })
    assert.equal(check.status, 'warn')
    assert.match(check.message, /the PDS has no account yet/)
  } finally {
    await empty.close()
  }
})
