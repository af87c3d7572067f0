// The hostile-data suite, family `terminal`, piped (TSV and --json): every command that
// prints what a server said, every string, in the answers and in an error (support.ts).
import { terminalTable } from './support.js'

terminalTable('piped', '0.5', 'piped', 4)
