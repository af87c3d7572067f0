// `pdsctl backup verify DIR`: is the backup whole and true?
// - every file the manifest lists exists and has its sha256 and size;
// - every CAR parses with @atproto/repo (each block's bytes match its CID), the full CAR
//   and its diffs together form a repository whose MST reaches every record block, whose
//   commit is the DID's, and whose signature matches the signing key of the DID document
//   (PLC directory or did:web) when that can be reached; when it cannot, that is a
//   warning, never a pass;
// - every blob's bytes hash to its CID.
// One repository is held in memory at a time (the MST walk needs its blocks).
// The manifest is data (issue 17): an entry whose names do not parse into the paths pdsctl
// writes (a DID that is a path, a CID with `..`, a repo path elsewhere) is a problem of
// manifest.json and nothing it names is opened; no file is read through a symbolic link (a
// link is named as the problem); every file a problem names is inside DIR.
import { realpath } from 'node:fs/promises'
import path from 'node:path'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { PdsctlError } from '../errors.js'
import { LinkRefusedError, openNoFollow, resolveInside } from '../cli/safeFiles.js'
import { backupPaths, quoted } from './safePaths.js'
import { IN_BACKUP, entryProblems, hashFile, readJson, type AccountState, type FileEntry, type Manifest } from './layout.js'

export interface VerifyOptions {
  dir: string
  /** Where did:plc documents are read (default https://plc.directory). */
  plcUrl?: string
  /** Do not fetch DID documents (signatures reported unchecked). */
  offline?: boolean
  /** Fetch a DID document (injected in tests; default: HTTP GET through PdsClient). */
  resolveDidDoc?: (did: string) => Promise<unknown>
  onProgress?: (done: number, total: number) => void
}

export interface VerifyProblem {
  account: string | null
  file: string
  problem: string
}

/** The `--json` result of `pdsctl backup verify`. */
export interface VerifyReport {
  dir: string
  ok: boolean
  accounts: number
  repos: { checked: number; signatureVerified: number; signatureUnchecked: number }
  blobs: { checked: number }
  /** Damaged or missing counts files inside DIR only; links: files that are symbolic links (not followed). */
  files: { checked: number; damaged: number; missing: number; links: number }
  /** Account entries of the manifest that are not what pdsctl writes (their files were not read). */
  untrusted: number
  problems: VerifyProblem[]
  warnings: string[]
}

export async function verifyBackup(opts: VerifyOptions): Promise<VerifyReport> {
  const shownDir = path.resolve(opts.dir)
  const report: VerifyReport = {
    dir: shownDir,
    ok: false,
    accounts: 0,
    repos: { checked: 0, signatureVerified: 0, signatureUnchecked: 0 },
    blobs: { checked: 0 },
    files: { checked: 0, damaged: 0, missing: 0, links: 0 },
    untrusted: 0,
    problems: [],
    warnings: [],
  }
  // DIR itself may be a link (the user named it); nothing below it is followed.
  const dir = await realpath(shownDir).catch(() => shownDir)
  let manifest: Manifest | undefined
  try {
    manifest = await readJson<Manifest>(path.join(dir, 'manifest.json'), 'manifest.json')
  } catch (err) {
    if (err instanceof LinkRefusedError) {
      report.problems.push({ account: null, file: 'manifest.json', problem: 'is a symbolic link: not followed' })
      report.files.links++
    } else {
      report.problems.push({ account: null, file: 'manifest.json', problem: `not valid JSON (${err instanceof PdsctlError ? err.message : (err as Error).message})` })
      report.files.damaged++
    }
    return report
  }
  if (!manifest) {
    report.problems.push({ account: null, file: 'manifest.json', problem: 'missing: the backup never finished (run `pdsctl backup DIR` again)' })
    report.files.missing++
    return report
  }
  if (!Array.isArray(manifest.accounts)) {
    report.problems.push({ account: null, file: 'manifest.json', problem: 'has no accounts list' })
    report.files.damaged++
    return report
  }
  const resolve = opts.resolveDidDoc ?? (opts.offline ? undefined : didDocResolver(opts.plcUrl ?? 'https://plc.directory'))
  const unreachable = new Set<string>()
  let done = 0
  for (const acct of manifest.accounts) {
    report.accounts++
    const problems = entryProblems(acct)
    if (problems.length) {
      // Not what pdsctl wrote: named as the manifest's problem; nothing it names is opened.
      report.untrusted++
      const who = typeof (acct as { did?: unknown })?.did === 'string' ? (acct as { did: string }).did : null
      for (const p of problems) report.problems.push({ account: who, file: 'manifest.json', problem: `the entry for ${who ? quoted(who) : 'an account'}: ${p}` })
    } else await verifyAccount(dir, acct, resolve, report, unreachable)
    opts.onProgress?.(++done, manifest.accounts.length)
  }
  if (opts.offline) report.warnings.unshift('signatures not checked (--offline)')
  report.ok = report.problems.length === 0
  return report
}

async function verifyAccount(
  dir: string,
  acct: AccountState,
  resolve: ((did: string) => Promise<unknown>) | undefined,
  report: VerifyReport,
  unreachable: Set<string>,
): Promise<void> {
  const did = acct.did
  const problem = (file: string, what: string) => report.problems.push({ account: did, file, problem: what })

  const cars: FileEntry[] = [acct.repo, ...(acct.diffs ?? [])]
  const carsOk: boolean[] = []
  for (const f of [...cars, acct.account]) carsOk.push(await checkFile(dir, f, report, did))

  // The repository: every CAR parsed (CIDs checked), then the whole MST walked from the head.
  if (carsOk.slice(0, cars.length).every(Boolean)) {
    const { readCarWithRoot, BlockMap, verifyRepo } = await import('@atproto/repo')
    const blocks = new BlockMap()
    let root: CID | undefined
    let parsed = true
    for (const f of cars) {
      try {
        const fh = await openNoFollow(resolveInside(dir, f.path), f.path, IN_BACKUP)
        if (!fh) throw new Error('missing')
        const bytes = await fh.readFile().finally(() => fh.close())
        const car = await readCarWithRoot(bytes)
        blocks.addMap(car.blocks)
        root = car.root as unknown as CID
      } catch (err) {
        problem(f.path, `not a readable CAR (${(err as Error).message})`)
        parsed = false
      }
    }
    if (parsed && root) {
      if (root.toString() !== acct.head) problem(cars[cars.length - 1].path, `its commit ${root} is not the head ${acct.head} the manifest names`)
      let signingKey: string | undefined
      if (resolve) {
        try {
          signingKey = await signingKeyOf(await resolve(did))
        } catch (err) {
          unreachable.add(did)
          report.warnings.push(`${did}: signature not checked: cannot get its DID document (${err instanceof PdsctlError ? err.line : (err as Error).message})`)
        }
      }
      try {
        const verified = await verifyRepo(blocks, root as never, did, signingKey)
        if (verified.commit.rev !== acct.rev) problem(cars[cars.length - 1].path, `its commit rev ${verified.commit.rev} is not the rev ${acct.rev} the manifest names`)
        report.repos.checked++
        if (signingKey) report.repos.signatureVerified++
        else report.repos.signatureUnchecked++
      } catch (err) {
        problem(cars[cars.length - 1].path, `the repository does not verify (${(err as Error).message})`)
      }
    }
  }

  for (const b of acct.blobs ?? []) {
    const file = backupPaths.blob(did, b.cid)
    if (!(await checkFile(dir, { path: file, size: b.size, sha256: b.sha256 }, report, did))) continue
    let want: string
    try {
      const cid = CID.parse(b.cid)
      if (cid.multihash.code !== sha256.code) throw new Error('not sha256')
      want = Buffer.from(cid.multihash.digest).toString('hex')
    } catch (err) {
      problem(file, `the manifest names it by "${b.cid}", not a sha256 CID (${(err as Error).message})`)
      continue
    }
    if (want !== b.sha256) problem(file, `its bytes (sha256 ${b.sha256}) do not match the CID`)
    else report.blobs.checked++
  }
}

/** Exists (a regular file, not a link), right size, right sha256. `f.path` is one entryProblems accepted: inside DIR. */
async function checkFile(dir: string, f: FileEntry, report: VerifyReport, account: string): Promise<boolean> {
  report.files.checked++
  const abs = resolveInside(dir, f.path)
  let got: { size: number; sha256: string }
  try {
    got = await hashFile(abs, f.path)
  } catch (err) {
    if (err instanceof LinkRefusedError) {
      report.files.links++
      report.problems.push({ account, file: f.path, problem: 'is a symbolic link: not followed (pdsctl reads no link inside a backup)' })
    } else {
      report.files.missing++
      report.problems.push({ account, file: f.path, problem: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : `not readable (${err instanceof PdsctlError ? err.message : (err as Error).message})` })
    }
    return false
  }
  if (got.size !== f.size || got.sha256 !== f.sha256) {
    report.files.damaged++
    report.problems.push({
      account,
      file: f.path,
      problem: got.size !== f.size ? `damaged: ${got.size} bytes, the manifest says ${f.size}` : `damaged: sha256 ${got.sha256}, the manifest says ${f.sha256}`,
    })
    return false
  }
  return true
}

/**
 * The `#atproto` key of a DID document, as a did:key. Both forms PLC has served: Multikey
 * (multicodec-prefixed), and the older Ecdsa*VerificationKey2019 (raw key bytes), as
 * @atproto/identity reads them.
 */
export async function signingKeyOf(doc: unknown): Promise<string> {
  const methods = (doc as { verificationMethod?: Array<{ id?: string; type?: string; publicKeyMultibase?: string }> })?.verificationMethod
  const m = Array.isArray(methods) ? methods.find((v) => typeof v.id === 'string' && v.id.endsWith('#atproto')) : undefined
  if (!m?.publicKeyMultibase) throw new PdsctlError('the DID document has no #atproto signing key')
  const crypto = await import('@atproto/crypto')
  switch (m.type) {
    case 'EcdsaSecp256k1VerificationKey2019':
      return crypto.formatDidKey(crypto.SECP256K1_JWT_ALG, crypto.multibaseToBytes(m.publicKeyMultibase))
    case 'EcdsaSecp256r1VerificationKey2019':
      return crypto.formatDidKey(crypto.P256_JWT_ALG, crypto.multibaseToBytes(m.publicKeyMultibase))
    default: {
      const parsed = crypto.parseMultikey(m.publicKeyMultibase)
      return crypto.formatDidKey(parsed.jwtAlg, parsed.keyBytes)
    }
  }
}

/** Fetch DID documents: did:plc from `plcUrl`, did:web from its host, through PdsClient (deadlines, no credential). */
export function didDocResolver(plcUrl: string): (did: string) => Promise<unknown> {
  return async (did) => {
    const [{ PdsClient }, { directTarget }] = await Promise.all([import('../pds/xrpcClient.js'), import('../pds/target.js')])
    let base: string
    let docPath: string
    if (did.startsWith('did:plc:')) {
      base = plcUrl
      docPath = `/${did}`
    } else if (did.startsWith('did:web:')) {
      base = `https://${decodeURIComponent(did.slice('did:web:'.length))}`
      docPath = '/.well-known/did.json'
    } else throw new PdsctlError(`${did}: unsupported DID method`)
    const plc = did.startsWith('did:plc:')
    const client = new PdsClient({
      target: directTarget(base),
      timeoutMs: 10_000,
      readRetries: 1,
      role: plc ? 'the PLC directory' : 'the did:web host',
      urlFrom: plc ? '--plc-url / PDS_DID_PLC_URL' : 'the DID (did:web names its host)',
    })
    try {
      const res = await client.call({ method: 'GET', path: docPath, name: `the DID document of ${did}` })
      return res.body
    } finally {
      await client.close()
    }
  }
}
