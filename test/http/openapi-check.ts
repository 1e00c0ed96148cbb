// Checks real HTTP answers against docs/openapi.yaml: the operation and the status must be
// documented, required headers present, and a JSON body must match the documented schema.
// The schema check covers the JSON Schema keywords the document uses (type, properties,
// required, additionalProperties, items, enum, const, minimum, maximum, minLength, maxLength,
// format date-time, $ref) and fails on any other, so the spec cannot silently outgrow it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/server.js';
import { parseYaml, type YamlValue } from './yaml-subset.js';

type Schema = { [key: string]: YamlValue };

const KNOWN_KEYWORDS = new Set([
  'type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const', 'minimum', 'maximum',
  'minLength', 'maxLength', 'format', '$ref', 'description', 'default', 'example',
]);

export class OpenApi {
  readonly document: Schema;

  constructor(path = join(ROOT, 'docs/openapi.yaml')) {
    this.document = parseYaml(readFileSync(path, 'utf8')) as Schema;
  }

  get paths(): string[] {
    return Object.keys(this.document.paths as Schema);
  }

  resolve(node: YamlValue): Schema {
    let current = node as Schema;
    while (typeof current.$ref === 'string') {
      const ref = current.$ref;
      if (!ref.startsWith('#/')) throw new Error(`only local $ref is supported: ${ref}`);
      current = ref
        .slice(2)
        .split('/')
        .reduce<YamlValue>((at, part) => (at as Schema)[part]!, this.document) as Schema;
      if (current === undefined) throw new Error(`unresolved $ref ${ref}`);
    }
    return current;
  }

  /**
   * Problems with one answer; an empty list means it matches the document. A method the path
   * does not list must be the document's `x-unlisted-methods` answer (405), with `Allow`
   * naming exactly the methods listed (a preflight's OPTIONS aside).
   */
  async check(method: string, template: string, response: Response): Promise<string[]> {
    const where = `${method} ${template} ${response.status}`;
    const path = (this.document.paths as Schema)[template] as Schema | undefined;
    if (!path) return [`${template} is not in openapi.yaml`];
    const operation = path[method.toLowerCase()] as Schema | undefined;
    if (!operation) {
      const unlisted = this.document['x-unlisted-methods'];
      if (unlisted === undefined) return [`${method} ${template} is not in openapi.yaml`];
      if (response.status !== 405) return [`${where}: a method the path does not list must be 405`];
      const listed = Object.keys(path).filter((name) => name !== 'options').map((name) => name.toUpperCase()).sort();
      const allow = (response.headers.get('allow') ?? '').split(',').map((name) => name.trim()).sort();
      const problems = listed.join() === allow.join() ? [] : [`${where}: Allow is ${allow.join(', ')}, the document lists ${listed.join(', ')}`];
      return [...problems, ...(await this.#checkAnswer(where, template, this.resolve(unlisted), response))];
    }
    const documented = (operation.responses as Schema)[String(response.status)];
    if (documented === undefined) return [`${where}: status not documented`];
    return this.#checkAnswer(where, template, this.resolve(documented), response);
  }

  async #checkAnswer(where: string, template: string, answer: Schema, response: Response): Promise<string[]> {
    const problems: string[] = [];
    for (const [name, header] of Object.entries((answer.headers ?? {}) as Schema)) {
      const schema = this.resolve(header);
      const value = response.headers.get(name);
      if (value === null) {
        if (schema.required === true) problems.push(`${where}: header ${name} missing`);
        continue;
      }
      const headerSchema = this.resolve(schema.schema ?? {});
      const typed = headerSchema.type === 'integer' && /^\d+$/.test(value) ? Number(value) : value;
      problems.push(...this.validate(typed, headerSchema, `${where} header ${name}`));
    }
    const content = answer.content as Schema | undefined;
    const text = await response.text();
    if (!content) {
      if (text !== '') problems.push(`${where}: a body where none is documented`);
      return problems;
    }
    const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const media = (content[type] ?? (template.startsWith('/assets/') ? content['application/octet-stream'] : undefined)) as Schema | undefined;
    if (!media) return [...problems, `${where}: content type ${type} not documented (${Object.keys(content).join(', ')})`];
    if (type === 'application/json') problems.push(...this.validate(JSON.parse(text), media.schema!, where));
    return problems;
  }

  validate(value: unknown, schemaNode: YamlValue, at: string): string[] {
    const schema = this.resolve(schemaNode);
    const problems: string[] = [];
    for (const keyword of Object.keys(schema)) {
      if (!KNOWN_KEYWORDS.has(keyword)) problems.push(`${at}: the checker does not know the keyword ${keyword}`);
    }
    const type = schema.type as string | undefined;
    if (type !== undefined && !hasType(value, type)) return [...problems, `${at}: ${JSON.stringify(value)} is not ${type}`];
    if (schema.const !== undefined && value !== schema.const) problems.push(`${at}: ${JSON.stringify(value)} is not ${JSON.stringify(schema.const)}`);
    if (Array.isArray(schema.enum) && !schema.enum.includes(value as YamlValue)) problems.push(`${at}: ${JSON.stringify(value)} is not one of the enum`);
    if (typeof value === 'number') {
      if (typeof schema.minimum === 'number' && value < schema.minimum) problems.push(`${at}: ${value} < ${schema.minimum}`);
      if (typeof schema.maximum === 'number' && value > schema.maximum) problems.push(`${at}: ${value} > ${schema.maximum}`);
    }
    if (typeof value === 'string') {
      const length = [...value].length;
      if (typeof schema.minLength === 'number' && length < schema.minLength) problems.push(`${at}: shorter than ${schema.minLength}`);
      if (typeof schema.maxLength === 'number' && length > schema.maxLength) problems.push(`${at}: longer than ${schema.maxLength}`);
      if (schema.format === 'date-time' && !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(value)) {
        problems.push(`${at}: ${value} is not a date-time`);
      }
    }
    if (Array.isArray(value) && schema.items !== undefined) {
      value.forEach((item, i) => problems.push(...this.validate(item, schema.items!, `${at}[${i}]`)));
    }
    if (isObject(value)) {
      const properties = (schema.properties ?? {}) as Schema;
      for (const name of (schema.required ?? []) as string[]) {
        if (!(name in value)) problems.push(`${at}: required ${name} missing`);
      }
      for (const [name, item] of Object.entries(value)) {
        if (name in properties) problems.push(...this.validate(item, properties[name]!, `${at}.${name}`));
        else if (schema.additionalProperties === false) problems.push(`${at}: ${name} is not documented`);
      }
    }
    return problems;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'null':
      return value === null;
    default:
      return typeof value === type;
  }
}
