/**
 * The largest functions of the product code (not tests, testkit or bench), counted on the
 * TypeScript syntax tree: every named function, method and function-valued const, first line to
 * last. Needs no service: `npx tsx bench/function-sizes.ts [checkout] [count]` (default: this
 * checkout, 10). Run it on another commit's worktree to compare.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const here = path.dirname(fileURLToPath(import.meta.url));
const [root = path.join(here, '..'), count = '10'] = process.argv.slice(2);
const LIMIT = 80;

interface Size {
  name: string;
  where: string;
  lines: number;
}

const productFiles = (): string[] =>
  execFileSync('git', ['ls-files', '*.ts'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f !== '' && !f.endsWith('.test.ts') && !/^(test|testkit|bench)\//.test(f));

const nameOf = (node: ts.Node, source: ts.SourceFile): string | undefined => {
  if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.name) return node.name.getText(source);
  if ((ts.isArrowFunction(node) || ts.isFunctionExpression(node)) && ts.isVariableDeclaration(node.parent))
    return node.parent.name.getText(source);
  return undefined;
};

function sizesIn(file: string): Size[] {
  const source = ts.createSourceFile(file, readFileSync(path.join(root, file), 'utf8'), ts.ScriptTarget.Latest, true);
  const sizes: Size[] = [];
  const visit = (node: ts.Node): void => {
    const name = nameOf(node, source);
    if (name !== undefined) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      sizes.push({ name, where: `${file}:${first + 1}`, lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return sizes;
}

const sizes = productFiles()
  .flatMap(sizesIn)
  .sort((a, b) => b.lines - a.lines);
for (const { lines, name, where } of sizes.slice(0, Number(count))) {
  process.stdout.write(`${String(lines).padStart(5)}  ${name}  ${where}\n`);
}
process.stdout.write(`functions over ${LIMIT} lines: ${sizes.filter((s) => s.lines > LIMIT).length}\n`);
