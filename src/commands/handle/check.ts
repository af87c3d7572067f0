import * as Args from '../../base/args.js'
import * as Flags from '../../base/flags.js'
import { PdsCommand } from '../../base/base-command.js'
import { UsageError } from '../../lib/errors.js'
import { checkHandle, type HandleReport } from '../../lib/selfhost/handleCheck.js'
import { parseHandle } from '../../lib/pds/identifiers.js'
import { parsePdsUrl, plcDirectoryUrl } from '../../lib/pds/urls.js'

export default class HandleCheck extends PdsCommand<typeof HandleCheck> {
  static override summary = 'Check that a handle verifies: DNS TXT, HTTPS well-known, this PDS, the DID document'
  static override description = `What bsky-debug does, from the terminal. Checks, each pass / warn / fail with the fix:
- dns: TXT _atproto.HANDLE = did=…;  https: https://HANDLE/.well-known/atproto-did (one of the two is enough);
- agree: both name the same DID;  pds: this PDS resolves HANDLE to that DID;
- didDoc: the DID document (PLC directory --plc-url, default PDS_DID_PLC_URL from the env file, else https://plc.directory; did:web from the host);
- alsoKnownAs: it claims at://HANDLE;  pdsEndpoint: its #atproto_pds service is this PDS (--public-url, else https://$PDS_HOSTNAME).
--dns-server HOST:PORT (env PDSCTL_DNS_SERVER) asks that DNS server instead of the system's. Exits 6 when a check fails.
JSON: {handle, did, ok, checks: [{id, status, message, fix?, value?}]}.`
  static override examples = ['<%= config.bin %> handle check alice.example.com --env-file /pds/pds.env', '<%= config.bin %> handle check alice.example.com --dns-server 1.1.1.1:53 --json']
  static override args = { handle: Args.string({ description: 'The handle.', required: true }) }
  static override flags = {
    'plc-url': Flags.string({ description: 'The PLC directory (default PDS_DID_PLC_URL from the environment or env file, else https://plc.directory).' }),
    'dns-server': Flags.string({ description: 'A DNS server HOST:PORT to ask (env PDSCTL_DNS_SERVER).' }),
    'public-url': Flags.string({ description: 'The URL the DID document must point at (default https://$PDS_HOSTNAME).' }),
  }

  async run(): Promise<HandleReport> {
    const handle = parseHandle(this.args.handle)
    const dns = this.flags['dns-server'] ?? process.env.PDSCTL_DNS_SERVER
    if (dns !== undefined && !/^[\w.:[\]-]+:\d{1,5}$|^[\w.:[\]-]+$/.test(dns)) throw new UsageError(`--dns-server "${dns}" is not HOST or HOST:PORT`)
    const settings = await this.settings()
    const plcUrl = plcDirectoryUrl(this.flags['plc-url'], settings.plcUrl)
    const publicUrl = this.flags['public-url']
      ? parsePdsUrl(this.flags['public-url'], { what: 'public URL', readOnly: true })
      : settings.hostname
        ? `https://${settings.hostname}`
        : undefined
    if (!publicUrl) throw new UsageError('the PDS public URL is unknown', { hint: 'Pass --public-url, or set PDS_HOSTNAME' })
    // Guessed from the PDS URL's host (no --public-url, no PDS_HOSTNAME): a failing pdsEndpoint
    // then asks for the public URL instead of advising a PLC entry pointing at the guess.
    const publicUrlGuessed = !this.flags['public-url'] && settings.hostnameFrom === 'url'
    const report = await checkHandle({ handle, client: await this.client(), publicUrl, publicUrlGuessed, plcUrl, dnsServers: dns ? [dns] : undefined, timeoutMs: settings.timeoutMs })
    return this.reportChecks(report, (ids) => `${handle} does not verify: ${ids.join(', ')} failed`)
  }
}
