// The scope setting (which token rows the neurons are read at): its names and its syntax. Pure, so
// the CLI and the extension host can validate it without loading the engine.
import type { ScopeSetting } from './result';

export const SCOPE_NAMES = ['auto', 'cls', 'patches', 'all'] as const;
export const SCOPE_RANGE = /^(\d+):(\d*)$/;
export const SCOPE_HELP = 'auto (the rows the head reads, from the graph), cls (token 0), patches (the patch grid), all, or a token range a:b (end excluded)';

export function isScopeSetting(value: unknown): value is ScopeSetting {
  return typeof value === 'string' && ((SCOPE_NAMES as readonly string[]).includes(value) || SCOPE_RANGE.test(value));
}
