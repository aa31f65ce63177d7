// Hand-made records for the batch tests: only the fields the pure batch functions read, with values
// chosen so the expected frequencies, similarities and statistics can be worked out by hand.
import type { BatchRecord } from '../../src/engine/batch/schema';

export interface Made {
  path: number[];
  trueClass?: number | null;
  folderLabel?: string | null;
  predicted?: number;
  before?: number;                  // target probability
  jas?: number;
  remove?: number; enhance?: number; removeTop1?: number;
  activation?: { jas: number; remove: number; enhance: number; removeTop1?: number };
  ig?: { jas: number; remove: number; enhance: number; removeTop1?: number };
  ip?: { jas: number; remove: number; enhance: number; removeTop1?: number };
  random?: { jasMean: number; removeMean: number; enhanceMean: number; removeKept?: number };
}

const LABELS = ['zero', 'one', 'two', 'three'];

export function made(m: Made, i: number, D = 8): BatchRecord {
  const predicted = m.predicted ?? m.trueClass ?? 0;
  const before = m.before ?? 0.8;
  const remove = m.remove ?? 0.2, enhance = m.enhance ?? 0.9;
  const neurons = (p: number[]) => p.map((neuron, layer) => ({ layer, neuron, activation: 1, score: 1 }));
  const baseline = (b: NonNullable<Made['activation']>) => ({ path: neurons(m.path), ...b });
  return {
    schema: 'neuron-path/1',
    model: { path: '/m.onnx', sha256: 'a'.repeat(64), layers: m.path.length, neuronsPerLayer: D, scope: 'cls', inputSize: [16, 16], numClasses: LABELS.length },
    image: { path: `/images/${i}.png`, sha256: String(i).padStart(64, '0'), width: 16, height: 16 },
    settings: { steps: 20, formula: 'reference', target: 'predicted' },
    prediction: { top: [{ class: predicted, label: LABELS[predicted], probability: before }] },
    target: { class: predicted, label: LABELS[predicted], probability: before },
    path: neurons(m.path),
    jas: m.jas ?? 1,
    layerScores: [], tokenMaps: [],
    baselines: {
      ...(m.activation ? { activation: baseline(m.activation) } : {}),
      ...(m.ig ? { integratedGradients: baseline(m.ig) } : {}),
      ...(m.ip ? { influencePattern: baseline(m.ip) } : {}),
      ...(m.random ? { random: { count: 10, seed: 0, jasStd: 0, ...m.random } } : {}),
    },
    manipulation: {
      remove: { probability: remove, deviation: remove - before, ...(m.removeTop1 !== undefined ? { top1: m.removeTop1 } : {}) },
      enhance: { probability: enhance, deviation: enhance - before },
    },
    timing: { seconds: 0, forwardPasses: 0, backwardPasses: 0 },
    trueClass: m.trueClass ?? null,
    folderLabel: m.folderLabel ?? (m.trueClass !== undefined && m.trueClass !== null ? LABELS[m.trueClass] : null),
    batch: {
      key: 'k', model: { sha256: 'a'.repeat(64), scope: 'auto', preprocess: {}, labelsPath: null },
      analyze: { steps: 20, formula: 'reference', target: 'predicted', baselines: ['activation', 'ig', 'random'], randomCount: 10, randomSeed: 0 },
    },
  };
}

export const records = (ms: Made[], D = 8) => ms.map((m, i) => made(m, i, D));
