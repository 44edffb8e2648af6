/**
 * Turns recipe target definitions into a dependency graph: names expanded, file targets
 * placed in the package folder, sources resolved to other targets or to files, cycles
 * reported with their path.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, basename, isAbsolute, join, posix, relative, sep } from 'node:path';
import { AiopError } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import { expand, type Scope } from './variables.js';

/** A recipe target as the playbook loader gives it. */
export interface TargetDef {
  name: string;
  virtual: boolean;
  sources: string[];
  depends: string[];
  commands: string[];
  /** Display path of the recipe file that defined it. */
  file?: string;
}

/** One target of the graph. */
export interface Node {
  /** Its name: for a file target, the path relative to the package folder. */
  key: string;
  def: TargetDef;
  virtual: boolean;
  /** Absolute path of a file target's output. */
  outPath?: string;
  /** Targets to make first (from `sources` and `depends`), without repeats. */
  deps: Node[];
  /** Plain files among the sources: display name and absolute path. */
  sourceFiles: Array<{ name: string; path: string }>;
  /** Every source's absolute path in order, for `$source`. */
  sourcePaths: string[];
  dependents: Node[];
}

export interface Graph {
  nodes: Map<string, Node>;
  /** The targets the goals need, dependencies before dependents. */
  order: Node[];
  goals: Node[];
  /** Sources not found when the graph was built (with `deferMissingSources`). */
  missing: Array<{ node: Node; ref: string; kind: 'source' | 'dependency'; path: string }>;
}

export interface GraphInput {
  defs: Record<string, TargetDef>;
  scope: Scope;
  pkgDir: string;
  playbookRoot: string;
  goals: string[];
  /** Extra folders where plain source files may be found before the playbook root. */
  sourceRoots?: string[];
  /**
   * Sources that exist nowhere yet are expected in the package folder (placed there by an
   * artifact before the recipe runs); they are listed in {@link Graph.missing} for
   * {@link checkMissingSources} to verify once artifacts are in place.
   */
  deferMissingSources?: boolean;
}

function configError(message: string): never {
  throw new AiopError('config', message);
}

/** Normalises a file target name to a clean package-relative path; refuses paths that escape it. */
export function packagePath(name: string, pkgDir: string, where: string): string {
  let path = name;
  if (isAbsolute(path)) {
    const rel = relative(pkgDir, path);
    if (rel.startsWith('..') || isAbsolute(rel)) configError(`${where}: "${name}" is outside the package folder ${pkgDir}`);
    path = rel.split(sep).join('/');
  }
  const normal = posix.normalize(path.replace(/\\/g, '/')).replace(/\/$/, '');
  if (normal === '..' || normal.startsWith('../') || normal === '.' || normal === '') {
    configError(`${where}: "${name}" is not a path inside the package folder`);
  }
  return normal;
}

/** Builds the graph of what `goals` need. */
export function buildGraph(input: GraphInput): Graph {
  const nodes = new Map<string, Node>();
  for (const def of Object.values(input.defs)) {
    const where = `target "${def.name}"${def.file ? ` (${def.file})` : ''}`;
    const expanded = expand(def.name, input.scope, where);
    const key = def.virtual ? expanded : packagePath(expanded, input.pkgDir, where);
    if (nodes.has(key)) configError(`${where}: names the same target as "${nodes.get(key)!.def.name}" (${key})`);
    nodes.set(key, {
      key,
      def,
      virtual: def.virtual,
      ...(def.virtual ? {} : { outPath: join(input.pkgDir, key) }),
      deps: [],
      sourceFiles: [],
      sourcePaths: [],
      dependents: [],
    });
  }

  const lookup = (ref: string): Node | undefined => {
    const direct = nodes.get(ref);
    if (direct) return direct;
    if (isAbsolute(ref)) {
      const rel = relative(input.pkgDir, ref);
      if (!rel.startsWith('..') && !isAbsolute(rel)) return nodes.get(rel.split(sep).join('/'));
      return undefined;
    }
    return nodes.get(posix.normalize(ref.replace(/\\/g, '/')).replace(/\/$/, ''));
  };
  const missing: Graph['missing'] = [];
  // The playbook first: that is where nearly every source is, so one lookup usually settles it.
  const exists = folderListings();
  const findFile = (ref: string): string | undefined => {
    if (isAbsolute(ref)) return exists(ref) ? ref : undefined;
    for (const root of [input.playbookRoot, ...(input.sourceRoots ?? [])]) {
      const candidate = join(root, ref);
      if (exists(candidate)) return candidate;
    }
    return undefined;
  };

  const wired = new Set<Node>();
  const wire = (node: Node): void => {
    if (wired.has(node)) return;
    wired.add(node);
    const where = `target "${node.def.name}"`;
    // A set beside the list: a target that depends on 10,000 others must not compare each with all.
    const added = new Set<Node>();
    const addDep = (dep: Node): void => {
      if (!added.has(dep)) {
        added.add(dep);
        node.deps.push(dep);
        dep.dependents.push(node);
      }
    };
    const resolveRef = (raw: string, kind: 'source' | 'dependency'): void => {
      const ref = expand(raw, input.scope, where);
      const target = lookup(ref);
      if (target) {
        addDep(target);
        if (kind === 'source') node.sourcePaths.push(target.outPath ?? target.key);
        return;
      }
      let file = findFile(ref);
      if (file === undefined) {
        if (!input.deferMissingSources) missingSourceError(node, ref, kind, input.playbookRoot, nodes.keys());
        file = isAbsolute(ref) ? ref : join(input.pkgDir, ref);
        missing.push({ node, ref, kind, path: file });
      }
      node.sourceFiles.push({ name: ref, path: file });
      if (kind === 'source') node.sourcePaths.push(file);
    };
    for (const s of node.def.sources) resolveRef(s, 'source');
    for (const d of node.def.depends) resolveRef(d, 'dependency');
    for (const dep of node.deps) wire(dep);
  };

  const goals = input.goals.map((goal) => {
    const node = lookup(expand(goal, input.scope, `goal "${goal}"`));
    if (!node) {
      const hint = didYouMean(goal, nodes.keys());
      configError(`no target named "${goal}"${hint ? `; ${hint}` : ''} (targets: ${[...nodes.keys()].slice(0, 20).join(', ')})`);
    }
    return node;
  });
  for (const goal of goals) wire(goal);
  // Lists filled one push at a time keep room for 17 items; most hold one. Exact copies keep
  // the graph of a 10,000-target recipe several MB smaller for the whole build.
  for (const node of wired) {
    if (node.deps.length > 0) node.deps = node.deps.slice();
    if (node.dependents.length > 0) node.dependents = node.dependents.slice();
    if (node.sourceFiles.length > 0) node.sourceFiles = node.sourceFiles.slice();
    if (node.sourcePaths.length > 0) node.sourcePaths = node.sourcePaths.slice();
  }
  return { nodes, order: topologicalOrder(goals), goals, missing };
}

/**
 * `existsSync` answered from one listing per folder: a recipe with thousands of sources in
 * a few folders costs a few `readdir` calls instead of a stat per source and place looked in.
 * Symbolic links (which may dangle) and unreadable folders are still asked one by one.
 */
function folderListings(): (path: string) => boolean {
  const listings = new Map<string, Map<string, boolean> | null>();
  return (path) => {
    const dir = dirname(path);
    let listing = listings.get(dir);
    if (listing === undefined) {
      try {
        listing = new Map(readdirSync(dir, { withFileTypes: true }).map((entry) => [entry.name, entry.isSymbolicLink()]));
      } catch (error) {
        listing = (error as NodeJS.ErrnoException).code === 'ENOENT' ? new Map() : null;
      }
      listings.set(dir, listing);
    }
    if (listing === null) return existsSync(path);
    const isLink = listing.get(basename(path));
    if (isLink === undefined) return false;
    return isLink ? existsSync(path) : true;
  };
}

function missingSourceError(node: Node, ref: string, kind: string, playbookRoot: string, targets: Iterable<string>): never {
  const hint = didYouMean(ref, targets);
  configError(
    `target "${node.def.name}": ${kind} "${ref}" is neither a target nor an existing file (looked in ${playbookRoot} and the package folder)${hint ? `; ${hint}` : ''}`,
  );
}

/** After artifacts are placed: every deferred source must exist now. */
export function checkMissingSources(graph: Graph, playbookRoot: string): void {
  for (const { node, ref, kind, path } of graph.missing) {
    if (!existsSync(path)) missingSourceError(node, ref, kind, playbookRoot, graph.nodes.keys());
  }
}

/** Dependencies before dependents; a cycle is an error that prints it. */
function topologicalOrder(goals: Node[]): Node[] {
  const order: Node[] = [];
  const state = new Map<Node, 'visiting' | 'done'>();
  // Iterative depth-first search: a 10,000-deep chain must not overflow the stack.
  for (const goal of goals) {
    if (state.get(goal) === 'done') continue;
    const stack: Array<{ node: Node; next: number }> = [{ node: goal, next: 0 }];
    state.set(goal, 'visiting');
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      const dep = frame.node.deps[frame.next++];
      if (dep === undefined) {
        state.set(frame.node, 'done');
        order.push(frame.node);
        stack.pop();
        continue;
      }
      const seen = state.get(dep);
      if (seen === 'done') continue;
      if (seen === 'visiting') {
        const from = stack.findIndex((f) => f.node === dep);
        const cycle = [...stack.slice(from).map((f) => f.node.key), dep.key].join(' -> ');
        configError(`dependency cycle: ${cycle}`);
      }
      state.set(dep, 'visiting');
      stack.push({ node: dep, next: 0 });
    }
  }
  return order;
}
