import * as Args from '../../base/args.js'
import * as Flags from '../../base/flags.js'
import { IdentityCommand, plcUrlFlag } from '../../base/identity-command.js'
import { UsageError } from '../../lib/errors.js'
import { parseAccountRef } from '../../lib/pds/identifiers.js'
import type { UnsignedPlcOperation } from '../../lib/identity/plcOperation.js'

/** `pdsctl identity add-rotation-key --json`. */
export interface AddRotationKeyResult {
  did: string
  handle: string | null
  /** sent: the token was mailed (finish with --token); added: done and found in the log; unchanged: the keys were already there. */
  status: 'sent' | 'added' | 'unchanged'
  before: string[]
  after: string[]
  operation: UnsignedPlcOperation
  /** The operation's CID in the directory's log, once added. */
  cid: string | null
  /** The rotation key that signed it (the PDS's), as the log shows. */
  signedBy: string | null
}

export default class IdentityAddRotationKey extends IdentityCommand<typeof IdentityAddRotationKey> {
  static override summary = "Add a rotation key (e.g. the user's own recovery key) to an account's did:plc, as the account"
  static override description = `Done as the account, the only way a PDS signs a PLC operation for a user: its password (--password-stdin, or a hidden prompt; never the admin password) and the token the PDS mails to its address (prompted, or --token). The operation starts from the DID's current PLC data (not the PDS's recommended credentials, which would reset a handle changed since); the new key goes last (lowest priority) or, with --first, first: a key above the PDS's can undo the PDS's operations for 72 hours. At most 5 rotation keys.
The operation is shown before it is signed, and it asks (or --yes). The PDS signs it; pdsctl checks that what the PDS signed is exactly what was shown, submits it through the PDS (com.atproto.identity.submitPlcOperation), and finds it in the directory's log.
Two runs for scripts: without --token and not on a terminal, it has the token mailed and exits 0; run it again with --token and --yes.
Keys: secp256k1 (did:key:zQ3sh…) or P-256 (did:key:zDnae…); make one with \`pdsctl identity generate-key\`. Keep its private key offline: whoever holds it controls the identity.
JSON: {did, handle, status: "sent"|"added"|"unchanged", before, after, operation, cid, signedBy}.`
  static override examples = [
    '<%= config.bin %> identity add-rotation-key alice.pds.example.com --key did:key:zQ3sh…',
    "printf '%s' \"$PW\" | <%= config.bin %> identity add-rotation-key alice.pds.example.com --key did:key:zQ3sh… --password-stdin",
    "printf '%s' \"$PW\" | <%= config.bin %> identity add-rotation-key alice.pds.example.com --key did:key:zQ3sh… --password-stdin --token ABCDE-12345 --first --yes",
  ]
  static override args = { account: Args.string({ description: 'The account: handle or DID.', required: true }) }
  static override flags = {
    key: Flags.string({ description: 'The public key to add, a did:key (repeatable).', required: true, multiple: true }),
    first: Flags.boolean({ description: 'Put the key first (highest priority) instead of last.' }),
    token: Flags.string({ description: 'The token from the mail "PLC Update Operation Requested": sign now, do not send a new mail.' }),
    'password-stdin': Flags.boolean({ description: "Read the account's password from stdin." }),
    yes: Flags.boolean({ char: 'y', description: 'Do not ask before signing (required when not on a terminal).' }),
    'plc-url': plcUrlFlag,
  }

  async run(): Promise<AddRotationKeyResult> {
    // Everything the user typed is checked before any request.
    const ref = parseAccountRef(this.args.account)
    const { parseDidKey } = await import('../../lib/identity/keys.js')
    const rk = await import('../../lib/identity/rotationKeys.js')
    const keys: string[] = []
    for (const k of this.flags.key) keys.push((await parseDidKey(k, '--key')).didKey)
    rk.checkKeyCount(keys)
    const token = this.flags.token === undefined ? undefined : rk.parsePlcToken(this.flags.token)
    if (ref.kind === 'did' && !ref.did.startsWith('did:plc:')) throw new UsageError(`${ref.did} is not a did:plc: only did:plc identities have rotation keys`)
    if (this.flags['password-stdin'] && this.flags['admin-password-stdin']) throw new UsageError('--password-stdin and --admin-password-stdin cannot both read stdin', { hint: 'add-rotation-key needs only the account password' })
    await this.plcUrl()
    const password = this.flags['password-stdin']
      ? await this.readStdin("the account's password")
      : await this.promptSecret(`Password for ${this.args.account}:`, "Pass the account's password with --password-stdin")
    if (!password) throw new UsageError("the account's password is empty")

    const pds = await this.client()
    const plc = await this.plcDirectory()
    const { loginAsAccount } = await import('../../lib/admin/email.js')
    const session = await loginAsAccount(pds, ref, password)
    const plan = await rk.planAddRotationKeys(plc, session.did, keys, { first: this.flags.first })
    const base = { did: plan.did, handle: plan.handle, before: plan.before, after: plan.after, operation: plan.operation, cid: null, signedBy: null }
    if (!plan.changed) {
      this.out.status(`${plan.handle ?? plan.did} already has ${keys.length === 1 ? 'this key' : 'these keys'} where asked; nothing to sign.`)
      return this.print({ ...base, status: 'unchanged' })
    }
    this.showPlan(plan.before, plan.after, plan.operation)
    if (!token && !this.interactive) {
      await rk.requestPlcToken(pds, session.accessJwt)
      this.out.status(`The PDS mailed a token to ${session.email ?? "the account's address"} (valid 15 minutes). Finish with: ${this.config.bin} identity add-rotation-key ${this.args.account} ${keys.map((k) => `--key ${k}`).join(' ')}${this.flags.first ? ' --first' : ''} --password-stdin --token TOKEN --yes`)
      return this.print({ ...base, status: 'sent' })
    }
    await this.confirmOrYes(`Sign and submit this operation for ${plan.handle ?? plan.did}?`, this.flags.yes)
    let code = token
    if (!code) {
      await rk.requestPlcToken(pds, session.accessJwt)
      this.out.status(`The PDS mailed a token to ${session.email ?? "the account's address"}.`)
      code = rk.parsePlcToken(await this.promptText('Token from the mail (ABCDE-12345):', 'Pass --token TOKEN'))
    }
    const signed = await rk.signAsAccount(pds, session.accessJwt, code, plan)
    await rk.submitAsAccount(pds, session.accessJwt, signed)
    const found = await rk.findInLog(plc, plan.did, signed)
    const missing = keys.filter((k) => !found.rotationKeys.includes(k))
    if (missing.length) throw new UsageError(`the operation is in the log but ${missing.join(', ')} is not among its rotation keys`)
    this.out.status(`Added: the PLC directory's current operation for ${plan.handle ?? plan.did} is ${found.cid} (${found.createdAt}), signed by ${found.signedBy ?? 'an unknown key'}; rotation keys now ${found.rotationKeys.join(', ')}.`)
    return this.print({ ...base, status: 'added', cid: found.cid, signedBy: found.signedBy })
  }

  /** The operation, before anything is signed: on stderr (stdout is for the result). */
  private showPlan(before: string[], after: string[], op: UnsignedPlcOperation): void {
    const lines = ['The operation to sign (rotation keys, highest priority first):']
    for (let i = 0; i < after.length; i++) lines.push(`  ${i + 1}. ${after[i]}${before.includes(after[i]) ? '' : '   (new)'}`)
    lines.push(`  after ${op.prev}; handle, PDS and signing key unchanged.`)
    // One status line each: a status line is one line whatever it holds (its newlines would show as \n).
    lines.push(...JSON.stringify(op, null, 2).split('\n'))
    for (const line of lines) this.out.status(line)
  }

  private async print(r: AddRotationKeyResult): Promise<AddRotationKeyResult> {
    if (this.out.json) await this.out.printJson(r)
    // Through tsvRows: the handle is the directory's, and a tab or newline in it must not add a field or a row.
    else if (this.out.mode === 'tsv') await this.out.tsvRows([[r.did, r.handle ?? '', r.status, r.cid ?? '']])
    return r
  }
}
