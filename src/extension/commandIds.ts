// The command ids, as package.json contributes them (a test checks that the two agree). Its own
// module, so the panels and the analysis service can run a command without importing commands.ts.
export const COMMANDS = {
  analyzeImage: 'neuronPath.analyzeImage',
  analyzeFolder: 'neuronPath.analyzeFolder',
  openResults: 'neuronPath.openResults',
  selectModel: 'neuronPath.selectModel',
  openSettings: 'neuronPath.openSettings',
  analyzeSample: 'neuronPath.analyzeSample',
  comparePaths: 'neuronPath.comparePaths',
} as const;

/** Commands the panels run among themselves: registered, not contributed (not in the palette). */
export const INTERNAL_COMMANDS = {
  openNeuronView: 'neuronPath.openNeuronView',
} as const;
