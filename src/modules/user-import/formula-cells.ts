/**
 * Spreadsheets run a cell that starts with one of these as a formula (CSV injection, OWASP). The
 * export prefixes such a cell with a single quote, which spreadsheets show as text; the import
 * drops that quote again, so an exported file can be edited and imported back unchanged.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export function neutraliseFormula(cell: string): string {
  return FORMULA_START.test(cell) ? `'${cell}` : cell;
}

export function restoreFormula(cell: string): string {
  return cell.startsWith("'") && FORMULA_START.test(cell.slice(1)) ? cell.slice(1) : cell;
}
