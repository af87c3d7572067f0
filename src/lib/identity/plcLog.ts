// What the PLC directory keeps about a did:plc identity beyond its DID document: the
// current operation's data (GET /DID/data: the rotation keys, which a DID document does
// not show) and the CID of the latest operation (GET /DID/log/audit), the `prev` every
// new operation must name. Read through an anonymous client on the directory (no
// credential ever goes there). Both answers are untrusted data: every field is checked.
import { BadResponseError, NotFoundError, XrpcError } from '../errors.js'
import type { PdsClient } from '../pds/xrpcClient.js'

/** The data of a did:plc identity's current operation. */
export interface PlcData {
  did: string
  rotationKeys: string[]
  verificationMethods: Record<string, string>
  alsoKnownAs: string[]
  services: Record<string, { type: string; endpoint: string }>
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string')
const isStringMap = (v: unknown): v is Record<string, string> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')

async function get(plc: PdsClient, did: string, suffix: string, name: string): Promise<unknown> {
  if (!/^did:plc:[a-z2-7]{24}$/.test(did)) throw new BadResponseError(`${did} is not a did:plc DID`)
  try {
    return (await plc.call({ method: 'GET', path: `/${did}${suffix}`, name })).body
  } catch (err) {
    if (err instanceof XrpcError && (err.status === 404 || err.status === 410)) {
      throw new NotFoundError(`the PLC directory (${plc.url}) has no ${did}${err.status === 410 ? ' (tombstoned)' : ''}`, { cause: err })
    }
    throw err
  }
}

/** GET /DID/data: the rotation keys, verification methods, handles and services now in force. */
export async function readPlcData(plc: PdsClient, did: string): Promise<PlcData> {
  const body = (await get(plc, did, '/data', `the PLC data of ${did}`)) as Record<string, unknown>
  const services: PlcData['services'] = {}
  const raw = body?.services
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    for (const [id, s] of Object.entries(raw)) {
      const svc = s as { type?: unknown; endpoint?: unknown }
      if (typeof svc?.type === 'string' && typeof svc.endpoint === 'string') services[id] = { type: svc.type, endpoint: svc.endpoint }
    }
  }
  if (body?.did !== did || !isStringArray(body.rotationKeys) || !isStringMap(body.verificationMethods) || !isStringArray(body.alsoKnownAs)) {
    throw new BadResponseError(`the PLC directory (${plc.url}) answered /${did}/data without did, rotationKeys, verificationMethods and alsoKnownAs for ${did}`)
  }
  return { did, rotationKeys: body.rotationKeys, verificationMethods: body.verificationMethods, alsoKnownAs: body.alsoKnownAs, services }
}

/** The CID of the latest operation in force (the audit log's last entry that was not nullified). */
export async function lastPlcOperationCid(plc: PdsClient, did: string): Promise<string> {
  const body = await get(plc, did, '/log/audit', `the PLC audit log of ${did}`)
  if (!Array.isArray(body)) throw new BadResponseError(`the PLC directory (${plc.url}) answered /${did}/log/audit with something other than a list`)
  for (let i = body.length - 1; i >= 0; i--) {
    const entry = body[i] as { cid?: unknown; nullified?: unknown; did?: unknown }
    if (entry?.nullified === true) continue
    if (entry?.did !== did || typeof entry.cid !== 'string' || !/^b[a-z2-7]{20,}$/.test(entry.cid)) {
      throw new BadResponseError(`the PLC audit log of ${did} has an entry without its did and cid`)
    }
    return entry.cid
  }
  throw new BadResponseError(`the PLC audit log of ${did} is empty`)
}
