// The fault suite, hangs: every network command against a server that does not answer,
// sends its headers or its body at 1 byte/s: each must end by its --timeout deadline with
// exit 1 (6 for the checks), text and --json. Processes mostly wait here, so more run at once
// (node starts this many cases at once; a case's timer starts when it starts).
import { faultTable } from './support.js'
import { EXPECTED_GAPS } from './gaps.js'

faultTable('hangs', '0.5', 6, EXPECTED_GAPS)
