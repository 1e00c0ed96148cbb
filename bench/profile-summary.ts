// Summarises V8 .cpuprofile files (from `npm run bench -- --cpu-prof`): where self time goes,
// by function and by source file, so a finding can be stated without opening DevTools.
//
//   node dist/bench/profile-summary.js bench/results/profiles/*.cpuprofile [--top 25]
//
// Each file is one thread (the primary thread and every worker write their own).
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function shortUrl(url: string): string {
  if (url === '') return '(native)';
  const dist = url.indexOf('/dist/');
  if (dist !== -1) return url.slice(dist + 6);
  const modules = url.lastIndexOf('node_modules/');
  if (modules !== -1) return url.slice(modules + 13);
  return url.replace(/^file:\/\//, '').replace(/^node:/, 'node:');
}

function summarize(file: string, top: number): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }
  const total = [...selfMs.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const frame = byId.get(id)!.callFrame;
    const where = shortUrl(frame.url);
    const name = `${frame.functionName || '(anonymous)'}  ${where}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
    byFile.set(where, (byFile.get(where) ?? 0) + ms);
  }
  const idle = byFunction.get('(idle)  (native)') ?? 0;
  const busy = total - idle;
  const rank = (map: Map<string, number>) =>
    [...map]
      .filter(([name]) => !name.startsWith('(idle)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => `  ${((ms / busy) * 100).toFixed(1).padStart(5)}%  ${ms.toFixed(0).padStart(7)} ms  ${name}`);
  return [
    `${basename(file)}: ${(total / 1000).toFixed(1)} s sampled, ${((busy / total) * 100).toFixed(0)}% busy`,
    ' by function (self time, share of busy time):',
    ...rank(byFunction),
    ' by file:',
    ...rank(byFile).slice(0, 12),
  ].join('\n');
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
for (const file of positionals) console.log(`${summarize(file, Number(values.top))}\n`);
