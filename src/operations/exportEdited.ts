// The open model with an intervention built in, written as a plain ONNX model (with the configs it
// is read with beside it): the panel's "Export edited model...", as `neuron-path export-edited`.
import type { EditedModel } from '../engine/editModel';
import type { Intervention } from '../engine/intervene';
import { isArrayOf, isLocalPath, isObject, isString } from '../protocol/guards';
import { isIntervention } from '../protocol/intervention';
import { operation } from './operation';

export interface ExportEditedParams { intervention: Intervention; out: string }

/** Where it was written, what was done per block, and the configs copied beside it. */
export type ExportEditedResult = Pick<EditedModel, 'blocks'> & { out: string; copied: string[] };

export const exportEdited = operation<ExportEditedParams, ExportEditedResult, 'none'>({
  timeoutMs: 10 * 60_000,   // reads, probes and writes the whole model
  progress: 'none',
  queued: true,
  isParams: (v) => isLocalPath(v.out) && isIntervention(v.intervention),
  isResult: (v): v is ExportEditedResult => isObject(v) && isString(v.out) && isArrayOf(v.copied, isString) && Array.isArray(v.blocks),
  resultShape: 'the written model (out, blocks, copied)',
  subject: (p) => `the edited model ${p.out}`,
  failure: { code: 'analysis-failed', message: (p, reason) => `Writing the edited model ${p.out} failed: ${reason}. See the "Neuron Path" output for details.` },
  run: async (ctx, p) => {
    // Loaded when run: editing reads the model with onnxruntime, which the host that imports this table never does.
    const { writeEditedModel } = await import('../engine/editModel');
    const { blocks, out, copied } = await writeEditedModel(ctx.model().engine, p.intervention, p.out);
    return { blocks, out, copied };
  },
});
