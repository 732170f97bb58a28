// Writes schemas/optiscope.schema.json (VS Code `jsonValidation`) and the generated tables of
// docs/config.md from src/engine/config/schema.ts. Run: npx tsx scripts/make-schema.ts
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDocsSection, buildJsonSchema, DOCS_BEGIN, DOCS_END } from '../src/engine/config/jsonschema';

const root = join(import.meta.dirname, '..');
writeFileSync(join(root, 'schemas', 'optiscope.schema.json'), JSON.stringify(buildJsonSchema(), null, 2) + '\n');
const docPath = join(root, 'docs', 'config.md');
const doc = readFileSync(docPath, 'utf8');
const a = doc.indexOf(DOCS_BEGIN);
const b = doc.indexOf(DOCS_END);
if (a < 0 || b < 0) throw new Error('docs/config.md lacks the generated markers');
writeFileSync(docPath, doc.slice(0, a) + buildDocsSection() + doc.slice(b + DOCS_END.length));
console.log('wrote schemas/optiscope.schema.json and docs/config.md');
