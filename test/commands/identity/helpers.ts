// Identity tests change accounts through the PLC directory itself, as a user's key or a
// PDS's would: operations signed with @did-plc/lib (an implementation independent of
// pdsctl's), sent to the bed's real directory.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Secp256k1Keypair } from '@atproto/crypto'
import * as plcLib from '@did-plc/lib'
import type { TestBed } from '../../bed/pds.js'

export type OpData = { rotationKeys: string[]; verificationMethods: Record<string, string>; alsoKnownAs: string[]; services: Record<string, { type: string; endpoint: string }> }

/** Sign an update of `did` with the bed's PDS rotation key (or `signer`), through @did-plc/lib. */
export async function plcUpdate(bed: TestBed, did: string, fn: (d: OpData) => OpData, signer?: Secp256k1Keypair): Promise<void> {
  const key = signer ?? (await Secp256k1Keypair.import(bed.rotationKeyHex))
  await new plcLib.Client(bed.plcUrl).updateData(did, key as never, (d: unknown) => fn(d as OpData) as never)
}

export async function plcAuditLog(bed: TestBed, did: string): Promise<Array<{ cid: string; nullified: boolean; createdAt: string; operation: OpData & { type: string; prev: string | null; sig: string } }>> {
  const res = await fetch(`${bed.plcUrl}/${did}/log/audit`)
  if (!res.ok) throw new Error(`audit log of ${did}: ${res.status}`)
  return (await res.json()) as never
}

export async function plcData(bed: TestBed, did: string): Promise<OpData> {
  const res = await fetch(`${bed.plcUrl}/${did}/data`)
  if (!res.ok) throw new Error(`data of ${did}: ${res.status}`)
  return (await res.json()) as OpData
}

/** A pds.env as the operator has it: the admin password, the rotation key, the PLC URL. */
export function envFileFor(bed: TestBed, extra = ''): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pdsctl-identity-'))
  const file = path.join(dir, 'pds.env')
  writeFileSync(
    file,
    `PDS_ADMIN_PASSWORD=${bed.adminPassword}\nPDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX=${bed.rotationKeyHex}\nPDS_RECOVERY_DID_KEY=${bed.recoveryDidKey}\nPDS_DID_PLC_URL=${bed.plcUrl}\n${extra}`,
    { mode: 0o600 },
  )
  return file
}
