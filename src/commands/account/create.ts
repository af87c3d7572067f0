import * as Args from '../../base/args.js'
import * as Flags from '../../base/flags.js'
import { PdsCommand } from '../../base/base-command.js'
import { createAccount, type CreatedAccount } from '../../lib/admin/accountAdmin.js'
import { UsageError } from '../../lib/errors.js'

function looksLikeEmail(value: string): boolean {
  return value.includes('@') && !value.trim().startsWith('@')
}

export default class AccountCreate extends PdsCommand<typeof AccountCreate> {
  static override summary = 'Create an account (with a one-use invite when the PDS requires one)'
  static override description = `The email and handle are flags, or arguments in pdsadmin's order (EMAIL HANDLE).
On a terminal, a missing --handle or --email is asked for, and you choose between a generated password (shown once) and typing one (hidden). Piped, under --json or --no-input nothing is asked: the missing flags are named (exit 2).
The password is generated and shown once (on stdout, never logged), or read with --password-stdin.
When describeServer says invite codes are required, a one-use code is created with the admin password and used at once.
Handles on the PDS's own domains need a first label of 3 to 18 characters; taken or reserved handles, and bad emails, are refused with the PDS's reason.
JSON: {did, handle, email, inviteCode, password? (only when generated)}.`
  static override examples = [
    '<%= config.bin %> account create --handle alice.pds.example.com --email alice@example.com',
    '<%= config.bin %> account create alice@example.com alice.pds.example.com    # pdsadmin\'s order: EMAIL HANDLE',
    "printf '%s' \"$PW\" | <%= config.bin %> account create --handle bob.pds.example.com --email bob@example.com --password-stdin --json",
  ]
  // pdsadmin's `account create EMAIL HANDLE`, for the operator who types it from habit.
  static override args = {
    email: Args.string({ description: 'The email address, as pdsadmin takes it (or --email).' }),
    handle: Args.string({ description: 'The new handle, as pdsadmin takes it (or --handle).' }),
  }
  static override flags = {
    handle: Flags.string({ description: 'The new handle (asked for on a terminal when missing).', helpValue: 'HANDLE' }),
    email: Flags.string({ description: 'The email address (asked for on a terminal when missing).', helpValue: 'EMAIL' }),
    'password-stdin': Flags.boolean({ description: 'Read the password from stdin instead of generating one.' }),
  }

  async run(): Promise<CreatedAccount> {
    const { parseEmail, parseHandle } = await import('../../lib/pds/identifiers.js')
    let { handle, email } = this.flags
    const given = this.args
    if (given.email !== undefined && email !== undefined) throw new UsageError('the email is given twice, as an argument and as --email', { hint: 'Give it once.' })
    if (given.handle !== undefined && handle !== undefined) throw new UsageError('the handle is given twice, as an argument and as --handle', { hint: 'Give it once.' })
    // HANDLE EMAIL, the other way round from pdsadmin: say so rather than "not a valid email".
    if (given.email !== undefined && !looksLikeEmail(given.email) && (given.handle === undefined || looksLikeEmail(given.handle))) {
      throw new UsageError(`"${given.email}" is not an email address, and the email comes first`, {
        hint: `As with pdsadmin: ${this.config.bin} account create EMAIL HANDLE, or use --email and --handle.`,
      })
    }
    email ??= given.email
    handle ??= given.handle
    if (handle !== undefined) parseHandle(handle)
    if (email !== undefined) parseEmail(email)
    const missing = [handle === undefined ? '--handle' : '', email === undefined ? '--email' : ''].filter(Boolean)
    if (missing.length && !this.interactive) {
      throw new UsageError(`missing ${missing.join(' and ')}`, {
        hint: `Fix: ${this.config.bin} account create --handle ${handle ?? 'alice.pds.example.com'} --email ${email ?? 'alice@example.com'}`,
      })
    }
    let password = this.flags['password-stdin'] ? await this.readStdin('the new password') : undefined
    if (password === '') throw new UsageError('--password-stdin was given but stdin was empty')
    if (missing.length) {
      // On a terminal: ask for what is missing (each answer checked as the flag would be),
      // then offer a generated password. With every flag given, the password is generated as before.
      const prompts = await import('@inquirer/prompts')
      const check = (parse: (v: string) => string) => (v: string) => {
        try {
          parse(v)
          return true
        } catch (err) {
          return (err as Error).message
        }
      }
      handle ??= (await prompts.input({ message: 'Handle (e.g. alice.pds.example.com):', validate: check(parseHandle) })).trim()
      email ??= (await prompts.input({ message: 'Email:', validate: check(parseEmail) })).trim()
      if (password === undefined) {
        const generate = await prompts.confirm({ message: 'Generate a password (shown once)?', default: true })
        if (!generate) {
          password = await prompts.password({ message: 'Password (at least 8 characters):', mask: true, validate: (v) => v.length >= 8 || 'at least 8 characters' })
          const again = await prompts.password({ message: 'Again:', mask: true })
          if (again !== password) throw new UsageError('the two passwords differ')
        }
      }
    }
    if (handle === undefined || email === undefined) throw new UsageError('missing --handle or --email')
    const created = await createAccount(await this.client(), { handle, email, password })
    if (this.out.json) await this.out.printJson(created)
    else {
      await this.out.printFields([
        ['handle', created.handle],
        ['did', created.did],
        ['email', created.email],
        ['invite code', created.inviteCode],
        ...(created.password ? ([['password', created.password]] as Array<[string, unknown]>) : []),
      ])
    }
    if (created.password) this.out.status('The password above is shown only this once: pass it to the user now.')
    this.out.status(`Created ${created.handle}. Its email is unconfirmed until \`${this.config.bin} email confirm ${created.handle}\`.`)
    return created
  }
}
