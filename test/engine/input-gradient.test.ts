// Gradients with respect to the input pixels against PyTorch autograd (float64) on the fixture models
// (scripts/python/input_gradient_ref.py): plain, a strided-convolution stem with BatchNorm (XCiT),
// gated (SwiGLU), registers; and a ResNet-hybrid stem (scripts/python/make_hybrid_fixture.py:
// 'same' Pad, weight-standardised Conv, GroupNorm as InstanceNormalization, ReLU, -inf Pad and
// overlapping MaxPool). A neuron summed over the readout rows, over the patch tokens, a logit.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { InputGradient, type Objective } from '../../src/engine/inputGradient';
import { readModel } from '../../src/engine/modelStore';
import { assertClose, FIXTURES, type Fixture } from '../helpers/fixtures';

/** The input: in the fixture's reference.json, or (a fixture for the input gradient only) in its input-gradients.json. */
interface Gradients { input?: { data: number[] }; objectives: Recorded[] }

interface Recorded { layer?: number; neuron?: number; rows?: string; rowIndices?: number[]; class?: number; value: number; grad: number[] }

const withReference = fs.readdirSync(FIXTURES).filter((d) => fs.existsSync(path.join(FIXTURES, d, 'input-gradients.json'))).sort();

test('five fixtures have input-gradient references', () => assert.equal(withReference.length, 5));

for (const name of withReference) {
  test(`input gradients: ${name} against PyTorch, within 1e-4 of the largest element`, async () => {
    const gradients = JSON.parse(fs.readFileSync(path.join(FIXTURES, name, 'input-gradients.json'), 'utf8')) as Gradients;
    const recorded = gradients.objectives;
    const input = gradients.input ?? (JSON.parse(fs.readFileSync(path.join(FIXTURES, name, 'reference.json'), 'utf8')) as Fixture).input;
    const pixels = Float32Array.from(input.data);
    for (const r of recorded) {
      const objective: Objective = r.class !== undefined ? { kind: 'class', class: r.class }
        : { kind: 'neuron', layer: r.layer!, neuron: r.neuron!, rows: r.rowIndices! };
      const what = r.class !== undefined ? `logit ${r.class}` : `neuron ${r.layer}:${r.neuron} over the ${r.rows} rows`;
      const { model } = readModel(path.join(FIXTURES, name, 'model.onnx'), () => undefined);
      const graph = await InputGradient.build(model, undefined, objective, { threads: 1 });
      try {
        const { values, grad } = await graph.run(pixels, 1);
        assert.ok(Math.abs(values[0] - r.value) <= 1e-4 * Math.max(1, Math.abs(r.value)), `${name} ${what}: value ${values[0]} vs ${r.value}`);
        assertClose(grad, r.grad, 1e-4, 0, `${name} ${what}: gradient`);
      } finally {
        await graph.release();
      }
    }
  });
}
