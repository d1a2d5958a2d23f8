/**
 * Just enough of Bicep to cross-check infra/azure.bicep against the code, with no Bicep compiler:
 * its params, vars and resources (symbol, type, body text), the web app's appSettings array of
 * { name, value } objects, and a small evaluator for the expressions those use. Strict on purpose:
 * anything it does not understand is an error naming it, never a silent guess.
 */

export interface BicepResource {
  readonly symbol: string;
  /** e.g. Microsoft.Web/sites */
  readonly type: string;
  /** The text between the resource's outer braces. */
  readonly body: string;
}

export interface BicepParam {
  readonly name: string;
  readonly type: string;
  /** The default's expression text, if any. */
  readonly defaultExpr?: string;
}

export interface BicepFile {
  readonly params: ReadonlyMap<string, BicepParam>;
  readonly vars: ReadonlyMap<string, string>;
  readonly resources: readonly BicepResource[];
  readonly outputs: ReadonlyMap<string, string>;
}

/** The text with `//` and block comments blanked out (string contents kept). */
export function withoutComments(text: string): string {
  let out = '';
  let i = 0;
  let inString = false;
  while (i < text.length) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[i + 1] ?? '';
        i += 2;
        continue;
      }
      if (c === "'") inString = false;
      i += 1;
    } else if (c === "'") {
      inString = true;
      out += c;
      i += 1;
    } else if (text.startsWith('//', i)) {
      while (i < text.length && text[i] !== '\n') i += 1;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
    } else {
      out += c;
      i += 1;
    }
  }
  return out;
}

/** Index just past the bracket closing the one at `open` (strings respected). */
function closing(text: string, open: number): number {
  const pairs: Record<string, string> = { '{': '}', '[': ']', '(': ')' };
  const stack: string[] = [];
  let inString = false;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === "'") inString = false;
      continue;
    }
    if (c === "'") inString = true;
    else if (pairs[c]) stack.push(pairs[c]!);
    else if (c === '}' || c === ']' || c === ')') {
      if (stack.pop() !== c) throw new Error(`unbalanced ${c} at ${i}`);
      if (stack.length === 0) return i + 1;
    }
  }
  throw new Error(`no closing bracket for the one at ${open}`);
}

/** The rest of a logical line: up to the newline, or to the end of a bracketed value. */
function expressionAt(text: string, start: number): string {
  let i = start;
  while (text[i] === ' ') i += 1;
  let end = i;
  while (end < text.length && text[end] !== '\n') {
    if ('{[('.includes(text[end]!)) end = closing(text, end);
    else if (text[end] === "'") {
      end += 1;
      while (end < text.length && text[end] !== "'") end += text[end] === '\\' ? 2 : 1;
      end += 1;
    } else end += 1;
  }
  return text.slice(i, end).trim();
}

export function parseBicep(source: string): BicepFile {
  const text = withoutComments(source);
  const params = new Map<string, BicepParam>();
  const vars = new Map<string, string>();
  const outputs = new Map<string, string>();
  const resources: BicepResource[] = [];
  for (const m of text.matchAll(/^param\s+(\w+)\s+(\w+)(\s*=\s*)?/gm)) {
    const defaultExpr = m[3] ? expressionAt(text, m.index! + m[0].length) : undefined;
    params.set(m[1]!, { name: m[1]!, type: m[2]!, ...(defaultExpr !== undefined ? { defaultExpr } : {}) });
  }
  for (const m of text.matchAll(/^var\s+(\w+)\s*=\s*/gm)) vars.set(m[1]!, expressionAt(text, m.index! + m[0].length));
  for (const m of text.matchAll(/^output\s+(\w+)\s+\w+\s*=\s*/gm)) outputs.set(m[1]!, expressionAt(text, m.index! + m[0].length));
  for (const m of text.matchAll(/^resource\s+(\w+)\s+'([^'@]+)@[^']+'\s*=\s*\{/gm)) {
    const open = m.index! + m[0].length - 1;
    resources.push({ symbol: m[1]!, type: m[2]!, body: text.slice(open + 1, closing(text, open) - 1) });
  }
  return { params, vars, resources, outputs };
}

/** The expression text of `key:` directly inside `body` (not in nested objects). */
export function propertyOf(body: string, key: string): string | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === "'") inString = false;
      continue;
    }
    if (c === "'") inString = true;
    else if ('{[('.includes(c)) depth += 1;
    else if ('}])'.includes(c)) depth -= 1;
    else if (depth === 0 && (i === 0 || /\s/.test(body[i - 1]!)) && body.startsWith(`${key}:`, i)) {
      return expressionAt(body, i + key.length + 1);
    }
  }
  return undefined;
}

/** The inside of the first `key: { ... }` or `key: [ ... ]` found anywhere in body, at any depth. */
export function blockOf(body: string, key: string): string | undefined {
  const m = new RegExp(`(^|\\s)${key}:\\s*([\\[{])`).exec(body);
  if (!m) return undefined;
  const open = m.index + m[0].length - 1;
  return body.slice(open + 1, closing(body, open) - 1);
}

/** The appSettings array: [{ name, value-expression }], each object holding exactly name and value. */
export function appSettingsOf(siteBody: string): { name: string; valueExpr: string }[] {
  const array = blockOf(siteBody, 'appSettings');
  if (array === undefined) throw new Error('the web app has no appSettings array');
  const settings: { name: string; valueExpr: string }[] = [];
  let i = 0;
  for (;;) {
    while (i < array.length && /\s/.test(array[i]!)) i += 1;
    if (i >= array.length) break;
    if (array[i] !== '{') throw new Error(`appSettings: expected "{" but found ${JSON.stringify(array.slice(i, i + 30))}`);
    const end = closing(array, i);
    const object = array.slice(i + 1, end - 1);
    const keys = [...object.matchAll(/(^|\n)\s*(\w+):/g)].map((k) => k[2]);
    if (keys.join(',') !== 'name,value') throw new Error(`appSettings: each entry must be { name, value }, found { ${keys.join(', ')} }`);
    const nameExpr = propertyOf(object, 'name')!;
    const name = /^'([A-Za-z_][A-Za-z0-9_]*)'$/.exec(nameExpr)?.[1];
    if (!name) throw new Error(`appSettings: a name must be a plain string literal, found ${nameExpr}`);
    settings.push({ name, valueExpr: propertyOf(object, 'value')! });
    i = end;
  }
  return settings;
}

type Value = string | number | boolean;

/**
 * Evaluates Bicep expressions of the forms infra/azure.bicep uses: string literals with ${...}
 * interpolation, numbers, params (their sample value, else their default), vars, resource
 * symbols' `.name` (its name expression) and `.id`, other resource properties and a few functions
 * from the tables given. Anything else throws.
 */
export class Evaluator {
  constructor(
    private readonly file: BicepFile,
    /** Values for params (those without a default must be here). */
    private readonly paramValues: Record<string, Value>,
    /** Values for `<resource type>:<property path>`, e.g. 'Microsoft.ManagedIdentity/userAssignedIdentities:properties.clientId'. */
    private readonly resourceProperties: Record<string, Value>,
    /** Functions: name → implementation. */
    private readonly functions: Record<string, (...args: Value[]) => Value>,
  ) {}

  evaluate(expr: string): Value {
    const parser = new ExprParser(expr, this);
    const value = parser.parseExpression();
    parser.expectEnd();
    return value;
  }

  /** Resolves `a.b.c` and `f(x).y` chains; `head` is already evaluated for calls. */
  reference(symbol: string, path: string[]): Value {
    if (this.file.params.has(symbol)) {
      if (path.length) throw new Error(`cannot read .${path.join('.')} of param ${symbol}`);
      if (symbol in this.paramValues) return this.paramValues[symbol]!;
      const param = this.file.params.get(symbol)!;
      if (param.defaultExpr === undefined) throw new Error(`param ${symbol} has no default and no sample value`);
      return this.evaluate(param.defaultExpr);
    }
    if (this.file.vars.has(symbol)) {
      if (path.length) throw new Error(`cannot read .${path.join('.')} of var ${symbol}`);
      return this.evaluate(this.file.vars.get(symbol)!);
    }
    const resource = this.file.resources.find((r) => r.symbol === symbol);
    if (resource) {
      const key = path.join('.');
      if (key === 'name') return this.evaluate(propertyOf(resource.body, 'name') ?? '');
      if (key === 'id') return `/resource/${resource.type}/${String(this.reference(symbol, ['name']))}`;
      const known = this.resourceProperties[`${resource.type}:${key}`];
      if (known === undefined) throw new Error(`no sample value for ${symbol}.${key} (${resource.type}:${key})`);
      return known;
    }
    throw new Error(`unknown symbol ${symbol}`);
  }

  call(name: string, args: Value[], path: string[]): Value {
    const fn = this.functions[path.length ? `${name}().${path.join('.')}` : name];
    if (!fn) throw new Error(`no sample implementation of ${name}(${path.length ? `).${path.join('.')}` : ')'}`);
    return fn(...args);
  }
}

class ExprParser {
  private i = 0;
  constructor(
    private readonly text: string,
    private readonly evaluator: Evaluator,
  ) {}

  private skip(): void {
    while (/\s/.test(this.text[this.i] ?? '')) this.i += 1;
  }

  expectEnd(): void {
    this.skip();
    if (this.i !== this.text.length) throw new Error(`cannot evaluate ${JSON.stringify(this.text)}: unexpected ${JSON.stringify(this.text.slice(this.i))}`);
  }

  parseExpression(): Value {
    this.skip();
    const c = this.text[this.i];
    if (c === "'") return this.parseString();
    const number = /^\d+/.exec(this.text.slice(this.i));
    if (number) {
      this.i += number[0].length;
      return Number(number[0]);
    }
    const ident = /^[A-Za-z_]\w*/.exec(this.text.slice(this.i));
    if (!ident) throw new Error(`cannot evaluate ${JSON.stringify(this.text)} at ${JSON.stringify(this.text.slice(this.i))}`);
    this.i += ident[0].length;
    if (ident[0] === 'true' || ident[0] === 'false') return ident[0] === 'true';
    let args: Value[] | undefined;
    if (this.text[this.i] === '(') {
      this.i += 1;
      args = [];
      this.skip();
      while (this.text[this.i] !== ')') {
        args.push(this.parseExpression());
        this.skip();
        if (this.text[this.i] === ',') this.i += 1;
        else if (this.text[this.i] !== ')') throw new Error(`cannot evaluate ${JSON.stringify(this.text)}: expected , or )`);
        this.skip();
      }
      this.i += 1;
    }
    const path: string[] = [];
    while (this.text[this.i] === '.') {
      this.i += 1;
      const part = /^\w+/.exec(this.text.slice(this.i));
      if (!part) throw new Error(`cannot evaluate ${JSON.stringify(this.text)}: expected a property name`);
      path.push(part[0]);
      this.i += part[0].length;
    }
    return args ? this.evaluator.call(ident[0], args, path) : this.evaluator.reference(ident[0], path);
  }

  private parseString(): string {
    this.i += 1; // opening quote
    let out = '';
    while (this.i < this.text.length) {
      const c = this.text[this.i]!;
      if (c === "'") {
        this.i += 1;
        return out;
      }
      if (c === '\\') {
        out += this.text[this.i + 1] ?? '';
        this.i += 2;
      } else if (this.text.startsWith('${', this.i)) {
        const end = closing(this.text, this.i + 1);
        out += String(this.evaluator.evaluate(this.text.slice(this.i + 2, end - 1)));
        this.i = end;
      } else {
        out += c;
        this.i += 1;
      }
    }
    throw new Error(`unterminated string in ${this.text}`);
  }
}
