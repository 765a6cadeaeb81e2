// How the CLI prints a command an operator can paste into sh (--dry-run, error messages): words
// made only of safe characters as they are, anything else in single quotes.
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
