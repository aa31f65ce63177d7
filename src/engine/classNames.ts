// A model's class names, for everyone who receives them. They are resolved once, by the engine
// (modelFolder.ts `readLabels`: a labels file, config.json, labels.txt, else placeholders), and
// travel from there: ModelInfo.labels to the worker's host and its pages, the records' prediction
// and target labels to every reader of a record. This leaf holds the rest, written once: the
// placeholder's wording, the name of a class from what a reader has, and the warning when names are
// placeholders (a record says where its names came from, so front ends warn instead of passing
// the fallbacks off as the model's own names).

export interface ClassNameSource {
  file?: string;        // the file that named the classes (absent: none did)
  defaulted: number;    // how many classes it left unnamed, shown as "class N"
  folders: string[];    // the model's folders config.json / labels.txt are looked for in, nearest the ONNX file first (the last is the model's root)
}

/** How a class nothing names is shown. */
export const placeholderName = (c: number): string => `class ${c}`;

/** What a record says of classes: its top classes and its target, each with the label the engine gave. */
interface NamedClasses {
  prediction: { top: readonly { class: number; label: string }[] };
  target: { class: number; label: string };
}

/** The name of class `c` from the model's labels, else from a record that names it; undefined when neither does. */
export function knownLabel(c: number, labels: readonly string[] | undefined, record?: NamedClasses): string | undefined {
  return labels?.[c] || record?.prediction.top.find((t) => t.class === c)?.label || (record?.target.class === c ? record.target.label : undefined) || undefined;
}

/** The sentence a warning starts with when some class names are "class N"; undefined when none is. */
export function describeDefaultNames(c: ClassNameSource | undefined, numClasses: number): string | undefined {
  if (!c?.defaulted) return undefined;
  const what = c.defaulted === numClasses ? `all ${numClasses} classes` : `${c.defaulted} of ${numClasses} classes`;
  const why = c.file ? `${c.file} names fewer` : `no labels file, config.json with id2label or label_names, or labels.txt in ${c.folders.join(' or ')}`;
  return `class names are placeholders for ${what}, shown as "class N" (${why}). Add the model's labels.txt (one name per line) or config.json to ${c.folders[c.folders.length - 1]}`;
}
