// The fault suite, writes, in front of the real PDS 0.4.x (the official image's line through
// 2026; test/bed/pds04, installed by scripts/pds04.sh): the same table as writes.test.ts,
// so no answer of pdsctl's rests on what only 0.5.x does.
import { faultTable } from './support.js'
import { EXPECTED_GAPS } from './gaps.js'

faultTable('writes', '0.4', 3, EXPECTED_GAPS)
