/**
 * Child recipes (`children:` in a recipe): each listed folder holds a `recipe.yml` whose
 * sources and commands are relative to that folder. `aap` builds every recipe of the tree
 * with its own graph and its own signatures, children before their parent (depth first,
 * in the order listed), so a parent may use as plain source files what its children placed
 * in the shared `$PKGDIR`.
 */
import { join, relative } from 'node:path';
import { AiopError } from '../core/errors.js';
import type { Recipe } from '../playbook/load.js';

/** One recipe of the tree, ready to become a graph. */
export interface RecipeUnit {
  /** The folder its sources and commands are relative to (the playbook root for the main recipe). */
  dir: string;
  recipe: Recipe;
  /** Variables of its ancestors' recipes, outermost first (a child inherits them, weaker than its own). */
  inherited: Array<Record<string, string>>;
  /** Its folder relative to the playbook root; undefined for the main recipe. */
  label?: string;
}

/**
 * Lists the recipe tree, children before parents; `local` keeps only the main recipe.
 * `loadChild` reads `<folder>/recipe.yml`. A folder listed twice is built once; a child that
 * lists an ancestor is an error naming the cycle.
 */
export async function collectRecipeUnits(
  root: string,
  main: Recipe,
  local: boolean,
  loadChild: (recipeFile: string) => Promise<Recipe>,
): Promise<RecipeUnit[]> {
  const units: RecipeUnit[] = [];
  const seen = new Set<string>();
  const visit = async (unit: RecipeUnit, path: string[]): Promise<void> => {
    if (!local) {
      for (const child of unit.recipe.children) {
        if (path.includes(child)) {
          const cycle = [...path.slice(path.indexOf(child)), child].map((d) => relative(root, d) || '.').join(' -> ');
          throw new AiopError('config', `child recipes form a cycle: ${cycle}`);
        }
        if (seen.has(child)) continue;
        seen.add(child);
        const recipe = await loadChild(join(child, 'recipe.yml'));
        await visit(
          { dir: child, recipe, inherited: [...unit.inherited, unit.recipe.variables], label: relative(root, child) || '.' },
          [...path, child],
        );
      }
    }
    units.push(unit);
  };
  seen.add(root);
  await visit({ dir: root, recipe: main, inherited: [] }, [root]);
  return units;
}
