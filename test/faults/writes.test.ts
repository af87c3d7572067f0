// The fault suite, writes: every write command × every broken answer, text and --json, in
// front of the real PDS 0.5.x (writes-pds04.test.ts: the same table in front of 0.4.x).
// See support.ts for the table and the assertions, gaps.ts for the known gaps.
import { faultTable } from './support.js'
import { EXPECTED_GAPS } from './gaps.js'

// node starts this many cases at once (a case's timer starts when it starts).
faultTable('writes', '0.5', 3, EXPECTED_GAPS)
