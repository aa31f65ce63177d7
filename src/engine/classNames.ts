// Where a model's class names came from. With no labels file or config naming them, classes are
// shown as "class N": a record says so, so every front end can warn instead of passing the
// fallbacks off as the model's own names.

export interface ClassNameSource {
  file?: string;        // the file that named the classes (absent: none did)
  defaulted: number;    // how many classes it left unnamed, shown as "class N"
  folders: string[];    // the model's folders config.json / labels.txt are looked for in, nearest the ONNX file first (the last is the model's root)
}

/** The sentence a warning starts with when some class names are "class N"; undefined when none is. */
export function describeDefaultNames(c: ClassNameSource | undefined, numClasses: number): string | undefined {
  if (!c?.defaulted) return undefined;
  const what = c.defaulted === numClasses ? `all ${numClasses} classes` : `${c.defaulted} of ${numClasses} classes`;
  const why = c.file ? `${c.file} names fewer` : `no labels file, config.json with id2label or label_names, or labels.txt in ${c.folders.join(' or ')}`;
  return `class names are placeholders for ${what}, shown as "class N" (${why}). Add the model's labels.txt (one name per line) or config.json to ${c.folders[c.folders.length - 1]}`;
}
