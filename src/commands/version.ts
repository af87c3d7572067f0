import { PdsCommand } from '../base/base-command.js'
import { PdsctlError } from '../lib/errors.js'

/** `pdsctl version --json`. */
export interface VersionInfo {
  pdsctl: string
  node: string
  platform: string
  arch: string
  /** Only with a connection (--url, PDS_URL/PDS_HOSTNAME, --env-file, --kube-*, a context). */
  pds?: {
    url: string
    /** What /xrpc/_health says, as sent; null when the PDS reports none (0.4.x run from npm). */
    version: string | null
    reported: boolean
    /** The @atproto/pds version that means: the official image reports its tag (0.4.5026 is 0.5.26). */
    pdsVersion: string | null
    /** The official image's tag for that version (what `k8s upgrade --image-tag` takes): 0.5.26 → 0.4.5026. */
    imageTag: string | null
  }
}

export default class Version extends PdsCommand<typeof Version> {
  static override summary = "pdsctl's version, Node's and the platform; with a connection, the PDS's version too"
  static override description = `With a connection (--url, PDS_URL or PDS_HOSTNAME, --env-file, --kube-*, a saved context) it also asks the PDS (/xrpc/_health, no password): a 0.4.x PDS run from npm reports no version (version null, reported false). Fails (exit 1) when the PDS does not answer.
The official image reports its tag, and publishes the 0.5 line under 0.4.50NN tags: a PDS reporting 0.4.5026 runs @atproto/pds 0.5.26; both are shown.
JSON: {pdsctl, node, platform, arch, pds?: {url, version, reported, pdsVersion, imageTag}}.`
  static override examples = ['<%= config.bin %> version', '<%= config.bin %> version --url https://pds.example.com --json']

  async run(): Promise<VersionInfo> {
    const info: VersionInfo = { pdsctl: this.config.version, node: process.versions.node, platform: process.platform, arch: process.arch }
    const settings = await this.settings()
    if (settings.url || settings.kube) {
      const client = await this.client()
      const res = await client.send({ method: 'GET', path: '/xrpc/_health', name: '_health' })
      const body = res.body as { version?: unknown } | undefined
      if (res.status !== 200) throw new PdsctlError(`the PDS at ${client.url} answered /xrpc/_health with HTTP ${res.status}`, { hint: `Check it with ${this.config.bin} health` })
      const version = typeof body === 'object' && body && typeof body.version === 'string' ? body.version : null
      const { imageTagOf, pdsVersionOfReport } = await import('../lib/k8s/imageTags.js')
      const pdsVersion = version ? pdsVersionOfReport(version) : null
      info.pds = { url: client.url, version, reported: version !== null, pdsVersion, imageTag: pdsVersion ? imageTagOf(pdsVersion) : null }
    }
    if (this.out.json) await this.out.printJson(info)
    else {
      await this.out.printFields([
        ['pdsctl', info.pdsctl],
        ['node', info.node],
        ['platform', `${info.platform}-${info.arch}`],
        ...(info.pds ? ([['pds', info.pds.url], ['pds version', versionWords(info.pds)]] as Array<[string, unknown]>) : []),
      ])
    }
    return info
  }
}

/** "0.5.26 (image tag 0.4.5026, as reported)", "0.4.219", "0.5.35 (image tag 0.4.5035)". */
function versionWords(pds: NonNullable<VersionInfo['pds']>): string {
  if (!pds.version) return 'not reported (a 0.4.x PDS from npm reports none)'
  if (!pds.pdsVersion) return `${pds.version} (not a version pdsctl can read)`
  if (!pds.imageTag || pds.imageTag === pds.pdsVersion) return pds.pdsVersion
  return `${pds.pdsVersion} (image tag ${pds.imageTag}${pds.version === pds.imageTag ? ', as reported' : ''})`
}
