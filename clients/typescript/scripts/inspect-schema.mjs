#!/usr/bin/env node
// Inspects the types that openapi-typescript generated from ../../openapi.yaml and fails
// (exit 1) where the document does not give a SPA usable types:
//
//  1. Syntactic sweep over the whole file: every `unknown`, `never`, `any` and empty `{}`
//     is reported with its path (e.g. components.schemas.BookingOut.custom_fields[string]),
//     except the generator's structural markers for "the document declares nothing here"
//     (see STRUCTURAL below) and the free-form values in FREE_FORM (each with its reason).
//  2. Semantic sweep with the type checker over every component schema and every
//     operation's request and response bodies: a property whose *resolved* type is
//     `never` (e.g. an allOf whose parts disagree) or `unknown`/`any` fails too, even
//     when the text does not say so.
//  3. Money: the named money fields must be exactly `string` (or `string | null` where
//     the document says so), and no property with a money-like name anywhere in the
//     schemas may be typed `number`.
//  4. The allow-list must be live: an entry that no longer matches anything fails, so it
//     is removed when the document is fixed.
//
// Usage: node scripts/inspect-schema.mjs src/schema.d.ts

import { readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

const file = path.resolve(process.argv[2] ?? "src/schema.d.ts");

// Free-form values: the only places where `unknown` is accepted. Keys are the paths this
// script prints; every entry needs the reason why the document cannot say more.
const FREE_FORM = new Map([
  [
    "components.schemas.AuditEntryOut.before[string]",
    "audit log: a snapshot of whatever record changed (customer, user, api client, …); its shape is the entity_type's",
  ],
  ["components.schemas.AuditEntryOut.after[string]", "audit log: as `before`, the record after the change"],
  [
    "components.schemas.EventOut.payload[string]",
    "event outbox: the payload's shape depends on the event `type` (project.status_changed, …); webhook consumers read it by type",
  ],
  [
    "components.schemas.WebhookEnvelope.data[string]",
    "webhook envelope: the event's payload, as EventOut.payload, shaped by the event `type`",
  ],
]);

// Money and other exact decimals that must be strings (schema, property, exact type text).
const MONEY = [
  ["Totals", "net", "string"],
  ["Totals", "vat", "string"],
  ["Totals", "gross", "string"],
  ["VatAmount", "rate", "string"],
  ["VatAmount", "net", "string"],
  ["VatAmount", "vat", "string"],
  ["InvoiceLine", "unit_price", "string"],
  ["InvoiceLine", "net", "string"],
  ["InvoiceLine", "quantity", "string"],
  ["InvoiceLine", "vat_rate", "string"],
  ["BookingCreate", "rate_override", "string | null"],
  ["BookingOut", "rate_override", "string | null"],
];
// Objects whose `totals` must be the money Totals (not e.g. MinuteTotals).
const TOTALS_HOLDERS = ["InvoiceOut", "InvoiceProposal"];
// A property name that looks like money or an exact decimal must never be a `number`.
// (`total_minutes` and the like are counts: `total` alone is not a money word here.)
const MONEY_NAME = /(^|_)(net|vat|gross|price|amount|fee|cost|revenue|margin|budget|value|rate|quantity)s?($|_)/;

const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
const failures = [];
const accepted = [];
const structural = new Map();
const usedAllow = new Set();

const METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);
const PARAM_KINDS = new Set(["query", "header", "path", "cookie"]);
const EMPTY_SECTIONS = new Set(["responses", "parameters", "requestBodies", "headers", "pathItems"]);

/** Is the keyword at `segs` one of openapi-typescript's markers for "nothing declared"? */
function structuralReason(segs, kind) {
  const last = segs.at(-1);
  const parent = segs.at(-2);
  const root = segs[0];
  if (kind === "never" || kind === "Record<string, never>") {
    if ((root === "webhooks" || root === "$defs") && segs.length === 1) return "no webhooks / $defs in the document";
    if (root === "components" && segs.length === 2 && EMPTY_SECTIONS.has(last)) return `no components.${last}`;
    if (root === "paths" && segs.length === 3 && METHODS.has(last)) return "method not declared on this path";
    if (root === "webhooks" && segs.length === 3 && METHODS.has(last)) return "method not declared on this webhook";
    if (parent === "parameters" && PARAM_KINDS.has(last)) return `no ${last} parameters`;
    if (last === "requestBody") return "operation takes no body";
    if (last === "content" && segs.at(-3) === "responses") return "response without a body (e.g. 204)";
  }
  if (kind === "unknown" && last === "[string]" && parent === "headers" && segs.at(-3) && segs.at(-4) === "responses") {
    return "index signature for undeclared response headers";
  }
  return null;
}

function nameOf(name) {
  if (!name) return "?";
  if (ts.isIdentifier(name) || ts.isPrivateIdentifier(name)) return name.text;
  if (ts.isStringLiteral(name) || ts.isNumericLiteral(name)) return name.text;
  return name.getText(source);
}

function report(segs, kind, node) {
  const where = segs.join(".").replace(/\.\[/g, "[");
  const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
  const reason = structuralReason(segs, kind);
  if (reason) {
    structural.set(reason, (structural.get(reason) ?? 0) + 1);
    return;
  }
  if (FREE_FORM.has(where) && kind === "unknown") {
    usedAllow.add(where);
    accepted.push(`${where} (schema.d.ts:${line}): ${FREE_FORM.get(where)}`);
    return;
  }
  failures.push(`${where} is typed \`${kind}\` (schema.d.ts:${line}: ${node.parent.getText(source).split("\n")[0].trim()})`);
}

/** Walks a type node, naming property and index-signature steps. */
function walk(node, segs) {
  if (ts.isPropertySignature(node) || ts.isPropertyDeclaration(node)) {
    const inner = [...segs, nameOf(node.name)];
    if (node.type) walk(node.type, inner);
    return;
  }
  if (ts.isIndexSignatureDeclaration(node)) {
    const param = node.parameters[0];
    const keyType = param?.type ? param.type.getText(source) : "string";
    walk(node.type, [...segs, `[${keyType}]`]);
    return;
  }
  if (node.kind === ts.SyntaxKind.UnknownKeyword) return report(segs, "unknown", node);
  if (node.kind === ts.SyntaxKind.NeverKeyword) return report(segs, "never", node);
  if (node.kind === ts.SyntaxKind.AnyKeyword) return report(segs, "any", node);
  if (ts.isTypeReferenceNode(node) && node.typeName.getText(source) === "Record") {
    const args = node.typeArguments?.map((a) => a.getText(source)) ?? [];
    if (args[1] === "never" || args[1] === "unknown" || args[1] === "any") {
      return report(segs, `Record<${args.join(", ")}>`, node);
    }
  }
  if (ts.isTypeLiteralNode(node) && node.members.length === 0) {
    // `content: {}` under a response would be a body without any media type.
    return report(segs, "{}", node);
  }
  if (ts.isArrayTypeNode(node)) return walk(node.elementType, [...segs, "[]"]);
  ts.forEachChild(node, (child) => walk(child, segs));
}

// --- 1. syntactic sweep -------------------------------------------------------------------
const tops = new Set();
for (const stmt of source.statements) {
  if (ts.isInterfaceDeclaration(stmt)) {
    tops.add(stmt.name.text);
    for (const member of stmt.members) walk(member, [stmt.name.text]);
  } else if (ts.isTypeAliasDeclaration(stmt)) {
    tops.add(stmt.name.text);
    walk(stmt.type, [stmt.name.text]);
  }
}
for (const needed of ["paths", "components", "operations"]) {
  if (!tops.has(needed)) failures.push(`schema.d.ts declares no \`${needed}\``);
}

// --- 2. semantic sweep with the checker --------------------------------------------------
const program = ts.createProgram([file], { strict: true, noEmit: true, skipLibCheck: true, types: [] });
const checker = program.getTypeChecker();
const checked = program.getSourceFile(file);
const moduleSymbol = checker.getSymbolAtLocation(checked);
const exportsOf = moduleSymbol ? checker.getExportsOfModule(moduleSymbol) : [];
const exported = (name) => exportsOf.find((s) => s.name === name);
const declaredType = (symbol) => checker.getDeclaredTypeOfSymbol(symbol);
const prop = (type, name) => {
  const p = type.getProperty(name);
  return p ? checker.getTypeOfSymbol(p) : undefined;
};

const componentsSym = exported("components");
const operationsSym = exported("operations");
const schemasType = componentsSym ? prop(declaredType(componentsSym), "schemas") : undefined;
const schemaByType = new Map();
const schemaTypes = new Map();
if (!schemasType) {
  failures.push("components.schemas is missing");
} else {
  for (const s of schemasType.getProperties()) {
    const t = checker.getTypeOfSymbol(s);
    schemaByType.set(t, s.name);
    schemaTypes.set(s.name, t);
  }
}

const F = ts.TypeFlags;
const typeText = (t) => checker.typeToString(t, undefined, ts.TypeFormatFlags.NoTruncation);

/** `root`: the schema being walked itself; other named schemas met below are walked on their own. */
function semantic(type, where, seen, root = undefined) {
  if (type.flags & F.Never) return semanticFail(where, "never", type);
  if (type.flags & (F.Unknown | F.Any)) return semanticFail(where, type.flags & F.Any ? "any" : "unknown", type);
  if (type.isUnion()) {
    for (const member of type.types) semantic(member, where, seen, root);
    return;
  }
  if (!(type.flags & F.Object) && !type.isIntersection()) return;
  if (type !== root && schemaByType.has(type)) return; // a named schema: walked on its own
  if (seen.has(type)) return;
  seen.add(type);
  if (checker.isArrayType(type)) {
    const [element] = checker.getTypeArguments(type);
    if (element) semantic(element, `${where}[]`, seen, root);
    return;
  }
  for (const p of checker.getPropertiesOfType(type)) {
    semantic(checker.getTypeOfSymbol(p), `${where}.${p.name}`, seen, root);
  }
  const index = checker.getIndexTypeOfType(type, ts.IndexKind.String);
  if (index) semantic(index, `${where}[string]`, seen, root);
}

function semanticFail(where, kind, type) {
  const key = where;
  if (kind === "unknown" && FREE_FORM.has(key)) return; // accepted, listed by the syntactic sweep
  if (failures.some((f) => f.startsWith(`${key} `))) return; // already reported syntactically
  const hint = kind === "never" ? "e.g. allOf parts that contradict, or an object that allows nothing" : "a schema without a type";
  failures.push(`${key} resolves to \`${kind}\` (${typeText(type)}): ${hint}`);
}

for (const [name, type] of schemaTypes) semantic(type, `components.schemas.${name}`, new Set(), type);

let operationCount = 0;
let bodiesChecked = 0;
if (operationsSym) {
  const operationsType = declaredType(operationsSym);
  for (const op of operationsType.getProperties()) {
    operationCount += 1;
    const opType = checker.getTypeOfSymbol(op);
    const where = `operations.${op.name}`;
    const params = prop(opType, "parameters");
    for (const kind of PARAM_KINDS) {
      const p = params && prop(params, kind);
      if (!p) continue;
      const nonNull = checker.getNonNullableType(p);
      if (nonNull.flags & F.Never) continue; // no parameters of this kind
      for (const param of nonNull.getProperties()) {
        semantic(checker.getTypeOfSymbol(param), `${where}.parameters.${kind}.${param.name}`, new Set());
      }
    }
    const contents = [];
    const body = prop(opType, "requestBody");
    if (body) {
      const nonNull = checker.getNonNullableType(body);
      if (!(nonNull.flags & F.Never)) contents.push([`${where}.requestBody`, prop(nonNull, "content")]);
    }
    const responses = prop(opType, "responses");
    for (const status of responses ? responses.getProperties() : []) {
      const response = checker.getTypeOfSymbol(status);
      const content = prop(response, "content");
      if (content && !(checker.getNonNullableType(content).flags & F.Never)) {
        contents.push([`${where}.responses.${status.name}.content`, content]);
      }
      const headers = prop(response, "headers");
      for (const h of headers ? headers.getProperties() : []) {
        semantic(checker.getTypeOfSymbol(h), `${where}.responses.${status.name}.headers.${h.name}`, new Set());
      }
    }
    for (const [at, content] of contents) {
      if (!content) {
        failures.push(`${at} is missing`);
        continue;
      }
      const media = content.getProperties();
      if (media.length === 0) failures.push(`${at} declares no media type`);
      for (const m of media) {
        bodiesChecked += 1;
        semantic(checker.getTypeOfSymbol(m), `${at}["${m.name}"]`, new Set());
      }
    }
  }
} else {
  failures.push("schema.d.ts declares no `operations`");
}

// --- 3. money ----------------------------------------------------------------------------
let moneyChecked = 0;
for (const [schema, field, expected] of MONEY) {
  const t = schemaTypes.get(schema);
  const p = t?.getProperty(field);
  if (!t || !p) {
    failures.push(`money: components.schemas.${schema}.${field} does not exist`);
    continue;
  }
  const actual = typeText(checker.getTypeOfSymbol(p));
  const optional = (p.flags & ts.SymbolFlags.Optional) !== 0;
  const want = expected.includes("null") ? `${expected} | undefined` : expected;
  const got = optional ? (actual.includes("undefined") ? actual : `${actual} | undefined`) : actual;
  const ok = expected.includes("null") ? got === want : !optional && actual === expected;
  moneyChecked += 1;
  if (!ok) failures.push(`money: components.schemas.${schema}.${field} is \`${actual}\`${optional ? " (optional)" : ""}, expected \`${expected}\``);
}
const totalsType = schemaTypes.get("Totals");
for (const holder of TOTALS_HOLDERS) {
  const t = schemaTypes.get(holder);
  const totals = t && prop(t, "totals");
  moneyChecked += 1;
  if (!totals || totals !== totalsType) {
    failures.push(`money: components.schemas.${holder}.totals is \`${totals ? typeText(totals) : "missing"}\`, expected Totals`);
  }
}
let moneyNamed = 0;
for (const [schema, t] of schemaTypes) {
  for (const p of checker.getPropertiesOfType(t)) {
    if (!MONEY_NAME.test(p.name)) continue;
    const pt = checker.getNonNullableType(checker.getTypeOfSymbol(p));
    const parts = pt.isUnion() ? pt.types : [pt];
    if (parts.some((x) => x.flags & (F.Number | F.NumberLiteral))) {
      failures.push(`money: components.schemas.${schema}.${p.name} is \`${typeText(pt)}\` — money and exact decimals are strings`);
    } else if (parts.every((x) => x.flags & (F.String | F.StringLiteral))) {
      moneyNamed += 1;
    }
  }
}

// --- 4. the allow-list is live ------------------------------------------------------------
for (const key of FREE_FORM.keys()) {
  if (!usedAllow.has(key)) failures.push(`allow-list entry \`${key}\` matches nothing any more: remove it`);
}

// --- report -------------------------------------------------------------------------------
console.log(`inspected ${path.relative(process.cwd(), file)}: ${schemaTypes.size} schemas, ${operationCount} operations, ${bodiesChecked} request/response bodies`);
console.log(`structural never/unknown (the document declares nothing there):`);
for (const [reason, count] of [...structural].sort()) console.log(`  ${String(count).padStart(5)}  ${reason}`);
console.log(`free-form unknown accepted by the allow-list (${accepted.length}):`);
for (const a of accepted) console.log(`  ${a}`);
console.log(`money: ${moneyChecked} named fields asserted, ${moneyNamed} money-named string fields, none typed number`);
if (failures.length > 0) {
  console.error(`\n${failures.length} problem(s) in the generated types:`);
  for (const f of failures) console.error(`  FAIL ${f}`);
  console.error(`\n0 passed, ${failures.length} failed`);
  process.exit(1);
}
console.log("schema inspection: 1 passed, 0 failed");
