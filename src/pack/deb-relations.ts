/** The relation fields of a Debian control file (policy 7.1-7.6): names, order and syntax. */

/** Playbook key and control field, in the order dpkg writes them. */
export const DEB_RELATIONS = [
  ['pre_depends', 'Pre-Depends'],
  ['depends', 'Depends'],
  ['recommends', 'Recommends'],
  ['suggests', 'Suggests'],
  ['enhances', 'Enhances'],
  ['breaks', 'Breaks'],
  ['conflicts', 'Conflicts'],
  ['replaces', 'Replaces'],
  ['provides', 'Provides'],
] as const;

/** A relation field by its playbook key. */
export type DebRelation = (typeof DEB_RELATIONS)[number][0];
/** Relations by playbook key, one relation per item (`libc6 (>= 2.31)`, `a | b`). */
export type DebRelations = Partial<Record<DebRelation, string[]>>;

/** Fields where `a | b` alternatives are allowed (policy 7.1: not the negative ones, nor Provides). */
const WITH_ALTERNATIVES = new Set<DebRelation>(['pre_depends', 'depends', 'recommends', 'suggests', 'enhances']);

const RELATION_RE = /^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?(\s*\(\s*(<<|<=|=|>=|>>)\s*[A-Za-z0-9.+~:-]+\s*\))?$/;
/** Provides takes only an exact version (policy 7.5). */
const PROVIDES_RE = /^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?(\s*\(\s*=\s*[A-Za-z0-9.+~:-]+\s*\))?$/;

/** Problems with the relation fields; empty when fine. */
export function checkDebRelations(relations: DebRelations): string[] {
  const problems: string[] = [];
  for (const [key, field] of DEB_RELATIONS) {
    for (const relation of relations[key] ?? []) {
      const alternatives = relation.split('|').map((a) => a.trim());
      const pattern = key === 'provides' ? PROVIDES_RE : RELATION_RE;
      if (alternatives.length > 1 && !WITH_ALTERNATIVES.has(key)) {
        problems.push(`${key} relation "${relation}" has alternatives ("|"), which ${field} does not allow`);
      } else if (alternatives.some((a) => !pattern.test(a))) {
        const example = key === 'provides' ? '"mail-transport-agent" or "foo (= 1.0)"' : '"libc6 (>= 2.31)"';
        problems.push(`${key === 'depends' ? 'dependency' : `${key} relation`} "${relation}" is not a Debian relation such as ${example}`);
      }
    }
  }
  return problems;
}
