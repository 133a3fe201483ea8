import { validate, ValidationError, type ValidatorOptions } from 'class-validator';
import { ArgumentValidationError } from 'type-graphql';

const OPTIONS: ValidatorOptions = { forbidUnknownValues: true, skipMissingProperties: true };

/** An input class instance, as type-graphql builds arguments; plain values have no rules to check. */
function isInputInstance(value: unknown): value is object {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Date) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype !== Object.prototype && prototype !== null;
}

/** The violations of one argument value and of every input nested in it, under their field names. */
async function violations(value: unknown): Promise<ValidationError[]> {
  if (Array.isArray(value)) return (await Promise.all(value.map(violations))).flat();
  if (!isInputInstance(value)) return [];
  const own = await validate(value, OPTIONS);
  for (const [property, child] of Object.entries(value)) {
    const nested = await violations(child);
    if (nested.length === 0) continue;
    const parent = own.find((error) => error.property === property);
    if (parent) {
      parent.children = [...(parent.children ?? []), ...nested];
    } else {
      own.push(Object.assign(new ValidationError(), { target: value, property, value: child, children: nested }));
    }
  }
  return own;
}

/**
 * type-graphql's own check runs class-validator on an argument's object only, and class-validator
 * descends into a nested input only where @ValidateNested says so; this checks every input object,
 * however deep (an `input` of update arguments, a `filter`), so no constraint is skipped by nesting.
 */
export async function validateArgument(value: unknown): Promise<void> {
  const errors = await violations(value);
  if (errors.length > 0) throw new ArgumentValidationError(errors);
}
