// Repo revisions are TIDs: 13 characters of base32-sortable ("234567abcdefghijklmnopqrstuvwxyz"),
// a 64-bit number whose top bits are microseconds since the epoch and low 10 bits a clock id.
// Compared by value, not as text, so a malformed rev is an error rather than a wrong answer.
import { PdsctlError } from '../errors.js'

const ALPHABET = '234567abcdefghijklmnopqrstuvwxyz'
const TID_RE = /^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$/

export function isTid(s: string): boolean {
  return TID_RE.test(s)
}

export function tidValue(tid: string): bigint {
  if (!isTid(tid)) throw new PdsctlError(`"${tid}" is not a repo rev (TID)`)
  let v = 0n
  for (const c of tid) v = (v << 5n) | BigInt(ALPHABET.indexOf(c))
  return v
}

/** The TID's clock in milliseconds since the epoch. */
export function tidTimestampMs(tid: string): number {
  return Number(tidValue(tid) >> 10n) / 1000
}

/** <0 when a is older than b, 0 when equal, >0 when newer. */
export function compareTids(a: string, b: string): number {
  const x = tidValue(a)
  const y = tidValue(b)
  return x < y ? -1 : x > y ? 1 : 0
}
