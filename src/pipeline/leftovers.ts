// What a run has made outside this machine (a Vultr instance or ISO, an uploaded object) and
// not removed yet, each as a sentence that names it and the command that removes it. Steps
// keep it current from the moment they ask for something to be made (before they know its
// id) until it is removed or handed over as the result. A run that fails or is cut short
// ends with these sentences, so nothing it made is ever left unnamed: not even after a second
// Ctrl-C that stops the cleanup (pipeline/runner.ts).

export class Leftovers {
  constructor(
    private readonly items = new Map<string, string>(),
    /** Keys of a scoped ledger start with this (see scoped()). */
    private readonly prefix = '',
  ) {}

  /** `key` is the thing ("instance", "iso"); `text` says what is left and how to remove it. */
  set(key: string, text: string): void {
    this.items.set(`${this.prefix}${key}`, text);
  }

  /** Gone, or handed over as the result of the run. */
  delete(key: string): void {
    this.items.delete(`${this.prefix}${key}`);
  }

  /** This ledger's lines (a scoped one's only; the whole run's include every scope's). */
  get list(): string[] {
    return [...this.items].filter(([key]) => key.startsWith(this.prefix)).map(([, text]) => text);
  }

  /** A ledger for one part of the run (one VM of several), kept in this one: its keys cannot clash with another part's. */
  scoped(scope: string): Leftovers {
    return new Leftovers(this.items, `${this.prefix}${scope}: `);
  }
}
