// Who invited whom. An account "invited" everyone who signed up with a code it owns: a
// code made for it (`forAccount`, whether it made the code itself or the admin gifted it)
// or, failing that, made by it (`createdBy`). Codes in the admin's own pool (`forAccount`
// admin) form the `admin` root. Built from one pass over getInviteCodes (the relations)
// and one over the account listing (handle, status, email confirmation of the accounts in
// the tree only): memory grows with the number of invite relations, not with all accounts.
import { NotFoundError, PdsctlError, UsageError } from '../errors.js'
import type { AccountRef } from '../pds/identifiers.js'
import type { ServerDefs } from '../pds/lexicon.js'
import { BadResponseError } from '../errors.js'
import type { PdsClient } from '../pds/xrpcClient.js'
import { getAccountInfos, listAccounts, resolveDid } from './accounts.js'

export type InviteCode = ServerDefs.InviteCode

/** Every invite code, page by page (getInviteCodes, newest first, 500 a page), shape checked. */
export async function* inviteCodePages(client: PdsClient, pageSize = 500): AsyncGenerator<InviteCode[]> {
  let cursor: string | undefined
  const seenCursors = new Set<string>()
  do {
    const page = await client.query('com.atproto.admin.getInviteCodes', { sort: 'recent', limit: pageSize, cursor }, 'admin')
    if (!page || !Array.isArray(page.codes)) throw new PdsctlError('the PDS answered getInviteCodes without a codes list')
    for (const c of page.codes) {
      if (typeof c?.code !== 'string' || typeof c.forAccount !== 'string' || typeof c.createdBy !== 'string' || typeof c.available !== 'number' || typeof c.disabled !== 'boolean' || !Array.isArray(c.uses)) {
        throw new PdsctlError('the PDS answered getInviteCodes with a code missing code, forAccount, createdBy, available, disabled or uses')
      }
    }
    yield page.codes
    cursor = page.codes.length ? page.cursor : undefined
    if (cursor !== undefined) {
      // A server that hands back a cursor it already gave would be followed for ever.
      if (seenCursors.has(cursor)) throw new BadResponseError(`the PDS answered com.atproto.admin.getInviteCodes with a cursor it had already given (${cursor.slice(0, 40)}): the listing would never end`, { hint: 'Something in front of the PDS may be caching answers; check the proxy' })
      seenCursors.add(cursor)
    }
  } while (cursor)
}

/** The account a code belongs to, or `admin` for the admin's own pool. */
export function codeOwner(c: Pick<InviteCode, 'forAccount' | 'createdBy'>): string {
  if (c.forAccount && c.forAccount !== 'admin') return c.forAccount
  if (c.createdBy && c.createdBy !== 'admin') return c.createdBy
  return 'admin'
}

export interface InviteRelations {
  /** invitee DID → who invited it (a DID or `admin`) and the code it used. */
  parent: Map<string, { owner: string; code: string }>
  /** owner (a DID or `admin`) → the DIDs it invited, in the order the codes were listed. */
  children: Map<string, string[]>
}

export async function collectInviteRelations(client: PdsClient, opts: { pageSize?: number } = {}): Promise<InviteRelations> {
  const parent = new Map<string, { owner: string; code: string }>()
  const children = new Map<string, string[]>()
  for await (const page of inviteCodePages(client, opts.pageSize)) {
    for (const c of page) {
      const owner = codeOwner(c)
      for (const u of c.uses) {
        if (parent.has(u.usedBy)) continue // one sign-up code per account
        parent.set(u.usedBy, { owner, code: c.code })
        let list = children.get(owner)
        if (!list) children.set(owner, (list = []))
        list.push(u.usedBy)
      }
    }
  }
  return { parent, children }
}

/** One account in the tree (the documented JSON shape). */
export interface InviteTreeNode {
  did: string
  handle: string | null
  /** active, takendown, deactivated, … or `missing` (in an invite code's uses, no longer on this PDS). */
  status: string
  emailConfirmed: boolean
  /** The code this account signed up with (absent on a root, which was not invited by anyone in the tree). */
  code?: string
  children: InviteTreeNode[]
}

/** `pdsctl invite tree --json`. */
export interface InviteTree {
  /** Accounts that invited someone and were not themselves invited by an account (a subtree each). */
  roots: InviteTreeNode[]
  /** Accounts that signed up with a code from the admin's own pool, each with its subtree. */
  admin: InviteTreeNode[]
}

type NodeInfo = { handle: string | null; status: string; emailConfirmed: boolean }

/** Every DID below `top` (not including it), breadth first, cycle-safe. */
export function descendants(rel: InviteRelations, top: string): string[] {
  const out: string[] = []
  const seen = new Set([top])
  const queue = [top]
  while (queue.length) {
    for (const child of rel.children.get(queue.shift()!) ?? []) {
      if (seen.has(child)) continue
      seen.add(child)
      out.push(child)
      queue.push(child)
    }
  }
  return out
}

/**
 * The whole tree, or with `account` only that account's subtree (then `roots` holds that
 * one node and `admin` is empty).
 */
export async function buildInviteTree(client: PdsClient, opts: { account?: AccountRef; pageSize?: number } = {}): Promise<{ tree: InviteTree; rootDid?: string; relations: InviteRelations }> {
  const rootDid = opts.account ? await resolveDid(client, opts.account, { admin: true }) : undefined
  const rel = await collectInviteRelations(client, opts)
  // The accounts whose details are needed.
  let wanted: Set<string>
  let topLevel: string[]
  let adminTop: string[] = []
  if (rootDid) {
    wanted = new Set([rootDid, ...descendants(rel, rootDid)])
    topLevel = [rootDid]
  } else {
    wanted = new Set([...rel.parent.keys(), ...[...rel.children.keys()].filter((k) => k !== 'admin')])
    topLevel = [...rel.children.keys()].filter((k) => k !== 'admin' && !rel.parent.has(k))
    adminTop = rel.children.get('admin') ?? []
  }
  const info = new Map<string, NodeInfo>()
  for await (const page of listAccounts(client)) {
    for (const a of page) {
      if (wanted.has(a.did)) info.set(a.did, { handle: a.handle, status: a.status, emailConfirmed: a.emailConfirmed })
    }
  }
  if (rootDid && !info.has(rootDid)) throw new NotFoundError(`no account ${rootDid} on this PDS`, { hint: '`pdsctl account list` shows them all' })

  const seen = new Set<string>()
  const node = (did: string, code?: string): InviteTreeNode => {
    seen.add(did)
    const i = info.get(did) ?? { handle: null, status: 'missing', emailConfirmed: false }
    const kids = (rel.children.get(did) ?? []).filter((c) => !seen.has(c))
    const children = kids.map((c) => node(c, rel.parent.get(c)?.code)).sort(byHandle)
    return { did, handle: i.handle, status: i.status, emailConfirmed: i.emailConfirmed, ...(code ? { code } : {}), children }
  }
  const roots = topLevel.map((d) => node(d, rootDid ? rel.parent.get(d)?.code : undefined)).sort(byHandle)
  const admin = adminTop.map((d) => node(d, rel.parent.get(d)?.code)).sort(byHandle)
  return { tree: { roots, admin }, rootDid, relations: rel }
}

function byHandle(a: InviteTreeNode, b: InviteTreeNode): number {
  return (a.handle ?? '\uffff' + a.did).localeCompare(b.handle ?? '\uffff' + b.did)
}

/** Depth-first, parent before children: for TSV rows and for walking a subtree. */
export function* walkTree(nodes: InviteTreeNode[], depth = 0, parent: string | null = null): Generator<{ node: InviteTreeNode; depth: number; parent: string | null }> {
  for (const n of nodes) {
    yield { node: n, depth, parent }
    yield* walkTree(n.children, depth + 1, n.did)
  }
}

/** The indented tree for a terminal, with box-drawing guides. */
export function renderInviteTree(tree: InviteTree): string[] {
  const lines: string[] = []
  const label = (n: InviteTreeNode) =>
    `${n.handle ?? '(no handle)'}  ${n.status}  ${n.emailConfirmed ? 'email confirmed' : 'email unconfirmed'}  ${n.did}${n.code ? `  [${n.code}]` : ''}`
  const walk = (nodes: InviteTreeNode[], prefix: string) => {
    nodes.forEach((n, i) => {
      const last = i === nodes.length - 1
      lines.push(`${prefix}${last ? '└─ ' : '├─ '}${label(n)}`)
      walk(n.children, prefix + (last ? '   ' : '│  '))
    })
  }
  for (const r of tree.roots) {
    lines.push(label(r))
    walk(r.children, '')
  }
  if (tree.admin.length) {
    lines.push('(admin: codes from the admin\'s own pool)')
    walk(tree.admin, '')
  }
  return lines
}

/** One account of `invite tree --disable` (the documented JSON shape). */
export interface DisabledAccount {
  did: string
  handle: string | null
  /** Already disabled before this run. */
  alreadyDisabled: boolean
  /** What the PDS reports after the run (re-read); in a dry run, the state before. */
  invitesDisabled: boolean
}

export interface DisabledCode {
  code: string
  forAccount: string
  /** What the PDS reports after the run (re-read); in a dry run, false. */
  disabled: boolean
}

/** `pdsctl invite tree ACCOUNT --disable --json`. */
export interface InviteDisableReport {
  account: string
  dryRun: boolean
  accounts: DisabledAccount[]
  /** Codes with uses left and not disabled before the run: the ones disabled. */
  codes: DisabledCode[]
  /** Everything the run set out to change is confirmed by the PDS. */
  ok: boolean
}

/**
 * Disable the invites of `dids` (a subtree): admin.disableAccountInvites for each account
 * not yet disabled, admin.disableInviteCodes for their codes with uses left, then re-read
 * every account with getAccountInfos and report what the PDS confirms.
 */
export async function disableSubtreeInvites(client: PdsClient, rootDid: string, dids: string[], opts: { dryRun?: boolean; concurrency?: number } = {}): Promise<InviteDisableReport> {
  if (!dids.length) throw new UsageError('no accounts to disable invites for')
  const before = await getAccountInfos(client, dids)
  const accounts: DisabledAccount[] = []
  const codes: DisabledCode[] = []
  for (const did of dids) {
    const v = before.get(did)
    if (!v) continue // deleted since it used its code
    if (typeof v.invitesDisabled !== 'boolean' && v.invitesDisabled !== undefined) throw new PdsctlError(`getAccountInfos gave ${did} a non-boolean invitesDisabled`)
    accounts.push({ did, handle: v.handle ?? null, alreadyDisabled: v.invitesDisabled === true, invitesDisabled: v.invitesDisabled === true })
    for (const c of v.invites ?? []) {
      if (!c.disabled && c.uses.length < c.available) codes.push({ code: c.code, forAccount: did, disabled: false })
    }
  }
  if (opts.dryRun) return { account: rootDid, dryRun: true, accounts, codes, ok: true }

  const todo = accounts.filter((a) => !a.alreadyDisabled)
  let next = 0
  const worker = async () => {
    while (next < todo.length) {
      const a = todo[next++]
      await client.procedure('com.atproto.admin.disableAccountInvites', { account: a.did }, 'admin')
    }
  }
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 4, todo.length) }, worker))
  for (let i = 0; i < codes.length; i += 100) {
    await client.procedure('com.atproto.admin.disableInviteCodes', { codes: codes.slice(i, i + 100).map((c) => c.code) }, 'admin')
  }

  // Success only for what the PDS confirms.
  const after = await getAccountInfos(client, accounts.map((a) => a.did))
  let ok = true
  for (const a of accounts) {
    const v = after.get(a.did)
    a.invitesDisabled = v?.invitesDisabled === true
    if (!a.invitesDisabled) ok = false
    for (const c of codes.filter((c) => c.forAccount === a.did)) {
      const seen = v?.invites?.find((i) => i.code === c.code)
      c.disabled = seen?.disabled === true
      if (!c.disabled) ok = false
    }
  }
  return { account: rootDid, dryRun: false, accounts, codes, ok }
}
