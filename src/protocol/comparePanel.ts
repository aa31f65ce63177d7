// The messages between the extension host and the comparison page (two images' paths).
import type { PathComparison } from '../engine/pathCompare';
import { isObject } from './guards';

export interface CompareSide { image: string; imageUri: string; fileName: string }

export interface CompareInit {
  a: CompareSide;
  b: CompareSide;
  comparison?: PathComparison;   // absent while the cross JAS is computed
  error?: string;
}

export type HostToCompareWebview =
  | { type: 'init'; init: CompareInit }
  | { type: 'comparison'; comparison: PathComparison }
  | { type: 'failed'; message: string };

export type CompareWebviewToHost =
  | { type: 'ready' }
  /** Open the image panel of side a or b. */
  | { type: 'openImage'; side: 'a' | 'b' };

export function isCompareWebviewToHost(v: unknown): v is CompareWebviewToHost {
  if (!isObject(v)) return false;
  return v.type === 'ready' || (v.type === 'openImage' && (v.side === 'a' || v.side === 'b'));
}
