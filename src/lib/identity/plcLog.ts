// What the PLC directory keeps about a did:plc identity beyond its DID document: the
// current operation's data (GET /DID/data: the rotation keys, which a DID document does
// not show) and the CID of the latest operation (GET /DID/log/audit), the `prev` every
// new operation must name. Parsed by identity's readers (plcOperation.ts). Read through an anonymous client on the directory (no
// credential ever goes there). Both answers are untrusted data: every field is checked.
import { BadResponseError, NotFoundError, XrpcError } from '../errors.js'
import type { PdsClient } from '../pds/xrpcClient.js'
import { parseAuditLog, parseDataResponse, type PlcData as OperationData } from './plcOperation.js'

/** The data of a did:plc identity's current operation, with its DID. */
export interface PlcData extends OperationData {
  did: string
}

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

/** GET /DID/data: the rotation keys, verification methods, handles and services now in force (checked as identity's own reader checks them). */
export async function readPlcData(plc: PdsClient, did: string): Promise<PlcData> {
  const body = await get(plc, did, '/data', `the PLC data of ${did}`)
  return { did, ...parseDataResponse(did, body) }
}

/** The CID of the latest operation in force (the audit log's last entry that was not nullified). */
export async function lastPlcOperationCid(plc: PdsClient, did: string): Promise<string> {
  const log = parseAuditLog(did, await get(plc, did, '/log/audit', `the PLC audit log of ${did}`))
  const last = log.findLast((e) => !e.nullified)
  if (!last) throw new BadResponseError(`the PLC audit log of ${did} is empty`)
  return last.cid
}
