// What the identity verbs share: the PLC directory (--plc-url, else PDS_DID_PLC_URL, else
// https://plc.directory) reached as an anonymous client; this PDS's public URL (its
// accounts' DID documents must point there); and the PDS's rotation key,
// PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX from the environment, the env file or the
// Kubernetes Secret (never a flag): its public did:key to recognise it, the key itself
// only to sign move-host's operations, never printed, logged or sent.
import * as Flags from './flags.js'
import type { CommandClass } from './command.js'
import { PdsCommand } from './base-command.js'
import { UsageError } from '../lib/errors.js'
import { parsePdsUrl, plcDirectoryUrl } from '../lib/pds/urls.js'
import type { PdsClient } from '../lib/pds/xrpcClient.js'
import type { PlcDirectory } from '../lib/identity/plcDirectory.js'
import type { PlcSigner } from '../lib/identity/keys.js'
import type { IdentityContext, PdsRotationKey } from '../lib/identity/identityCheck.js'

export const plcUrlFlag = Flags.string({ description: 'The PLC directory (default PDS_DID_PLC_URL from the environment or env file, else https://plc.directory).' })
export const publicUrlFlag = Flags.string({ description: "This PDS's public URL, where its accounts' DID documents must point (default https://$PDS_HOSTNAME, else --url)." })

/** The Secret's keys that may hold the rotation key: the installer's name, then the variable's. */
const SECRET_ROTATION_KEYS = ['plcRotationKey', 'PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX']

export abstract class IdentityCommand<T extends CommandClass> extends PdsCommand<T> {
  private plcPromise?: Promise<PlcDirectory>
  private rotationHexPromise?: Promise<{ value: string; origin: string } | undefined>

  /** The directory's URL, checked (https, or http to loopback). */
  protected async plcUrl(): Promise<string> {
    const settings = await this.settings()
    return plcDirectoryUrl((this.flags as { 'plc-url'?: string })['plc-url'], settings.plcUrl)
  }

  /** The PLC directory, with `concurrency` requests in flight at most. */
  protected plcDirectory(concurrency?: number): Promise<PlcDirectory> {
    this.plcPromise ??= (async () => {
      const [{ PlcDirectory }, url] = await Promise.all([import('../lib/identity/plcDirectory.js'), this.plcUrl()])
      const client = await this.anonymousClient(url, 'the PLC directory')
      return new PlcDirectory(client, { concurrency, signal: this.interruption.signal })
    })()
    return this.plcPromise
  }

  /** This PDS's public URL: --public-url, https://PDS_HOSTNAME (environment or env file), else the --url origin. */
  protected async publicUrl(): Promise<string> {
    const settings = await this.settings()
    const flag = (this.flags as { 'public-url'?: string })['public-url']
    if (flag !== undefined) return parsePdsUrl(flag, { what: 'public URL', readOnly: true })
    const envHostname = process.env.PDS_HOSTNAME?.trim() || settings.envFile?.values.PDS_HOSTNAME?.trim()
    if (envHostname) return parsePdsUrl(`https://${envHostname}`, { what: 'public URL (from PDS_HOSTNAME)', readOnly: true })
    if (settings.url) return settings.url
    throw new UsageError("this PDS's public URL is unknown", { hint: 'Pass --public-url https://pds.example.com, or set PDS_HOSTNAME (or --env-file)' })
  }

  /** PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: environment, env file, then the Secret (--kube-secret). Never logged. */
  protected rotationKeyHex(): Promise<{ value: string; origin: string } | undefined> {
    this.rotationHexPromise ??= (async () => {
      const settings = await this.settings()
      if (settings.plcRotationKey) return settings.plcRotationKey
      const src = settings.adminPassword
      if (src.kind !== 'kube-secret') return undefined
      const { readKubeSecretData } = await import('../lib/k8s/secretData.js')
      const k = settings.kube
      const data = await readKubeSecretData({ name: src.name, namespace: k?.namespace, context: k?.context, kubectl: k?.kubectl, env: process.env, onDebug: this.debugLog })
      for (const key of SECRET_ROTATION_KEYS) if (data[key]?.trim()) return { value: data[key].trim(), origin: `key ${key} of Secret ${src.name}` }
      return undefined
    })()
    return this.rotationHexPromise
  }

  /** The signer for move-host: the PDS's rotation key, required. */
  protected async rotationSigner(): Promise<PlcSigner> {
    const hex = await this.rotationKeyHex()
    if (!hex) {
      throw new UsageError("the PDS's PLC rotation key is needed to sign the operations", {
        hint: 'Set PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX in the environment, pass --env-file /pds/pds.env, or --kube-secret NAME (key plcRotationKey); it is never accepted as a flag',
      })
    }
    const { parsePrivateKeyHex, signerFromPrivateKey } = await import('../lib/identity/keys.js')
    const what = `PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX (${hex.origin})`
    return signerFromPrivateKey(parsePrivateKeyHex(hex.value, what), what)
  }

  /** The public did:key of the PDS's rotation key, from where it is configured; else inferred from the accounts. */
  protected async pdsRotationKey(pds: PdsClient, plc: PlcDirectory): Promise<PdsRotationKey | undefined> {
    const hex = await this.rotationKeyHex()
    if (hex) {
      const { publicDidKeyOfHex } = await import('../lib/identity/keys.js')
      return { didKey: await publicDidKeyOfHex(hex.value, `PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX (${hex.origin})`), source: hex.origin, inferred: false }
    }
    const { inferPdsRotationKey } = await import('../lib/identity/identityCheck.js')
    const settings = await this.settings()
    const inferred = await inferPdsRotationKey(pds, plc, { exclude: settings.recoveryDidKey ? [settings.recoveryDidKey] : [] })
    if (inferred) {
      this.out.warn(
        `the PDS's rotation key is inferred: ${inferred.didKey} is the key ${inferred.basis!.holding} of ${inferred.basis!.sampled} sampled accounts share (give PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX with --env-file or --kube-secret to be sure)`,
      )
    } else this.out.warn("the PDS's rotation key is unknown (no env file or Secret, and no account to infer it from): the rotation-key check is skipped")
    return inferred
  }

  /** Everything a check needs, resolved once. */
  protected async identityContext(opts: { concurrency?: number; public?: boolean; dnsServer?: string; publicUrl?: string; pdsRotationKey?: PdsRotationKey }): Promise<IdentityContext> {
    const publicUrl = opts.publicUrl ?? (await this.publicUrl())
    const settings = await this.settings()
    const pds = await this.client()
    const plc = await this.plcDirectory(opts.concurrency)
    const server = await pds.call({ method: 'GET', path: '/xrpc/com.atproto.server.describeServer', name: 'com.atproto.server.describeServer', requires: ['did', 'availableUserDomains'] })
    const domains = (server.body as { availableUserDomains: unknown }).availableUserDomains
    const pdsRotationKey = opts.pdsRotationKey ?? (await this.pdsRotationKey(pds, plc))
    let resolver
    if (opts.public) {
      const { publicResolver } = await import('../lib/identity/handleResolution.js')
      resolver = publicResolver({ dnsServers: opts.dnsServer ? [opts.dnsServer] : undefined, timeoutMs: settings.timeoutMs })
      const r = resolver
      this.onCleanup(async () => r.close())
    }
    const webClients = new Map<string, Promise<PdsClient>>()
    return {
      pds,
      plc,
      publicUrl,
      pdsRotationKey,
      recoveryKey: settings.recoveryDidKey,
      userDomains: Array.isArray(domains) ? domains.filter((d): d is string => typeof d === 'string') : [],
      public: resolver,
      webClient: (origin) => {
        let c = webClients.get(origin)
        if (!c) webClients.set(origin, (c = this.anonymousClient(origin, 'the did:web host')))
        return c
      },
    }
  }
}
