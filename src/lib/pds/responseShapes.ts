// The fields pdsctl reads from each XRPC answer, taken from the `required` lists of the
// lexicons' outputs (@atproto/api's lexicons, com.atproto.*). The client checks them on
// every 2xx answer, so an operation never reads `undefined` from a login page, a proxy's
// stub or a half-implemented server: it fails with "the PDS answered CALL without FIELD".
// `x[]` is an array whose items must each be objects; `x[].y` a field every item must have.
// Kept small on purpose: loading the lexicons themselves costs ~0.5 s of start-up.

export type FieldRule = string

/** NSID → the fields that must be present (and of the right kind) in its JSON output. */
export const REQUIRED_OUTPUT_FIELDS: Record<string, FieldRule[]> = {
  'com.atproto.sync.listRepos': ['repos[]', 'repos[].did'],
  'com.atproto.sync.getRepoStatus': ['did', 'active'],
  'com.atproto.sync.getLatestCommit': ['cid', 'rev'],
  'com.atproto.sync.listBlobs': ['cids[]'],
  'com.atproto.sync.getHostStatus': ['hostname'],
  'com.atproto.admin.getAccountInfo': ['did', 'handle'],
  'com.atproto.admin.getAccountInfos': ['infos[]', 'infos[].did', 'infos[].handle'],
  'com.atproto.admin.getInviteCodes': ['codes[]', 'codes[].code'],
  'com.atproto.admin.getSubjectStatus': ['subject'],
  'com.atproto.admin.updateSubjectStatus': ['subject'],
  'com.atproto.admin.sendEmail': ['sent'],
  'com.atproto.server.createInviteCode': ['code'],
  'com.atproto.server.createInviteCodes': ['codes[]', 'codes[].account', 'codes[].codes'],
  'com.atproto.server.describeServer': ['did', 'availableUserDomains'],
  'com.atproto.server.createSession': ['did', 'handle', 'accessJwt'],
  'com.atproto.server.createAccount': ['did', 'handle'],
  'com.atproto.server.getSession': ['did', 'handle'],
  'com.atproto.identity.resolveHandle': ['did'],
}

/** Rules parsed once (a rule is checked on every answer: no regex match and strings per request). */
const parsedRules = new Map<string, [string, boolean, string | undefined] | null>()
function parseRule(rule: string): [string, boolean, string | undefined] | null {
  let parsed = parsedRules.get(rule)
  if (parsed === undefined) {
    const m = /^([^[.]+)(\[\])?(?:\.(.+))?$/.exec(rule)
    parsed = m ? [m[1], m[2] !== undefined, m[3]] : null
    parsedRules.set(rule, parsed)
  }
  return parsed
}

/**
 * The first rule the body breaks, as "FIELD" (missing) or "FIELD (not an array)"; undefined
 * when the body has everything the rules ask for.
 */
export function missingField(body: unknown, rules: FieldRule[]): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'a JSON object'
  const obj = body as Record<string, unknown>
  for (const rule of rules) {
    const parsed = parseRule(rule)
    if (!parsed) continue
    const field = parsed[0]
    const isArray = parsed[1]
    const itemField = parsed[2]
    const v = obj[field]
    if (v === undefined || v === null) return field
    if (!isArray) continue
    if (!Array.isArray(v)) return `${field} (not an array)`
    for (let i = 0; i < v.length; i++) {
      const item = v[i] as Record<string, unknown> | null
      if (typeof item !== 'object' || item === null) return `${field}[${i}] (not an object)`
      if (itemField && (item[itemField] === undefined || item[itemField] === null)) return `${field}[${i}].${itemField}`
    }
  }
  return undefined
}
