import * as Args from '../../base/args.js'
import * as Flags from '../../base/flags.js'
import { IdentityCommand, plcUrlFlag, publicUrlFlag } from '../../base/identity-command.js'
import { CheckFailedError, UsageError } from '../../lib/errors.js'
import { parseAccountRef } from '../../lib/pds/identifiers.js'
import type { IdentityReport, PdsRotationKey } from '../../lib/identity/identityCheck.js'

/** `pdsctl identity show --json`: the report plus where the PDS's rotation key came from. */
export interface IdentityShowResult extends IdentityReport {
  pdsRotationKey: PdsRotationKey | null
  plcUrl: string
  publicUrl: string
}

const OWNER_WORDS = { 'this-pds': 'this PDS', 'pds-recovery': 'PDS_RECOVERY_DID_KEY', unknown: 'unknown' } as const

export default class IdentityShow extends IdentityCommand<typeof IdentityShow> {
  static override summary = "An account's identity: DID document, PLC operation log, rotation keys, problems and their fixes"
  static override description = `The DID document (handle, PDS endpoint, signing key) and, for did:plc, the operation log from the PLC directory (/DID/log/audit): each operation's date, what it changed, which rotation key signed it, whether it was nullified. The rotation keys in priority order, with this PDS's marked (the public did:key of PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX from the environment, the env file or --kube-secret; without it, the key most of the PDS's accounts share, marked as inferred), PDS_RECOVERY_DID_KEY's, and the unknown ones.
Problems (exit 6), each with its fix: did-document (missing, tombstoned), endpoint (not this PDS), handle (does not resolve back to the DID through the PDS: resolveHandle and /.well-known/atproto-did with the handle as Host; with --public also DNS TXT and HTTPS), rotation-key (this PDS's key is not among the rotation keys), signing-key (the document's key does not verify the latest commit), plc-log (the directory's log does not check out).
Warnings: recent-operation (one other than the creation in the last 72 hours: the recovery window is open), unknown-rotation-key, moved-away, not-hosted.
JSON: {did, method, handle, pdsEndpoint, signingKey, status, rotationKeys: [{key, priority, owner}], latestCommit, problems: [{id, message, fix}], warnings: [...], skipped, log: [{createdAt, cid, nullified, type, changes: [{field, from, to}], signedBy, consistent}], ok, pdsRotationKey, plcUrl, publicUrl}.`
  static override examples = [
    '<%= config.bin %> identity show alice.pds.example.com --env-file /pds/pds.env',
    '<%= config.bin %> identity show did:plc:ewvi7nxzyoun6zhxrhs64oiz --public --json',
  ]
  static override args = { account: Args.string({ description: 'The account: handle or DID.', required: true }) }
  static override flags = {
    'plc-url': plcUrlFlag,
    'public-url': publicUrlFlag,
    public: Flags.boolean({ description: 'Also resolve the handle through public DNS TXT and HTTPS.' }),
    'dns-server': Flags.string({ description: 'With --public: a DNS server HOST:PORT to ask (env PDSCTL_DNS_SERVER).' }),
  }

  async run(): Promise<IdentityShowResult> {
    const ref = parseAccountRef(this.args.account)
    const dns = this.flags['dns-server'] ?? process.env.PDSCTL_DNS_SERVER
    if (dns !== undefined && !/^[\w.:[\]-]+(:\d{1,5})?$/.test(dns)) throw new UsageError(`--dns-server "${dns}" is not HOST or HOST:PORT`)
    await this.publicUrl()
    await this.plcUrl()
    const ctx = await this.identityContext({ public: this.flags.public, dnsServer: dns })
    const { checkIdentity, accountOnPds } = await import('../../lib/identity/identityCheck.js')
    const { resolveDid } = await import('../../lib/admin/accounts.js')
    const did = await resolveDid(ctx.pds, ref)
    const report = await checkIdentity(ctx, await accountOnPds(ctx.pds, did), { log: true })
    const result: IdentityShowResult = { ...report, pdsRotationKey: ctx.pdsRotationKey ?? null, plcUrl: ctx.plc.url, publicUrl: ctx.publicUrl }
    if (this.out.json) await this.out.printJson(result)
    else await this.render(result)
    if (!report.ok) throw new CheckFailedError(`${report.handle ?? did} has ${report.problems.length} identity problem${report.problems.length === 1 ? '' : 's'}: ${report.problems.map((p) => p.id).join(', ')}`)
    return result
  }

  private async render(r: IdentityShowResult): Promise<void> {
    const { changeText } = await import('../../lib/identity/plcOperation.js')
    const keyName = (key: string | null) => {
      if (!key) return 'none of the allowed keys'
      const k = r.rotationKeys.find((x) => x.key === key)
      return k && k.owner !== 'unknown' ? `${key} (${OWNER_WORDS[k.owner]})` : key
    }
    const findings = [
      ...r.problems.map((p) => ({ status: 'fail', id: p.id, message: p.message, fix: p.fix })),
      ...r.warnings.map((w) => ({ status: 'warn', id: w.id, message: w.message, fix: w.fix })),
    ]
    if (this.out.mode === 'tsv') {
      // Piped: one row per line, its section first (awk '$1 == "operation"' picks a section).
      const sections: unknown[][][] = [
        [
          ['did', r.did],
          ['handle', r.handle],
          ['pds', r.pdsEndpoint],
          ['signing-key', r.signingKey],
          ['status', r.status],
          ['latest-commit', r.latestCommit?.cid ?? null],
          ['pds-rotation-key', r.pdsRotationKey?.didKey ?? null],
        ],
        r.rotationKeys.map((k) => ['rotation-key', k.priority, k.key, k.owner]),
        (r.log ?? []).map((e) => ['operation', e.createdAt, e.changes.map(changeText).join('; '), e.signedBy, e.nullified ? 'nullified' : 'in-force']),
        findings.map((f) => [f.status === 'fail' ? 'problem' : 'warning', f.id, f.message, f.fix ?? '']),
        r.skipped.map((s) => ['skipped', s]),
      ]
      for (const rows of sections) {
        if (!rows.length) continue
        await this.out.printRows([rows], rows[0].map((_, i) => ({ header: String(i), value: (row: unknown[]) => row[i] as string })))
      }
      return
    }
    const pdsKey = r.pdsRotationKey
    await this.out.printFields([
      ['DID', r.did],
      ['Handle', r.handle ?? 'none'],
      ['PDS', r.pdsEndpoint ?? 'none'],
      ['Signing key', r.signingKey ?? 'none'],
      ['Status here', r.status],
      ['Latest commit', r.latestCommit ? `${r.latestCommit.cid}${r.latestCommit.rev ? ` (rev ${r.latestCommit.rev})` : ''}` : 'not checked'],
      ["This PDS's rotation key", pdsKey ? `${pdsKey.didKey} (${pdsKey.inferred ? 'inferred' : `from ${pdsKey.source}`})` : 'unknown'],
    ])
    if (r.rotationKeys.length) {
      await this.out.line('')
      await this.out.printTable(r.rotationKeys, [
        { header: 'PRIORITY', value: (k) => k.priority, shrink: 'none' },
        { header: 'ROTATION KEY', value: (k) => k.key },
        { header: 'OWNER', value: (k) => OWNER_WORDS[k.owner], shrink: 'none' },
      ])
    }
    if (r.log?.length) {
      await this.out.line('')
      await this.out.printTable(r.log, [
        { header: 'DATE', value: (e) => e.createdAt },
        { header: 'OPERATION', value: (e) => `${e.changes.map(changeText).join('; ')}${e.nullified ? ' [nullified]' : ''}`, shrink: 'wrap' },
        { header: 'SIGNED BY', value: (e) => keyName(e.signedBy) },
      ])
    }
    if (findings.length) {
      await this.out.line('')
      await this.out.printTable(findings, [
        { header: 'STATUS', value: (c) => c.status.toUpperCase(), shrink: 'none' },
        { header: 'CHECK', value: (c) => c.id, shrink: 'none' },
        { header: 'RESULT', value: (c) => (c.fix ? `${c.message}.\nFix: ${c.fix}` : c.message), shrink: 'wrap' },
      ])
    }
    if (r.skipped.length) this.out.status(`Not checked: ${r.skipped.join('; ')}`)
    if (r.ok) this.out.status(`${r.handle ?? r.did}: no identity problem${r.warnings.length ? ` (${r.warnings.length} warning${r.warnings.length === 1 ? '' : 's'})` : ''}`)
  }
}
