import { Matches } from 'class-validator';

/**
 * For names the services store trimmed: a value of spaces only would become empty, which the
 * columns refuse (length 1 or more), so it is refused here as bad input naming the field.
 */
export const NotBlank = () => Matches(/\S/, { message: '$property must not be blank' });
