// Reads the YAML that docs/openapi.yaml is written in, so a test can check real answers
// against it with no YAML dependency: block mappings and sequences, plain and quoted scalars,
// literal block scalars (`|`), empty flow collections (`[]`, `{}`) and full-line comments.
// Anything else (anchors, tags, multi-line plain scalars, flow content) is an error naming
// the line, so the document stays within what this reads.

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  number: number;
  indent: number;
  text: string;
}

export function parseYaml(source: string): YamlValue {
  const lines: Line[] = [];
  source.split('\n').forEach((raw, i) => {
    const text = raw.replace(/\s+$/, '');
    if (text.trim() === '' || text.trimStart().startsWith('#')) {
      lines.push({ number: i + 1, indent: -1, text: '' });
      return;
    }
    if (text.includes('\t')) throw new Error(`line ${i + 1}: tabs are not allowed in YAML indentation`);
    lines.push({ number: i + 1, indent: text.length - text.trimStart().length, text: text.trimStart() });
  });
  const reader = new Reader(lines, source.split('\n'));
  const value = reader.node(0);
  reader.expectEnd();
  return value;
}

class Reader {
  #at = 0;
  readonly #lines: Line[];
  readonly #raw: string[];

  constructor(lines: Line[], raw: string[]) {
    this.#lines = lines;
    this.#raw = raw;
  }

  #peek(): Line | undefined {
    while (this.#at < this.#lines.length && this.#lines[this.#at]!.indent === -1) this.#at++;
    return this.#lines[this.#at];
  }

  expectEnd(): void {
    const line = this.#peek();
    if (line) throw new Error(`line ${line.number}: unexpected indentation`);
  }

  /** A block node whose lines start at column `indent`. */
  node(indent: number): YamlValue {
    const line = this.#peek();
    if (!line || line.indent < indent) return null;
    if (line.indent !== indent) throw new Error(`line ${line.number}: expected indentation ${indent}, found ${line.indent}`);
    return line.text === '-' || line.text.startsWith('- ') ? this.#sequence(indent) : this.#mapping(indent);
  }

  #sequence(indent: number): YamlValue[] {
    const items: YamlValue[] = [];
    for (let line = this.#peek(); line && line.indent === indent && (line.text === '-' || line.text.startsWith('- ')); line = this.#peek()) {
      const rest = line.text.slice(2);
      if (rest.trim() === '') {
        this.#at++;
        items.push(this.node(this.#peek()?.indent ?? indent + 2));
      } else if (isMappingEntry(rest)) {
        // "- key: value" starts a mapping whose keys sit two columns in.
        this.#lines[this.#at] = { number: line.number, indent: indent + 2, text: rest };
        items.push(this.#mapping(indent + 2));
      } else {
        this.#at++;
        items.push(scalar(rest, line.number));
      }
    }
    return items;
  }

  #mapping(indent: number): { [key: string]: YamlValue } {
    const map: { [key: string]: YamlValue } = {};
    for (let line = this.#peek(); line && line.indent === indent; line = this.#peek()) {
      if (!isMappingEntry(line.text)) throw new Error(`line ${line.number}: expected "key: value"`);
      const { key, rest } = splitEntry(line.text, line.number);
      if (key in map) throw new Error(`line ${line.number}: duplicate key ${key}`);
      this.#at++;
      if (rest === '|') {
        map[key] = this.#literal(indent, line.number);
      } else if (rest === '') {
        const next = this.#peek();
        map[key] = next && next.indent > indent ? this.node(next.indent) : null;
      } else {
        map[key] = scalar(rest, line.number);
      }
    }
    return map;
  }

  // A literal block: every following line indented deeper than its key (blank lines kept),
  // with the first line's indentation removed; "clip" chomping leaves one final newline.
  #literal(parentIndent: number, number: number): string {
    const collected: string[] = [];
    let blockIndent = -1;
    while (this.#at < this.#lines.length) {
      const line = this.#lines[this.#at]!;
      if (line.indent !== -1 && line.indent <= parentIndent) break;
      const raw = this.#raw[line.number - 1]!.replace(/\s+$/, '');
      if (line.indent !== -1 && blockIndent === -1) blockIndent = line.indent;
      collected.push(line.indent === -1 ? '' : raw.slice(blockIndent));
      this.#at++;
    }
    if (blockIndent === -1) throw new Error(`line ${number}: empty block scalar`);
    while (collected.length > 0 && collected[collected.length - 1] === '') collected.pop();
    return `${collected.join('\n')}\n`;
  }
}

function isMappingEntry(text: string): boolean {
  if (text.startsWith("'") || text.startsWith('"')) return /^(['"]).*?\1:( |$)/.test(text);
  return /^[^\s:][^:]*:( |$)/.test(text);
}

function splitEntry(text: string, number: number): { key: string; rest: string } {
  let key: string;
  let after: number;
  if (text.startsWith("'") || text.startsWith('"')) {
    const end = text.indexOf(text[0]!, 1);
    key = scalar(text.slice(0, end + 1), number) as string;
    after = end + 2;
  } else {
    after = text.indexOf(':') + 1;
    key = text.slice(0, after - 1);
  }
  return { key, rest: text.slice(after).trim() };
}

function scalar(text: string, number: number): YamlValue {
  if (text.startsWith("'")) {
    if (!text.endsWith("'") || text.length < 2) throw new Error(`line ${number}: unterminated quoted string`);
    return text.slice(1, -1).replaceAll("''", "'");
  }
  if (text.startsWith('"')) return JSON.parse(text) as string;
  if (text === '[]') return [];
  if (text === '{}') return {};
  if (/^[[{&*!|>%@`]/.test(text) || text.includes(' #')) throw new Error(`line ${number}: unsupported YAML: ${text}`);
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === 'null' || text === '~') return null;
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  return text;
}
