// The hostile-data suite, family `terminal`, on a real terminal (a pty from `script`, 120
// columns: tables, not TSV): every command that prints what a server said, every string,
// in the answers and in an error, text and --json (support.ts).
import { terminalTable } from './support.js'

terminalTable('pty', '0.5', 'pty', 4)
