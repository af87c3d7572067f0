import * as Args from '../base/args.js'
import * as Flags from '../base/flags.js'
import { readFile } from 'node:fs/promises'
import { PdsCommand } from '../base/base-command.js'
import { UsageError } from '../lib/errors.js'
import { callXrpc, lookupMethodType, parseNsid, parseParams } from '../lib/pds/xrpcCall.js'

export default class Xrpc extends PdsCommand<typeof Xrpc> {
  static override summary = 'Call any XRPC method on the PDS (the escape hatch), with admin auth'
  static override description = `A query (GET) or a procedure (POST): --method, else decided from the lexicons of @atproto/api, else GET.
key=value pairs are query parameters for a GET (repeat a key for an array) or JSON fields for a POST; a POST body can also come from --input FILE or --input - (stdin; JSON unless --content-type says otherwise).
Admin Basic auth is sent (to the PDS only) unless --no-auth. The response body is printed as JSON (a body that is not JSON: as text, or under --json as a JSON string).`
  static override examples = [
    '<%= config.bin %> xrpc com.atproto.admin.getAccountInfo did=did:plc:abc123',
    '<%= config.bin %> xrpc com.atproto.admin.getInviteCodes limit=10 sort=usage',
    'echo \'{"did":"did:plc:abc","handle":"new.example.com"}\' | <%= config.bin %> xrpc com.atproto.admin.updateAccountHandle --input -',
    '<%= config.bin %> xrpc com.atproto.server.describeServer --no-auth',
  ]
  static override strict = false
  static override args = { nsid: Args.string({ description: 'The method NSID.', required: true }) }
  static override flags = {
    method: Flags.string({ description: 'GET (query) or POST (procedure).', options: ['GET', 'POST'] }),
    input: Flags.string({ description: 'Read the procedure body from this file (- for stdin).' }),
    'content-type': Flags.string({ description: 'Content type of --input (default application/json).' }),
    'no-auth': Flags.boolean({ description: 'Send no credentials.' }),
  }

  async run(): Promise<unknown> {
    const nsid = parseNsid(this.args.nsid)
    const params = parseParams(this.positionals.slice(1))
    if (this.flags.method === 'GET' && this.flags.input) throw new UsageError('--input is for procedures (POST)')
    let rawBody: Buffer | undefined
    let body: unknown
    if (this.flags.input) {
      const text = this.flags.input === '-' ? await this.readStdin('the request body') : await readFile(this.flags.input, 'utf8').catch((e: NodeJS.ErrnoException) => {
        throw new UsageError(`cannot read ${this.flags.input} (${e.code ?? e.message})`)
      })
      if (this.flags['content-type'] && this.flags['content-type'] !== 'application/json') rawBody = Buffer.from(text)
      else {
        try {
          body = JSON.parse(text)
        } catch (err) {
          throw new UsageError(`the request body is not JSON (${(err as Error).message})`, { hint: 'Pass --content-type for other encodings' })
        }
      }
      if (Object.keys(params).length) throw new UsageError('give the body with --input or as key=value pairs, not both')
    }
    const method = (this.flags.method as 'GET' | 'POST' | undefined) ?? (this.flags.input ? 'POST' : (await lookupMethodType(nsid)) === 'procedure' ? 'POST' : 'GET')
    const res = await callXrpc(await this.client(), {
      nsid,
      method,
      params,
      body,
      rawBody,
      contentType: this.flags['content-type'],
      auth: this.flags['no-auth'] ? 'none' : 'admin',
    })
    const out = res.body === undefined ? {} : res.body
    // A body that is not JSON is printed as it came (escaped for the terminal), or under --json as a JSON string.
    if (typeof out === 'string' && !this.out.json) await this.out.write(out.endsWith('\n') ? out : out + '\n')
    else await this.out.printJson(out)
    return out
  }
}
