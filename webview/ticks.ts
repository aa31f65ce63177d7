// Round axis ticks. chart.js steps by 1, 2 or 5 times a power of ten; a step of 5 puts ticks at odd
// multiples (0.035, 0.045) that read as noise. Those axes keep every other tick: the multiples of
// ten times the power (0.03, 0.04). Pure, so it is unit tested.

/** The tick values to keep: all, unless the step is 5·10^k and at least two multiples of 10^(k+1) are among them. */
export function roundTicks(values: number[]): number[] {
  if (values.length < 3) return values;
  const step = values[1] - values[0];
  if (!(step > 0)) return values;
  const power = 10 ** Math.floor(Math.log10(step) + 1e-9);
  if (Math.abs(step / power - 5) > 1e-6) return values;
  const ten = 10 * power;
  const kept = values.filter((v) => Math.abs(v / ten - Math.round(v / ten)) < 1e-6);
  return kept.length >= 2 ? kept : values;
}
