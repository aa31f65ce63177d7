// The pruning protocol (`neuron-path report --prune`) on a result file whose records the open model
// made: its images are read again; progress after every image.
import { pruningCheck, type PruningCurve } from '../engine/batch/prune';
import { loadReports } from '../engine/batch/report';
import { EngineError } from '../engine/errors';
import { pace } from '../format';
import { isPruneRequest, type PruneRequest } from '../protocol/folderPanel';
import { isFiniteNumber, isIndex, isLocalPath, isObject } from '../protocol/guards';
import { operation } from './operation';

export interface PruneParams extends PruneRequest { resultFile: string }

const REFERENCES: readonly unknown[] = ['folder class', 'clean prediction', 'mixed'] satisfies PruningCurve['reference'][];

export const prune = operation<PruneParams, PruningCurve, 'batch'>({
  timeoutMs: 10 * 60_000,   // between two progress messages: one image
  progress: 'batch',
  queued: true,
  isParams: (v) => isLocalPath(v.resultFile) && isPruneRequest(v),
  isResult: (v): v is PruningCurve => isObject(v) && isFiniteNumber(v.keep) && isFiniteNumber(v.seed) && isFiniteNumber(v.holdout)
    && isIndex(v.layers) && isIndex(v.images) && Array.isArray(v.skipped) && REFERENCES.includes(v.reference)
    && isObject(v.clean) && isFiniteNumber(v.clean.accuracy) && Array.isArray(v.classes) && Array.isArray(v.points),
  resultShape: 'a pruning curve (keep, seed, holdout, layers, images, skipped, reference, clean, classes, points)',
  subject: (p) => `the result file ${p.resultFile}`,
  // A result file the check cannot read is not one to move away (that advice is for a folder run's output).
  failure: { code: 'analysis-failed', message: (p, reason) => `The pruning check of ${p.resultFile} failed: ${reason}.` },
  run: async (ctx, p) => {
    const { engine } = ctx.model();
    const { records, report } = await loadReports([p.resultFile]);
    if (report.model.sha256 !== engine.info.sha256) {
      throw new EngineError('not-comparable', `${p.resultFile} was made with another model (${report.model.path}); open that model (neuronPath.modelPath) to run the pruning check`);
    }
    const started = performance.now();
    return pruningCheck(engine, records, report.patterns, {
      fractions: p.fractions, keep: p.keep, holdout: p.holdout, layers: p.layers, seed: p.seed, labels: engine.info.labels, signal: ctx.signal,
      onProgress: (done, total) => {
        ctx.progress({ done, total, resumed: 0, analysed: done, failed: 0, ...pace(done, (performance.now() - started) / 1000, total - done) });
      },
    });
  },
});
